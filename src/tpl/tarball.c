/* tarball.c - importing a root file system tarball (untrusted input).
 *
 * Pass 1 reads every header and checks it (tarball_check_entry) before
 * anything is written. Pass 2 runs in a child chroot'ed into the new tree
 * and extracts with libarchive's secure flags, checking each entry again
 * (the file may have changed in between). Any failure removes the tree. */
#include "tpl/tarball.h"
#include "tpl/template.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <iconv.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPACK "repack it relative to the root (tar -C ROOTFS -cf FILE .)"
#define EXTRACT_FLAGS                                                                  \
	(ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |            \
	 ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_OWNER |               \
	 ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR)

/* Copy an entry name for a message: at most ~120 bytes, control bytes as '?'. */
static const char *shown(const char *s, char *buf, size_t len)
{
	size_t i = 0;
	for (; s[i] && i + 4 < len && i < 120; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	if (s[i])
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

/* Next path component of *p, skipping empty and "." ones; 0 at the end. */
static size_t next_comp(const char **p, const char **comp)
{
	for (;;) {
		while (**p == '/')
			(*p)++;
		size_t n = strcspn(*p, "/");
		*comp = *p;
		*p += n;
		if (n == 1 && (*comp)[0] == '.')
			continue;
		return n;
	}
}

/* 1 if some component of path is "..". */
static int has_dotdot(const char *path)
{
	const char *c;
	size_t n;
	while ((n = next_comp(&path, &c)) > 0)
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return 1;
	return 0;
}

/* 1 if path names something strictly below the top-level dev/. */
static int under_dev(const char *path)
{
	const char *c;
	size_t n = next_comp(&path, &c);
	if (n != 3 || strncmp(c, "dev", 3) != 0)
		return 0;
	return next_comp(&path, &c) > 0;
}

/* 1 if path names the root of the tree itself ("." or "./"). */
static int is_root(const char *path)
{
	const char *c;
	return next_comp(&path, &c) == 0;
}

/* Check a hard link's target. */
static int check_hardlink(const char *path, const char *target, struct err *e)
{
	char a[128], b[128];
	if (!*target)
		return err_exit(e, EXIT_USAGE, "tarball rejected: hard link '%s' has an empty target; repack the tarball",
				shown(path, a, sizeof(a)));
	if (strnlen(target, TARBALL_MAX_NAME + 1) > TARBALL_MAX_NAME)
		return err_exit(e, EXIT_USAGE, "tarball rejected: hard link '%s' has a target longer than %d bytes; repack the tarball",
				shown(path, a, sizeof(a)), TARBALL_MAX_NAME);
	if (target[0] == '/')
		return err_exit(e, EXIT_USAGE, "tarball rejected: hard link '%s' points to the absolute path '%s'; %s",
				shown(path, a, sizeof(a)), shown(target, b, sizeof(b)), REPACK);
	if (has_dotdot(target))
		return err_exit(e, EXIT_USAGE, "tarball rejected: hard link '%s' points to '%s', outside the tree ('..'); %s",
				shown(path, a, sizeof(a)), shown(target, b, sizeof(b)), REPACK);
	if (is_root(target))
		return err_exit(e, EXIT_USAGE, "tarball rejected: hard link '%s' points to the root directory; repack the tarball",
				shown(path, a, sizeof(a)));
	if (under_dev(target) && !under_dev(path))
		return err_exit(e, EXIT_USAGE, "tarball rejected: hard link '%s' points into dev/ ('%s'), which could place a device node outside dev/; remove it and repack",
				shown(path, a, sizeof(a)), shown(target, b, sizeof(b)));
	return 0;
}

int tarball_check_entry(const char *path, mode_t type, const char *linkname, int64_t uid,
			int64_t gid, struct err *e)
{
	char a[128];
	if (!path || !*path)
		return err_exit(e, EXIT_USAGE, "tarball rejected: an entry has an empty name; repack the tarball");
	if (strnlen(path, TARBALL_MAX_NAME + 1) > TARBALL_MAX_NAME)
		return err_exit(e, EXIT_USAGE, "tarball rejected: entry '%s' has a name longer than %d bytes; shorten it and repack",
				shown(path, a, sizeof(a)), TARBALL_MAX_NAME);
	if (path[0] == '/')
		return err_exit(e, EXIT_USAGE, "tarball rejected: entry '%s' is an absolute path; %s",
				shown(path, a, sizeof(a)), REPACK);
	if (has_dotdot(path))
		return err_exit(e, EXIT_USAGE, "tarball rejected: entry '%s' leaves the tree ('..'); repack it relative to the root",
				shown(path, a, sizeof(a)));
	int hardlink = linkname && type != S_IFLNK;
	if (is_root(path) && (hardlink || type != S_IFDIR))
		return err_exit(e, EXIT_USAGE, "tarball rejected: entry '%s' names the root but is not a directory; repack the tarball",
				shown(path, a, sizeof(a)));
	switch (type) {
	case S_IFREG: case S_IFDIR: case S_IFIFO:
		break;
	case 0:
		if (!hardlink)
			return err_exit(e, EXIT_USAGE, "tarball rejected: entry '%s' has no file type; repack the tarball",
					shown(path, a, sizeof(a)));
		break;
	case S_IFLNK:
		if (!linkname || !*linkname)
			return err_exit(e, EXIT_USAGE, "tarball rejected: symlink '%s' has an empty target; repack the tarball",
					shown(path, a, sizeof(a)));
		if (strnlen(linkname, TARBALL_MAX_NAME + 1) > TARBALL_MAX_NAME)
			return err_exit(e, EXIT_USAGE, "tarball rejected: symlink '%s' has a target longer than %d bytes; repack the tarball",
					shown(path, a, sizeof(a)), TARBALL_MAX_NAME);
		break;
	case S_IFCHR: case S_IFBLK:
		if (!under_dev(path))
			return err_exit(e, EXIT_USAGE, "tarball rejected: entry '%s' is a device node outside dev/; remove it and repack",
					shown(path, a, sizeof(a)));
		break;
	default:
		return err_exit(e, EXIT_USAGE, "tarball rejected: entry '%s' has an unsupported file type (0%o); remove it and repack",
				shown(path, a, sizeof(a)), (unsigned)type);
	}
	if (hardlink) {
		if (type == S_IFDIR)
			return err_exit(e, EXIT_USAGE, "tarball rejected: entry '%s' is a hard link to a directory; repack the tarball",
					shown(path, a, sizeof(a)));
		int r = check_hardlink(path, linkname, e);
		if (r < 0)
			return r;
	}
	if (uid < 0 || uid > 65535 || gid < 0 || gid > 65535)
		return err_exit(e, EXIT_USAGE, "tarball rejected: entry '%s' is owned by %s %lld, outside 0..65535; chown it and repack",
				shown(path, a, sizeof(a)), (uid < 0 || uid > 65535) ? "uid" : "gid",
				(long long)((uid < 0 || uid > 65535) ? uid : gid));
	return 0;
}

int tarball_xattr_allowed(const char *name)
{
	return !strncmp(name, "user.", 5) || !strcmp(name, "security.capability");
}

/* A reader for tar formats only, with the compressions we decode in process
 * (never an external program). */
static struct archive *reader_new(struct err *e)
{
	struct archive *a = archive_read_new();
	if (!a) {
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
	    archive_read_support_filter_bzip2(a) != ARCHIVE_OK ||
	    archive_read_support_filter_xz(a) != ARCHIVE_OK ||
	    archive_read_support_filter_lzma(a) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_support_format_gnutar(a) != ARCHIVE_OK) {
		err_exit(e, EXIT_HOST, "libarchive cannot decode gzip, bzip2, xz and zstd itself (%s); install a full libarchive13",
			 archive_error_string(a) ? archive_error_string(a) : "no native support");
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* Check the entry libarchive just read. */
static int check_archive_entry(struct archive_entry *ent, struct err *e)
{
	const char *hl = archive_entry_hardlink(ent);
	mode_t type = archive_entry_filetype(ent);
	if (hl)
		return tarball_check_entry(archive_entry_pathname(ent), type == S_IFLNK ? 0 : type, hl,
					   archive_entry_uid(ent), archive_entry_gid(ent), e);
	return tarball_check_entry(archive_entry_pathname(ent), type, archive_entry_symlink(ent),
				   archive_entry_uid(ent), archive_entry_gid(ent), e);
}

/* Read every header of an opened reader and check it. */
static int check_all(struct archive *a, struct tarball_stats *st, struct err *e)
{
	struct archive_entry *ent;
	memset(st, 0, sizeof(*st));
	for (;;) {
		int r = archive_read_next_header(a, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return err_exit(e, EXIT_USAGE, "tarball rejected: cannot read it after %llu entries (%s); check it is a tar archive (.tar, .tar.gz, .tar.xz, .tar.zst)",
					(unsigned long long)st->entries,
					archive_error_string(a) ? archive_error_string(a) : "unknown error");
		if (++st->entries > TARBALL_MAX_ENTRIES)
			return err_exit(e, EXIT_USAGE, "tarball rejected: it has more than %d entries; split the tree or trim it",
					TARBALL_MAX_ENTRIES);
		if ((r = check_archive_entry(ent, e)) < 0)
			return r;
		int64_t size = archive_entry_size_is_set(ent) ? archive_entry_size(ent) : 0;
		if (size > 0)
			st->bytes += (uint64_t)size;
		if (st->bytes > TARBALL_MAX_BYTES)
			return err_exit(e, EXIT_USAGE, "tarball rejected: its files add up to more than %llu GiB; trim the tree",
					TARBALL_MAX_BYTES >> 30);
	}
	if (st->entries == 0)
		return err_exit(e, EXIT_USAGE, "tarball rejected: it holds no entries; pack a root file system (tar -C ROOTFS -cf FILE .)");
	return 0;
}

int tarball_check_mem(const void *buf, size_t len, struct tarball_stats *st, struct err *e)
{
	struct tarball_stats local;
	struct archive *a = reader_new(e);
	if (!a)
		return -EINVAL;
	int r;
	if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK)
		r = err_exit(e, EXIT_USAGE, "tarball rejected: cannot read it (%s); check it is a tar archive",
			     archive_error_string(a) ? archive_error_string(a) : "unknown error");
	else
		r = check_all(a, st ? st : &local, e);
	archive_read_free(a);
	return r;
}

/* Check every entry of the tarball open at fd (read from its start). */
static int check_fd(int fd, struct tarball_stats *st, struct err *e)
{
	struct archive *a = reader_new(e);
	if (!a)
		return -EINVAL;
	int r;
	if (lseek(fd, 0, SEEK_SET) < 0)
		r = err_sys(e, errno, "seek in tarball");
	else if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK)
		r = err_exit(e, EXIT_USAGE, "tarball rejected: cannot read it (%s); check it is a tar archive",
			     archive_error_string(a) ? archive_error_string(a) : "unknown error");
	else
		r = check_all(a, st, e);
	archive_read_free(a);
	return r;
}

int tarball_check_file(const char *path, struct tarball_stats *st, struct err *e)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "open tarball %s", path);
	return check_fd(fd, st, e);
}

/* Keep only the extended attributes we allow (no trusted.*, security.selinux...). */
static void filter_xattrs(struct archive_entry *ent)
{
	if (archive_entry_xattr_reset(ent) == 0)
		return;
	struct { char *name; void *val; size_t len; } keep[64];
	size_t n = 0;
	const char *name;
	const void *val;
	size_t len;
	while (archive_entry_xattr_next(ent, &name, &val, &len) == ARCHIVE_OK)
		if (n < 64 && tarball_xattr_allowed(name) && (keep[n].name = strdup(name))) {
			keep[n].val = malloc(len ? len : 1);
			if (!keep[n].val) {
				free(keep[n].name);
				continue;
			}
			memcpy(keep[n].val, val, len);
			keep[n++].len = len;
		}
	archive_entry_xattr_clear(ent);
	for (size_t i = 0; i < n; i++) {
		archive_entry_xattr_add_entry(ent, keep[i].name, keep[i].val, keep[i].len);
		free(keep[i].name);
		free(keep[i].val);
	}
}

/* Copy the data of the current entry from a to w. */
static int copy_data(struct archive *a, struct archive *w, const char *path, struct err *e)
{
	char sh[128];
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t off;
		int r = archive_read_data_block(a, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return err_exit(e, EXIT_USAGE, "tarball rejected: cannot read '%s' (%s); check the file is complete",
					shown(path, sh, sizeof(sh)), archive_error_string(a));
		if (archive_write_data_block(w, buf, size, off) < ARCHIVE_WARN)
			return err_set(e, EIO, "extract '%s': %s", shown(path, sh, sizeof(sh)),
				       archive_error_string(w));
	}
}

/* Describe why libarchive could not write an entry. */
static int write_failed(struct archive *w, const char *path, struct err *e)
{
	char sh[128];
	const char *why = archive_error_string(w) ? archive_error_string(w) : "unknown error";
	if (strstr(why, "symlink"))
		return err_exit(e, EXIT_USAGE, "tarball rejected: entry '%s' would be written through a symlink of the tarball (%s); repack it without that",
				shown(path, sh, sizeof(sh)), why);
	return err_set(e, EIO, "cannot extract entry '%s': %s; check the free space under BERTH_ROOT",
		       shown(path, sh, sizeof(sh)), why);
}

/* Pass 2, in the chroot'ed child: extract everything from fd into "/";
 * what pass 1 counted (st) bounds what we write, in case the file grew. */
static int extract_here(int fd, const struct tarball_stats *st, struct err *e)
{
	struct tarball_stats seen = { 0, 0 };
	struct archive *a = reader_new(e), *w = archive_write_disk_new();
	int r = 0;
	if (!a || !w) {
		r = a ? err_set(e, ENOMEM, "out of memory") : -EINVAL;
		goto out;
	}
	archive_write_disk_set_options(w, EXTRACT_FLAGS); /* numeric ids: no name lookups */
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		r = err_set(e, EIO, "read tarball: %s", archive_error_string(a));
		goto out;
	}
	for (;;) {
		struct archive_entry *ent;
		int k = archive_read_next_header(a, &ent);
		if (k == ARCHIVE_EOF)
			break;
		if (k < ARCHIVE_WARN) {
			r = err_exit(e, EXIT_USAGE, "tarball rejected: cannot read it (%s); check the file is complete",
				     archive_error_string(a));
			goto out;
		}
		if ((r = check_archive_entry(ent, e)) < 0)
			goto out;
		int64_t size = archive_entry_size(ent);
		seen.bytes += size > 0 ? (uint64_t)size : 0;
		if (++seen.entries > st->entries || seen.bytes > st->bytes) {
			r = err_exit(e, EXIT_USAGE, "tarball rejected: it changed while being imported; import it again from a file nobody writes to");
			goto out;
		}
		filter_xattrs(ent);
		const char *path = archive_entry_pathname(ent);
		if (archive_write_header(w, ent) < ARCHIVE_WARN) {
			r = write_failed(w, path, e);
			goto out;
		}
		if (archive_entry_size(ent) > 0 && (r = copy_data(a, w, path, e)) < 0)
			goto out;
		if (archive_write_finish_entry(w) < ARCHIVE_WARN) {
			r = write_failed(w, path, e);
			goto out;
		}
	}
	if (archive_write_close(w) < ARCHIVE_WARN) /* applies deferred directory modes */
		r = err_set(e, EIO, "extract: %s", archive_error_string(w));
out:
	if (w)
		archive_write_free(w);
	if (a)
		archive_read_free(a);
	return r;
}

