/* test_cgroup.c - mountinfo parsing, value conversions, limit checks, and
 * (as root) a real guest cgroup on this host. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ct/cgroup.h"
#include "lib/fsutil.h"

static const char hybrid_mi[] =
	"22 27 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
	"34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
	"37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
	"38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
	"42 31 0:39 / /sys/fs/cgroup/hugetlb rw,relatime - cgroup cgroup rw,hugetlb\n";

static const char v2_mi[] =
	"24 1 259:1 / / rw,relatime shared:1 - ext4 /dev/root rw\n"
	"29 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

static const char v1_comount_mi[] =
	"30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs ro,mode=755\n"
	"50 30 0:40 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
	"31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:8 - cgroup cgroup rw,cpu,cpuacct\n"
	"32 30 0:28 / /sys/fs/cgroup/net_cls,net_prio rw shared:9 - cgroup cgroup rw,net_cls,net_prio\n"
	"33 30 0:29 / /sys/fs/cgroup/mem\\040ory rw shared:10 - cgroup cgroup rw,memory\n"
	"34 30 0:30 / /sys/fs/cgroup/pids rw shared:11 - cgroup none rw,pids,clone_children\n"
	"35 30 0:29 / /mnt/again rw shared:10 - cgroup cgroup rw,memory\n";

/* Index of the v1 mount whose ctrl is exactly ctrl, or -1. */
static int find_v1(const struct cg_host *h, const char *ctrl)
{
	for (size_t i = 0; i < h->nv1; i++)
		if (!strcmp(h->v1[i].ctrl, ctrl))
			return (int)i;
	return -1;
}

static void test_parse_hybrid(void **state)
{
	struct cg_host h;
	struct err e = { 0 };
	assert_int_equal(cg_host_parse(hybrid_mi, &h, &e), 0);
	assert_int_equal(h.layout, CG_HYBRID);
	assert_string_equal(h.unified, "/sys/fs/cgroup/unified");
	assert_int_equal(h.nv1, 9); /* hugetlb is not one berth uses */
	assert_int_equal(find_v1(&h, "hugetlb"), -1);
	int m = find_v1(&h, "memory");
	assert_true(m >= 0);
	assert_string_equal(h.v1[m].mnt, "/sys/fs/cgroup/memory");
	int s = find_v1(&h, "name=systemd");
	assert_true(s >= 0);
	assert_string_equal(h.v1[s].mnt, "/sys/fs/cgroup/systemd");
	for (const char *c = "cpu\0cpuacct\0cpuset\0devices\0freezer\0blkio\0pids\0"; *c; c += strlen(c) + 1)
		assert_true(find_v1(&h, c) >= 0);

	/* a unified hierarchy that holds memory makes it v2 */
	strcpy(h.v2_controllers, "cpuset cpu io memory pids");
	h.nv1 = 0;
	assert_int_equal(cg_host_parse(v2_mi, &h, &e), 0);
	assert_int_equal(h.layout, CG_V2);
}

static void test_parse_v2(void **state)
{
	struct cg_host h;
	struct err e = { 0 };
	assert_int_equal(cg_host_parse(v2_mi, &h, &e), 0);
	assert_int_equal(h.layout, CG_V2);
	assert_string_equal(h.unified, "/sys/fs/cgroup");
	assert_int_equal(h.nv1, 0);

	struct cgroup cg;
	setenv("BERTH_CGROUP_PARENT", "berth-test", 1);
	assert_int_equal(cgroup_open(&h, "web1", &cg, &e), 0);
	assert_string_equal(cg.v2, "/sys/fs/cgroup/berth-test/web1");
	unsetenv("BERTH_CGROUP_PARENT");
	assert_int_equal(cgroup_open(&h, "web1", &cg, &e), 0);
	assert_string_equal(cg.v2, "/sys/fs/cgroup/berth/web1");
}

