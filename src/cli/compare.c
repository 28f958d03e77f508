/* compare.c - `berth compare --template T [--memory SIZE] [--cpus N]
 * [--disk SIZE] [--types ct,vm] [--runs N] [--quick] [--json]`: the
 * KVM-vs-OpenVZ question, measured.
 *
 * The same workloads (`berth workload`, workload.c: one static binary,
 * identical code everywhere, copied onto the storage under test: a scratch
 * dir under $BERTH_ROOT for the host, each guest's root disk through
 * exec's stdin) run on the host, in a container and in a VM
 * made from the same template with the same limits, one column after the
 * other (never two at once). Each workload runs --runs times (default 3)
 * and the median is reported, with ratios against the host (host = 1.00).
 *
 * What each figure is (also in README.md, Compare):
 * - startup_ms: create + start + the first `berth exec NAME -- true` that
 *   answers, timed on the host (one sample: one boot per guest); create_ms
 *   is the create part of it (tree copy or disk image).
 * - the workloads are timed inside, around the work alone; their files
 *   live on the guest's root disk (both types get a --disk image under
 *   $BERTH_ROOT) or, for the host, in a scratch directory under $BERTH_ROOT:
 *   the same host storage. Between writing and reading the file, compare
 *   drops the host's cached pages of the guest's disk.img (posix_fadvise
 *   DONTNEED, after fdatasync), and the reader drops its own kernel's
 *   pages of the file, so all three read from storage, not from a cache.
 * - host_overhead_bytes: host memory the guest holds once idle (right
 *   after start-up): for a container its cgroup's memory (memory.current,
 *   or usage_in_bytes on v1: its processes and the page cache charged to
 *   it) plus its monitor's RSS; for a VM the RSS of its monitor and of its
 *   VMM, which includes every page of guest RAM the guest has touched.
 *   host_overhead_after_bytes: the same after the workloads ran.
 *
 * Guests are temporary (cmp-<random>-ct, -vm) and are always destroyed,
 * also on failure, SIGINT, SIGTERM or SIGHUP. */
#include "cli/cli.h"

#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "cli/stats.h"
#include "cli/workload.h"
#include "ct/cgroup.h"
#include "lib/fsutil.h"
#include "lib/size.h"
#include "lib/workload_line.h"
#include "tpl/template.h"
#include "vm/guest.h"
#include "vm/kvm.h"

#define CMP_DEFAULT_MEMORY (512ull << 20)
#define CMP_DEFAULT_DISK (512ull << 20)
#define CMP_MAX_RUNS 20
#define CMP_EXEC_TIMEOUT_S 600
#define CMP_GUEST_BIN "/berth-workload"
#define CMP_GUEST_DATA "/berth-compare.dat"
#define CMP_GUEST_FSYNC "/berth-compare.fsync"

enum col { COL_HOST, COL_CT, COL_VM, COL_COUNT };
static const char *const col_names[COL_COUNT] = { "host", "ct", "vm" };

enum metric {
	M_STARTUP, M_CREATE, M_CPU, M_MEMORY, M_FORK, M_SEQW, M_SEQR, M_FSYNC,
	M_OVER_IDLE, M_OVER_AFTER, M_COUNT
};

struct metric_info {
	const char *key;        /* JSON key, with its unit */
	const char *label;      /* table row */
	int higher_better;
	const char *workload;   /* the `berth workload` kind, or NULL */
	int bytes;              /* shown in MiB in the table */
};

static const struct metric_info metrics[M_COUNT] = {
	{ "startup_ms", "start-up (ms)", 0, NULL, 0 },
	{ "create_ms", "  of which create (ms)", 0, NULL, 0 },
	{ "cpu_loop_ms", "cpu loop (ms)", 0, "cpu", 0 },
	{ "memory_bandwidth_mib_s", "memory copy (MiB/s)", 1, "memory", 0 },
	{ "fork_exec_per_s", "fork+exec (/s)", 1, "forkexec", 0 },
	{ "seq_write_mib_s", "seq write (MiB/s)", 1, "seqwrite", 0 },
	{ "seq_read_mib_s", "seq read (MiB/s)", 1, "seqread", 0 },
	{ "fsync_per_s", "4K write+fdatasync (/s)", 1, "fsync", 0 },
	{ "host_overhead_bytes", "host memory, idle (MiB)", 0, NULL, 1 },
	{ "host_overhead_after_bytes", "host memory, after (MiB)", 0, NULL, 1 },
};