/* Run pass 2 in a child chroot'ed into rootfs, so that nothing the archive
 * says can reach outside the tree even if a check were missed. */
static int extract_jailed(int fd, const char *rootfs, const struct tarball_stats *st,
			  struct err *e)
{
	int pfd[2];
	if (lseek(fd, 0, SEEK_SET) < 0)
		return err_sys(e, errno, "seek in tarball");
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	/* Load glibc's charset tables from the host now: libarchive converts
	 * pax names with iconv, and inside the chroot the tables would come
	 * from the tarball (a gconv module is code). */
	iconv_t cd = iconv_open("ANSI_X3.4-1968", "UTF-8");
	if (cd != (iconv_t)-1)
		iconv_close(cd);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return err_sys(e, errno, "fork");
	}
	if (pid == 0) {
		struct err ce = { 0 };
		int r;
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		close(pfd[0]);
		umask(022);
		if (chroot(rootfs) < 0 || chdir("/") < 0)
			r = err_sys(&ce, errno, "chroot %s", rootfs);
		else
			r = extract_here(fd, st, &ce);
		if (r < 0) {
			if (write(pfd[1], ce.msg, strlen(ce.msg)) < 0)
				_exit(1);
			_exit(ce.exit_code ? ce.exit_code : 1);
		}
		_exit(0);
	}
	close(pfd[1]);
	char msg[sizeof(e->msg)];
	size_t n = 0;
	while (n < sizeof(msg) - 1) {
		ssize_t k = read(pfd[0], msg + n, sizeof(msg) - 1 - n);
		if (k < 0 && errno == EINTR) {
			if (tpl_interrupted())
				kill(pid, SIGKILL);
			continue;
		}
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	msg[n] = '\0';
	close(pfd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		if (tpl_interrupted())
			kill(pid, SIGKILL);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (tpl_interrupted())
		return err_set(e, EINTR, "interrupted; nothing was kept");
	if (!n)
		return err_set(e, EIO, "extracting the tarball failed (status 0x%x)", status);
	int r = err_set(e, EIO, "%s", msg);
	if (WIFEXITED(status) && WEXITSTATUS(status) > 1)
		e->exit_code = WEXITSTATUS(status);
	return r;
}

/* Refuse a tarball that would not fit in the free space under dir. */
static int check_space(const char *dir, uint64_t need, struct err *e)
{
	struct statvfs vs;
	if (statvfs(dir, &vs) < 0)
		return 0;
	uint64_t avail = (uint64_t)vs.f_bavail * vs.f_frsize;
	if (need > avail)
		return err_exit(e, EXIT_HOST, "tarball unpacks to %llu MiB but only %llu MiB are free under %s; free some space",
				(unsigned long long)(need >> 20), (unsigned long long)(avail >> 20), dir);
	return 0;
}

int tpl_import(const struct store *s, const char *name, const char *tarball, struct err *e)
{
	char tmp[PATH_MAX], rootfs[PATH_MAX];
	struct tarball_stats st;
	_cleanup_close_ int fd = open(tarball, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? err_exit(e, EXIT_USAGE, "no tarball at %s; check the path", tarball)
				       : err_sys(e, errno, "open tarball %s", tarball);
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return err_sys(e, errno, "stat %s", tarball);
	if (!S_ISREG(sb.st_mode))
		return err_exit(e, EXIT_USAGE, "%s is not a regular file; save the tarball to a file first", tarball);
	int r = tpl_begin(s, name, tmp, sizeof(tmp), e);
	if (r < 0)
		return r;
	tpl_guard_begin();
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", tmp);
	if ((r = check_fd(fd, &st, e)) == 0 && (r = check_space(tmp, st.bytes, e)) == 0 &&
	    (r = extract_jailed(fd, rootfs, &st, e)) == 0)
		r = tpl_commit(s, name, tmp, "import", tpl_detect_init(rootfs), e);
	if (r < 0)
		tpl_abort(tmp);
	tpl_guard_end();
	return r;
}
