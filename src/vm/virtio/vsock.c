/* vsock.c - virtio socket device (virtio 1.2 section 5.10): device ID 19,
 * no feature bits (5.10.3: a device with none negotiated acts as a stream
 * device), three queues (5.10.2: 0 rx, host to guest; 1 tx, guest to host;
 * 2 event, unused: berth never migrates a guest), config space le64
 * guest_cid (5.10.4). This file is the glue: the listening unix socket,
 * the client sockets, a timer for connection deadlines and the queues; the
 * protocol is in vsock_conn.c.
 *
 * Threads: everything runs on the device loop under the device's lock,
 * except reset (a vCPU thread, or the VMM tearing down), which only marks
 * the connections as over and wakes the loop, since removing an fd from
 * the loop from another thread while holding the lock could wait forever
 * on a callback that waits for the lock (evloop.h).
 *
 * Client sockets are watched edge-triggered: the loop remembers whether a
 * socket may have bytes to read (or room to write) and reads only while
 * the guest has credit and receive buffers, so a guest that stops reading
 * stops the client (back-pressure), and a credit update or new receive
 * buffers resume it. A receive chain taken from the queue but not yet
 * needed is held (never returned empty) until there is something to send. */
#include "vm/virtio/vsock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vm/evloop.h"
#include "vm/virtio/virtq.h"
#include "vm/virtio/vsock_conn.h"
#include "vm/vm.h"

#define VSOCK_RX 0
#define VSOCK_TX 1
#define VSOCK_EVENT 2
#define VSOCK_LOG_LINES 10
#define VSOCK_PUMP_ROUNDS 8      /* service/fill rounds per event, for fairness */

struct virtio_vsock;

/* A client socket; its index is the connection's in the table. */
struct vsock_slot {
	struct virtio_vsock *vs;
	unsigned idx;
	int fd;                      /* -1: none */
	int readable, writable;      /* edge-triggered readiness not yet used up */
};

struct virtio_vsock {
	struct virtio_dev *dev;
	struct evloop *loop;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t sock_dev;
	ino_t sock_ino;
	int listen_fd, timer_fd, wake_fd;
	uint64_t timer_at;           /* deadline the timer is armed for, 0: none */
	unsigned rr;                 /* round-robin start among connections */
	unsigned log_budget;
	struct vsock_table t;
	struct vsock_slot slot[VSOCK_MAX_CONNS];
	int have_rx;                 /* rx holds a receive chain not yet used */
	struct virtq_chain rx;
	uint8_t scratch[VSOCK_MAX_PAYLOAD];
};

/* One rate-limited line on stderr about the guest or a client. */
static void vsock_log(struct virtio_vsock *vs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void vsock_log(struct virtio_vsock *vs, const char *fmt, ...)
{
	if (!vs->log_budget)
		return;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "berth vmm: virtio-vsock: %s\n", msg);
	if (--vs->log_budget == 0)
		fprintf(stderr, "berth vmm: virtio-vsock: further messages suppressed\n");
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Poke the device loop (reset happened, or the device went live). */
static void vsock_wake(struct virtio_vsock *vs)
{
	uint64_t one = 1;
	if (write(vs->wake_fd, &one, sizeof(one)) < 0) {
		/* overflow only: already readable */
	}
}

/* Stop watching and close client i; the table frees the slot (or keeps it
 * until its RST has left). Device loop only. */
static void vsock_slot_close(struct virtio_vsock *vs, unsigned i)
{
	struct vsock_slot *s = &vs->slot[i];
	if (s->fd < 0)
		return;
	evloop_del(vs->loop, s->fd);
	close(s->fd);
	s->fd = -1;
	s->readable = s->writable = 0;
	vsock_client_closed(&vs->t, i);
}

/* The client's first line (in VSOCK_CMD): peek, so bytes it sent after
 * the line stay in the socket for the guest; consume only the line. */
static void vsock_slot_cmd(struct virtio_vsock *vs, unsigned i)
{
	struct vsock_slot *s = &vs->slot[i];
	char buf[VSOCK_CMD_MAX];
	ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			s->readable = 0;
		else if (errno != EINTR)
			vsock_client_error(&vs->t, i);
		return;
	}
	if (n == 0) {
		vsock_client_eof(&vs->t, i);
		return;
	}
	uint32_t port;
	size_t line;
	int r = vsock_parse_connect(buf, (size_t)n, &port, &line);
	if (r == 0) {
		s->readable = 0;              /* the rest of the line comes with a new edge */
		return;
	}
	if (r < 0 || recv(s->fd, buf, line, MSG_DONTWAIT) != (ssize_t)line) {
		vsock_log(vs, "client %u: expected \"CONNECT <port>\\n\"; closed", i);
		vsock_client_error(&vs->t, i);
		return;
	}
	if (vsock_client_connect(&vs->t, i, port, now_ms()) < 0)
		vsock_log(vs, "client %u: out of memory for its buffer; closed", i);
}

