/* test_name.c - name_check: [a-z0-9][a-z0-9-]{0,62}. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "lib/name.h"

static void test_valid(void **state)
{
	char n63[64];
	memset(n63, 'a', 63);
	n63[63] = '\0';
	n63[10] = '-';
	n63[62] = '9';
	const char *good[] = { "a", "0", "web-1", "a-", "a--b", "9lives", "abcdefghijklmnopqrstuvwxyz0123456789",
			       n63 };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct err e = {0};
		if (name_check(good[i], "guest", &e) != 0)
			fail_msg("name_check(\"%s\") rejected it: %s", good[i], e.msg);
		assert_int_equal(e.code, 0);
	}
}

static void check_bad(const char *name, const char *shown)
{
	struct err e = {0};
	if (name_check(name, "template", &e) >= 0)
		fail_msg("name_check(\"%s\") accepted it", shown);
	assert_int_equal(e.code, -EINVAL);
	assert_int_equal(e.exit_code, EXIT_USAGE);
	assert_non_null(strstr(e.msg, "template"));
	assert_non_null(strstr(e.msg, "a-z, 0-9"));
}

static void test_invalid(void **state)
{
	char n64[65];
	memset(n64, 'a', 64);
	n64[64] = '\0';
	const char *bad[] = { "", "-a", "-", "A", "aB", "a_b", "a/b", "/", "..", ".", ".a", "a.b",
			      "a b", " a", "a ", "a\n", "caf\xc3\xa9", "\xc3\xa9", "a\x7f", "a\xff",
			      "a:b", "a@b", "a\\b", "*", n64 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad(bad[i], bad[i]);
	check_bad(NULL, "(null)");
}

static void test_message(void **state)
{
	struct err e = {0};
	assert_true(name_check("Bad_Name", "guest", &e) < 0);
	assert_non_null(strstr(e.msg, "bad guest name 'Bad_Name'"));
	/* a hostile huge name is cut in the message, which stays bounded */
	char huge[4096];
	memset(huge, 'x', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	err_clear(&e);
	assert_true(name_check(huge, "guest", &e) < 0);
	assert_true(strlen(e.msg) < 200);
	/* NULL err is allowed (store_list uses it) */
	assert_true(name_check("..", "x", NULL) < 0);
	assert_int_equal(name_check("ok", "x", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
