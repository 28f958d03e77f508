/* console.c - virtio console (virtio 1.2 section 5.3): device ID 3, one
 * port, no feature bits; queue 0 is port 0's receiveq (host to guest),
 * queue 1 its transmitq (guest to host). The config space (5.3.4) reads
 * cols = rows = 0 (size unknown: VIRTIO_CONSOLE_F_SIZE is not offered),
 * max_nr_ports = 1 and emerg_wr = 0.
 *
 * Output: the device loop drains transmitq to out_fd. Linux's hvc driver
 * spins until its buffer comes back, so a slow reader slows the guest (the
 * same back-pressure as the UART); a closed reader loses the bytes; while
 * the VM is being stopped the rest is dropped, so a full pipe never keeps
 * the device loop from ending. Input: the console relay pushes typed bytes
 * into receive buffers under the device lock, and waits on wake_fd when
 * there are none. Linux's driver posts its receive buffers before it marks
 * the console port connected and drops what arrives in between, so input
 * typed before the guest's hvc0 is up may be lost (as with QEMU). */
#include "vm/virtio/console.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vm/vm.h"

#define CONSOLE_RX 0
#define CONSOLE_TX 1
#define CONSOLE_CONFIG_LEN 12    /* cols, rows (le16), max_nr_ports, emerg_wr (le32) */

struct virtio_console {
	struct virtio_dev *dev;
	int out_fd;
	int wake_fd;                 /* eventfd: receive buffers may be there */
};

/* Tell the relay to retry what it could not push. */
static void console_wake(struct virtio_console *c)
{
	uint64_t one = 1;
	if (write(c->wake_fd, &one, sizeof(one)) < 0) {
		/* overflow only: already readable */
	}
}

/* Write all of p to out_fd, waiting at most 100 ms at a time so that a
 * stop request is noticed. Errors (EPIPE, EIO...) lose the output. */
static void console_out(struct virtio_console *c, const uint8_t *p, size_t n)
{
	while (n) {
		struct pollfd pf = { .fd = c->out_fd, .events = POLLOUT };
		int r = poll(&pf, 1, 100);
		if (r == 0 || (r < 0 && errno == EINTR)) {
			if (vm_stopping(c->dev->vm))
				return;
			continue;
		}
		if (r < 0 || (pf.revents & (POLLERR | POLLNVAL)))
			return;
		ssize_t w = write(c->out_fd, p, n > 4096 ? 4096 : n);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* 5.3.6.2: everything in a transmit buffer is output; the used length is
 * 0 (the device writes nothing into it). */
static void console_tx(struct virtio_dev *d)
{
	struct virtio_console *c = d->priv;
	struct virtq *q = &d->q[CONSOLE_TX];
	struct virtq_chain ch;
	int served = 0;
	while (virtq_pop(q, &ch) == 1) {
		for (unsigned i = 0; i < ch.nread; i++)
			console_out(c, ch.seg[i].p, ch.seg[i].len);
		virtq_push(q, ch.head, 0);
		served = 1;
	}
	if (served)
		virtio_mmio_used(d, CONSOLE_TX);
}

/* 5.3.6: the driver added transmit buffers (output) or receive buffers
 * (room for input). */
static void console_queue_notify(struct virtio_dev *d, unsigned q)
{
	if (q == CONSOLE_TX)
		console_tx(d);
	else
		console_wake(d->priv);     /* new receive buffers: the relay retries */
}

/* 5.3.4 config layout, read at any offset and width. */
static void console_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, unsigned len)
{
	uint8_t cfg[CONSOLE_CONFIG_LEN] = { 0 };
	cfg[4] = 1;                        /* max_nr_ports (meaningful with MULTIPORT only) */
	memcpy(data, cfg + off, len);
}

/* 3.1.1 DRIVER_OK: receive buffers may already be posted. */
static int console_activate(struct virtio_dev *d)
{
	console_wake(d->priv);
	return 0;
}

const struct virtio_dev_ops console_dev_ops = {
	.name = "console",
	.device_id = 3,
	.nqueues = 2,
	.config_len = CONSOLE_CONFIG_LEN,
	.config_read = console_config_read,
	.activate = console_activate,
	.queue_notify = console_queue_notify,
};

/* 5.3.6.1: fill receive buffers in order; each gets as many bytes as fit,
 * its used length says how many. Relay thread, under the device lock. */
size_t virtio_console_rx_push(struct virtio_console *c, const uint8_t *buf, size_t n)
{
	struct virtio_dev *d = c->dev;
	struct virtq *q = &d->q[CONSOLE_RX];
	struct virtq_chain ch;
	size_t done = 0;
	int served = 0;
	pthread_mutex_lock(&d->lock);
	if (virtio_mmio_live(d) && q->ready) {
		while (done < n && virtq_pop(q, &ch) == 1) {
			size_t w = virtq_chain_write(&ch, 0, buf + done, n - done);
			virtq_push(q, ch.head, (uint32_t)w);
			done += w;
			served = 1;
		}
		if (q->broken)
			virtio_mmio_fail(d, "queue %u: %s; the device needs a reset", CONSOLE_RX, q->why);
		else if (served)
			virtio_mmio_used(d, CONSOLE_RX);
	}
	pthread_mutex_unlock(&d->lock);
	return done;
}

int virtio_console_rx_wakeup_fd(struct virtio_console *c)
{
	return c->wake_fd;
}

int virtio_console_attach(struct vm *vm, struct evloop *loop, int out_fd,
			  struct virtio_console **out, struct err *e)
{
	*out = NULL;
	struct virtio_console *c = calloc(1, sizeof(*c));
	if (!c)
		return err_sys(e, ENOMEM, "virtio-console");
	c->out_fd = out_fd;
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake_fd < 0) {
		int r = err_sys(e, errno, "virtio-console: eventfd");
		free(c);
		return r;
	}
	int r = virtio_mmio_attach(vm, loop, &console_dev_ops, c, &c->dev, e);
	if (r < 0) {
		virtio_console_free(c);
		return r;
	}
	*out = c;
	return 0;
}

void virtio_console_free(struct virtio_console *c)
{
	if (!c)
		return;
	close(c->wake_fd);
	free(c);
}
