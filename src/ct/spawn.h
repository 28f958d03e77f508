/* spawn.h - start a container's first process in fresh namespaces. */
#ifndef BERTH_SPAWN_H
#define BERTH_SPAWN_H

#include <sys/types.h>
#include "ct/cgroup.h"
#include "lib/config.h"
#include "lib/err.h"

struct spawn_spec {
	const struct guest_config *cfg;
	const char *rootfs;          /* host path of the guest's tree (mounted if a disk) */
	const struct cgroup *cg;     /* created already; the child joins it first */
	int in_cgroup;               /* the caller is in cg already: the child is born there */
	const char *console;         /* host pty slave path for /dev/console, or NULL */
	int stdio[3];                /* fds for the child's 0,1,2 (the console slave or the CLI's) */
	int set_ctty;                /* make stdio[0] the controlling terminal */
	char *const *argv;           /* program inside the guest: /sbin/init or a command */
};

/* Clone the guest's first process with user, mount, pid, ipc, uts, net and
 * cgroup namespaces; map its ids to the guest's range; put it in its cgroup;
 * build its mounts (rootfs_enter); drop capabilities, load seccomp; exec.
 * Returns once the program was exec'd (*pid is its host pid) or failed (the
 * child is reaped and e says why). */
int ct_spawn(const struct spawn_spec *spec, pid_t *pid, struct err *e);

/* The environment a guest's programs start with. */
extern char *const ct_default_env[];

#endif
