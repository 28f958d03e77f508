/* test_stats.c - the usage parsers (lib/stats.c) with real and hostile
 * text, the container reader over fake v1 and v2 cgroup trees
 * (ct/cgroup_stats.c), and the VMM's stats reply (vm/vm_stats.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ct/cgroup_stats.h"
#include "lib/fsutil.h"
#include "lib/size.h"
#include "lib/stats.h"
#include "vm/vcpu.h"
#include "vm/virtio/blk.h"
#include "vm/vm.h"
#include "vm/vm_stats.h"

/* A heap copy of exactly strlen(s) bytes, no terminator: ASan catches any
 * read past the length the parser was given. */
static char *exact(const char *s, size_t *len)
{
	*len = strlen(s);
	char *p = malloc(*len ? *len : 1);
	assert_non_null(p);
	memcpy(p, s, *len);
	return p;
}

static void test_u64(void **state)
{
	size_t n;
	uint64_t v = 7;
	char *t = exact("268435456\n", &n);
	assert_int_equal(stats_parse_u64(t, n, &v), 0);
	assert_int_equal(v, 268435456);
	free(t);
	t = exact("max\n", &n);
	assert_int_equal(stats_parse_u64(t, n, &v), 0);
	assert_true(v == LIMIT_NONE);
	free(t);
	/* hostile: empty, sign, letters, overflow saturates */
	const char *bad[] = { "", "\n", "-1", "abc", "ma" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = exact(bad[i], &n);
		assert_true(stats_parse_u64(t, n, &v) < 0);
		free(t);
	}
	t = exact("999999999999999999999999999999", &n);
	assert_int_equal(stats_parse_u64(t, n, &v), 0);
	assert_true(v == UINT64_MAX);
	free(t);
	/* the length is honoured: "12" of "1234" */
	assert_int_equal(stats_parse_u64("1234", 2, &v), 0);
	assert_int_equal(v, 12);
}

