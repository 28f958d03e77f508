/* test_fsutil.c - atomic_write, read_file, write_str, mkdir_p, rm_rf, lock_path. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/fsutil.h"

static char tmpdir[PATH_MAX];

/* path inside this test's temporary directory (rotating static buffers) */
static const char *P(const char *rel)
{
	static char bufs[8][PATH_MAX + 64];
	static int i;
	char *b = bufs[i++ % 8];
	snprintf(b, PATH_MAX + 64, "%s/%s", tmpdir, rel);
	return b;
}

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/berth-test-fsutil.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	/* a failed mount test may leave mounts behind: detach them first */
	for (int again = 1; again;) {
		again = 0;
		FILE *m = fopen("/proc/self/mounts", "r");
		char dev[256], dir[PATH_MAX];
		while (m && fscanf(m, "%255s %4095s %*[^\n]", dev, dir) == 2)
			if (!strncmp(dir, tmpdir, strlen(tmpdir)) && umount2(dir, MNT_DETACH) == 0)
				again = 1;
		if (m)
			fclose(m);
	}
	struct err e = {0};
	int r = rm_rf(tmpdir, &e);
	if (r < 0)
		fprintf(stderr, "teardown: %s\n", e.msg);
	return r;
}

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static char *slurp(const char *path)
{
	char *out = NULL;
	size_t len = 0;
	struct err e = {0};
	if (read_file(path, 1 << 20, &out, &len, &e) < 0)
		fail_msg("read_file: %s", e.msg);
	assert_int_equal(strlen(out), len);
	return out;
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

/* number of directory entries whose name contains `needle` */
static int count_entries(const char *dir, const char *needle)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strstr(de->d_name, needle))
			n++;
	closedir(d);
	return n;
}

/* ---- atomic_write ---- */

static void test_atomic_write(void **state)
{
	struct err e = {0};
	const char *f = P("config.json");
	mode_t old = umask(022);
	assert_int_equal(atomic_write(f, "hello", 5, 0640, 1, &e), 0);
	char *s = slurp(f);
	assert_string_equal(s, "hello");
	free(s);
	assert_int_equal(mode_of(f), 0640);

	/* replacing is a rename: an open reader keeps the old content */
	int rfd = open(f, O_RDONLY);
	assert_true(rfd >= 0);
	struct stat before, after;
	assert_int_equal(stat(f, &before), 0);
	assert_int_equal(atomic_write(f, "second version", 14, 0600, 0, &e), 0);
	assert_int_equal(stat(f, &after), 0);
	assert_true(before.st_ino != after.st_ino);
	char buf[32] = {0};
	assert_int_equal(read(rfd, buf, sizeof(buf) - 1), 5);
	assert_string_equal(buf, "hello");
	close(rfd);
	s = slurp(f);
	assert_string_equal(s, "second version");
	free(s);
	assert_int_equal(mode_of(f), 0600);

	/* binary data with NULs, and empty data */
	const char bin[] = { 'a', 0, 'b', 0, 0, 'c' };
	assert_int_equal(atomic_write(f, bin, sizeof(bin), 0600, 1, &e), 0);
	assert_int_equal(stat(f, &after), 0);
	assert_int_equal(after.st_size, (off_t)sizeof(bin));
	assert_int_equal(atomic_write(f, "", 0, 0600, 1, &e), 0);
	assert_int_equal(stat(f, &after), 0);
	assert_int_equal(after.st_size, 0);

	/* the mode is the one asked for, whatever the umask */
	umask(077);
	assert_int_equal(atomic_write(P("public"), "x", 1, 0644, 1, &e), 0);
	assert_int_equal(mode_of(P("public")), 0644);
	umask(022);
	/* a stale temp file of ours (crash, pid reuse) does not leak its mode */
	char stale[PATH_MAX + 64];
	snprintf(stale, sizeof(stale), "%s.tmp.%d", P("stale"), (int)getpid());
	put(stale, "old junk that is longer than the new data");
	assert_int_equal(chmod(stale, 0666), 0);
	assert_int_equal(atomic_write(P("stale"), "new", 3, 0600, 1, &e), 0);
	assert_int_equal(mode_of(P("stale")), 0600);
	s = slurp(P("stale"));
	assert_string_equal(s, "new");
	free(s);

	/* no temp files are left behind */
	assert_int_equal(count_entries(tmpdir, ".tmp"), 0);

	/* into a missing directory: an error naming the path, nothing created */
	err_clear(&e);
	assert_int_equal(atomic_write(P("nodir/x"), "x", 1, 0600, 1, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "nodir/x"));
	assert_non_null(strstr(e.msg, "No such file"));
	/* over a directory: rename fails, and the temp file is removed */
	assert_int_equal(mkdir(P("adir"), 0755), 0);
	put(P("adir/keep"), "k");
	err_clear(&e);
	assert_true(atomic_write(P("adir"), "x", 1, 0600, 1, &e) < 0);
	assert_non_null(strstr(e.msg, "rename"));
	assert_int_equal(count_entries(tmpdir, ".tmp"), 0);
	assert_true(path_exists(P("adir/keep")));
	umask(old);
}

