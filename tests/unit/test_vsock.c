/* test_vsock.c - virtio-vsock (virtio 1.2 section 5.10): the connection
 * state machine (src/vm/virtio/vsock_conn.c) driven packet by packet, and
 * the device glue (src/vm/virtio/vsock.c) driven through the MMIO bus and
 * split rings in guest memory the way Linux's driver does, with a real
 * host client on the unix socket (no KVM: QueueNotify writes reach the
 * device loop through the bus). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vm/evloop.h"
#include "vm/layout.h"
#include "vm/memory.h"
#include "vm/virtio/mmio.h"
#include "vm/virtio/vsock.h"
#include "vm/virtio/vsock_conn.h"

#define GCID 3

/* ---- the state machine ---- */

/* A header the guest sends from guest_port to host_port. */
static struct vsock_hdr gh(uint16_t op, uint32_t guest_port, uint32_t host_port)
{
	return (struct vsock_hdr){ .src_cid = GCID, .dst_cid = VSOCK_CID_HOST,
				   .src_port = guest_port, .dst_port = host_port,
				   .type = VSOCK_TYPE_STREAM, .op = op,
				   .buf_alloc = 1u << 20, .fwd_cnt = 0 };
}

static int feed(struct vsock_table *t, struct vsock_hdr h, const void *payload)
{
	int conn;
	return vsock_guest_packet(t, &h, payload, h.len, &conn);
}

/* A connected connection to guest port `port`, whose guest has peer_buf
 * bytes of buffer; the "OK" line already written to the client. */
static unsigned open_conn(struct vsock_table *t, uint32_t port, uint32_t peer_buf)
{
	int i = vsock_client_new(t, 1000);
	assert_true(i >= 0);
	assert_int_equal(vsock_client_connect(t, (unsigned)i, port, 1000), 0);
	struct vsock_hdr h;
	assert_int_equal(vsock_next_ctl(t, (unsigned)i, &h), 1);
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	struct vsock_hdr r = gh(VSOCK_OP_RESPONSE, port, h.src_port);
	r.buf_alloc = peer_buf;
	assert_int_equal(feed(t, r, NULL), VSOCK_PKT_OK);
	const uint8_t *p;
	size_t n = vsock_conn_out(t, (unsigned)i, &p);
	assert_true(n > 3 && memcmp(p, "OK ", 3) == 0);
	vsock_client_wrote(t, (unsigned)i, n);
	return (unsigned)i;
}

static void test_hdr_layout(void **state)
{
	struct vsock_hdr h = { .src_cid = 0x0102030405060708ull, .dst_cid = 2, .src_port = 0x11223344,
			       .dst_port = 1024, .len = 0xaabbccdd, .type = 1, .op = 5,
			       .flags = 3, .buf_alloc = 262144, .fwd_cnt = 0xdeadbeef };
	uint8_t b[VSOCK_HDR_LEN];
	vsock_hdr_build(&h, b);
	assert_int_equal(b[0], 0x08);
	assert_int_equal(b[7], 0x01);
	assert_int_equal(b[8], 2);
	assert_int_equal(b[16], 0x44);
	assert_int_equal(b[20], 0x00);
	assert_int_equal(b[21], 0x04);
	assert_int_equal(b[24], 0xdd);
	assert_int_equal(b[28], 1);
	assert_int_equal(b[30], 5);
	assert_int_equal(b[32], 3);
	assert_int_equal(b[43], 0xde);
	struct vsock_hdr back;
	vsock_hdr_parse(b, &back);
	assert_int_equal(back.src_cid, h.src_cid);
	assert_int_equal(back.dst_cid, h.dst_cid);
	assert_int_equal(back.src_port, h.src_port);
	assert_int_equal(back.dst_port, h.dst_port);
	assert_int_equal(back.len, h.len);
	assert_int_equal(back.type, h.type);
	assert_int_equal(back.op, h.op);
	assert_int_equal(back.flags, h.flags);
	assert_int_equal(back.buf_alloc, h.buf_alloc);
	assert_int_equal(back.fwd_cnt, h.fwd_cnt);
}

static void test_parse_connect(void **state)
{
	uint32_t port = 0;
	size_t line = 0;
#define P(s) vsock_parse_connect(s, sizeof(s) - 1, &port, &line)
	assert_int_equal(P("CONNECT 1024\n"), 1);
	assert_int_equal(port, 1024);
	assert_int_equal(line, 13);
	assert_int_equal(P("CONNECT 52\r\nhello"), 1);
	assert_int_equal(port, 52);
	assert_int_equal(line, 12);
	assert_int_equal(P("CONNECT 4294967294\n"), 1);
	assert_int_equal(port, 4294967294u);
	assert_int_equal(P("CONNE"), 0);
	assert_int_equal(P(""), 0);
	assert_int_equal(P("CONNECT 4294967295\n"), -1);
	assert_int_equal(P("CONNECT 99999999999\n"), -1);
	assert_int_equal(P("CONNECT\n"), -1);
	assert_int_equal(P("CONNECT \n"), -1);
	assert_int_equal(P("CONNECT -1\n"), -1);
	assert_int_equal(P("CONNECT +1\n"), -1);
	assert_int_equal(P("CONNECT 1 \n"), -1);
	assert_int_equal(P("connect 1\n"), -1);
	assert_int_equal(P("CONNECT 1\0\n"), -1);
	assert_int_equal(P("CONNECT 000000000000000000000000000000001\n"), -1);  /* too long */
	assert_int_equal(P("CONNECT 0000000000000000000000001"), -1);           /* 32, no newline */
#undef P
}

