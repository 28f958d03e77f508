/* test_size.c - size_parse/size_format, cpus_parse/cpus_format, uint_parse. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lib/size.h"

static uint64_t parse_ok(const char *s)
{
	struct err e = {0};
	uint64_t v = 12345;
	int r = size_parse(s, &v, &e);
	if (r != 0)
		fail_msg("size_parse(\"%s\") failed: %s", s, e.msg);
	return v;
}

static void test_size_valid(void **state)
{
	assert_int_equal(parse_ok("512M"), 536870912ull);
	assert_int_equal(parse_ok("1G"), 1073741824ull);
	assert_int_equal(parse_ok("1.5G"), 1610612736ull);
	assert_int_equal(parse_ok("0.5K"), 512);
	assert_int_equal(parse_ok("0.25M"), 262144);
	assert_int_equal(parse_ok("4096"), 4096);
	assert_int_equal(parse_ok("0"), 0);
	assert_int_equal(parse_ok("1K"), 1024);
	assert_int_equal(parse_ok("2T"), 2ull << 40);
	assert_int_equal(parse_ok("unlimited"), LIMIT_NONE);
	/* lowercase unit letters */
	assert_int_equal(parse_ok("512m"), 536870912ull);
	assert_int_equal(parse_ok("1g"), 1073741824ull);
	assert_int_equal(parse_ok("3k"), 3072);
	/* "GiB" and "GB" both mean binary units */
	assert_int_equal(parse_ok("1GiB"), 1073741824ull);
	assert_int_equal(parse_ok("1GB"), 1073741824ull);
	assert_int_equal(parse_ok("2MiB"), 2ull << 20);
	/* the largest value that is not LIMIT_NONE */
	assert_int_equal(parse_ok("18446744073709551614"), UINT64_MAX - 1);
	assert_int_equal(parse_ok("16777215T"), 16777215ull << 40);
}

static void check_bad(const char *s)
{
	struct err e = {0};
	uint64_t v = 777;
	int r = size_parse(s, &v, &e);
	if (r >= 0)
		fail_msg("size_parse(\"%s\") accepted it as %llu", s, (unsigned long long)v);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(v, 777); /* output untouched */
	assert_int_equal(e.exit_code, EXIT_USAGE);
	assert_true(e.msg[0] != '\0');
	/* the message names the bad value (when there is one) */
	if (*s && !strstr(e.msg, s))
		fail_msg("message for \"%s\" does not quote it: %s", s, e.msg);
}

