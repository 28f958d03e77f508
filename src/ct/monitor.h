/* monitor.h - the per-container monitor: parent of the container's init.
 *
 * `berth start` forks the monitor (setsid), which owns the guest's cgroup,
 * console pty and disk mount, serves control.sock, reaps init, records its
 * exit and cleans everything up when it ends. `berth run` uses the same
 * prepare/teardown steps in the foreground. */
#ifndef BERTH_MONITOR_H
#define BERTH_MONITOR_H

#include <limits.h>
#include <sys/types.h>
#include "ct/cgroup.h"
#include "lib/config.h"
#include "lib/err.h"
#include "lib/store.h"

struct ct_instance {
	const struct store *s;
	const struct guest_config *c;
	struct cg_host cgh;
	struct cgroup cg;
	char rootfs[PATH_MAX];
	int disk_mounted;
	int overlay_mounted;      /* `run`: idmapped template + overlay */
	int cg_external;          /* cgroup made and joined by the caller (`run`) */
	int rundir_fd;            /* flock'ed while the guest runs: the liveness lock */
	pid_t init_pid;
	long long started;
};

/* Start a stopped container: fork the monitor and wait until the guest's
 * init runs (0) or the start failed (nothing left behind). keep_fd is an fd
 * the monitor must not inherit (the CLI's verb lock), or -1. */
int ct_start(const struct store *s, const struct guest_config *c, int keep_fd, struct err *e);

/* `berth run` in three steps, so that the slow part of joining a v1
 * cgroup (an RCU grace period) overlaps with creating the guest's files:
 * ct_run_begin forks the guest's foreground monitor, which creates the
 * cgroup and moves itself into it (the guest is then born there, and the
 * pids limit is raised by one for the monitor); the caller creates the
 * guest meanwhile and calls ct_run_go with the final config (or
 * ct_run_abort); ct_run_wait returns the command's exit code (128+signal
 * when killed) and removes the cgroup. argv runs with the caller's stdio. */
struct ct_runner {
	pid_t pid;
	int ctl, report;
	struct cg_host cgh;
	struct cgroup cg;
};
int ct_run_begin(const struct store *s, const struct guest_config *c, char *const *argv,
		 struct ct_runner *rn, struct err *e);
int ct_run_go(struct ct_runner *rn, const struct guest_config *c, struct err *e);
void ct_run_abort(struct ct_runner *rn);
int ct_run_wait(struct ct_runner *rn, const char *name, int *code, struct err *e);
void ct_run_finish(struct ct_runner *rn);

/* Clean up after a monitor that died without doing so (kill -9): cgroups,
 * runtime dir; records the exit as "monitor-lost". */
int ct_cleanup_stale(const struct store *s, const struct guest_config *c, struct err *e);

/* Preparation shared by the monitor and `run`; teardown undoes it. */
int ct_prepare(struct ct_instance *in, struct err *e);
void ct_teardown(struct ct_instance *in);
int ct_write_pidfile(struct ct_instance *in, pid_t monitor, struct err *e);

/* Signal that asks this guest's init to shut down cleanly. */
int ct_stop_signal(const struct guest_config *c);

#endif
