/* test_agent_proto.c - the guest agent wire protocol: frames and EXEC,
 * with the hostile inputs either side may get from the other. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/agent_proto.h"

static size_t mkframe(uint8_t *buf, uint8_t type, uint32_t len)
{
	agent_frame_header(buf, type, len);
	memset(buf + AGENT_HDR, 'x', len);
	return AGENT_HDR + len;
}

static void test_frame_sizes(void **state)
{
	static const struct { uint8_t type; uint32_t len; } ok[] = {
		{ AGENT_EXEC, 2 }, { AGENT_STDIN, 0 }, { AGENT_STDIN, 100 }, { AGENT_RESIZE, 4 },
		{ AGENT_SIGNAL, 4 }, { AGENT_PING, 0 }, { AGENT_POWEROFF, 0 }, { AGENT_STARTED, 4 },
		{ AGENT_STDOUT, 1 }, { AGENT_STDERR, 7 }, { AGENT_EXIT, 4 }, { AGENT_ERROR, 30 },
		{ AGENT_PONG, 0 }, { AGENT_OK, 0 }, { AGENT_STDOUT, AGENT_MAX_PAYLOAD },
	};
	uint8_t *buf = malloc(AGENT_HDR + AGENT_MAX_PAYLOAD + 8);
	if (!buf)
		abort();
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t n = mkframe(buf, ok[i].type, ok[i].len);
		struct agent_frame f;
		assert_int_equal(agent_frame_parse(buf, n, &f), (int)n);
		assert_int_equal(f.type, ok[i].type);
		assert_int_equal(f.len, ok[i].len);
		assert_ptr_equal(f.payload, buf + AGENT_HDR);
		/* every shorter prefix asks for more */
		for (size_t k = 0; k < n; k += 1 + n / 50)
			assert_int_equal(agent_frame_parse(buf, k, &f), 0);
	}
	free(buf);
}

static void test_frame_hostile(void **state)
{
	uint8_t buf[AGENT_HDR + 16];
	struct agent_frame f;
	/* unknown types */
	static const uint8_t bad_types[] = { 0, 7, 8, 63, 71, 128, 255 };
	for (size_t i = 0; i < sizeof(bad_types); i++) {
		mkframe(buf, bad_types[i], 0);
		assert_int_equal(agent_frame_parse(buf, AGENT_HDR, &f), -EPROTO);
	}
	/* lengths above the limit fail on the header alone */
	static const uint32_t huge[] = { AGENT_MAX_PAYLOAD + 1, 1u << 24, 0x7fffffffu, 0xffffffffu };
	for (size_t i = 0; i < 4; i++) {
		agent_frame_header(buf, AGENT_STDOUT, huge[i]);
		assert_int_equal(agent_frame_parse(buf, AGENT_HDR, &f), -EPROTO);
		agent_frame_header(buf, AGENT_EXEC, huge[i]);
		assert_int_equal(agent_frame_parse(buf, AGENT_HDR, &f), -EPROTO);
	}
	/* fixed-size payloads of the wrong size */
	static const struct { uint8_t type; uint32_t len; } wrong[] = {
		{ AGENT_RESIZE, 0 }, { AGENT_RESIZE, 3 }, { AGENT_RESIZE, 5 }, { AGENT_SIGNAL, 0 },
		{ AGENT_SIGNAL, 8 }, { AGENT_PING, 1 }, { AGENT_POWEROFF, 4 }, { AGENT_STARTED, 2 },
		{ AGENT_EXIT, 8 }, { AGENT_EXIT, 0 }, { AGENT_PONG, 1 }, { AGENT_OK, 16 },
	};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		agent_frame_header(buf, wrong[i].type, wrong[i].len);
		assert_int_equal(agent_frame_parse(buf, AGENT_HDR, &f), -EPROTO);
	}
	/* truncated: a header alone, or part of one */
	agent_frame_header(buf, AGENT_STDOUT, 10);
	assert_int_equal(agent_frame_parse(buf, AGENT_HDR + 9, &f), 0);
	assert_int_equal(agent_frame_parse(buf, 3, &f), 0);
	assert_int_equal(agent_frame_parse(buf, 0, &f), 0);
}

static void test_u32(void **state)
{
	uint8_t p[4];
	agent_put_u32(p, 0x01020304);
	assert_memory_equal(p, "\x04\x03\x02\x01", 4);
	assert_int_equal(agent_get_u32(p), 0x01020304);
	assert_true(agent_type_from_host(AGENT_EXEC));
	assert_true(agent_type_from_host(AGENT_POWEROFF));
	assert_false(agent_type_from_host(AGENT_EXIT));
	assert_false(agent_type_from_host(0));
}

