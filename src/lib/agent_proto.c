/* agent_proto.c - frames and the EXEC request of the host <-> guest agent
 * protocol (see agent_proto.h). Everything here parses untrusted bytes. */
#include "lib/agent_proto.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

uint32_t agent_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void agent_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

int agent_type_from_host(uint8_t type)
{
	return type >= AGENT_EXEC && type <= AGENT_POWEROFF;
}

/* The payload size a type requires: -1 any (up to AGENT_MAX_PAYLOAD), -2 an
 * unknown type. */
static int agent_type_size(uint8_t type)
{
	switch (type) {
	case AGENT_EXEC:
	case AGENT_STDIN:
	case AGENT_STDOUT:
	case AGENT_STDERR:
	case AGENT_ERROR:
		return -1;
	case AGENT_RESIZE:
	case AGENT_SIGNAL:
	case AGENT_STARTED:
	case AGENT_EXIT:
		return 4;
	case AGENT_PING:
	case AGENT_POWEROFF:
	case AGENT_PONG:
	case AGENT_OK:
		return 0;
	default:
		return -2;
	}
}

int agent_frame_parse(const uint8_t *buf, size_t len, struct agent_frame *f)
{
	if (len < AGENT_HDR)
		return 0;
	uint8_t type = buf[0];
	uint32_t plen = agent_get_u32(buf + 1);
	int want = agent_type_size(type);
	if (want == -2 || plen > AGENT_MAX_PAYLOAD || (want >= 0 && plen != (uint32_t)want))
		return -EPROTO;
	if (len - AGENT_HDR < plen)
		return 0;
	f->type = type;
	f->len = plen;
	f->payload = buf + AGENT_HDR;
	return (int)(AGENT_HDR + plen);
}

void agent_frame_header(uint8_t hdr[AGENT_HDR], uint8_t type, uint32_t len)
{
	hdr[0] = type;
	agent_put_u32(hdr + 1, len);
}