/* Write what waits for the client (the reply line, guest data). */
static void vsock_slot_flush(struct virtio_vsock *vs, unsigned i)
{
	struct vsock_slot *s = &vs->slot[i];
	const uint8_t *p;
	size_t n;
	while (s->writable && (n = vsock_conn_out(&vs->t, i, &p)) > 0) {
		ssize_t w = send(s->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			s->writable = 0;
			break;
		}
		if (w <= 0) {
			vsock_client_error(&vs->t, i);
			break;
		}
		vsock_client_wrote(&vs->t, i, (size_t)w);
	}
}

/* The guest shut its receiving side: read and drop what the client still
 * sends, to see its EOF (at most 64 reads per event, so that a client
 * that never stops cannot hold the device loop). */
static void vsock_slot_discard(struct virtio_vsock *vs, unsigned i)
{
	struct vsock_slot *s = &vs->slot[i];
	for (int k = 0; k < 64 && s->readable && vsock_conn_discarding(&vs->t, i); k++) {
		ssize_t n = recv(s->fd, vs->scratch, sizeof(vs->scratch), MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n == 0)
			vsock_client_eof(&vs->t, i);
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			s->readable = 0;
		else if (errno != EINTR)
			vsock_client_error(&vs->t, i);
	}
}

/* Everything client i needs that does not involve the guest's queues. */
static void vsock_slot_service(struct virtio_vsock *vs, unsigned i)
{
	struct vsock_slot *s = &vs->slot[i];
	if (s->fd < 0)
		return;
	if (vs->t.conn[i].state == VSOCK_CMD && s->readable)
		vsock_slot_cmd(vs, i);
	vsock_slot_flush(vs, i);
	if (vsock_conn_want_shut_wr(&vs->t, i)) {
		shutdown(s->fd, SHUT_WR);
		vsock_client_shut_done(&vs->t, i);
	}
	vsock_slot_discard(vs, i);
	if (vsock_conn_want_close(&vs->t, i))
		vsock_slot_close(vs, i);
}

/* The chain's writable part from byte `off`, at most len bytes, as iovecs. */
static int vsock_rx_iov(const struct virtq_chain *c, uint64_t off, uint64_t len,
			struct iovec *iov)
{
	int n = 0;
	for (unsigned k = c->nread; k < c->nseg && len; k++) {
		uint64_t l = c->seg[k].len;
		if (off >= l) {
			off -= l;
			continue;
		}
		uint64_t take = l - off < len ? l - off : len;
		iov[n].iov_base = c->seg[k].p + off;
		iov[n].iov_len = (size_t)take;
		n++;
		len -= take;
		off = 0;
	}
	return n;
}

/* Read client bytes straight into the held receive chain, for the first
 * connection (round robin) that may send and has something. 1 with *h
 * filled, 0 when no connection had data now. */
