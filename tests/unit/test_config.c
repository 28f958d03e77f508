/* test_config.c - guest config <-> JSON: round trips and hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"
#include "lib/idrange.h"

static void assert_config_equal(const struct guest_config *a, const struct guest_config *b)
{
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->type, b->type);
	assert_string_equal(a->template_name, b->template_name);
	assert_string_equal(a->hostname, b->hostname);
	assert_int_equal(a->lim.memory, b->lim.memory);
	assert_int_equal(a->lim.swap, b->lim.swap);
	assert_int_equal(a->lim.cpus, b->lim.cpus);
	assert_int_equal(a->lim.cpu_weight, b->lim.cpu_weight);
	assert_int_equal(a->lim.pids, b->lim.pids);
	assert_int_equal(a->lim.disk, b->lim.disk);
	assert_int_equal(a->id_base, b->id_base);
	assert_int_equal(a->id_count, b->id_count);
	assert_int_equal(a->init, b->init);
	assert_int_equal(a->ephemeral, b->ephemeral);
	assert_int_equal(a->onboot, b->onboot);
	assert_int_equal(a->created, b->created);
	if (a->lim.disk != LIMIT_NONE)
		assert_int_equal(a->disk_ids, b->disk_ids);
	if (a->type == GUEST_VM) {
		assert_string_equal(a->vm.kernel, b->vm.kernel);
		assert_string_equal(a->vm.cmdline, b->vm.cmdline);
		assert_string_equal(a->vm.mac, b->vm.mac);
	}
}

/* to_json, from_json, compare; returns the JSON text (caller frees). */
static char *roundtrip(const struct guest_config *c)
{
	struct err e = {0};
	char *text = NULL;
	assert_int_equal(config_to_json(c, &text, &e), 0);
	assert_non_null(text);
	struct guest_config back;
	memset(&back, 0xa5, sizeof(back));
	if (config_from_json(text, strlen(text), &back, &e) != 0)
		fail_msg("config_from_json of our own output failed: %s\n%s", e.msg, text);
	assert_config_equal(c, &back);
	return text;
}

static void full_config(struct guest_config *c)
{
	config_init(c);
	snprintf(c->name, sizeof(c->name), "web-1");
	c->type = GUEST_VM;
	snprintf(c->template_name, sizeof(c->template_name), "debian-12");
	snprintf(c->hostname, sizeof(c->hostname), "web-1.example");
	c->lim.memory = 536870912ull;
	c->lim.swap = 1ull << 30;
	c->lim.cpus = 1500;
	c->lim.cpu_weight = 10000;
	c->lim.pids = 1ull << 31;
	c->lim.disk = (LIMIT_NONE - 1);
	c->id_base = IDRANGE_FIRST + 7 * IDRANGE_SIZE;
	c->id_count = IDRANGE_SIZE;
	c->init = INIT_SYSTEMD;
	c->ephemeral = 1;
	c->onboot = 1;
	c->created = 1700000000;
	snprintf(c->vm.kernel, sizeof(c->vm.kernel), "/boot/vmlinuz-6.1.0-56-cloud-amd64");
	snprintf(c->vm.cmdline, sizeof(c->vm.cmdline), "quiet loglevel=3");
	snprintf(c->vm.mac, sizeof(c->vm.mac), "52:54:00:ab:cd:ef");
}

static void test_roundtrip_full(void **state)
{
	struct guest_config c;
	full_config(&c);
	char *text = roundtrip(&c);
	/* the JSON uses the documented keys and spellings */
	assert_non_null(strstr(text, "\"type\":\"vm\""));
	assert_non_null(strstr(text, "\"init\":\"systemd\""));
	assert_non_null(strstr(text, "\"cpus_milli\":1500"));
	assert_non_null(strstr(text, "\"ephemeral\":true"));
	assert_non_null(strstr(text, "\"disk\":18446744073709551614"));
	free(text);

	/* each init kind and type survives, and the flags off */
	const enum init_kind kinds[] = { INIT_OTHER, INIT_BUSYBOX, INIT_SYSTEMD };
	for (int t = 0; t < 2; t++)
		for (size_t k = 0; k < 3; k++) {
			full_config(&c);
			c.type = t ? GUEST_VM : GUEST_CT;
			c.init = kinds[k];
			c.ephemeral = (int)k == 1;
			c.onboot = t == 0;
			c.created = (int64_t)k * 1000003;
			free(roundtrip(&c));
		}

	/* longest strings that fit, and characters that JSON must escape */
	full_config(&c);
	memset(c.name, 'z', 63);
	c.name[63] = '\0';
	memset(c.template_name, 't', 63);
	c.template_name[63] = '\0';
	snprintf(c.hostname, sizeof(c.hostname), "q\"b\\s/\t\n\x01\xc3\xa9");
	c.id_base = UINT32_MAX - IDRANGE_SIZE;
	free(roundtrip(&c));
}

