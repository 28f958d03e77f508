/* vsock_conn.c - the virtio-vsock packet and connection state machine
 * (virtio 1.2 section 5.10.6): headers, the connection table, credit-based
 * flow control (5.10.6.3) and stream connection set-up and shutdown
 * (5.10.6.5), for host-initiated connections only. No I/O: the glue in
 * vsock.c moves the bytes. See vsock_conn.h for the model.
 *
 * Guest-initiated connections (OP_REQUEST from the guest) are refused with
 * OP_RST: nothing on the host listens for them (yet). */
#include "vm/virtio/vsock_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t get_le(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = bytes; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* 5.10.6: struct virtio_vsock_hdr, little-endian, packed. */
void vsock_hdr_parse(const uint8_t b[VSOCK_HDR_LEN], struct vsock_hdr *h)
{
	h->src_cid = get_le(b + 0, 8);
	h->dst_cid = get_le(b + 8, 8);
	h->src_port = (uint32_t)get_le(b + 16, 4);
	h->dst_port = (uint32_t)get_le(b + 20, 4);
	h->len = (uint32_t)get_le(b + 24, 4);
	h->type = (uint16_t)get_le(b + 28, 2);
	h->op = (uint16_t)get_le(b + 30, 2);
	h->flags = (uint32_t)get_le(b + 32, 4);
	h->buf_alloc = (uint32_t)get_le(b + 36, 4);
	h->fwd_cnt = (uint32_t)get_le(b + 40, 4);
}

/* 5.10.6: the inverse of vsock_hdr_parse. */
void vsock_hdr_build(const struct vsock_hdr *h, uint8_t b[VSOCK_HDR_LEN])
{
	put_le(b + 0, h->src_cid, 8);
	put_le(b + 8, h->dst_cid, 8);
	put_le(b + 16, h->src_port, 4);
	put_le(b + 20, h->dst_port, 4);
	put_le(b + 24, h->len, 4);
	put_le(b + 28, h->type, 2);
	put_le(b + 30, h->op, 2);
	put_le(b + 32, h->flags, 4);
	put_le(b + 36, h->buf_alloc, 4);
	put_le(b + 40, h->fwd_cnt, 4);
}

void vsock_table_init(struct vsock_table *t, uint64_t guest_cid)
{
	memset(t, 0, sizeof(*t));
	t->guest_cid = guest_cid;
	t->next_port = VSOCK_HOST_PORT_MIN;
}

/* Forget a slot entirely. */
static void conn_free(struct vsock_conn *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

/* The connection is over: drop what waits in either direction, and send
 * OP_RST when the guest may hold its end (5.10.6.5: RST forcibly ends a
 * connection). The slot lives on until the client is closed and the RST
 * has left. */
static void conn_close(struct vsock_table *t, struct vsock_conn *c, int send_rst)
{
	if (c->state == VSOCK_FREE)
		return;
	c->pend = send_rst && c->request_sent ? VSOCK_PEND_RST : 0;
	c->state = VSOCK_CLOSING;
	c->deadline_ms = 0;
	c->buf_used = 0;
	c->reply_len = c->reply_off = 0;
	if (!c->client_open && !c->pend)
		conn_free(c);
}

/* 5.10.6.5: when the guest will send no more and nothing is left to send
 * it (the client's EOF, or the guest will not receive either), and every
 * byte it sent reached the client, the connection ends with OP_RST (the
 * answer Linux waits for after shutting down both ways). */
static void conn_check_done(struct vsock_table *t, struct vsock_conn *c)
{
	if (c->state != VSOCK_CONNECTED || !(c->peer_shut & VSOCK_SHUTDOWN_SEND))
		return;
	if (!c->client_eof && !(c->peer_shut & VSOCK_SHUTDOWN_RCV))
		return;
	if (c->buf_used || c->reply_off < c->reply_len)
		return;
	conn_close(t, c, 1);
}

/* Reset (see vsock_conn.h): no packet goes to the guest after it. */
void vsock_table_reset(struct vsock_table *t)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &t->conn[i];
		if (c->state == VSOCK_FREE)
			continue;
		c->request_sent = 0;
		conn_close(t, c, 0);
	}
	t->rst_head = t->rst_n = 0;
}

void vsock_table_free(struct vsock_table *t)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		conn_free(&t->conn[i]);
	t->rst_head = t->rst_n = 0;
}

