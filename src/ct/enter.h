/* enter.h - run a command inside a running container (berth exec). */
#ifndef BERTH_ENTER_H
#define BERTH_ENTER_H

#include <sys/types.h>
#include "ct/cgroup.h"
#include "lib/err.h"

/* Join every namespace of init_pid (through a pidfd) and the guest's cgroup,
 * then run argv as the guest's root with the capability bounding set
 * reduced, no_new_privs and the default seccomp filter. With tty, the
 * command gets a pty from the guest's own devpts and the caller's terminal
 * is relayed to it. *code is the command's exit code (128+signal if killed,
 * 127 if it could not be run). */
int ct_enter(pid_t init_pid, const struct cgroup *cg, char *const *argv, int tty, int *code,
	     struct err *e);

#endif
