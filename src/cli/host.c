/* host.c - the host view: `berth host` (ledger and policy), `host set`,
 * `host get`, `host reset`, `berth validate NAME` and `berth autostart`. */
#include "cli/cli.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ct/cgroup.h"
#include "lib/fsutil.h"
#include "lib/ledger.h"
#include "lib/policy.h"
#include "lib/size.h"
#include "vm/guest.h"

static const char *const json_unit[RES_COUNT] = { "cpus_milli", "memory_bytes", "disk_bytes" };

/* Headroom in host units (limit - committed, or 0). */
static uint64_t headroom(const struct ledger *l, enum resource r)
{
	uint64_t lim = ledger_limit(l, r);
	uint64_t com = ledger_committed(l, r == RES_DISK ? &l->defined : &l->running, r);
	return com >= lim ? 0 : lim - com;
}

/* What one more guest of type t could still be given of r. */
static uint64_t headroom_as(const struct ledger *l, enum guest_type t, enum resource r)
{
	unsigned __int128 v = (unsigned __int128)headroom(l, r) * l->pol.ratio[t][r] / 1000;
	return v > UINT64_MAX - 1 ? UINT64_MAX - 1 : (uint64_t)v;
}

static json_object *sum_json(const struct ledger_sum *sum)
{
	json_object *o = json_object_new_object();
	for (int t = 0; t < 2; t++) {
		json_object *g = json_object_new_object(), *u = json_object_new_object();
		json_object_object_add(g, "guests", json_object_new_int(sum->guests[t]));
		for (int r = 0; r < RES_COUNT; r++) {
			json_object_object_add(g, json_unit[r], json_object_new_uint64(sum->alloc[t][r]));
			json_object_object_add(u, resource_name(r), json_object_new_int(sum->unlimited[t][r]));
		}
		json_object_object_add(g, "unlimited", u);
		json_object_object_add(o, guest_type_name(t), g);
	}
	return o;
}

static json_object *per_res_json(const struct ledger *l, uint64_t (*fn)(const struct ledger *, enum resource))
{
	json_object *o = json_object_new_object();
	for (int r = 0; r < RES_COUNT; r++)
		json_object_object_add(o, json_unit[r], json_object_new_uint64(fn(l, (enum resource)r)));
	return o;
}

static uint64_t committed_of(const struct ledger *l, enum resource r)
{
	return ledger_committed(l, r == RES_DISK ? &l->defined : &l->running, r);
}

static uint64_t reserve_of(const struct ledger *l, enum resource r)
{
	return policy_reserve_of(&l->pol, r, ledger_capacity(l, r));
}

static json_object *host_json(const struct store *s, const struct ledger *l)
{
	json_object *o = json_object_new_object(), *h = json_object_new_object();
	json_object_object_add(h, "cpus", json_object_new_uint64(l->host.cpus / 1000));
	json_object_object_add(h, "memory_bytes", json_object_new_uint64(l->host.memory));
	json_object_object_add(h, "disk_total_bytes", json_object_new_uint64(l->host.disk_total));
	json_object_object_add(h, "disk_free_bytes", json_object_new_uint64(l->host.disk_free));
	json_object_object_add(h, "disk_guest_images_bytes", json_object_new_uint64(l->host.disk_guests));
	json_object_object_add(h, "root", json_object_new_string(s->root));
	json_object_object_add(o, "host", h);
	json_object_object_add(o, "defined", sum_json(&l->defined));
	json_object_object_add(o, "running", sum_json(&l->running));
	json_object *p = json_object_new_object();
	for (size_t i = 0; policy_keys[i]; i++) {
		char v[32];
		policy_get(&l->pol, policy_keys[i], v, sizeof(v));
		json_object_object_add(p, policy_keys[i], json_object_new_string(v));
	}
	json_object_object_add(o, "policy", p);
	json_object_object_add(o, "capacity", per_res_json(l, ledger_capacity));
	json_object_object_add(o, "reserve", per_res_json(l, reserve_of));
	json_object_object_add(o, "limit", per_res_json(l, ledger_limit));
	json_object_object_add(o, "committed", per_res_json(l, committed_of));
	json_object *hr = per_res_json(l, headroom);
	for (int t = 0; t < 2; t++) {
		json_object *g = json_object_new_object();
		for (int r = 0; r < RES_COUNT; r++)
			json_object_object_add(g, json_unit[r],
					       json_object_new_uint64(headroom_as(l, t, (enum resource)r)));
		json_object_object_add(hr, guest_type_name(t), g);
	}
	json_object_object_add(o, "headroom", hr);
	json_object_object_add(o, "unreadable_guests", json_object_new_int(l->unreadable));
	return o;
}

/* One row of the table: a label and a value per resource. */
static void row(const char *label, const uint64_t v[RES_COUNT], int disk_dash)
{
	char b[RES_COUNT][24];
	for (int r = 0; r < RES_COUNT; r++)
		ledger_format((enum resource)r, v[r], b[r], sizeof(b[r]));
	printf("%-18s %-10s %-10s %s\n", label, b[0], b[1], disk_dash ? "-" : b[2]);
}