int vsock_client_new(struct vsock_table *t, uint64_t now_ms)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &t->conn[i];
		if (c->state != VSOCK_FREE)
			continue;
		memset(c, 0, sizeof(*c));
		c->state = VSOCK_CMD;
		c->client_open = 1;
		c->deadline_ms = now_ms + VSOCK_CONNECT_MS;
		t->st.conns++;
		return (int)i;
	}
	t->st.refused++;
	return -1;
}

/* "CONNECT <port>\n": digits only, no sign or spaces, at most 4294967294. */
int vsock_parse_connect(const char *buf, size_t n, uint32_t *port, size_t *line_len)
{
	static const char verb[] = "CONNECT ";
	size_t lim = n < VSOCK_CMD_MAX ? n : VSOCK_CMD_MAX;
	const char *nl = memchr(buf, '\n', lim);
	if (!nl)
		return n >= VSOCK_CMD_MAX ? -1 : 0;
	size_t len = (size_t)(nl - buf);
	*line_len = len + 1;
	if (len && buf[len - 1] == '\r')
		len--;
	size_t vl = sizeof(verb) - 1;
	if (len <= vl || memcmp(buf, verb, vl) != 0 || len - vl > 10)
		return -1;
	uint64_t v = 0;
	for (size_t k = vl; k < len; k++) {
		if (buf[k] < '0' || buf[k] > '9')
			return -1;
		v = v * 10 + (uint64_t)(buf[k] - '0');
	}
	if (v > VSOCK_HOST_PORT_MAX)
		return -1;
	*port = (uint32_t)v;
	return 1;
}

/* Whether a live connection uses host port p. */
static int port_in_use(const struct vsock_table *t, uint32_t p)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (t->conn[i].state >= VSOCK_CONNECTING && t->conn[i].host_port == p)
			return 1;
	return 0;
}

/* 5.10.6.5 connect: a fresh host port per connection, then OP_REQUEST. */
int vsock_client_connect(struct vsock_table *t, unsigned i, uint32_t port, uint64_t now_ms)
{
	if (i >= VSOCK_MAX_CONNS || t->conn[i].state != VSOCK_CMD)
		return -1;
	struct vsock_conn *c = &t->conn[i];
	c->buf = malloc(VSOCK_BUF_ALLOC);
	if (!c->buf) {
		conn_close(t, c, 0);
		return -1;
	}
	uint32_t p;
	do {                      /* at most VSOCK_MAX_CONNS ports are in use */
		p = t->next_port;
		t->next_port = p >= VSOCK_HOST_PORT_MAX ? VSOCK_HOST_PORT_MIN : p + 1;
	} while (port_in_use(t, p));
	c->host_port = p;
	c->guest_port = port;
	c->state = VSOCK_CONNECTING;
	c->deadline_ms = now_ms + VSOCK_CONNECT_MS;
	c->pend = VSOCK_PEND_REQUEST;
	return 0;
}

/* 5.10.6.5: the client will send no more: OP_SHUTDOWN with SEND. Before
 * the connection is up, it simply ends. */
void vsock_client_eof(struct vsock_table *t, unsigned i)
{
	if (i >= VSOCK_MAX_CONNS)
		return;
	struct vsock_conn *c = &t->conn[i];
	if (c->state == VSOCK_CMD || c->state == VSOCK_CONNECTING) {
		conn_close(t, c, 1);
		return;
	}
	if (c->state != VSOCK_CONNECTED || c->client_eof)
		return;
	c->client_eof = 1;
	c->shut_flags |= VSOCK_SHUTDOWN_SEND;
	c->pend |= VSOCK_PEND_SHUTDOWN;
	conn_check_done(t, c);
}

void vsock_client_error(struct vsock_table *t, unsigned i)
{
	if (i < VSOCK_MAX_CONNS)
		conn_close(t, &t->conn[i], 1);
}

void vsock_client_closed(struct vsock_table *t, unsigned i)
{
	if (i >= VSOCK_MAX_CONNS || t->conn[i].state == VSOCK_FREE)
		return;
	struct vsock_conn *c = &t->conn[i];
	c->client_open = 0;
	if (c->state != VSOCK_CLOSING)
		conn_close(t, c, 1);
	else if (!c->pend)
		conn_free(c);
}

size_t vsock_conn_out(const struct vsock_table *t, unsigned i, const uint8_t **p)
{
	*p = NULL;
	if (i >= VSOCK_MAX_CONNS || t->conn[i].state != VSOCK_CONNECTED)
		return 0;
	const struct vsock_conn *c = &t->conn[i];
	if (c->reply_off < c->reply_len) {
		*p = (const uint8_t *)c->reply + c->reply_off;
		return c->reply_len - c->reply_off;
	}
	if (!c->buf_used)
		return 0;
	uint32_t first = VSOCK_BUF_ALLOC - c->buf_head;
	*p = c->buf + c->buf_head;
	return c->buf_used < first ? c->buf_used : first;
}

