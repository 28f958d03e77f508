/* config.c - guest config <-> JSON, with validation of every field. */
#include "lib/config.h"
#include "lib/json_strict.h"

#include <json-c/json.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "lib/name.h"

void limits_init(struct limits *l)
{
	l->memory = l->swap = l->cpus = l->cpu_weight = l->pids = l->disk = LIMIT_NONE;
}

void config_init(struct guest_config *c)
{
	memset(c, 0, sizeof(*c));
	limits_init(&c->lim);
	c->id_count = IDRANGE_SIZE;
}

const char *guest_type_name(enum guest_type t)
{
	return t == GUEST_VM ? "vm" : "ct";
}

const char *init_kind_name(enum init_kind k)
{
	switch (k) {
	case INIT_BUSYBOX: return "busybox";
	case INIT_SYSTEMD: return "systemd";
	default: return "other";
	}
}

const char *disk_ids_name(enum disk_ids d)
{
	return d == DISK_IDS_SHIFTED ? "shifted" : "plain";
}

static void put_limit(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, v == LIMIT_NONE ? NULL : json_object_new_uint64(v));
}

int config_to_json(const struct guest_config *c, char **out, struct err *e)
{
	json_object *o = json_object_new_object();
	json_object *l = json_object_new_object();
	if (!o || !l)
		return err_set(e, ENOMEM, "out of memory");
	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "type", json_object_new_string(guest_type_name(c->type)));
	json_object_object_add(o, "template", json_object_new_string(c->template_name));
	json_object_object_add(o, "hostname", json_object_new_string(c->hostname));
	put_limit(l, "memory", c->lim.memory);
	put_limit(l, "swap", c->lim.swap);
	put_limit(l, "cpus_milli", c->lim.cpus);
	put_limit(l, "cpu_weight", c->lim.cpu_weight);
	put_limit(l, "pids", c->lim.pids);
	put_limit(l, "disk", c->lim.disk);
	json_object_object_add(o, "limits", l);
	json_object *ids = json_object_new_object();
	json_object_object_add(ids, "base", json_object_new_uint64(c->id_base));
	json_object_object_add(ids, "count", json_object_new_uint64(c->id_count));
	json_object_object_add(o, "idmap", ids);
	json_object_object_add(o, "init", json_object_new_string(init_kind_name(c->init)));
	json_object_object_add(o, "ephemeral", json_object_new_boolean(c->ephemeral));
	json_object_object_add(o, "onboot", json_object_new_boolean(c->onboot));
	json_object_object_add(o, "created", json_object_new_int64(c->created));
	if (c->lim.disk != LIMIT_NONE)
		json_object_object_add(o, "disk_ids", json_object_new_string(disk_ids_name(c->disk_ids)));
	if (c->type == GUEST_VM) {
		json_object *vm = json_object_new_object();
		json_object_object_add(vm, "kernel", json_object_new_string(c->vm.kernel));
		json_object_object_add(vm, "cmdline", json_object_new_string(c->vm.cmdline));
		json_object_object_add(vm, "mac", json_object_new_string(c->vm.mac));
		json_object_object_add(o, "vm", vm);
	}
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	*out = strdup(s);
	json_object_put(o);
	if (!*out)
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

static int get_str(json_object *o, const char *key, char *dst, size_t cap, int required,
		   struct err *e)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			return err_set(e, EINVAL, "missing \"%s\"", key);
		dst[0] = '\0';
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return err_set(e, EINVAL, "\"%s\" must be a string", key);
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	if (n >= cap || strlen(s) != n)
		return err_set(e, EINVAL, "\"%s\" is too long or has a NUL byte", key);
	memcpy(dst, s, n + 1);
	return 0;
}

/* Read an unsigned integer field; null/absent gives `dflt`. */
static int get_uint(json_object *o, const char *key, uint64_t max, uint64_t dflt,
		    uint64_t *out, struct err *e)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
		*out = dflt;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int))
		return err_set(e, EINVAL, "\"%s\" must be an integer", key);
	if (json_object_get_int64(v) < 0)
		return err_set(e, EINVAL, "\"%s\" must not be negative", key);
	uint64_t u = json_object_get_uint64(v);
	if (u > max)
		return err_set(e, EINVAL, "\"%s\" is out of range", key);
	*out = u;
	return 0;
}

static int get_bool(json_object *o, const char *key, int *out, struct err *e)
{
	json_object *v;
	*out = 0;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return err_set(e, EINVAL, "\"%s\" must be true or false", key);
	*out = json_object_get_boolean(v);
	return 0;
}