static void test_keyed(void **state)
{
	size_t n;
	uint64_t v = 0;
	char *t = exact("usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n", &n);
	assert_int_equal(stats_parse_keyed(t, n, "usage_usec", &v), 0);
	assert_int_equal(v, 123456);
	assert_int_equal(stats_parse_keyed(t, n, "system_usec", &v), 0);
	assert_int_equal(v, 23456);
	assert_int_equal(stats_parse_keyed(t, n, "usage", &v), -ENOENT);   /* no prefix match */
	free(t);
	/* memory.oom_control: oom_kill_disable must not match oom_kill */
	t = exact("oom_kill_disable 0\nunder_oom 0\noom_kill 3", &n);
	assert_int_equal(stats_parse_keyed(t, n, "oom_kill", &v), 0);
	assert_int_equal(v, 3);
	free(t);
	/* /proc/<pid>/status: "Key:\t  N kB" */
	t = exact("Name:\tberth\nVmRSS:\t    1512 kB\nThreads:\t5\n", &n);
	assert_int_equal(stats_parse_keyed(t, n, "VmRSS", &v), 0);
	assert_int_equal(v, 1512 * 1024);
	assert_int_equal(stats_parse_keyed(t, n, "Threads", &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(stats_parse_keyed(t, n, "Name", &v), -ENOENT);   /* not a number */
	free(t);
	/* hostile: key at the very end, a kB overflow, no newline anywhere */
	t = exact("oom_kill", &n);
	assert_int_equal(stats_parse_keyed(t, n, "oom_kill", &v), -ENOENT);
	free(t);
	t = exact("VmRSS: 99999999999999999999 kB", &n);
	assert_int_equal(stats_parse_keyed(t, n, "VmRSS", &v), 0);
	assert_true(v == UINT64_MAX);
	free(t);
	t = exact("", &n);
	assert_int_equal(stats_parse_keyed(t, n, "x", &v), -ENOENT);
	free(t);
}

static void test_io_stat(void **state)
{
	size_t n;
	uint64_t r = 1, w = 1;
	char *t = exact("8:0 rbytes=1000 wbytes=200 rios=3 wios=4 dbytes=0 dios=0\n"
			"253:1 rbytes=24 wbytes=6 rios=1 wios=1 dbytes=9 dios=1\n", &n);
	stats_parse_io_stat(t, n, &r, &w);
	assert_int_equal(r, 1024);
	assert_int_equal(w, 206);
	free(t);
	/* hostile: junk tokens, "rbytes=" without a number, "rbytes=12x",
	 * duplicates saturating, a line without a device */
	t = exact("junk\n8:0 rbytes= wbytes=12x rbytes==5 =7 rbytes\n"
		  "1:1 rbytes=18446744073709551615 rbytes=18446744073709551615\n  \n", &n);
	stats_parse_io_stat(t, n, &r, &w);
	assert_true(r == UINT64_MAX);
	assert_int_equal(w, 0);
	free(t);
	stats_parse_io_stat("", 0, &r, &w);
	assert_int_equal(r, 0);
	assert_int_equal(w, 0);
}

static void test_blkio(void **state)
{
	size_t n;
	uint64_t r = 1, w = 1;
	char *t = exact("8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 12288\n8:0 Async 0\n"
			"8:0 Discard 0\n8:0 Total 12288\n7:1 Read 100\n7:1 Write 1\nTotal 12389\n", &n);
	stats_parse_blkio(t, n, &r, &w);
	assert_int_equal(r, 4196);
	assert_int_equal(w, 8193);
	free(t);
	/* hostile: no device, words for numbers, "Read" without a value */
	t = exact("Read 5\nx Read 7\n8:0 Read\n8:0 Write many\n8:0 Readx 9\n8:0", &n);
	stats_parse_blkio(t, n, &r, &w);
	assert_int_equal(r, 0);
	assert_int_equal(w, 0);
	free(t);
}

static void test_net_dev(void **state)
{
	size_t n;
	uint64_t rx = 1, tx = 1;
	char *t = exact(
		"Inter-|   Receive                                                |  Transmit\n"
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
		"    lo:  123456      10    0    0    0     0          0         0   123456      10    0    0    0     0       0          0\n"
		"  eth0:    1000       5    0    0    0     0          0         0      300       3    0    0    0     0       0          0\n"
		"veth1:20 1 0 0 0 0 0 0 4 1 0 0 0 0 0 0\n", &n);
	stats_parse_net_dev(t, n, &rx, &tx);
	assert_int_equal(rx, 1020);
	assert_int_equal(tx, 304);
	free(t);
	/* hostile: too few fields, no name, a colon in the header only */
	t = exact("eth0: 1 2 3\n: 1 2 3 4 5 6 7 8 9\nx:y\n", &n);
	stats_parse_net_dev(t, n, &rx, &tx);
	assert_int_equal(rx, 1);     /* ": ..." has an empty name: counted, harmlessly */
	assert_int_equal(tx, 9);
	free(t);
}

static void test_proc_stat(void **state)
{
	size_t n;
	uint64_t ticks = 0, threads = 0;
	int ppid = 0;
	/* comm with spaces and parentheses: fields count after the last ')' */
	char *t = exact("4242 (vmm (x) y) S 4200 4242 4242 0 -1 4194560 100 0 0 0 "
			"250 50 0 0 20 0 5 0 12345 1000000 300 18446744073709551615\n", &n);
	assert_int_equal(stats_parse_proc_stat(t, n, &ppid, &ticks, &threads), 0);
	assert_int_equal(ppid, 4200);
	assert_int_equal(ticks, 300);
	assert_int_equal(threads, 5);
	free(t);
	/* negative priority and nice */
	t = exact("1 (a) R 0 1 1 0 -1 0 0 0 0 0 7 8 0 0 -2 -20 3 0", &n);
	assert_int_equal(stats_parse_proc_stat(t, n, &ppid, &ticks, &threads), 0);
	assert_int_equal(ticks, 15);
	assert_int_equal(threads, 3);
	free(t);
	/* hostile: no ')', truncated, a letter where a number goes, empty */
	const char *bad[] = { "", "1 (a S 0", "1 (a) S 0 1 1 0 -1 0 0 0 0 0 7", "1 (a)",
			      "1 (a) S 0 1 1 0 -1 0 0 0 0 0 x 8 0 0 20 0 3 0", "1 (a) ",
			      "))))))))" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = exact(bad[i], &n);
		assert_true(stats_parse_proc_stat(t, n, &ppid, &ticks, &threads) < 0);
		free(t);
	}
}

static void test_vmm_reply(void **state)
{
	struct guest_stats st;
	int pid = 0;
	memset(&st, 0, sizeof(st));
	const char *ok = "{\"pid\":77,\"boots\":1,\"vcpus\":2,\"guest_memory_bytes\":268435456,"
			 "\"exits\":5000,\"block_read_bytes\":4096,\"block_write_bytes\":512,"
			 "\"net_rx_bytes\":60,\"net_tx_bytes\":42,\"future_key\":[1,2]}";
	assert_int_equal(stats_parse_vmm_reply(ok, strlen(ok), &st, &pid), 0);
	assert_int_equal(pid, 77);
	assert_int_equal(st.vcpus, 2);
	assert_int_equal(st.guest_memory_bytes, 268435456);
	assert_int_equal(st.exits, 5000);
	assert_int_equal(st.block_read_bytes, 4096);
	assert_int_equal(st.block_write_bytes, 512);
	assert_int_equal(st.net_rx_bytes, 60);
	assert_int_equal(st.net_tx_bytes, 42);
	/* hostile: wrong types and negatives give 0; a huge pid is refused */
	const char *odd = "{\"pid\":99999999999,\"vcpus\":\"2\",\"exits\":-5,\"block_read_bytes\":1.5}";
	assert_int_equal(stats_parse_vmm_reply(odd, strlen(odd), &st, &pid), 0);
	assert_int_equal(pid, 0);
	assert_int_equal(st.vcpus, 0);
	assert_int_equal(st.exits, 0);
	assert_int_equal(st.block_read_bytes, 0);
	const char *bad[] = { "", "[]", "42", "error unknown request", "{\"pid\":", "null",
			      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
			      "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":1}}}}}}}}}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n;
		char *t = exact(bad[i], &n);
		assert_true(stats_parse_vmm_reply(t, n, &st, &pid) < 0);
		free(t);
	}
}

