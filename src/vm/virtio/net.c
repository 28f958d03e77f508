/* net.c - virtio network device (virtio 1.2 section 5.1): device ID 1,
 * queue 0 receiveq1, queue 1 transmitq1 (5.1.2; no control queue, no
 * multiqueue). Features (5.1.3): MAC (the address in config space) and
 * STATUS (link always up); no checksum or segmentation offloads, so the
 * 12-byte header (struct virtio_net_hdr_v1, 5.1.6: VERSION_1 makes it 12
 * bytes even without MRG_RXBUF) carries nothing but num_buffers.
 *
 * Transmit (5.1.6.2): every chain is one frame behind a header; it goes to
 * the fd in one writev behind a zeroed header of ours (the guest's header
 * is not passed on: with no offloads negotiated it must be all zero, and
 * the host kernel should never parse one the guest made up). The used
 * length is 0. A frame longer than 65550 bytes, or a chain shorter than a
 * header, is dropped with a log line; a device-writable part breaks the
 * rules (DEVICE_NEEDS_RESET).
 *
 * Receive (5.1.6.3, 5.1.6.4): without MRG_RXBUF every frame goes into one
 * chain. The fd is watched edge-triggered. While the driver has posted
 * buffers, frames are read straight into them (readv) until the fd runs
 * dry; a chain taken with no frame to fill it is held for the next one.
 * When there are no buffers the device stops reading: the tap's own queue
 * (txqueuelen frames) fills and the host kernel drops the rest, and a
 * notification of new buffers resumes it. Linux without offloads posts
 * 1530-byte buffers (12 + 1518); a frame that does not fit a chain is
 * dropped and the chain returned with length 0, which Linux counts as a
 * length error (5.1.6.3.1: drivers SHOULD post at least 1526 bytes). The
 * header the tap wrote is replaced: flags 0, GSO none, num_buffers 1.
 *
 * Threads: the queues are served on the device loop under the device
 * lock; a round serves at most one queue's worth of chains and then
 * re-signals the queue's notification eventfd, so a flood in either
 * direction cannot starve the other devices on the loop. */
#include "vm/virtio/net.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vm/evloop.h"
#include "vm/virtio/virtq.h"
#include "vm/vm.h"

#define NET_RX 0
#define NET_TX 1
#define NET_LOG_LINES 10
#define NET_HDR_F_NEEDS_CSUM 1   /* 5.1.6 virtio_net_hdr.flags */

struct virtio_net {
	struct virtio_dev *dev;
	struct evloop *loop;
	int fd;
	int watched;                 /* fd is on the loop */
	uint8_t mac[6];
	unsigned log_budget;
	int have_rx;                 /* rx holds a receive chain not yet filled */
	struct virtq_chain rx;
	uint64_t rx_bytes, tx_bytes; /* frames delivered/sent, headers excluded (stats) */
};

/* One line on stderr about the guest or the tap, at most NET_LOG_LINES. */
static void net_log(struct virtio_net *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void net_log(struct virtio_net *n, const char *fmt, ...)
{
	if (n->log_budget == 0)
		return;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "berth vmm: virtio-net: %s\n", msg);
	if (--n->log_budget == 0)
		fprintf(stderr, "berth vmm: virtio-net: further messages suppressed\n");
}

/* Serve queue q again later, after the loop's other ready fds. */
static void net_requeue(struct virtio_dev *d, unsigned q)
{
	uint64_t one = 1;
	if (write(d->notify_fd[q], &one, sizeof(one)) < 0) {
		/* overflow only: a notification is pending anyway */
	}
}

/* 5.1.6.2: one transmit chain to the fd: our zero header, then the frame
 * (the readable part after the guest's 12-byte header). */
