/* test_disk.c - ext4 guest images: create from a tree with shifted owners,
 * mount through an autoclear loop device, grow offline and online, refusals
 * and cleanup on failure. Needs root (loop devices, mount); skipped otherwise. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/fsuid.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "ct/disk.h"
#include "ct/overlay.h"
#include "lib/fsutil.h"

#define MiB (1024ull * 1024)
#define SHIFT 0x40000000u   /* a guest's uid 0 on the host */

static char tmp[64], tree[128], img[128], mnt[128];
static int mounted;

/* Build tree/: root owned SHIFT:SHIFT mode 0750, hello (owner SHIFT+5,
 * group SHIFT+6, "hello"), sub/ (SHIFT+1). */
static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	snprintf(tmp, sizeof(tmp), "/tmp/berth-test-disk-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(tree, sizeof(tree), "%s/tree", tmp);
	snprintf(img, sizeof(img), "%s/disk.img", tmp);
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmp);
	char path[192];
	if (mkdir(tree, 0750) < 0 || mkdir(mnt, 0755) < 0 ||
	    chown(tree, SHIFT, SHIFT) < 0 || chmod(tree, 0750) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/hello", tree);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || write(fd, "hello", 5) != 5 || fchown(fd, SHIFT + 5, SHIFT + 6) < 0)
		return -1;
	close(fd);
	snprintf(path, sizeof(path), "%s/sub", tree);
	if (mkdir(path, 0755) < 0 || chown(path, SHIFT + 1, SHIFT + 1) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	struct err e = { 0 };
	if (!tmp[0])
		return 0;
	if (mounted)
		umount2(mnt, MNT_DETACH);
	return rm_rf(tmp, &e) < 0 ? -1 : 0;
}

/* The loop device backed by path, "" if none (/sys/block/loopN/loop/backing_file). */
static void loop_of(const char *path, char *dev, size_t len)
{
	char real[4096];
	dev[0] = '\0';
	if (!realpath(path, real))
		return;
	for (int n = 0; n < 256; n++) {
		char p[96], buf[4096] = "";
		snprintf(p, sizeof(p), "/sys/block/loop%d/loop/backing_file", n);
		FILE *f = fopen(p, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
		if (strcmp(buf, real) == 0)
			snprintf(dev, len, "loop%d", n);
	}
}

/* Unmount mnt and wait (up to 5 s) for the autoclear loop device to go. */
static void umount_and_check_loop_freed(void)
{
	char dev[32];
	assert_int_equal(umount2(mnt, 0), 0);
	mounted = 0;
	for (int i = 0; i < 500; i++) {
		loop_of(img, dev, sizeof(dev));
		if (!dev[0])
			return;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	fail_msg("loop device %s still bound to %s after umount", dev, img);
}

static void mount_img(void)
{
	struct err e = { 0 };
	int r = disk_mount(img, mnt, &e);
	if (r < 0)
		fail_msg("disk_mount: %s", e.msg);
	mounted = 1;
}

/* Whether this process has cap in its effective set (/proc/self/status). */
static int has_cap(int cap)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long eff = 0;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "CapEff:", 7) == 0)
			eff = strtoull(line + 7, NULL, 16);
	if (f)
		fclose(f);
	return !!(eff & (1ull << cap));
}

/* Total size of the mounted fs, and that nearly all of it is the guest's
 * (-m 0; ext4 still holds back min(2%, 4096 clusters) for its metadata). */
static uint64_t fs_bytes(void)
{
	struct statfs sf;
	assert_int_equal(statfs(mnt, &sf), 0);
	assert_true(sf.f_bavail >= sf.f_bfree - sf.f_bfree / 25);
	return (uint64_t)sf.f_blocks * (uint64_t)sf.f_bsize;
}

