/* stats.c - `berth stats [NAME...] [--json] [--interval MS]`: live usage of
 * containers and VMs from one code path (sampling in stats_sample, the
 * engine-specific readers in ct/cgroup_stats.c and vm/vm_stats.c). */
#include "cli/cli.h"
#include "cli/stats.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ct/cgroup_stats.h"
#include "lib/size.h"
#include "vm/vm_stats.h"

enum { OPT_INTERVAL = 2000 };

/* Monotonic clock in microseconds. */
static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The host's cgroup layout, detected once per process. */
static int cg_host_once(const struct cg_host **out, struct err *e)
{
	static struct cg_host h;
	static int done;
	if (!done) {
		int r = cg_host_detect(&h, e);
		if (r < 0)
			return r;
		done = 1;
	}
	*out = &h;
	return 0;
}

/* Usage of a running container from its cgroup. */
static int sample_ct(const struct guest_config *c, const struct guest_runtime *rt,
		     struct guest_stats *st, struct err *e)
{
	const struct cg_host *h;
	struct cgroup cg;
	int r = cg_host_once(&h, e);
	if (r == 0)
		r = cgroup_open(h, c->name, &cg, e);
	if (r < 0)
		return r;
	if (cgroup_stats_read(&cg, rt->init_pid, st) < 0)
		st->running = 0;      /* gone between the two looks */
	return 0;
}

int stats_sample(const struct store *s, const char *name, struct guest_stats *st,
		 struct err *e)
{
	struct guest_config c;
	struct guest_runtime rt;
	int r = guest_load(s, name, &c, e);
	if (r < 0)
		return r;
	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "%s", c.name);
	st->type = c.type;
	st->memory_limit_bytes = c.lim.memory;
	if (c.type == GUEST_VM) {
		st->vcpus = c.lim.cpus == LIMIT_NONE ? 1 : c.lim.cpus / 1000;
		st->guest_memory_bytes = c.lim.memory;
	}
	guest_runtime(s, name, &rt);
	st->running = rt.running;
	st->sampled_usec = now_usec();
	if (!rt.running)
		return 0;
	long long up = (long long)time(NULL) - rt.started;
	st->uptime_seconds = rt.started > 0 && up > 0 ? (uint64_t)up : 0;
	if (c.type == GUEST_CT)
		return sample_ct(&c, &rt, st, e);
	struct err ve = { 0 };
	if ((r = vm_stats_read(s, name, rt.monitor_pid, st, &ve)) < 0) {
		guest_runtime(s, name, &rt);
		if (rt.running) {
			*e = ve;
			return r;
		}
		struct guest_stats stopped = { .type = c.type, .memory_limit_bytes = c.lim.memory,
					       .vcpus = st->vcpus,
					       .guest_memory_bytes = c.lim.memory,
					       .sampled_usec = st->sampled_usec };
		memcpy(stopped.name, st->name, sizeof(stopped.name));
		*st = stopped;
	}
	return 0;
}

int stats_measure(const struct store *s, char *const *names, size_t n, int interval_ms,
		  struct guest_stats *out, struct err *e)
{
	struct guest_stats *first = calloc(n ? n : 1, sizeof(*first));
	if (!first)
		return err_set(e, ENOMEM, "out of memory");
	int r = 0, any = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		r = stats_sample(s, names[i], &first[i], e);
		any |= first[i].running;
	}
	if (r == 0 && any && interval_ms > 0)
		usleep((useconds_t)interval_ms * 1000u);
	for (size_t i = 0; i < n && r == 0; i++) {
		if (!first[i].running) {
			out[i] = first[i];
			continue;
		}
		if ((r = stats_sample(s, names[i], &out[i], e)) == 0)
			stats_cpu_percent(&first[i], &out[i]);
	}
	free(first);
	return r;
}

/* A number member, or null for LIMIT_NONE. */
static json_object *json_limit(uint64_t v)
{
	return v == LIMIT_NONE ? NULL : json_object_new_uint64(v);
}

/* A double with a fixed number of decimals (json-c would print 17 digits). */
static json_object *json_fixed(double v, int decimals)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	return json_object_new_double_s(v, buf);
}