static void net_tx_frame(struct virtio_net *n, const struct virtq_chain *c)
{
	static const uint8_t zero_hdr[NET_HDR_LEN];
	if (c->read_len < NET_HDR_LEN) {
		net_log(n, "transmit buffer of %llu bytes is shorter than the %d-byte header; dropped",
			(unsigned long long)c->read_len, NET_HDR_LEN);
		return;
	}
	if (c->read_len > NET_MAX_CHAIN) {
		net_log(n, "transmit frame of %llu bytes exceeds %d; dropped",
			(unsigned long long)(c->read_len - NET_HDR_LEN), NET_MAX_FRAME);
		return;
	}
	struct iovec iov[VIRTQ_MAX_SEGS + 1];
	unsigned k = 0;
	uint64_t skip = NET_HDR_LEN;
	iov[k++] = (struct iovec){ (void *)zero_hdr, NET_HDR_LEN };
	for (unsigned i = 0; i < c->nread; i++) {
		const struct virtq_seg *s = &c->seg[i];
		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		iov[k++] = (struct iovec){ s->p + skip, s->len - skip };
		skip = 0;
	}
	ssize_t w;
	do
		w = writev(n->fd, iov, (int)k);
	while (w < 0 && errno == EINTR);
	/* EIO: the tap is down; EAGAIN: its socket is full: the frame is lost,
	 * as on a wire */
	if (w < 0 && errno != EIO && errno != EAGAIN && errno != EWOULDBLOCK)
		net_log(n, "write to the tap: %s; frame dropped", strerror(errno));
	if (w > NET_HDR_LEN)
		__atomic_add_fetch(&n->tx_bytes, (uint64_t)(w - NET_HDR_LEN), __ATOMIC_RELAXED);
}

/* 5.1.6.2: send what the driver queued; at most a queue's worth now. */
static void net_tx(struct virtio_dev *d)
{
	struct virtio_net *n = d->priv;
	struct virtq *q = &d->q[NET_TX];
	struct virtq_chain ch;
	unsigned served = 0;
	while (served < q->size && virtq_pop(q, &ch) == 1) {
		if (ch.nseg > ch.nread) {
			virtio_mmio_fail(d, "transmit buffer with a device-writable part; the device needs a reset");
			return;
		}
		net_tx_frame(n, &ch);
		virtq_push(q, ch.head, 0);
		served++;
	}
	if (served)
		virtio_mmio_used(d, NET_TX);
	if (served == q->size && !q->broken)
		net_requeue(d, NET_TX);
}

/* The first 12 bytes of the chain's writable part (what the fd wrote). */
static void net_rx_hdr(const struct virtq_chain *c, uint8_t *h)
{
	size_t done = 0;
	for (unsigned i = c->nread; i < c->nseg && done < NET_HDR_LEN; i++) {
		size_t m = c->seg[i].len < NET_HDR_LEN - done ? c->seg[i].len : NET_HDR_LEN - done;
		memcpy(h + done, c->seg[i].p, m);
		done += m;
	}
}

/* Hand the held chain back with `len` bytes written. */
static void net_rx_return(struct virtio_net *n, uint32_t len)
{
	virtq_push(&n->dev->q[NET_RX], n->rx.head, len);
	n->have_rx = 0;
}

/* 5.1.6.4: one frame from the fd into one receive chain. Returns 1 when a
 * chain went back to the driver (filled, or empty with the frame
 * dropped), 0 when there is no chain or no frame (or the device broke). */
