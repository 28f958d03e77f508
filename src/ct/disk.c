/* disk.c - a guest's own ext4 image on a loop device (the OpenVZ ploop idea).
 *
 * The image is a sparse file made with mkfs.ext4 -d (e2fsprogs, mke2fs(8)),
 * attached with LOOP_CONFIGURE and autoclear (loop(4)) so that the loop
 * device goes away by itself with the last unmount, and grown with
 * resize2fs(8), offline or online. */
#include "ct/disk.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/loop.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/size.h"

#ifndef LOOP_CONFIGURE
#define LOOP_CONFIGURE 0x4C0A
#endif

extern char **environ;

#define DISK_TOOL_OUT 2048   /* bytes of a tool's output we keep (its tail) */

/* Spawn file (PATH, then /usr/sbin and /sbin: e2fsprogs lives in sbin, which
 * a user's PATH may lack) with the given file actions (posix_spawn(3)). */
static int disk_spawn(pid_t *pid, char *const argv[], const posix_spawn_file_actions_t *fa)
{
	int r = posix_spawnp(pid, argv[0], fa, NULL, argv, environ);
	for (const char *const *d = (const char *const[]){ "/usr/sbin/", "/sbin/", NULL };
	     r == ENOENT && *d; d++) {
		char path[256];
		snprintf(path, sizeof(path), "%s%s", *d, argv[0]);
		r = posix_spawn(pid, path, fa, NULL, argv, environ);
	}
	return r;
}

/* Keep the tail of a tool's output: replace newlines by "; ", drop what
 * does not fit in the error message. */
