/* busybox.c - the busybox template: the host's static busybox, a link per
 * applet, and just enough /etc for busybox init, a shell and a login. */
#include "tpl/template.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fsutil.h"

#define BUSYBOX "/bin/busybox"
#define BUSYBOX_FIX "install the static one with 'apt-get install busybox-static'"

extern char **environ;

static const char inittab[] =
	"# /etc/inittab - busybox init, written by berth\n"
	"::sysinit:/etc/init.d/rcS\n"
	"console::respawn:-/bin/sh\n"
	"::ctrlaltdel:/sbin/reboot\n"
	"::shutdown:/bin/sync\n"
	"::shutdown:/bin/umount -a -r\n";

static const char rcs[] =
	"#!/bin/sh\n"
	"# /etc/init.d/rcS - boot script of a berth busybox guest. berth has\n"
	"# mounted /proc, /sys and /dev already; nothing is mounted here.\n"
	"# A container's hostname is set by berth; /etc/hostname is the fallback.\n"
	"case \"$(hostname)\" in ''|'(none)'|localhost)\n"
	"\t[ -s /etc/hostname ] && hostname -F /etc/hostname ;;\n"
	"esac\n"
	"ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null\n"
	"for s in /etc/init.d/S[0-9][0-9]*; do\n"
	"\t[ -x \"$s\" ] && \"$s\" start\n"
	"done\n"
	"exit 0\n";

static const struct { const char *path, *text; mode_t mode; } etc_files[] = {
	{ "etc/inittab", inittab, 0644 },
	{ "etc/init.d/rcS", rcs, 0755 },
	{ "etc/passwd", "root::0:0:root:/root:/bin/sh\n"
			"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", 0644 },
	{ "etc/group", "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n", 0644 },
	{ "etc/shadow", "root::19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n", 0600 },
	{ "etc/hostname", "busybox\n", 0644 },
	{ "etc/hosts", "127.0.0.1\tlocalhost\n::1\t\tlocalhost\n", 0644 },
	{ "etc/shells", "/bin/sh\n/bin/ash\n", 0644 },
	{ "etc/profile", "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
			 "export PS1='\\u@\\h:\\w\\$ '\n"
			 "umask 022\n", 0644 },
};

static const struct { const char *path; mode_t mode; } dirs[] = {
	{ "bin", 0755 }, { "sbin", 0755 }, { "usr", 0755 }, { "usr/bin", 0755 },
	{ "usr/sbin", 0755 }, { "dev", 0755 }, { "proc", 0555 }, { "sys", 0555 },
	{ "tmp", 01777 }, { "root", 0700 }, { "etc", 0755 }, { "etc/init.d", 0755 },
	{ "var", 0755 }, { "var/log", 0755 }, { "run", 0755 }, { "home", 0755 },
	{ "mnt", 0755 },
};

/* Check that path is an ELF executable without an interpreter (static). */
static int check_static(const char *path, struct err *e)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT
			? err_exit(e, EXIT_HOST, "%s is missing; %s", path, BUSYBOX_FIX)
			: err_sys(e, errno, "open %s", path);
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256)
		return err_exit(e, EXIT_HOST, "%s is not a 64-bit ELF program; %s", path, BUSYBOX_FIX);
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != (ssize_t)sizeof(ph))
			return err_exit(e, EXIT_HOST, "%s is truncated; %s", path, BUSYBOX_FIX);
		if (ph.p_type == PT_INTERP)
			return err_exit(e, EXIT_HOST, "%s is dynamically linked and would not run in a guest; %s",
					path, BUSYBOX_FIX);
	}
	return 0;
}

