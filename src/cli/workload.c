/* workload.c - the hidden verb `berth workload KIND [-n R] [--size MIB]
 * [--count N] [PATH]`: one small benchmark, run R times in this process,
 * each run printed as one line `KIND <value> <unit>` (lib/workload_line.h).
 *
 * `berth compare` runs the same static binary on the host and, copied in
 * through exec's stdin, inside a container and a VM, so every column runs
 * identical code. Each figure is timed inside with CLOCK_MONOTONIC around
 * the work alone: starting the process (and, in a guest, the exec through
 * the monitor or the agent) is not counted.
 *
 *   cpu       COUNT iterations of an integer loop (xorshift)      ms
 *   memory    COUNT memcpy of a SIZE MiB buffer (pre-touched)      MiB/s
 *   forkexec  COUNT x fork + exec of this binary (`workload true`) + wait   /s
 *   seqwrite  SIZE MiB to PATH in 1 MiB writes, then fdatasync     MiB/s
 *   seqread   PATH read in 1 MiB reads after dropping its cached pages
 *             (posix_fadvise DONTNEED, this kernel's cache only)   MiB/s
 *   fsync     COUNT x (4 KiB pwrite + fdatasync) to PATH, removed after  /s
 *   true      nothing (the exec target of forkexec) */
#include "cli/cli.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/workload.h"
#include "lib/size.h"

#define WL_BLOCK (1u << 20)

/* results the compiler must compute (it cannot drop the loops) */
static volatile uint64_t wl_sink __attribute__((used));

/* Monotonic time in seconds. */
static double wl_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The integer loop; returns its time in ms. */
static double wl_cpu(uint64_t count)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	double t0 = wl_now();
	for (uint64_t i = 0; i < count; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	wl_sink = x;
	return (wl_now() - t0) * 1000.0;
}

/* memcpy between two pre-touched buffers of mib MiB, count times; MiB/s. */
static int wl_memory(uint64_t mib, uint64_t count, double *out, struct err *e)
{
	size_t len = (size_t)mib << 20;
	char *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || b == MAP_FAILED) {
		int r = err_sys(e, errno, "allocate 2 x %llu MiB", (unsigned long long)mib);
		if (a != MAP_FAILED)
			munmap(a, len);
		if (b != MAP_FAILED)
			munmap(b, len);
		return r;
	}
	memset(a, 0x5a, len);
	memset(b, 0xa5, len);
	double t0 = wl_now();
	for (uint64_t i = 0; i < count; i++) {
		if (i & 1)
			memcpy(a, b, len);
		else
			memcpy(b, a, len);
	}
	double t = wl_now() - t0;
	wl_sink = (uint64_t)(a[len / 2] ^ b[len / 3]);
	munmap(a, len);
	munmap(b, len);
	*out = t > 0 ? (double)(mib * count) / t : 0;
	return 0;
}

/* fork + exec of /proc/self/exe `workload true`, count times; per second. */
static int wl_forkexec(uint64_t count, double *out, struct err *e)
{
	char *const args[] = { "berth", "workload", "true", NULL };
	double t0 = wl_now();
	for (uint64_t i = 0; i < count; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return err_sys(e, errno, "fork");
		if (pid == 0) {
			execv("/proc/self/exe", args);
			_exit(127);
		}
		int st;
		if (waitpid(pid, &st, 0) < 0)
			return err_sys(e, errno, "wait");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return err_set(e, EIO, "exec of /proc/self/exe failed (status %d)", st);
	}
	double t = wl_now() - t0;
	*out = t > 0 ? (double)count / t : 0;
	return 0;
}

/* SIZE MiB written to path in 1 MiB blocks, then fdatasync; MiB/s. */
static int wl_seqwrite(const char *path, uint64_t mib, double *out, struct err *e)
{
	char *buf = malloc(WL_BLOCK);
	if (!buf)
		return err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < WL_BLOCK; i++)
		buf[i] = (char)(i * 31 + 7); /* not zeros: nothing may elide them */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(buf);
		return err_sys(e, errno, "create %s", path);
	}
	int r = 0;
	double t0 = wl_now();
	for (uint64_t i = 0; i < mib && r == 0; i++) {
		size_t done = 0;
		while (done < WL_BLOCK) {
			ssize_t n = write(fd, buf + done, WL_BLOCK - done);
			if (n <= 0) {
				r = err_sys(e, n < 0 ? errno : ENOSPC, "write %s", path);
				break;
			}
			done += (size_t)n;
		}
	}
	if (r == 0 && fdatasync(fd) < 0)
		r = err_sys(e, errno, "fdatasync %s", path);
	double t = wl_now() - t0;
	close(fd);
	free(buf);
	*out = r == 0 && t > 0 ? (double)mib / t : 0;
	return r;
}

/* Read path to its end in 1 MiB reads after dropping its cached pages;
 * MiB/s. An empty file is an error. */
