/* ledger.c - sum the guests' allocations and admit new ones under the policy. */
#include "lib/ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/size.h"

int ledger_lock(const struct store *s, struct err *e)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/ledger.lock", s->root);
	return lock_path(p, 0, 0, e);
}

void ledger_release(int lock_fd)
{
	if (lock_fd >= 0)
		close(lock_fd);
}

int ledger_policy_load(const struct store *s, struct policy *p, struct err *e)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/policy.json", s->root);
	policy_init(p);
	if (!path_exists(path))
		return 0;
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_file(path, 65536, &text, &len, e);
	if (r == 0)
		r = policy_from_json(text, len, p, e);
	if (r < 0)
		return err_wrap(e, "policy %s is damaged; fix it, or return to the defaults with 'berth host reset'",
				path);
	return 0;
}

int ledger_policy_save(const struct store *s, const struct policy *p, struct err *e)
{
	char path[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	int r = policy_to_json(p, &text, e);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/policy.json", s->root);
	return atomic_write(path, text, strlen(text), 0644, 1, e);
}

/* MemTotal from /proc/meminfo, in bytes. */
static int meminfo_total(uint64_t *out, struct err *e)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return err_sys(e, errno, "open /proc/meminfo");
	char line[256];
	unsigned long long kb = 0;
	int found = 0;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "MemTotal: %llu kB", &kb) == 1;
	fclose(f);
	if (!found || kb == 0 || kb > (UINT64_MAX >> 10))
		return err_set(e, EINVAL, "no MemTotal in /proc/meminfo");
	*out = (uint64_t)kb << 10;
	return 0;
}