static void test_roundtrip_unlimited(void **state)
{
	struct guest_config c;
	config_init(&c);
	snprintf(c.name, sizeof(c.name), "ct0");
	c.id_base = IDRANGE_FIRST;
	char *text = roundtrip(&c);
	/* unlimited is written as JSON null */
	assert_non_null(strstr(text, "\"memory\":null"));
	assert_non_null(strstr(text, "\"cpu_weight\":null"));
	assert_non_null(strstr(text, "\"type\":\"ct\""));
	assert_non_null(strstr(text, "\"init\":\"other\""));
	free(text);

	/* absent keys mean the defaults */
	struct err e = {0};
	const char *min = "{\"name\":\"m\",\"type\":\"ct\",\"idmap\":{\"base\":1073741824}}";
	struct guest_config d;
	assert_int_equal(config_from_json(min, strlen(min), &d, &e), 0);
	assert_int_equal(d.lim.memory, LIMIT_NONE);
	assert_int_equal(d.lim.pids, LIMIT_NONE);
	assert_int_equal(d.id_count, IDRANGE_SIZE);
	assert_int_equal(d.init, INIT_OTHER);
	assert_int_equal(d.ephemeral, 0);
	assert_int_equal(d.created, 0);
	assert_string_equal(d.hostname, "");
	/* unknown keys are ignored, an unknown init is "other" */
	const char *extra = "{\"name\":\"m\",\"type\":\"vm\",\"idmap\":{\"base\":1073741824,"
			    "\"count\":65536},\"init\":\"runit\",\"future\":[1,{\"x\":null}]}";
	assert_int_equal(config_from_json(extra, strlen(extra), &d, &e), 0);
	assert_int_equal(d.type, GUEST_VM);
	assert_int_equal(d.init, INIT_OTHER);
	/* len is honoured: text beyond len is not read */
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "%s", min);
	memcpy(buf + n, "\"garbage", 9);
	assert_int_equal(config_from_json(buf, (size_t)n, &d, &e), 0);
}

/* A config that is valid, with one field replaced by a fragment. */
static char *make(const char *name, const char *type, const char *limits, const char *idmap,
		  const char *tail)
{
	char *out;
	int r = asprintf(&out,
			 "{\"name\": %s, \"type\": %s, \"template\": \"debian\", \"hostname\": \"h\","
			 " \"limits\": %s, \"idmap\": %s%s}",
			 name ? name : "\"web\"", type ? type : "\"ct\"",
			 limits ? limits : "{\"memory\": 1024, \"cpu_weight\": 100, \"pids\": 10}",
			 idmap ? idmap : "{\"base\": 1073741824, \"count\": 65536}", tail ? tail : "");
	assert_true(r > 0);
	return out;
}

static void expect_reject_len(const char *text, size_t len, const char *what)
{
	struct err e = {0};
	struct guest_config c;
	int r = config_from_json(text, len, &c, &e);
	if (r >= 0)
		fail_msg("config_from_json accepted %s: %.300s", what, text);
	assert_int_equal(e.code, r);
	assert_true(e.msg[0] != '\0');
}

static void expect_reject(char *text, const char *what)
{
	expect_reject_len(text, strlen(text), what);
	free(text);
}

