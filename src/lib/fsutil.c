/* fsutil.c - atomic writes, recursive mkdir/remove, locks. */
#include "lib/fsutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int fsync_dir_of(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	int fd = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int atomic_write(const char *path, const void *data, size_t len, mode_t mode,
		 int durable, struct err *e)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return err_set(e, ENAMETOOLONG, "path too long: %s", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return err_sys(e, errno, "create %s", tmp);
	/* the mode asked for, whatever the umask or a stale temp file had */
	if (fchmod(fd, mode) < 0) {
		int r = err_sys(e, errno, "chmod %s", tmp);
		close(fd);
		unlink(tmp);
		return r;
	}
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int r = err_sys(e, errno, "write %s", tmp);
			close(fd);
			unlink(tmp);
			return r;
		}
		p += n;
		left -= (size_t)n;
	}
	if (durable && fsync(fd) < 0) {
		int r = err_sys(e, errno, "fsync %s", tmp);
		close(fd);
		unlink(tmp);
		return r;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		int r = err_sys(e, errno, "rename %s", path);
		unlink(tmp);
		return r;
	}
	if (durable) {
		int r = fsync_dir_of(path);
		if (r < 0)
			return err_sys(e, -r, "fsync directory of %s", path);
	}
	return 0;
}

int read_file(const char *path, size_t max, char **out, size_t *len, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "open %s", path);
	size_t cap = max < 4096 ? max : 4096, n = 0;
	char *buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return err_set(e, ENOMEM, "out of memory reading %s", path);
	}
	for (;;) {
		if (n == cap && cap >= max) {
			/* max bytes read: fine only if that was all of it */
			char extra;
			ssize_t r = read(fd, &extra, 1);
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0)
				break;
			int rc = r < 0 ? err_sys(e, errno, "read %s", path)
				       : err_set(e, EFBIG, "%s is larger than %zu bytes", path, max);
			free(buf);
			close(fd);
			return rc;
		}
		if (n == cap) {
			cap = cap * 2 > max ? max : cap * 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				close(fd);
				return err_set(e, ENOMEM, "out of memory reading %s", path);
			}
			buf = nb;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int rc = err_sys(e, errno, "read %s", path);
			free(buf);
			close(fd);
			return rc;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

int write_str(const char *path, const char *s, struct err *e)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "open %s", path);
	size_t n = strlen(s);
	ssize_t w = write(fd, s, n);
	int saved = errno;
	close(fd);
	if (w < 0)
		return err_sys(e, saved, "write '%s' to %s", s, path);
	if ((size_t)w != n)
		return err_set(e, EIO, "short write to %s", path);
	return 0;
}

int mkdir_p(const char *path, mode_t mode, struct err *e)
{
	char buf[PATH_MAX];
	if (!*path)
		return err_set(e, ENOENT, "mkdir: empty path");
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return err_set(e, ENAMETOOLONG, "path too long: %s", path);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return err_sys(e, errno, "mkdir %s", buf);
			*p = c;
			if (!c)
				break;
		}
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return err_sys(e, errno, "mkdir %s", path);
	if (!S_ISDIR(st.st_mode))
		return err_sys(e, ENOTDIR, "mkdir %s", path);
	return 0;
}

/* The mount a path (relative to dirfd) lives on: st_dev alone misses bind
 * mounts of the same file system, so compare mount ids where the kernel
 * has them (5.8+), device numbers otherwise. */
struct mnt_key {
	dev_t dev;
	uint64_t mnt_id; /* 0 if unknown */
};

static int mnt_key_at(int dirfd, const char *name, struct mnt_key *k)
{
	struct statx sx;
	if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MNT_ID, &sx) < 0)
		return -errno;
	k->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	k->mnt_id = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
	return 0;
}

static int mnt_key_same(const struct mnt_key *a, const struct mnt_key *b)
{
	return a->dev == b->dev && (!a->mnt_id || !b->mnt_id || a->mnt_id == b->mnt_id);
}

/* Remove everything inside dirfd (which is on mount m). */
static int rm_children(int dirfd, const struct mnt_key *m, const char *path, struct err *e)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return err_sys(e, errno, "open directory %s", path);
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			struct mnt_key k;
			if (mnt_key_at(dirfd, n, &k) < 0)
				k = (struct mnt_key){ st.st_dev, 0 };
			if (!mnt_key_same(&k, m)) {
				rc = err_set(e, EBUSY, "%s/%s is a mount point; unmount it first", path, n);
				break;
			}
			int sub = openat(dirfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				rc = err_sys(e, errno, "open %s/%s", path, n);
				break;
			}
			char *subpath;
			if (asprintf(&subpath, "%s/%s", path, n) < 0) {
				close(sub);
				rc = err_set(e, ENOMEM, "out of memory");
				break;
			}
			rc = rm_children(sub, m, subpath, e);
			free(subpath);
			if (rc < 0)
				break;
			if (unlinkat(dirfd, n, AT_REMOVEDIR) < 0) {
				rc = err_sys(e, errno, "remove %s/%s", path, n);
				break;
			}
		} else if (unlinkat(dirfd, n, 0) < 0) {
			rc = err_sys(e, errno, "remove %s/%s", path, n);
			break;
		}
	}
	closedir(d);
	return rc;
}

int rm_rf(const char *path, struct err *e)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_sys(e, errno, "stat %s", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return err_sys(e, errno, "remove %s", path);
		return 0;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "open %s", path);
	struct mnt_key m;
	if (mnt_key_at(AT_FDCWD, path, &m) < 0)
		m = (struct mnt_key){ st.st_dev, 0 };
	int r = rm_children(fd, &m, path, e);
	if (r < 0)
		return r;
	if (rmdir(path) < 0 && errno != ENOENT)
		return err_sys(e, errno, "remove %s", path);
	return 0;
}

int lock_path(const char *path, int shared, int nonblock, struct err *e)
{
	for (;;) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return err_sys(e, errno, "open lock %s", path);
		int op = (shared ? LOCK_SH : LOCK_EX) | (nonblock ? LOCK_NB : 0);
		while (flock(fd, op) < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			close(fd);
			if (saved == EWOULDBLOCK)
				return -EWOULDBLOCK;
			return err_sys(e, saved, "lock %s", path);
		}
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			return fd;
		close(fd); /* unlinked or replaced while we waited: retry */
	}
}

int path_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}
