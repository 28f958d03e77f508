/* test_policy.c - policy keys and values, policy.json (hostile input
 * included), and the ledger's arithmetic (shares, limits, checks). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ledger.h"
#include "lib/policy.h"
#include "lib/size.h"

static void get(const struct policy *p, const char *key, char *buf)
{
	assert_int_equal(policy_get(p, key, buf, 32), 0);
}

static void test_defaults(void **state)
{
	struct policy p;
	char v[32];
	policy_init(&p);
	get(&p, "vm.memory.overcommit", v);
	assert_string_equal(v, "1.0");
	get(&p, "ct.memory.overcommit", v);
	assert_string_equal(v, "1.5");
	get(&p, "ct.cpus.overcommit", v);
	assert_string_equal(v, "4.0");
	get(&p, "vm.disk.overcommit", v);
	assert_string_equal(v, "1.0");
	get(&p, "reserve.memory", v);
	assert_string_equal(v, "512M");
	get(&p, "reserve.cpus", v);
	assert_string_equal(v, "0");
	get(&p, "reserve.disk", v);
	assert_string_equal(v, "5%");
}

static void test_set_valid(void **state)
{
	struct policy p;
	struct err e = { 0 };
	char v[32];
	policy_init(&p);
	assert_int_equal(policy_set(&p, "ct.memory.overcommit=2.25", &e), 0);
	get(&p, "ct.memory.overcommit", v);
	assert_string_equal(v, "2.25");
	assert_int_equal(p.ratio[GUEST_CT][RES_MEMORY], 2250);
	assert_int_equal(policy_set(&p, "*.cpus.overcommit=0.5", &e), 0);
	assert_int_equal(p.ratio[GUEST_CT][RES_CPUS], 500);
	assert_int_equal(p.ratio[GUEST_VM][RES_CPUS], 500);
	assert_int_equal(policy_set(&p, "reserve.memory=10%", &e), 0);
	get(&p, "reserve.memory", v);
	assert_string_equal(v, "10%");
	assert_int_equal(policy_reserve_of(&p, RES_MEMORY, 1000), 100);
	assert_int_equal(policy_set(&p, "reserve.cpus=0.5", &e), 0);
	assert_int_equal(policy_reserve_of(&p, RES_CPUS, 4000), 500);
	assert_int_equal(policy_set(&p, "reserve.disk=2G", &e), 0);
	assert_int_equal(policy_reserve_of(&p, RES_DISK, 1ull << 40), 2ull << 30);
	assert_int_equal(policy_set(&p, "vm.memory.overcommit=100", &e), 0);
	assert_int_equal(policy_set(&p, "vm.memory.overcommit=0.1", &e), 0);
}

static void test_set_invalid(void **state)
{
	static const char *const bad[] = {
		"ct.memory.overcommit=abc", "ct.memory.overcommit=", "ct.memory.overcommit=-1",
		"ct.memory.overcommit=0", "ct.memory.overcommit=0.05", "ct.memory.overcommit=100.001",
		"ct.memory.overcommit=1e3", "ct.memory.overcommit=1.5x", "ct.memory.overcommit=unlimited",
		"ct.memory.overcommit=1.0001", "ct.memory.overcommit= 1", "ct.memory.overcommit=nan",
		"ct.memory.overcommit=99999999999999999999999", "reserve.memory=lots",
		"reserve.memory=unlimited", "reserve.memory=100%", "reserve.memory=-1%",
		"reserve.memory=%", "reserve.memory=5.5%", "reserve.memory=99999999T",
		"reserve.cpus=-1", "reserve.cpus=abc", "reserve.disk=1Q", "ct.memory.overcommit",
		"=1", "ct.memory=1", "xx.memory.overcommit=1", "ct.ram.overcommit=1",
		"ct.memory.overcommitx=1", "reserve.memory.overcommit=1", "reserve.=1",
		"ct.memory.overcommit.=1", "*.memory=1", "reserve.*=1G", "",
		"a-very-long-key-that-does-not-fit-in-the-buffer-of-sixty-four-characters-at-all=1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct policy p, before;
		struct err e = { 0 };
		policy_init(&p);
		before = p;
		if (policy_set(&p, bad[i], &e) == 0)
			fail_msg("policy_set(\"%s\") was accepted", bad[i]);
		assert_int_equal(e.exit_code, EXIT_USAGE);
		assert_true(e.msg[0] != '\0');
		assert_null(strchr(e.msg, '\n'));
		assert_memory_equal(&p, &before, sizeof(p)); /* nothing changed */
	}
}