static void test_parse_v1_comounted(void **state)
{
	struct cg_host h;
	struct err e = { 0 };
	assert_int_equal(cg_host_parse(v1_comount_mi, &h, &e), 0);
	assert_int_equal(h.layout, CG_V1);
	assert_string_equal(h.unified, "");
	assert_int_equal(h.nv1, 3);
	int c = find_v1(&h, "cpu,cpuacct");
	assert_true(c >= 0);
	assert_string_equal(h.v1[c].mnt, "/sys/fs/cgroup/cpu,cpuacct");
	/* the bind mount of /docker/abc loses to the hierarchy's root, \040 decodes */
	int m = find_v1(&h, "memory");
	assert_true(m >= 0);
	assert_string_equal(h.v1[m].mnt, "/sys/fs/cgroup/mem ory");
	assert_true(find_v1(&h, "pids") >= 0);
	assert_int_equal(find_v1(&h, "net_cls,net_prio"), -1);

	/* everything on one hierarchy: ctrl keeps the controllers that matter */
	const char *all = "1 0 0:1 / /cg rw - cgroup cgroup "
		"rw,cpuset,cpu,cpuacct,blkio,memory,devices,freezer,net_cls,perf_event,net_prio,hugetlb,pids\n";
	assert_int_equal(cg_host_parse(all, &h, &e), 0);
	assert_int_equal(h.nv1, 1);
	assert_string_equal(h.v1[0].ctrl, "memory,pids,cpu,cpuacct,cpuset");

	struct cgroup cg;
	assert_int_equal(cgroup_open(&h, "db", &cg, &e), 0);
	assert_string_equal(cg.v1[0], "/cg/berth/db");
	assert_string_equal(cg.v2, "");
}

static void test_parse_hostile(void **state)
{
	struct cg_host h;
	struct err e = { 0 };
	static const char *const bad[] = {
		"", "\n\n\n", "1", "1 2 3 4 /x", "1 2 3 / /x rw - cgroup",
		"1 2 3 / /x rw cgroup cgroup rw,memory\n",            /* no " - " */
		"1 2 3 / /x rw - cgroup2\n",                          /* no source */
		"1 2 3 / relative rw - cgroup2 cgroup2 rw\n",
		"1 2 3 / /x\\000y rw - cgroup2 cgroup2 rw\n",
		"1 2 3 / /x\\9 rw - cgroup cgroup rw,memory\\",
		"1 2 3 / /x rw - cgroup cgroup rw,name=\n",
		"- - - - - - - - - -\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = cg_host_parse(bad[i], &h, &e);
		assert_true(r <= 0);
		if (r == 0)
			assert_true(h.unified[0] || h.nv1 > 0);
	}
	assert_int_equal(cg_host_parse("1 2 3 / /x rw - cgroup2 cgroup2 rw", &h, &e), 0);
	assert_string_equal(h.unified, "/x");
	assert_int_equal(cg_host_parse(NULL, &h, &e), -EINVAL);
	assert_int_equal(cg_host_parse("1 2 3 / /x rw - ext4 /dev/sda rw\n", &h, &e), -EINVAL);
	assert_int_equal(e.exit_code, EXIT_HOST);

	/* huge fields: a mount point longer than PATH_MAX, controller options of 300 KiB */
	size_t big = 300 * 1024;
	char *s = malloc(big + 200);
	assert_non_null(s);
	strcpy(s, "1 2 3 / /");
	memset(s + strlen(s), 'a', big);
	strcpy(s + 9 + big, " rw - cgroup2 cgroup2 rw\n");
	assert_int_equal(cg_host_parse(s, &h, &e), -EINVAL);
	strcpy(s, "1 2 3 / /m rw - cgroup cgroup rw,");
	size_t n = strlen(s);
	for (size_t i = 0; n + 8 < big; i++)
		n += (size_t)sprintf(s + n, "%s,", i % 2 ? "memory" : "name=x");
	strcpy(s + n, "pids\n");
	assert_true(cg_host_parse(s, &h, &e) <= 0);
	free(s);

	/* more distinct hierarchies than CG_MAX_V1 (hostile: kernels bind each
	 * controller once, but mountinfo text can claim anything) */
	static const char *const c[] = { "memory", "pids", "cpu", "cpuacct", "cpuset", "freezer" };
	char many[16384] = "";
	for (int i = 1; i < 64; i++) {
		char line[256];
		int n = snprintf(line, sizeof(line), "%d 1 0:%d / /c%d rw - cgroup cgroup rw", i, i, i);
		for (int b = 0; b < 6; b++)
			if (i & (1 << b))
				n += snprintf(line + n, sizeof(line) - (size_t)n, ",%s", c[b]);
		strcat(strcat(many, line), "\n");
	}
	assert_int_equal(cg_host_parse(many, &h, &e), 0);
	assert_int_equal(h.nv1, CG_MAX_V1);

	/* random soup of mountinfo-ish tokens */
	static const char *const tok[] = { " ", "-", " - ", "cgroup", "cgroup2", "/", "/a", "\n",
					   "rw,memory", ",", "name=systemd", "\\040", "\\", "0:1", "x" };
	char soup[2048];
	srand(1234);
	for (int iter = 0; iter < 5000; iter++) {
		size_t len = 0;
		while (len < sizeof(soup) - 32) {
			const char *t = tok[rand() % (int)(sizeof(tok) / sizeof(tok[0]))];
			memcpy(soup + len, t, strlen(t));
			len += strlen(t);
			if (rand() % 50 == 0)
				break;
		}
		soup[len] = '\0';
		if (cg_host_parse(soup, &h, &e) == 0) {
			assert_true(h.nv1 <= CG_MAX_V1);
			assert_true(strlen(h.unified) < sizeof(h.unified));
		}
	}
}

