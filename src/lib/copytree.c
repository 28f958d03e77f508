/* copytree.c - recursive copy with uid/gid shifting (guest rootfs from a template). */
#include "lib/copytree.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/config.h"

struct hardlink {
	dev_t dev;
	ino_t ino;
	char *path; /* relative to dst root */
};

struct copy_ctx {
	uint32_t shift;
	int dst_root;          /* fd of the destination root */
	struct hardlink *links;
	size_t nlinks, caplinks;
	struct err *e;
};

static uid_t shift_id(const struct copy_ctx *c, unsigned id)
{
	if (id >= IDRANGE_SIZE)
		id = 65534; /* unmappable owner in a template: nobody */
	return (uid_t)(id + c->shift);
}

static int copy_data(int in, int out, const char *rel, struct err *e)
{
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n > 0)
			continue;
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return err_sys(e, errno, "copy %s", rel);
		break;
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, errno, "read %s", rel);
		if (n == 0)
			return 0;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return err_sys(e, errno, "write %s", rel);
			off += w;
		}
	}
}

/* If st is a hard link we already copied, link to it; returns 1 if linked. */
static int try_hardlink(struct copy_ctx *c, const struct stat *st, int dfd, const char *name,
			const char *rel)
{
	if (st->st_nlink < 2)
		return 0;
	for (size_t i = 0; i < c->nlinks; i++) {
		if (c->links[i].dev == st->st_dev && c->links[i].ino == st->st_ino) {
			if (linkat(c->dst_root, c->links[i].path, dfd, name, 0) < 0)
				return err_sys(c->e, errno, "link %s", rel);
			return 1;
		}
	}
	if (c->nlinks == c->caplinks) {
		size_t cap = c->caplinks ? c->caplinks * 2 : 64;
		struct hardlink *n = realloc(c->links, cap * sizeof(*n));
		if (!n)
			return err_set(c->e, ENOMEM, "out of memory");
		c->links = n;
		c->caplinks = cap;
	}
	char *p = strdup(rel);
	if (!p)
		return err_set(c->e, ENOMEM, "out of memory");
	c->links[c->nlinks++] = (struct hardlink){ st->st_dev, st->st_ino, p };
	return 0;
}

static int set_meta(struct copy_ctx *c, int dfd, const char *name, const struct stat *st,
		    const char *rel)
{
	if (fchownat(dfd, name, shift_id(c, st->st_uid), shift_id(c, st->st_gid),
		     AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(c->e, errno, "chown %s", rel);
	if (!S_ISLNK(st->st_mode) && fchmodat(dfd, name, st->st_mode & 07777, 0) < 0)
		return err_sys(c->e, errno, "chmod %s", rel);
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int copy_dir(struct copy_ctx *c, int sfd, int dfd, char *rel, size_t rellen);

static int copy_entry(struct copy_ctx *c, int sfd, int dfd, const char *name, char *rel,
		      size_t rellen)
{
	struct stat st;
	struct err *e = c->e;
	if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, errno, "stat %s", rel);
	int r = 0;
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(dfd, name, 0700) < 0)
			return err_sys(e, errno, "mkdir %s", rel);
		int s2 = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int d2 = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s2 < 0 || d2 < 0) {
			r = err_sys(e, errno, "open %s", rel);
			if (s2 >= 0)
				close(s2);
			if (d2 >= 0)
				close(d2);
			return r;
		}
		r = copy_dir(c, s2, d2, rel, rellen); /* closes s2 */
		close(d2);
		if (r < 0)
			return r;
	} else if (S_ISREG(st.st_mode)) {
		if ((r = try_hardlink(c, &st, dfd, name, rel)) != 0)
			return r < 0 ? r : 0;
		int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (in < 0)
			return err_sys(e, errno, "open %s", rel);
		int out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (out < 0) {
			close(in);
			return err_sys(e, errno, "create %s", rel);
		}
		r = st.st_size ? copy_data(in, out, rel, e) : 0;
		close(in);
		close(out);
		if (r < 0)
			return r;
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(sfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return err_sys(e, errno, "readlink %s", rel);
		target[n] = '\0';
		if (symlinkat(target, dfd, name) < 0)
			return err_sys(e, errno, "symlink %s", rel);
	} else if (S_ISFIFO(st.st_mode)) {
		if (mknodat(dfd, name, S_IFIFO | 0600, 0) < 0)
			return err_sys(e, errno, "mkfifo %s", rel);
	} else {
		return 0; /* device nodes and sockets are not copied */
	}
	return set_meta(c, dfd, name, &st, rel);
}

/* Copy the children of sfd into dfd; takes ownership of sfd. */
static int copy_dir(struct copy_ctx *c, int sfd, int dfd, char *rel, size_t rellen)
{
	DIR *d = fdopendir(sfd);
	if (!d) {
		close(sfd);
		return err_sys(c->e, errno, "read directory %s", rel);
	}
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		size_t n = strlen(de->d_name);
		if (rellen + 1 + n + 1 > PATH_MAX) {
			r = err_set(c->e, ENAMETOOLONG, "path too long under %s", rel);
			break;
		}
		char *end = rel + rellen;
		if (rellen)
			*end++ = '/';
		memcpy(end, de->d_name, n + 1);
		r = copy_entry(c, dirfd(d), dfd, de->d_name, rel, (size_t)(end - rel) + n);
		rel[rellen] = '\0';
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

int copytree_shift(const char *src, const char *dst, uint32_t shift, struct err *e)
{
	struct stat st;
	if (lstat(src, &st) < 0)
		return err_sys(e, errno, "template tree %s", src);
	if (!S_ISDIR(st.st_mode))
		return err_sys(e, ENOTDIR, "template tree %s", src);
	if (mkdir(dst, 0700) < 0)
		return err_sys(e, errno, "mkdir %s", dst);
	struct copy_ctx c = { .shift = shift, .e = e };
	int sfd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	c.dst_root = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r;
	if (sfd < 0 || c.dst_root < 0) {
		r = err_sys(e, errno, "open %s", sfd < 0 ? src : dst);
		if (sfd >= 0)
			close(sfd);
	} else {
		char rel[PATH_MAX] = "";
		r = copy_dir(&c, sfd, c.dst_root, rel, 0);
		if (r == 0)
			r = set_meta(&c, AT_FDCWD, dst, &st, dst);
	}
	if (c.dst_root >= 0)
		close(c.dst_root);
	for (size_t i = 0; i < c.nlinks; i++)
		free(c.links[i].path);
	free(c.links);
	return r;
}