/* Sizes of the workloads: the defaults, or --quick (for nested VMs). */
struct cmp_sizes {
	uint64_t runs, cpu_count, mem_mib, mem_count, fork_count, seq_mib, fsync_count;
};

struct column {
	int wanted, measured;
	char missing[400];          /* why a wanted column was not measured */
	int have[M_COUNT];
	double v[M_COUNT];
};

struct cmp {
	struct store s;
	const char *tpl;
	struct limits lim;          /* memory, cpus, disk: the same for ct and vm */
	struct cmp_sizes sz;
	int progress;               /* stderr is a terminal */
	int nested;
	char hypervisor[64];        /* what this host runs under, "" if bare metal */
	char vm_note[160];
	char host_dir[PATH_MAX];    /* the host column's scratch dir */
	char host_bin[PATH_MAX];    /* berth copied there: the host's workload binary */
	struct column col[COL_COUNT];
};

/* ---- interruption: SIGINT, SIGTERM, SIGHUP end the run, never the cleanup */

static volatile sig_atomic_t cmp_interrupted;
static volatile pid_t cmp_child;

static void cmp_signal(int sig)
{
	(void)sig;
	cmp_interrupted = 1;
	if (cmp_child > 0)
		kill(cmp_child, SIGTERM);
}

static int cmp_check_interrupt(struct err *e)
{
	return cmp_interrupted ? err_exit(e, 130, "interrupted; the temporary guests were removed") : 0;
}