static void test_conversions(void **state)
{
	assert_int_equal(cg_v1_shares_from_weight(100), 1024);
	assert_int_equal(cg_v1_shares_from_weight(LIMIT_NONE), 1024);
	assert_int_equal(cg_v1_shares_from_weight(1), 10);
	assert_int_equal(cg_v1_shares_from_weight(0), 2);
	assert_int_equal(cg_v1_shares_from_weight(10000), 102400);
	assert_int_equal(cg_v1_shares_from_weight(50000), 262144);
	assert_int_equal(cg_v1_shares_from_weight(UINT64_MAX - 1), 262144);

	uint64_t q, p;
	cg_cpu_quota(500, &q, &p);
	assert_int_equal(q, 50000);
	assert_int_equal(p, 100000);
	cg_cpu_quota(2000, &q, &p);
	assert_int_equal(q, 200000);
	cg_cpu_quota(LIMIT_NONE, &q, &p);
	assert_true(q == UINT64_MAX);
	assert_int_equal(p, 100000);
	cg_cpu_quota(1, &q, &p);
	assert_int_equal(q, 1000); /* kernel minimum */
}

/* A host with the given v1 controllers and swap accounting. */
static void fake_host(struct cg_host *h, const char *ctrls, int memsw)
{
	memset(h, 0, sizeof(*h));
	h->layout = CG_V1;
	for (const char *c = ctrls; *c; c += strlen(c) + 1) {
		snprintf(h->v1[h->nv1].ctrl, sizeof(h->v1[0].ctrl), "%s", c);
		snprintf(h->v1[h->nv1].mnt, sizeof(h->v1[0].mnt), "/cg/%s", c);
		h->nv1++;
	}
	h->has_memsw = memsw;
}

static void test_check_limits(void **state)
{
	struct cg_host h;
	struct limits l;
	struct err e = { 0 };

	fake_host(&h, "cpu,cpuacct\0pids\0", 0);
	limits_init(&l);
	assert_int_equal(cgroup_check_limits(&h, &l, &e), 0);
	l.memory = 64 << 20;
	assert_int_equal(cgroup_check_limits(&h, &l, &e), -EINVAL);
	assert_int_equal(e.exit_code, EXIT_HOST);
	assert_non_null(strstr(e.msg, "memory"));
	assert_non_null(strstr(e.msg, "drop --memory"));

	fake_host(&h, "memory\0cpu\0pids\0", 0);
	err_clear(&e);
	l.swap = 32 << 20;
	assert_int_equal(cgroup_check_limits(&h, &l, &e), -EINVAL);
	assert_int_equal(e.exit_code, EXIT_HOST);
	assert_non_null(strstr(e.msg, "swapaccount=1"));

	h.has_memsw = 1;
	err_clear(&e);
	assert_int_equal(cgroup_check_limits(&h, &l, &e), 0);
	l.memory = LIMIT_NONE;
	assert_int_equal(cgroup_check_limits(&h, &l, &e), -EINVAL);
	assert_int_equal(e.exit_code, EXIT_USAGE);
	assert_non_null(strstr(e.msg, "--swap needs --memory"));

	limits_init(&l);
	err_clear(&e);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	l.cpus = (uint64_t)n * 1000;
	assert_int_equal(cgroup_check_limits(&h, &l, &e), 0);
	l.cpus = (uint64_t)(n + 6) * 1000;
	assert_int_equal(cgroup_check_limits(&h, &l, &e), -EINVAL);
	assert_int_equal(e.exit_code, EXIT_HOST);
	char want[96];
	snprintf(want, sizeof(want), "cpus %ld exceeds the host's %ld CPU", n + 6, n);
	assert_non_null(strstr(e.msg, want));
	assert_non_null(strstr(e.msg, "lower --cpus"));

	limits_init(&l);
	l.cpu_weight = 20000;
	assert_int_equal(cgroup_check_limits(&h, &l, &e), -EINVAL);
	assert_int_equal(e.exit_code, EXIT_USAGE);

	fake_host(&h, "memory\0", 1);
	limits_init(&l);
	err_clear(&e);
	l.pids = 10;
	assert_int_equal(cgroup_check_limits(&h, &l, &e), -EINVAL);
	assert_int_equal(e.exit_code, EXIT_HOST);
	l.pids = LIMIT_NONE;
	l.cpus = 500;
	assert_int_equal(cgroup_check_limits(&h, &l, &e), -EINVAL);
	assert_int_equal(e.exit_code, EXIT_HOST);

	/* controllers in the unified hierarchy count too */
	memset(&h, 0, sizeof(h));
	h.layout = CG_V2;
	strcpy(h.unified, "/sys/fs/cgroup");
	strcpy(h.v2_controllers, "cpu memory pids");
	limits_init(&l);
	l.memory = 1 << 20;
	l.cpus = 500;
	l.pids = 5;
	assert_int_equal(cgroup_check_limits(&h, &l, &e), 0);
}