/* The vm object: only absolute kernel paths, only unicast MACs. */
static void test_vm_settings(void **state)
{
	const char *vmtype = "\"vm\"";
	expect_reject(make(NULL, vmtype, NULL, NULL, ", \"vm\": []"), "vm not an object");
	expect_reject(make(NULL, vmtype, NULL, NULL, ", \"vm\": {\"kernel\": \"boot/k\"}"),
		      "relative kernel");
	expect_reject(make(NULL, vmtype, NULL, NULL, ", \"vm\": {\"kernel\": 7}"), "kernel number");
	const char *bad_macs[] = { "52:54:00:12:34", "52:54:00:12:34:5g", "53:54:00:12:34:56",
				   "52-54-00-12-34-56", "52:54:00:12:34:56:", "52:54:00:12:34:+6" };
	for (size_t i = 0; i < sizeof(bad_macs) / sizeof(bad_macs[0]); i++) {
		char tail[128];
		snprintf(tail, sizeof(tail), ", \"vm\": {\"mac\": \"%s\"}", bad_macs[i]);
		expect_reject(make(NULL, vmtype, NULL, NULL, tail), bad_macs[i]);
	}
	struct err e = {0};
	assert_int_equal(mac_check("52:54:00:AB:cd:09", &e), 0);
	/* a container ignores a vm object */
	struct guest_config c;
	char *t = make(NULL, NULL, NULL, NULL, ", \"vm\": {\"kernel\": \"rel\"}");
	assert_int_equal(config_from_json(t, strlen(t), &c, &e), 0);
	assert_string_equal(c.vm.kernel, "");
	free(t);
}

/* disk_ids: written with a disk, both spellings read back; absent means
 * "shifted" only for a container with a disk (configs of older berths). */
static void test_disk_ids(void **state)
{
	struct guest_config c;
	full_config(&c);
	c.type = GUEST_CT;
	c.lim.disk = 64ull << 20;
	c.disk_ids = DISK_IDS_SHIFTED;
	char *text = roundtrip(&c);
	assert_non_null(strstr(text, "\"disk_ids\":\"shifted\""));
	free(text);
	c.disk_ids = DISK_IDS_PLAIN;
	text = roundtrip(&c);
	assert_non_null(strstr(text, "\"disk_ids\":\"plain\""));
	free(text);
	c.lim.disk = LIMIT_NONE;
	text = roundtrip(&c);
	assert_null(strstr(text, "disk_ids"));
	free(text);

	struct err e = {0};
	struct guest_config d;
	char *t = make(NULL, NULL, "{\"disk\": 67108864}", NULL, NULL);
	assert_int_equal(config_from_json(t, strlen(t), &d, &e), 0);
	assert_int_equal(d.disk_ids, DISK_IDS_SHIFTED);
	free(t);
	t = make(NULL, "\"vm\"", "{\"disk\": 67108864}", NULL, NULL);
	assert_int_equal(config_from_json(t, strlen(t), &d, &e), 0);
	assert_int_equal(d.disk_ids, DISK_IDS_PLAIN);
	free(t);
	t = make(NULL, NULL, "{\"disk\": 67108864}", NULL, ", \"disk_ids\": \"plain\"");
	assert_int_equal(config_from_json(t, strlen(t), &d, &e), 0);
	assert_int_equal(d.disk_ids, DISK_IDS_PLAIN);
	free(t);
	t = make(NULL, NULL, NULL, NULL, ", \"disk_ids\": null");
	assert_int_equal(config_from_json(t, strlen(t), &d, &e), 0);
	assert_int_equal(d.disk_ids, DISK_IDS_PLAIN);
	free(t);

	/* hostile: wrong type, unknown or too long words, shifted for a VM */
	expect_reject(make(NULL, NULL, NULL, NULL, ", \"disk_ids\": 1"), "disk_ids number");
	expect_reject(make(NULL, NULL, NULL, NULL, ", \"disk_ids\": [\"plain\"]"), "disk_ids array");
	expect_reject(make(NULL, NULL, NULL, NULL, ", \"disk_ids\": \"Plain\""), "disk_ids case");
	expect_reject(make(NULL, NULL, NULL, NULL, ", \"disk_ids\": \"\""), "disk_ids empty");
	expect_reject(make(NULL, NULL, NULL, NULL, ", \"disk_ids\": \"plain\\u0000x\""),
		      "disk_ids NUL");
	expect_reject(make(NULL, NULL, NULL, NULL, ", \"disk_ids\": \"shiftedshiftedshifted\""),
		      "disk_ids too long");
	expect_reject(make(NULL, "\"vm\"", NULL, NULL, ", \"disk_ids\": \"shifted\""),
		      "shifted VM disk");
}

