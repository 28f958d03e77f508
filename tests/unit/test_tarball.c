/* test_tarball.c - tarball checks (hostile archives built in memory with
 * libarchive), init detection inside a tree, template.json loading. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "tpl/tarball.h"
#include "tpl/template.h"

struct ent {
	const char *path;
	mode_t type;
	const char *link;    /* symlink target (type S_IFLNK) or hard link target */
	int64_t uid, gid;
	const char *data;
};

enum { F_NONE, F_GZIP, F_XZ, F_ZSTD, F_ZIP };

static char tarbuf[1 << 20];

/* Build an archive of ents in tarbuf; returns its size. */
static size_t build(const struct ent *ents, size_t n, int filter)
{
	struct archive *a = archive_write_new();
	size_t used = 0;
	assert_non_null(a);
	if (filter == F_ZIP) {
		assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
	} else {
		assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
		if (filter == F_GZIP)
			assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
		if (filter == F_XZ)
			assert_int_equal(archive_write_add_filter_xz(a), ARCHIVE_OK);
		if (filter == F_ZSTD)
			assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	}
	assert_int_equal(archive_write_open_memory(a, tarbuf, sizeof(tarbuf), &used), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, ents[i].path);
		archive_entry_set_filetype(e, ents[i].type ? ents[i].type : AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_uid(e, ents[i].uid);
		archive_entry_set_gid(e, ents[i].gid);
		if (ents[i].link && ents[i].type == S_IFLNK)
			archive_entry_set_symlink(e, ents[i].link);
		else if (ents[i].link)
			archive_entry_set_hardlink(e, ents[i].link);
		if (ents[i].type == S_IFCHR || ents[i].type == S_IFBLK)
			archive_entry_set_rdev(e, makedev(8, 0));
		size_t len = ents[i].data ? strlen(ents[i].data) : 0;
		archive_entry_set_size(e, (la_int64_t)len);
		assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
		if (len)
			assert_int_equal(archive_write_data(a, ents[i].data, len), (la_ssize_t)len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return used;
}

/* Check an archive made of ents; if want is NULL expect success, else a
 * rejection whose message contains want. */
static void expect(const struct ent *ents, size_t n, int filter, const char *want)
{
	struct err e = { 0 };
	struct tarball_stats st;
	size_t len = build(ents, n, filter);
	int r = tarball_check_mem(tarbuf, len, &st, &e);
	if (!want) {
		if (r != 0)
			fail_msg("unexpected rejection: %s", e.msg);
		assert_int_equal(st.entries, n);
		return;
	}
	assert_true(r < 0);
	assert_int_equal(e.exit_code, EXIT_USAGE);
	if (!strstr(e.msg, want))
		fail_msg("message '%s' lacks '%s'", e.msg, want);
}

#define ROOT { "./", S_IFDIR, NULL, 0, 0, NULL }
#define ETC { "./etc", S_IFDIR, NULL, 0, 0, NULL }

static void test_valid(void **state)
{
	(void)state;
	const struct ent ok[] = {
		ROOT, ETC,
		{ "./etc/passwd", S_IFREG, NULL, 0, 0, "root:x:0:0::/root:/bin/sh\n" },
		{ "./etc/mtab", S_IFLNK, "/proc/mounts", 0, 0, NULL },
		{ "./etc/up", S_IFLNK, "../../../../outside", 0, 0, NULL }, /* symlinks may point anywhere */
		{ "./etc/passwd-", S_IFREG, "./etc/passwd", 0, 0, NULL },   /* hard link inside */
		{ "./dev", S_IFDIR, NULL, 0, 0, NULL },
		{ "./dev/sda", S_IFBLK, NULL, 0, 0, NULL },
		{ "./home/u/file", S_IFREG, NULL, 1000, 65535, "x" },
		{ "./tmp/fifo", S_IFIFO, NULL, 0, 0, NULL },
		{ "rootfs/bin/sh", S_IFREG, NULL, 0, 0, "#!" }, /* a wrapping dir is fine */
	};
	size_t n = sizeof(ok) / sizeof(ok[0]);
	expect(ok, n, F_NONE, NULL);
	expect(ok, n, F_GZIP, NULL);
	expect(ok, n, F_XZ, NULL);
	expect(ok, n, F_ZSTD, NULL);
}

static void test_absolute(void **state)
{
	(void)state;
	const struct ent bad[] = { ROOT, { "/etc/passwd", S_IFREG, NULL, 0, 0, "x" } };
	expect(bad, 2, F_NONE, "entry '/etc/passwd' is an absolute path");
	expect(bad, 2, F_GZIP, "is an absolute path");
}

static void test_dotdot(void **state)
{
	(void)state;
	const struct ent bad[] = { ROOT, { "a/../../x", S_IFREG, NULL, 0, 0, "x" } };
	expect(bad, 2, F_NONE, "entry 'a/../../x' leaves the tree ('..')");
	const struct ent bad2[] = { { "..", S_IFDIR, NULL, 0, 0, NULL } };
	expect(bad2, 1, F_XZ, "leaves the tree");
}

static void test_device_outside_dev(void **state)
{
	(void)state;
	const struct ent bad[] = { ROOT, ETC, { "./etc/sda", S_IFCHR, NULL, 0, 0, NULL } };
	expect(bad, 3, F_NONE, "entry './etc/sda' is a device node outside dev/");
	const struct ent bad2[] = { { "devices/null", S_IFCHR, NULL, 0, 0, NULL } };
	expect(bad2, 1, F_NONE, "device node outside dev/");
	const struct ent bad3[] = { { "x/dev/null", S_IFBLK, NULL, 0, 0, NULL } };
	expect(bad3, 1, F_NONE, "device node outside dev/");
}

static void test_huge_ids(void **state)
{
	(void)state;
	const struct ent bad[] = { ROOT, { "etc/f", S_IFREG, NULL, 70000, 0, "x" } };
	expect(bad, 2, F_NONE, "owned by uid 70000, outside 0..65535");
	const struct ent bad2[] = { ROOT, { "etc/f", S_IFREG, NULL, 0, 65536, "x" } };
	expect(bad2, 2, F_NONE, "owned by gid 65536");
}

static void test_hardlinks(void **state)
{
	(void)state;
	const struct ent up[] = { ROOT, { "etc/h", S_IFREG, "../x", 0, 0, NULL } };
	expect(up, 2, F_NONE, "hard link 'etc/h' points to '../x', outside the tree");
	const struct ent abs[] = { ROOT, { "etc/h", S_IFREG, "/etc/shadow", 0, 0, NULL } };
	expect(abs, 2, F_NONE, "points to the absolute path '/etc/shadow'");
	const struct ent dev[] = { ROOT, { "dev/sda", S_IFBLK, NULL, 0, 0, NULL },
				   { "etc/sda", S_IFREG, "dev/sda", 0, 0, NULL } };
	expect(dev, 3, F_NONE, "points into dev/");
}

static void test_not_a_tarball(void **state)
{
	(void)state;
	struct err e = { 0 };
	static const char junk[] = "this is not a tar archive at all, just some text";
	assert_true(tarball_check_mem(junk, sizeof(junk), NULL, &e) < 0);
	assert_non_null(strstr(e.msg, "tarball rejected"));
	const struct ent zip[] = { { "etc/passwd", S_IFREG, NULL, 0, 0, "x" } };
	expect(zip, 1, F_ZIP, "tarball rejected");
	expect(zip, 0, F_NONE, "holds no entries");
	/* a truncated archive is refused, not half-read */
	size_t len = build(zip, 1, F_GZIP);
	memset(&e, 0, sizeof(e));
	assert_true(tarball_check_mem(tarbuf, len / 2, NULL, &e) < 0);
}

static void test_check_entry(void **state)
{
	(void)state;
	struct err e = { 0 };
	char longname[TARBALL_MAX_NAME + 10];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_true(tarball_check_entry("", S_IFREG, NULL, 0, 0, &e) < 0);
	assert_non_null(strstr(e.msg, "empty name"));
	assert_true(tarball_check_entry(NULL, S_IFREG, NULL, 0, 0, &e) < 0);
	assert_true(tarball_check_entry(longname, S_IFREG, NULL, 0, 0, &e) < 0);
	assert_non_null(strstr(e.msg, "longer than 4096"));
	assert_int_equal(tarball_check_entry(".", S_IFDIR, NULL, 0, 0, &e), 0);
	assert_int_equal(tarball_check_entry("./", S_IFDIR, NULL, 0, 0, &e), 0);
	assert_true(tarball_check_entry(".", S_IFREG, NULL, 0, 0, &e) < 0);
	assert_non_null(strstr(e.msg, "names the root"));
	assert_int_equal(tarball_check_entry("./dev/./sda", S_IFCHR, NULL, 0, 0, &e), 0);
	assert_true(tarball_check_entry("dev", S_IFCHR, NULL, 0, 0, &e) < 0);
	assert_true(tarball_check_entry("./dev", S_IFBLK, NULL, 0, 0, &e) < 0);
	assert_int_equal(tarball_check_entry("a/..b/c..", S_IFREG, NULL, 0, 0, &e), 0);
	assert_true(tarball_check_entry("a/b/..", S_IFDIR, NULL, 0, 0, &e) < 0);
	assert_int_equal(tarball_check_entry("etc/l", S_IFLNK, "/etc/passwd", 0, 0, &e), 0);
	assert_true(tarball_check_entry("etc/l", S_IFLNK, "", 0, 0, &e) < 0);
	assert_true(tarball_check_entry("etc/l", S_IFLNK, NULL, 0, 0, &e) < 0);
	assert_true(tarball_check_entry("etc/h", 0, ".", 0, 0, &e) < 0);
	assert_true(tarball_check_entry("etc/h", S_IFDIR, "etc/x", 0, 0, &e) < 0);
	assert_int_equal(tarball_check_entry("dev/b", 0, "dev/a", 0, 0, &e), 0);
	assert_true(tarball_check_entry("s", S_IFSOCK, NULL, 0, 0, &e) < 0);
	assert_true(tarball_check_entry("f", S_IFREG, NULL, -1, 0, &e) < 0);
	/* names in messages are cut and stripped of control bytes */
	assert_true(tarball_check_entry("/x\033[2J", S_IFREG, NULL, 0, 0, &e) < 0);
	assert_null(strchr(e.msg, '\033'));
}

static void test_xattrs(void **state)
{
	(void)state;
	assert_true(tarball_xattr_allowed("user.foo"));
	assert_true(tarball_xattr_allowed("security.capability"));
	assert_false(tarball_xattr_allowed("trusted.overlay.redirect"));
	assert_false(tarball_xattr_allowed("security.selinux"));
}

static char tree[PATH_MAX];

/* Create path (relative to tree) as a symlink to target. */
static void mklink(const char *target, const char *path)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", tree, path);
	assert_int_equal(symlink(target, p), 0);
}

/* Create path (relative to tree) as a directory or an empty file. */
static void mk(const char *path, int dir)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", tree, path);
	if (dir)
		assert_int_equal(mkdir(p, 0755), 0);
	else
		assert_int_equal(atomic_write(p, "", 0, 0755, 0, NULL), 0);
}

