/* cgroup.h - one interface over cgroup v1, hybrid and v2 hosts.
 *
 * A guest's cgroup is <parent>/<name> in every hierarchy berth uses, where
 * parent comes from $BERTH_CGROUP_PARENT (default "berth"; tests set their
 * own). On v1 and hybrid hosts limits go to the v1 controllers (cpu, cpuacct,
 * memory, pids, blkio, freezer, devices) and the unified hierarchy, if
 * mounted, holds a delegated cgroup the guest's systemd can use; on v2 hosts
 * everything is in the unified hierarchy. */
#ifndef BERTH_CGROUP_H
#define BERTH_CGROUP_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include "lib/config.h"
#include "lib/err.h"

enum cg_layout { CG_V1, CG_HYBRID, CG_V2 };

#define CG_MAX_V1 12

/* What the host offers; found once from /proc/self/mountinfo. */
struct cg_host {
	enum cg_layout layout;
	char unified[PATH_MAX];              /* mount point of cgroup2, "" if none */
	struct { char ctrl[32]; char mnt[PATH_MAX]; } v1[CG_MAX_V1]; /* one per v1 mount */
	size_t nv1;
	int has_memsw;                       /* swap can be limited */
	char v2_controllers[256];            /* cgroup.controllers of the unified root */
};

/* One guest's cgroup directories. */
struct cgroup {
	const struct cg_host *host;
	char v2[PATH_MAX];                   /* "" when no unified hierarchy */
	char v1[CG_MAX_V1][PATH_MAX];        /* parallel to host->v1 ("" if unused) */
};

/* Parse mountinfo text (unit-testable) / read it from /proc/self/mountinfo. */
int cg_host_parse(const char *mountinfo, struct cg_host *h, struct err *e);
int cg_host_detect(struct cg_host *h, struct err *e);

/* Fill cg's paths for guest `name` (no file system changes). */
int cgroup_open(const struct cg_host *h, const char *name, struct cgroup *cg, struct err *e);

/* Create the directories (parent too, with cpuset inheritance on v1),
 * hand the unified one to owner_uid (delegation), and apply limits. On
 * failure everything created is removed again. */
int cgroup_create(const struct cgroup *cg, uid_t owner_uid, const struct limits *l,
		  struct err *e);

/* Hand the unified (and name=systemd) cgroup to uid, as cgroup_create does
 * when given an owner. */
int cgroup_delegate(const struct cgroup *cg, uid_t uid, struct err *e);

/* Write the limits (live `set` too); LIMIT_NONE clears a limit. */
int cgroup_apply_limits(const struct cgroup *cg, const struct limits *l, struct err *e);

/* Refuse limits this host cannot enforce (no memory controller, no swap
 * accounting, more CPUs than the host has, ...), naming the fix. */
int cgroup_check_limits(const struct cg_host *h, const struct limits *l, struct err *e);

/* Move a process into the guest's cgroup in every hierarchy. */
int cgroup_add_pid(const struct cgroup *cg, pid_t pid, struct err *e);

/* SIGKILL every process in the cgroup (cgroup.kill on v2). */
void cgroup_kill_all(const struct cgroup *cg);

/* Remove the directories, killing and waiting (bounded) for stragglers.
 * Missing directories are not an error. */
int cgroup_destroy(const struct cgroup *cg, struct err *e);

/* 1 if any of the guest's cgroup directories exist. */
int cgroup_exists(const struct cgroup *cg);

/* Pure value conversions (unit-tested). */
uint64_t cg_v1_shares_from_weight(uint64_t weight);          /* v2 weight -> v1 shares */
void cg_cpu_quota(uint64_t millicpus, uint64_t *quota_us, uint64_t *period_us);

/* The directory holding controller ctrl ("memory", "blkio", "io", ...)
 * for this guest, or NULL when no hierarchy has it. */
const char *cgroup_ctrl_dir(const struct cgroup *cg, const char *ctrl);

/* Usage numbers for status/stats; missing values are 0. */
struct cg_usage {
	uint64_t memory_bytes, memory_limit_bytes, swap_bytes;
	uint64_t cpu_usec, pids, oom_kills;
};
int cgroup_usage(const struct cgroup *cg, struct cg_usage *u);

#endif
