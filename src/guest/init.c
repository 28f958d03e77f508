/* init.c - `berth init`: PID 1 of the initramfs berth builds for a VM
 * (src/tpl/initramfs.c). It is the whole early userspace:
 *   mount /proc /sys /dev (devtmpfs, with devpts at /dev/pts for the agent's ptys),
 *   load /lib/berth/modules (paths in dependency order) with finit_module,
 *   read berth.root= berth.rootfstype= berth.init= berth.ro berth.hostname=
 *   from /proc/cmdline, wait up to 10 s for the root device, mount it on
 *   /newroot, move /dev /proc /sys there, free the initramfs, make /newroot
 *   the root, set the hostname, fork the guest agent (this same binary, no
 *   exec), exec the guest's init.
 * Being the top of its process tree it prints its own errors: one line on
 * /dev/console, then it powers the VM off; it never hangs. */
#include "guest/init.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "guest/agent.h"
#include "lib/agent_proto.h"
#include "lib/err.h"

#define MODULES_LIST "/lib/berth/modules"
#define ROOT_WAIT_MS 10000

struct boot_args {
	char root[256];
	char fstype[32];
	char init[256];
	char hostname[65];   /* empty: leave the guest's own */
	int ro;
};

int init_wanted(int argc, char **argv)
{
	if (getpid() != 1 || argc < 1 || !argv[0])
		return 0;
	size_t n = strlen(argv[0]);
	return n >= 4 && !strcmp(argv[0] + n - 4, "init");
}

/* One line on the console (PID 1 has no one else to tell). */
static void console_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void console_line(const char *fmt, ...)
{
	char line[700];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	ssize_t w = write(fd >= 0 ? fd : STDERR_FILENO, line, (size_t)n);
	(void)w;
	if (fd >= 0)
		close(fd);
}

/* Mount type on dst (created if missing); an existing mount is fine. */
static int mount_one(const char *src, const char *dst, const char *type, unsigned long flags,
		     const char *data, struct err *e)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, flags, data) < 0 && errno != EBUSY)
		return err_sys(e, errno, "cannot mount %s on %s", type, dst);
	return 0;
}

/* /proc, /sys, /dev (devtmpfs) and /dev/pts. */
static int mount_api(struct err *e)
{
	int r;
	if ((r = mount_one("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, e)) < 0 ||
	    (r = mount_one("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, e)) < 0 ||
	    (r = mount_one("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", e)) < 0)
		return r;
	/* the agent's ptys work before the guest's init mounts anything */
	return mount_one("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
			 "gid=5,mode=0620,ptmxmode=0666", e);
}

/* Load the modules listed in MODULES_LIST, in order. A module that fails
 * is reported and skipped: the missing device then names the problem. */
static void modules_load(void)
{
	FILE *f = fopen(MODULES_LIST, "re");
	if (!f)
		return; /* a kernel with everything built in */
	char path[512];
	while (fgets(path, sizeof(path), f)) {
		path[strcspn(path, "\n")] = '\0';
		if (!path[0] || path[0] == '#')
			continue;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			console_line("berth init: open module %s: %s", path, strerror(errno));
			continue;
		}
		if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
			console_line("berth init: load module %s: %s", path, strerror(errno));
		close(fd);
	}
	fclose(f);
}

/* Copy a cmdline value (quotes stripped) into out; -1 if it does not fit. */
static int arg_value(const char *v, size_t n, char *out, size_t len)
{
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	if (n == 0 || n >= len)
		return -1;
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

/* berth.* parameters of /proc/cmdline, with their defaults. */
static int boot_args_read(struct boot_args *a, struct err *e)
{
	snprintf(a->root, sizeof(a->root), "/dev/vda");
	snprintf(a->fstype, sizeof(a->fstype), "ext4");
	snprintf(a->init, sizeof(a->init), "/sbin/init");
	a->hostname[0] = '\0';
	a->ro = 0;
	char line[4096];
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "cannot read /proc/cmdline");
	ssize_t n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 0)
		return err_sys(e, errno, "cannot read /proc/cmdline");
	line[n] = '\0';
	static const struct { const char *key; size_t off, len; } keys[] = {
		{ "berth.root=", offsetof(struct boot_args, root), sizeof(((struct boot_args *)0)->root) },
		{ "berth.rootfstype=", offsetof(struct boot_args, fstype), sizeof(((struct boot_args *)0)->fstype) },
		{ "berth.init=", offsetof(struct boot_args, init), sizeof(((struct boot_args *)0)->init) },
		{ "berth.hostname=", offsetof(struct boot_args, hostname), sizeof(((struct boot_args *)0)->hostname) },
	};
	for (char *p = line; *p;) {
		p += strspn(p, " \t\n");
		size_t len = strcspn(p, " \t\n");
		if (!len)
			break;
		if (len == 8 && !strncmp(p, "berth.ro", 8))
			a->ro = 1;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			size_t k = strlen(keys[i].key);
			if (len >= k && !strncmp(p, keys[i].key, k) &&
			    arg_value(p + k, len - k, (char *)a + keys[i].off, keys[i].len) < 0)
				return err_set(e, EINVAL, "bad %.*s on the kernel command line", (int)(k - 1),
					       keys[i].key);
		}
		p += len;
	}
	if (a->init[0] != '/')
		return err_set(e, EINVAL, "berth.init=%s is not an absolute path", a->init);
	return 0;
}

/* Wait until path is a block device (drivers probe asynchronously). */
static int root_wait(const char *path, struct err *e)
{
	struct timespec step = { 0, 10 * 1000 * 1000 };
	for (int ms = 0;; ms += 10) {
		struct stat st;
		if (stat(path, &st) == 0 && S_ISBLK(st.st_mode))
			return 0;
		if (ms >= ROOT_WAIT_MS)
			return err_set(e, ENODEV, "root device %s did not appear within %d s (has the VM a disk?)",
				       path, ROOT_WAIT_MS / 1000);
		nanosleep(&step, NULL);
	}
}

/* Delete the initramfs' files (not other mounts, not /newroot), like
 * switch_root does: they would otherwise stay in memory for good. */
static void initramfs_free(int dirfd, dev_t dev, int top)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (top && !strcmp(de->d_name, "newroot")))
			continue;
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				initramfs_free(sub, dev, 0);
			unlinkat(dirfd, de->d_name, AT_REMOVEDIR);
		} else {
			unlinkat(dirfd, de->d_name, 0);
		}
	}
	closedir(d);
}