/* The VMM's reply as the control thread writes it, read back by the CLI's
 * parser: a fake VM with two vCPUs and one disk. */
static void test_vmm_reply_roundtrip(void **state)
{
	char out[384];
	struct guest_stats st;
	int pid = 0;
	memset(&st, 0, sizeof(st));
	vm_stats_reply(NULL, 0, 4, 1ull << 30, out, sizeof(out));
	assert_int_equal(stats_parse_vmm_reply(out, strlen(out), &st, &pid), 0);
	assert_int_equal(pid, getpid());
	assert_int_equal(st.vcpus, 4);
	assert_int_equal(st.guest_memory_bytes, 1ull << 30);
	assert_int_equal(st.exits, 0);

	struct vm vm;
	struct vcpu cpus[2];
	struct blk_disk disk;
	struct virtio_dev dev;
	memset(&vm, 0, sizeof(vm));
	memset(cpus, 0, sizeof(cpus));
	memset(&disk, 0, sizeof(disk));
	memset(&dev, 0, sizeof(dev));
	cpus[0].exits = 1000;
	cpus[1].exits = 234;
	disk.read_bytes = UINT64_MAX - 1;     /* the largest counters still fit */
	disk.write_bytes = 4096;
	dev.ops = &blk_dev_ops;
	dev.priv = &disk;
	vm.ncpus = 2;
	vm.vcpus = cpus;
	vm.virtio[0] = &dev;
	vm.nvirtio = 1;
	vm_stats_reply(&vm, 3, 2, 512ull << 20, out, sizeof(out));
	assert_true(strlen(out) < sizeof(out) - 1);
	assert_int_equal(stats_parse_vmm_reply(out, strlen(out), &st, &pid), 0);
	assert_int_equal(st.exits, 1234);
	assert_int_equal(st.vcpus, 2);
	assert_true(st.block_read_bytes == UINT64_MAX - 1);
	assert_int_equal(st.block_write_bytes, 4096);
}