static int vsock_rx_data(struct virtio_vsock *vs, struct vsock_hdr *h)
{
	uint64_t space = vs->rx.write_len - VSOCK_HDR_LEN;
	for (unsigned k = 0; k < VSOCK_MAX_CONNS; k++) {
		unsigned i = (vs->rr + k) % VSOCK_MAX_CONNS;
		struct vsock_slot *s = &vs->slot[i];
		uint32_t room = vsock_conn_read_room(&vs->t, i);
		if (s->fd < 0 || !s->readable || !room)
			continue;
		struct iovec iov[VIRTQ_MAX_SEGS];
		int niov = vsock_rx_iov(&vs->rx, VSOCK_HDR_LEN, room < space ? room : space, iov);
		ssize_t n = readv(s->fd, iov, niov);
		if (n > 0) {
			vsock_data_hdr(&vs->t, i, (uint32_t)n, h);
			vs->rr = (i + 1) % VSOCK_MAX_CONNS;
			return 1;
		}
		if (n == 0)
			vsock_client_eof(&vs->t, i);      /* OP_SHUTDOWN is now pending */
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			s->readable = 0;
		else if (errno != EINTR)
			vsock_client_error(&vs->t, i);
		if (vs->t.conn[i].pend)
			return vsock_next_ctl(&vs->t, i, h);
	}
	return 0;
}

/* The next packet for the guest: RSTs without a connection, then control
 * packets, then data; 1 with *h, 0 when there is nothing to send. */
static int vsock_rx_next(struct virtio_vsock *vs, struct vsock_hdr *h)
{
	if (vsock_next_rst(&vs->t, h))
		return 1;
	for (unsigned k = 0; k < VSOCK_MAX_CONNS; k++) {
		unsigned i = (vs->rr + k) % VSOCK_MAX_CONNS;
		if (vsock_next_ctl(&vs->t, i, h)) {
			vs->rr = (i + 1) % VSOCK_MAX_CONNS;
			return 1;
		}
	}
	if (vs->rx.write_len <= VSOCK_HDR_LEN)
		return 0;
	return vsock_rx_data(vs, h);
}

/* 5.10.6.4: fill receive buffers (header, then payload) while there is
 * something to send. Returns 1 when a buffer was used. */
static int vsock_rx_fill(struct virtio_vsock *vs)
{
	struct virtio_dev *d = vs->dev;
	struct virtq *q = &d->q[VSOCK_RX];
	int pushed = 0;
	if (!virtio_mmio_live(d) || !q->ready || q->broken)
		return 0;
	for (;;) {
		if (!vs->have_rx) {
			int r = virtq_pop(q, &vs->rx);
			if (r == 0)
				break;
			if (r < 0) {
				virtio_mmio_fail(d, "queue %u: %s; the device needs a reset", VSOCK_RX,
						 q->why ? q->why : "broken");
				break;
			}
			if (vs->rx.write_len < VSOCK_HDR_LEN) {
				virtio_mmio_fail(d, "receive buffer of %llu writable bytes cannot hold "
						 "a %d-byte header", (unsigned long long)vs->rx.write_len,
						 VSOCK_HDR_LEN);
				break;
			}
			vs->have_rx = 1;
		}
		struct vsock_hdr h;
		if (!vsock_rx_next(vs, &h))
			break;
		uint8_t raw[VSOCK_HDR_LEN];
		vsock_hdr_build(&h, raw);
		virtq_chain_write(&vs->rx, 0, raw, sizeof(raw));
		virtq_push(q, vs->rx.head, VSOCK_HDR_LEN + h.len);
		vs->have_rx = 0;
		pushed = 1;
	}
	if (pushed)
		virtio_mmio_used(d, VSOCK_RX);
	return pushed;
}