static void progress(const struct cmp *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const struct cmp *c, const char *fmt, ...)
{
	if (!c->progress)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("berth compare: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- running berth itself (the host's workloads, exec into guests) ---- */

/* Run berth (exe: a copy of it, or NULL for /proc/self/exe) with args
 * (args[0] is only its name), stdin from in_fd (-1: /dev/null), stdout and
 * stderr together into out (cap bytes, NUL-terminated, the rest dropped),
 * killed after timeout_s. The exit status goes to *code (128+N for N). */
static int run_self(const char *exe, char *const args[], int in_fd, char *out, size_t cap,
		    int timeout_s, int *code, struct err *e)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return err_sys(e, errno, "fork");
	}
	if (pid == 0) {
		int in = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
		if (in < 0 || dup2(in, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(127);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		execv(exe ? exe : "/proc/self/exe", args);
		_exit(127);
	}
	cmp_child = pid;
	close(p[1]);
	size_t len = 0;
	double deadline = now_ms() + timeout_s * 1000.0;
	int timed_out = 0;
	for (;;) {
		double left = deadline - now_ms();
		if (left <= 0) {
			timed_out = 1;
			kill(pid, SIGKILL);
			break;
		}
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		int pr = poll(&pfd, 1, left > 1000 ? 1000 : (int)left + 1);
		if (pr < 0 && errno != EINTR)
			break;
		if (pr <= 0)
			continue;
		char buf[4096];
		ssize_t n = read(p[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t take = (size_t)n < cap - 1 - len ? (size_t)n : cap - 1 - len;
		memcpy(out + len, buf, take);
		len += take;
	}
	out[len] = '\0';
	close(p[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	cmp_child = 0;
	if (timed_out)
		return err_set(e, ETIMEDOUT, "'%s %s' took more than %d s", args[1], args[2], timeout_s);
	*code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

/* The last non-empty line of out (for error messages), at most 200 bytes. */
static void last_line(const char *out, char *buf, size_t len)
{
	const char *end = out + strlen(out);
	while (end > out && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	const char *start = end;
	while (start > out && start[-1] != '\n')
		start--;
	size_t n = (size_t)(end - start);
	if (n >= len)
		n = len - 1;
	memcpy(buf, start, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?'; /* from a guest: no control characters */
	if (!n)
		snprintf(buf, len, "no output");
}

/* Run one workload kind `runs` times on the host (guest NULL) or in a
 * guest through `berth exec`; the median of its figures goes to *out. */
static int run_workload(struct cmp *c, const char *guest, const char *kind, uint64_t size,
			uint64_t count, const char *path, uint64_t runs, double *out, struct err *e)
{
	const struct workload_kind *k = workload_kind_find(kind);
	char nruns[24], nsize[24], ncount[24], name[96];
	char *args[20];
	int n = 0;
	snprintf(nruns, sizeof(nruns), "%llu", (unsigned long long)runs);
	snprintf(nsize, sizeof(nsize), "%llu", (unsigned long long)size);
	snprintf(ncount, sizeof(ncount), "%llu", (unsigned long long)count);
	snprintf(name, sizeof(name), "%s", guest ? guest : "");
	args[n++] = "berth";
	if (guest) {
		args[n++] = "exec";
		args[n++] = name;
		args[n++] = "--";
		args[n++] = CMP_GUEST_BIN;
	}
	args[n++] = "workload";
	args[n++] = (char *)kind;
	args[n++] = "-n";
	args[n++] = nruns;
	if (size) {
		args[n++] = "--size";
		args[n++] = nsize;
	}
	if (count) {
		args[n++] = "--count";
		args[n++] = ncount;
	}
	if (path)
		args[n++] = (char *)path;
	args[n] = NULL;
	char text[8192], line[200];
	/* the host runs its copy on the guests' storage, as they run theirs */
	int code = 0, r = run_self(guest ? NULL : c->host_bin, args, -1, text, sizeof(text), CMP_EXEC_TIMEOUT_S, &code, e);
	if (r < 0)
		return r;
	if ((r = cmp_check_interrupt(e)) < 0)
		return r;
	double vals[CMP_MAX_RUNS];
	size_t got = 0;
	r = workload_parse(text, strlen(text), kind, k->unit, vals, CMP_MAX_RUNS, &got);
	if (code != 0 || r < 0 || got != runs) {
		last_line(text, line, sizeof(line));
		return err_set(e, EIO, "workload %s %s failed (exit %d): %s", kind,
			       guest ? "in the guest" : "on the host", code, line);
	}
	*out = workload_median(vals, got);
	return 0;
}

/* Drop the host's cached pages of a guest's disk image (clean ones: after
 * fdatasync), so that the guest's next read comes from storage. */
static void drop_disk_cache(const struct cmp *c, const char *guest)
{
	char img[PATH_MAX];
	store_guest_path(&c->s, guest, "disk.img", img, sizeof(img));
	int fd = open(img, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

/* Copy this berth binary to path (mode 0755): the host column runs it
 * from the same storage as the guests run theirs (not, say, from a slow
 * network file system where the build lies). */
static int copy_self(const char *path, struct err *e)
{
	int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return err_sys(e, errno, "open /proc/self/exe");
	int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0) {
		int r = err_sys(e, errno, "create %s", path);
		close(in);
		return r;
	}
	char buf[65536];
	ssize_t n;
	int r = 0;
	while (r == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write(out, buf, (size_t)n) != n)
			r = err_sys(e, errno ? errno : EIO, "copy berth to %s", path);
	}
	close(in);
	if (close(out) < 0 && r == 0)
		r = err_sys(e, errno, "write %s", path);
	return r;
}

/* The workloads of one column (guest NULL: the host). */
static int run_workloads(struct cmp *c, enum col ci, const char *guest, struct err *e)
{
	struct column *col = &c->col[ci];
	const struct cmp_sizes *z = &c->sz;
	char data[PATH_MAX], fsy[PATH_MAX];
	if (guest) {
		snprintf(data, sizeof(data), "%s", CMP_GUEST_DATA);
		snprintf(fsy, sizeof(fsy), "%s", CMP_GUEST_FSYNC);
	} else {
		snprintf(data, sizeof(data), "%s/data", c->host_dir);
		snprintf(fsy, sizeof(fsy), "%s/fsync", c->host_dir);
	}
	const struct {
		enum metric m;
		const char *kind;
		uint64_t size, count;
		const char *path;
	} plain[] = {
		{ M_CPU, "cpu", 0, z->cpu_count, NULL },
		{ M_MEMORY, "memory", z->mem_mib, z->mem_count, NULL },
		{ M_FORK, "forkexec", 0, z->fork_count, NULL },
		{ M_FSYNC, "fsync", 0, z->fsync_count, fsy },
	};
	int r;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		progress(c, "%s: %s", col_names[ci], plain[i].kind);
		if ((r = run_workload(c, guest, plain[i].kind, plain[i].size, plain[i].count,
				      plain[i].path, z->runs, &col->v[plain[i].m], e)) < 0)
			return r;
		col->have[plain[i].m] = 1;
	}
	/* write then read, one exec each, the caches below dropped between */
	double w[CMP_MAX_RUNS], rd[CMP_MAX_RUNS];
	progress(c, "%s: seqwrite, seqread", col_names[ci]);
	for (uint64_t i = 0; i < z->runs; i++) {
		if ((r = run_workload(c, guest, "seqwrite", z->seq_mib, 0, data, 1, &w[i], e)) < 0)
			return r;
		if (guest)
			drop_disk_cache(c, guest);
		if ((r = run_workload(c, guest, "seqread", 0, 0, data, 1, &rd[i], e)) < 0)
			return r;
	}
	col->v[M_SEQW] = workload_median(w, z->runs);
	col->v[M_SEQR] = workload_median(rd, z->runs);
	col->have[M_SEQW] = col->have[M_SEQR] = 1;
	return 0;
}

/* ---- guests ---- */

/* VmRSS of a process in bytes, 0 if it is gone. */
static uint64_t proc_rss(pid_t pid)
{
	char path[64], *text = NULL;
	size_t len = 0;
	uint64_t v = 0;
	struct err ignore = { 0 };
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (pid > 0 && read_file(path, 1 << 16, &text, &len, &ignore) == 0)
		stats_parse_keyed(text, len, "VmRSS", &v);
	free(text);
	return v;
}

/* Host memory a running guest holds (see the top of this file). */
static int guest_overhead(const struct cmp *c, const char *name, double *out, struct err *e)
{
	struct guest_stats st;
	struct guest_runtime rt;
	int r = stats_sample(&c->s, name, &st, e);
	if (r < 0)
		return r;
	guest_runtime(&c->s, name, &rt);
	if (!st.running || !rt.running)
		return err_set(e, ESRCH, "guest '%s' stopped during the comparison", name);
	uint64_t mon = proc_rss(rt.monitor_pid);
	*out = (double)stats_add(st.memory_bytes, mon);
	return 0;
}

/* Stop (kill) and remove a temporary guest, whatever state it is in. */
static void guest_discard(const struct cmp *c, const struct guest_config *g)
{
	struct err de = { 0 };
	int lock = store_guest_lock(&c->s, g->name, &de);
	struct guest_runtime rt;
	guest_runtime(&c->s, g->name, &rt);
	pid_t mon = rt.monitor_pid;
	if (rt.running && guest_kill(&c->s, g->name, &de) < 0)
		fprintf(stderr, "berth compare: %s\n", de.msg);
	/* the monitor cleans up (cgroup, mounts) as it ends; guest_start forked
	 * it from this process, so it is reaped here (not left a zombie) */
	for (int i = 0; mon > 0 && i < 200; i++) {
		pid_t w = waitpid(mon, NULL, WNOHANG);
		if (w == mon || (w < 0 && kill(mon, 0) < 0))
			break;
		usleep(50 * 1000);
	}
	guest_runtime(&c->s, g->name, &rt);
	err_clear(&de);
	if (rt.stale && guest_cleanup_stale(&c->s, g, &de) < 0)
		fprintf(stderr, "berth compare: %s\n", de.msg);
	err_clear(&de);
	if (guest_remove(&c->s, g, &de) < 0)
		fprintf(stderr, "berth compare: %s\n", de.msg);
	store_guest_lock_remove(&c->s, g->name);
	if (lock >= 0)
		close(lock);
}

/* Does the store have a cached initramfs yet (a VM's first start builds it)? */
static int initramfs_cached_any(const struct cmp *c)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/cache", c->s.root);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	int found = 0;
	while (!found && (de = readdir(d)))
		found = !strncmp(de->d_name, "initramfs-", 10);
	closedir(d);
	return found;
}

/* Measure one guest column: create, start, first exec (start-up), idle
 * overhead, copy the workload binary in, the workloads, overhead after. */
static int measure_guest(struct cmp *c, enum col ci, struct guest_config *g, int *created,
			 struct err *e)
{
	struct column *col = &c->col[ci];
	int r, code = 0;
	char out[4096], line[200];
	if (ci == COL_VM && !initramfs_cached_any(c))
		snprintf(c->vm_note, sizeof(c->vm_note),
			 "vm start-up includes building this store's initramfs cache (its first VM start)");
	progress(c, "%s: create %s", col_names[ci], g->name);
	double t0 = now_ms();
	if ((r = guest_create(&c->s, g, e)) < 0)
		return r;
	*created = 1;
	double t1 = now_ms();
	if ((r = cmp_check_interrupt(e)) < 0)
		return r;
	progress(c, "%s: start", col_names[ci]);
	if ((r = guest_start(&c->s, g->name, e)) < 0)
		return r;
	if ((r = cmp_check_interrupt(e)) < 0)
		return r;
	char *first[] = { "berth", "exec", g->name, "--", "true", NULL };
	if ((r = run_self(NULL, first, -1, out, sizeof(out), CMP_EXEC_TIMEOUT_S, &code, e)) < 0 ||
	    (r = cmp_check_interrupt(e)) < 0)
		return r;
	if (code != 0) {
		last_line(out, line, sizeof(line));
		return err_set(e, EIO, "the first exec in %s '%s' failed (exit %d): %s",
			       col_names[ci], g->name, code, line);
	}
	double t2 = now_ms();
	col->v[M_STARTUP] = t2 - t0;
	col->v[M_CREATE] = t1 - t0;
	col->have[M_STARTUP] = col->have[M_CREATE] = 1;
	if ((r = guest_overhead(c, g->name, &col->v[M_OVER_IDLE], e)) < 0)
		return r;
	col->have[M_OVER_IDLE] = 1;
	/* the workload binary: this static berth, through exec's stdin */
	int bin = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (bin < 0)
		return err_sys(e, errno, "open /proc/self/exe");
	char *copy[] = { "berth", "exec", g->name, "--", "sh", "-c",
			 "cat >" CMP_GUEST_BIN " && chmod 755 " CMP_GUEST_BIN, NULL };
	r = run_self(NULL, copy, bin, out, sizeof(out), CMP_EXEC_TIMEOUT_S, &code, e);
	close(bin);
	if (r < 0 || (r = cmp_check_interrupt(e)) < 0)
		return r;
	if (code != 0) {
		last_line(out, line, sizeof(line));
		return err_set(e, EIO, "copying berth into %s '%s' failed (exit %d): %s",
			       col_names[ci], g->name, code, line);
	}
	if ((r = run_workloads(c, ci, g->name, e)) < 0)
		return r;
	if ((r = guest_overhead(c, g->name, &col->v[M_OVER_AFTER], e)) < 0)
		return r;
	col->have[M_OVER_AFTER] = 1;
	col->measured = 1;
	return 0;
}

/* A temporary guest's config: cmp-<random>-<type>, the template, limits. */
static void guest_config_for(const struct cmp *c, const char *stem, enum guest_type t,
			     struct guest_config *g)
{
	config_init(g);
	snprintf(g->name, sizeof(g->name), "%s-%s", stem, t == GUEST_VM ? "vm" : "ct");
	snprintf(g->template_name, sizeof(g->template_name), "%s", c->tpl);
	g->type = t;
	g->lim.memory = c->lim.memory;
	g->lim.cpus = c->lim.cpus;
	g->lim.disk = c->lim.disk;
}

/* ---- the host: nested or not, can it run VMs ---- */

/* Is this host itself a virtual machine (CPUID.1:ECX bit 31, the
 * hypervisor bit; the rig's QEMU sets it)? Its hypervisor's signature
 * (CPUID 0x40000000) goes to sig. */
static int host_is_guest(char *sig, size_t len)
{
	sig[0] = '\0';
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, cx, d;
	if (__get_cpuid(1, &a, &b, &cx, &d) && (cx & (1u << 31))) {
		char raw[13] = { 0 };
		__cpuid(0x40000000, a, b, cx, d);
		memcpy(raw, &b, 4);
		memcpy(raw + 4, &cx, 4);
		memcpy(raw + 8, &d, 4);
		for (int i = 0; i < 12; i++)
			if (raw[i] && (raw[i] < 0x20 || raw[i] > 0x7e))
				raw[i] = '?';
		const char *name = !strcmp(raw, "TCGTCGTCGTCG") ? "QEMU TCG"
				   : !strcmp(raw, "KVMKVMKVM") ? "KVM"
				   : !strcmp(raw, "Microsoft Hv") ? "Hyper-V"
				   : !strcmp(raw, "VMwareVMware") ? "VMware"
				   : !strcmp(raw, "XenVMMXenVMM") ? "Xen" : raw;
		snprintf(sig, len, "%s", name[0] ? name : "a hypervisor");
		return 1;
	}
#endif
	char host[64] = "";
	if (gethostname(host, sizeof(host) - 1) == 0 && !strcmp(host, "rig")) {
		snprintf(sig, len, "the rig's QEMU");
		return 1;
	}
	return 0;
}

/* Can /dev/kvm here run berth's VMs? (kvm_open's checks: present, not
 * kvm-pvm, API 12, the capabilities berth needs.) */
static int host_vm_usable(struct err *e)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return err_set(e, ENOMEM, "out of memory");
	vm->kvm_fd = vm->vm_fd = -1;
	int r = kvm_open(vm, e);
	kvm_close(vm);
	free(vm);
	return r;
}

/* ---- output ---- */

/* A figure for the table: bytes as MiB, else by magnitude. */
static void fmt_value(const struct metric_info *m, double v, char *buf, size_t len)
{
	if (m->bytes)
		snprintf(buf, len, "%.1f", v / (1 << 20));
	else if (v >= 100)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 10)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.2f", v);
}

/* The ratio of column ci to the host for metric m, or NAN. */
static double ratio(const struct cmp *c, enum col ci, enum metric m)
{
	const struct column *h = &c->col[COL_HOST], *x = &c->col[ci];
	if (!h->have[m] || !x->have[m] || !(h->v[m] > 0))
		return NAN;
	return x->v[m] / h->v[m];
}

static void print_table(const struct cmp *c)
{
	char mem[32], cpus[32], disk[32];
	size_format(c->lim.memory, mem, sizeof(mem));
	cpus_format(c->lim.cpus, cpus, sizeof(cpus));
	size_format(c->lim.disk, disk, sizeof(disk));
	printf("berth compare: template %s, memory %s, %s CPU, disk %s; median of %llu runs\n",
	       c->tpl, mem, cpus, disk, (unsigned long long)c->sz.runs);
	if (c->col[COL_VM].measured && c->nested)
		printf("vm: runs nested: this host is itself a virtual machine (%s); the VM column's KVM runs inside it\n",
		       c->hypervisor);
	else if (c->col[COL_VM].measured)
		printf("vm: runs on this host's KVM (no hypervisor below it)\n");
	else if (c->nested)
		printf("note: this host is itself a virtual machine (%s)\n", c->hypervisor);
	for (int i = COL_CT; i < COL_COUNT; i++)
		if (c->col[i].wanted && !c->col[i].measured)
			printf("%s: not measured: %s\n", col_names[i], c->col[i].missing);
	if (c->vm_note[0])
		printf("note: %s\n", c->vm_note);
	printf("%-26s %-7s", "", "better");
	for (int i = 0; i < COL_COUNT; i++)
		if (c->col[i].measured)
			printf(" %10s", col_names[i]);
	for (int i = COL_CT; i < COL_COUNT; i++)
		if (c->col[i].measured)
			printf(" %8s/host", col_names[i]);
	putchar('\n');
	for (int m = 0; m < M_COUNT; m++) {
		printf("%-26s %-7s", metrics[m].label, metrics[m].higher_better ? "higher" : "lower");
		for (int i = 0; i < COL_COUNT; i++) {
			char v[32] = "-";
			if (!c->col[i].measured)
				continue;
			if (c->col[i].have[m])
				fmt_value(&metrics[m], c->col[i].v[m], v, sizeof(v));
			printf(" %10s", v);
		}
		for (int i = COL_CT; i < COL_COUNT; i++) {
			if (!c->col[i].measured)
				continue;
			double q = ratio(c, (enum col)i, (enum metric)m);
			char v[32] = "-";
			if (!isnan(q))
				snprintf(v, sizeof(v), q >= 0.1 ? "%.2f" : "%.2g", q); /* 0.0043, not 0.00 */
			printf(" %13s", v);
		}
		putchar('\n');
	}
}

/* A number for JSON with three decimals, or three digits in exponent form
 * below 0.01 (a tiny ratio stays > 0), or a byte count as an integer. */
static json_object *json_num(const struct metric_info *m, double v)
{
	if (m && m->bytes)
		return json_object_new_int64((int64_t)v);
	char buf[48];
	snprintf(buf, sizeof(buf), v > 0 && v < 0.01 ? "%.2e" : "%.3f", v);
	return json_object_new_double_s(v, buf);
}

static void print_json(const struct cmp *c)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "template", json_object_new_string(c->tpl));
	json_object_object_add(o, "memory_bytes", json_object_new_uint64(c->lim.memory));
	json_object_object_add(o, "cpus_milli", json_object_new_uint64(c->lim.cpus));
	json_object_object_add(o, "disk_bytes", json_object_new_uint64(c->lim.disk));
	json_object_object_add(o, "runs", json_object_new_uint64(c->sz.runs));
	json_object_object_add(o, "nested", json_object_new_boolean(c->nested));
	json_object_object_add(o, "hypervisor",
			       c->hypervisor[0] ? json_object_new_string(c->hypervisor) : NULL);
	json_object *better = json_object_new_object(), *missing = json_object_new_object();
	for (int m = 0; m < M_COUNT; m++)
		json_object_object_add(better, metrics[m].key,
				       json_object_new_string(metrics[m].higher_better ? "higher" : "lower"));
	json_object_object_add(o, "better", better);
	json_object *ratios = json_object_new_object();
	for (int i = 0; i < COL_COUNT; i++) {
		const struct column *col = &c->col[i];
		if (col->wanted && !col->measured)
			json_object_object_add(missing, col_names[i], json_object_new_string(col->missing));
		if (!col->measured) {
			json_object_object_add(o, col_names[i], NULL);
			json_object_object_add(ratios, col_names[i], NULL);
			continue;
		}
		json_object *vals = json_object_new_object(), *rat = json_object_new_object();
		for (int m = 0; m < M_COUNT; m++) {
			json_object_object_add(vals, metrics[m].key,
					       col->have[m] ? json_num(&metrics[m], col->v[m]) : NULL);
			double q = ratio(c, (enum col)i, (enum metric)m);
			json_object_object_add(rat, metrics[m].key, isnan(q) ? NULL : json_num(NULL, q));
		}
		json_object_object_add(o, col_names[i], vals);
		json_object_object_add(ratios, col_names[i], rat);
	}
	json_object_object_add(o, "ratios", ratios);
	json_object_object_add(o, "missing", missing);
	json_object_object_add(o, "notes", c->vm_note[0] ? json_object_new_string(c->vm_note) : NULL);
	cli_print_json(o);
	json_object_put(o);
}

/* ---- the verb ---- */

/* --types ct,vm: which guest columns to measure. */
static int parse_types(const char *arg, int *ct, int *vm, struct err *e)
{
	*ct = *vm = 0;
	char buf[64];
	if (strlen(arg) >= sizeof(buf))
		return err_exit(e, EXIT_USAGE, "--types %s: give ct, vm or ct,vm", arg);
	snprintf(buf, sizeof(buf), "%s", arg);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "ct"))
			*ct = 1;
		else if (!strcmp(t, "vm"))
			*vm = 1;
		else
			return err_exit(e, EXIT_USAGE, "--types %s: give ct, vm or ct,vm", arg);
	}
	if (!*ct && !*vm)
		return err_exit(e, EXIT_USAGE, "--types %s: give ct, vm or ct,vm", arg);
	return 0;
}