static int wl_seqread(const char *path, double *out, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "open %s", path);
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	char *buf = malloc(WL_BLOCK);
	if (!buf) {
		close(fd);
		return err_set(e, ENOMEM, "out of memory");
	}
	uint64_t total = 0;
	int r = 0;
	double t0 = wl_now();
	for (;;) {
		ssize_t n = read(fd, buf, WL_BLOCK);
		if (n < 0) {
			r = err_sys(e, errno, "read %s", path);
			break;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
	}
	double t = wl_now() - t0;
	close(fd);
	free(buf);
	if (r == 0 && total == 0)
		r = err_set(e, EINVAL, "%s is empty; run 'workload seqwrite' first", path);
	*out = r == 0 && t > 0 ? (double)total / (1 << 20) / t : 0;
	return r;
}

/* count x (4 KiB pwrite + fdatasync) to path, then remove it; per second. */
static int wl_fsync(const char *path, uint64_t count, double *out, struct err *e)
{
	char buf[4096];
	memset(buf, 0x3c, sizeof(buf));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(e, errno, "create %s", path);
	int r = 0;
	double t0 = wl_now();
	for (uint64_t i = 0; i < count && r == 0; i++) {
		if (pwrite(fd, buf, sizeof(buf), (off_t)(i * sizeof(buf))) != (ssize_t)sizeof(buf))
			r = err_sys(e, errno ? errno : ENOSPC, "write %s", path);
		else if (fdatasync(fd) < 0)
			r = err_sys(e, errno, "fdatasync %s", path);
	}
	double t = wl_now() - t0;
	close(fd);
	unlink(path);
	*out = r == 0 && t > 0 ? (double)count / t : 0;
	return r;
}

/* The defaults of each kind (compare passes its own). */
static const struct workload_kind kinds[] = {
	{ "cpu", "ms", 0, 50000000, 0 },
	{ "memory", "MiB/s", 64, 8, 0 },
	{ "forkexec", "/s", 0, 200, 0 },
	{ "seqwrite", "MiB/s", 64, 0, 1 },
	{ "seqread", "MiB/s", 0, 0, 1 },
	{ "fsync", "/s", 0, 500, 1 },
};

const struct workload_kind *workload_kind_find(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].name, name))
			return &kinds[i];
	return NULL;
}

/* One run of kind k; the figure goes to out. */
static int workload_once(const struct workload_kind *k, uint64_t size, uint64_t count,
			 const char *path, double *out, struct err *e)
{
	if (!strcmp(k->name, "cpu")) {
		*out = wl_cpu(count);
		return 0;
	}
	if (!strcmp(k->name, "memory"))
		return wl_memory(size, count, out, e);
	if (!strcmp(k->name, "forkexec"))
		return wl_forkexec(count, out, e);
	if (!strcmp(k->name, "seqwrite"))
		return wl_seqwrite(path, size, out, e);
	if (!strcmp(k->name, "seqread"))
		return wl_seqread(path, out, e);
	return wl_fsync(path, count, out, e);
}

int cmd_workload(int argc, char **argv, struct err *e)
{
	enum { OPT_SIZE = 3000, OPT_COUNT };
	static const struct option opts[] = {
		{ "runs", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ 0 },
	};
	static const char usage[] = "usage: berth workload cpu|memory|forkexec|seqwrite|seqread|fsync "
				    "[-n RUNS] [--size MIB] [--count N] [PATH]";
	uint64_t runs = 1, size = 0, count = 0;
	int opt, r;
	while ((opt = cli_getopt(argc, argv, "n:", opts, e)) != -1) {
		if (opt < 0)
			return opt;
		if (opt == 'n')
			r = uint_parse(optarg, 1, 100, 0, &runs, e);
		else if (opt == OPT_SIZE)
			r = uint_parse(optarg, 1, 4096, 0, &size, e);
		else
			r = uint_parse(optarg, 1, 1000000000000ull, 0, &count, e);
		if (r < 0)
			return err_wrap(e, "%s", opt == 'n' ? "-n" : opt == OPT_SIZE ? "--size" : "--count");
	}
	if (optind >= argc)
		return err_exit(e, EXIT_USAGE, "missing workload; %s", usage);
	const char *name = argv[optind++];
	if (!strcmp(name, "true") && optind == argc)
		return 0;
	const struct workload_kind *k = workload_kind_find(name);
	if (!k)
		return err_exit(e, EXIT_USAGE, "unknown workload '%s'; %s", name, usage);
	const char *path = NULL;
	if (k->needs_path) {
		if (optind >= argc)
			return err_exit(e, EXIT_USAGE, "workload %s needs a PATH; %s", name, usage);
		path = argv[optind++];
	}
	if (optind < argc)
		return err_exit(e, EXIT_USAGE, "unexpected argument '%s'; %s", argv[optind], usage);
	if (!size)
		size = k->size;
	if (!count)
		count = k->count;
	for (uint64_t i = 0; i < runs; i++) {
		double v = 0;
		if ((r = workload_once(k, size, count, path, &v, e)) < 0)
			return r;
		char fig[64];
		snprintf(fig, sizeof(fig), "%.3f", v);
		if (!(strtod(fig, NULL) > 0)) /* what compare reads must be > 0 */
			return err_set(e, ERANGE, "workload %s: too short to time; raise --count or --size",
				       name);
		printf("%s %s %s\n", k->name, fig, k->unit);
		fflush(stdout);
	}
	return 0;
}
