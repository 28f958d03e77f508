/* child.c - spawn the command of an agent session (pipes or a pty) and
 * learn whether its exec worked through a close-on-exec pipe. */
#include "guest/child.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define ENV_MAX (AGENT_MAX_ENV + 4)

static const char *const default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
};

/* What the child reports through the exec pipe when it cannot exec. */
enum { STAGE_SETUP = 1, STAGE_CHDIR, STAGE_EXEC };
struct report {
	int stage;
	int err;
};

/* Add "NAME=value" to env[0..*n), replacing an entry of the same NAME. */
static void env_put(const char **env, size_t *n, const char *entry)
{
	size_t name = strcspn(entry, "=") + 1;
	for (size_t i = 0; i < *n; i++)
		if (!strncmp(env[i], entry, name)) {
			env[i] = entry;
			return;
		}
	if (*n < ENV_MAX)
		env[(*n)++] = entry;
}

/* The command's environment: defaults, TERM for a tty, then the request's
 * entries (which win). term_buf holds "TERM=..." when used. */
static void env_build(const struct agent_exec *x, const char **env, char *term_buf, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof(default_env) / sizeof(default_env[0]); i++)
		env_put(env, &n, default_env[i]);
	if (x->tty && x->term && x->term[0]) {
		snprintf(term_buf, len, "TERM=%s", x->term);
		env_put(env, &n, term_buf);
	}
	for (size_t i = 0; x->env[i]; i++)
		env_put(env, &n, x->env[i]);
	env[n] = NULL;
}

/* In the child: tell the parent why it failed, and end. */
static void __attribute__((noreturn)) child_fail(int rep, int stage)
{
	struct report r = { stage, errno };
	ssize_t w = write(rep, &r, sizeof(r));
	(void)w;
	_exit(127);
}

/* In the child: default signal state, new session, stdio, cwd, exec. */
static void __attribute__((noreturn)) child_exec(const struct agent_exec *x, const char **env,
						 int slave, const int fds[3], int rep)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL); /* the agent ignores SIGPIPE; the command must not */
	if (setsid() < 0)
		child_fail(rep, STAGE_SETUP);
	if (slave >= 0) {
		if (ioctl(slave, TIOCSCTTY, 0) < 0)
			child_fail(rep, STAGE_SETUP);
		for (int i = 0; i < 3; i++)
			if (dup2(slave, i) < 0)
				child_fail(rep, STAGE_SETUP);
	} else {
		for (int i = 0; i < 3; i++)
			if (dup2(fds[i], i) < 0)
				child_fail(rep, STAGE_SETUP);
	}
	/* nothing of the agent's may leak into the command */
	syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
	if (chdir(x->cwd ? x->cwd : "/") < 0)
		child_fail(rep, STAGE_CHDIR);
	environ = (char **)env;
	execvp(x->argv[0], (char *const *)x->argv);
	child_fail(rep, STAGE_EXEC);
}

/* A new pty: the master (non-blocking later) and its slave, sized. */
static int pty_open(const struct agent_exec *x, int *master, int *slave, struct err *e)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return err_sys(e, errno, "open /dev/ptmx");
	struct winsize ws = { .ws_row = x->rows ? x->rows : 24, .ws_col = x->cols ? x->cols : 80 };
	if (unlockpt(m) < 0 || ioctl(m, TIOCSWINSZ, &ws) < 0) {
		int r = err_sys(e, errno, "set up a pty");
		close(m);
		return r;
	}
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		char path[64];
		if (ptsname_r(m, path, sizeof(path)) == 0)
			s = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	}
	if (s < 0) {
		int r = err_sys(e, errno, "open the pty's slave");
		close(m);
		return r;
	}
	*master = m;
	*slave = s;
	return 0;
}

/* Close *fd if open and mark it closed. */
static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The failure the child reported, as the error the host shows. */
static int report_error(const struct agent_exec *x, const struct report *rp, struct err *e)
{
	switch (rp->stage) {
	case STAGE_CHDIR:
		return err_sys(e, rp->err, "chdir %.200s", x->cwd ? x->cwd : "/");
	case STAGE_EXEC:
		return err_sys(e, rp->err, "exec %.200s", x->argv[0]);
	default:
		return err_sys(e, rp->err, "set up %.200s", x->argv[0]);
	}
}

int child_spawn(const struct agent_exec *x, struct child *c, struct err *e)
{
	const char *env[ENV_MAX + 1];
	char term[AGENT_MAX_TERM + 8];
	env_build(x, env, term, sizeof(term));
	/* p[0..2]: the parent's ends (stdin writer, stdout, stderr readers);
	 * k[0..2]: the child's ends */
	int p[3] = { -1, -1, -1 }, k[3] = { -1, -1, -1 }, rep[2] = { -1, -1 }, slave = -1, r;
	memset(c, 0, sizeof(*c));
	c->pidfd = c->in_fd = c->out_fd = c->err_fd = -1;
	c->tty = x->tty;
	if (pipe2(rep, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	if (x->tty) {
		if ((r = pty_open(x, &p[1], &slave, e)) < 0)
			goto fail;
		if ((p[0] = fcntl(p[1], F_DUPFD_CLOEXEC, 3)) < 0) {
			r = err_sys(e, errno, "dup");
			goto fail;
		}
	} else {
		for (int i = 0; i < 3; i++) {
			int fds[2];
			if (pipe2(fds, O_CLOEXEC) < 0) {
				r = err_sys(e, errno, "pipe");
				goto fail;
			}
			p[i] = i == 0 ? fds[1] : fds[0];
			k[i] = i == 0 ? fds[0] : fds[1];
		}
	}
	pid_t pid = fork();
	if (pid < 0) {
		r = err_sys(e, errno, "fork");
		goto fail;
	}
	if (pid == 0)
		child_exec(x, env, slave, k, rep[1]);
	close_fd(&slave);
	for (int i = 0; i < 3; i++)
		close_fd(&k[i]);
	close_fd(&rep[1]);
	struct report rp;
	ssize_t n;
	while ((n = read(rep[0], &rp, sizeof(rp))) < 0 && errno == EINTR)
		;
	close_fd(&rep[0]);
	if (n != 0) {
		if (n != (ssize_t)sizeof(rp))
			rp = (struct report){ STAGE_SETUP, EIO };
		r = report_error(x, &rp, e);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto fail;
	}
	c->pid = pid;
	c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (c->pidfd < 0) {
		r = err_sys(e, errno, "pidfd_open");
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto fail;
	}
	for (int i = 0; i < 3; i++)
		if (p[i] >= 0)
			fcntl(p[i], F_SETFL, fcntl(p[i], F_GETFL) | O_NONBLOCK);
	c->in_fd = p[0];
	c->out_fd = p[1];
	c->err_fd = p[2];
	return 0;
fail:
	close_fd(&slave);
	close_fd(&rep[0]);
	close_fd(&rep[1]);
	for (int i = 0; i < 3; i++) {
		close_fd(&p[i]);
		close_fd(&k[i]);
	}
	return r;
}

void child_close(struct child *c)
{
	close_fd(&c->in_fd);
	close_fd(&c->out_fd);
	close_fd(&c->err_fd);
	close_fd(&c->pidfd);
}
