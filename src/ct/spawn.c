/* spawn.c - clone the container's first process and set it up to exec. */
#include "ct/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ct/caps.h"
#include "ct/rootfs.h"
#include "ct/seccomp.h"
#include "lib/fsutil.h"

#define CT_NS_FLAGS (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | \
		     CLONE_NEWUTS | CLONE_NEWNET)

char *const ct_default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"TERM=linux",
	"HOME=/root",
	"container=berth",
	NULL,
};

/* Bring the loopback interface of the new network namespace up. */
static int loopback_up(struct err *e)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return err_sys(e, errno, "socket for lo");
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	int r = 0;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		r = err_sys(e, errno, "get flags of lo");
	else {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			r = err_sys(e, errno, "bring lo up");
	}
	close(s);
	return r;
}

/* Keep the guest's /etc/hostname in line with its config (as vzctl does),
 * so an init that reads it does not undo the name; runs after pivot_root. */
static void write_guest_hostname(const char *host)
{
	int fd = open("/etc/hostname", O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	dprintf(fd, "%s\n", host);
	close(fd);
}

/* Wait for one byte from the parent: a step of the start handshake. */
static int wait_parent(int fd, struct err *e)
{
	char c;
	ssize_t n;
	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? 0 : err_set(e, EPIPE, "monitor went away during start");
}

/* Everything the child does between clone and exec; returns only on error.
 * The parent maps our ids, then moves us into the cgroup (slow on v1: the
 * migration waits for an RCU grace period), so we build the mounts while it
 * does and only enter the cgroup namespace once we are in the cgroup. */
static int child_setup(const struct spawn_spec *spec, int sync_fd, struct err *e)
{
	int r;
	if ((r = wait_parent(sync_fd, e)) < 0) /* ids mapped */
		return r;
	umask(0);
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0 || setgroups(0, NULL) < 0)
		return err_sys(e, errno, "become root of the guest's user namespace");
	const char *host = spec->cfg->hostname[0] ? spec->cfg->hostname : spec->cfg->name;
	if (sethostname(host, strlen(host)) < 0)
		return err_sys(e, errno, "set hostname");
	struct rootfs_spec rs = { .rootfs = spec->rootfs, .console = spec->console };
	if ((r = rootfs_enter(&rs, e)) < 0 || (r = loopback_up(e)) < 0)
		return r;
	write_guest_hostname(host);
	if ((r = wait_parent(sync_fd, e)) < 0) /* in the cgroup */
		return r;
	close(sync_fd);
	if (unshare(CLONE_NEWCGROUP) < 0)
		return err_sys(e, errno, "new cgroup namespace");
	if (spec->cg->v2[0] && (r = rootfs_mount_cgroup2(e)) < 0)
		return r;
	umask(022);
	if (setsid() < 0)
		return err_sys(e, errno, "setsid");
	for (int i = 0; i < 3; i++)
		if (spec->stdio[i] != i && dup2(spec->stdio[i], i) < 0)
			return err_sys(e, errno, "set up stdio");
	if (spec->set_ctty && ioctl(0, TIOCSCTTY, 0) < 0)
		return err_sys(e, errno, "set the console as controlling terminal");
	if ((r = caps_drop_bounding(e)) < 0 || (r = seccomp_load_default(e)) < 0)
		return r;
	/* No host fd may reach the guest (CVE-2024-21626 class): close-on-exec
	 * everything but stdio; the error pipe closes itself on exec. */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return err_sys(e, errno, "close inherited fds");
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* monitor killed -> guest dies too */
	environ = (char **)ct_default_env; /* execvp searches the guest's PATH */
	execvp(spec->argv[0], spec->argv);
	return err_sys(e, errno, "exec %s in the guest", spec->argv[0]);
}

/* Write "0 <base> <count>" maps for the child (privileged writer: setgroups stays allowed). */
static int write_idmaps(pid_t pid, const struct guest_config *c, struct err *e)
{
	char path[64], map[64];
	snprintf(map, sizeof(map), "0 %u %u\n", c->id_base, c->id_count);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	int r = write_str(path, map, e);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
	return write_str(path, map, e);
}

int ct_spawn(const struct spawn_spec *spec, pid_t *pidp, struct err *e)
{
	int sync[2], errp[2];
	if (pipe2(sync, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(sync[0]);
		close(sync[1]);
		return err_sys(e, errno, "pipe");
	}
	pid_t pid = (pid_t)syscall(SYS_clone, CT_NS_FLAGS | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		int r = err_sys(e, errno, "clone the guest's namespaces");
		close(sync[0]); close(sync[1]); close(errp[0]); close(errp[1]);
		return r;
	}
	if (pid == 0) {
		struct err ce = { 0 };
		close(sync[1]);
		close(errp[0]);
		child_setup(spec, sync[0], &ce);
		if (write(errp[1], ce.msg, strlen(ce.msg)) < 0)
			_exit(126);
		_exit(127);
	}
	close(sync[0]);
	close(errp[1]);
	int r = write_idmaps(pid, spec->cfg, e);
	if (r == 0 && write(sync[1], "m", 1) != 1)
		r = err_sys(e, errno, "release the guest's first process");
	if (r == 0 && !spec->in_cgroup)
		r = cgroup_add_pid(spec->cg, pid, e);
	if (r == 0 && write(sync[1], "c", 1) != 1)
		r = err_sys(e, errno, "release the guest's first process");
	close(sync[1]);
	if (r == 0) {
		char msg[sizeof(e->msg)];
		ssize_t n;
		while ((n = read(errp[0], msg, sizeof(msg) - 1)) < 0 && errno == EINTR)
			;
		if (n > 0) {
			msg[n] = '\0';
			r = err_set(e, EIO, "%s", msg);
		}
	}
	close(errp[0]);
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return r;
	}
	*pidp = pid;
	return 0;
}
