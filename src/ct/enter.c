/* enter.c - berth exec: join a running container and run a command in it. */
#include "ct/enter.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ct/caps.h"
#include "ct/console.h"
#include "ct/seccomp.h"
#include "ct/spawn.h"

#define ALL_NS (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | \
		CLONE_NEWNET | CLONE_NEWCGROUP)

static int send_fd(int sock, int fd)
{
	char c = 'f';
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int recv_fd(int sock)
{
	char c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
		return -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* In the grandchild (inside the guest's pid namespace): become the guest's
 * root, lock down, exec. Never returns. */
static void exec_inside(char *const *argv, const char *pts)
{
	struct err e = { 0 };
	if (pts) {
		setsid();
		int s = open(pts, O_RDWR | O_CLOEXEC);
		if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0) {
			fprintf(stderr, "berth exec: open %s: %m\n", pts);
			_exit(127);
		}
		dup2(s, 0);
		dup2(s, 1);
		dup2(s, 2);
	}
	if (chdir("/") < 0 || caps_drop_bounding(&e) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load_default(&e) < 0) {
		fprintf(stderr, "berth exec: %s\n", e.msg[0] ? e.msg : "lock down failed");
		_exit(127);
	}
	syscall(SYS_close_range, 3, ~0U, 0);
	environ = (char **)ct_default_env;
	execvp(argv[0], argv);
	fprintf(stderr, "berth exec: %s: %m\n", argv[0]);
	_exit(errno == ENOENT ? 127 : 126);
}

/* In the child: join cgroup and namespaces, optionally make a pty, fork the
 * command and pass on its status. Never returns. */
static void join_and_run(int pidfd, const struct cgroup *cg, char *const *argv, int sock)
{
	struct err e = { 0 };
	if (cgroup_add_pid(cg, getpid(), &e) < 0) {
		fprintf(stderr, "berth exec: %s\n", e.msg);
		_exit(127);
	}
	if (setns(pidfd, ALL_NS) < 0) {
		fprintf(stderr, "berth exec: join the guest's namespaces: %m\n");
		_exit(127);
	}
	close(pidfd);
	/* become the guest's root before anything is created inside (the pty) */
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0 || setgroups(0, NULL) < 0) {
		fprintf(stderr, "berth exec: become guest root: %m\n");
		_exit(127);
	}
	prctl(PR_SET_DUMPABLE, 0); /* no /proc/<pid>/exe of berth for the guest to grab */
	char pts[64] = "";
	if (sock >= 0) {
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (m < 0 || unlockpt(m) < 0 || ptsname_r(m, pts, sizeof(pts)) != 0 ||
		    send_fd(sock, m) < 0) {
			fprintf(stderr, "berth exec: pty in the guest: %m\n");
			_exit(127);
		}
		close(m);
		close(sock);
	}
	pid_t pid = fork();
	if (pid < 0)
		_exit(127);
	if (pid == 0)
		exec_inside(argv, pts[0] ? pts : NULL);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int ct_enter(pid_t init_pid, const struct cgroup *cg, char *const *argv, int tty, int *code,
	     struct err *e)
{
	int pidfd = (int)syscall(SYS_pidfd_open, init_pid, 0);
	if (pidfd < 0)
		return err_sys(e, errno, "open the guest's init (pid %d)", (int)init_pid);
	int sv[2] = { -1, -1 };
	if (tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		close(pidfd);
		return err_sys(e, errno, "socketpair");
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pidfd);
		return err_sys(e, errno, "fork");
	}
	if (pid == 0) {
		if (tty)
			close(sv[0]);
		join_and_run(pidfd, cg, argv, tty ? sv[1] : -1);
	}
	close(pidfd);
	int master = -1;
	if (tty) {
		close(sv[1]);
		master = recv_fd(sv[0]);
		close(sv[0]);
	}
	signal(SIGINT, SIG_IGN); /* the command gets the terminal's signals, not us */
	signal(SIGQUIT, SIG_IGN);
	if (master >= 0) {
		int child = (int)syscall(SYS_pidfd_open, pid, 0);
		console_relay(master, master, 0, child, e);
		close(master);
		if (child >= 0)
			close(child);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}
