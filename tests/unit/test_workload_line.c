/* test_workload_line.c - the parser of `berth workload` lines a guest
 * prints back to `berth compare` (lib/workload_line.h), hostile input
 * included, and the median. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "lib/workload_line.h"

static int parse(const char *text, const char *kind, const char *unit, double *v, size_t max,
		 size_t *n)
{
	return workload_parse(text, strlen(text), kind, unit, v, max, n);
}

static void test_lines(void **state)
{
	double v[4];
	size_t n;
	const char *out = "cpu 12.500 ms\ncpu 10.000 ms\ncpu 11 ms\n";
	assert_int_equal(parse(out, "cpu", "ms", v, 4, &n), 0);
	assert_int_equal(n, 3);
	assert_true(v[0] == 12.5 && v[1] == 10.0 && v[2] == 11.0);
	assert_true(workload_median(v, n) == 11.0);
	/* noise around the lines (a guest's banner, stderr) is ignored; no newline at the end */
	out = "welcome\r\ncpu 1.000 s\nmemory 5.000 MiB/s\n\n\ncpux 3 ms\nmemory 7.000 MiB/s";
	assert_int_equal(parse(out, "memory", "MiB/s", v, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_true(workload_median(v, n) == 6.0);
	/* more lines than room: counted up to max, still fine */
	assert_int_equal(parse("fsync 1 /s\nfsync 2 /s\nfsync 3 /s\n", "fsync", "/s", v, 2, &n), 0);
	assert_int_equal(n, 2);
	/* none of that kind (or of another unit) */
	assert_int_equal(parse("cpu 1 ms\n", "memory", "MiB/s", v, 4, &n), -ENOENT);
	assert_int_equal(parse("cpu 1 s\n", "cpu", "ms", v, 4, &n), -ENOENT);
	assert_int_equal(parse("cpu 1 2 ms\n", "cpu", "ms", v, 4, &n), -ENOENT);
	assert_int_equal(parse("", "cpu", "ms", v, 4, &n), -ENOENT);
	assert_int_equal(n, 0);
}

static void test_hostile(void **state)
{
	double v[4];
	size_t n;
	static const char *bad[] = {
		"cpu -1 ms", "cpu 0 ms", "cpu 0.000 ms", "cpu nan ms", "cpu inf ms", "cpu 1e300 ms",
		"cpu 0x10 ms", "cpu 1..2 ms", "cpu .5 ms", "cpu  ms", "cpu 1,5 ms", "cpu +3 ms",
		"cpu 9999999999999999 ms",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], "cpu", "ms", v, 4, &n), -EINVAL);
	/* an over-long line is skipped, not truncated into a number */
	char longline[400];
	memset(longline, '1', sizeof(longline));
	memcpy(longline, "cpu ", 4);
	memcpy(longline + sizeof(longline) - 4, " ms", 4);
	assert_int_equal(parse(longline, "cpu", "ms", v, 4, &n), -ENOENT);
	/* an embedded NUL makes the line noise */
	const char nul[] = "cpu 1\0 ms\ncpu 2 ms\n";
	assert_int_equal(workload_parse(nul, sizeof(nul) - 1, "cpu", "ms", v, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_true(v[0] == 2.0);
	/* the length is honoured: nothing read past it */
	assert_int_equal(workload_parse("cpu 5 ms", 6, "cpu", "ms", v, 4, &n), -ENOENT);
	/* an empty kind is refused */
	assert_int_equal(parse("cpu 1 ms", "", "ms", v, 4, &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