/* Arm the timer for the earliest connection deadline (or disarm it). */
static void vsock_timer_arm(struct virtio_vsock *vs)
{
	uint64_t at = vsock_table_next_deadline(&vs->t);
	if (at == vs->timer_at)
		return;
	struct itimerspec its = { 0 };
	its.it_value.tv_sec = (time_t)(at / 1000);
	its.it_value.tv_nsec = (long)(at % 1000) * 1000000;
	if (timerfd_settime(vs->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		vs->timer_at = at;
}

/* After any event: serve the clients, fill receive buffers, repeat while
 * that changed something (an RST sent frees a slot, a read EOF queues a
 * shutdown...), at most VSOCK_PUMP_ROUNDS times. A failed device drops
 * every connection. Device loop, lock held. */
static void vsock_pump(struct virtio_vsock *vs)
{
	if (vs->dev->status & VIRTIO_STATUS_NEEDS_RESET) {
		vsock_table_reset(&vs->t);
		vs->have_rx = 0;
	}
	for (int round = 0; round < VSOCK_PUMP_ROUNDS; round++) {
		for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
			vsock_slot_service(vs, i);
		if (!vsock_rx_fill(vs))
			break;
	}
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (vsock_conn_want_close(&vs->t, i))
			vsock_slot_close(vs, i);
	vsock_timer_arm(vs);
}

/* 5.10.6.4: one packet from the transmit queue. The header must be in the
 * readable part (else the driver broke the chain format: the device needs
 * a reset); everything else is the protocol's business. Returns 0, or -1
 * when the device failed. */
static int vsock_tx_chain(struct virtio_vsock *vs, const struct virtq_chain *c)
{
	uint8_t raw[VSOCK_HDR_LEN];
	if (c->read_len < VSOCK_HDR_LEN) {
		virtio_mmio_fail(vs->dev, "transmit buffer of %llu readable bytes has no %d-byte "
				 "header", (unsigned long long)c->read_len, VSOCK_HDR_LEN);
		return -1;
	}
	virtq_chain_read(c, 0, raw, sizeof(raw));
	struct vsock_hdr h;
	vsock_hdr_parse(raw, &h);
	uint64_t plen = c->read_len - VSOCK_HDR_LEN;
	if (plen <= VSOCK_MAX_PAYLOAD && h.len == plen)
		virtq_chain_read(c, VSOCK_HDR_LEN, vs->scratch, (size_t)plen);
	struct vsock_stats before = vs->t.st;
	int conn;
	vsock_guest_packet(&vs->t, &h, vs->scratch, plen, &conn);
	if (vs->t.st.dropped != before.dropped)
		vsock_log(vs, "packet from CID %llu to CID %llu dropped (the guest is CID %llu)",
			  (unsigned long long)h.src_cid, (unsigned long long)h.dst_cid,
			  (unsigned long long)vs->t.guest_cid);
	else if (vs->t.st.protocol_errors != before.protocol_errors)
		vsock_log(vs, "bad packet from guest port %u to host port %u (op %u, type %u, len %u "
			  "of %llu bytes); reset", h.src_port, h.dst_port, h.op, h.type, h.len,
			  (unsigned long long)plen);
	return 0;
}

/* The transmit queue: every packet in order, each buffer returned with
 * used length 0 (the device writes nothing into it). */
static void vsock_tx(struct virtio_vsock *vs)
{
	struct virtio_dev *d = vs->dev;
	struct virtq *q = &d->q[VSOCK_TX];
	struct virtq_chain c;
	int pushed = 0;
	while (virtq_pop(q, &c) == 1) {
		if (vsock_tx_chain(vs, &c) < 0)
			break;
		virtq_push(q, c.head, 0);
		pushed = 1;
	}
	if (pushed)
		virtio_mmio_used(d, VSOCK_TX);
	if (q->broken)           /* now, so that the pump drops the connections */
		virtio_mmio_fail(d, "queue %u: %s; the device needs a reset", VSOCK_TX,
				 q->why ? q->why : "broken");
}

/* 5.10.6: the driver sent packets (tx) or posted receive buffers (rx);
 * the event queue's buffers stay with us (no event is ever sent). */
static void vsock_queue_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_vsock *vs = d->priv;
	if (q == VSOCK_TX)
		vsock_tx(vs);
	if (q == VSOCK_TX || q == VSOCK_RX)
		vsock_pump(vs);
}

/* 5.10.4: le64 guest_cid, read-only. */
static void vsock_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, unsigned len)
{
	struct virtio_vsock *vs = d->priv;
	uint8_t cfg[VSOCK_CONFIG_LEN];
	for (unsigned i = 0; i < sizeof(cfg); i++)
		cfg[i] = (uint8_t)(vs->t.guest_cid >> (8 * i));
	memcpy(data, cfg + off, len);
}

/* DRIVER_OK: the transport kicks the queues; connections that waited for
 * the driver go out then. */
static int vsock_activate(struct virtio_dev *d)
{
	vsock_wake(d->priv);
	return 0;
}

/* 2.4 reset: every connection is over (see the top); the held receive
 * chain belongs to the old queue. */