/* The stable JSON of one sample (README, "Live stats"). */
static json_object *stats_json(const struct guest_stats *st)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(st->name));
	json_object_object_add(o, "type", json_object_new_string(guest_type_name(st->type)));
	json_object_object_add(o, "state", json_object_new_string(st->running ? "running" : "stopped"));
	json_object_object_add(o, "cpu_seconds", json_fixed((double)st->cpu_usec / 1e6, 6));
	json_object_object_add(o, "cpu_percent", json_fixed(st->cpu_percent, 1));
	const struct { const char *k; uint64_t v; } nums[] = {
		{ "memory_bytes", st->memory_bytes }, { "swap_bytes", st->swap_bytes },
		{ "pids", st->pids }, { "block_read_bytes", st->block_read_bytes },
		{ "block_write_bytes", st->block_write_bytes }, { "net_rx_bytes", st->net_rx_bytes },
		{ "net_tx_bytes", st->net_tx_bytes }, { "oom_kills", st->oom_kills },
		{ "uptime_seconds", st->uptime_seconds },
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		json_object_object_add(o, nums[i].k, json_object_new_uint64(nums[i].v));
	json_object_object_add(o, "memory_limit_bytes", json_limit(st->memory_limit_bytes));
	if (st->type == GUEST_VM) {
		json_object_object_add(o, "vcpus", json_object_new_uint64(st->vcpus));
		json_object_object_add(o, "guest_memory_bytes", json_object_new_uint64(st->guest_memory_bytes));
		json_object_object_add(o, "exits", json_object_new_uint64(st->exits));
	}
	return o;
}

/* "A/B" of two human sizes; "-" for an unlimited B. */
static void pair(uint64_t a, uint64_t b, char *buf, size_t len)
{
	char x[16], y[16] = "-";
	stats_human(a, x, sizeof(x));
	if (b != LIMIT_NONE)
		stats_human(b, y, sizeof(y));
	snprintf(buf, len, "%s/%s", x, y);
}

void stats_print_table(FILE *f, const struct guest_stats *st, size_t n, int only_running)
{
	/* top shows running guests only: no STATE column there */
	fprintf(f, "%-20s %-4s %-*s%6s %-15s %6s %-15s %-15s %8s\n", "NAME", "TYPE",
		only_running ? 0 : 8, only_running ? "" : "STATE", "CPU%", "MEM/LIMIT", "PIDS",
		"BLK-R/W", "NET-RX/TX", "UPTIME");
	for (size_t i = 0; i < n; i++) {
		const struct guest_stats *g = &st[i];
		if (only_running && !g->running)
			continue;
		char mem[40], blk[40], net[40], up[24];
		pair(g->memory_bytes, g->memory_limit_bytes, mem, sizeof(mem));
		pair(g->block_read_bytes, g->block_write_bytes, blk, sizeof(blk));
		pair(g->net_rx_bytes, g->net_tx_bytes, net, sizeof(net));
		stats_uptime(g->uptime_seconds, up, sizeof(up));
		fprintf(f, "%-20s %-4s %-*s%6.1f %-15s %6llu %-15s %-15s %8s\n", g->name,
			guest_type_name(g->type), only_running ? 0 : 8,
			only_running ? "" : g->running ? "running" : "stopped", g->cpu_percent,
			mem, (unsigned long long)g->pids, blk, net, g->running ? up : "-");
	}
}

int stats_interval_arg(const char *arg, int *ms, struct err *e)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 50 || v > 60000)
		return err_exit(e, EXIT_USAGE, "--interval %s: give milliseconds from 50 to 60000", arg);
	*ms = (int)v;
	return 0;
}

int cmd_stats(int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ 0 },
	};
	int json = 0, interval = STATS_INTERVAL_MS, opt, r;
	while ((opt = cli_getopt(argc, argv, "", opts, e)) != -1) {
		if (opt < 0)
			return opt;
		if (opt == OPT_JSON)
			json = 1;
		else if ((r = stats_interval_arg(optarg, &interval, e)) < 0)
			return r;
	}
	struct store s;
	char **all = NULL, **names;
	size_t nall = 0, n = 0;
	if ((r = cli_store(&s, e)) < 0)
		return r;
	if (optind >= argc && (r = store_list(&s, "guests", &all, &nall, e)) < 0)
		return r;
	names = optind < argc ? argv + optind : all;
	for (size_t i = 0; i < (optind < argc ? (size_t)(argc - optind) : nall); i++) {
		/* named guests must exist (one clear error); of all guests, those
		 * whose config cannot be read (or that just went) are left out */
		struct guest_config c;
		struct err le = { 0 };
		if ((r = guest_load(&s, names[i], &c, &le)) == 0) {
			char *t = names[n];     /* a swap: `all` keeps every name to free */
			names[n++] = names[i];
			names[i] = t;
		} else if (optind < argc) {
			*e = le;
			names_free(all, nall);
			return r;
		}
	}
	struct guest_stats *st = calloc(n ? n : 1, sizeof(*st));
	if (!st)
		r = err_set(e, ENOMEM, "out of memory");
	else
		r = stats_measure(&s, names, n, interval, st, e);
	if (r == 0 && json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < n; i++)
			json_object_array_add(arr, stats_json(&st[i]));
		cli_print_json(arr);
		json_object_put(arr);
	} else if (r == 0) {
		stats_print_table(stdout, st, n, 0);
	}
	free(st);
	names_free(all, nall);
	return r;
}