/* 5.10.6.3: fwd_cnt counts what left our buffer; tell the guest once it
 * has a good part of the buffer back (it may be waiting for credit). */
void vsock_client_wrote(struct vsock_table *t, unsigned i, size_t n)
{
	if (i >= VSOCK_MAX_CONNS || t->conn[i].state != VSOCK_CONNECTED)
		return;
	struct vsock_conn *c = &t->conn[i];
	if (c->reply_off < c->reply_len) {
		uint32_t left = c->reply_len - c->reply_off;
		c->reply_off += n < left ? (uint32_t)n : left;
		conn_check_done(t, c);
		return;
	}
	uint32_t k = n < c->buf_used ? (uint32_t)n : c->buf_used;
	c->buf_head = (c->buf_head + k) % VSOCK_BUF_ALLOC;
	c->buf_used -= k;
	c->fwd_cnt += k;
	if (c->fwd_cnt - c->fwd_advertised >= VSOCK_BUF_ALLOC / 4)
		c->pend |= VSOCK_PEND_CREDIT_UPDATE;
	conn_check_done(t, c);
}

int vsock_conn_want_shut_wr(const struct vsock_table *t, unsigned i)
{
	if (i >= VSOCK_MAX_CONNS)
		return 0;
	const struct vsock_conn *c = &t->conn[i];
	return c->state == VSOCK_CONNECTED && c->client_open && !c->client_shut_wr &&
	       (c->peer_shut & VSOCK_SHUTDOWN_SEND) && !c->buf_used &&
	       c->reply_off >= c->reply_len;
}

void vsock_client_shut_done(struct vsock_table *t, unsigned i)
{
	if (i < VSOCK_MAX_CONNS)
		t->conn[i].client_shut_wr = 1;
}

int vsock_conn_want_close(const struct vsock_table *t, unsigned i)
{
	return i < VSOCK_MAX_CONNS && t->conn[i].state == VSOCK_CLOSING && t->conn[i].client_open;
}

/* 5.10.6.3: the guest has peer_buf_alloc - (tx_cnt - peer_fwd_cnt) bytes
 * free (32-bit counters that wrap). A guest that reports more forwarded
 * than we sent gets no credit rather than a huge one. */
uint32_t vsock_conn_read_room(const struct vsock_table *t, unsigned i)
{
	if (i >= VSOCK_MAX_CONNS)
		return 0;
	const struct vsock_conn *c = &t->conn[i];
	if (c->state != VSOCK_CONNECTED || c->client_eof || (c->peer_shut & VSOCK_SHUTDOWN_RCV) ||
	    (c->pend & VSOCK_PEND_RST))
		return 0;
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
	if (in_flight >= c->peer_buf_alloc)
		return 0;
	uint32_t room = c->peer_buf_alloc - in_flight;
	return room < VSOCK_MAX_PAYLOAD ? room : VSOCK_MAX_PAYLOAD;
}

int vsock_conn_discarding(const struct vsock_table *t, unsigned i)
{
	if (i >= VSOCK_MAX_CONNS)
		return 0;
	const struct vsock_conn *c = &t->conn[i];
	return c->state == VSOCK_CONNECTED && !c->client_eof &&
	       (c->peer_shut & VSOCK_SHUTDOWN_RCV);
}

/* 5.10.6: a header from host port to guest port, carrying our credit
 * (5.10.6.3: every packet does). */
static void conn_hdr(const struct vsock_table *t, struct vsock_conn *c, uint16_t op,
		     struct vsock_hdr *h)
{
	*h = (struct vsock_hdr){
		.src_cid = VSOCK_CID_HOST, .dst_cid = t->guest_cid,
		.src_port = c->host_port, .dst_port = c->guest_port,
		.type = VSOCK_TYPE_STREAM, .op = op,
		.buf_alloc = VSOCK_BUF_ALLOC, .fwd_cnt = c->fwd_cnt,
	};
	c->fwd_advertised = c->fwd_cnt;
	c->pend &= ~(unsigned)VSOCK_PEND_CREDIT_UPDATE;   /* this header is the update */
}

void vsock_data_hdr(struct vsock_table *t, unsigned i, uint32_t n, struct vsock_hdr *h)
{
	struct vsock_conn *c = &t->conn[i];
	conn_hdr(t, c, VSOCK_OP_RW, h);
	h->len = n;
	c->tx_cnt += n;
}