static void test_create_mount_grow(void **state)
{
	(void)state;
	struct err e = { 0 };
	struct stat st;
	char path[192], buf[16] = "", dev[32];
	if (geteuid() != 0)
		skip();

	if (disk_create(img, 32 * MiB, tree, &e) < 0)
		fail_msg("disk_create: %s", e.msg);
	assert_int_equal(stat(img, &st), 0);
	assert_int_equal(st.st_size, 32 * MiB);
	assert_true((uint64_t)st.st_blocks * 512 < 32 * MiB);   /* sparse */

	mount_img();
	loop_of(img, dev, sizeof(dev));
	assert_true(dev[0]);
	snprintf(path, sizeof(path), "%s/hello", mnt);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 5);
	close(fd);
	assert_string_equal(buf, "hello");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, SHIFT + 5);   /* uids > 65535 survive mkfs -d */
	assert_int_equal(st.st_gid, SHIFT + 6);
	snprintf(path, sizeof(path), "%s/sub", mnt);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, SHIFT + 1);
	assert_int_equal(stat(mnt, &st), 0);       /* root like the tree's root */
	assert_int_equal(st.st_uid, SHIFT);
	assert_int_equal(st.st_gid, SHIFT);
	assert_int_equal(st.st_mode & 07777, 0750);
	snprintf(path, sizeof(path), "%s/lost+found", mnt);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, SHIFT);
	uint64_t size = fs_bytes();
	assert_in_range(size, 24 * MiB, 32 * MiB);   /* less journal and inode tables */

	/* offline growth of a mounted image is refused */
	e = (struct err){ 0 };
	assert_int_equal(disk_grow(img, 48 * MiB, NULL, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "in use"));
	umount_and_check_loop_freed();

	/* offline */
	e = (struct err){ 0 };
	if (disk_grow(img, 64 * MiB, NULL, &e) < 0)
		fail_msg("disk_grow offline: %s", e.msg);
	assert_int_equal(stat(img, &st), 0);
	assert_int_equal(st.st_size, 64 * MiB);
	mount_img();
	size = fs_bytes();
	assert_in_range(size, 48 * MiB, 64 * MiB);

	/* online: ext4 wants CAP_SYS_RESOURCE, which some sandboxes (this CI's
	 * included) take away even from root; then grow offline */
	e = (struct err){ 0 };
	if (has_cap(CAP_SYS_RESOURCE)) {
		if (disk_grow(img, 96 * MiB, mnt, &e) < 0)
			fail_msg("disk_grow online: %s", e.msg);
	} else {
		assert_int_equal(disk_grow(img, 96 * MiB, mnt, &e), -EPERM);
		assert_non_null(strstr(e.msg, "CAP_SYS_RESOURCE"));
		assert_int_equal(stat(img, &st), 0);
		assert_int_equal(st.st_size, 64 * MiB);   /* untouched */
		umount_and_check_loop_freed();
		if (disk_grow(img, 96 * MiB, NULL, &e) < 0)
			fail_msg("disk_grow offline: %s", e.msg);
		mount_img();
	}
	size = fs_bytes();
	assert_in_range(size, 72 * MiB, 96 * MiB);
	umount_and_check_loop_freed();

	/* online at a directory with nothing mounted is refused */
	e = (struct err){ 0 };
	assert_true(disk_grow(img, 128 * MiB, mnt, &e) < 0);
	assert_non_null(strstr(e.msg, "mount"));

	/* shrinking is refused and leaves the image as it was */
	e = (struct err){ 0 };
	assert_true(disk_grow(img, 32 * MiB, NULL, &e) < 0);
	assert_int_equal(e.exit_code, EXIT_USAGE);
	assert_string_equal(e.msg, "disk cannot shrink from 96M to 32M; "
			    "create a new guest or copy data");
	assert_int_equal(stat(img, &st), 0);
	assert_int_equal(st.st_size, 96 * MiB);

	/* same size: resize2fs has nothing to do */
	if (disk_grow(img, 96 * MiB, NULL, &e) < 0)
		fail_msg("disk_grow to the same size: %s", e.msg);

	/* creating over an existing image is refused and keeps it */
	e = (struct err){ 0 };
	assert_int_equal(disk_create(img, 32 * MiB, tree, &e), -EEXIST);
	assert_non_null(strstr(e.msg, "already exists"));
	assert_int_equal(stat(img, &st), 0);
	assert_int_equal(st.st_size, 96 * MiB);
}

