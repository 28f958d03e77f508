/* fuzz_vsock.c - libFuzzer target for the virtio-vsock state machine
 * (src/vm/virtio/vsock_conn.c; virtio 1.2 section 5.10.6): a sequence of
 * guest packets and host-side events, decoded from the input.
 *
 * Input: records, each an op byte (taken modulo 15) and its arguments;
 * the run ends where the input does.
 *   0 client connects          now += u8
 *   1 client's CONNECT         u8 slot, u8 (< 128: port 1024, else u32 port)
 *   2 guest packet, raw        44-byte header, u8 mode (bit 0: payload as
 *                              long as its len, else u16 length), payload
 *   3 guest packet for a slot  u8 slot, u8 op, u8 flags, u32 buf_alloc,
 *                              u32 fwd_cnt, u16 len, u8 mode (bit 0: type
 *                              2; bit 1: payload one byte longer), payload
 *   4 client EOF   5 client error   6 client closed (if open)   u8 slot
 *   7 client took bytes        u8 slot, u16 at most
 *   8 next control packet      u8 slot
 *   9 next RST without a connection
 *  10 client bytes to guest    u8 slot, u16 at most (within read_room)
 *  11 time passes              u16 ms
 *  12 device reset
 *  13 client's write side shut (if wanted)   u8 slot
 *  14 parse a CONNECT line     u8 length, bytes
 * After each record the harness does what the glue does (closes the
 * clients the table wants closed) and checks the table's invariants:
 * buffer accounting, credit never exceeded by what we send, packets we
 * make well-formed, host ports unique and in range, free slots empty.
 * At the end everything is freed (LeakSanitizer checks). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/virtio/vsock_conn.h"

#define GCID 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct in {
	const uint8_t *p;
	size_t n;
};

static int has(struct in *in, size_t k)
{
	return in->n >= k;
}

static uint32_t get(struct in *in, unsigned bytes)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < bytes && in->n; i++, in->p++, in->n--)
		v |= (uint32_t)in->p[0] << (8 * i);
	return v;
}

static uint8_t payload[VSOCK_MAX_PAYLOAD + 1];

/* Up to len payload bytes from the input, zeros for the rest. */
static void take_payload(struct in *in, size_t len)
{
	size_t k = len < in->n ? len : in->n;
	memcpy(payload, in->p, k);
	memset(payload + k, 0, len - k);
	in->p += k;
	in->n -= k;
}

static void check_hdr(const struct vsock_hdr *h)
{
	if (h->src_cid != VSOCK_CID_HOST || h->dst_cid != GCID || h->type != VSOCK_TYPE_STREAM ||
	    h->op < VSOCK_OP_REQUEST || h->op > VSOCK_OP_CREDIT_REQUEST)
		abort();
	if (h->op != VSOCK_OP_RW && h->len != 0)
		abort();
	if (h->op != VSOCK_OP_SHUTDOWN && h->flags != 0)
		abort();
}

/* What the glue does after every event, and what must always hold. */
static void settle(struct vsock_table *t)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (vsock_conn_want_close(t, i))
			vsock_client_closed(t, i);
	if (t->rst_n > VSOCK_RST_QUEUE || t->rst_head >= VSOCK_RST_QUEUE)
		abort();
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		const struct vsock_conn *c = &t->conn[i];
		if (c->state == VSOCK_FREE) {
			if (c->buf || c->pend || c->client_open)
				abort();
			continue;
		}
		if (c->buf_used > VSOCK_BUF_ALLOC || c->buf_head >= VSOCK_BUF_ALLOC)
			abort();
		if (c->state == VSOCK_CONNECTED && c->rx_cnt - c->fwd_cnt != c->buf_used)
			abort();
		if (c->reply_off > c->reply_len || c->reply_len > VSOCK_REPLY_MAX)
			abort();
		if (c->state >= VSOCK_CONNECTING && c->state != VSOCK_CLOSING &&
		    (c->host_port < VSOCK_HOST_PORT_MIN || c->host_port > VSOCK_HOST_PORT_MAX || !c->buf))
			abort();
		if (c->state == VSOCK_CLOSING && !c->client_open && !c->pend)
			abort();                       /* should have been freed */
		uint32_t room = vsock_conn_read_room(t, i);
		if (room) {
			uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
			if (room > VSOCK_MAX_PAYLOAD || in_flight > c->peer_buf_alloc ||
			    room > c->peer_buf_alloc - in_flight)
				abort();
		}
	}
}

/* Host ports of connections the guest may know are unique (checked after
 * each CONNECT and at the end: quadratic). */
static void check_ports(const struct vsock_table *t)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		const struct vsock_conn *c = &t->conn[i];
		if (c->state < VSOCK_CONNECTING)
			continue;
		for (unsigned k = i + 1; k < VSOCK_MAX_CONNS; k++)
			if (t->conn[k].state >= VSOCK_CONNECTING && c->host_port == t->conn[k].host_port)
				abort();
	}
}

