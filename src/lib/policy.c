/* policy.c - overcommit ratios and host reserves: parse, format, JSON. */
#include "lib/policy.h"
#include "lib/json_strict.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/size.h"

#define POLICY_MAX_BYTES 65536

const char *const policy_keys[] = {
	"ct.cpus.overcommit", "ct.memory.overcommit", "ct.disk.overcommit",
	"vm.cpus.overcommit", "vm.memory.overcommit", "vm.disk.overcommit",
	"reserve.cpus", "reserve.memory", "reserve.disk", NULL,
};

static const char *const res_names[RES_COUNT] = { "cpus", "memory", "disk" };

const char *resource_name(enum resource r)
{
	return (unsigned)r < RES_COUNT ? res_names[r] : "?";
}

void policy_init(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->ratio[GUEST_CT][RES_CPUS] = 4000;
	p->ratio[GUEST_VM][RES_CPUS] = 4000;
	p->ratio[GUEST_CT][RES_MEMORY] = 1500;
	p->ratio[GUEST_VM][RES_MEMORY] = 1000;
	p->ratio[GUEST_CT][RES_DISK] = 1000;
	p->ratio[GUEST_VM][RES_DISK] = 1000;
	p->reserve[RES_CPUS] = (struct policy_reserve){ 0, 0 };
	p->reserve[RES_MEMORY] = (struct policy_reserve){ 512ull << 20, 0 };
	p->reserve[RES_DISK] = (struct policy_reserve){ 5, 1 }; /* 5% */
}

void ratio_format(uint32_t milli, char *buf, size_t len)
{
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%u.%03u", milli / 1000, milli % 1000);
	size_t n = strlen(tmp);
	while (tmp[n - 1] == '0')
		tmp[--n] = '\0';
	if (tmp[n - 1] == '.')
		tmp[n + 1] = '\0', tmp[n] = '0'; /* "4." -> "4.0" */
	snprintf(buf, len, "%s", tmp);
}

/* Split "ct.memory.overcommit" into type (0, 1, or 2 for "*") and resource;
 * "reserve.memory" gives type -1. Returns -1 for an unknown key. */
static int key_parse(const char *key, int *type, enum resource *res)
{
	const char *rest;
	if (!strncmp(key, "reserve.", 8)) {
		*type = -1;
		rest = key + 8;
	} else if (!strncmp(key, "ct.", 3) || !strncmp(key, "vm.", 3) || !strncmp(key, "*.", 2)) {
		*type = key[0] == 'c' ? GUEST_CT : key[0] == 'v' ? GUEST_VM : 2;
		rest = key + (key[0] == '*' ? 2 : 3);
	} else {
		return -1;
	}
	for (int r = 0; r < RES_COUNT; r++) {
		size_t n = strlen(res_names[r]);
		if (strncmp(rest, res_names[r], n) != 0)
			continue;
		if (*type < 0 ? rest[n] != '\0' : strcmp(rest + n, ".overcommit") != 0)
			return -1;
		*res = (enum resource)r;
		return 0;
	}
	return -1;
}

static int bad_key(const char *key, struct err *e)
{
	return err_exit(e, EXIT_USAGE, "unknown policy key '%.64s'; keys are {ct,vm,*}.{cpus,memory,disk}.overcommit and reserve.{cpus,memory,disk}",
			key);
}

/* A ratio "1.5" (at most 3 decimals) in [0.1, 100], in thousandths. */
static int ratio_parse(const char *key, const char *v, uint32_t *out, struct err *e)
{
	uint64_t m;
	struct err ignore = { 0 };
	if (!strcmp(v, "unlimited") || cpus_parse(v, &m, &ignore) < 0 || m < POLICY_RATIO_MIN ||
	    m > POLICY_RATIO_MAX)
		return err_exit(e, EXIT_USAGE, "%s=%.64s: give a ratio from 0.1 to 100 (e.g. 1.5)", key, v);
	*out = (uint32_t)m;
	return 0;
}