static void test_size_invalid(void **state)
{
	const char *bad[] = {
		"", "-1", "1X", "G", "1.5", "99999999999999999999", "18446744073709551615T",
		" 1G", "1G ", "0x10", "1.5.5G", ".", "1GiBx", "1Gi", "1gib", "1KK", "+1G",
		"1e3", "16777216T", "18446744073709551615", "1.0001G", "nan", "inf",
		"Unlimited", "1 G", "1\tG",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad(bad[i]);
	struct err e = {0};
	uint64_t v;
	assert_true(size_parse(NULL, &v, &e) < 0);
}

static void test_size_message(void **state)
{
	struct err e = {0};
	uint64_t v;
	assert_int_equal(size_parse("12Q", &v, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "'12Q'"));
	assert_non_null(strstr(e.msg, "K, M, G or T"));
	err_clear(&e);
	assert_int_equal(size_parse("", &v, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "K, M, G or T"));
	err_clear(&e);
	assert_int_equal(size_parse("16777216T", &v, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "16777216T"));
}

static void fmt_is(uint64_t v, const char *want)
{
	char buf[64];
	size_format(v, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_size_format(void **state)
{
	fmt_is(536870912ull, "512M");
	fmt_is(1536, "1536");
	fmt_is(1610612736ull, "1536M");
	fmt_is(1073741824ull, "1G");
	fmt_is(2ull << 40, "2T");
	fmt_is(1ull << 50, "1024T"); /* no unit above T */
	fmt_is(0, "0");
	fmt_is(1, "1");
	fmt_is(1023, "1023");
	fmt_is(1024, "1K");
	fmt_is(1536 * 1024, "1536K");
	fmt_is(LIMIT_NONE, "unlimited");
	fmt_is(UINT64_MAX - 1, "18446744073709551614");
	/* a small buffer truncates, never overflows */
	char small[4] = "xyz";
	size_format(536870912ull, small, 3);
	assert_string_equal(small, "51");
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* size_parse(size_format(x)) == x for every x, and the text is the shortest. */
static void test_size_roundtrip(void **state)
{
	uint64_t fixed[] = { 0, 1, 1023, 1024, 1025, 1536, 536870912ull, 1610612736ull,
			     1ull << 40, 1ull << 50, 3ull << 62, UINT64_MAX - 1, UINT64_MAX,
			     (UINT64_MAX - 1) & ~1023ull, (1ull << 54) - 1024 };
	char buf[64];
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		size_format(fixed[i], buf, sizeof(buf));
		assert_int_equal(parse_ok(buf), fixed[i]);
	}
	for (int i = 0; i < 20000; i++) {
		uint64_t x = rng();
		x >>= rng() % 64;          /* all magnitudes */
		x <<= (rng() % 4) * 10;    /* often a whole unit */
		if (x == LIMIT_NONE)
			continue;
		size_format(x, buf, sizeof(buf));
		struct err e = {0};
		uint64_t y;
		if (size_parse(buf, &y, &e) != 0)
			fail_msg("size_format(%llu) = \"%s\" does not parse: %s",
				 (unsigned long long)x, buf, e.msg);
		assert_int_equal(x, y);
	}
}

static void test_cpus(void **state)
{
	struct err e = {0};
	uint64_t m;
	assert_int_equal(cpus_parse("2", &m, &e), 0);
	assert_int_equal(m, 2000);
	assert_int_equal(cpus_parse("0.5", &m, &e), 0);
	assert_int_equal(m, 500);
	assert_int_equal(cpus_parse("1.25", &m, &e), 0);
	assert_int_equal(m, 1250);
	assert_int_equal(cpus_parse("0.001", &m, &e), 0);
	assert_int_equal(m, 1);
	assert_int_equal(cpus_parse("1.5000", &m, &e), 0); /* trailing zeros are exact */
	assert_int_equal(m, 1500);
	assert_int_equal(cpus_parse("unlimited", &m, &e), 0);
	assert_int_equal(m, LIMIT_NONE);

	const char *bad[] = { "0.0001", "0", "0.000", "abc", "", "-1", "1x", "2 ", " 2",
			      "1000001", "99999999999999999999", ".", "1e3", "0x2" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		m = 42;
		int r = cpus_parse(bad[i], &m, &e);
		if (r >= 0)
			fail_msg("cpus_parse(\"%s\") accepted it as %llu", bad[i],
				 (unsigned long long)m);
		assert_int_equal(m, 42);
		assert_int_equal(e.exit_code, EXIT_USAGE);
		assert_non_null(strstr(e.msg, bad[i]));
	}
	assert_true(cpus_parse(NULL, &m, &e) < 0);
	/* the upper bound itself */
	assert_int_equal(cpus_parse("1000000", &m, &e), 0);
	assert_int_equal(m, 1000000000ull);
}

static void cpus_fmt_is(uint64_t m, const char *want)
{
	char buf[32];
	cpus_format(m, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_cpus_format(void **state)
{
	cpus_fmt_is(2000, "2");
	cpus_fmt_is(500, "0.5");
	cpus_fmt_is(1250, "1.25");
	cpus_fmt_is(1, "0.001");
	cpus_fmt_is(1010, "1.01");
	cpus_fmt_is(LIMIT_NONE, "unlimited");
	/* round trip over the whole valid range's interesting points */
	for (uint64_t m = 1; m <= 5000; m++) {
		char buf[32];
		uint64_t back;
		struct err e = {0};
		cpus_format(m, buf, sizeof(buf));
		assert_int_equal(cpus_parse(buf, &back, &e), 0);
		assert_int_equal(back, m);
	}
}

static void test_uint_parse(void **state)
{
	struct err e = {0};
	uint64_t v;
	assert_int_equal(uint_parse("5", 1, 10, 0, &v, &e), 0);
	assert_int_equal(v, 5);
	assert_int_equal(uint_parse("1", 1, 10, 0, &v, &e), 0);
	assert_int_equal(v, 1);
	assert_int_equal(uint_parse("10", 1, 10, 0, &v, &e), 0);
	assert_int_equal(v, 10);
	assert_int_equal(uint_parse("18446744073709551615", 0, UINT64_MAX, 0, &v, &e), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(uint_parse("unlimited", 1, 10, 1, &v, &e), 0);
	assert_int_equal(v, LIMIT_NONE);

	const char *bad[] = { "0", "11", "", "-1", "abc", "5x", " 5", "5 ", "1.5", "0x5",
			      "99999999999999999999", "18446744073709551616" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		v = 99;
		if (uint_parse(bad[i], 1, 10, 1, &v, &e) >= 0)
			fail_msg("uint_parse(\"%s\", 1, 10) accepted it as %llu", bad[i],
				 (unsigned long long)v);
		assert_int_equal(v, 99);
		assert_int_equal(e.exit_code, EXIT_USAGE);
		assert_non_null(strstr(e.msg, "from 1 to 10 or 'unlimited'"));
	}
	err_clear(&e);
	/* "unlimited" only where allowed */
	assert_true(uint_parse("unlimited", 1, 10, 0, &v, &e) < 0);
	assert_null(strstr(e.msg, "or 'unlimited'"));
	assert_non_null(strstr(e.msg, "from 1 to 10"));
	assert_true(uint_parse(NULL, 1, 10, 1, &v, &e) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_valid),
		cmocka_unit_test(test_size_invalid),
		cmocka_unit_test(test_size_message),
		cmocka_unit_test(test_size_format),
		cmocka_unit_test(test_size_roundtrip),
		cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_cpus_format),
		cmocka_unit_test(test_uint_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