static void test_send_over_pipe(void **state)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(agent_send(p[1], AGENT_STDOUT, "hello", 5), 0);
	assert_int_equal(agent_send(p[1], AGENT_PONG, NULL, 0), 0);
	assert_int_equal(agent_send(p[1], AGENT_STDOUT, "x", AGENT_MAX_PAYLOAD + 1), -EMSGSIZE);
	uint8_t buf[64];
	ssize_t n = read(p[0], buf, sizeof(buf));
	assert_int_equal(n, 2 * AGENT_HDR + 5);
	struct agent_frame f;
	int a = agent_frame_parse(buf, (size_t)n, &f);
	assert_int_equal(a, AGENT_HDR + 5);
	assert_int_equal(f.type, AGENT_STDOUT);
	assert_memory_equal(f.payload, "hello", 5);
	assert_int_equal(agent_frame_parse(buf + a, (size_t)n - (size_t)a, &f), AGENT_HDR);
	assert_int_equal(f.type, AGENT_PONG);
	close(p[0]);
	close(p[1]);
}

static void test_exec_roundtrip(void **state)
{
	struct agent_exec x = {
		.argv = { "sh", "-c", "echo \"$A\" caf\xc3\xa9", NULL },
		.env = { "A=1", "EMPTY=", NULL },
		.cwd = "/tmp",
		.term = "xterm-256color",
		.tty = 1,
		.rows = 50,
		.cols = 65535,
	};
	char *json;
	size_t len;
	struct err e = { 0 };
	assert_int_equal(agent_exec_encode(&x, &json, &len, &e), 0);
	assert_int_equal(strlen(json), len);
	struct agent_exec y;
	if (agent_exec_parse((const uint8_t *)json, len, &y, &e) != 0)
		fail_msg("parse of our own EXEC failed: %s\n%s", e.msg, json);
	assert_string_equal(y.argv[0], "sh");
	assert_string_equal(y.argv[2], x.argv[2]);
	assert_null(y.argv[3]);
	assert_string_equal(y.env[1], "EMPTY=");
	assert_null(y.env[2]);
	assert_string_equal(y.cwd, "/tmp");
	assert_string_equal(y.term, "xterm-256color");
	assert_int_equal(y.tty, 1);
	assert_int_equal(y.rows, 50);
	assert_int_equal(y.cols, 65535);
	agent_exec_free(&y);
	free(json);

	/* the minimum: argv only */
	static const char min[] = "{\"argv\":[\"true\"]}";
	assert_int_equal(agent_exec_parse((const uint8_t *)min, strlen(min), &y, &e), 0);
	assert_string_equal(y.argv[0], "true");
	assert_null(y.env[0]);
	assert_null(y.cwd);
	assert_null(y.term);
	assert_int_equal(y.tty, 0);
	agent_exec_free(&y);
}

static void exec_bad(const char *json, size_t len, const char *why)
{
	struct agent_exec y;
	struct err e = { 0 };
	int r = agent_exec_parse((const uint8_t *)json, len, &y, &e);
	if (r != -EPROTO && r != -ENOMEM)
		fail_msg("EXEC accepted (%s): %.200s", why, json);
	assert_int_equal(e.code, r);
	assert_true(e.msg[0] != '\0');
	assert_null(y.strings);
	assert_null(y.argv[0]);
	agent_exec_free(&y);
}

/* {"argv":["a","a",...]} (n items), or {"argv":["x"],"env":[...]} */
static char *many(const char *key, const char *item, unsigned n)
{
	char *s = malloc(64 + (size_t)n * (strlen(item) + 3)), *p = s;
	if (!s)
		abort();
	p += sprintf(p, strcmp(key, "argv") ? "{\"argv\":[\"x\"],\"%s\":[" : "{\"%s\":[", key);
	for (unsigned i = 0; i < n; i++)
		p += sprintf(p, "%s\"%s\"", i ? "," : "", item);
	sprintf(p, "]}");
	return s;
}