/* A reserve: "N%" (0..99) or a CPU count / size. */
static int reserve_parse(const char *key, enum resource res, const char *v,
			 struct policy_reserve *out, struct err *e)
{
	size_t n = strlen(v);
	struct err ignore = { 0 };
	if (n > 1 && v[n - 1] == '%') {
		char num[8];
		uint64_t pct;
		if (n - 1 >= sizeof(num))
			goto bad;
		memcpy(num, v, n - 1);
		num[n - 1] = '\0';
		if (uint_parse(num, 0, 99, 0, &pct, &ignore) < 0)
			goto bad;
		*out = (struct policy_reserve){ pct, 1 };
		return 0;
	}
	uint64_t x;
	if (!strcmp(v, "unlimited"))
		goto bad;
	if (res == RES_CPUS) {
		if (!strcmp(v, "0"))
			x = 0;
		else if (cpus_parse(v, &x, &ignore) < 0)
			goto bad;
	} else if (size_parse(v, &x, &ignore) < 0) {
		goto bad;
	}
	*out = (struct policy_reserve){ x, 0 };
	return 0;
bad:
	return err_exit(e, EXIT_USAGE, "%s=%.64s: give %s or a percentage of the host (e.g. 10%%)", key, v,
			res == RES_CPUS ? "a CPU count (e.g. 0.5)" : "a size (e.g. 512M)");
}

int policy_set_kv(struct policy *p, const char *key, const char *value, struct err *e)
{
	int type;
	enum resource res;
	if (key_parse(key, &type, &res) < 0)
		return bad_key(key, e);
	if (type < 0)
		return reserve_parse(key, res, value, &p->reserve[res], e);
	uint32_t m;
	int r = ratio_parse(key, value, &m, e);
	if (r < 0)
		return r;
	if (type == 2 || type == GUEST_CT)
		p->ratio[GUEST_CT][res] = m;
	if (type == 2 || type == GUEST_VM)
		p->ratio[GUEST_VM][res] = m;
	return 0;
}

int policy_set(struct policy *p, const char *kv, struct err *e)
{
	const char *eq = strchr(kv, '=');
	char key[64];
	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(key))
		return err_exit(e, EXIT_USAGE, "'%.64s': give KEY=VALUE, e.g. ct.memory.overcommit=1.5", kv);
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	return policy_set_kv(p, key, eq + 1, e);
}

int policy_get(const struct policy *p, const char *key, char *buf, size_t len)
{
	int type;
	enum resource res;
	if (key_parse(key, &type, &res) < 0 || type == 2)
		return -EINVAL;
	if (type >= 0) {
		ratio_format(p->ratio[type][res], buf, len);
		return 0;
	}
	const struct policy_reserve *rv = &p->reserve[res];
	if (rv->percent)
		snprintf(buf, len, "%llu%%", (unsigned long long)rv->value);
	else if (res == RES_CPUS)
		cpus_format(rv->value, buf, len);
	else
		size_format(rv->value, buf, len);
	if (res == RES_CPUS && !rv->percent && rv->value == 0)
		snprintf(buf, len, "0");
	return 0;
}

uint64_t policy_reserve_of(const struct policy *p, enum resource r, uint64_t capacity)
{
	const struct policy_reserve *rv = &p->reserve[r];
	if (rv->percent)
		return (uint64_t)((unsigned __int128)capacity * rv->value / 100);
	return rv->value;
}

int policy_to_json(const struct policy *p, char **out, struct err *e)
{
	json_object *o = json_object_new_object();
	if (!o)
		return err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; policy_keys[i]; i++) {
		char v[32];
		policy_get(p, policy_keys[i], v, sizeof(v));
		json_object_object_add(o, policy_keys[i], json_object_new_string(v));
	}
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	size_t n = strlen(s);
	*out = malloc(n + 2);
	if (*out) {
		memcpy(*out, s, n);
		(*out)[n] = '\n';
		(*out)[n + 1] = '\0';
	}
	json_object_put(o);
	return *out ? 0 : err_set(e, ENOMEM, "out of memory");
}

int policy_from_json(const char *text, size_t len, struct policy *p, struct err *e)
{
	struct policy np;
	policy_init(&np);
	if (len > POLICY_MAX_BYTES)
		return err_set(e, EFBIG, "policy is larger than %d bytes", POLICY_MAX_BYTES);
	json_object *o;
	int r = json_parse_strict(text, len, 4, &o, e);
	if (r < 0)
		return r;
	if (!json_object_is_type(o, json_type_object))
		r = err_set(e, EINVAL, "not a JSON object");
	if (r == 0) {
		json_object_object_foreach(o, k, v) {
			if (!json_object_is_type(v, json_type_string)) {
				r = err_set(e, EINVAL, "%.64s: value is not a string", k);
				break;
			}
			const char *s = json_object_get_string(v);
			if (strlen(s) != (size_t)json_object_get_string_len(v)) {
				r = err_set(e, EINVAL, "%.64s: value holds a NUL byte", k);
				break;
			}
			struct err ke = { 0 };
			if (policy_set_kv(&np, k, s, &ke) < 0) {
				r = err_set(e, EINVAL, "%s", ke.msg);
				break;
			}
		}
	}
	json_object_put(o);
	if (r == 0)
		*p = np;
	return r;
}
