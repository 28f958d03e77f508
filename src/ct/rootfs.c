/* rootfs.c - container mounts and pivot_root (runs inside the new namespaces). */
#include "ct/rootfs.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* As runc/crun mask them (runtime-spec defaults), plus sysrq and friends below. */
const char *const rootfs_masked[] = {
	"proc/acpi", "proc/asound", "proc/kcore", "proc/keys", "proc/latency_stats",
	"proc/timer_list", "proc/timer_stats", "proc/sched_debug", "proc/scsi",
	"sys/firmware", "sys/devices/virtual/powercap", NULL,
};

const char *const rootfs_readonly[] = {
	"proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger", NULL,
};

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty", NULL };

#define PROC_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static int do_mount(const char *src, const char *dst, const char *type, unsigned long flags,
		    const char *data, struct err *e)
{
	if (mount(src, dst, type, flags, data) < 0)
		return err_sys(e, errno, "mount %s on /%s", type ? type : src ? src : "(remount)", dst);
	return 0;
}

/* Bind-mount src onto dst, creating dst as an empty file. */
static int bind_file(const char *src, const char *dst, struct err *e)
{
	int fd = open(dst, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(e, errno, "create /%s", dst);
	close(fd);
	return do_mount(src, dst, NULL, MS_BIND, NULL, e);
}

/* Hide one path: /dev/null over files, an empty read-only tmpfs over dirs. */
static int mask_path(const char *p, struct err *e)
{
	struct stat st;
	if (lstat(p, &st) < 0)
		return 0; /* not present on this kernel */
	if (S_ISDIR(st.st_mode))
		return do_mount("tmpfs", p, "tmpfs", MS_RDONLY | PROC_FLAGS, "size=0,mode=555", e);
	return do_mount("/dev/null", p, NULL, MS_BIND, NULL, e);
}

/* Bind p onto itself and remount it read-only (keeping locked flags). */
static int make_readonly(const char *p, unsigned long keep, struct err *e)
{
	if (access(p, F_OK) < 0)
		return 0;
	int r = do_mount(p, p, NULL, MS_BIND | MS_REC, NULL, e);
	if (r < 0)
		return r;
	return do_mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL, e);
}

static int mount_proc_sys(const struct rootfs_spec *spec, struct err *e)
{
	int r;
	if ((r = do_mount("proc", "proc", "proc", PROC_FLAGS, NULL, e)) < 0 ||
	    (r = do_mount("sysfs", "sys", "sysfs", PROC_FLAGS | MS_RDONLY, NULL, e)) < 0)
		return r;
	for (const char *const *p = rootfs_readonly; *p; p++)
		if ((r = make_readonly(*p, PROC_FLAGS, e)) < 0)
			return r;
	for (const char *const *p = rootfs_masked; *p; p++)
		if ((r = mask_path(*p, e)) < 0)
			return r;
	return 0;
}

static int mount_dev(const struct rootfs_spec *spec, struct err *e)
{
	char src[64], dst[64];
	int r;
	if ((r = do_mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=1024k", e)) < 0)
		return r;
	for (const char *const *n = dev_nodes; *n; n++) {
		snprintf(src, sizeof(src), "/dev/%s", *n);
		snprintf(dst, sizeof(dst), "dev/%s", *n);
		if ((r = bind_file(src, dst, e)) < 0)
			return r;
	}
	if (mkdir("dev/pts", 0755) < 0 || mkdir("dev/shm", 01777) < 0 || mkdir("dev/mqueue", 0755) < 0)
		return err_sys(e, errno, "mkdir in /dev");
	if ((r = do_mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
			  "newinstance,ptmxmode=0666,mode=0620,gid=5", e)) < 0 ||
	    (r = do_mount("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k", e)) < 0)
		return r;
	if (mount("mqueue", "dev/mqueue", "mqueue", PROC_FLAGS, NULL) < 0)
		rmdir("dev/mqueue"); /* optional */
	if (spec->console && (r = bind_file(spec->console, "dev/console", e)) < 0)
		return r;
	static const char *const links[][2] = {
		{ "pts/ptmx", "dev/ptmx" }, { "/proc/self/fd", "dev/fd" },
		{ "/proc/self/fd/0", "dev/stdin" }, { "/proc/self/fd/1", "dev/stdout" },
		{ "/proc/self/fd/2", "dev/stderr" }, { "/proc/kcore", "dev/core" },
	};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			return err_sys(e, errno, "symlink /%s", links[i][1]);
	return 0;
}

/* Make sure the mount points the guest needs exist in its tree. */
static int ensure_dirs(struct err *e)
{
	static const char *const dirs[] = { "proc", "sys", "dev", NULL };
	for (const char *const *d = dirs; *d; d++) {
		struct stat st;
		if (lstat(*d, &st) == 0) {
			if (!S_ISDIR(st.st_mode))
				return err_set(e, ENOTDIR, "/%s in the guest's tree is not a directory; fix the template", *d);
			continue;
		}
		if (mkdir(*d, 0555) < 0)
			return err_sys(e, errno, "mkdir /%s in the guest's tree", *d);
	}
	return 0;
}

int rootfs_mount_cgroup2(struct err *e)
{
	return do_mount("cgroup2", "/sys/fs/cgroup", "cgroup2", PROC_FLAGS, NULL, e);
}

int rootfs_enter(const struct rootfs_spec *spec, struct err *e)
{
	int r;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_sys(e, errno, "make mounts private");
	if ((r = do_mount(spec->rootfs, spec->rootfs, NULL, MS_BIND | MS_REC, NULL, e)) < 0)
		return r;
	if (chdir(spec->rootfs) < 0)
		return err_sys(e, errno, "chdir %s", spec->rootfs);
	if ((r = ensure_dirs(e)) < 0 || (r = mount_proc_sys(spec, e)) < 0 ||
	    (r = mount_dev(spec, e)) < 0)
		return r;
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return err_sys(e, errno, "pivot_root into %s", spec->rootfs);
	if (umount2(".", MNT_DETACH) < 0)
		return err_sys(e, errno, "detach the host's root");
	if (chdir("/") < 0)
		return err_sys(e, errno, "chdir /");
	return 0;
}
