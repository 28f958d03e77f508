/* vsock_conn.h - the virtio-vsock packet and connection state machine
 * (virtio 1.2 section 5.10.6), with no I/O of its own.
 *
 * The host side of every connection is a client of the VMM's unix socket
 * (Firecracker's model): the client writes "CONNECT <port>\n", the device
 * sends OP_REQUEST to that port in the guest from a fresh host port
 * (>= VSOCK_HOST_PORT_MIN), answers "OK <hostport>\n" on OP_RESPONSE and then
 * relays bytes both ways. The glue in vsock.c owns the sockets and the
 * queues; this file decides what goes where:
 *
 *  - vsock_guest_packet() takes one packet the guest sent (a parsed header
 *    and its payload) and updates the connection it names: credit, state,
 *    payload into the connection's buffer for the client, control packets
 *    to send back;
 *  - vsock_next_ctl() / vsock_next_rst() / vsock_data_hdr() give the headers
 *    of the packets to put in the guest's receive buffers;
 *  - vsock_client_*() report what happened on a client's socket, and
 *    vsock_conn_*() say what the glue should do with it now (bytes to write
 *    to it, how many bytes it may read from it, shut or close it).
 *
 * Everything in a guest packet is untrusted; nothing here asserts on it.
 * Protocol errors answer OP_RST for the port pair and end the connection.
 * No global state: a struct vsock_table is a whole device. */
#ifndef BERTH_VM_VIRTIO_VSOCK_CONN_H
#define BERTH_VM_VIRTIO_VSOCK_CONN_H

#include <stddef.h>
#include <stdint.h>

/* Packet header (5.10.6): le64 src_cid, le64 dst_cid, le32 src_port,
 * le32 dst_port, le32 len, le16 type, le16 op, le32 flags, le32 buf_alloc,
 * le32 fwd_cnt. */
#define VSOCK_HDR_LEN 44

#define VSOCK_CID_HOST 2              /* 5.10.4: the host's well-known CID */
#define VSOCK_TYPE_STREAM 1           /* 5.10.6: the only type berth serves */

/* 5.10.6 operations */
enum {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

/* 5.10.6.5 OP_SHUTDOWN flags: the sender will receive (send) no more */
#define VSOCK_SHUTDOWN_RCV  1u
#define VSOCK_SHUTDOWN_SEND 2u

#define VSOCK_MAX_PAYLOAD (64u << 10)  /* one packet's payload, either way */
#define VSOCK_BUF_ALLOC (256u << 10)   /* our receive buffer per connection */
#define VSOCK_MAX_CONNS 64             /* client connections at once */
#define VSOCK_RST_QUEUE 16             /* RSTs for packets without a connection */
#define VSOCK_HOST_PORT_MIN (1u << 30) /* host ports berth hands out */
#define VSOCK_HOST_PORT_MAX 0xfffffffeu /* 0xffffffff is VMADDR_PORT_ANY */
#define VSOCK_CONNECT_MS 5000          /* CONNECT line, then OP_RESPONSE, within */
#define VSOCK_CMD_MAX 32               /* "CONNECT 4294967294\r\n" fits */
#define VSOCK_REPLY_MAX 24             /* "OK 4294967294\n" fits */

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags;
	uint32_t buf_alloc, fwd_cnt;
};

/* A connection's life (all host-initiated). */
enum vsock_state {
	VSOCK_FREE = 0,
	VSOCK_CMD,        /* client accepted; waiting for its CONNECT line */
	VSOCK_CONNECTING, /* OP_REQUEST queued or sent; waiting for OP_RESPONSE */
	VSOCK_CONNECTED,  /* relaying */
	VSOCK_CLOSING,    /* over: the client is to be closed, an RST may wait to leave */
};

/* Control packets waiting for a receive buffer: one bit each, so the
 * queue per connection is bounded and repeats coalesce. */
