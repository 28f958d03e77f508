/* child.h - the command a guest agent session runs: spawned in a new
 * session with its stdio on three pipes, or on a new pty. */
#ifndef BERTH_GUEST_CHILD_H
#define BERTH_GUEST_CHILD_H

#include <sys/types.h>
#include "lib/agent_proto.h"
#include "lib/err.h"

struct child {
	pid_t pid;
	int pidfd;       /* readable when the command exits */
	int in_fd;       /* its stdin: a pipe's write end, or the pty master */
	int out_fd;      /* its stdout: a pipe's read end, or the pty master */
	int err_fd;      /* its stderr: a pipe's read end; -1 with a tty */
	int tty;
};

/* Run x's command: setsid, the tty (TIOCSCTTY, window size rows x cols, 24x80
 * when unknown) or pipes, x's cwd and the environment (PATH and HOME
 * defaults, then x's entries, TERM=x->term with a tty unless x sets TERM).
 * Waits until the exec happened: when it failed, returns -errno with e
 * saying "exec ARGV0: REASON" (or "chdir CWD: ..."), the child reaped. All
 * parent-side fds are non-blocking and close-on-exec. */
int child_spawn(const struct agent_exec *x, struct child *c, struct err *e);

/* Close the parent-side fds (the command is not signalled or reaped). */
void child_close(struct child *c);

#endif