static void test_bad_parent(void **state)
{
	struct cg_host h;
	struct cgroup cg;
	struct err e = { 0 };
	assert_int_equal(cg_host_parse(hybrid_mi, &h, &e), 0);
	static const char *const bad[] = { "a/b", "..", ".", "x y", "../etc" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("BERTH_CGROUP_PARENT", bad[i], 1);
		err_clear(&e);
		assert_int_equal(cgroup_open(&h, "g", &cg, &e), -EINVAL);
		assert_int_equal(e.exit_code, EXIT_USAGE);
		assert_non_null(strstr(e.msg, "BERTH_CGROUP_PARENT"));
	}
	unsetenv("BERTH_CGROUP_PARENT");
	assert_int_equal(cgroup_open(&h, "../x", &cg, &e), -EINVAL);
	assert_int_equal(cgroup_open(&h, "ok-1", &cg, &e), 0);
	int s = find_v1(&h, "name=systemd");
	assert_string_equal(cg.v1[s], "/sys/fs/cgroup/systemd/berth/ok-1");
	assert_string_equal(cg.v2, "/sys/fs/cgroup/unified/berth/ok-1");
}

/* ---- real cgroups on this host (root only) ---- */

static struct cg_host real_host;
static struct cgroup real_cg;
static pid_t real_child = -1;
static char real_parent[64];

/* Read dir/file into buf, trailing newline stripped. */
static void read_knob(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX];
	char *s = NULL;
	struct err e = { 0 };
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	assert_int_equal(read_file(path, 4096, &s, NULL, &e), 0);
	s[strcspn(s, "\n")] = '\0';
	snprintf(buf, len, "%s", s);
	free(s);
}

/* Directory (of real_cg) for the hierarchy holding ctrl. */
static const char *real_dir(const char *ctrl)
{
	if (real_host.layout == CG_V2)
		return real_cg.v2;
	for (size_t i = 0; i < real_host.nv1; i++)
		if (strstr(real_host.v1[i].ctrl, ctrl) && real_cg.v1[i][0])
			return real_cg.v1[i];
	return NULL;
}

/* Kill the child, remove the guest and parent dirs whatever happened. */
static int real_teardown(void **state)
{
	struct err e = { 0 };
	if (real_child > 0) {
		kill(real_child, SIGKILL);
		waitpid(real_child, NULL, 0);
		real_child = -1;
	}
	if (real_cg.host)
		cgroup_destroy(&real_cg, &e);
	for (size_t i = 0; i <= real_host.nv1 && real_parent[0]; i++) {
		const char *mnt = i < real_host.nv1 ? real_host.v1[i].mnt : real_host.unified;
		char path[PATH_MAX];
		if (!mnt[0])
			continue;
		snprintf(path, sizeof(path), "%s/%s", mnt, real_parent);
		rmdir(path);
	}
	unsetenv("BERTH_CGROUP_PARENT");
	return 0;
}