/* Mount the root disk, move the API mounts into it and make it "/". */
static int switch_root(const struct boot_args *a, struct err *e)
{
	mkdir("/newroot", 0755);
	if (mount(a->root, "/newroot", a->fstype, a->ro ? MS_RDONLY : 0, NULL) < 0) {
		int r = err_sys(e, errno, "cannot mount %s (%s%s) on /newroot", a->root, a->fstype,
				a->ro ? ", read-only" : "");
		size_t n = strlen(e->msg);
		if (r == -EROFS) /* a read-only disk whose journal needs replaying */
			snprintf(e->msg + n, sizeof(e->msg) - n,
				 " (its journal needs replaying: attach the disk writable once)");
		return r;
	}
	static const char *const api[] = { "/dev", "/proc", "/sys" };
	for (size_t i = 0; i < sizeof(api) / sizeof(api[0]); i++) {
		char dst[32];
		snprintf(dst, sizeof(dst), "/newroot%s", api[i]);
		mkdir(dst, 0755);
		if (mount(api[i], dst, NULL, MS_MOVE, NULL) < 0)
			return err_sys(e, errno, "cannot move %s into the root file system (%s has no %s?)",
				       api[i], a->root, api[i]);
	}
	struct stat st;
	int top = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top >= 0 && fstat(top, &st) == 0)
		initramfs_free(top, st.st_dev, 1);
	else if (top >= 0)
		close(top);
	if (chdir("/newroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		return err_sys(e, errno, "cannot switch to the root file system %s", a->root);
	return 0;
}

/* Set the hostname berth.hostname= gave and keep the guest's /etc/hostname
 * in line with it (as for containers), so an init that reads the file
 * (systemd) does not undo it. A bad name is reported and ignored. */
static void hostname_apply(const struct boot_args *a)
{
	size_t n = strlen(a->hostname);
	if (!n)
		return;
	if (n > 64 || strspn(a->hostname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") != n) {
		console_line("berth init: bad berth.hostname=%.64s; hostname left as it is", a->hostname);
		return;
	}
	if (sethostname(a->hostname, n) < 0)
		console_line("berth init: set hostname %s: %s", a->hostname, strerror(errno));
	if (a->ro)
		return;
	int fd = open("/etc/hostname", O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return; /* no such file: the init does not read one */
	dprintf(fd, "%s\n", a->hostname);
	close(fd);
}

/* Fork the guest agent: its own session, stdio on /dev/null; it is this
 * binary already in memory, so nothing is executed. */
static int agent_start(struct err *e)
{
	pid_t pid = fork();
	if (pid < 0)
		return err_sys(e, errno, "cannot start the guest agent");
	if (pid > 0)
		return 0;
	setsid();
	prctl(PR_SET_NAME, "berth-agent"); /* what ps shows in the guest */
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	struct agent_opts o = { .vsock_port = AGENT_VSOCK_PORT };
	struct err ae = { 0 };
	agent_serve(&o, &ae);
	console_line("berth agent: %s; berth exec will not reach this VM", ae.msg);
	_exit(1);
}

/* All of init but the final exec; returns only on failure. */
static int init_run(struct boot_args *a, struct err *e)
{
	int r;
	if ((r = mount_api(e)) < 0)
		return r;
	modules_load();
	if ((r = boot_args_read(a, e)) < 0 || (r = root_wait(a->root, e)) < 0 ||
	    (r = switch_root(a, e)) < 0)
		return r;
	if (access(a->init, X_OK) < 0)
		return err_sys(e, errno, "cannot run the guest's init %s (berth.init=)", a->init);
	hostname_apply(a);
	return agent_start(e);
}

void init_main(int argc, char **argv)
{
	struct boot_args a;
	struct err e = { 0 };
	if (init_run(&a, &e) == 0) {
		char *args[64] = { a.init };
		for (int i = 1; i < argc && i < 63; i++)
			args[i] = argv[i]; /* what the kernel passed on (e.g. "single") */
		execv(a.init, args);
		err_sys(&e, errno, "cannot exec the guest's init %s", a.init);
	}
	console_line("berth init: %s; the VM powers off", e.msg);
	sync();
	reboot(RB_POWER_OFF);
	_exit(1); /* reboot refused: the kernel's panic= decides */
}