/* 5.10.6.5: REQUEST from a fresh host port, RESPONSE, "OK <port>\n". */
static void test_handshake(void **state)
{
	struct vsock_table t;
	vsock_table_init(&t, GCID);
	int i = vsock_client_new(&t, 0);
	assert_int_equal(i, 0);
	struct vsock_hdr h;
	assert_int_equal(vsock_next_ctl(&t, 0, &h), 0);             /* nothing before CONNECT */
	assert_int_equal(vsock_conn_read_room(&t, 0), 0);
	assert_int_equal(vsock_client_connect(&t, 0, 1024, 0), 0);
	assert_int_equal(vsock_client_connect(&t, 0, 1024, 0), -1);  /* only once */
	assert_int_equal(vsock_next_ctl(&t, 0, &h), 1);
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	assert_int_equal(h.src_cid, VSOCK_CID_HOST);
	assert_int_equal(h.dst_cid, GCID);
	assert_int_equal(h.src_port, VSOCK_HOST_PORT_MIN);
	assert_int_equal(h.dst_port, 1024);
	assert_int_equal(h.type, VSOCK_TYPE_STREAM);
	assert_int_equal(h.len, 0);
	assert_int_equal(h.buf_alloc, VSOCK_BUF_ALLOC);
	assert_int_equal(h.fwd_cnt, 0);
	assert_int_equal(vsock_next_ctl(&t, 0, &h), 0);
	const uint8_t *p;
	assert_int_equal(vsock_conn_out(&t, 0, &p), 0);               /* no OK yet */

	/* a second client gets another port */
	assert_int_equal(vsock_client_new(&t, 0), 1);
	assert_int_equal(vsock_client_connect(&t, 1, 1024, 0), 0);
	assert_int_equal(vsock_next_ctl(&t, 1, &h), 1);
	assert_int_equal(h.src_port, VSOCK_HOST_PORT_MIN + 1);

	struct vsock_hdr r = gh(VSOCK_OP_RESPONSE, 1024, VSOCK_HOST_PORT_MIN);
	r.buf_alloc = 5000;
	assert_int_equal(feed(&t, r, NULL), VSOCK_PKT_OK);
	assert_int_equal(t.conn[0].state, VSOCK_CONNECTED);
	assert_int_equal(t.conn[1].state, VSOCK_CONNECTING);
	size_t n = vsock_conn_out(&t, 0, &p);
	assert_int_equal(n, 14);
	assert_memory_equal(p, "OK 1073741824\n", 14);
	vsock_client_wrote(&t, 0, 5);
	assert_int_equal(vsock_conn_out(&t, 0, &p), 9);
	assert_memory_equal(p, "73741824\n", 9);
	vsock_client_wrote(&t, 0, 9);
	assert_int_equal(vsock_conn_out(&t, 0, &p), 0);
	assert_int_equal(t.conn[0].fwd_cnt, 0);                       /* the line is not data */
	assert_int_equal(vsock_conn_read_room(&t, 0), 5000);
	assert_int_equal(vsock_table_next_deadline(&t), VSOCK_CONNECT_MS);  /* conn 1 */
	vsock_table_free(&t);
}

/* Guest to client: the ring keeps order across its wrap, fwd_cnt counts
 * what the client took, a credit update goes out after a quarter. */
static void test_data_guest_to_client(void **state)
{
	struct vsock_table t;
	vsock_table_init(&t, GCID);
	unsigned i = open_conn(&t, 1024, 1u << 20);
	uint32_t hp = t.conn[i].host_port;
	static uint8_t chunk[VSOCK_MAX_PAYLOAD];
	uint32_t seq = 0, got = 0;
	struct vsock_hdr h;
	/* 1 MiB through the 256 KiB buffer, in odd-sized pieces */
	while (seq < (1u << 20) || got < seq) {
		uint32_t in_buf = t.conn[i].rx_cnt - t.conn[i].fwd_cnt;
		uint32_t len = 40000;
		if (seq < (1u << 20) && in_buf + len <= VSOCK_BUF_ALLOC) {
			for (uint32_t k = 0; k < len; k++)
				chunk[k] = (uint8_t)((seq + k) * 7);
			struct vsock_hdr rw = gh(VSOCK_OP_RW, 1024, hp);
			rw.len = len;
			assert_int_equal(feed(&t, rw, chunk), VSOCK_PKT_OK);
			seq += len;
			continue;
		}
		const uint8_t *p;
		size_t n = vsock_conn_out(&t, i, &p);
		assert_true(n > 0);
		if (n > 30000)
			n = 30000;
		for (size_t k = 0; k < n; k++)
			assert_int_equal(p[k], (uint8_t)((got + k) * 7));
		vsock_client_wrote(&t, i, n);
		got += (uint32_t)n;
		if (t.conn[i].pend & VSOCK_PEND_CREDIT_UPDATE) {
			assert_true(t.conn[i].fwd_cnt - t.conn[i].fwd_advertised >= VSOCK_BUF_ALLOC / 4);
			assert_int_equal(vsock_next_ctl(&t, i, &h), 1);
			assert_int_equal(h.op, VSOCK_OP_CREDIT_UPDATE);
			assert_int_equal(h.fwd_cnt, t.conn[i].fwd_cnt);
			assert_int_equal(h.buf_alloc, VSOCK_BUF_ALLOC);
		}
	}
	assert_int_equal(t.conn[i].fwd_cnt, seq);
	/* a data packet carries the credit too, so a pending update is dropped */
	struct vsock_hdr rw = gh(VSOCK_OP_RW, 1024, hp);
	rw.len = 3;
	assert_int_equal(feed(&t, rw, "abc"), VSOCK_PKT_OK);
	t.conn[i].pend |= VSOCK_PEND_CREDIT_UPDATE;
	vsock_data_hdr(&t, i, 10, &h);
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_int_equal(h.len, 10);
	assert_int_equal(vsock_next_ctl(&t, i, &h), 0);
	vsock_table_free(&t);
}

/* 5.10.6.3 both ways: never more than the guest's free space; a guest
 * that overruns ours is reset. */