int agent_send(int fd, uint8_t type, const void *payload, uint32_t len)
{
	uint8_t hdr[AGENT_HDR];
	if (len > AGENT_MAX_PAYLOAD)
		return -EMSGSIZE;
	agent_frame_header(hdr, type, len);
	struct iovec iov[2] = { { hdr, AGENT_HDR }, { (void *)payload, len } };
	int n = len ? 2 : 1, sock = 1;
	struct iovec *v = iov;
	while (n > 0) {
		ssize_t w;
		if (sock) {
			struct msghdr m = { .msg_iov = v, .msg_iovlen = (size_t)n };
			w = sendmsg(fd, &m, MSG_NOSIGNAL);
			if (w < 0 && errno == ENOTSOCK) {
				sock = 0; /* a pipe (tests): plain writev */
				continue;
			}
		} else {
			w = writev(fd, v, n);
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		size_t done = (size_t)w;
		while (n > 0 && done >= v->iov_len) {
			done -= v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (uint8_t *)v->iov_base + done;
			v->iov_len -= done;
		}
	}
	return 0;
}

/* ---- EXEC ---- */

static int exec_check_env(const char *s)
{
	const char *eq = strchr(s, '=');
	return eq && eq != s;
}

/* Add a JSON array of strings under key; refuses more than max. */
static int exec_add_strings(struct json_object *o, const char *key, const char *const *v,
			    size_t max, struct err *e)
{
	struct json_object *a = json_object_new_array();
	if (!a)
		return err_set(e, ENOMEM, "encode the command: out of memory");
	json_object_object_add(o, key, a);
	for (size_t i = 0; v && v[i]; i++) {
		if (i >= max)
			return err_exit(e, EXIT_USAGE, "too many %s entries (the limit is %zu)",
					!strcmp(key, "argv") ? "argument" : "environment", max);
		if (!strcmp(key, "env") && !exec_check_env(v[i]))
			return err_exit(e, EXIT_USAGE, "bad environment entry '%.60s'; give NAME=value", v[i]);
		json_object_array_add(a, json_object_new_string(v[i]));
	}
	return 0;
}

int agent_exec_encode(const struct agent_exec *x, char **json, size_t *len, struct err *e)
{
	if (!x->argv[0] || !x->argv[0][0])
		return err_exit(e, EXIT_USAGE, "missing command");
	if (x->cwd && (x->cwd[0] != '/' || strlen(x->cwd) >= AGENT_MAX_CWD))
		return err_exit(e, EXIT_USAGE, "bad working directory '%.60s'; give an absolute path", x->cwd);
	if (x->term && strlen(x->term) >= AGENT_MAX_TERM)
		return err_exit(e, EXIT_USAGE, "TERM '%.60s' is too long", x->term);
	struct json_object *o = json_object_new_object();
	if (!o)
		return err_set(e, ENOMEM, "encode the command: out of memory");
	int r = exec_add_strings(o, "argv", x->argv, AGENT_MAX_ARGS, e);
	if (r == 0)
		r = exec_add_strings(o, "env", x->env, AGENT_MAX_ENV, e);
	if (r == 0) {
		if (x->cwd)
			json_object_object_add(o, "cwd", json_object_new_string(x->cwd));
		json_object_object_add(o, "tty", json_object_new_boolean(x->tty));
		json_object_object_add(o, "rows", json_object_new_int(x->rows));
		json_object_object_add(o, "cols", json_object_new_int(x->cols));
		if (x->term)
			json_object_object_add(o, "term", json_object_new_string(x->term));
		size_t n;
		const char *s = json_object_to_json_string_length(
			o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
		if (!s)
			r = err_set(e, ENOMEM, "encode the command: out of memory");
		else if (n > AGENT_MAX_PAYLOAD)
			r = err_exit(e, EXIT_USAGE, "the command and its environment take %zu bytes; the limit is %d",
				     n, AGENT_MAX_PAYLOAD);
		else if (!(*json = strdup(s)))
			r = err_set(e, ENOMEM, "encode the command: out of memory");
		else
			*len = n;
	}
	json_object_put(o);
	return r;
}

/* A string member that holds no NUL byte; NULL and *bad set when the value
 * is not such a string. */
static const char *exec_string(struct json_object *v, size_t *len, int *bad)
{
	if (!json_object_is_type(v, json_type_string)) {
		*bad = 1;
		return NULL;
	}
	const char *s = json_object_get_string(v);
	int n = json_object_get_string_len(v);
	if (!s || n < 0 || memchr(s, '\0', (size_t)n)) {
		*bad = 1;
		return NULL;
	}
	*len = (size_t)n;
	return s;
}

/* Size of the strings of an array (with their NULs); -EPROTO if it is not
 * an array of at most max NUL-free strings. */
static long exec_array_size(struct json_object *a, size_t max)
{
	if (!json_object_is_type(a, json_type_array) || json_object_array_length(a) > max)
		return -EPROTO;
	long total = 0;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		size_t n;
		int bad = 0;
		exec_string(json_object_array_get_idx(a, i), &n, &bad);
		if (bad)
			return -EPROTO;
		total += (long)n + 1;
	}
	return total;
}

/* Copy the strings of a checked array into *pool, pointers into out[]. */
static void exec_copy_array(struct json_object *a, const char **out, char **pool)
{
	size_t i = 0;
	for (; a && i < json_object_array_length(a); i++) {
		struct json_object *v = json_object_array_get_idx(a, i);
		size_t n = (size_t)json_object_get_string_len(v);
		memcpy(*pool, json_object_get_string(v), n + 1);
		out[i] = *pool;
		*pool += n + 1;
	}
	out[i] = NULL;
}

/* rows/cols: absent is 0, otherwise an integer 0..65535. */
static int exec_u16(struct json_object *o, const char *key, uint16_t *out)
{
	struct json_object *v;
	*out = 0;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -1;
	int64_t n = json_object_get_int64(v);
	if (n < 0 || n > 65535)
		return -1;
	*out = (uint16_t)n;
	return 0;
}

/* Check the decoded object and copy it into x. */
static int exec_from_json(struct json_object *o, struct agent_exec *x, struct err *e)
{
	struct json_object *argv = NULL, *env = NULL, *cwd = NULL, *term = NULL, *tty;
	if (!json_object_is_type(o, json_type_object))
		return err_set(e, EPROTO, "EXEC is not a JSON object");
	if (!json_object_object_get_ex(o, "argv", &argv))
		return err_set(e, EPROTO, "EXEC has no argv");
	long na = exec_array_size(argv, AGENT_MAX_ARGS);
	if (na < 0 || json_object_array_length(argv) == 0)
		return err_set(e, EPROTO, "EXEC argv must be 1 to %d strings", AGENT_MAX_ARGS);
	if (json_object_get_string_len(json_object_array_get_idx(argv, 0)) == 0)
		return err_set(e, EPROTO, "EXEC argv[0] is empty");
	long ne = 0;
	if (json_object_object_get_ex(o, "env", &env) && !json_object_is_type(env, json_type_null)) {
		if ((ne = exec_array_size(env, AGENT_MAX_ENV)) < 0)
			return err_set(e, EPROTO, "EXEC env must be at most %d strings", AGENT_MAX_ENV);
		for (size_t i = 0; i < json_object_array_length(env); i++)
			if (!exec_check_env(json_object_get_string(json_object_array_get_idx(env, i))))
				return err_set(e, EPROTO, "EXEC env entry %zu is not NAME=value", i);
	} else {
		env = NULL;
	}
	size_t ncwd = 0, nterm = 0;
	int bad = 0;
	if (json_object_object_get_ex(o, "cwd", &cwd) && !json_object_is_type(cwd, json_type_null)) {
		const char *s = exec_string(cwd, &ncwd, &bad);
		if (bad || s[0] != '/' || ncwd >= AGENT_MAX_CWD)
			return err_set(e, EPROTO, "EXEC cwd must be an absolute path under %d bytes",
				       AGENT_MAX_CWD);
	} else {
		cwd = NULL;
	}
	if (json_object_object_get_ex(o, "term", &term) && !json_object_is_type(term, json_type_null)) {
		exec_string(term, &nterm, &bad);
		if (bad || nterm >= AGENT_MAX_TERM)
			return err_set(e, EPROTO, "EXEC term must be a string under %d bytes", AGENT_MAX_TERM);
	} else {
		term = NULL;
	}
	x->tty = 0;
	if (json_object_object_get_ex(o, "tty", &tty)) {
		if (!json_object_is_type(tty, json_type_boolean))
			return err_set(e, EPROTO, "EXEC tty must be true or false");
		x->tty = json_object_get_boolean(tty);
	}
	if (exec_u16(o, "rows", &x->rows) < 0 || exec_u16(o, "cols", &x->cols) < 0)
		return err_set(e, EPROTO, "EXEC rows and cols must be integers 0..65535");

	size_t total = (size_t)na + (size_t)ne + (cwd ? ncwd + 1 : 0) + (term ? nterm + 1 : 0) + 1;
	char *pool = x->strings = malloc(total);
	if (!pool)
		return err_set(e, ENOMEM, "EXEC: out of memory");
	exec_copy_array(argv, x->argv, &pool);
	exec_copy_array(env, x->env, &pool);
	if (cwd) {
		memcpy(pool, json_object_get_string(cwd), ncwd + 1);
		x->cwd = pool;
		pool += ncwd + 1;
	}
	if (term) {
		memcpy(pool, json_object_get_string(term), nterm + 1);
		x->term = pool;
	}
	return 0;
}

int agent_exec_parse(const uint8_t *payload, size_t len, struct agent_exec *x, struct err *e)
{
	memset(x, 0, sizeof(*x));
	if (len == 0 || len > AGENT_MAX_PAYLOAD)
		return err_set(e, EPROTO, "EXEC payload of %zu bytes", len);
	struct json_tokener *tok = json_tokener_new_ex(4); /* {"argv":[".."]} is depth 2 */
	if (!tok)
		return err_set(e, ENOMEM, "EXEC: out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *o = json_tokener_parse_ex(tok, (const char *)payload, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	int r;
	if (!o || je != json_tokener_success)
		r = err_set(e, EPROTO, "EXEC is not valid JSON: %s",
			    je == json_tokener_continue ? "truncated" : json_tokener_error_desc(je));
	else if (end != len)
		r = err_set(e, EPROTO, "EXEC has %zu bytes after its JSON", len - end);
	else
		r = exec_from_json(o, x, e);
	json_object_put(o);
	if (r < 0) {
		agent_exec_free(x);
		memset(x, 0, sizeof(*x));
	}
	return r;
}

void agent_exec_free(struct agent_exec *x)
{
	free(x->strings);
	x->strings = NULL;
}