static void test_helpers(void **state)
{
	char b[32];
	stats_human(0, b, sizeof(b));
	assert_string_equal(b, "0");
	stats_human(1536, b, sizeof(b));
	assert_string_equal(b, "1.5K");
	stats_human(128ull << 20, b, sizeof(b));
	assert_string_equal(b, "128M");
	stats_human(UINT64_MAX, b, sizeof(b));
	assert_string_equal(b, "16E");
	stats_uptime(59, b, sizeof(b));
	assert_string_equal(b, "59s");
	stats_uptime(3 * 60 + 7, b, sizeof(b));
	assert_string_equal(b, "3m07s");
	stats_uptime(2 * 3600 + 5 * 60, b, sizeof(b));
	assert_string_equal(b, "2h05m");
	stats_uptime(86400 * 3 + 3600 * 4, b, sizeof(b));
	assert_string_equal(b, "3d04h");
	assert_true(stats_add(UINT64_MAX, 1) == UINT64_MAX);
	assert_int_equal(stats_add(2, 3), 5);

	struct guest_stats a = { .running = 1, .cpu_usec = 1000000, .sampled_usec = 10000000 };
	struct guest_stats c = { .running = 1, .cpu_usec = 1500000, .sampled_usec = 10500000 };
	stats_cpu_percent(&a, &c);
	assert_true(c.cpu_percent > 99.9 && c.cpu_percent < 100.1);
	/* a counter that went back (restart), a stopped guest, no time passed */
	c.cpu_usec = 10;
	stats_cpu_percent(&a, &c);
	assert_true(c.cpu_percent == 0);
	c.cpu_usec = 2000000;
	c.sampled_usec = a.sampled_usec;
	stats_cpu_percent(&a, &c);
	assert_true(c.cpu_percent == 0);
}

/* Write text to dir/file. */
static void put(const char *dir, const char *file, const char *text)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mkdirs(const char *path)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
}

/* A pure v2 tree: cpu.stat, memory.*, pids, io.stat. */
static void test_ct_reader_v2(void **state)
{
	char root[] = "/tmp/test-stats-v2.XXXXXX", dir[PATH_MAX];
	assert_non_null(mkdtemp(root));
	setenv("BERTH_CGROUP_PARENT", "berth-ut", 1);
	struct cg_host h;
	memset(&h, 0, sizeof(h));
	h.layout = CG_V2;
	snprintf(h.unified, sizeof(h.unified), "%s", root);
	snprintf(h.v2_controllers, sizeof(h.v2_controllers), "cpuset cpu io memory pids");
	struct cgroup cg;
	struct err e = { 0 };
	assert_int_equal(cgroup_open(&h, "g1", &cg, &e), 0);
	struct guest_stats st;
	memset(&st, 0, sizeof(st));
	assert_int_equal(cgroup_stats_read(&cg, 0, &st), -ENOENT);   /* no cgroup: stopped */
	snprintf(dir, sizeof(dir), "%s/berth-ut/g1", root);
	mkdirs(dir);
	put(dir, "cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n");
	put(dir, "memory.current", "52428800\n");
	put(dir, "memory.max", "134217728\n");
	put(dir, "memory.swap.current", "4096\n");
	put(dir, "memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\noom_group_kill 0\n");
	put(dir, "pids.current", "7\n");
	put(dir, "io.stat", "8:0 rbytes=5000 wbytes=3000 rios=1 wios=1 dbytes=0 dios=0\n");
	assert_int_equal(cgroup_stats_read(&cg, 0, &st), 0);
	assert_int_equal(st.cpu_usec, 2500000);
	assert_int_equal(st.memory_bytes, 52428800);
	assert_int_equal(st.memory_limit_bytes, 134217728);
	assert_int_equal(st.swap_bytes, 4096);
	assert_int_equal(st.oom_kills, 2);
	assert_int_equal(st.pids, 7);
	assert_int_equal(st.block_read_bytes, 5000);
	assert_int_equal(st.block_write_bytes, 3000);
	put(dir, "memory.max", "max\n");
	assert_int_equal(cgroup_stats_read(&cg, 0, &st), 0);
	assert_true(st.memory_limit_bytes == LIMIT_NONE);
	rm_rf(root, &e);
}