static void test_base_is_valid(void **state)
{
	/* the fragments below are rejected because of what they change */
	struct err e = {0};
	struct guest_config c;
	char *t = make(NULL, NULL, NULL, NULL, NULL);
	if (config_from_json(t, strlen(t), &c, &e) != 0)
		fail_msg("base config rejected: %s", e.msg);
	assert_string_equal(c.name, "web");
	assert_int_equal(c.lim.memory, 1024);
	free(t);
}

static void test_hostile_syntax(void **state)
{
	const char *texts[] = { "", "not json", "{", "}", "{\"name\":", "[]", "[{}]", "null",
				"42", "\"web\"", "true", "{\"name\":\"a\"", "{'name':'a'}",
				"{\"name\":\"a\",}", "\xff\xfe{}", "{\"name\" \"a\"}" };
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		expect_reject_len(texts[i], strlen(texts[i]), texts[i]);

	/* every strict prefix of a valid config is truncated JSON */
	char *t = make(NULL, NULL, NULL, NULL, NULL);
	size_t len = strlen(t);
	for (size_t i = 0; i < len; i++)
		expect_reject_len(t, i, "a truncated config");
	/* ... and a NUL byte inside it ends it */
	t[len / 2] = '\0';
	expect_reject_len(t, len, "a config with a NUL byte");
	free(t);

	/* the valid config in an array */
	char *inner = make(NULL, NULL, NULL, NULL, NULL);
	char *arr;
	assert_true(asprintf(&arr, "[%s]", inner) > 0);
	expect_reject(arr, "a top-level array");
	/* two objects, or junk after the object */
	assert_true(asprintf(&arr, "%s%s", inner, inner) > 0);
	expect_reject(arr, "two objects");
	assert_true(asprintf(&arr, "%s junk", inner) > 0);
	expect_reject(arr, "trailing junk");
	/* trailing whitespace is fine */
	struct err e = {0};
	struct guest_config c;
	assert_true(asprintf(&arr, "%s \n\t\n", inner) > 0);
	assert_int_equal(config_from_json(arr, strlen(arr), &c, &e), 0);
	free(arr);
	free(inner);
}

static void test_hostile_name_type(void **state)
{
	expect_reject(make("42", NULL, NULL, NULL, NULL), "a numeric name");
	expect_reject(make("null", NULL, NULL, NULL, NULL), "a null name");
	expect_reject(make("[\"a\"]", NULL, NULL, NULL, NULL), "an array name");
	expect_reject(make("\"../x\"", NULL, NULL, NULL, NULL), "name ../x");
	expect_reject(make("\"..\"", NULL, NULL, NULL, NULL), "name ..");
	expect_reject(make("\"a/b\"", NULL, NULL, NULL, NULL), "name a/b");
	expect_reject(make("\"\"", NULL, NULL, NULL, NULL), "an empty name");
	expect_reject(make("\"Web\"", NULL, NULL, NULL, NULL), "an upper-case name");
	expect_reject(make("\"a\\u0000b\"", NULL, NULL, NULL, NULL), "a name with \\u0000");
	expect_reject(make("\"a\\u0000\"", NULL, NULL, NULL, NULL), "a name ending in \\u0000");
	expect_reject(make("\"caf\\u00e9\"", NULL, NULL, NULL, NULL), "a UTF-8 name");
	expect_reject(make("\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
			   NULL, NULL, NULL, NULL), "a 64-char name");
	expect_reject(make(NULL, "\"xx\"", NULL, NULL, NULL), "type xx");
	expect_reject(make(NULL, "\"CT\"", NULL, NULL, NULL), "type CT");
	expect_reject(make(NULL, "\"vm\\u0000\"", NULL, NULL, NULL), "type vm\\0");
	expect_reject(make(NULL, "\"\"", NULL, NULL, NULL), "an empty type");
	expect_reject(make(NULL, "1", NULL, NULL, NULL), "a numeric type");
	expect_reject(make(NULL, "null", NULL, NULL, NULL), "a null type");
	expect_reject(make(NULL, "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"", NULL, NULL,
			   NULL), "a long type");
	/* missing name or type */
	const char *noname = "{\"type\":\"ct\",\"idmap\":{\"base\":1073741824}}";
	expect_reject_len(noname, strlen(noname), "no name");
	const char *notype = "{\"name\":\"a\",\"idmap\":{\"base\":1073741824}}";
	expect_reject_len(notype, strlen(notype), "no type");
	/* other strings */
	expect_reject(make(NULL, NULL, NULL, NULL, ", \"template\": 5"), "a numeric template");
	expect_reject(make(NULL, NULL, NULL, NULL, ", \"hostname\": \"a\\u0000b\""),
		      "a hostname with \\u0000");
	expect_reject(make(NULL, NULL, NULL, NULL,
			   ", \"hostname\": \"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh\""),
		      "a 64-char hostname");
	expect_reject(make(NULL, NULL, NULL, NULL, ", \"init\": 1"), "a numeric init");
	expect_reject(make(NULL, NULL, NULL, NULL, ", \"ephemeral\": 1"), "a numeric bool");
	expect_reject(make(NULL, NULL, NULL, NULL, ", \"onboot\": \"true\""), "a string bool");
	expect_reject(make(NULL, NULL, NULL, NULL, ", \"created\": -1"), "a negative time");
	expect_reject(make(NULL, NULL, NULL, NULL, ", \"created\": 1.5"), "a fractional time");
	expect_reject(make(NULL, NULL, NULL, NULL, ", \"created\": 9223372036854775808"),
		      "a time past INT64_MAX");
}