static void vsock_reset(struct virtio_dev *d)
{
	struct virtio_vsock *vs = d->priv;
	vsock_table_reset(&vs->t);
	vs->have_rx = 0;
	vsock_wake(vs);
}

const struct virtio_dev_ops vsock_dev_ops = {
	.name = "vsock",
	.device_id = VSOCK_DEVICE_ID,
	.nqueues = 3,
	.config_len = VSOCK_CONFIG_LEN,
	.config_read = vsock_config_read,
	.activate = vsock_activate,
	.queue_notify = vsock_queue_notify,
	.reset = vsock_reset,
};

/* The device of a loop callback, once attached (NULL while attaching). */
static struct virtio_dev *vsock_dev(struct virtio_vsock *vs)
{
	return __atomic_load_n(&vs->dev, __ATOMIC_ACQUIRE);
}

/* A client socket is ready (edge-triggered). */
static void vsock_client_ready(void *arg, uint32_t events)
{
	struct vsock_slot *s = arg;
	struct virtio_vsock *vs = s->vs;
	struct virtio_dev *d = vsock_dev(vs);
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	if (s->fd >= 0) {
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			s->readable = 1;
		if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			s->writable = 1;
		vsock_pump(vs);
	}
	pthread_mutex_unlock(&d->lock);
}

/* New clients: a slot each, or closed at once when all are taken. */
static void vsock_accept(struct virtio_vsock *vs)
{
	for (;;) {
		int fd = accept4(vs->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				vsock_log(vs, "accept on %s: %s", vs->path, strerror(errno));
			return;
		}
		int i = vsock_client_new(&vs->t, now_ms());
		if (i < 0) {
			vsock_log(vs, "%d connections already; a new client was closed", VSOCK_MAX_CONNS);
			close(fd);
			continue;
		}
		struct vsock_slot *s = &vs->slot[i];
		*s = (struct vsock_slot){ .vs = vs, .idx = (unsigned)i, .fd = fd, .readable = 1,
					  .writable = 1 };
		struct err e = { 0 };
		if (evloop_add(vs->loop, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
			       vsock_client_ready, s, &e) < 0) {
			vsock_log(vs, "%s", e.msg);
			close(fd);
			s->fd = -1;
			vsock_client_closed(&vs->t, (unsigned)i);
		}
	}
}

static void vsock_listen_ready(void *arg, uint32_t events)
{
	struct virtio_vsock *vs = arg;
	struct virtio_dev *d = vsock_dev(vs);
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	vsock_accept(vs);
	vsock_pump(vs);
	pthread_mutex_unlock(&d->lock);
}

/* A deadline passed: clients that never sent their line, or whose guest
 * never answered, are closed. */