int host_capacity_read(const char *root, struct host_capacity *h, struct err *e)
{
	memset(h, 0, sizeof(*h));
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	h->cpus = n > 0 ? (uint64_t)n * 1000 : 1000;
	int r = meminfo_total(&h->memory, e);
	if (r < 0)
		return r;
	struct statvfs sv;
	if (statvfs(root, &sv) < 0)
		return err_sys(e, errno, "statvfs %s", root);
	h->disk_total = (uint64_t)sv.f_blocks * sv.f_frsize;
	h->disk_free = (uint64_t)sv.f_bavail * sv.f_frsize;
	return 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t ledger_alloc(const struct guest_config *c, enum resource r)
{
	uint64_t v = r == RES_CPUS ? c->lim.cpus : r == RES_MEMORY ? c->lim.memory : c->lim.disk;
	return v == LIMIT_NONE ? 0 : v;
}

static void sum_add(struct ledger_sum *sum, const struct guest_config *c)
{
	int t = c->type == GUEST_VM ? GUEST_VM : GUEST_CT;
	sum->guests[t]++;
	for (int r = 0; r < RES_COUNT; r++) {
		uint64_t v = ledger_alloc(c, (enum resource)r);
		if (!v)
			sum->unlimited[t][r]++;
		sum->alloc[t][r] = add_sat(sum->alloc[t][r], v);
	}
}

int ledger_build(const struct store *s, const char *skip_name, struct ledger *l, struct err *e)
{
	memset(l, 0, sizeof(*l));
	int r = ledger_policy_load(s, &l->pol, e);
	if (r == 0)
		r = host_capacity_read(s->root, &l->host, e);
	char **names;
	size_t n;
	if (r < 0 || (r = store_list(s, "guests", &names, &n, e)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		char p[PATH_MAX];
		struct stat st;
		store_guest_path(s, names[i], "disk.img", p, sizeof(p));
		if (stat(p, &st) == 0)
			l->host.disk_guests = add_sat(l->host.disk_guests, (uint64_t)st.st_blocks * 512);
		if (skip_name && !strcmp(names[i], skip_name))
			continue;
		store_guest_path(s, names[i], "config.json", p, sizeof(p));
		if (!path_exists(p))
			continue; /* being created or removed */
		struct guest_config c;
		struct err ignore = { 0 };
		if (guest_load(s, names[i], &c, &ignore) < 0) {
			if (!l->unreadable++)
				snprintf(l->unreadable_name, sizeof(l->unreadable_name), "%s", names[i]);
			continue;
		}
		sum_add(&l->defined, &c);
		struct guest_runtime rt;
		guest_runtime(s, names[i], &rt);
		if (rt.running)
			sum_add(&l->running, &c);
	}
	names_free(names, n);
	return 0;
}

uint64_t ledger_capacity(const struct ledger *l, enum resource r)
{
	if (r == RES_CPUS)
		return l->host.cpus;
	if (r == RES_MEMORY)
		return l->host.memory;
	return add_sat(l->host.disk_free, l->host.disk_guests);
}

uint64_t ledger_limit(const struct ledger *l, enum resource r)
{
	uint64_t cap = ledger_capacity(l, r);
	uint64_t res = policy_reserve_of(&l->pol, r, cap);
	return res >= cap ? 0 : cap - res;
}

uint64_t ledger_share(const struct policy *p, enum guest_type t, enum resource r, uint64_t amount)
{
	uint32_t ratio = p->ratio[t == GUEST_VM ? GUEST_VM : GUEST_CT][r];
	if (ratio == 0)
		ratio = 1000;
	unsigned __int128 v = ((unsigned __int128)amount * 1000 + ratio - 1) / ratio;
	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

uint64_t ledger_committed(const struct ledger *l, const struct ledger_sum *sum, enum resource r)
{
	return add_sat(ledger_share(&l->pol, GUEST_CT, r, sum->alloc[GUEST_CT][r]),
		       ledger_share(&l->pol, GUEST_VM, r, sum->alloc[GUEST_VM][r]));
}

void ledger_format(enum resource r, uint64_t v, char *buf, size_t len)
{
	if (r == RES_CPUS) {
		cpus_format(v, buf, len);
		return;
	}
	static const char units[] = "KMGTPE";
	if (v < 1024) {
		snprintf(buf, len, "%llu", (unsigned long long)v);
		return;
	}
	double x = (double)v;
	int u = -1;
	while (x >= 1024 && u < 5) {
		x /= 1024;
		u++;
	}
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%.1f", x);
	size_t n = strlen(tmp);
	if (n > 2 && !strcmp(tmp + n - 2, ".0"))
		tmp[n - 2] = '\0';
	snprintf(buf, len, "%s%c", tmp, units[u]);
}

/* sum(alloc_t / ratio_t) + amount / ratio <= limit, without rounding:
 * ct * r_vm + vm * r_ct <= limit * r_ct * r_vm / 1000 (all in 128 bits). */
static int fits_exactly(const struct ledger *l, const struct guest_config *c, enum resource r,
			const struct ledger_sum *sum, uint64_t amount, uint64_t limit)
{
	unsigned __int128 t[2] = { 0, 0 };
	if (sum) {
		t[GUEST_CT] = sum->alloc[GUEST_CT][r];
		t[GUEST_VM] = sum->alloc[GUEST_VM][r];
	}
	t[c->type == GUEST_VM] += amount;
	unsigned __int128 rc = l->pol.ratio[GUEST_CT][r] ? l->pol.ratio[GUEST_CT][r] : 1000;
	unsigned __int128 rv = l->pol.ratio[GUEST_VM][r] ? l->pol.ratio[GUEST_VM][r] : 1000;
	/* t < 2^65, ratios < 2^17, 1000 < 2^10: every product < 2^92 */
	return (t[GUEST_CT] * rv + t[GUEST_VM] * rc) * 1000 <= (unsigned __int128)limit * rc * rv;
}

int ledger_check(const struct ledger *l, const struct guest_config *c, enum resource r,
		 const struct ledger_sum *sum, const char *sum_word, struct err *e)
{
	uint64_t amount = ledger_alloc(c, r);
	if (!amount)
		return 0;
	uint64_t share = ledger_share(&l->pol, c->type, r, amount);
	uint64_t committed = sum ? ledger_committed(l, sum, r) : 0;
	uint64_t limit = ledger_limit(l, r);
	uint64_t total = add_sat(committed, share);
	if (fits_exactly(l, c, r, sum, amount, limit))
		return 0;
	const char *res = resource_name(r), *type = guest_type_name(c->type);
	char key[40], ratio[16], asked[24], comm[24], tot[24], lim[24], cap[24], rsv[24], rsv_key[24];
	char part[96] = "", host[112];
	snprintf(key, sizeof(key), "%s.%s.overcommit", type, res);
	ratio_format(l->pol.ratio[c->type == GUEST_VM][r], ratio, sizeof(ratio));
	ledger_format(r, amount, asked, sizeof(asked));
	ledger_format(r, committed, comm, sizeof(comm));
	ledger_format(r, total, tot, sizeof(tot));
	ledger_format(r, limit, lim, sizeof(lim));
	ledger_format(r, ledger_capacity(l, r), cap, sizeof(cap));
	ledger_format(r, policy_reserve_of(&l->pol, r, ledger_capacity(l, r)), rsv, sizeof(rsv));
	policy_get(&l->pol, r == RES_CPUS ? "reserve.cpus" : r == RES_MEMORY ? "reserve.memory"
									  : "reserve.disk",
		   rsv_key, sizeof(rsv_key));
	if (sum)
		snprintf(part, sizeof(part), "%s committed to %s guests + ", comm, sum_word);
	if (r == RES_DISK) {
		char fr[24], gi[24];
		ledger_format(r, l->host.disk_free, fr, sizeof(fr));
		ledger_format(r, l->host.disk_guests, gi, sizeof(gi));
		snprintf(host, sizeof(host), "free %s + guest images %s - reserve.disk %s", fr, gi, rsv);
	} else {
		snprintf(host, sizeof(host), "host %s - reserve.%s %s", cap, res, rsv);
	}
	if (strchr(rsv_key, '%'))
		snprintf(host + strlen(host), sizeof(host) - strlen(host), " (%s)", rsv_key);
	return err_exit(e, EXIT_POLICY,
			"%s %s for %s '%s' exceeds the limit: %s%s / %s=%s = %s > %s (%s); lower --%s%s or raise %s",
			res, asked, type, c->name, part, asked, key, ratio, tot, lim, host, res,
			!sum ? "" : r == RES_DISK ? ", destroy a guest" : ", stop a guest", key);
}

/* Is guest c running now? */
static int is_running(const struct store *s, const char *name)
{
	struct guest_runtime rt;
	guest_runtime(s, name, &rt);
	return rt.running;
}

int ledger_admit(const struct store *s, const struct guest_config *c, enum ledger_op op,
		 int *lock_fd, struct err *e)
{
	if (lock_fd)
		*lock_fd = -1;
	int lock = ledger_lock(s, e);
	if (lock < 0)
		return lock;
	struct ledger *l = malloc(sizeof(*l));
	int r = l ? ledger_build(s, c->name, l, e) : err_set(e, ENOMEM, "out of memory");
	struct guest_config old;
	int have_old = 0, running = 0;
	if (r == 0 && (op == LEDGER_SET || op == LEDGER_VALIDATE)) {
		struct err ignore = { 0 };
		running = is_running(s, c->name);
		have_old = op == LEDGER_SET && guest_load(s, c->name, &old, &ignore) == 0 &&
			   old.type == c->type;
	}
	for (int i = 0; r == 0 && i < RES_COUNT; i++) {
		enum resource res = (enum resource)i;
		if (have_old && ledger_alloc(c, res) <= ledger_alloc(&old, res))
			continue; /* only what grows is checked */
		if (res == RES_DISK) {
			if (op != LEDGER_START)
				r = ledger_check(l, c, res, &l->defined, "defined", e);
			continue;
		}
		if (op != LEDGER_START)
			r = ledger_check(l, c, res, NULL, NULL, e);
		if (r == 0 && (op == LEDGER_START || op == LEDGER_VALIDATE || running))
			r = ledger_check(l, c, res, &l->running, "running", e);
	}
	free(l);
	if (r == 0 && lock_fd)
		*lock_fd = lock;
	else
		close(lock);
	return r;
}
