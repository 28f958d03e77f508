/* test_copytree.c - copytree_shift: contents, modes, owners, links, times. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/copytree.h"
#include "lib/fsutil.h"

#define SHIFT 0x40000000u

static char tmpdir[PATH_MAX];
static char src[PATH_MAX + 16], dst[PATH_MAX + 16];

static const char *S(const char *rel)
{
	static char bufs[8][PATH_MAX + 64];
	static int i;
	char *b = bufs[i++ % 8];
	snprintf(b, PATH_MAX + 64, "%s/%s", src, rel);
	return b;
}

static const char *D(const char *rel)
{
	static char bufs[8][PATH_MAX + 64];
	static int i;
	char *b = bufs[i++ % 8];
	snprintf(b, PATH_MAX + 64, "%s/%s", dst, rel);
	return b;
}

static void put(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void own(const char *path, uid_t u, gid_t g)
{
	assert_int_equal(lchown(path, u, g), 0);
}

static void set_mtime(const char *path, time_t sec, long nsec)
{
	struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };
	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void mkd(const char *path, mode_t mode)
{
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(chmod(path, mode), 0); /* no umask, and special bits */
}

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/berth-test-copytree.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(src, sizeof(src), "%s/src", tmpdir);
	snprintf(dst, sizeof(dst), "%s/dst", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	struct err e = {0};
	return rm_rf(tmpdir, &e);
}