static void vsock_timer_ready(void *arg, uint32_t events)
{
	struct virtio_vsock *vs = arg;
	struct virtio_dev *d = vsock_dev(vs);
	uint64_t n;
	if (read(vs->timer_fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: re-armed meanwhile */
	}
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	vs->timer_at = 0;
	vsock_table_tick(&vs->t, now_ms());
	vsock_pump(vs);
	pthread_mutex_unlock(&d->lock);
}

static void vsock_wake_ready(void *arg, uint32_t events)
{
	struct virtio_vsock *vs = arg;
	struct virtio_dev *d = vsock_dev(vs);
	uint64_t n;
	if (read(vs->wake_fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: drained already */
	}
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	vsock_pump(vs);
	pthread_mutex_unlock(&d->lock);
}

/* Listen on path: a stale socket there (no one accepts on it) is
 * replaced; a live one, or anything that is not a socket, is refused. */
static int vsock_listen(struct virtio_vsock *vs, const char *path, struct err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (!path || !*path)
		return err_exit(e, EXIT_USAGE, "vsock: no unix socket path given");
	if (strlen(path) >= sizeof(sa.sun_path))
		return err_exit(e, EXIT_USAGE, "vsock socket path %s is longer than %zu bytes; "
				"use a shorter path", path, sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, path);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_exit(e, EXIT_USAGE, "vsock socket path %s exists and is not a socket; "
					"remove it or choose another path", path);
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		/* a sandboxed VMM may not connect (EACCES): its socket directory
		 * is its guest's own, locked by the monitor, so what is there is
		 * stale */
		int live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (probe >= 0)
			close(probe);
		if (live)
			return err_exit(e, EXIT_STATE, "vsock socket %s is in use by another VMM; "
					"stop it or choose another path", path);
		if (unlink(path) < 0 && errno != ENOENT)
			return err_sys(e, errno, "remove stale vsock socket %s", path);
	}
	vs->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (vs->listen_fd < 0)
		return err_sys(e, errno, "vsock: socket");
	if (bind(vs->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_sys(e, errno, "bind vsock socket %s", path);
	strcpy(vs->path, path);
	if (lstat(path, &st) < 0)
		return err_sys(e, errno, "vsock socket %s", path);
	vs->sock_dev = st.st_dev;
	vs->sock_ino = st.st_ino;
	if (chmod(path, 0600) < 0)
		return err_sys(e, errno, "chmod vsock socket %s", path);
	if (listen(vs->listen_fd, 16) < 0)
		return err_sys(e, errno, "listen on vsock socket %s", path);
	return 0;
}

/* The fds the device watches besides its queues, and their loop entries. */
static int vsock_setup_fds(struct virtio_vsock *vs, const struct vsock_cfg *cfg, struct err *e)
{
	int r = vsock_listen(vs, cfg->uds_path, e);
	if (r < 0)
		return r;
	vs->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (vs->timer_fd < 0)
		return err_sys(e, errno, "vsock: timerfd");
	vs->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vs->wake_fd < 0)
		return err_sys(e, errno, "vsock: eventfd");
	if ((r = evloop_add(vs->loop, vs->listen_fd, EPOLLIN, vsock_listen_ready, vs, e)) < 0)
		return r;
	if ((r = evloop_add(vs->loop, vs->timer_fd, EPOLLIN, vsock_timer_ready, vs, e)) < 0)
		return r;
	return evloop_add(vs->loop, vs->wake_fd, EPOLLIN, vsock_wake_ready, vs, e);
}

int virtio_vsock_attach(struct vm *vm, struct evloop *loop, const struct vsock_cfg *cfg,
			struct virtio_vsock **out, struct err *e)
{
	*out = NULL;
	if (cfg->guest_cid < 3 || cfg->guest_cid > 0xfffffffeull)
		return err_exit(e, EXIT_USAGE, "vsock guest CID %llu: give 3 to 4294967294 "
				"(0-2 are reserved)", (unsigned long long)cfg->guest_cid);
	struct virtio_vsock *vs = calloc(1, sizeof(*vs));
	if (!vs)
		return err_sys(e, ENOMEM, "virtio-vsock");
	vs->loop = loop;
	vs->listen_fd = vs->timer_fd = vs->wake_fd = -1;
	vs->log_budget = VSOCK_LOG_LINES;
	vsock_table_init(&vs->t, cfg->guest_cid);
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		vs->slot[i] = (struct vsock_slot){ .vs = vs, .idx = i, .fd = -1 };
	int r = vsock_setup_fds(vs, cfg, e);
	struct virtio_dev *d = NULL;
	if (r == 0)
		r = virtio_mmio_attach(vm, loop, &vsock_dev_ops, vs, &d, e);
	if (r < 0) {
		virtio_vsock_free(vs);
		return r;
	}
	__atomic_store_n(&vs->dev, d, __ATOMIC_RELEASE);
	*out = vs;
	return 0;
}

void virtio_vsock_free(struct virtio_vsock *vs)
{
	if (!vs)
		return;
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		if (vs->slot[i].fd < 0)
			continue;
		evloop_del(vs->loop, vs->slot[i].fd);
		close(vs->slot[i].fd);
	}
	int fds[] = { vs->listen_fd, vs->timer_fd, vs->wake_fd };
	for (unsigned i = 0; i < 3; i++) {
		if (fds[i] < 0)
			continue;
		evloop_del(vs->loop, fds[i]);
		close(fds[i]);
	}
	struct stat st;
	if (vs->path[0] && lstat(vs->path, &st) == 0 && st.st_dev == vs->sock_dev &&
	    st.st_ino == vs->sock_ino)
		unlink(vs->path);
	vsock_table_free(&vs->t);
	free(vs);
}