static void host_print(const struct store *s, const struct ledger *l)
{
	char mem[24], fr[24], gi[24], lbl[32];
	uint64_t v[RES_COUNT];
	ledger_format(RES_MEMORY, l->host.memory, mem, sizeof(mem));
	ledger_format(RES_DISK, l->host.disk_free, fr, sizeof(fr));
	ledger_format(RES_DISK, l->host.disk_guests, gi, sizeof(gi));
	printf("host: %llu cpus, memory %s, disk %s free under %s (+ %s in guest images)\n\n",
	       (unsigned long long)(l->host.cpus / 1000), mem, fr, s->root, gi);
	printf("%-18s %-10s %-10s %s\n", "", "CPUS", "MEMORY", "DISK");
	const struct { const char *w; const struct ledger_sum *sum; } sums[] = {
		{ "defined", &l->defined }, { "running", &l->running },
	};
	for (size_t i = 0; i < 2; i++)
		for (int t = 0; t < 2; t++) {
			snprintf(lbl, sizeof(lbl), "%s %s (%u)", sums[i].w, guest_type_name(t),
				 sums[i].sum->guests[t]);
			row(lbl, sums[i].sum->alloc[t], 0);
		}
	for (int t = 0; t < 2; t++) {
		char b[RES_COUNT][16];
		for (int r = 0; r < RES_COUNT; r++)
			ratio_format(l->pol.ratio[t][r], b[r], sizeof(b[r]));
		snprintf(lbl, sizeof(lbl), "overcommit %s", guest_type_name(t));
		printf("%-18s x%-9s x%-9s x%s\n", lbl, b[0], b[1], b[2]);
	}
	for (int r = 0; r < RES_COUNT; r++)
		v[r] = reserve_of(l, (enum resource)r);
	row("reserve", v, 0);
	for (int r = 0; r < RES_COUNT; r++)
		v[r] = ledger_limit(l, (enum resource)r);
	row("limit", v, 0);
	for (int r = 0; r < RES_COUNT; r++)
		v[r] = committed_of(l, (enum resource)r);
	row("committed", v, 0);
	for (int r = 0; r < RES_COUNT; r++)
		v[r] = headroom(l, (enum resource)r);
	row("headroom", v, 0);
	for (int t = 0; t < 2; t++) {
		for (int r = 0; r < RES_COUNT; r++)
			v[r] = headroom_as(l, t, (enum resource)r);
		snprintf(lbl, sizeof(lbl), "  one more %s", guest_type_name(t));
		row(lbl, v, 0);
	}
	printf("\ncommitted: cpus and memory of running guests, disk of defined guests, each\n"
	       "divided by its type's overcommit ratio; limit = capacity - reserve\n");
	unsigned un = l->defined.unlimited[GUEST_CT][RES_MEMORY];
	if (un)
		printf("%u container%s without a memory limit count 0 (they share what is left)\n", un,
		       un == 1 ? "" : "s");
	if (l->unreadable)
		fprintf(stderr, "berth host: %u guest config%s could not be read (first: '%s') and count 0; see 'berth list'\n",
			l->unreadable, l->unreadable == 1 ? "" : "s", l->unreadable_name);
}

/* host set KEY=VALUE...: all or nothing, under the ledger lock. */
static int host_set(const struct store *s, int argc, char **argv, struct err *e)
{
	if (argc < 1)
		return err_exit(e, EXIT_USAGE, "usage: berth host set KEY=VALUE [KEY=VALUE...]");
	int lock = ledger_lock(s, e);
	if (lock < 0)
		return lock;
	struct policy p;
	int r = ledger_policy_load(s, &p, e);
	for (int i = 0; r == 0 && i < argc; i++)
		r = policy_set(&p, argv[i], e);
	if (r == 0)
		r = ledger_policy_save(s, &p, e);
	close(lock);
	for (size_t i = 0; r == 0 && policy_keys[i]; i++) {
		char v[32];
		policy_get(&p, policy_keys[i], v, sizeof(v));
		printf("%s=%s\n", policy_keys[i], v);
	}
	return r;
}

static int host_get(const struct store *s, int argc, char **argv, struct err *e)
{
	struct policy p;
	int r = ledger_policy_load(s, &p, e);
	if (r < 0)
		return r;
	char v[32];
	for (int i = 0; i < argc; i++)
		if (policy_get(&p, argv[i], v, sizeof(v)) < 0)
			return err_exit(e, EXIT_USAGE, "unknown policy key '%.64s'; see 'berth host get'", argv[i]);
	for (size_t i = 0; policy_keys[i]; i++) {
		int want = argc == 0;
		for (int j = 0; j < argc; j++)
			want |= !strcmp(argv[j], policy_keys[i]);
		if (!want)
			continue;
		policy_get(&p, policy_keys[i], v, sizeof(v));
		printf("%s=%s\n", policy_keys[i], v);
	}
	return 0;
}