/* The template tree every test copies. */
static void build_tree(void)
{
	static char big[200 * 1024 + 7];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 2654435761u >> 13);

	mkd(src, 0755);
	mkd(S("d750"), 0750);
	mkd(S("tmp"), 01777);
	mkd(S("sgid"), 02775);
	own(S("sgid"), 0, 100);
	mkd(S("sgid/inner"), 02755);
	own(S("sgid/inner"), 1000, 100);
	mkd(S("ro"), 0555);
	mkd(S("empty"), 0700);
	put(S("file"), "hello\n", 6, 0644);
	put(S("empty-file"), "", 0, 0600);
	put(S("big"), big, sizeof(big), 0640);
	put(S("d750/suid"), "#!/bin/sh\n", 10, 04755);
	put(S("sgid/sgid-file"), "g", 1, 02711);
	put(S("ro/inside"), "read only dir", 13, 0444);
	put(S("owned"), "mine", 4, 0600);
	own(S("owned"), 1000, 100);
	put(S("nobody"), "far", 3, 0644);
	own(S("nobody"), 70000, 70001); /* outside the 16-bit range */
	put(S("max-id"), "edge", 4, 0644);
	own(S("max-id"), 65535, 65535);
	/* links */
	assert_int_equal(symlink("/etc/passwd", S("abs-link")), 0);
	assert_int_equal(symlink("../file", S("d750/rel-link")), 0);
	assert_int_equal(symlink("/etc", S("dir-link")), 0);
	assert_int_equal(symlink("does/not/exist", S("dangling")), 0);
	own(S("dangling"), 1000, 100);
	assert_int_equal(link(S("file"), S("d750/hard")), 0);
	put(S("three"), "3", 1, 0604);
	own(S("three"), 33, 33);
	assert_int_equal(link(S("three"), S("tmp/three-b")), 0);
	assert_int_equal(link(S("three"), S("sgid/inner/three-c")), 0);
	assert_int_equal(mkfifo(S("fifo"), 0640), 0);
	own(S("fifo"), 1000, 100);
	/* skipped kinds: a device node and a socket */
	assert_int_equal(mknod(S("null"), S_IFCHR | 0666, makedev(1, 3)), 0);
	int sk = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(sk >= 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(S("sock")) < sizeof(sa.sun_path)) {
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", S("sock"));
		assert_int_equal(bind(sk, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	close(sk);
	/* times in the past, directories last */
	set_mtime(S("file"), 1000000000, 123456789);
	set_mtime(S("big"), 1234567890, 0);
	set_mtime(S("abs-link"), 946684800, 5);
	set_mtime(S("fifo"), 1500000000, 0);
	set_mtime(S("d750"), 1111111111, 111);
	set_mtime(S("sgid/inner"), 1222222222, 0);
	set_mtime(S("sgid"), 1333333333, 0);
	set_mtime(src, 1444444444, 44);
}

static int want_id(unsigned id, uint32_t shift)
{
	return (int)((id < 65536 ? id : 65534) + shift);
}

/* Compare one src entry with its copy (nftw callback). */
static uint32_t cur_shift;
static int nentries;

static int compare_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *rel = path + strlen(src);
	char other[PATH_MAX + 64];
	snprintf(other, sizeof(other), "%s%s", dst, rel);
	struct stat d;
	if (S_ISCHR(st->st_mode) || S_ISSOCK(st->st_mode)) {
		if (lstat(other, &d) == 0)
			fail_msg("%s: device nodes and sockets must not be copied", rel);
		return 0;
	}
	nentries++;
	if (lstat(other, &d) < 0)
		fail_msg("%s: missing in the copy", *rel ? rel : "/");
	if ((st->st_mode & S_IFMT) != (d.st_mode & S_IFMT))
		fail_msg("%s: type 0%o became 0%o", rel, st->st_mode & S_IFMT, d.st_mode & S_IFMT);
	if (!S_ISLNK(st->st_mode) && (st->st_mode & 07777) != (d.st_mode & 07777))
		fail_msg("%s: mode 0%o became 0%o", rel, st->st_mode & 07777, d.st_mode & 07777);
	if ((int)d.st_uid != want_id(st->st_uid, cur_shift) ||
	    (int)d.st_gid != want_id(st->st_gid, cur_shift))
		fail_msg("%s: owner %u:%u became %u:%u", rel, st->st_uid, st->st_gid, d.st_uid,
			 d.st_gid);
	if (st->st_mtim.tv_sec != d.st_mtim.tv_sec || st->st_mtim.tv_nsec != d.st_mtim.tv_nsec)
		fail_msg("%s: mtime %lld.%09ld became %lld.%09ld", rel, (long long)st->st_mtim.tv_sec,
			 st->st_mtim.tv_nsec, (long long)d.st_mtim.tv_sec, d.st_mtim.tv_nsec);
	if (S_ISREG(st->st_mode)) {
		assert_int_equal(st->st_size, d.st_size);
		struct err e = {0};
		char *a = NULL, *b = NULL;
		size_t la, lb;
		assert_int_equal(read_file(path, 1 << 20, &a, &la, &e), 0);
		assert_int_equal(read_file(other, 1 << 20, &b, &lb, &e), 0);
		assert_int_equal(la, lb);
		if (memcmp(a, b, la))
			fail_msg("%s: contents differ", rel);
		free(a);
		free(b);
		assert_int_equal(st->st_nlink, d.st_nlink);
	} else if (S_ISLNK(st->st_mode)) {
		char ta[PATH_MAX], tb[PATH_MAX];
		ssize_t na = readlink(path, ta, sizeof(ta) - 1);
		ssize_t nb = readlink(other, tb, sizeof(tb) - 1);
		assert_true(na > 0);
		assert_int_equal(na, nb);
		ta[na] = tb[nb] = '\0';
		assert_string_equal(ta, tb);
	}
	return 0;
}

static void compare_trees(uint32_t shift)
{
	cur_shift = shift;
	nentries = 0;
	assert_int_equal(nftw(src, compare_entry, 16, FTW_PHYS), 0);
	assert_true(nentries >= 25);
}

static void require_root(void)
{
	if (geteuid() != 0)
		skip();
}

static void test_copy_shifted(void **state)
{
	require_root();
	build_tree();
	struct err e = {0};
	if (copytree_shift(src, dst, SHIFT, &e) != 0)
		fail_msg("copytree_shift: %s", e.msg);
	compare_trees(SHIFT);

	/* spot checks, spelled out */
	struct stat st, st2;
	assert_int_equal(lstat(D("owned"), &st), 0);
	assert_int_equal(st.st_uid, 1000 + SHIFT);
	assert_int_equal(st.st_gid, 100 + SHIFT);
	assert_int_equal(lstat(dst, &st), 0);
	assert_int_equal(st.st_uid, SHIFT);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(lstat(D("tmp"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 01777);
	assert_int_equal(lstat(D("sgid"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 02775);
	assert_int_equal(st.st_gid, 100 + SHIFT);
	assert_int_equal(lstat(D("d750/suid"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755); /* chown did not eat the setuid bit */
	assert_int_equal(lstat(D("nobody"), &st), 0);
	assert_int_equal(st.st_uid, 65534 + SHIFT);
	assert_int_equal(lstat(D("max-id"), &st), 0);
	assert_int_equal(st.st_uid, 65535 + SHIFT);
	/* symlinks are copied as links, never followed */
	assert_int_equal(lstat(D("dir-link"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(lstat(D("abs-link"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(st.st_mtim.tv_sec, 946684800);
	assert_int_equal(lstat(D("dangling"), &st), 0);
	assert_int_equal(st.st_uid, 1000 + SHIFT);
	/* hard links share an inode in the copy, and only there */
	assert_int_equal(lstat(D("file"), &st), 0);
	assert_int_equal(lstat(D("d750/hard"), &st2), 0);
	assert_true(st.st_ino == st2.st_ino);
	assert_int_equal(st.st_nlink, 2);
	struct stat orig;
	assert_int_equal(lstat(S("file"), &orig), 0);
	assert_true(orig.st_ino != st.st_ino);
	assert_int_equal(lstat(D("three"), &st), 0);
	assert_int_equal(lstat(D("sgid/inner/three-c"), &st2), 0);
	assert_true(st.st_ino == st2.st_ino);
	assert_int_equal(st.st_nlink, 3);
	assert_int_equal(st.st_uid, 33 + SHIFT);
	/* the fifo is a fifo */
	assert_int_equal(lstat(D("fifo"), &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	/* times */
	assert_int_equal(lstat(D("file"), &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	assert_int_equal(st.st_mtim.tv_nsec, 123456789);
	assert_int_equal(lstat(D("d750"), &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1111111111);
	/* device node and socket are skipped */
	assert_false(path_exists(D("null")));
	assert_false(path_exists(D("sock")));
	/* the source is unchanged */
	assert_int_equal(lstat(S("owned"), &st), 0);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(lstat(src, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1444444444);
}

static void test_copy_unshifted(void **state)
{
	require_root();
	build_tree();
	struct err e = {0};
	if (copytree_shift(src, dst, 0, &e) != 0)
		fail_msg("copytree_shift: %s", e.msg);
	compare_trees(0);
}

static void test_copy_errors(void **state)
{
	require_root();
	struct err e = {0};
	/* missing source: error naming it, no destination created */
	assert_true(copytree_shift(S("nope"), dst, SHIFT, &e) < 0);
	assert_non_null(strstr(e.msg, "nope"));
	assert_false(path_exists(dst));
	/* source is a file, or a symlink to a directory */
	mkd(src, 0755);
	put(S("f"), "x", 1, 0644);
	err_clear(&e);
	assert_true(copytree_shift(S("f"), dst, SHIFT, &e) < 0);
	assert_non_null(strstr(e.msg, "Not a directory"));
	assert_false(path_exists(dst));
	assert_int_equal(symlink(src, S("self")), 0);
	err_clear(&e);
	assert_true(copytree_shift(S("self"), dst, SHIFT, &e) < 0);
	assert_false(path_exists(dst));
	/* destination exists: refused, and left alone */
	mkd(dst, 0711);
	put(D("keep"), "k", 1, 0600);
	err_clear(&e);
	assert_int_equal(copytree_shift(src, dst, SHIFT, &e), -EEXIST);
	assert_non_null(strstr(e.msg, dst));
	assert_false(path_exists(D("f")));
	assert_true(path_exists(D("keep")));
	struct stat st;
	assert_int_equal(lstat(dst, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0711);
	assert_int_equal(st.st_uid, 0);
	/* destination is a dangling symlink: not followed */
	assert_int_equal(symlink("/nonexistent-berth-target", D("../dst2")), 0);
	snprintf(dst, sizeof(dst), "%s/dst2", tmpdir);
	err_clear(&e);
	assert_true(copytree_shift(src, dst, SHIFT, &e) < 0);
	assert_false(path_exists("/nonexistent-berth-target"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy_shifted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_unshifted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