static void test_hostile_limits(void **state)
{
	const char *lims[] = {
		"{\"memory\": 99999999999999999999}",
		"{\"memory\": 18446744073709551615}",
		"{\"memory\": 18446744073709551616}",
		"{\"memory\": 1e400}",
		"{\"memory\": 1.5}",
		"{\"memory\": -1}",
		"{\"memory\": -9223372036854775809}",
		"{\"memory\": \"512M\"}",
		"{\"memory\": true}",
		"{\"memory\": {}}",
		"{\"swap\": -5}",
		"{\"disk\": [1]}",
		"{\"cpus_milli\": 0}",
		"{\"cpus_milli\": 1000000001}",
		"{\"cpus_milli\": -1000}",
		"{\"cpu_weight\": 0}",
		"{\"cpu_weight\": 10001}",
		"{\"pids\": 0}",
		"{\"pids\": 2147483649}",
		"[]",
		"\"unlimited\"",
		"5",
	};
	for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++)
		expect_reject(make(NULL, NULL, lims[i], NULL, NULL), lims[i]);
	/* the edges that are allowed */
	struct err e = {0};
	struct guest_config c;
	char *t = make(NULL, NULL,
		       "{\"memory\": 18446744073709551614, \"cpus_milli\": 1000000000,"
		       " \"cpu_weight\": 10000, \"pids\": 2147483648, \"swap\": 0, \"disk\": null}",
		       NULL, NULL);
	assert_int_equal(config_from_json(t, strlen(t), &c, &e), 0);
	assert_int_equal(c.lim.memory, LIMIT_NONE - 1);
	assert_int_equal(c.lim.cpus, 1000000000ull);
	assert_int_equal(c.lim.pids, 2147483648ull);
	assert_int_equal(c.lim.swap, 0);
	assert_int_equal(c.lim.disk, LIMIT_NONE);
	free(t);
	t = make(NULL, NULL, "null", NULL, NULL);
	assert_int_equal(config_from_json(t, strlen(t), &c, &e), 0);
	assert_int_equal(c.lim.memory, LIMIT_NONE);
	free(t);
}