static void test_credit(void **state)
{
	struct vsock_table t;
	vsock_table_init(&t, GCID);
	unsigned i = open_conn(&t, 1024, 1000);
	uint32_t hp = t.conn[i].host_port;
	struct vsock_hdr h;
	assert_int_equal(vsock_conn_read_room(&t, i), 1000);
	vsock_data_hdr(&t, i, 600, &h);
	assert_int_equal(vsock_conn_read_room(&t, i), 400);
	vsock_data_hdr(&t, i, 400, &h);
	assert_int_equal(vsock_conn_read_room(&t, i), 0);            /* exhausted: stop reading */
	struct vsock_hdr cu = gh(VSOCK_OP_CREDIT_UPDATE, 1024, hp);
	cu.buf_alloc = 1000;
	cu.fwd_cnt = 600;
	assert_int_equal(feed(&t, cu, NULL), VSOCK_PKT_OK);
	assert_int_equal(vsock_conn_read_room(&t, i), 600);           /* resumed */
	cu.buf_alloc = 1u << 30;                                      /* capped at one packet */
	assert_int_equal(feed(&t, cu, NULL), VSOCK_PKT_OK);
	assert_int_equal(vsock_conn_read_room(&t, i), VSOCK_MAX_PAYLOAD);
	cu.fwd_cnt = 5000;                                            /* more than we sent */
	assert_int_equal(feed(&t, cu, NULL), VSOCK_PKT_OK);
	assert_int_equal(vsock_conn_read_room(&t, i), 0);
	cu.buf_alloc = 0;                                             /* shrunk below in flight */
	cu.fwd_cnt = 0;
	assert_int_equal(feed(&t, cu, NULL), VSOCK_PKT_OK);
	assert_int_equal(vsock_conn_read_room(&t, i), 0);
	/* counters wrap */
	t.conn[i].tx_cnt = 0xfffffff0u;
	cu.fwd_cnt = 0xffffff00u;
	cu.buf_alloc = 0x200;
	assert_int_equal(feed(&t, cu, NULL), VSOCK_PKT_OK);
	assert_int_equal(vsock_conn_read_room(&t, i), 0x110);
	vsock_data_hdr(&t, i, 0x100, &h);
	assert_int_equal(t.conn[i].tx_cnt, 0xf0);
	assert_int_equal(vsock_conn_read_room(&t, i), 0x10);

	/* a credit request is answered with our counters */
	assert_int_equal(feed(&t, gh(VSOCK_OP_CREDIT_REQUEST, 1024, hp), NULL), VSOCK_PKT_OK);
	assert_int_equal(vsock_next_ctl(&t, i, &h), 1);
	assert_int_equal(h.op, VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(h.buf_alloc, VSOCK_BUF_ALLOC);

	/* the guest sends more than our buffer: reset */
	static uint8_t big[VSOCK_MAX_PAYLOAD];
	struct vsock_hdr rw = gh(VSOCK_OP_RW, 1024, hp);
	rw.len = VSOCK_MAX_PAYLOAD;
	for (int k = 0; k < 4; k++)
		assert_int_equal(feed(&t, rw, big), VSOCK_PKT_OK);
	rw.len = 1;
	assert_int_equal(feed(&t, rw, big), VSOCK_PKT_RST);
	assert_int_equal(t.conn[i].state, VSOCK_CLOSING);
	assert_true(vsock_conn_want_close(&t, i));
	const uint8_t *p;
	assert_int_equal(vsock_conn_out(&t, i, &p), 0);               /* dropped */
	assert_int_equal(vsock_next_ctl(&t, i, &h), 1);
	assert_int_equal(h.op, VSOCK_OP_RST);
	assert_int_equal(h.dst_port, 1024);
	assert_int_equal(t.st.protocol_errors, 1);
	vsock_client_closed(&t, i);
	assert_int_equal(t.conn[i].state, VSOCK_FREE);
	vsock_table_free(&t);
}

/* Client EOF first: SHUTDOWN(SEND); the guest closes: RST, client closed. */
static void test_shutdown_client_first(void **state)
{
	struct vsock_table t;
	vsock_table_init(&t, GCID);
	unsigned i = open_conn(&t, 1024, 4096);
	uint32_t hp = t.conn[i].host_port;
	struct vsock_hdr h;
	vsock_client_eof(&t, i);
	assert_int_equal(vsock_conn_read_room(&t, i), 0);
	assert_int_equal(vsock_next_ctl(&t, i, &h), 1);
	assert_int_equal(h.op, VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VSOCK_SHUTDOWN_SEND);
	assert_int_equal(vsock_next_ctl(&t, i, &h), 0);
	/* the guest still sends; then closes its socket (both flags) */
	struct vsock_hdr rw = gh(VSOCK_OP_RW, 1024, hp);
	rw.len = 4;
	assert_int_equal(feed(&t, rw, "last"), VSOCK_PKT_OK);
	struct vsock_hdr sd = gh(VSOCK_OP_SHUTDOWN, 1024, hp);
	sd.flags = VSOCK_SHUTDOWN_SEND | VSOCK_SHUTDOWN_RCV;
	assert_int_equal(feed(&t, sd, NULL), VSOCK_PKT_OK);
	assert_false(vsock_conn_want_close(&t, i));                   /* "last" first */
	const uint8_t *p;
	assert_int_equal(vsock_conn_out(&t, i, &p), 4);
	vsock_client_wrote(&t, i, 4);
	assert_true(vsock_conn_want_close(&t, i));
	assert_int_equal(vsock_next_ctl(&t, i, &h), 1);
	assert_int_equal(h.op, VSOCK_OP_RST);
	assert_int_equal(h.fwd_cnt, 4);
	assert_int_equal(t.conn[i].state, VSOCK_CLOSING);             /* until the glue closes */
	vsock_client_closed(&t, i);
	assert_int_equal(t.conn[i].state, VSOCK_FREE);
	vsock_table_free(&t);
}

/* The guest shuts its sending side first: the client's write side is shut
 * once the data is out; the client's EOF then ends it. */
static void test_shutdown_guest_first(void **state)
{
	struct vsock_table t;
	vsock_table_init(&t, GCID);
	unsigned i = open_conn(&t, 1024, 4096);
	uint32_t hp = t.conn[i].host_port;
	struct vsock_hdr h;
	struct vsock_hdr rw = gh(VSOCK_OP_RW, 1024, hp);
	rw.len = 2;
	assert_int_equal(feed(&t, rw, "hi"), VSOCK_PKT_OK);
	struct vsock_hdr sd = gh(VSOCK_OP_SHUTDOWN, 1024, hp);
	sd.flags = VSOCK_SHUTDOWN_SEND;
	assert_int_equal(feed(&t, sd, NULL), VSOCK_PKT_OK);
	assert_false(vsock_conn_want_shut_wr(&t, i));
	const uint8_t *p;
	assert_int_equal(vsock_conn_out(&t, i, &p), 2);
	vsock_client_wrote(&t, i, 2);
	assert_true(vsock_conn_want_shut_wr(&t, i));
	vsock_client_shut_done(&t, i);
	assert_false(vsock_conn_want_shut_wr(&t, i));
	assert_false(vsock_conn_want_close(&t, i));
	assert_int_equal(vsock_conn_read_room(&t, i), VSOCK_MAX_PAYLOAD); /* the client may still send */
	/* data after its SHUTDOWN(SEND) is a protocol error... checked below */
	vsock_client_eof(&t, i);                                      /* both done */
	assert_true(vsock_conn_want_close(&t, i));
	assert_int_equal(vsock_next_ctl(&t, i, &h), 1);
	assert_int_equal(h.op, VSOCK_OP_RST);
	vsock_client_closed(&t, i);
	assert_int_equal(t.conn[i].state, VSOCK_FREE);

	i = open_conn(&t, 1024, 4096);
	hp = t.conn[i].host_port;
	assert_int_equal(feed(&t, gh(VSOCK_OP_SHUTDOWN, 1024, hp), NULL), VSOCK_PKT_OK);  /* flags 0 */
	assert_false(vsock_conn_want_shut_wr(&t, i));
	sd.dst_port = hp;
	assert_int_equal(feed(&t, sd, NULL), VSOCK_PKT_OK);
	rw.dst_port = hp;
	assert_int_equal(feed(&t, rw, "hi"), VSOCK_PKT_RST);
	/* guest shuts receiving: the client's bytes are read and dropped */
	i = open_conn(&t, 1024, 4096);
	hp = t.conn[i].host_port;
	sd = gh(VSOCK_OP_SHUTDOWN, 1024, hp);
	sd.flags = VSOCK_SHUTDOWN_RCV;
	assert_int_equal(feed(&t, sd, NULL), VSOCK_PKT_OK);
	assert_int_equal(vsock_conn_read_room(&t, i), 0);
	assert_true(vsock_conn_discarding(&t, i));
	vsock_table_free(&t);
}

/* RST from the guest, a refused connection, client errors, deadlines. */
static void test_rst_and_timeouts(void **state)
{
	struct vsock_table t;
	vsock_table_init(&t, GCID);
	struct vsock_hdr h;
	unsigned i = open_conn(&t, 1024, 4096);
	uint32_t hp = t.conn[i].host_port;
	struct vsock_hdr rw = gh(VSOCK_OP_RW, 1024, hp);
	rw.len = 2;
	assert_int_equal(feed(&t, rw, "hi"), VSOCK_PKT_OK);
	assert_int_equal(feed(&t, gh(VSOCK_OP_RST, 1024, hp), NULL), VSOCK_PKT_OK);
	assert_true(vsock_conn_want_close(&t, i));
	assert_int_equal(vsock_next_ctl(&t, i, &h), 0);               /* no RST for an RST */
	const uint8_t *p;
	assert_int_equal(vsock_conn_out(&t, i, &p), 0);
	assert_int_equal(feed(&t, rw, "hi"), VSOCK_PKT_OK);           /* closing: ignored */
	vsock_client_closed(&t, i);
	assert_int_equal(t.conn[i].state, VSOCK_FREE);
	assert_int_equal(feed(&t, rw, "hi"), VSOCK_PKT_RST);          /* now unknown */
	assert_int_equal(vsock_next_rst(&t, &h), 1);
	assert_int_equal(h.src_port, hp);
	assert_int_equal(h.dst_port, 1024);

	/* nothing listens on port 7: RST answers the REQUEST */
	int k = vsock_client_new(&t, 0);
	assert_int_equal(vsock_client_connect(&t, (unsigned)k, 7, 0), 0);
	assert_int_equal(vsock_next_ctl(&t, (unsigned)k, &h), 1);
	assert_int_equal(feed(&t, gh(VSOCK_OP_RST, 7, h.src_port), NULL), VSOCK_PKT_OK);
	assert_true(vsock_conn_want_close(&t, (unsigned)k));
	assert_int_equal(vsock_next_ctl(&t, (unsigned)k, &h), 0);
	vsock_client_closed(&t, (unsigned)k);

	/* a client that never sends its line; one whose guest never answers;
	 * one whose REQUEST never even left (no receive buffers) */
	int a = vsock_client_new(&t, 100);
	int b = vsock_client_new(&t, 200);
	int c = vsock_client_new(&t, 300);
	assert_int_equal(vsock_client_connect(&t, (unsigned)b, 1024, 200), 0);
	assert_int_equal(vsock_client_connect(&t, (unsigned)c, 1024, 300), 0);
	assert_int_equal(vsock_next_ctl(&t, (unsigned)b, &h), 1);
	assert_int_equal(vsock_table_next_deadline(&t), 100 + VSOCK_CONNECT_MS);
	assert_int_equal(vsock_table_tick(&t, 100 + VSOCK_CONNECT_MS - 1), 0);
	assert_int_equal(vsock_table_tick(&t, 100 + VSOCK_CONNECT_MS), 1);
	assert_true(vsock_conn_want_close(&t, (unsigned)a));
	assert_false(vsock_conn_want_close(&t, (unsigned)b));
	assert_int_equal(vsock_table_tick(&t, 400 + VSOCK_CONNECT_MS), 1);
	assert_true(vsock_conn_want_close(&t, (unsigned)b));
	assert_true(vsock_conn_want_close(&t, (unsigned)c));
	assert_int_equal(vsock_next_ctl(&t, (unsigned)b, &h), 1);     /* the guest knew b */
	assert_int_equal(h.op, VSOCK_OP_RST);
	assert_int_equal(vsock_next_ctl(&t, (unsigned)c, &h), 0);     /* but not c */
	assert_int_equal(vsock_table_next_deadline(&t), 0);
	vsock_client_closed(&t, (unsigned)a);
	vsock_client_closed(&t, (unsigned)b);
	vsock_client_closed(&t, (unsigned)c);

	/* client errors and early EOF */
	i = open_conn(&t, 1024, 4096);
	vsock_client_error(&t, i);
	assert_true(vsock_conn_want_close(&t, i));
	assert_int_equal(vsock_next_ctl(&t, i, &h), 1);
	assert_int_equal(h.op, VSOCK_OP_RST);
	vsock_client_closed(&t, i);
	k = vsock_client_new(&t, 0);
	vsock_client_eof(&t, (unsigned)k);                             /* before CONNECT */
	assert_true(vsock_conn_want_close(&t, (unsigned)k));
	vsock_client_closed(&t, (unsigned)k);
	/* the glue closing a live client (without asking) still resets the guest */
	i = open_conn(&t, 1024, 4096);
	vsock_client_closed(&t, i);
	assert_int_equal(t.conn[i].state, VSOCK_CLOSING);
	assert_int_equal(vsock_next_ctl(&t, i, &h), 1);
	assert_int_equal(h.op, VSOCK_OP_RST);
	assert_int_equal(t.conn[i].state, VSOCK_FREE);
	for (unsigned s = 0; s < VSOCK_MAX_CONNS; s++)
		assert_int_equal(t.conn[s].state, VSOCK_FREE);
	vsock_table_free(&t);
}

/* Every packet is untrusted: CIDs, type, len, op. */
static void test_hostile(void **state)
{
	struct vsock_table t;
	vsock_table_init(&t, GCID);
	struct vsock_hdr h, x;
	unsigned i = open_conn(&t, 1024, 4096);
	uint32_t hp = t.conn[i].host_port;

	/* wrong CIDs: dropped, no answer, the connection untouched */
	x = gh(VSOCK_OP_RST, 1024, hp);
	x.src_cid = 4;
	assert_int_equal(feed(&t, x, NULL), VSOCK_PKT_DROPPED);
	x.src_cid = GCID | 1ull << 32;
	assert_int_equal(feed(&t, x, NULL), VSOCK_PKT_DROPPED);
	x = gh(VSOCK_OP_RST, 1024, hp);
	x.dst_cid = GCID;
	assert_int_equal(feed(&t, x, NULL), VSOCK_PKT_DROPPED);
	x.dst_cid = 1;
	assert_int_equal(feed(&t, x, NULL), VSOCK_PKT_DROPPED);
	assert_int_equal(t.conn[i].state, VSOCK_CONNECTED);
	assert_int_equal(vsock_next_rst(&t, &h), 0);
	assert_int_equal(t.st.dropped, 4);

	/* bad type, len mismatch, huge len, unknown op without a connection */
	x = gh(VSOCK_OP_REQUEST, 5000, 99);
	x.type = 2;                                                   /* SEQPACKET */
	assert_int_equal(feed(&t, x, NULL), VSOCK_PKT_RST);
	int conn;
	x = gh(VSOCK_OP_RW, 5001, 99);
	x.len = 10;
	assert_int_equal(vsock_guest_packet(&t, &x, (const uint8_t *)"0123456789", 9, &conn),
			 VSOCK_PKT_RST);
	x.len = VSOCK_MAX_PAYLOAD + 1;
	assert_int_equal(vsock_guest_packet(&t, &x, NULL, x.len, &conn), VSOCK_PKT_RST);
	x.len = 0xffffffffu;
	assert_int_equal(vsock_guest_packet(&t, &x, NULL, 0xffffffffull, &conn), VSOCK_PKT_RST);
	assert_int_equal(feed(&t, gh(99, 5002, 99), NULL), VSOCK_PKT_RST);
	assert_int_equal(feed(&t, gh(VSOCK_OP_INVALID, 5003, 99), NULL), VSOCK_PKT_RST);
	/* a guest-initiated connection is refused */
	assert_int_equal(feed(&t, gh(VSOCK_OP_REQUEST, 5004, 52), NULL), VSOCK_PKT_RST);
	/* an RST is never answered */
	assert_int_equal(feed(&t, gh(VSOCK_OP_RST, 5005, 99), NULL), VSOCK_PKT_DROPPED);
	x = gh(VSOCK_OP_RST, 5005, 99);
	x.type = 9;
	assert_int_equal(feed(&t, x, NULL), VSOCK_PKT_DROPPED);
	uint32_t want[][2] = { { 99, 5000 }, { 99, 5001 }, { 99, 5001 }, { 99, 5001 },
			       { 99, 5002 }, { 99, 5003 }, { 52, 5004 } };
	for (unsigned k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		assert_int_equal(vsock_next_rst(&t, &h), 1);
		assert_int_equal(h.op, VSOCK_OP_RST);
		assert_int_equal(h.src_cid, VSOCK_CID_HOST);
		assert_int_equal(h.dst_cid, GCID);
		assert_int_equal(h.src_port, want[k][0]);
		assert_int_equal(h.dst_port, want[k][1]);
		assert_int_equal(h.len, 0);
	}
	assert_int_equal(vsock_next_rst(&t, &h), 0);
	/* the RST queue is bounded */
	for (int k = 0; k < 100; k++)
		feed(&t, gh(VSOCK_OP_REQUEST, 6000 + (uint32_t)k, 52), NULL);
	int n = 0;
	while (vsock_next_rst(&t, &h))
		n++;
	assert_int_equal(n, VSOCK_RST_QUEUE);
	assert_int_equal(t.conn[i].state, VSOCK_CONNECTED);            /* untouched by all that */

	/* the same on the live connection: each resets it */
	uint16_t bad_ops[] = { 99, VSOCK_OP_INVALID, VSOCK_OP_REQUEST, VSOCK_OP_RESPONSE };
	for (unsigned k = 0; k < 4; k++) {
		i = open_conn(&t, 1024, 4096);
		hp = t.conn[i].host_port;
		assert_int_equal(feed(&t, gh(bad_ops[k], 1024, hp), NULL), VSOCK_PKT_RST);
		assert_true(vsock_conn_want_close(&t, i));
		assert_int_equal(vsock_next_ctl(&t, i, &h), 1);
		assert_int_equal(h.op, VSOCK_OP_RST);
		vsock_client_closed(&t, i);
	}
	i = open_conn(&t, 1024, 4096);
	hp = t.conn[i].host_port;
	x = gh(VSOCK_OP_RW, 1024, hp);
	x.len = 5;
	assert_int_equal(vsock_guest_packet(&t, &x, (const uint8_t *)"abcdef", 6, &conn),
			 VSOCK_PKT_RST);
	assert_int_equal(conn, (int)i);
	assert_true(vsock_conn_want_close(&t, i));
	vsock_client_closed(&t, i);
	i = open_conn(&t, 1024, 4096);
	hp = t.conn[i].host_port;
	x = gh(VSOCK_OP_RW, 1024, hp);
	x.type = 2;
	assert_int_equal(feed(&t, x, NULL), VSOCK_PKT_RST);
	vsock_client_closed(&t, i);

	/* before RESPONSE: anything but RESPONSE or RST is an error; before
	 * the REQUEST left, the guest cannot know the pair at all */
	int k = vsock_client_new(&t, 0);
	assert_int_equal(vsock_client_connect(&t, (unsigned)k, 1024, 0), 0);
	hp = t.conn[k].host_port;
	assert_int_equal(feed(&t, gh(VSOCK_OP_RESPONSE, 1024, hp), NULL), VSOCK_PKT_RST);
	assert_int_equal(t.conn[k].state, VSOCK_CONNECTING);
	assert_int_equal(vsock_next_ctl(&t, (unsigned)k, &h), 1);
	x = gh(VSOCK_OP_RW, 1024, hp);
	x.len = 1;
	assert_int_equal(feed(&t, x, "z"), VSOCK_PKT_RST);
	assert_true(vsock_conn_want_close(&t, (unsigned)k));
	vsock_client_closed(&t, (unsigned)k);
	assert_int_equal(vsock_next_ctl(&t, (unsigned)k, &h), 1);
	assert_int_equal(h.op, VSOCK_OP_RST);
	vsock_table_free(&t);
}

/* VSOCK_MAX_CONNS at a time; reset ends them all without a packet. */
static void test_limit_and_reset(void **state)
{
	struct vsock_table t;
	vsock_table_init(&t, GCID);
	for (unsigned k = 0; k < VSOCK_MAX_CONNS; k++)
		assert_int_equal(vsock_client_new(&t, 0), (int)k);
	assert_int_equal(vsock_client_new(&t, 0), -1);
	assert_int_equal(t.st.refused, 1);
	for (unsigned k = 0; k < VSOCK_MAX_CONNS; k++)
		vsock_client_closed(&t, k);
	unsigned a = open_conn(&t, 1024, 4096);
	int b = vsock_client_new(&t, 0);
	assert_int_equal(vsock_client_connect(&t, (unsigned)b, 1024, 0), 0);
	feed(&t, gh(VSOCK_OP_REQUEST, 1, 2), NULL);
	vsock_table_reset(&t);
	struct vsock_hdr h;
	assert_int_equal(vsock_next_rst(&t, &h), 0);
	assert_int_equal(vsock_next_ctl(&t, a, &h), 0);
	assert_int_equal(vsock_next_ctl(&t, (unsigned)b, &h), 0);
	assert_true(vsock_conn_want_close(&t, a));
	assert_true(vsock_conn_want_close(&t, (unsigned)b));
	/* packets for the old pairs are unknown now */
	assert_int_equal(feed(&t, gh(VSOCK_OP_CREDIT_REQUEST, 1024, t.conn[a].host_port), NULL),
			 VSOCK_PKT_RST);
	vsock_client_closed(&t, a);
	vsock_client_closed(&t, (unsigned)b);
	assert_int_equal(t.conn[a].state, VSOCK_FREE);
	assert_int_equal(t.conn[b].state, VSOCK_FREE);
	/* host ports wrap around within their range, skipping those in use */
	t.next_port = VSOCK_HOST_PORT_MAX;
	a = open_conn(&t, 1024, 4096);
	assert_int_equal(t.conn[a].host_port, VSOCK_HOST_PORT_MAX);
	t.next_port = VSOCK_HOST_PORT_MAX;
	b = vsock_client_new(&t, 0);
	assert_int_equal(vsock_client_connect(&t, (unsigned)b, 1024, 0), 0);
	assert_int_equal(t.conn[b].host_port, VSOCK_HOST_PORT_MIN);
	vsock_table_free(&t);
}

/* ---- the device, through the transport ---- */

#define RXBUF_GPA 0x100000ull      /* 4 receive buffers: 44-byte header + 4 KiB */
#define TXBUF_GPA 0x200000ull      /* 4 transmit buffers: header + 64 KiB */
#define RXPAY 4096

static const uint64_t V1 = 1ull << VIRTIO_F_VERSION_1;
static const uint32_t RUNNING = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;

struct rig {
	struct vm vm;
	struct evloop *loop;
	struct virtio_vsock *vs;
	char dir[64], path[128];
	uint16_t rx_seen, tx_sent;
};

#include "virtio_driver.h"

static void rig_init(struct rig *r)
{
	struct err e = {0};
	memset(r, 0, sizeof(*r));
	r->vm.kvm_fd = r->vm.vm_fd = -1;
	pthread_mutex_init(&r->vm.lock, NULL);
	pthread_cond_init(&r->vm.cond, NULL);
	assert_int_equal(mem_alloc(&r->vm.mem, 32ull << 20, &e), 0);
	assert_int_equal(evloop_new(&r->loop, &e), 0);
	strcpy(r->dir, "/tmp/berth-test-vsock-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->path, sizeof(r->path), "%s/v.sock", r->dir);
}

static void rig_fini(struct rig *r)
{
	evloop_stop(r->loop);
	for (unsigned i = 0; i < r->vm.nvirtio; i++)
		virtio_mmio_free(r->vm.virtio[i]);
	virtio_vsock_free(r->vs);
	evloop_free(r->loop);
	bus_free(&r->vm.mmio);
	mem_free(&r->vm.mem);
	pthread_mutex_destroy(&r->vm.lock);
	pthread_cond_destroy(&r->vm.cond);
	struct stat st;
	assert_int_equal(lstat(r->path, &st), -1);      /* the socket is gone */
	rmdir(r->dir);
}

/* 3.1.1 up to DRIVER_OK, three queues, nrx (<= 4) receive buffers posted
 * (each a 44-byte header descriptor and a 4 KiB one, as Linux posts them). */
static void rx_post(struct rig *r, unsigned k)
{
	uint64_t at = RXBUF_GPA + k * 0x2000ull;
	desc(r, 0, 2 * k, at, VSOCK_HDR_LEN, 1 | 2, (uint16_t)(2 * k + 1));
	desc(r, 0, 2 * k + 1, at + 0x100, RXPAY, 2, 0);
	avail_add(r, 0, (uint16_t)(2 * k));
}

static void driver_start_n(struct rig *r, unsigned nrx)
{
	wr(r, VIRTIO_MMIO_STATUS, 0);
	r->rx_seen = r->tx_sent = 0;
	wr(r, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(r, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(r, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(r, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(V1 >> 32));
	wr(r, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				      VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < 3; q++)
		queue_setup(r, q);
	for (unsigned k = 0; k < nrx; k++)
		rx_post(r, k);
	wr(r, VIRTIO_MMIO_STATUS, RUNNING);
	assert_int_equal(rd(r, VIRTIO_MMIO_STATUS), RUNNING);
}

static void driver_start(struct rig *r)
{
	driver_start_n(r, 4);
}

/* The next packet the device put in a receive buffer (waiting up to ms):
 * 1 with its header and payload, the buffer posted again; 0 on time-out. */
static int rx_get(struct rig *r, struct vsock_hdr *h, uint8_t *payload, uint32_t *plen, int ms)
{
	for (int waited = 0; used_idx(r, 0) == r->rx_seen; waited++) {
		if (waited >= ms)
			return 0;
		usleep(1000);
	}
	uint32_t id, len;
	used_elem(r, 0, r->rx_seen, &id, &len);
	r->rx_seen++;
	assert_true(id % 2 == 0 && id < 8);
	assert_true(len >= VSOCK_HDR_LEN && len <= VSOCK_HDR_LEN + RXPAY);
	uint64_t at = RXBUF_GPA + (id / 2) * 0x2000ull;
	vsock_hdr_parse(gp(r, at, VSOCK_HDR_LEN), h);
	assert_int_equal(h->len, len - VSOCK_HDR_LEN);
	*plen = len - VSOCK_HDR_LEN;
	if (payload)
		memcpy(payload, gp(r, at + 0x100, *plen), *plen);
	avail_add(r, 0, (uint16_t)id);
	wr(r, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	return 1;
}

/* Send one packet on the transmit queue (header and payload in two
 * descriptors; readable_hdr < 44 makes a malformed chain) and wait until
 * the device returned it. */
static void tx_put_raw(struct rig *r, const struct vsock_hdr *h, const void *payload,
		       uint32_t plen, uint32_t hdr_len)
{
	unsigned k = r->tx_sent % 4;
	uint64_t at = TXBUF_GPA + k * 0x20000ull;
	vsock_hdr_build(h, gp(r, at, VSOCK_HDR_LEN));
	if (plen)
		memcpy(gp(r, at + 0x100, plen), payload, plen);
	desc(r, 1, 2 * k, at, hdr_len, plen ? 1 : 0, (uint16_t)(2 * k + 1));
	desc(r, 1, 2 * k + 1, at + 0x100, plen, 0, 0);
	avail_add(r, 1, (uint16_t)(2 * k));
	r->tx_sent++;
	wr(r, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
}

static void tx_put(struct rig *r, struct vsock_hdr h, const void *payload, uint32_t plen)
{
	h.len = plen;
	tx_put_raw(r, &h, payload, plen, VSOCK_HDR_LEN);
	for (int waited = 0; used_idx(r, 1) != r->tx_sent; waited++) {
		assert_true(waited < 5000);
		usleep(1000);
	}
}

static int client_connect(struct rig *r)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, r->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Read exactly n bytes from the client's socket within 5 s; returns the
 * count read (short at EOF). */
static size_t client_read(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		assert_int_equal(poll(&p, 1, 5000), 1);
		ssize_t k = read(fd, (uint8_t *)buf + got, n - got);
		assert_true(k >= 0);
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return got;
}

static void test_device_config(void **state)
{
	struct rig r;
	struct err e = {0};
	rig_init(&r);
	struct vsock_cfg cfg = { .guest_cid = 2, .uds_path = r.path };
	assert_int_equal(virtio_vsock_attach(&r.vm, r.loop, &cfg, &r.vs, &e), -EINVAL);
	assert_int_equal(e.exit_code, EXIT_USAGE);
	cfg.guest_cid = 1ull << 32;
	assert_true(virtio_vsock_attach(&r.vm, r.loop, &cfg, &r.vs, &e) < 0);
	/* a regular file at the path is not replaced */
	int f = open(r.path, O_CREAT | O_WRONLY, 0600);
	assert_true(f >= 0);
	close(f);
	cfg.guest_cid = 0x1234567;
	assert_true(virtio_vsock_attach(&r.vm, r.loop, &cfg, &r.vs, &e) < 0);
	assert_non_null(strstr(e.msg, "is not a socket"));
	unlink(r.path);
	assert_int_equal(r.vm.nvirtio, 0);
	/* a stale socket is */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, r.path);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	assert_int_equal(virtio_vsock_attach(&r.vm, r.loop, &cfg, &r.vs, &e), 0);
	/* a live one is not */
	struct virtio_vsock *other;
	assert_true(virtio_vsock_attach(&r.vm, r.loop, &cfg, &other, &e) < 0);
	assert_int_equal(e.exit_code, EXIT_STATE);
	assert_int_equal(r.vm.nvirtio, 1);

	assert_int_equal(rd(&r, VIRTIO_MMIO_DEVICE_ID), 19);
	wr(&r, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(&r, VIRTIO_MMIO_DEVICE_FEATURES), 3u << 28);  /* no vsock bits */
	assert_int_equal(rd(&r, VIRTIO_MMIO_CONFIG), 0x1234567);
	assert_int_equal(rd(&r, VIRTIO_MMIO_CONFIG + 4), 0);
	uint8_t b[8];
	assert_int_equal(bus_access(&r.vm.mmio, GPA_VIRTIO_MMIO + VIRTIO_MMIO_CONFIG, b, 8, 0), 0);
	assert_int_equal(b[0], 0x67);
	assert_int_equal(b[3], 0x01);
	wr(&r, VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(rd(&r, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
	wr(&r, VIRTIO_MMIO_QUEUE_SEL, 3);
	assert_int_equal(rd(&r, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	rig_fini(&r);
}

/* The whole path: CONNECT, REQUEST, RESPONSE, OK, data both ways with
 * back-pressure, half-close, close; a refused port; a guest-initiated
 * connection; a malformed chain. */
static void test_device_relay(void **state)
{
	struct rig r;
	struct err e = {0};
	rig_init(&r);
	struct vsock_cfg cfg = { .guest_cid = GCID, .uds_path = r.path };
	assert_int_equal(virtio_vsock_attach(&r.vm, r.loop, &cfg, &r.vs, &e), 0);
	assert_int_equal(evloop_start(r.loop, &e), 0);
	driver_start(&r);
	struct vsock_hdr h;
	static uint8_t pay[80000];
	uint32_t plen;

	/* connect, with bytes sent eagerly after the line */
	int c = client_connect(&r);
	assert_int_equal(write(c, "CONNECT 1024\nearly", 18), 18);
	assert_int_equal(rx_get(&r, &h, NULL, &plen, 5000), 1);
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_cid, GCID);
	assert_int_equal(h.dst_port, 1024);
	uint32_t hp = h.src_port;
	assert_int_equal(hp, VSOCK_HOST_PORT_MIN);
	struct vsock_hdr g = gh(VSOCK_OP_RESPONSE, 1024, hp);
	g.buf_alloc = 65536;
	tx_put(&r, g, NULL, 0);
	char line[32] = { 0 };
	assert_int_equal(client_read(c, line, 14), 14);
	assert_string_equal(line, "OK 1073741824\n");
	assert_int_equal(rx_get(&r, &h, pay, &plen, 5000), 1);
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_int_equal(plen, 5);
	assert_memory_equal(pay, "early", 5);

	/* both ways */
	assert_int_equal(write(c, "ping", 4), 4);
	assert_int_equal(rx_get(&r, &h, pay, &plen, 5000), 1);
	assert_int_equal(plen, 4);
	assert_memory_equal(pay, "ping", 4);
	g.op = VSOCK_OP_RW;
	tx_put(&r, g, "pong", 4);
	assert_int_equal(client_read(c, line, 4), 4);
	assert_memory_equal(line, "pong", 4);

	/* back-pressure: the guest has 65536 - 9 bytes of room left */
	for (size_t k = 0; k < sizeof(pay); k++)
		pay[k] = (uint8_t)(k * 13);
	size_t sent = 0;
	uint32_t got = 0;
	static uint8_t in[80000];
	fcntl(c, F_SETFL, O_NONBLOCK);
	while (got < 65536 - 9) {
		if (sent < 70000) {
			ssize_t w = write(c, pay + sent, 70000 - sent);
			if (w > 0)
				sent += (size_t)w;
		}
		if (rx_get(&r, &h, in + got, &plen, 10)) {
			assert_int_equal(h.op, VSOCK_OP_RW);
			got += plen;
		}
	}
	assert_int_equal(got, 65536 - 9);
	while (sent < 70000) {                        /* the socket buffer takes the rest */
		ssize_t w = write(c, pay + sent, 70000 - sent);
		assert_true(w > 0);
		sent += (size_t)w;
	}
	assert_int_equal(rx_get(&r, &h, NULL, &plen, 300), 0);      /* stopped: no credit */
	g.op = VSOCK_OP_CREDIT_UPDATE;
	g.fwd_cnt = 65536;                                        /* the guest read it all */
	tx_put(&r, g, NULL, 0);
	while (got < 70000) {
		assert_int_equal(rx_get(&r, &h, in + got, &plen, 5000), 1);
		got += plen;
	}
	assert_memory_equal(in, pay, 70000);

	/* guest to client, more than one buffer's worth */
	g.op = VSOCK_OP_RW;
	tx_put(&r, g, pay, 65536);
	fcntl(c, F_SETFL, 0);
	assert_int_equal(client_read(c, in, 65536), 65536);
	assert_memory_equal(in, pay, 65536);
	/* the client took a quarter of 256 KiB since fwd_cnt 4 was sent: update */
	assert_int_equal(rx_get(&r, &h, NULL, &plen, 5000), 1);
	assert_int_equal(h.op, VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(h.fwd_cnt, 65536 + 4);
	assert_int_equal(h.buf_alloc, VSOCK_BUF_ALLOC);
	tx_put(&r, g, pay, 1000);                        /* less: none */
	assert_int_equal(client_read(c, in, 1000), 1000);
	assert_int_equal(rx_get(&r, &h, NULL, &plen, 100), 0);

	/* the client shuts its write side: SHUTDOWN(SEND); the guest closes:
	 * the client sees EOF, the guest gets its RST */
	shutdown(c, SHUT_WR);
	assert_int_equal(rx_get(&r, &h, NULL, &plen, 5000), 1);
	assert_int_equal(h.op, VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VSOCK_SHUTDOWN_SEND);
	g.op = VSOCK_OP_SHUTDOWN;
	g.flags = VSOCK_SHUTDOWN_SEND | VSOCK_SHUTDOWN_RCV;
	tx_put(&r, g, NULL, 0);
	assert_int_equal(client_read(c, in, 1), 0);
	assert_int_equal(rx_get(&r, &h, NULL, &plen, 5000), 1);
	assert_int_equal(h.op, VSOCK_OP_RST);
	assert_int_equal(h.src_port, hp);
	close(c);

	/* nothing listens on port 7: the client is closed without a line */
	c = client_connect(&r);
	assert_int_equal(write(c, "CONNECT 7\n", 10), 10);
	assert_int_equal(rx_get(&r, &h, NULL, &plen, 5000), 1);
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	tx_put(&r, gh(VSOCK_OP_RST, 7, h.src_port), NULL, 0);
	assert_int_equal(client_read(c, in, 1), 0);
	close(c);
	/* a bad line: closed */
	c = client_connect(&r);
	assert_int_equal(write(c, "HELLO\n", 6), 6);
	struct pollfd pf = { .fd = c, .events = POLLIN };
	assert_int_equal(poll(&pf, 1, 5000), 1);
	assert_true(read(c, in, 1) <= 0);           /* EOF, or a reset: the line was unread */
	close(c);

	/* the guest connects to the host: refused */
	tx_put(&r, gh(VSOCK_OP_REQUEST, 5000, 52), NULL, 0);
	assert_int_equal(rx_get(&r, &h, NULL, &plen, 5000), 1);
	assert_int_equal(h.op, VSOCK_OP_RST);
	assert_int_equal(h.src_port, 52);
	assert_int_equal(h.dst_port, 5000);

	/* a live client, then a transmit chain too short for a header: the
	 * device needs a reset and drops the client */
	c = client_connect(&r);
	assert_int_equal(write(c, "CONNECT 1024\n", 13), 13);
	assert_int_equal(rx_get(&r, &h, NULL, &plen, 5000), 1);
	tx_put(&r, gh(VSOCK_OP_RESPONSE, 1024, h.src_port), NULL, 0);
	assert_int_equal(client_read(c, line, 14), 14);
	struct vsock_hdr bad = gh(VSOCK_OP_RW, 1024, h.src_port);
	tx_put_raw(&r, &bad, NULL, 0, 10);
	assert_int_equal(client_read(c, in, 1), 0);
	assert_true(rd(&r, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	close(c);
	/* after a reset it works again */
	driver_start(&r);
	c = client_connect(&r);
	assert_int_equal(write(c, "CONNECT 1024\n", 13), 13);
	assert_int_equal(rx_get(&r, &h, NULL, &plen, 5000), 1);
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	/* reset with the client connecting: it is closed */
	wr(&r, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(client_read(c, in, 1), 0);
	close(c);
	/* a client left open is closed when the device goes (accepted or
	 * still in the backlog) */
	c = client_connect(&r);
	rig_fini(&r);
	pf.fd = c;
	assert_int_equal(poll(&pf, 1, 5000), 1);
	assert_true(read(c, in, 1) <= 0);
	close(c);
}

/* No receive buffers: control packets wait (REQUEST, RSTs) and go out,
 * in order, when the driver posts buffers; data waits too. */
static void test_device_no_rx_buffers(void **state)
{
	struct rig r;
	struct err e = {0};
	rig_init(&r);
	struct vsock_cfg cfg = { .guest_cid = GCID, .uds_path = r.path };
	assert_int_equal(virtio_vsock_attach(&r.vm, r.loop, &cfg, &r.vs, &e), 0);
	assert_int_equal(evloop_start(r.loop, &e), 0);
	driver_start_n(&r, 0);
	struct vsock_hdr h;
	uint32_t plen;
	uint8_t pay[64];
	int c = client_connect(&r);
	assert_int_equal(write(c, "CONNECT 1024\nabc", 16), 16);
	tx_put(&r, gh(VSOCK_OP_REQUEST, 5000, 52), NULL, 0);       /* answered by an RST */
	assert_int_equal(rx_get(&r, &h, NULL, &plen, 200), 0);
	rx_post(&r, 0);
	wr(&r, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(rx_get(&r, &h, NULL, &plen, 5000), 1);      /* reposts buffer 0 */
	assert_int_equal(h.op, VSOCK_OP_RST);
	assert_int_equal(rx_get(&r, &h, NULL, &plen, 5000), 1);
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	struct vsock_hdr g = gh(VSOCK_OP_RESPONSE, 1024, h.src_port);
	tx_put(&r, g, NULL, 0);
	char line[16];
	assert_int_equal(client_read(c, line, 14), 14);
	assert_int_equal(rx_get(&r, &h, pay, &plen, 5000), 1);
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_int_equal(plen, 3);
	assert_memory_equal(pay, "abc", 3);
	close(c);
	rig_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_layout),
		cmocka_unit_test(test_parse_connect),
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_data_guest_to_client),
		cmocka_unit_test(test_credit),
		cmocka_unit_test(test_shutdown_client_first),
		cmocka_unit_test(test_shutdown_guest_first),
		cmocka_unit_test(test_rst_and_timeouts),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_limit_and_reset),
		cmocka_unit_test(test_device_config),
		cmocka_unit_test(test_device_relay),
		cmocka_unit_test(test_device_no_rx_buffers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