static int tree_setup(void **state)
{
	(void)state;
	snprintf(tree, sizeof(tree), "/tmp/berth-test-tpl-XXXXXX");
	return mkdtemp(tree) ? 0 : -1;
}

static int tree_teardown(void **state)
{
	(void)state;
	return rm_rf(tree, NULL);
}

static void test_detect_init(void **state)
{
	(void)state;
	assert_int_equal(tpl_detect_init(tree), INIT_OTHER); /* nothing there */
	/* busybox style: /sbin/init -> /bin/busybox (absolute = inside the tree) */
	mk("bin", 1);
	mk("sbin", 1);
	mklink("/bin/busybox", "sbin/init");
	assert_int_equal(tpl_detect_init(tree), INIT_OTHER); /* dangling: host's busybox ignored */
	mk("bin/busybox", 0);
	assert_int_equal(tpl_detect_init(tree), INIT_BUSYBOX);
	/* Debian merged /usr: /sbin -> usr/sbin, init -> ../lib/systemd/systemd */
	rm_rf(tree, NULL);
	assert_int_equal(mkdir(tree, 0755), 0);
	mk("usr", 1);
	mk("usr/sbin", 1);
	mk("usr/lib", 1);
	mk("usr/lib/systemd", 1);
	mk("usr/lib/systemd/systemd", 0);
	mklink("usr/sbin", "sbin");
	mklink("../lib/systemd/systemd", "usr/sbin/init");
	assert_int_equal(tpl_detect_init(tree), INIT_SYSTEMD);
	/* ".." never climbs out of the tree */
	rm_rf(tree, NULL);
	assert_int_equal(mkdir(tree, 0755), 0);
	mk("sbin", 1);
	mk("bin", 1);
	mk("bin/busybox", 0);
	mklink("../../../../../../bin/busybox", "sbin/init");
	assert_int_equal(tpl_detect_init(tree), INIT_BUSYBOX);
	/* loops end */
	rm_rf(tree, NULL);
	assert_int_equal(mkdir(tree, 0755), 0);
	mk("sbin", 1);
	mklink("init2", "sbin/init");
	mklink("init", "sbin/init2");
	assert_int_equal(tpl_detect_init(tree), INIT_OTHER);
	/* a plain other init */
	rm_rf(tree, NULL);
	assert_int_equal(mkdir(tree, 0755), 0);
	mk("sbin", 1);
	mk("sbin/init", 0);
	assert_int_equal(tpl_detect_init(tree), INIT_OTHER);
}