static void test_create_failures_leave_nothing(void **state)
{
	(void)state;
	struct err e = { 0 };
	char bad[192], missing[192];
	if (geteuid() != 0)
		skip();
	snprintf(bad, sizeof(bad), "%s/bad.img", tmp);
	snprintf(missing, sizeof(missing), "%s/no-such-tree", tmp);

	/* mkfs.ext4 itself fails: an image too small for ext4 */
	assert_true(disk_create(bad, 16 * 1024, tree, &e) < 0);
	assert_non_null(strstr(e.msg, "mkfs.ext4"));
	assert_false(path_exists(bad));

	/* a tree that does not exist */
	e = (struct err){ 0 };
	assert_int_equal(disk_create(bad, 32 * MiB, missing, &e), -ENOENT);
	assert_non_null(strstr(e.msg, missing));
	assert_false(path_exists(bad));

	/* a tree that is a file */
	e = (struct err){ 0 };
	char file[192];
	snprintf(file, sizeof(file), "%s/hello", tree);
	assert_int_equal(disk_create(bad, 32 * MiB, file, &e), -ENOTDIR);
	assert_false(path_exists(bad));

	/* mounting something that is not ext4 fails and frees its loop device */
	int fd = open(bad, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4 * MiB), 0);
	close(fd);
	e = (struct err){ 0 };
	assert_true(disk_mount(bad, mnt, &e) < 0);
	assert_non_null(strstr(e.msg, "mount disk image"));
	char dev[32];
	loop_of(bad, dev, sizeof(dev));
	assert_string_equal(dev, "");
	unlink(bad);
}

/* A plain image (owners as a VM sees them) mounted through an idmapped
 * mount shows them shifted, as a container sees its files; the loop device
 * goes with the unmount, also when the mount fails. */
static void test_idmapped_mount(void **state)
{
	(void)state;
	struct err e = { 0 };
	struct stat st;
	char plain[192], path[256], dev[32];
	if (geteuid() != 0)
		skip();
	snprintf(plain, sizeof(plain), "%s/plain", tmp);
	snprintf(path, sizeof(path), "%s/file", plain);
	assert_int_equal(mkdir(plain, 0755), 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchown(fd, 5, 6), 0);
	close(fd);
	unlink(img);
	if (disk_create(img, 32 * MiB, plain, &e) < 0)
		fail_msg("disk_create: %s", e.msg);
	int ns = overlay_userns(SHIFT, &e);
	if (ns < 0)
		fail_msg("overlay_userns: %s", e.msg);
	if (disk_mount_ns(img, mnt, ns, &e) < 0) {
		close(ns);
		if (!disk_idmap_supported())
			skip();
		fail_msg("disk_mount_ns: %s", e.msg);
	}
	mounted = 1;
	snprintf(path, sizeof(path), "%s/file", mnt);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, SHIFT + 5);
	assert_int_equal(st.st_gid, SHIFT + 6);
	assert_int_equal(stat(mnt, &st), 0);
	assert_int_equal(st.st_uid, SHIFT);
	/* a file made through the mount by the guest's root is 0 on disk */
	snprintf(path, sizeof(path), "%s/new", mnt);
	int dfd = open(mnt, O_RDONLY | O_DIRECTORY);   /* tmp is 0700: open before */
	assert_true(dfd >= 0);
	setfsgid(SHIFT);
	setfsuid(SHIFT);   /* host root itself has no id on this mount */
	fd = openat(dfd, "new", O_WRONLY | O_CREAT | O_EXCL, 0600);
	setfsuid(0);
	setfsgid(0);
	close(dfd);
	assert_true(fd >= 0);
	close(fd);
	loop_of(img, dev, sizeof(dev));
	assert_true(dev[0]);
	umount_and_check_loop_freed();
	mount_img();   /* not idmapped: the ids on disk */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);
	snprintf(path, sizeof(path), "%s/file", mnt);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 5);
	umount_and_check_loop_freed();

	/* not ext4: the idmapped mount fails and frees its loop device */
	char bad[192];
	snprintf(bad, sizeof(bad), "%s/bad2.img", tmp);
	fd = open(bad, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4 * MiB), 0);
	close(fd);
	e = (struct err){ 0 };
	assert_true(disk_mount_ns(bad, mnt, ns, &e) < 0);
	assert_non_null(strstr(e.msg, "mount disk image"));
	loop_of(bad, dev, sizeof(dev));
	assert_string_equal(dev, "");
	unlink(bad);
	close(ns);
	unlink(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_mount_grow),
		cmocka_unit_test(test_create_failures_leave_nothing),
		cmocka_unit_test(test_idmapped_mount),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