static int net_rx_frame(struct virtio_net *n)
{
	static const uint8_t rx_hdr[NET_HDR_LEN] = { [10] = 1 };   /* num_buffers 1 */
	struct virtio_dev *d = n->dev;
	struct virtq_chain *c = &n->rx;
	if (!n->have_rx) {
		if (virtq_pop(&d->q[NET_RX], c) != 1)
			return 0;
		if (c->nread) {
			virtio_mmio_fail(d, "receive buffer with a device-readable part; the device needs a reset");
			return 0;
		}
		n->have_rx = 1;
	}
	if (c->write_len < NET_HDR_LEN) {
		net_log(n, "receive buffer of %llu bytes cannot hold the %d-byte header; returned empty",
			(unsigned long long)c->write_len, NET_HDR_LEN);
		net_rx_return(n, 0);
		return 1;
	}
	/* one byte past the chain: a frame that reaches it did not fit */
	struct iovec iov[VIRTQ_MAX_SEGS + 1];
	uint8_t spill;
	unsigned k = 0;
	for (unsigned i = c->nread; i < c->nseg; i++)
		iov[k++] = (struct iovec){ c->seg[i].p, c->seg[i].len };
	iov[k++] = (struct iovec){ &spill, 1 };
	ssize_t got;
	do
		got = readv(n->fd, iov, (int)k);
	while (got < 0 && errno == EINTR);
	if (got == 0 || (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
		return 0;                  /* no frame: keep the chain */
	if (got < 0 && errno != EFAULT && errno != EINVAL && errno != EMSGSIZE) {
		net_log(n, "read from the tap: %s", strerror(errno));
		return 0;
	}
	if (got < 0 || (uint64_t)got > c->write_len) {
		/* the tap says EFAULT (or returns the full length) when the
		 * frame was longer than the buffers */
		net_log(n, "received frame does not fit a %llu-byte receive buffer; dropped",
			(unsigned long long)c->write_len);
		net_rx_return(n, 0);
		return 1;
	}
	uint8_t h[NET_HDR_LEN] = { 0 };
	net_rx_hdr(c, h);
	if (got < NET_HDR_LEN || (h[0] & NET_HDR_F_NEEDS_CSUM) || h[1] != 0) {
		net_log(n, "received frame needs an offload the guest did not accept (or is short); dropped");
		net_rx_return(n, 0);
		return 1;
	}
	virtq_chain_write(c, 0, rx_hdr, NET_HDR_LEN);
	__atomic_add_fetch(&n->rx_bytes, (uint64_t)(got - NET_HDR_LEN), __ATOMIC_RELAXED);
	net_rx_return(n, (uint32_t)got);
	return 1;
}

/* Fill receive buffers while there are buffers and frames (at most a
 * queue's worth, then later again: see the top). Device lock held. */
static void net_rx(struct virtio_net *n)
{
	struct virtio_dev *d = n->dev;
	struct virtq *q = &d->q[NET_RX];
	if (!virtio_mmio_live(d) || !q->ready || q->broken)
		return;
	unsigned served = 0;
	while (served < q->size && net_rx_frame(n) == 1)
		served++;
	if (q->broken)
		virtio_mmio_fail(d, "queue %u: %s; the device needs a reset", NET_RX, q->why);
	else if (served)
		virtio_mmio_used(d, NET_RX);
	if (served == q->size && !q->broken)
		net_requeue(d, NET_RX);
}

/* 5.1.6: frames to send (tx), or new receive buffers (rx). */
static void net_queue_notify(struct virtio_dev *d, unsigned q)
{
	if (q == NET_TX)
		net_tx(d);
	else
		net_rx(d->priv);
}

/* 5.1.3 */
static uint64_t net_features(struct virtio_dev *d)
{
	return 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS;
}

/* 5.1.4: mac[6], le16 status (link up), read-only. */
static void net_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, unsigned len)
{
	struct virtio_net *n = d->priv;
	uint8_t cfg[NET_CONFIG_LEN] = { 0 };
	memcpy(cfg, n->mac, 6);
	cfg[6] = VIRTIO_NET_S_LINK_UP;
	memcpy(data, cfg + off, len);
}

/* 2.4 reset: the held receive chain belonged to the old queue. */
static void net_reset(struct virtio_dev *d)
{
	struct virtio_net *n = d->priv;
	n->have_rx = 0;
}

const struct virtio_dev_ops net_dev_ops = {
	.name = "net",
	.device_id = NET_DEVICE_ID,
	.nqueues = 2,
	.config_len = NET_CONFIG_LEN,
	.features = net_features,
	.config_read = net_config_read,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
};

/* The fd has frames (edge-triggered). */
static void net_fd_ready(void *arg, uint32_t events)
{
	struct virtio_net *n = arg;
	struct virtio_dev *d = __atomic_load_n(&n->dev, __ATOMIC_ACQUIRE);
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	net_rx(n);
	pthread_mutex_unlock(&d->lock);
}

int virtio_net_attach(struct vm *vm, struct evloop *loop, int fd, const uint8_t mac[6],
		      struct virtio_net **out, struct err *e)
{
	*out = NULL;
	struct virtio_net *n = calloc(1, sizeof(*n));
	if (!n)
		return err_sys(e, ENOMEM, "virtio-net");
	n->loop = loop;
	n->fd = fd;
	n->log_budget = NET_LOG_LINES;
	memcpy(n->mac, mac, 6);
	int r = evloop_add(loop, fd, EPOLLIN | EPOLLET, net_fd_ready, n, e);
	if (r == 0)
		n->watched = 1;
	struct virtio_dev *d = NULL;
	if (r == 0)
		r = virtio_mmio_attach(vm, loop, &net_dev_ops, n, &d, e);
	if (r < 0) {
		virtio_net_free(n);
		return r;
	}
	__atomic_store_n(&n->dev, d, __ATOMIC_RELEASE);
	*out = n;
	return 0;
}

void virtio_net_bytes(const struct virtio_net *n, uint64_t *rx, uint64_t *tx)
{
	*rx = __atomic_load_n(&n->rx_bytes, __ATOMIC_RELAXED);
	*tx = __atomic_load_n(&n->tx_bytes, __ATOMIC_RELAXED);
}

void virtio_net_free(struct virtio_net *n)
{
	if (!n)
		return;
	if (n->watched)
		evloop_del(n->loop, n->fd);
	free(n);
}
