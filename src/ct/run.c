/* run.c - `berth run`: an ephemeral guest with a foreground monitor whose
 * cgroup join overlaps with the creation of the guest's files. */
#include "ct/monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ct/spawn.h"

/* The foreground monitor of `berth run` (see ct_run_begin), in a child
 * process whose private mount namespace (the overlay) the kernel tears down
 * as it exits, keeping that slow unmount off the path. Reports "code N" or
 * "error MESSAGE" on report. */
static void run_monitor(const struct store *s, struct guest_config c, char *const *argv,
			struct ct_runner *rn, const sigset_t *mask)
{
	struct ct_instance in = { .s = s, .c = &c, .cg = rn->cg, .cg_external = 1 };
	struct err e = { 0 };
	char msg[sizeof(e.msg) + 16], go[64] = "";
	struct limits lim = c.lim;
	if (lim.pids != LIMIT_NONE)
		lim.pids++; /* this monitor shares the guest's cgroup */
	int r = cgroup_create(&rn->cg, (uid_t)-1, &lim, &e), n;
	if (r == 0)
		r = cgroup_add_pid(&rn->cg, getpid(), &e);
	/* wait for the caller to have created the guest: "go BASE" */
	ssize_t got = read(rn->ctl, go, sizeof(go) - 1);
	unsigned base = 0;
	if (got <= 0 || sscanf(go, "go %u", &base) != 1)
		_exit(3); /* aborted; the caller removes the cgroup */
	c.id_base = base;
	if (r == 0)
		r = cgroup_delegate(&rn->cg, c.id_base, &e);
	if (r == 0)
		r = ct_prepare(&in, &e);
	if (r == 0) {
		struct spawn_spec sp = {
			.cfg = &c, .rootfs = in.rootfs, .cg = &in.cg, .in_cgroup = 1,
			.stdio = { 0, 1, 2 }, .argv = argv,
		};
		r = ct_spawn(&sp, &in.init_pid, &e);
	}
	int status = 0;
	if (r == 0) {
		ct_write_pidfile(&in, getpid(), NULL);
		int signals = 0;
		while (waitpid(in.init_pid, &status, WNOHANG) != in.init_pid) {
			int sig;
			if (sigwait(mask, &sig) == 0 && sig != SIGCHLD)
				kill(in.init_pid, ++signals > 1 ? SIGKILL : sig);
		}
		in.init_pid = 0;
	}
	if (r < 0)
		n = snprintf(msg, sizeof(msg), "error %s", e.msg);
	else
		n = snprintf(msg, sizeof(msg), "code %d",
			     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	/* answer first: the caller removes the guest's files while we finish */
	if (write(rn->report, msg, (size_t)n) < 0)
		_exit(2);
	in.overlay_mounted = 0; /* goes with our mount namespace */
	ct_teardown(&in);
	_exit(0);
}

static sigset_t run_signals(void)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	return mask;
}

int ct_run_begin(const struct store *s, const struct guest_config *c, char *const *argv,
		 struct ct_runner *rn, struct err *e)
{
	int ctl[2], rep[2], r;
	if ((r = cg_host_detect(&rn->cgh, e)) < 0 || (r = cgroup_check_limits(&rn->cgh, &c->lim, e)) < 0 ||
	    (r = cgroup_open(&rn->cgh, c->name, &rn->cg, e)) < 0)
		return r;
	rn->cg.host = &rn->cgh;
	if (pipe2(ctl, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	if (pipe2(rep, O_CLOEXEC) < 0) {
		close(ctl[0]);
		close(ctl[1]);
		return err_sys(e, errno, "pipe");
	}
	/* Terminating signals go to the guest (through the monitor), not to us. */
	sigset_t mask = run_signals();
	sigprocmask(SIG_BLOCK, &mask, NULL);
	fflush(NULL);
	rn->pid = fork();
	if (rn->pid < 0) {
		r = err_sys(e, errno, "fork");
		close(ctl[0]); close(ctl[1]); close(rep[0]); close(rep[1]);
		return r;
	}
	if (rn->pid == 0) {
		close(ctl[1]);
		close(rep[0]);
		rn->ctl = ctl[0];
		rn->report = rep[1];
		run_monitor(s, *c, argv, rn, &mask);
	}
	close(ctl[0]);
	close(rep[1]);
	rn->ctl = ctl[1];
	rn->report = rep[0];
	return 0;
}

int ct_run_go(struct ct_runner *rn, const struct guest_config *c, struct err *e)
{
	char go[32];
	int n = snprintf(go, sizeof(go), "go %u", c->id_base);
	int r = write(rn->ctl, go, (size_t)n) == n ? 0 : err_sys(e, errno, "start the guest's monitor");
	close(rn->ctl);
	rn->ctl = -1;
	return r;
}

/* Reap the monitor and remove the guest's cgroup (it was the last one in it). */
void ct_run_finish(struct ct_runner *rn)
{
	struct err e = { 0 };
	while (waitpid(rn->pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (cgroup_destroy(&rn->cg, &e) < 0)
		fprintf(stderr, "berth: %s\n", e.msg);
	sigset_t mask = run_signals();
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
}

void ct_run_abort(struct ct_runner *rn)
{
	if (rn->ctl >= 0)
		close(rn->ctl);
	close(rn->report);
	ct_run_finish(rn);
}

int ct_run_wait(struct ct_runner *rn, const char *name, int *code, struct err *e)
{
	sigset_t mask = run_signals();
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	char msg[sizeof(e->msg) + 16];
	ssize_t n = 0;
	for (;;) {
		struct pollfd p[2] = { { .fd = rn->report, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD)
				kill(rn->pid, (int)si.ssi_signo);
		}
		if (p[0].revents & (POLLIN | POLLHUP)) {
			n = read(rn->report, msg, sizeof(msg) - 1);
			break;
		}
	}
	close(rn->report);
	if (sfd >= 0)
		close(sfd);
	msg[n > 0 ? n : 0] = '\0';
	int r;
	if (sscanf(msg, "code %d", code) == 1)
		r = 0;
	else if (!strncmp(msg, "error ", 6))
		r = err_exit(e, EXIT_HOST, "%s", msg + 6);
	else
		r = err_set(e, EIO, "the monitor of '%s' died", name);
	return r;
}