/* Control packets in the order the protocol needs: REQUEST opens, RST
 * ends (and replaces anything else), credit before SHUTDOWN. */
int vsock_next_ctl(struct vsock_table *t, unsigned i, struct vsock_hdr *h)
{
	if (i >= VSOCK_MAX_CONNS)
		return 0;
	struct vsock_conn *c = &t->conn[i];
	if (!c->pend || c->state == VSOCK_FREE || c->state == VSOCK_CMD)
		return 0;
	if (c->pend & VSOCK_PEND_RST) {
		conn_hdr(t, c, VSOCK_OP_RST, h);
		c->pend = 0;
		t->st.rst_sent++;
		if (!c->client_open)
			conn_free(c);
		return 1;
	}
	if (c->pend & VSOCK_PEND_REQUEST) {
		conn_hdr(t, c, VSOCK_OP_REQUEST, h);
		c->pend &= ~(unsigned)VSOCK_PEND_REQUEST;
		c->request_sent = 1;
		return 1;
	}
	if (c->pend & VSOCK_PEND_CREDIT_UPDATE) {
		conn_hdr(t, c, VSOCK_OP_CREDIT_UPDATE, h);
		return 1;
	}
	if (c->pend & VSOCK_PEND_SHUTDOWN) {
		conn_hdr(t, c, VSOCK_OP_SHUTDOWN, h);
		h->flags = c->shut_flags;
		c->pend &= ~(unsigned)VSOCK_PEND_SHUTDOWN;
		return 1;
	}
	c->pend = 0;
	return 0;
}

int vsock_next_rst(struct vsock_table *t, struct vsock_hdr *h)
{
	if (!t->rst_n)
		return 0;
	unsigned k = t->rst_head;
	*h = (struct vsock_hdr){
		.src_cid = VSOCK_CID_HOST, .dst_cid = t->guest_cid,
		.src_port = t->rst[k].host_port, .dst_port = t->rst[k].guest_port,
		.type = VSOCK_TYPE_STREAM, .op = VSOCK_OP_RST,
	};
	t->rst_head = (k + 1) % VSOCK_RST_QUEUE;
	t->rst_n--;
	t->st.rst_sent++;
	return 1;
}

/* Answer a packet that has no connection with OP_RST (never an RST with
 * an RST). A full queue drops it: the guest times out instead. */
static int queue_rst(struct vsock_table *t, const struct vsock_hdr *h)
{
	if (h->op == VSOCK_OP_RST)
		return VSOCK_PKT_DROPPED;
	if (t->rst_n == VSOCK_RST_QUEUE) {
		t->st.dropped++;
		return VSOCK_PKT_RST;
	}
	unsigned k = (t->rst_head + t->rst_n) % VSOCK_RST_QUEUE;
	t->rst[k].host_port = h->dst_port;
	t->rst[k].guest_port = h->src_port;
	t->rst_n++;
	return VSOCK_PKT_RST;
}

/* The connection a guest packet belongs to: its pair (host port, guest
 * port) once the guest has been told it, or -1. */
static int conn_find(const struct vsock_table *t, uint32_t host_port, uint32_t guest_port)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		const struct vsock_conn *c = &t->conn[i];
		if (c->state >= VSOCK_CONNECTING && c->request_sent && c->host_port == host_port &&
		    c->guest_port == guest_port)
			return (int)i;
	}
	return -1;
}

/* A protocol error on a live connection: RST it. */
static int conn_protocol_error(struct vsock_table *t, struct vsock_conn *c)
{
	t->st.protocol_errors++;
	conn_close(t, c, 1);
	return VSOCK_PKT_RST;
}

/* 5.10.6.3: OP_RW payload into our buffer. The guest must not send more
 * than we advertised as free; one that does broke the protocol. */
static int conn_rw(struct vsock_table *t, struct vsock_conn *c, const uint8_t *payload,
		   uint32_t len)
{
	if (c->peer_shut & VSOCK_SHUTDOWN_SEND)
		return conn_protocol_error(t, c);
	if (len > VSOCK_BUF_ALLOC - c->buf_used)
		return conn_protocol_error(t, c);
	uint32_t at = (c->buf_head + c->buf_used) % VSOCK_BUF_ALLOC;
	uint32_t first = VSOCK_BUF_ALLOC - at < len ? VSOCK_BUF_ALLOC - at : len;
	if (len) {
		memcpy(c->buf + at, payload, first);
		memcpy(c->buf, payload + first, len - first);
	}
	c->buf_used += len;
	c->rx_cnt += len;
	return VSOCK_PKT_OK;
}