static void test_json_roundtrip(void **state)
{
	struct policy p, back;
	struct err e = { 0 };
	char *text = NULL;
	policy_init(&p);
	assert_int_equal(policy_set(&p, "ct.memory.overcommit=1.75", &e), 0);
	assert_int_equal(policy_set(&p, "reserve.disk=5%", &e), 0);
	assert_int_equal(policy_set(&p, "reserve.cpus=0.25", &e), 0);
	assert_int_equal(policy_to_json(&p, &text, &e), 0);
	assert_int_equal(policy_from_json(text, strlen(text), &back, &e), 0);
	assert_memory_equal(&p, &back, sizeof(p));
	free(text);
	/* missing keys keep their defaults */
	const char *partial = "{\"vm.memory.overcommit\":\"1.25\"}";
	assert_int_equal(policy_from_json(partial, strlen(partial), &back, &e), 0);
	assert_int_equal(back.ratio[GUEST_VM][RES_MEMORY], 1250);
	assert_int_equal(back.ratio[GUEST_CT][RES_MEMORY], 1500);
}

static void test_json_hostile(void **state)
{
	static const char *const bad[] = {
		"", "{", "[]", "\"x\"", "42", "null", "{}{}", "{} x",
		"{\"ct.memory.overcommit\":1.5}",                  /* not a string */
		"{\"ct.memory.overcommit\":\"abc\"}",
		"{\"ct.memory.overcommit\":\"1.5\",\"bogus\":\"1\"}", /* unknown key */
		"{\"ct.memory.overcommit\":{\"a\":\"1\"}}",
		"{\"reserve.memory\":\"200%\"}",
		"{\"reserve.memory\":null}",
		"{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
		"{\"ct.memory.overcommit\":\"1\\u00002\"}",          /* NUL inside a value */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct policy p;
		struct err e = { 0 };
		policy_init(&p);
		p.ratio[GUEST_VM][RES_CPUS] = 1234; /* must be left alone */
		if (policy_from_json(bad[i], strlen(bad[i]), &p, &e) == 0)
			fail_msg("policy_from_json(%s) was accepted", bad[i]);
		assert_true(e.msg[0] != '\0');
		assert_int_equal(p.ratio[GUEST_VM][RES_CPUS], 1234);
	}
	/* only len bytes are read: a valid object followed by junk past len */
	const char *s = "{\"vm.cpus.overcommit\":\"2\"}GARBAGE";
	struct policy p;
	struct err e = { 0 };
	assert_int_equal(policy_from_json(s, 26, &p, &e), 0);
	assert_int_equal(p.ratio[GUEST_VM][RES_CPUS], 2000);
	/* too large */
	size_t big = 70000;
	char *t = malloc(big);
	memset(t, ' ', big);
	t[0] = '{';
	t[big - 1] = '}';
	assert_true(policy_from_json(t, big, &p, &e) < 0);
	free(t);
}

/* A ledger on a made-up host: 4 CPUs, 16G, 100G free disk, default policy. */
static void ledger_fake(struct ledger *l)
{
	memset(l, 0, sizeof(*l));
	policy_init(&l->pol);
	l->host.cpus = 4000;
	l->host.memory = 16ull << 30;
	l->host.disk_free = 100ull << 30;
}

static void guest(struct guest_config *c, const char *name, enum guest_type t, uint64_t mem,
		  uint64_t cpus, uint64_t disk)
{
	config_init(c);
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->type = t;
	c->lim.memory = mem;
	c->lim.cpus = cpus;
	c->lim.disk = disk;
}

static void test_ledger_arithmetic(void **state)
{
	struct ledger l;
	ledger_fake(&l);
	/* limit = capacity - reserve */
	assert_int_equal(ledger_limit(&l, RES_MEMORY), (16ull << 30) - (512ull << 20));
	assert_int_equal(ledger_limit(&l, RES_CPUS), 4000);
	assert_int_equal(ledger_limit(&l, RES_DISK), 95ull << 30);
	/* shares: allocation / ratio, rounded up */
	assert_int_equal(ledger_share(&l.pol, GUEST_CT, RES_MEMORY, 3ull << 30), 2ull << 30);
	assert_int_equal(ledger_share(&l.pol, GUEST_VM, RES_MEMORY, 3ull << 30), 3ull << 30);
	assert_int_equal(ledger_share(&l.pol, GUEST_CT, RES_CPUS, 4000), 1000);
	assert_int_equal(ledger_share(&l.pol, GUEST_CT, RES_MEMORY, 1), 1);
	assert_int_equal(ledger_share(&l.pol, GUEST_VM, RES_MEMORY, UINT64_MAX), UINT64_MAX);
	l.pol.ratio[GUEST_VM][RES_MEMORY] = 100;
	assert_int_equal(ledger_share(&l.pol, GUEST_VM, RES_MEMORY, UINT64_MAX), UINT64_MAX);
	/* a reserve larger than the host leaves a limit of 0, not a wrap */
	l.pol.reserve[RES_MEMORY].value = 64ull << 30;
	assert_int_equal(ledger_limit(&l, RES_MEMORY), 0);
	/* unlimited counts 0 */
	struct guest_config c;
	guest(&c, "x", GUEST_CT, LIMIT_NONE, LIMIT_NONE, LIMIT_NONE);
	assert_int_equal(ledger_alloc(&c, RES_MEMORY), 0);
	assert_int_equal(ledger_alloc(&c, RES_DISK), 0);
}