static void disk_tail(char *out)
{
	size_t n = strlen(out);
	while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	const char *start = out;
	if (n > 300) {   /* whole lines when we can */
		start = strchr(out + n - 300, '\n');
		start = start ? start + 1 : out + n - 300;
	}
	char tmp[DISK_TOOL_OUT], *w = tmp;
	for (const char *p = start; *p && w < tmp + sizeof(tmp) - 3; p++) {
		if (*p == '\n') {
			*w++ = ';';
			*w++ = ' ';
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	memcpy(out, tmp, (size_t)(w - tmp) + 1);
}

/* Run an e2fsprogs tool with input on stdin (or /dev/null), its stdout and
 * stderr captured into out (tail, one line). Returns its exit status (>= 0),
 * or a negative errno with e set; -ENOENT names the package to install. */
static int disk_run(char *const argv[], const char *input, char out[DISK_TOOL_OUT], struct err *e)
{
	int opipe[2], ipipe[2] = { -1, -1 }, r;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(opipe, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	/* a socket, not a pipe: send(MSG_NOSIGNAL) cannot raise SIGPIPE */
	if (input && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ipipe) < 0) {
		r = err_sys(e, errno, "socketpair");
		goto close_out;
	}
	posix_spawn_file_actions_init(&fa);
	if (input)
		posix_spawn_file_actions_adddup2(&fa, ipipe[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, opipe[1], 1);
	posix_spawn_file_actions_adddup2(&fa, opipe[1], 2);
	r = disk_spawn(&pid, argv, &fa);
	posix_spawn_file_actions_destroy(&fa);
	close(opipe[1]);
	if (input)
		close(ipipe[0]);
	if (r == ENOENT) {
		r = err_set(e, ENOENT, "%s not found; install it with `apt-get install e2fsprogs`",
			    argv[0]);
		goto close_in;
	} else if (r) {
		r = err_sys(e, r, "run %s", argv[0]);
		goto close_in;
	}

	int werr = 0;
	if (input) {   /* a few commands: far below the socket buffer */
		size_t len = strlen(input);
		if (send(ipipe[1], input, len, MSG_NOSIGNAL) != (ssize_t)len)
			werr = errno ? errno : EIO;
		close(ipipe[1]);
		ipipe[1] = -1;
	}
	size_t used = 0;
	for (;;) {
		if (used > DISK_TOOL_OUT / 2) {   /* keep only the newest quarter */
			memmove(out, out + used - DISK_TOOL_OUT / 4, DISK_TOOL_OUT / 4);
			used = DISK_TOOL_OUT / 4;
		}
		ssize_t n = read(opipe[0], out + used, DISK_TOOL_OUT - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	out[used] = '\0';
	disk_tail(out);

	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			r = err_sys(e, errno, "wait for %s", argv[0]);
			goto close_in;
		}
	}
	if (werr)
		r = err_sys(e, werr, "write commands to %s (%s)", argv[0], out);
	else if (WIFSIGNALED(status))
		r = err_set(e, EIO, "%s killed by signal %d: %s", argv[0], WTERMSIG(status), out);
	else
		r = WEXITSTATUS(status);
close_in:
	if (ipipe[1] >= 0)
		close(ipipe[1]);
close_out:
	close(opipe[0]);
	return r;
}

/* mke2fs -d gives the root directory mode 0755 and lost+found uid 0 whatever
 * the tree says (e2fsprogs 1.47); make both match the tree's root with
 * debugfs(8) set_inode_field, still without mounting. */
static int disk_fix_root(const char *img, const struct stat *st, struct err *e)
{
	char cmds[256], out[DISK_TOOL_OUT];
	unsigned mode = (unsigned)(st->st_mode & 07777);
	snprintf(cmds, sizeof(cmds),
		 "sif / mode 0%o\nsif /lost+found uid %u\nsif /lost+found gid %u\n",
		 S_IFDIR | mode, (unsigned)st->st_uid, (unsigned)st->st_gid);
	char *argv[] = { "debugfs", "-w", "-f", "-", (char *)img, NULL };
	int r = disk_run(argv, cmds, out, e);
	if (r < 0)
		return r;
	/* debugfs exits 0 even when a request fails: it only echoes requests
	 * ("debugfs: sif ...") and its banner unless something went wrong */
	for (const char *p = out; *p; ) {
		if (strncmp(p, "debugfs", 7) != 0)
			r = -EIO;
		const char *next = strstr(p, "; ");
		p = next ? next + 2 : p + strlen(p);
	}
	if (r)
		return err_set(e, EIO, "debugfs: set the owner of the root of %s: %s", img, out);
	return 0;
}

/* Create a sparse image of `bytes` and make an ext4 file system in it from
 * tree (mke2fs(8) -d), owned as tree; no reserved blocks (-m 0): the
 * guest's root is not the host's root and could never use them. */
int disk_create(const char *img, uint64_t bytes, const char *tree, struct err *e)
{
	struct stat st;
	char owner[64], out[DISK_TOOL_OUT];
	int r;

	if (stat(tree, &st) < 0)
		return err_sys(e, errno, "disk image contents %s", tree);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, ENOTDIR, "disk image contents %s is not a directory", tree);

	int fd = open(img, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		return err_set(e, EEXIST, "disk image %s already exists; remove it first "
			       "or choose another path", img);
	if (fd < 0)
		return err_sys(e, errno, "create disk image %s", img);
	r = ftruncate(fd, (off_t)bytes) < 0 ? -errno : 0;
	close(fd);
	if (r < 0) {
		err_sys(e, -r, "size disk image %s to %" PRIu64 " bytes", img, bytes);
		goto fail;
	}

	snprintf(owner, sizeof(owner), "root_owner=%u:%u", (unsigned)st.st_uid, (unsigned)st.st_gid);
	char *argv[] = { "mkfs.ext4", "-q", "-F", "-m", "0", "-E", owner, "-d", (char *)tree,
			 (char *)img, NULL };
	r = disk_run(argv, NULL, out, e);
	if (r > 0)
		r = err_set(e, EIO, "mkfs.ext4 %s from %s failed (exit %d): %s", img, tree, r, out);
	if (r == 0)
		r = disk_fix_root(img, &st, e);
	if (r == 0)
		return 0;
fail:
	unlink(img);
	return r;
}

/* Bind the backing file to the free loop device lfd: LOOP_CONFIGURE (Linux
 * 5.8) with direct I/O, then without it (a backing fs without O_DIRECT),
 * then LOOP_SET_FD + LOOP_SET_STATUS64 on older kernels; loop(4). Returns
 * -EBUSY when another process took the device first. */
static int disk_loop_attach(int lfd, int ffd, const char *img)
{
	struct loop_config cfg = { .fd = (uint32_t)ffd };
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO;
	snprintf((char *)cfg.info.lo_file_name, LO_NAME_SIZE, "%s", img);
	if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOTTY)
		return -errno;
	if (ioctl(lfd, LOOP_SET_FD, ffd) < 0)
		return -errno;
	if (ioctl(lfd, LOOP_SET_STATUS64, &cfg.info) < 0) {
		int r = -errno;
		ioctl(lfd, LOOP_CLR_FD, 0);
		return r;
	}
	return 0;
}

/* Attach img to a free loop device: its path in dev, the device's fd. */
static int disk_loop_get(const char *img, char dev[32], struct err *e)
{
	_cleanup_close_ int ffd = open(img, O_RDWR | O_CLOEXEC);
	if (ffd < 0)
		return err_sys(e, errno, "open disk image %s", img);
	_cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return err_sys(e, errno, "open /dev/loop-control (is the loop module loaded? "
			       "try `modprobe loop`)");

	int lfd = -1, r = -EBUSY;
	for (int attempt = 0; attempt < 32 && r == -EBUSY; attempt++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			return err_sys(e, errno, "find a free loop device");
		snprintf(dev, 32, "/dev/loop%d", n);
		lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0)
			return err_sys(e, errno, "open %s", dev);
		r = disk_loop_attach(lfd, ffd, img);
		if (r < 0) {
			close(lfd);
			lfd = -1;
		}
	}
	if (r < 0)
		return err_sys(e, -r, "attach disk image %s to a loop device", img);
	return lfd;
}

/* Mount the ext4 on dev at dir through a detached mount (fsopen(2),
 * fsmount(2)) idmapped with the user namespace userns (mount_setattr(2)),
 * then attached (move_mount(2)): files owned by 0..65535 on disk show as
 * owned by that namespace's map of them. */
static int disk_mount_idmap(const char *img, const char *dev, const char *dir, int userns,
			    struct err *e)
{
	_cleanup_close_ int fs = fsopen("ext4", FSOPEN_CLOEXEC);
	if (fs < 0)
		return err_sys(e, errno, "mount disk image %s: fsopen ext4", img);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "source", dev, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return err_sys(e, errno, "mount disk image %s (%s)", img, dev);
	_cleanup_close_ int mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV);
	if (mnt < 0)
		return err_sys(e, errno, "mount disk image %s (%s)", img, dev);
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
	if (mount_setattr(mnt, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return err_sys(e, errno, "idmap the mount of disk image %s (needs idmapped "
			       "ext4 mounts, Linux 5.12+)", img);
	if (move_mount(mnt, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return err_sys(e, errno, "attach disk image %s at %s", img, dir);
	return 0;
}

/* Attach img to a free loop device and mount it at dir, nodev, idmapped
 * through userns unless it is -1. Not nosuid: su, sudo and ping inside
 * the guest need set-uid files, which belong to the guest's ids, not to
 * host users. */
int disk_mount_ns(const char *img, const char *dir, int userns, struct err *e)
{
	char dev[32];
	int lfd = disk_loop_get(img, dev, e), r = 0;
	if (lfd < 0)
		return lfd;
	if (userns >= 0)
		r = disk_mount_idmap(img, dev, dir, userns, e);
	else if (mount(dev, dir, "ext4", MS_NODEV, NULL) < 0)
		r = err_sys(e, errno, "mount disk image %s (%s) at %s", img, dev, dir);
	if (r < 0)
		ioctl(lfd, LOOP_CLR_FD, 0);
	close(lfd);   /* autoclear: the mount now holds the device */
	return r;
}

int disk_mount(const char *img, const char *dir, struct err *e)
{
	return disk_mount_ns(img, dir, -1, e);
}

int disk_idmap_supported(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return 1;   /* let the mount tell */
	return major > 5 || (major == 5 && minor >= 12);
}

/* Undo the octal escapes of a /proc/self/mountinfo field (proc(5)) in place. */
static void disk_unescape(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++, w++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*w = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*w = *p;
		}
	}
	*w = '\0';
}

/* Find the loop device mounted at dir (the topmost mount there, from
 * /proc/self/mountinfo) and check that img is its backing file. */
static int disk_loop_of_mount(const char *img, const struct stat *ist, const char *dir,
			      char dev[64], struct err *e)
{
	_cleanup_free_ char *real = realpath(dir, NULL);
	_cleanup_free_ char *info = NULL;
	size_t len;
	if (!real)
		return err_sys(e, errno, "mount point %s", dir);
	int r = read_file("/proc/self/mountinfo", 16 << 20, &info, &len, e);
	if (r < 0)
		return r;

	dev[0] = '\0';
	for (char *line = info, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char mnt[4096], src[4096];
		const char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%*s %4095s", src) != 1)
			continue;
		disk_unescape(mnt);
		disk_unescape(src);
		if (strcmp(mnt, real) == 0)
			snprintf(dev, 64, "%s", src);
	}
	if (!dev[0])
		return err_set(e, EINVAL, "nothing is mounted at %s; grow the disk offline "
			       "or pass its mount point", dir);

	struct loop_info64 li;
	_cleanup_close_ int lfd = strncmp(dev, "/dev/loop", 9) ? -1 : open(dev, O_RDONLY | O_CLOEXEC);
	if (lfd < 0 || ioctl(lfd, LOOP_GET_STATUS64, &li) < 0 ||
	    li.lo_device != ist->st_dev || li.lo_inode != ist->st_ino)
		return err_set(e, EINVAL, "%s is mounted from %s, not from disk image %s",
			       dir, dev, img);
	return 0;
}

/* Refuse to touch an image some loop device still uses (offline grow):
 * compares each /sys/block/loopN/loop/backing_file with the image's path. */
static int disk_check_unused(const char *img, struct err *e)
{
	_cleanup_free_ char *real = realpath(img, NULL);
	if (!real)
		return err_sys(e, errno, "disk image %s", img);
	DIR *d = opendir("/sys/block");
	if (!d)
		return 0;   /* no sysfs: nothing we can check */
	int r = 0;
	for (struct dirent *de; r == 0 && (de = readdir(d)); ) {
		char path[320], *buf = NULL;
		size_t len;
		struct err ignore = { 0 };
		if (strncmp(de->d_name, "loop", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", de->d_name);
		if (read_file(path, 8192, &buf, &len, &ignore) < 0)
			continue;   /* not bound */
		if (len && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (strcmp(buf, real) == 0)
			r = err_set(e, EBUSY, "disk image %s is in use by /dev/%s; stop the "
				    "guest first or grow it online at its mount point",
				    img, de->d_name);
		free(buf);
	}
	closedir(d);
	return r;
}

/* Whether the calling thread has CAP_SYS_RESOURCE in its effective set,
 * which ext4's online resize ioctl checks (capget(2)). */
static int disk_can_resize_online(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return 1;   /* let resize2fs tell */
	return !!(data[CAP_SYS_RESOURCE / 32].effective & (1u << (CAP_SYS_RESOURCE % 32)));
}

/* Grow img and its file system to `bytes`: offline with e2fsck -f -p then
 * resize2fs (resize2fs(8) insists on a fresh check), or online through the
 * loop device after LOOP_SET_CAPACITY when mounted_at is given. */
int disk_grow(const char *img, uint64_t bytes, const char *mounted_at, struct err *e)
{
	struct stat st;
	char dev[64], out[DISK_TOOL_OUT], a[32], b[32];
	int r;

	if (stat(img, &st) < 0)
		return err_sys(e, errno, "disk image %s", img);
	if (bytes < (uint64_t)st.st_size) {
		size_format((uint64_t)st.st_size, a, sizeof(a));
		size_format(bytes, b, sizeof(b));
		return err_exit(e, EXIT_USAGE, "disk cannot shrink from %s to %s; "
				"create a new guest or copy data", a, b);
	}
	/* Same size still runs resize2fs: it finishes a growth that failed
	 * after the file grew, and is a no-op otherwise. */

	if (mounted_at) {
		if (!disk_can_resize_online())
			return err_set(e, EPERM, "growing the mounted disk %s needs "
				       "CAP_SYS_RESOURCE, which berth lacks here; stop the "
				       "guest and grow it offline", img);
		r = disk_loop_of_mount(img, &st, mounted_at, dev, e);
	} else {
		r = disk_check_unused(img, e);
		char *fsck[] = { "e2fsck", "-f", "-p", (char *)img, NULL };
		if (r == 0)
			r = disk_run(fsck, NULL, out, e);
		if (r >= 4)   /* 1-3: errors corrected (e2fsck(8) exit codes) */
			return err_set(e, EIO, "e2fsck %s found errors it could not fix "
				       "(exit %d): %s; run `e2fsck -f %s` by hand", img, r, out, img);
		r = r < 0 ? r : 0;
		snprintf(dev, sizeof(dev), "%s", "");
	}
	if (r < 0)
		return r;

	_cleanup_close_ int fd = open(img, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "open disk image %s", img);
	if (ftruncate(fd, (off_t)bytes) < 0)
		return err_sys(e, errno, "grow disk image %s", img);

	if (mounted_at) {
		_cleanup_close_ int lfd = open(dev, O_RDONLY | O_CLOEXEC);
		if (lfd < 0 || ioctl(lfd, LOOP_SET_CAPACITY, 0) < 0)
			return err_sys(e, errno, "tell %s that %s grew", dev, img);
	}
	char *resize[] = { "resize2fs", mounted_at ? dev : (char *)img, NULL };
	r = disk_run(resize, NULL, out, e);
	if (r > 0)
		return err_set(e, EIO, "resize2fs %s failed (exit %d): %s", resize[1], r, out);
	return r;
}