/* 5.10.6.5, state CONNECTING: the guest accepts (RESPONSE) or refuses
 * (RST, e.g. nothing listens on the port). */
static int conn_connecting(struct vsock_table *t, struct vsock_conn *c, const struct vsock_hdr *h)
{
	switch (h->op) {
	case VSOCK_OP_RESPONSE:
		c->state = VSOCK_CONNECTED;
		c->deadline_ms = 0;
		c->reply_len = (uint32_t)snprintf(c->reply, sizeof(c->reply), "OK %u\n", c->host_port);
		c->reply_off = 0;
		return VSOCK_PKT_OK;
	case VSOCK_OP_RST:
		conn_close(t, c, 0);
		return VSOCK_PKT_OK;
	default:
		return conn_protocol_error(t, c);
	}
}

/* 5.10.6.3 - 5.10.6.5, state CONNECTED. */
static int conn_connected(struct vsock_table *t, struct vsock_conn *c, const struct vsock_hdr *h,
			  const uint8_t *payload)
{
	switch (h->op) {
	case VSOCK_OP_RW:
		return conn_rw(t, c, payload, h->len);
	case VSOCK_OP_CREDIT_UPDATE:
		return VSOCK_PKT_OK;          /* the credit fields were the news */
	case VSOCK_OP_CREDIT_REQUEST:
		c->pend |= VSOCK_PEND_CREDIT_UPDATE;
		return VSOCK_PKT_OK;
	case VSOCK_OP_SHUTDOWN:
		c->peer_shut |= h->flags & (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND);
		conn_check_done(t, c);
		return VSOCK_PKT_OK;
	case VSOCK_OP_RST:
		conn_close(t, c, 0);
		return VSOCK_PKT_OK;
	default:                          /* REQUEST, RESPONSE, unknown */
		return conn_protocol_error(t, c);
	}
}

int vsock_guest_packet(struct vsock_table *t, const struct vsock_hdr *h, const uint8_t *payload,
		       uint64_t payload_len, int *conn)
{
	*conn = -1;
	t->st.packets++;
	/* 5.10.6.2 addressing: only the guest's own CID, only to the host */
	if (h->src_cid != t->guest_cid || h->dst_cid != VSOCK_CID_HOST) {
		t->st.dropped++;
		return VSOCK_PKT_DROPPED;
	}
	int i = conn_find(t, h->dst_port, h->src_port);
	struct vsock_conn *c = i >= 0 ? &t->conn[i] : NULL;
	*conn = i;
	if (c && c->state == VSOCK_CLOSING) {
		/* over already; an RST from the guest saves ours */
		if (h->op == VSOCK_OP_RST)
			conn_close(t, c, 0);
		return VSOCK_PKT_OK;
	}
	if (h->len > VSOCK_MAX_PAYLOAD || h->len != payload_len || h->type != VSOCK_TYPE_STREAM) {
		if (!c) {
			t->st.protocol_errors++;
			return queue_rst(t, h);
		}
		if (h->op == VSOCK_OP_RST) {
			conn_close(t, c, 0);
			return VSOCK_PKT_OK;
		}
		return conn_protocol_error(t, c);
	}
	if (!c) {
		/* guest-initiated (nothing listens), or late: Linux sends its
		 * SHUTDOWN on close() even after our RST ended the connection */
		if (h->op == VSOCK_OP_REQUEST)
			t->st.refused++;
		return queue_rst(t, h);
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	if (c->state == VSOCK_CONNECTING)
		return conn_connecting(t, c, h);
	return conn_connected(t, c, h, payload);
}

int vsock_table_tick(struct vsock_table *t, uint64_t now_ms)
{
	int any = 0;
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &t->conn[i];
		if ((c->state == VSOCK_CMD || c->state == VSOCK_CONNECTING) && c->deadline_ms &&
		    now_ms >= c->deadline_ms) {
			conn_close(t, c, 1);
			any = 1;
		}
	}
	return any;
}

uint64_t vsock_table_next_deadline(const struct vsock_table *t)
{
	uint64_t d = 0;
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		const struct vsock_conn *c = &t->conn[i];
		if ((c->state == VSOCK_CMD || c->state == VSOCK_CONNECTING) && c->deadline_ms &&
		    (!d || c->deadline_ms < d))
			d = c->deadline_ms;
	}
	return d;
}