static void test_atomic_write_concurrent(void **state)
{
	/* readers never see a partial file while a writer rewrites it */
	const char *f = P("hot");
	struct err e = {0};
	char a[8192], b[8192];
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	assert_int_equal(atomic_write(f, a, sizeof(a), 0600, 0, &e), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < 300; i++)
			if (atomic_write(f, (i & 1) ? a : b, sizeof(a), 0600, 0, NULL) < 0)
				_exit(1);
		_exit(0);
	}
	int bad = 0;
	for (int i = 0; i < 300; i++) {
		char *s = NULL;
		size_t len = 0;
		if (read_file(f, 1 << 20, &s, &len, &e) < 0) {
			bad++;
			continue;
		}
		if (len != sizeof(a) || (memcmp(s, a, len) && memcmp(s, b, len)))
			bad++;
		free(s);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(bad, 0);
}

/* ---- read_file / write_str ---- */

static void test_read_file(void **state)
{
	struct err e = {0};
	char *s = NULL;
	size_t len = 99;

	put(P("empty"), "");
	assert_int_equal(read_file(P("empty"), 100, &s, &len, &e), 0);
	assert_int_equal(len, 0);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(read_file(P("empty"), 0, &s, NULL, &e), 0);
	free(s);

	/* small max: a 100-byte file does not fit in 10 */
	char hundred[101];
	memset(hundred, 'h', 100);
	hundred[100] = '\0';
	put(P("hundred"), hundred);
	s = NULL;
	assert_int_equal(read_file(P("hundred"), 10, &s, &len, &e), -EFBIG);
	assert_null(s);
	assert_non_null(strstr(e.msg, "hundred"));
	assert_int_equal(read_file(P("hundred"), 99, &s, &len, &e), -EFBIG);
	/* exactly max bytes fits; len NULL is allowed */
	assert_int_equal(read_file(P("hundred"), 100, &s, NULL, &e), 0);
	assert_string_equal(s, hundred);
	free(s);

	/* sizes around the internal buffer growth, with max on the boundary */
	size_t sizes[] = { 4095, 4096, 4097, 8192, 65536, 1 << 20 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		char *data = malloc(n + 1);
		assert_non_null(data);
		for (size_t j = 0; j < n; j++)
			data[j] = (char)('a' + j % 23);
		data[n] = '\0';
		put(P("sized"), data);
		err_clear(&e);
		s = NULL;
		if (read_file(P("sized"), n, &s, &len, &e) != 0)
			fail_msg("read_file of %zu bytes with max %zu: %s", n, n, e.msg);
		assert_int_equal(len, n);
		assert_memory_equal(s, data, n + 1);
		free(s);
		assert_int_equal(read_file(P("sized"), n + 1, &s, &len, &e), 0);
		free(s);
		s = NULL;
		assert_int_equal(read_file(P("sized"), n - 1, &s, &len, &e), -EFBIG);
		assert_null(s);
		free(data);
	}

	/* files whose size stat does not know */
	assert_int_equal(read_file("/proc/self/status", 1 << 20, &s, &len, &e), 0);
	assert_non_null(strstr(s, "Pid:"));
	assert_int_equal(strlen(s), len);
	free(s);
	assert_int_equal(read_file("/proc/self/status", 10, &s, &len, &e), -EFBIG);

	err_clear(&e);
	assert_int_equal(read_file(P("missing"), 100, &s, &len, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "missing"));
	assert_int_equal(read_file(tmpdir, 100, &s, &len, &e), -EISDIR);
}