static void test_hostile_idmap(void **state)
{
	const char *ids[] = {
		"null", "[]", "1073741824", "{}", "{\"count\": 65536}",
		"{\"base\": 0, \"count\": 65536}",
		"{\"base\": 1073741824, \"count\": 1}",
		"{\"base\": 1073741824, \"count\": 0}",
		"{\"base\": 1073741824, \"count\": 131072}",
		"{\"base\": 1073741824, \"count\": -65536}",
		"{\"base\": 4294967295, \"count\": 65536}",
		"{\"base\": 4294901760, \"count\": 65536}", /* range would reach uid -1 */
		"{\"base\": 4294967296, \"count\": 65536}",
		"{\"base\": -1, \"count\": 65536}",
		"{\"base\": \"1073741824\", \"count\": 65536}",
		"{\"base\": 1073741824.0, \"count\": 65536}",
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		expect_reject(make(NULL, NULL, NULL, ids[i], NULL), ids[i]);
	/* no idmap at all */
	const char *none = "{\"name\": \"web\", \"type\": \"ct\", \"limits\": null}";
	expect_reject_len(none, strlen(none), "a config without idmap");
}

static void test_hostile_depth(void **state)
{
	/* nesting far past json-c's depth limit (16) fails cleanly */
	size_t depth = 10000;
	char *t = malloc(6 * depth + 64);
	assert_non_null(t);
	size_t n = 0;
	for (size_t i = 0; i < depth; i++)
		t[n++] = '[';
	for (size_t i = 0; i < depth; i++)
		t[n++] = ']';
	t[n] = '\0';
	expect_reject_len(t, n, "10000 nested arrays");
	/* inside a valid config */
	n = (size_t)sprintf(t, "{\"name\":\"a\",\"type\":\"ct\",\"x\":");
	for (size_t i = 0; i < depth; i++)
		t[n++] = '[';
	t[n] = '\0';
	expect_reject_len(t, n, "10000 unclosed arrays in a config");
	n = (size_t)sprintf(t, "{\"name\":\"a\",\"type\":\"ct\",\"x\":");
	for (size_t i = 0; i < depth; i++)
		n += (size_t)sprintf(t + n, "{\"a\":");
	expect_reject_len(t, n, "10000 nested objects");
	free(t);
}

static void test_size_limit(void **state)
{
	/* a valid config padded with whitespace to 2 MiB: too large */
	char *inner = make(NULL, NULL, NULL, NULL, NULL);
	size_t big = 2u << 20;
	char *t = malloc(big + 1);
	assert_non_null(t);
	memset(t, ' ', big);
	t[big] = '\0';
	memcpy(t, inner, strlen(inner));
	struct err e = {0};
	struct guest_config c;
	assert_int_equal(config_from_json(t, big, &c, &e), -EFBIG);
	assert_non_null(strstr(e.msg, "1 MiB"));
	/* exactly 1 MiB is still accepted */
	err_clear(&e);
	assert_int_equal(config_from_json(t, 1u << 20, &c, &e), 0);
	assert_string_equal(c.name, "web");
	/* a 2 MiB string value is rejected too, not truncated */
	memset(t, 'a', big);
	memcpy(t, "{\"name\":\"", 9);
	memcpy(t + big - 2, "\"}", 2);
	assert_true(config_from_json(t, big, &c, &e) < 0);
	free(t);
	free(inner);
}

static void test_names(void **state)
{
	assert_string_equal(guest_type_name(GUEST_CT), "ct");
	assert_string_equal(guest_type_name(GUEST_VM), "vm");
	assert_string_equal(init_kind_name(INIT_OTHER), "other");
	assert_string_equal(init_kind_name(INIT_BUSYBOX), "busybox");
	assert_string_equal(init_kind_name(INIT_SYSTEMD), "systemd");
	struct guest_config c;
	memset(&c, 0x5a, sizeof(c));
	config_init(&c);
	assert_string_equal(c.name, "");
	assert_int_equal(c.lim.memory, LIMIT_NONE);
	assert_int_equal(c.lim.cpu_weight, LIMIT_NONE);
	assert_int_equal(c.id_count, IDRANGE_SIZE);
	assert_int_equal(c.id_base, 0);
	assert_int_equal(c.ephemeral, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_full),
		cmocka_unit_test(test_roundtrip_unlimited),
		cmocka_unit_test(test_base_is_valid),
		cmocka_unit_test(test_hostile_syntax),
		cmocka_unit_test(test_hostile_name_type),
		cmocka_unit_test(test_hostile_limits),
		cmocka_unit_test(test_hostile_idmap),
		cmocka_unit_test(test_hostile_depth),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_vm_settings),
		cmocka_unit_test(test_disk_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