static void test_ledger_check(void **state)
{
	struct ledger l;
	struct err e = { 0 };
	struct guest_config c;
	ledger_fake(&l);
	/* 12G of containers run: 8G of host memory at 1.5 */
	l.running.alloc[GUEST_CT][RES_MEMORY] = 12ull << 30;
	l.running.guests[GUEST_CT] = 2;
	assert_int_equal(ledger_committed(&l, &l.running, RES_MEMORY), 8ull << 30);
	/* a 7G VM fits (8 + 7 <= 15.5), an 8G one does not */
	guest(&c, "v", GUEST_VM, 7ull << 30, 1000, 1ull << 30);
	assert_int_equal(ledger_check(&l, &c, RES_MEMORY, &l.running, "running", &e), 0);
	c.lim.memory = 8ull << 30;
	assert_true(ledger_check(&l, &c, RES_MEMORY, &l.running, "running", &e) < 0);
	assert_int_equal(e.exit_code, EXIT_POLICY);
	/* the message has what was asked, what is committed, the limit, the key */
	assert_non_null(strstr(e.msg, "memory 8G for vm 'v'"));
	assert_non_null(strstr(e.msg, "8G committed to running guests"));
	assert_non_null(strstr(e.msg, "15.5G"));
	assert_non_null(strstr(e.msg, "vm.memory.overcommit=1.0"));
	assert_non_null(strstr(e.msg, "raise vm.memory.overcommit"));
	/* alone it fits */
	assert_int_equal(ledger_check(&l, &c, RES_MEMORY, NULL, NULL, &e), 0);
	/* exactly at the limit fits */
	c.lim.memory = (15ull << 30) + (512ull << 20) - (8ull << 30);
	assert_int_equal(ledger_check(&l, &c, RES_MEMORY, &l.running, "running", &e), 0);
	c.lim.memory += 1;
	assert_true(ledger_check(&l, &c, RES_MEMORY, &l.running, "running", &e) < 0);
	/* cpus: 16 vCPUs at 4.0 = 4 CPUs fit an idle host, 17 do not */
	guest(&c, "w", GUEST_VM, 1ull << 30, 16000, 1ull << 30);
	assert_int_equal(ledger_check(&l, &c, RES_CPUS, &l.running, "running", &e), 0);
	c.lim.cpus = 17000;
	assert_true(ledger_check(&l, &c, RES_CPUS, &l.running, "running", &e) < 0);
	assert_non_null(strstr(e.msg, "cpus 17 for vm 'w'"));
	/* disk is checked against the defined guests */
	l.defined.alloc[GUEST_CT][RES_DISK] = 86ull << 30;
	guest(&c, "d", GUEST_CT, LIMIT_NONE, LIMIT_NONE, 10ull << 30);
	assert_true(ledger_check(&l, &c, RES_DISK, &l.defined, "defined", &e) < 0);
	assert_non_null(strstr(e.msg, "committed to defined guests"));
	assert_non_null(strstr(e.msg, "ct.disk.overcommit"));
	c.lim.disk = 9ull << 30;
	assert_int_equal(ledger_check(&l, &c, RES_DISK, &l.defined, "defined", &e), 0);
	/* saturated sums never wrap into "fits" */
	l.running.alloc[GUEST_VM][RES_MEMORY] = UINT64_MAX;
	guest(&c, "z", GUEST_CT, 1, LIMIT_NONE, LIMIT_NONE);
	assert_true(ledger_check(&l, &c, RES_MEMORY, &l.running, "running", &e) < 0);
}

static void test_format(void **state)
{
	char b[32];
	ledger_format(RES_MEMORY, 512ull << 20, b, sizeof(b));
	assert_string_equal(b, "512M");
	ledger_format(RES_MEMORY, (23ull << 30) + (400ull << 20), b, sizeof(b));
	assert_string_equal(b, "23.4G");
	ledger_format(RES_MEMORY, 100, b, sizeof(b));
	assert_string_equal(b, "100");
	ledger_format(RES_MEMORY, UINT64_MAX, b, sizeof(b));
	assert_string_equal(b, "16E");
	ledger_format(RES_CPUS, 2500, b, sizeof(b));
	assert_string_equal(b, "2.5");
	ratio_format(100000, b, sizeof(b));
	assert_string_equal(b, "100.0");
	ratio_format(125, b, sizeof(b));
	assert_string_equal(b, "0.125");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_set_valid),
		cmocka_unit_test(test_set_invalid),
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_json_hostile),
		cmocka_unit_test(test_ledger_arithmetic),
		cmocka_unit_test(test_ledger_check),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