/* Op 3: a well-addressed packet for slot i's connection. */
static void packet_for_slot(struct vsock_table *t, struct in *in)
{
	unsigned i = get(in, 1) % VSOCK_MAX_CONNS;
	struct vsock_hdr h = {
		.src_cid = GCID, .dst_cid = VSOCK_CID_HOST,
		.src_port = t->conn[i].guest_port, .dst_port = t->conn[i].host_port,
		.type = VSOCK_TYPE_STREAM,
	};
	h.op = (uint16_t)get(in, 1);
	if (h.op < 200)
		h.op %= 8;
	h.flags = get(in, 1);
	h.buf_alloc = get(in, 4);
	h.fwd_cnt = get(in, 4);
	h.len = get(in, 2);
	uint8_t mode = (uint8_t)get(in, 1);
	if (mode & 1)
		h.type = 2;
	size_t plen = h.len + ((mode & 2) ? 1 : 0);
	take_payload(in, plen);
	int conn;
	vsock_guest_packet(t, &h, payload, plen, &conn);
}

/* Op 2: a header straight from the input. */
static void packet_raw(struct vsock_table *t, struct in *in)
{
	uint8_t raw[VSOCK_HDR_LEN] = { 0 };
	for (unsigned k = 0; k < VSOCK_HDR_LEN; k++)
		raw[k] = (uint8_t)get(in, 1);
	struct vsock_hdr h;
	vsock_hdr_parse(raw, &h);
	uint8_t back[VSOCK_HDR_LEN];
	vsock_hdr_build(&h, back);
	if (memcmp(raw, back, sizeof(raw)))
		abort();
	uint8_t mode = (uint8_t)get(in, 1);
	uint64_t plen = (mode & 1) ? h.len : get(in, 2);
	int conn;
	if (plen <= VSOCK_MAX_PAYLOAD) {
		take_payload(in, (size_t)plen);
		vsock_guest_packet(t, &h, payload, plen, &conn);
	} else {
		vsock_guest_packet(t, &h, NULL, plen, &conn);   /* as the glue passes it */
	}
}

/* Op 7: the client takes up to n of the bytes waiting for it. */
static void client_takes(struct vsock_table *t, unsigned i, size_t n)
{
	const uint8_t *p;
	size_t k = vsock_conn_out(t, i, &p);
	if (!k)
		return;
	if (!p)
		abort();
	if (n > k)
		n = k;
	volatile uint8_t sum = 0;
	for (size_t j = 0; j < n; j++)           /* ASan: what the client takes is readable */
		sum ^= p[j];
	if (k)
		sum ^= p[k - 1];
	(void)sum;
	vsock_client_wrote(t, i, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vsock_table t;
	vsock_table_init(&t, GCID);
	struct in in = { data, size };
	uint64_t now = 1;
	struct vsock_hdr h;
	while (has(&in, 1)) {
		unsigned op = get(&in, 1) % 15;
		unsigned i;
		switch (op) {
		case 0:
			now += get(&in, 1);
			vsock_client_new(&t, now);
			break;
		case 1: {
			i = get(&in, 1) % VSOCK_MAX_CONNS;
			uint32_t port = get(&in, 1) < 128 ? 1024 : get(&in, 4);
			vsock_client_connect(&t, i, port, now);
			check_ports(&t);
			break;
		}
		case 2: packet_raw(&t, &in); break;
		case 3: packet_for_slot(&t, &in); break;
		case 4: vsock_client_eof(&t, get(&in, 1) % VSOCK_MAX_CONNS); break;
		case 5: vsock_client_error(&t, get(&in, 1) % VSOCK_MAX_CONNS); break;
		case 6:
			i = get(&in, 1) % VSOCK_MAX_CONNS;
			if (t.conn[i].client_open)
				vsock_client_closed(&t, i);
			break;
		case 7:
			i = get(&in, 1) % VSOCK_MAX_CONNS;
			client_takes(&t, i, get(&in, 2));
			break;
		case 8:
			i = get(&in, 1) % VSOCK_MAX_CONNS;
			if (vsock_next_ctl(&t, i, &h))
				check_hdr(&h);
			break;
		case 9:
			if (vsock_next_rst(&t, &h)) {
				check_hdr(&h);
				if (h.op != VSOCK_OP_RST)
					abort();
			}
			break;
		case 10: {
			i = get(&in, 1) % VSOCK_MAX_CONNS;
			uint32_t n = get(&in, 2), room = vsock_conn_read_room(&t, i);
			if (n > room)
				n = room;
			if (n) {
				vsock_data_hdr(&t, i, n, &h);
				check_hdr(&h);
				if (h.len != n)
					abort();
			}
			break;
		}
		case 11:
			now += get(&in, 2);
			vsock_table_tick(&t, now);
			break;
		case 12: vsock_table_reset(&t); break;
		case 13:
			i = get(&in, 1) % VSOCK_MAX_CONNS;
			if (vsock_conn_want_shut_wr(&t, i))
				vsock_client_shut_done(&t, i);
			break;
		case 14: {
			size_t n = get(&in, 1) % 40;
			char line[40];
			size_t k = n < in.n ? n : in.n;
			memcpy(line, in.p, k);
			in.p += k;
			in.n -= k;
			uint32_t port;
			size_t len;
			int r = vsock_parse_connect(line, k, &port, &len);
			if (r == 1 && (len > k || len > VSOCK_CMD_MAX || port == 0xffffffffu))
				abort();
			break;
		}
		}
		settle(&t);
	}
	check_ports(&t);
	vsock_table_free(&t);
	return 0;
}