static void test_real_cgroup(void **state)
{
	if (geteuid() != 0)
		skip();
	struct err e = { 0 };
	if (cg_host_detect(&real_host, &e) < 0)
		skip();
	snprintf(real_parent, sizeof(real_parent), "berth-unit-%d", (int)getpid());
	setenv("BERTH_CGROUP_PARENT", real_parent, 1);
	assert_int_equal(cgroup_open(&real_host, "unit", &real_cg, &e), 0);
	if (!real_dir("memory") || !real_dir("pids"))
		skip();
	assert_false(cgroup_exists(&real_cg));

	struct limits l;
	limits_init(&l);
	/* a failure while applying limits leaves nothing behind */
	char pdir[PATH_MAX];
	snprintf(pdir, sizeof(pdir), "%s", real_dir("memory"));
	*strrchr(pdir, '/') = '\0';
	l.swap = 1 << 20;
	assert_int_equal(cgroup_create(&real_cg, 0, &l, &e), -EINVAL);
	assert_false(cgroup_exists(&real_cg));
	assert_false(path_exists(pdir));
	l.swap = LIMIT_NONE;
	l.memory = 64 << 20;
	l.pids = 10;
	if (cgroup_create(&real_cg, 0, &l, &e) < 0)
		fail_msg("cgroup_create: %s", e.msg);
	assert_true(cgroup_exists(&real_cg));

	real_child = fork();
	assert_true(real_child >= 0);
	if (real_child == 0) {
		for (;;)
			pause();
	}
	if (cgroup_add_pid(&real_cg, real_child, &e) < 0)
		fail_msg("cgroup_add_pid: %s", e.msg);

	char buf[64];
	int v2 = real_host.layout == CG_V2;
	read_knob(real_dir("memory"), v2 ? "memory.max" : "memory.limit_in_bytes", buf, sizeof(buf));
	assert_string_equal(buf, "67108864");
	read_knob(real_dir("pids"), "pids.max", buf, sizeof(buf));
	assert_string_equal(buf, "10");
	read_knob(real_dir("pids"), "cgroup.procs", buf, sizeof(buf));
	assert_int_equal(atoi(buf), real_child);

	struct cg_usage u;
	assert_int_equal(cgroup_usage(&real_cg, &u), 0);
	assert_int_equal(u.memory_limit_bytes, 67108864);
	assert_int_equal(u.pids, 1);

	/* live changes, incl. v1's memsw ordering (raise past memsw, then lower) */
	if (real_host.has_memsw) {
		l.swap = 32 << 20;
		if (cgroup_apply_limits(&real_cg, &l, &e) < 0)
			fail_msg("apply swap: %s", e.msg);
		l.memory = 256 << 20;
		l.swap = 0;
		if (cgroup_apply_limits(&real_cg, &l, &e) < 0)
			fail_msg("raise memory: %s", e.msg);
		if (!v2) {
			read_knob(real_dir("memory"), "memory.memsw.limit_in_bytes", buf, sizeof(buf));
			assert_string_equal(buf, "268435456");
		}
		l.memory = 32 << 20;
		l.swap = 16 << 20;
		if (cgroup_apply_limits(&real_cg, &l, &e) < 0)
			fail_msg("lower memory: %s", e.msg);
		read_knob(real_dir("memory"), v2 ? "memory.max" : "memory.limit_in_bytes", buf, sizeof(buf));
		assert_string_equal(buf, "33554432");
		l.swap = LIMIT_NONE;
		l.memory = LIMIT_NONE;
		if (cgroup_apply_limits(&real_cg, &l, &e) < 0)
			fail_msg("clear memory: %s", e.msg);
	}
	l.cpus = 500;
	if (real_dir("cpu") && cgroup_apply_limits(&real_cg, &l, &e) == 0 && !v2) {
		read_knob(real_dir("cpu"), "cpu.cfs_quota_us", buf, sizeof(buf));
		assert_string_equal(buf, "50000");
	}

	/* a second create finds the live guest and refuses */
	err_clear(&e);
	assert_int_equal(cgroup_create(&real_cg, 0, &l, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "berth kill unit"));
	assert_true(cgroup_exists(&real_cg));

	if (cgroup_destroy(&real_cg, &e) < 0)
		fail_msg("cgroup_destroy: %s", e.msg);
	assert_false(cgroup_exists(&real_cg));
	int st;
	assert_int_equal(waitpid(real_child, &st, 0), real_child);
	real_child = -1;
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

	/* a stale empty directory is reused */
	char stale[PATH_MAX];
	snprintf(stale, sizeof(stale), "%s", real_dir("pids"));
	assert_int_equal(mkdir_p(stale, 0755, &e), 0);
	if (cgroup_create(&real_cg, 0, &l, &e) < 0)
		fail_msg("create over stale dir: %s", e.msg);
	assert_int_equal(cgroup_destroy(&real_cg, &e), 0);
	assert_false(cgroup_exists(&real_cg));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_hybrid),
		cmocka_unit_test(test_parse_v2),
		cmocka_unit_test(test_parse_v1_comounted),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_conversions),
		cmocka_unit_test(test_check_limits),
		cmocka_unit_test(test_bad_parent),
		cmocka_unit_test_teardown(test_real_cgroup, real_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