static void test_load(void **state)
{
	(void)state;
	struct store s;
	struct template_info t;
	struct err e = { 0 };
	char p[PATH_MAX];
	snprintf(s.root, sizeof(s.root), "%s", tree);
	snprintf(s.run, sizeof(s.run), "%s/run", tree);
	assert_true(tpl_load(&s, "nope", &t, &e) < 0);
	assert_int_equal(e.exit_code, EXIT_USAGE);
	assert_non_null(strstr(e.msg, "no template named 'nope'"));
	assert_non_null(strstr(e.msg, "berth template build busybox nope"));
	snprintf(p, sizeof(p), "%s/templates/t1", tree);
	assert_int_equal(mkdir_p(p, 0755, NULL), 0);
	snprintf(p, sizeof(p), "%s/templates/t1/template.json", tree);
	const char *good = "{\"name\":\"t1\",\"source\":\"import\",\"init\":\"systemd\",\"created\":5}";
	assert_int_equal(atomic_write(p, good, strlen(good), 0644, 0, NULL), 0);
	assert_int_equal(tpl_load(&s, "t1", &t, &e), 0);
	assert_string_equal(t.source, "import");
	assert_int_equal(t.init, INIT_SYSTEMD);
	assert_int_equal(t.created, 5);
	const char *bad[] = {
		"{\"name\":\"t2\",\"source\":\"import\",\"init\":\"systemd\",\"created\":5}",
		"{\"name\":\"t1\",\"source\":\"ftp\",\"init\":\"systemd\",\"created\":5}",
		"{\"name\":\"t1\",\"source\":\"import\",\"init\":7,\"created\":5}",
		"{\"name\":\"t1\",\"source\":\"import\",\"init\":\"other\",\"created\":-1}",
		"[1,2]", "{", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(atomic_write(p, bad[i], strlen(bad[i]), 0644, 0, NULL), 0);
		assert_true(tpl_load(&s, "t1", &t, &e) < 0);
		assert_non_null(strstr(e.msg, "is damaged"));
	}
	assert_true(tpl_load(&s, "../etc", &t, &e) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_absolute),
		cmocka_unit_test(test_dotdot),
		cmocka_unit_test(test_device_outside_dev),
		cmocka_unit_test(test_huge_ids),
		cmocka_unit_test(test_hardlinks),
		cmocka_unit_test(test_not_a_tarball),
		cmocka_unit_test(test_check_entry),
		cmocka_unit_test(test_xattrs),
		cmocka_unit_test_setup_teardown(test_detect_init, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_load, tree_setup, tree_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