/* Run `busybox --list-full` and return its output (malloc'd). */
static int list_applets(char **out, struct err *e)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *argv[] = { "busybox", "--list-full", NULL };
	pid_t pid;
	int r = posix_spawn(&pid, BUSYBOX, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (r != 0) {
		close(pfd[0]);
		return err_sys(e, r, "run %s --list-full", BUSYBOX);
	}
	size_t cap = 16384, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (n + 1 == cap) {
			char *nb = cap < (1 << 20) ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t k = read(pfd[0], buf + n, cap - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(pfd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!buf)
		return err_set(e, ENOMEM, "busybox --list-full printed too much");
	buf[n] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n == 0) {
		free(buf);
		return err_exit(e, EXIT_HOST, "%s --list-full failed; %s", BUSYBOX, BUSYBOX_FIX);
	}
	*out = buf;
	return 0;
}

/* 1 if an applet path from busybox is a plain relative path we can link. */
static int applet_ok(const char *p)
{
	if (!*p || *p == '/' || strlen(p) > 200 || strstr(p, ".."))
		return 0;
	for (const char *c = p; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			return 0;
	return 1;
}

/* Copy the busybox binary into the tree as bin/busybox, mode 0755. */
static int copy_busybox(int rootfd, struct err *e)
{
	_cleanup_close_ int in = open(BUSYBOX, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return err_sys(e, errno, "open %s", BUSYBOX);
	_cleanup_close_ int out = openat(rootfd, "bin/busybox", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0)
		return err_sys(e, errno, "create bin/busybox in the template");
	for (;;) {
		ssize_t k = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			/* no copy_file_range across these file systems: plain copy */
			char buf[65536];
			lseek(in, 0, SEEK_SET);
			if (ftruncate(out, 0) < 0 || lseek(out, 0, SEEK_SET) < 0)
				return err_sys(e, errno, "write bin/busybox in the template");
			while ((k = read(in, buf, sizeof(buf))) > 0)
				if (write(out, buf, (size_t)k) != k)
					return err_sys(e, errno ? errno : EIO, "write bin/busybox in the template");
			if (k < 0)
				return err_sys(e, errno, "read %s", BUSYBOX);
			break;
		}
		if (k == 0)
			break;
	}
	if (fchmod(out, 0755) < 0)
		return err_sys(e, errno, "chmod bin/busybox in the template");
	return 0;
}

/* Link every applet to /bin/busybox, creating parent dirs as needed. */
static int link_applets(int rootfd, char *list, struct err *e)
{
	char *save = NULL;
	for (char *line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!applet_ok(line) || !strcmp(line, "bin/busybox"))
			continue;
		for (char *s = strchr(line, '/'); s; s = strchr(s + 1, '/')) {
			*s = '\0';
			int r = mkdirat(rootfd, line, 0755);
			*s = '/';
			if (r < 0 && errno != EEXIST)
				return err_sys(e, errno, "mkdir for /%s in the template", line);
		}
		if (symlinkat("/bin/busybox", rootfd, line) < 0 && errno != EEXIST)
			return err_sys(e, errno, "symlink /%s in the template", line);
	}
	return 0;
}

/* Fill the tree rootfs: dirs, busybox, applet links, /etc. */
static int populate(const char *rootfs, struct err *e)
{
	_cleanup_close_ int rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err_sys(e, errno, "open %s", rootfs);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdirat(rootfd, dirs[i].path, 0700) < 0 ||
		    fchmodat(rootfd, dirs[i].path, dirs[i].mode, 0) < 0)
			return err_sys(e, errno, "mkdir /%s in the template", dirs[i].path);
	if (symlinkat("../run", rootfd, "var/run") < 0 || symlinkat("/proc/mounts", rootfd, "etc/mtab") < 0)
		return err_sys(e, errno, "symlink in the template");
	int r = copy_busybox(rootfd, e);
	if (r < 0)
		return r;
	_cleanup_free_ char *list = NULL;
	if ((r = list_applets(&list, e)) < 0 || (r = link_applets(rootfd, list, e)) < 0)
		return r;
	for (size_t i = 0; i < sizeof(etc_files) / sizeof(etc_files[0]); i++)
		if ((r = tpl_write(rootfd, etc_files[i].path, etc_files[i].text, etc_files[i].mode, e)) < 0)
			return r;
	return 0;
}

int tpl_build_busybox(const struct store *s, const char *name, struct err *e)
{
	char tmp[PATH_MAX], rootfs[PATH_MAX];
	int r = check_static(BUSYBOX, e);
	if (r < 0)
		return r;
	if ((r = tpl_begin(s, name, tmp, sizeof(tmp), e)) < 0)
		return r;
	tpl_guard_begin();
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", tmp);
	r = populate(rootfs, e);
	if (r == 0) {
		enum init_kind k = tpl_detect_init(rootfs);
		if (k != INIT_BUSYBOX)
			r = err_set(e, EIO, "the busybox tree has no /sbin/init applet; %s", BUSYBOX_FIX);
		else
			r = tpl_commit(s, name, tmp, "busybox", k, e);
	}
	if (r < 0)
		tpl_abort(tmp);
	tpl_guard_end();
	return r;
}