static int parse_obj(json_object *o, struct guest_config *c, struct err *e)
{
	char buf[16];
	uint64_t u;
	int r;
	if (!json_object_is_type(o, json_type_object))
		return err_set(e, EINVAL, "top level must be an object");
	if ((r = get_str(o, "name", c->name, sizeof(c->name), 1, e)) < 0)
		return r;
	if (name_check(c->name, "guest", e) < 0)
		return -EINVAL;
	if ((r = get_str(o, "type", buf, sizeof(buf), 1, e)) < 0)
		return r;
	if (!strcmp(buf, "ct"))
		c->type = GUEST_CT;
	else if (!strcmp(buf, "vm"))
		c->type = GUEST_VM;
	else
		return err_set(e, EINVAL, "\"type\" must be \"ct\" or \"vm\"");
	if ((r = get_str(o, "template", c->template_name, sizeof(c->template_name), 0, e)) < 0)
		return r;
	if ((r = get_str(o, "hostname", c->hostname, sizeof(c->hostname), 0, e)) < 0)
		return r;
	json_object *l;
	if (json_object_object_get_ex(o, "limits", &l) && !json_object_is_type(l, json_type_null)) {
		if (!json_object_is_type(l, json_type_object))
			return err_set(e, EINVAL, "\"limits\" must be an object");
		if ((r = get_uint(l, "memory", LIMIT_NONE - 1, LIMIT_NONE, &c->lim.memory, e)) < 0 ||
		    (r = get_uint(l, "swap", LIMIT_NONE - 1, LIMIT_NONE, &c->lim.swap, e)) < 0 ||
		    (r = get_uint(l, "cpus_milli", 1000000000ull, LIMIT_NONE, &c->lim.cpus, e)) < 0 ||
		    (r = get_uint(l, "cpu_weight", 10000, LIMIT_NONE, &c->lim.cpu_weight, e)) < 0 ||
		    (r = get_uint(l, "pids", 1ull << 31, LIMIT_NONE, &c->lim.pids, e)) < 0 ||
		    (r = get_uint(l, "disk", LIMIT_NONE - 1, LIMIT_NONE, &c->lim.disk, e)) < 0)
			return r;
		if (c->lim.cpus == 0 || c->lim.cpu_weight == 0 || c->lim.pids == 0)
			return err_set(e, EINVAL, "limits must not be zero");
	}
	json_object *ids;
	if (!json_object_object_get_ex(o, "idmap", &ids) || !json_object_is_type(ids, json_type_object))
		return err_set(e, EINVAL, "missing \"idmap\" object");
	if ((r = get_uint(ids, "base", UINT32_MAX - IDRANGE_SIZE, 0, &u, e)) < 0)
		return r;
	c->id_base = (uint32_t)u;
	if ((r = get_uint(ids, "count", IDRANGE_SIZE, IDRANGE_SIZE, &u, e)) < 0)
		return r;
	if (u != IDRANGE_SIZE || c->id_base == 0)
		return err_set(e, EINVAL, "\"idmap\" must be a non-zero base with count %u", IDRANGE_SIZE);
	c->id_count = (uint32_t)u;
	if ((r = get_str(o, "init", buf, sizeof(buf), 0, e)) < 0)
		return r;
	c->init = !strcmp(buf, "busybox") ? INIT_BUSYBOX : !strcmp(buf, "systemd") ? INIT_SYSTEMD
										   : INIT_OTHER;
	if ((r = get_bool(o, "ephemeral", &c->ephemeral, e)) < 0 ||
	    (r = get_bool(o, "onboot", &c->onboot, e)) < 0)
		return r;
	if ((r = get_uint(o, "created", INT64_MAX, 0, &u, e)) < 0)
		return r;
	c->created = (int64_t)u;
	/* configs written before "disk_ids" existed: a container's image was
	 * shifted, a VM's plain */
	c->disk_ids = c->type == GUEST_CT && c->lim.disk != LIMIT_NONE ? DISK_IDS_SHIFTED
								      : DISK_IDS_PLAIN;
	json_object *di;
	if (json_object_object_get_ex(o, "disk_ids", &di) && !json_object_is_type(di, json_type_null)) {
		if ((r = get_str(o, "disk_ids", buf, sizeof(buf), 0, e)) < 0)
			return r;
		if (!strcmp(buf, "plain"))
			c->disk_ids = DISK_IDS_PLAIN;
		else if (!strcmp(buf, "shifted") && c->type == GUEST_CT)
			c->disk_ids = DISK_IDS_SHIFTED;
		else
			return err_set(e, EINVAL, "\"disk_ids\" must be \"plain\" (or \"shifted\" for a container)");
	}
	json_object *vm;
	if (c->type == GUEST_VM && json_object_object_get_ex(o, "vm", &vm) &&
	    !json_object_is_type(vm, json_type_null)) {
		if (!json_object_is_type(vm, json_type_object))
			return err_set(e, EINVAL, "\"vm\" must be an object");
		if ((r = get_str(vm, "kernel", c->vm.kernel, sizeof(c->vm.kernel), 0, e)) < 0 ||
		    (r = get_str(vm, "cmdline", c->vm.cmdline, sizeof(c->vm.cmdline), 0, e)) < 0 ||
		    (r = get_str(vm, "mac", c->vm.mac, sizeof(c->vm.mac), 0, e)) < 0)
			return r;
		if (c->vm.kernel[0] && c->vm.kernel[0] != '/')
			return err_set(e, EINVAL, "\"vm.kernel\" must be an absolute path");
		if (c->vm.mac[0] && mac_check(c->vm.mac, e) < 0)
			return err_wrap(e, "\"vm.mac\"");
	}
	return 0;
}

int mac_check(const char *mac, struct err *e)
{
	unsigned b[6];
	char tail;
	if (strlen(mac) != 17 ||
	    sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return err_exit(e, EXIT_USAGE, "MAC '%.20s' is not of the form 52:54:00:12:34:56", mac);
	for (int i = 0; i < 17; i++)
		if ((i % 3 == 2) != (mac[i] == ':') || (i % 3 != 2 && !isxdigit((unsigned char)mac[i])))
			return err_exit(e, EXIT_USAGE, "MAC '%.20s' is not of the form 52:54:00:12:34:56", mac);
	if (b[0] & 1)
		return err_exit(e, EXIT_USAGE, "MAC %s is a multicast address; use a unicast one (first byte even)", mac);
	return 0;
}

int config_from_json(const char *text, size_t len, struct guest_config *c, struct err *e)
{
	config_init(c);
	if (len > (1 << 20))
		return err_set(e, EFBIG, "config is larger than 1 MiB");
	json_object *o;
	int r = json_parse_strict(text, len, 16, &o, e);
	if (r < 0)
		return r;
	r = parse_obj(o, c, e);
	json_object_put(o);
	return r;
}