static void test_write_str(void **state)
{
	struct err e = {0};
	put(P("knob"), "0000000000");
	assert_int_equal(write_str(P("knob"), "42", &e), 0);
	char *s = slurp(P("knob"));
	assert_string_equal(s, "4200000000"); /* no truncation: it is a knob, not a file */
	free(s);
	assert_int_equal(write_str(P("no-knob"), "1", &e), -ENOENT);
	assert_false(path_exists(P("no-knob")));
	assert_non_null(strstr(e.msg, "no-knob"));
}

/* ---- mkdir_p ---- */

static void test_mkdir_p(void **state)
{
	struct err e = {0};
	mode_t old = umask(0);
	assert_int_equal(mkdir_p(P("a/b/c/d"), 0750, &e), 0);
	struct stat st;
	assert_int_equal(stat(P("a/b/c/d"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(mode_of(P("a/b")), 0750);
	/* again: nothing to do, and existing modes are kept */
	assert_int_equal(chmod(P("a/b"), 0700), 0);
	assert_int_equal(mkdir_p(P("a/b/c/d"), 0755, &e), 0);
	assert_int_equal(mode_of(P("a/b")), 0700);
	/* trailing and doubled slashes */
	assert_int_equal(mkdir_p(P("x//y/"), 0755, &e), 0);
	assert_true(path_exists(P("x/y")));
	/* a relative path */
	char cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(mkdir_p("rel/one", 0755, &e), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_true(path_exists(P("rel/one")));
	assert_int_equal(mkdir_p("/", 0755, &e), 0);

	/* a file in the way, in the middle or at the end */
	put(P("file"), "f");
	err_clear(&e);
	assert_int_equal(mkdir_p(P("file/sub"), 0755, &e), -ENOTDIR);
	assert_non_null(strstr(e.msg, "file"));
	err_clear(&e);
	assert_int_equal(mkdir_p(P("file"), 0755, &e), -ENOTDIR);
	assert_non_null(strstr(e.msg, "file"));
	/* a symlink to a directory is fine at the end */
	assert_int_equal(symlink(P("a"), P("link")), 0);
	assert_int_equal(mkdir_p(P("link"), 0755, &e), 0);
	assert_int_equal(mkdir_p(P("link/new"), 0755, &e), 0);
	assert_true(path_exists(P("a/new")));
	err_clear(&e);
	assert_true(mkdir_p("", 0755, &e) < 0);
	assert_true(e.msg[0] != '\0');
	umask(old);
}

/* ---- rm_rf ---- */

static void test_rm_rf_symlinks(void **state)
{
	struct err e = {0};
	/* outside the tree: a dir with a file, and a lone file */
	assert_int_equal(mkdir(P("outside"), 0755), 0);
	put(P("outside/precious"), "keep me");
	put(P("outside-file"), "keep me too");
	/* the tree */
	assert_int_equal(mkdir_p(P("tree/d1/d2"), 0755, &e), 0);
	put(P("tree/f"), "x");
	put(P("tree/d1/d2/g"), "y");
	assert_int_equal(symlink(P("outside"), P("tree/abs-dir")), 0);
	assert_int_equal(symlink("../../outside", P("tree/d1/rel-dir")), 0);
	assert_int_equal(symlink(P("outside-file"), P("tree/d1/d2/abs-file")), 0);
	assert_int_equal(symlink(P("outside/precious"), P("tree/d1/deep-file")), 0);
	assert_int_equal(symlink("/nonexistent/dangling", P("tree/dangling")), 0);
	assert_int_equal(mkfifo(P("tree/fifo"), 0600), 0);
	/* a directory nobody may read or search (root may) and one with no write bit */
	assert_int_equal(mkdir(P("tree/locked"), 0), 0);
	assert_int_equal(mkdir(P("tree/ro"), 0500), 0);

	assert_int_equal(rm_rf(P("tree"), &e), 0);
	assert_false(path_exists(P("tree")));
	char *s = slurp(P("outside/precious"));
	assert_string_equal(s, "keep me");
	free(s);
	s = slurp(P("outside-file"));
	assert_string_equal(s, "keep me too");
	free(s);

	/* rm_rf of a symlink to a directory removes the link only */
	assert_int_equal(symlink(P("outside"), P("link")), 0);
	assert_int_equal(rm_rf(P("link"), &e), 0);
	assert_false(path_exists(P("link")));
	assert_true(path_exists(P("outside/precious")));
	/* a single file; a missing path is not an error */
	assert_int_equal(rm_rf(P("outside-file"), &e), 0);
	assert_false(path_exists(P("outside-file")));
	assert_int_equal(rm_rf(P("missing"), &e), 0);
	assert_int_equal(rm_rf(P("missing/deeper"), &e), 0);
}

static void test_rm_rf_deep(void **state)
{
	struct err e = {0};
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/deep", tmpdir);
	for (int i = 0; i < 300 && n < PATH_MAX - 8; i++)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "/d");
	assert_int_equal(mkdir_p(path, 0755, &e), 0);
	put(P("deep/d/d/file"), "z");
	assert_int_equal(rm_rf(P("deep"), &e), 0);
	assert_false(path_exists(P("deep")));
}

/* Run the mount tests in a private mount namespace: nothing leaks to the host
 * even if a test fails halfway. Returns 0 if mounts can be made. */
static int private_mounts(void)
{
	static int done = -1;
	if (done < 0) {
		done = geteuid() == 0 && unshare(CLONE_NEWNS) == 0 &&
		       mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
	}
	return done ? 0 : -1;
}

static void test_rm_rf_mounts(void **state)
{
	struct err e = {0};
	if (private_mounts() < 0)
		skip();
	/* a tmpfs inside the tree */
	assert_int_equal(mkdir_p(P("tree/sub/mnt"), 0755, &e), 0);
	put(P("tree/before"), "b");
	assert_int_equal(mount("tmpfs", P("tree/sub/mnt"), "tmpfs", 0, "size=1m"), 0);
	put(P("tree/sub/mnt/data"), "on tmpfs");
	err_clear(&e);
	assert_int_equal(rm_rf(P("tree"), &e), -EBUSY);
	assert_non_null(strstr(e.msg, "tree/sub/mnt"));
	assert_non_null(strstr(e.msg, "mount point"));
	char *s = slurp(P("tree/sub/mnt/data"));
	assert_string_equal(s, "on tmpfs");
	free(s);
	assert_int_equal(umount2(P("tree/sub/mnt"), MNT_DETACH), 0);
	assert_int_equal(rm_rf(P("tree"), &e), 0);
	assert_false(path_exists(P("tree")));

	/* a bind mount of a directory on the same file system (same st_dev) */
	assert_int_equal(mkdir_p(P("outside"), 0755, &e), 0);
	put(P("outside/precious"), "keep me");
	assert_int_equal(mkdir_p(P("tree2/rootfs/data"), 0755, &e), 0);
	assert_int_equal(mount(P("outside"), P("tree2/rootfs/data"), NULL, MS_BIND, NULL), 0);
	struct stat a, b;
	assert_int_equal(stat(P("tree2/rootfs"), &a), 0);
	assert_int_equal(stat(P("tree2/rootfs/data"), &b), 0);
	assert_true(a.st_dev == b.st_dev);
	err_clear(&e);
	assert_int_equal(rm_rf(P("tree2"), &e), -EBUSY);
	assert_non_null(strstr(e.msg, "tree2/rootfs/data"));
	s = slurp(P("outside/precious"));
	assert_string_equal(s, "keep me");
	free(s);
	assert_int_equal(umount2(P("tree2/rootfs/data"), MNT_DETACH), 0);
	assert_int_equal(rm_rf(P("tree2"), &e), 0);
	assert_true(path_exists(P("outside/precious")));

	/* a file bind-mounted over a file in the tree */
	assert_int_equal(mkdir_p(P("tree3"), 0755, &e), 0);
	put(P("tree3/resolv.conf"), "");
	assert_int_equal(mount(P("outside/precious"), P("tree3/resolv.conf"), NULL, MS_BIND, NULL), 0);
	assert_true(rm_rf(P("tree3"), &e) < 0);
	s = slurp(P("outside/precious"));
	assert_string_equal(s, "keep me");
	free(s);
	assert_int_equal(umount2(P("tree3/resolv.conf"), MNT_DETACH), 0);
	assert_int_equal(rm_rf(P("tree3"), &e), 0);
}

/* ---- lock_path ---- */

static void test_lock_exclusive(void **state)
{
	struct err e = {0};
	const char *l = P("lock");
	int a = lock_path(l, 0, 1, &e);
	assert_true(a >= 0);
	assert_true(path_exists(l));
	/* a second open file (even in this process) cannot take it */
	assert_int_equal(lock_path(l, 0, 1, &e), -EWOULDBLOCK);
	assert_int_equal(lock_path(l, 1, 1, &e), -EWOULDBLOCK);
	close(a);
	int b = lock_path(l, 0, 1, &e);
	assert_true(b >= 0);
	close(b);
}

static void test_lock_shared(void **state)
{
	struct err e = {0};
	const char *l = P("lock");
	int a = lock_path(l, 1, 1, &e);
	int b = lock_path(l, 1, 1, &e);
	assert_true(a >= 0);
	assert_true(b >= 0);
	assert_int_equal(lock_path(l, 0, 1, &e), -EWOULDBLOCK);
	close(a);
	assert_int_equal(lock_path(l, 0, 1, &e), -EWOULDBLOCK);
	close(b);
	int c = lock_path(l, 0, 1, &e);
	assert_true(c >= 0);
	close(c);
}

static void test_lock_blocking_and_unlink(void **state)
{
	struct err e = {0};
	const char *l = P("lock");
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* hold it a while, then remove the lock file while holding it */
		int fd = lock_path(l, 0, 0, NULL);
		if (fd < 0)
			_exit(1);
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		unlink(l);
		_exit(0); /* closes fd */
	}
	char c;
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(lock_path(l, 0, 1, &e), -EWOULDBLOCK);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int fd = lock_path(l, 0, 0, &e); /* blocks until the child is gone */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(fd >= 0);
	double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(waited > 0.1);
	/* the lock we got is on the file now at the path, not the unlinked one */
	struct stat a, b;
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(l, &b), 0);
	assert_true(a.st_ino == b.st_ino);
	assert_true(a.st_nlink == 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
	close(fds[0]);
	close(fds[1]);
	err_clear(&e);
	assert_true(lock_path(P("nodir/lock"), 0, 1, &e) < 0);
	assert_non_null(strstr(e.msg, "nodir/lock"));
}

static void test_path_exists(void **state)
{
	assert_true(path_exists(tmpdir));
	assert_false(path_exists(P("nope")));
	assert_int_equal(symlink("/nonexistent", P("dangling")), 0);
	assert_true(path_exists(P("dangling"))); /* lstat: the link itself */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_atomic_write),
		T(test_atomic_write_concurrent),
		T(test_read_file),
		T(test_write_str),
		T(test_mkdir_p),
		T(test_rm_rf_symlinks),
		T(test_rm_rf_deep),
		T(test_rm_rf_mounts),
		T(test_lock_exclusive),
		T(test_lock_shared),
		T(test_lock_blocking_and_unlink),
		T(test_path_exists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