/* Check everything that can be checked before any guest exists. */
static int cmp_prepare(struct cmp *c, int want_ct, int want_vm, int types_given, struct err *e)
{
	struct template_info t;
	int r;
	if ((r = tpl_load(&c->s, c->tpl, &t, e)) < 0)
		return r;
	c->col[COL_HOST].wanted = 1;
	c->col[COL_CT].wanted = want_ct;
	c->col[COL_VM].wanted = want_vm;
	if (want_ct) {
		struct cg_host h;
		if ((r = cg_host_detect(&h, e)) < 0 || (r = cgroup_check_limits(&h, &c->lim, e)) < 0)
			return r;
	}
	if (want_vm) {
		struct guest_config g;
		config_init(&g);
		g.type = GUEST_VM;
		g.lim = c->lim;
		if ((r = vm_config_check(&g, e)) < 0)
			return err_wrap(e, "the VM column");
		struct err ke = { 0 };
		if (host_vm_usable(&ke) < 0) {
			if (types_given)
				return err_exit(e, EXIT_HOST, "cannot compare a VM here: %s", ke.msg);
			snprintf(c->col[COL_VM].missing, sizeof(c->col[COL_VM].missing), "%s", ke.msg);
		}
	}
	c->nested = host_is_guest(c->hypervisor, sizeof(c->hypervisor));
	return 0;
}