/* A v1 (hybrid) tree: cpuacct, memory with memsw, pids, blkio. */
static void test_ct_reader_v1(void **state)
{
	char root[] = "/tmp/test-stats-v1.XXXXXX", dir[PATH_MAX];
	assert_non_null(mkdtemp(root));
	setenv("BERTH_CGROUP_PARENT", "berth-ut", 1);
	static const char *const ctrl[] = { "memory", "cpuacct", "pids", "blkio" };
	struct cg_host h;
	memset(&h, 0, sizeof(h));
	h.layout = CG_V1;
	for (size_t i = 0; i < 4; i++) {
		snprintf(h.v1[i].ctrl, sizeof(h.v1[i].ctrl), "%s", ctrl[i]);
		snprintf(h.v1[i].mnt, sizeof(h.v1[i].mnt), "%s/%s", root, ctrl[i]);
		snprintf(dir, sizeof(dir), "%s/%s/berth-ut/g1", root, ctrl[i]);
		mkdirs(dir);
	}
	h.nv1 = 4;
	struct cgroup cg;
	struct err e = { 0 };
	assert_int_equal(cgroup_open(&h, "g1", &cg, &e), 0);
	snprintf(dir, sizeof(dir), "%s/memory/berth-ut/g1", root);
	put(dir, "memory.usage_in_bytes", "1048576\n");
	put(dir, "memory.limit_in_bytes", "9223372036854771712\n");   /* v1's "unlimited" */
	put(dir, "memory.memsw.usage_in_bytes", "1572864\n");
	put(dir, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
	snprintf(dir, sizeof(dir), "%s/cpuacct/berth-ut/g1", root);
	put(dir, "cpuacct.usage", "3000000000\n");
	snprintf(dir, sizeof(dir), "%s/pids/berth-ut/g1", root);
	put(dir, "pids.current", "3\n");
	snprintf(dir, sizeof(dir), "%s/blkio/berth-ut/g1", root);
	put(dir, "blkio.throttle.io_service_bytes_recursive",
	    "8:0 Read 700\n8:0 Write 300\n8:0 Total 1000\nTotal 1000\n");
	put(dir, "blkio.throttle.io_service_bytes", "8:0 Read 1\n8:0 Write 1\n");
	struct guest_stats st;
	memset(&st, 0, sizeof(st));
	assert_int_equal(cgroup_stats_read(&cg, 0, &st), 0);
	assert_int_equal(st.cpu_usec, 3000000);
	assert_int_equal(st.memory_bytes, 1048576);
	assert_true(st.memory_limit_bytes == LIMIT_NONE);
	assert_int_equal(st.swap_bytes, 524288);
	assert_int_equal(st.oom_kills, 1);
	assert_int_equal(st.pids, 3);
	assert_int_equal(st.block_read_bytes, 700);     /* the recursive file wins */
	assert_int_equal(st.block_write_bytes, 300);
	rm_rf(root, &e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_keyed),
		cmocka_unit_test(test_io_stat),
		cmocka_unit_test(test_blkio),
		cmocka_unit_test(test_net_dev),
		cmocka_unit_test(test_proc_stat),
		cmocka_unit_test(test_vmm_reply),
		cmocka_unit_test(test_vmm_reply_roundtrip),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_ct_reader_v2),
		cmocka_unit_test(test_ct_reader_v1),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