enum {
	VSOCK_PEND_REQUEST = 1u << 0,
	VSOCK_PEND_CREDIT_UPDATE = 1u << 1,
	VSOCK_PEND_SHUTDOWN = 1u << 2,
	VSOCK_PEND_RST = 1u << 3,
};

struct vsock_conn {
	int state;                 /* enum vsock_state */
	int client_open;           /* the glue holds the client's socket open */
	uint32_t host_port, guest_port;
	uint64_t deadline_ms;      /* VSOCK_CMD / VSOCK_CONNECTING: give up then */
	int request_sent;          /* OP_REQUEST left: the guest may know the pair */

	/* 5.10.6.3 credit: the guest's, from the last header it sent */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt;           /* payload bytes sent to the guest */
	/* ours: rx_cnt bytes received, fwd_cnt of them written to the client */
	uint32_t rx_cnt, fwd_cnt;
	uint32_t fwd_advertised;   /* fwd_cnt in the last header we sent */

	unsigned pend;             /* VSOCK_PEND_* */
	uint32_t shut_flags;       /* VSOCK_SHUTDOWN_* for the pending OP_SHUTDOWN */
	unsigned peer_shut;        /* VSOCK_SHUTDOWN_* the guest has sent */
	int client_eof;            /* the client will send no more */
	int client_shut_wr;        /* the glue shut the client's write side */

	char reply[VSOCK_REPLY_MAX];   /* "OK <port>\n" for the client */
	uint32_t reply_len, reply_off;
	uint8_t *buf;              /* guest-to-client bytes, VSOCK_BUF_ALLOC ring */
	uint32_t buf_head, buf_used;
};

struct vsock_stats {
	uint64_t packets, dropped, protocol_errors, rst_sent, conns, refused;
};

struct vsock_table {
	uint64_t guest_cid;
	uint32_t next_port;
	struct vsock_conn conn[VSOCK_MAX_CONNS];
	/* RSTs answering packets that match no connection (src, dst as sent) */
	struct { uint32_t host_port, guest_port; } rst[VSOCK_RST_QUEUE];
	unsigned rst_head, rst_n;
	struct vsock_stats st;
};

/* 5.10.6 header in wire order (little-endian) and back. */
void vsock_hdr_parse(const uint8_t b[VSOCK_HDR_LEN], struct vsock_hdr *h);
void vsock_hdr_build(const struct vsock_hdr *h, uint8_t b[VSOCK_HDR_LEN]);

/* Start empty, for a guest with this CID (3 .. 0xfffffffe). */
void vsock_table_init(struct vsock_table *t, uint64_t guest_cid);
/* Device reset (or the VM going away): every connection is over without a
 * word to the guest (its driver state is gone); those whose client is open
 * wait in VSOCK_CLOSING for the glue to close it. */
void vsock_table_reset(struct vsock_table *t);
/* Free every buffer (after the glue closed every client). */
void vsock_table_free(struct vsock_table *t);

/* A client connected: its slot (VSOCK_CMD, deadline now + VSOCK_CONNECT_MS),
 * or -1 when all VSOCK_MAX_CONNS are taken. */
int vsock_client_new(struct vsock_table *t, uint64_t now_ms);

/* Parse the client's first line from what it has sent so far: 1 with *port
 * for "CONNECT <port>\n" ("\r\n" also taken; *line_len: bytes of the line),
 * 0 while no newline came yet (and fewer than VSOCK_CMD_MAX bytes), -1 for
 * anything else. */
int vsock_parse_connect(const char *buf, size_t n, uint32_t *port, size_t *line_len);

/* The CONNECT line named `port`: pick a host port, allocate the buffer and
 * queue OP_REQUEST. Returns 0, or -1 (the connection is then closing). */
int vsock_client_connect(struct vsock_table *t, unsigned i, uint32_t port, uint64_t now_ms);

/* The client sent EOF: OP_SHUTDOWN(SEND) to the guest, or the end when the
 * guest is done sending too. */