static int host_reset(const struct store *s, struct err *e)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/policy.json", s->root);
	int lock = ledger_lock(s, e);
	if (lock < 0)
		return lock;
	int r = unlink(path) < 0 && errno != ENOENT ? err_sys(e, errno, "remove %s", path) : 0;
	close(lock);
	if (r == 0)
		printf("policy back to the defaults (see 'berth host get')\n");
	return r;
}

int cmd_host(int argc, char **argv, struct err *e)
{
	struct store s;
	int r;
	if (argc >= 2 && (!strcmp(argv[1], "set") || !strcmp(argv[1], "get") || !strcmp(argv[1], "reset"))) {
		if (!strcmp(argv[1], "reset") && argc > 2)
			return err_exit(e, EXIT_USAGE, "usage: berth host reset");
		if ((r = cli_store(&s, e)) < 0)
			return r;
		if (!strcmp(argv[1], "set"))
			return host_set(&s, argc - 2, argv + 2, e);
		if (!strcmp(argv[1], "get"))
			return host_get(&s, argc - 2, argv + 2, e);
		return host_reset(&s, e);
	}
	int json;
	if ((r = cli_json_flag(argc, argv, &json, e)) < 0)
		return r;
	if (optind < argc)
		return err_exit(e, EXIT_USAGE, "unexpected argument '%s'; usage: berth host [--json] | set KEY=VALUE... | get [KEY...] | reset",
				argv[optind]);
	if ((r = cli_store(&s, e)) < 0)
		return r;
	struct ledger *l = malloc(sizeof(*l));
	if (!l)
		return err_set(e, ENOMEM, "out of memory");
	if ((r = ledger_build(&s, NULL, l, e)) == 0) {
		if (json) {
			json_object *o = host_json(&s, l);
			cli_print_json(o);
			json_object_put(o);
			if (l->unreadable)
				fprintf(stderr, "berth host: %u guest config%s could not be read (first: '%s') and count 0\n",
					l->unreadable, l->unreadable == 1 ? "" : "s", l->unreadable_name);
		} else {
			host_print(&s, l);
		}
	}
	free(l);
	return r;
}

int cmd_validate(int argc, char **argv, struct err *e)
{
	const char *name;
	struct store s;
	struct guest_config c;
	int r;
	if ((r = cli_name_only(argc, argv, "validate NAME", &name, e)) < 0 ||
	    (r = cli_store(&s, e)) < 0 || (r = guest_load(&s, name, &c, e)) < 0)
		return r;
	/* what create checks of the host, then the policy */
	if (c.type == GUEST_VM) {
		r = vm_config_check(&c, e);
	} else {
		struct cg_host h;
		if ((r = cg_host_detect(&h, e)) == 0)
			r = cgroup_check_limits(&h, &c.lim, e);
	}
	if (r < 0)
		return err_wrap(e, "guest '%s'", name);
	if ((r = ledger_admit(&s, &c, LEDGER_VALIDATE, NULL, e)) < 0)
		return r;
	struct guest_runtime rt;
	guest_runtime(&s, name, &rt);
	printf("OK: %s '%s' fits the host and the policy (%s)\n", guest_type_name(c.type), name,
	       rt.running ? "running, with the other running guests"
			  : "it could start now beside the running guests");
	return 0;
}

int cmd_autostart(int argc, char **argv, struct err *e)
{
	int r;
	if (argc > 1)
		return err_exit(e, EXIT_USAGE, "unexpected argument '%s'; usage: berth autostart", argv[1]);
	struct store s;
	char **names;
	size_t n;
	if ((r = cli_store(&s, e)) < 0 || (r = store_list(&s, "guests", &names, &n, e)) < 0)
		return r;
	unsigned started = 0, failed = 0;
	char first[64] = "";
	for (size_t i = 0; i < n; i++) { /* in name order */
		struct guest_config c;
		struct guest_runtime rt;
		struct err ge = { 0 };
		if (guest_load(&s, names[i], &c, &ge) < 0) {
			char cfg[PATH_MAX];
			store_guest_path(&s, names[i], "config.json", cfg, sizeof(cfg));
			if (!path_exists(cfg))
				continue; /* being created or removed */
			fprintf(stderr, "berth autostart: %s\n", ge.msg);
		} else if (!c.onboot || c.ephemeral) {
			continue;
		} else if (guest_runtime(&s, names[i], &rt), rt.running) {
			printf("%s: already running\n", names[i]);
			continue;
		} else if (guest_start(&s, names[i], &ge) == 0) {
			printf("%s: started\n", names[i]);
			started++;
			continue;
		} else {
			fprintf(stderr, "berth autostart: %s: %s\n", names[i], ge.msg);
		}
		if (!failed++)
			snprintf(first, sizeof(first), "%s", names[i]);
	}
	names_free(names, n);
	if (failed)
		return err_exit(e, 1, "%u guest%s failed to start (first: '%s'), %u started", failed,
				failed == 1 ? "" : "s", first, started);
	return 0;
}