int cmd_compare(int argc, char **argv, struct err *e)
{
	enum { OPT_RUNS = 3100, OPT_QUICK, OPT_TYPES };
	static const struct option opts[] = {
		{ "template", required_argument, NULL, OPT_TEMPLATE },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "types", required_argument, NULL, OPT_TYPES },
		{ "runs", required_argument, NULL, OPT_RUNS },
		{ "quick", no_argument, NULL, OPT_QUICK },
		{ "json", no_argument, NULL, OPT_JSON },
		{ 0 },
	};
	static const char usage[] = "usage: berth compare --template T [--memory SIZE] [--cpus N] "
				    "[--disk SIZE] [--types ct,vm] [--runs N] [--quick] [--json]";
	struct limit_args la;
	const char *types = NULL;
	int opt, r, json = 0, quick = 0, want_ct = 1, want_vm = 1;
	uint64_t runs = 3;
	static struct cmp c; /* static: the signal handler's view stays simple */
	memset(&c, 0, sizeof(c));
	limit_args_init(&la);
	while ((opt = cli_getopt(argc, argv, "", opts, e)) != -1) {
		if (opt < 0)
			return opt;
		if ((r = limit_args_take(&la, opt, optarg, e)) < 0)
			return r;
		if (r)
			continue;
		if (opt == OPT_TEMPLATE)
			c.tpl = optarg;
		else if (opt == OPT_TYPES)
			types = optarg;
		else if (opt == OPT_QUICK)
			quick = 1;
		else if (opt == OPT_JSON)
			json = 1;
		else if (opt == OPT_RUNS && (r = uint_parse(optarg, 1, CMP_MAX_RUNS, 0, &runs, e)) < 0)
			return err_wrap(e, "--runs");
	}
	if (optind < argc)
		return err_exit(e, EXIT_USAGE, "unexpected argument '%s'; %s", argv[optind], usage);
	if (!c.tpl)
		return err_exit(e, EXIT_USAGE, "missing --template; %s", usage);
	if (types && (r = parse_types(types, &want_ct, &want_vm, e)) < 0)
		return r;
	limits_init(&c.lim);
	c.lim.memory = (la.given & (1u << (OPT_MEMORY - OPT_MEMORY))) ? la.lim.memory : CMP_DEFAULT_MEMORY;
	c.lim.cpus = (la.given & (1u << (OPT_CPUS - OPT_MEMORY))) ? la.lim.cpus : 1000;
	c.lim.disk = (la.given & (1u << (OPT_DISK - OPT_MEMORY))) ? la.lim.disk : CMP_DEFAULT_DISK;
	if (c.lim.memory == LIMIT_NONE || c.lim.cpus == LIMIT_NONE || c.lim.disk == LIMIT_NONE)
		return err_exit(e, EXIT_USAGE, "compare needs finite --memory, --cpus and --disk (the same limits for both guests)");
	if (c.lim.disk < (64ull << 20))
		return err_exit(e, EXIT_USAGE, "--disk must be at least 64M (the file workloads write there)");
	c.sz = quick ? (struct cmp_sizes){ runs, 10000000, 16, 4, 20, 16, 50 }
		     : (struct cmp_sizes){ runs, 50000000, 64, 8, 200, 64, 500 };
	if ((r = cli_store(&c.s, e)) < 0)
		return r;
	c.progress = isatty(STDERR_FILENO);
	if ((r = cmp_prepare(&c, want_ct, want_vm, types != NULL, e)) < 0)
		return r;

	/* temporary names and the host's scratch dir */
	unsigned rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), 0) < 0)
		rnd = (unsigned)getpid() ^ (unsigned)time(NULL);
	char stem[32];
	snprintf(stem, sizeof(stem), "cmp-%08x", rnd);
	snprintf(c.host_dir, sizeof(c.host_dir), "%s/.compare-%s", c.s.root, stem);
	if (mkdir(c.host_dir, 0700) < 0)
		return err_sys(e, errno, "create %s", c.host_dir);

	struct sigaction sa = { .sa_handler = cmp_signal }, old[3];
	static const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
	cmp_interrupted = 0;
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);

	progress(&c, "host: workloads");
	snprintf(c.host_bin, sizeof(c.host_bin), "%s/berth-workload", c.host_dir);
	r = copy_self(c.host_bin, e);
	if (r == 0)
		r = run_workloads(&c, COL_HOST, NULL, e);
	if (r == 0)
		c.col[COL_HOST].measured = 1;
	struct err ignore = { 0 };
	rm_rf(c.host_dir, &ignore);
	for (int ci = COL_CT; ci < COL_COUNT && r == 0; ci++) {
		struct column *col = &c.col[ci];
		if (!col->wanted || col->missing[0])
			continue;
		struct guest_config g;
		int created = 0;
		guest_config_for(&c, stem, ci == COL_VM ? GUEST_VM : GUEST_CT, &g);
		if (ci == COL_VM && (r = vm_config_check(&g, e)) < 0)
			break;
		r = measure_guest(&c, (enum col)ci, &g, &created, e);
		if (r < 0)
			err_wrap(e, "%s", col_names[ci]);
		if (created) {
			progress(&c, "%s: destroy %s", col_names[ci], g.name);
			guest_discard(&c, &g);
		}
		if (r == 0)
			r = cmp_check_interrupt(e);
	}
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (r < 0)
		return r;
	if (json)
		print_json(&c);
	else
		print_table(&c);
	return 0;
}