void vsock_client_eof(struct vsock_table *t, unsigned i);
/* Reading or writing the client failed (or its line was bad): abort, with
 * OP_RST to the guest when it knows the connection. */
void vsock_client_error(struct vsock_table *t, unsigned i);
/* The glue closed the client's socket; the slot is freed once no RST waits. */
void vsock_client_closed(struct vsock_table *t, unsigned i);

/* Bytes waiting for the client (the reply line first, then guest data):
 * a pointer to a contiguous part and its length (0: nothing). */
size_t vsock_conn_out(const struct vsock_table *t, unsigned i, const uint8_t **p);
/* n of those bytes reached the client. Data counts toward fwd_cnt; after a
 * quarter of VSOCK_BUF_ALLOC not yet advertised, OP_CREDIT_UPDATE is queued. */
void vsock_client_wrote(struct vsock_table *t, unsigned i, size_t n);
/* Whether the glue should shutdown(SHUT_WR) the client now (the guest shut
 * its sending side and every byte it sent has been written); then call
 * vsock_client_shut_done. */
int vsock_conn_want_shut_wr(const struct vsock_table *t, unsigned i);
void vsock_client_shut_done(struct vsock_table *t, unsigned i);
/* Whether the glue should close the client now. */
int vsock_conn_want_close(const struct vsock_table *t, unsigned i);
/* How many bytes may be read from the client and sent to the guest now
 * (5.10.6.3: never more than the guest's free buffer space, never more
 * than one packet); 0 when connected but out of credit or shut, or not
 * connected. */
uint32_t vsock_conn_read_room(const struct vsock_table *t, unsigned i);
/* Whether the guest shut its receiving side while the client still sends:
 * the glue reads and drops the client's bytes (to see its EOF). */
int vsock_conn_discarding(const struct vsock_table *t, unsigned i);

/* The header of an OP_RW packet carrying n (<= read_room) bytes just read
 * from the client; counts them in tx_cnt. */
void vsock_data_hdr(struct vsock_table *t, unsigned i, uint32_t n, struct vsock_hdr *h);
/* The next control packet connection i has waiting: 1 with *h (marked as
 * sent: the glue must deliver it), 0 when none. An RST sent frees a slot
 * whose client is already closed. */
int vsock_next_ctl(struct vsock_table *t, unsigned i, struct vsock_hdr *h);
/* The next RST for a packet that matched no connection: 1 with *h, or 0. */
int vsock_next_rst(struct vsock_table *t, struct vsock_hdr *h);

/* What vsock_guest_packet did with a packet. */
enum vsock_verdict {
	VSOCK_PKT_OK = 0,          /* handled */
	VSOCK_PKT_DROPPED,         /* not for us (CIDs): ignored, no answer */
	VSOCK_PKT_RST,             /* refused or a protocol error: RST queued */
};

/* One packet from the guest's transmit queue: its header and the payload
 * (payload_len: the readable bytes after the header in the chain; payload
 * holds them when payload_len <= VSOCK_MAX_PAYLOAD, else may be NULL).
 * *conn gets the connection touched, or -1. Checks, in order: CIDs
 * (src the guest's, dst the host; else dropped), len (== payload_len and
 * <= VSOCK_MAX_PAYLOAD), type (STREAM), then the op against the
 * connection's state (5.10.6.5). Credit fields are taken from every packet
 * that reaches a live connection. */
int vsock_guest_packet(struct vsock_table *t, const struct vsock_hdr *h, const uint8_t *payload,
		       uint64_t payload_len, int *conn);

/* Time passed: connections past their deadline are aborted. Returns 1 when
 * one was. */
int vsock_table_tick(struct vsock_table *t, uint64_t now_ms);
/* The earliest deadline of any connection, or 0 when none. */
uint64_t vsock_table_next_deadline(const struct vsock_table *t);

#endif
