/* agent_proto.h - the wire format between `berth exec`/`berth run` on the
 * host and berth's guest agent inside a VM (one stream connection per
 * command, over virtio-vsock).
 *
 * Every message is a frame: a 5-byte header (u8 type, u32 little-endian
 * payload length) and the payload, at most AGENT_MAX_PAYLOAD bytes. Both
 * sides treat the other as untrusted: the host parses what a guest sends,
 * the agent what the host sends; agent_frame_parse is the only decoder and
 * is fuzzed (tests/fuzz/fuzz_agent_proto.c).
 *
 * A session: the client sends EXEC; the agent answers STARTED (the pid in
 * the guest) or ERROR; then STDIN/RESIZE/SIGNAL flow in, STDOUT/STDERR
 * flow out, STDIN with length 0 is end of input; the agent's last frame is
 * EXIT. Other requests (PING, POWEROFF) get one answer frame each. */
#ifndef BERTH_LIB_AGENT_PROTO_H
#define BERTH_LIB_AGENT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define AGENT_VSOCK_PORT   1024      /* the agent listens here in the guest */
#define AGENT_HDR          5
#define AGENT_MAX_PAYLOAD  65536
#define AGENT_MAX_ARGS     256       /* argv entries in EXEC */
#define AGENT_MAX_ENV      256
#define AGENT_MAX_CWD      4096      /* bytes of EXEC's "cwd", an absolute path */
#define AGENT_MAX_TERM     64        /* bytes of EXEC's "term" */

enum agent_type {
	/* host -> agent */
	AGENT_EXEC = 1,       /* JSON: {"argv":[..],"env":[..],"cwd":"/","tty":false,"rows":N,"cols":N,"term":"xterm"} */
	AGENT_STDIN = 2,      /* bytes; empty = end of input */
	AGENT_RESIZE = 3,     /* u16 rows, u16 cols (LE) */
	AGENT_SIGNAL = 4,     /* u32 signal number, to the command's process group */
	AGENT_PING = 5,       /* empty; answered with PONG */
	AGENT_POWEROFF = 6,   /* empty; the agent asks the guest's init to power off */
	/* agent -> host */
	AGENT_STARTED = 64,   /* u32 pid in the guest */
	AGENT_STDOUT = 65,    /* bytes */
	AGENT_STDERR = 66,    /* bytes */
	AGENT_EXIT = 67,      /* i32: exit code, or 128+N when killed by signal N */
	AGENT_ERROR = 68,     /* UTF-8 message; the command did not start (host exits 127) */
	AGENT_PONG = 69,      /* empty */
	AGENT_OK = 70,        /* empty: a request without other answer was done */
};

struct agent_frame {
	uint8_t type;
	uint32_t len;
	const uint8_t *payload;   /* points into the parsed buffer */
};

/* Decode the frame at the start of buf[0..len). Returns the bytes it
 * occupies (> 0), 0 when more bytes are needed, or -EPROTO when the header
 * is invalid (unknown type, length above AGENT_MAX_PAYLOAD, a fixed-size
 * payload of the wrong size): the connection must then be dropped. */
int agent_frame_parse(const uint8_t *buf, size_t len, struct agent_frame *f);

/* Encode a header for a payload of len bytes into hdr[AGENT_HDR]. */
void agent_frame_header(uint8_t hdr[AGENT_HDR], uint8_t type, uint32_t len);

/* Write one whole frame to fd (loops on short writes and EINTR). 0 or -errno. */
int agent_send(int fd, uint8_t type, const void *payload, uint32_t len);

/* Little-endian u32 of a 4-byte payload (RESIZE is two u16: rows, cols). */
uint32_t agent_get_u32(const uint8_t *p);
void agent_put_u32(uint8_t *p, uint32_t v);

/* 1 if type is one the host sends (EXEC..POWEROFF), 0 if the agent sends it. */
int agent_type_from_host(uint8_t type);

/* The EXEC request. argv and env are NULL-terminated; after agent_exec_parse
 * every string points into `strings`, which agent_exec_free releases.
 * Rules (enforced by parse and encode alike): argv has 1..AGENT_MAX_ARGS
 * strings, argv[0] non-empty; env has at most AGENT_MAX_ENV "NAME=value"
 * strings with a non-empty NAME; cwd, when given, is absolute and shorter
 * than AGENT_MAX_CWD; term shorter than AGENT_MAX_TERM; no string holds a
 * NUL byte; rows and cols fit in 16 bits (0 = unknown); the JSON text fits
 * in one frame. Unknown keys are ignored (newer hosts may add some). */
struct agent_exec {
	const char *argv[AGENT_MAX_ARGS + 1];
	const char *env[AGENT_MAX_ENV + 1];
	const char *cwd;          /* NULL: "/" */
	const char *term;         /* NULL: none; TERM for a tty when env has none */
	int tty;
	uint16_t rows, cols;
	char *strings;            /* owns the strings of a parsed request */
};

/* Encode x as EXEC's JSON payload: *json is malloc'd, *len its length
 * (<= AGENT_MAX_PAYLOAD). 0 or -errno with e set (too many arguments, too
 * long a command line, ...). */
int agent_exec_encode(const struct agent_exec *x, char **json, size_t *len, struct err *e);

/* Parse an untrusted EXEC payload into x (zeroed first). 0, or -EPROTO with
 * e saying what was wrong; x needs agent_exec_free either way. */
int agent_exec_parse(const uint8_t *payload, size_t len, struct agent_exec *x, struct err *e);

void agent_exec_free(struct agent_exec *x);

#endif
