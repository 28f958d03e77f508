/* fuzz_agent_proto.c - libFuzzer target for the guest agent protocol:
 * agent_frame_parse over a stream of frames (what either side reads from
 * the other) and agent_exec_parse of EXEC payloads.
 *
 * Input: first byte odd - the rest is one EXEC payload; even - the rest is
 * a frame stream. Every frame must lie inside the input with the size its
 * type requires; an accepted EXEC must obey the documented bounds and
 * survive encode -> parse unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/agent_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count(const char *const *v)
{
	size_t n = 0;
	while (v[n])
		n++;
	return n;
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void check_exec(const uint8_t *p, size_t len)
{
	struct agent_exec x;
	struct err e = { 0 };
	int r = agent_exec_parse(p, len, &x, &e);
	if (r < 0) {
		if (e.code != r || !e.msg[0] || x.strings || x.argv[0])
			abort();
		return;
	}
	size_t na = count(x.argv), ne = count(x.env);
	if (na < 1 || na > AGENT_MAX_ARGS || ne > AGENT_MAX_ENV || !x.argv[0][0])
		abort();
	for (size_t i = 0; i < ne; i++)
		if (!strchr(x.env[i], '=') || x.env[i][0] == '=')
			abort();
	if (x.cwd && (x.cwd[0] != '/' || strlen(x.cwd) >= AGENT_MAX_CWD))
		abort();
	if (x.term && strlen(x.term) >= AGENT_MAX_TERM)
		abort();
	char *json;
	size_t jlen;
	struct agent_exec y;
	if (agent_exec_encode(&x, &json, &jlen, &e) < 0) {
		/* only when our encoding is longer than the input, e.g. escapes */
		if (!strstr(e.msg, "limit"))
			abort();
		agent_exec_free(&x);
		return;
	}
	if (agent_exec_parse((const uint8_t *)json, jlen, &y, &e) != 0) {
		fprintf(stderr, "re-parse of our own EXEC failed: %s\n%s\n", e.msg, json);
		abort();
	}
	if (count(y.argv) != na || count(y.env) != ne || !same(x.cwd, y.cwd) ||
	    !same(x.term, y.term) || x.tty != y.tty || x.rows != y.rows || x.cols != y.cols)
		abort();
	for (size_t i = 0; i < na; i++)
		if (strcmp(x.argv[i], y.argv[i]))
			abort();
	for (size_t i = 0; i < ne; i++)
		if (strcmp(x.env[i], y.env[i]))
			abort();
	free(json);
	agent_exec_free(&y);
	agent_exec_free(&x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	if (mode & 1) {
		/* an exact-size copy so ASan sees any read past the payload */
		uint8_t *p = malloc(size ? size : 1);
		if (!p)
			return 0;
		memcpy(p, data, size);
		check_exec(p, size);
		free(p);
		return 0;
	}
	size_t off = 0;
	while (off < size) {
		struct agent_frame f;
		int n = agent_frame_parse(data + off, size - off, &f);
		if (n == -EPROTO || n == 0)
			break;
		if (n < AGENT_HDR || (size_t)n > size - off || f.len > AGENT_MAX_PAYLOAD ||
		    (size_t)n != AGENT_HDR + f.len || f.payload != data + off + AGENT_HDR)
			abort();
		if ((f.type == AGENT_RESIZE || f.type == AGENT_SIGNAL || f.type == AGENT_EXIT ||
		     f.type == AGENT_STARTED) && f.len != 4)
			abort();
		if (f.type == AGENT_EXEC)
			check_exec(f.payload, f.len);
		off += (size_t)n;
	}
	return 0;
}