static void test_exec_hostile(void **state)
{
	static const char *const bad[] = {
		"", "{}", "[]", "\"argv\"", "null", "42",
		"{\"argv\":[]}",
		"{\"argv\":\"sh\"}",
		"{\"argv\":[\"\"]}",
		"{\"argv\":[1]}",
		"{\"argv\":[null]}",
		"{\"argv\":[\"sh\",{}]}",
		"{\"argv\":[\"sh\",[\"x\"]]}",
		"{\"argv\":[\"sh\",true]}",
		"{\"argv\":[\"a\\u0000b\"]}",
		"{\"env\":[\"A=1\"]}",
		"{\"argv\":[\"sh\"],\"env\":\"A=1\"}",
		"{\"argv\":[\"sh\"],\"env\":[\"NOEQUALS\"]}",
		"{\"argv\":[\"sh\"],\"env\":[\"=x\"]}",
		"{\"argv\":[\"sh\"],\"env\":[3]}",
		"{\"argv\":[\"sh\"],\"cwd\":\"relative\"}",
		"{\"argv\":[\"sh\"],\"cwd\":\"\"}",
		"{\"argv\":[\"sh\"],\"cwd\":5}",
		"{\"argv\":[\"sh\"],\"tty\":\"yes\"}",
		"{\"argv\":[\"sh\"],\"tty\":1}",
		"{\"argv\":[\"sh\"],\"rows\":-1}",
		"{\"argv\":[\"sh\"],\"cols\":65536}",
		"{\"argv\":[\"sh\"],\"rows\":1.5}",
		"{\"argv\":[\"sh\"],\"rows\":\"24\"}",
		"{\"argv\":[\"sh\"],\"term\":7}",
		"{\"argv\":[\"sh\"]",                  /* truncated */
		"{\"argv\":[\"sh",
		"{\"argv\":[\"sh\"]}x",                /* trailing bytes */
		"{\"argv\":[\"sh\"]}{}",
		"{'argv':['sh']}",                     /* not strict JSON */
		"{\"argv\":[\"sh\",],}",
		"{\"argv\":[\"\xff\xfe\"]}",           /* not UTF-8 */
		"{\"argv\":[\"sh\"],\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		exec_bad(bad[i], strlen(bad[i]), bad[i]);
	/* a NUL after valid JSON, inside the payload */
	exec_bad("{\"argv\":[\"sh\"]}\0", 17, "NUL after the JSON");
	/* bounds */
	char *s = many("argv", "a", AGENT_MAX_ARGS + 1);
	exec_bad(s, strlen(s), "too many args");
	free(s);
	s = many("env", "A=1", AGENT_MAX_ENV + 1);
	exec_bad(s, strlen(s), "too many env");
	free(s);
	char *cwd = malloc(AGENT_MAX_CWD + 64);
	if (!cwd)
		abort();
	int n = sprintf(cwd, "{\"argv\":[\"sh\"],\"cwd\":\"/");
	memset(cwd + n, 'd', AGENT_MAX_CWD);
	strcpy(cwd + n + AGENT_MAX_CWD, "\"}");
	exec_bad(cwd, strlen(cwd), "cwd too long");
	free(cwd);
	char term[AGENT_MAX_TERM + 64];
	n = sprintf(term, "{\"argv\":[\"sh\"],\"term\":\"");
	memset(term + n, 't', AGENT_MAX_TERM);
	strcpy(term + n + AGENT_MAX_TERM, "\"}");
	exec_bad(term, strlen(term), "term too long");

	/* exactly at the limits: accepted */
	struct agent_exec y;
	struct err e = { 0 };
	s = many("argv", "a", AGENT_MAX_ARGS);
	assert_int_equal(agent_exec_parse((const uint8_t *)s, strlen(s), &y, &e), 0);
	assert_non_null(y.argv[AGENT_MAX_ARGS - 1]);
	assert_null(y.argv[AGENT_MAX_ARGS]);
	agent_exec_free(&y);
	free(s);
	s = many("env", "A=1", AGENT_MAX_ENV);
	assert_int_equal(agent_exec_parse((const uint8_t *)s, strlen(s), &y, &e), 0);
	assert_null(y.env[AGENT_MAX_ENV]);
	agent_exec_free(&y);
	free(s);
	/* unknown keys are ignored */
	static const char fut[] = "{\"argv\":[\"sh\"],\"future\":{\"a\":1},\"tty\":false}";
	assert_int_equal(agent_exec_parse((const uint8_t *)fut, strlen(fut), &y, &e), 0);
	agent_exec_free(&y);
}

static void test_exec_encode_limits(void **state)
{
	struct agent_exec x = { .argv = { NULL } };
	char *json = NULL;
	size_t len;
	struct err e = { 0 };
	assert_true(agent_exec_encode(&x, &json, &len, &e) < 0); /* no command */
	assert_int_equal(e.exit_code, EXIT_USAGE);

	for (int i = 0; i < AGENT_MAX_ARGS; i++)
		x.argv[i] = "a";
	x.argv[AGENT_MAX_ARGS] = NULL;
	err_clear(&e);
	assert_int_equal(agent_exec_encode(&x, &json, &len, &e), 0);
	free(json);

	struct agent_exec z = { .argv = { "sh", NULL }, .env = { "BAD", NULL } };
	err_clear(&e);
	assert_true(agent_exec_encode(&z, &json, &len, &e) < 0);
	assert_non_null(strstr(e.msg, "NAME=value"));

	/* a command line longer than one frame */
	char *big = malloc(AGENT_MAX_PAYLOAD + 1);
	if (!big)
		abort();
	memset(big, 'b', AGENT_MAX_PAYLOAD);
	big[AGENT_MAX_PAYLOAD] = '\0';
	struct agent_exec w = { .argv = { "echo", big, NULL } };
	err_clear(&e);
	assert_true(agent_exec_encode(&w, &json, &len, &e) < 0);
	assert_non_null(strstr(e.msg, "limit"));
	free(big);

	struct agent_exec r = { .argv = { "sh", NULL }, .cwd = "rel" };
	err_clear(&e);
	assert_true(agent_exec_encode(&r, &json, &len, &e) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_sizes),
		cmocka_unit_test(test_frame_hostile),
		cmocka_unit_test(test_u32),
		cmocka_unit_test(test_send_over_pipe),
		cmocka_unit_test(test_exec_roundtrip),
		cmocka_unit_test(test_exec_hostile),
		cmocka_unit_test(test_exec_encode_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
