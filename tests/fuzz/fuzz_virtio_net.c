/* fuzz_virtio_net.c - libFuzzer target for the virtio-net device
 * (src/vm/virtio/net.c, virtio 1.2 section 5.1): the driver's side of both
 * queues comes from the input, and a datagram socketpair stands in for the
 * tap. The device is started through its MMIO registers like a driver
 * would, then serves the transmit queue and fills the receive queue from
 * frames the "host" sent (no device loop thread: the notifications are
 * served here, under the device lock, as the loop would).
 *
 * Input: byte 0: bits 0-2 the number of frames the host sends first, bit 3
 * serve receive before transmit; then per frame two bytes of length (up to
 * 4 KiB); then for the receive queue and the transmit queue (size 8 each)
 * 128 bytes of descriptors and 22 bytes of available ring; the rest is
 * data at DATA_GPA (buffers, indirect tables).
 *
 * Checked: no crash or leak (ASan sees any access outside the small guest
 * memory); what reaches the host is a 12-byte zero header and at most
 * 65550 bytes of frame. (Used lengths are not checked here: a driver may
 * lay receive buffers over its own used ring; the unit test checks them.) */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vm/evloop.h"
#include "vm/layout.h"
#include "vm/memory.h"
#include "vm/virtio/mmio.h"
#include "vm/virtio/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LOW_RAM   (192u << 10)
#define HIGH_RAM  (16u << 10)
#define QSIZE     8
#define DESC_GPA  0x1000u          /* queue q at + q * QSTRIDE */
#define AVAIL_GPA 0x1800u
#define USED_GPA  0x1c00u
#define QSTRIDE   0x1000u
#define DATA_GPA  0x4000u

struct harness {
	uint8_t *ram;
	struct vm vm;
	struct evloop *loop;
	struct virtio_net *net;
	struct virtio_dev *dev;
	int dev_fd, host_fd;
};

static size_t take(uint8_t *dst, size_t room, const uint8_t **data, size_t *size)
{
	size_t n = *size < room ? *size : room;
	memcpy(dst, *data, n);
	*data += n;
	*size -= n;
	return n;
}

static void wr(struct harness *h, uint64_t off, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	bus_access(&h->vm.mmio, GPA_VIRTIO_MMIO + off, b, 4, 1);
}

/* The device, once for the whole run (the harness's state). */
static struct harness *harness(void)
{
	static struct harness h;
	if (h.ram)
		return &h;
	struct err e = { 0 };
	int sv[2];
	h.ram = malloc(LOW_RAM + HIGH_RAM);
	if (!h.ram || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	h.dev_fd = sv[0];
	h.host_fd = sv[1];
	fcntl(h.dev_fd, F_SETFL, O_NONBLOCK);
	fcntl(h.host_fd, F_SETFL, O_NONBLOCK);
	int big = 1 << 20;
	setsockopt(h.dev_fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(h.host_fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	h.vm.kvm_fd = h.vm.vm_fd = -1;
	h.vm.mem = (struct guest_mem){ h.ram, LOW_RAM + HIGH_RAM, LOW_RAM, HIGH_RAM };
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 1, 2, 3 };
	if (evloop_new(&h.loop, &e) < 0 ||
	    virtio_net_attach(&h.vm, h.loop, h.dev_fd, mac, &h.net, &e) < 0)
		abort();
	h.dev = h.vm.virtio[0];
	return &h;
}

/* 3.1.1 up to DRIVER_OK, both queues at their fixed places. */
static void driver_start(struct harness *h)
{
	wr(h, VIRTIO_MMIO_STATUS, 0);
	wr(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(h, VIRTIO_MMIO_DRIVER_FEATURES, 1u << VIRTIO_NET_F_MAC | 1u << VIRTIO_NET_F_STATUS);
	wr(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(h, VIRTIO_MMIO_DRIVER_FEATURES, 1);              /* VERSION_1 */
	wr(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				      VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < 2; q++) {
		wr(h, VIRTIO_MMIO_QUEUE_SEL, q);
		wr(h, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		wr(h, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA + q * QSTRIDE);
		wr(h, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL_GPA + q * QSTRIDE);
		wr(h, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED_GPA + q * QSTRIDE);
		wr(h, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				      VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	if (!virtio_mmio_live(h->dev))
		abort();
}

/* What the device loop does on a notification of queue q. */
static void serve(struct harness *h, unsigned q)
{
	struct virtio_dev *d = h->dev;
	pthread_mutex_lock(&d->lock);
	if (virtio_mmio_live(d) && d->q[q].ready && !d->q[q].broken)
		d->ops->queue_notify(d, q);
	pthread_mutex_unlock(&d->lock);
}

/* Everything the device sent must be a zero header and a bounded frame. */
static void host_check(struct harness *h)
{
	static uint8_t buf[NET_MAX_CHAIN + 64];
	static const uint8_t zero[NET_HDR_LEN];
	ssize_t n;
	while ((n = recv(h->host_fd, buf, sizeof(buf), 0)) >= 0)
		if (n < NET_HDR_LEN || n > NET_MAX_CHAIN || memcmp(buf, zero, NET_HDR_LEN))
			abort();
	while (recv(h->dev_fd, buf, sizeof(buf), 0) >= 0) {
		/* frames the guest had no buffers for: gone before the next input */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness *h = harness();
	if (size < 1)
		return 0;
	uint8_t cfg = data[0];
	data++;
	size--;
	memset(h->ram, 0, LOW_RAM + HIGH_RAM);
	driver_start(h);
	static uint8_t frame[4096 + NET_HDR_LEN];
	unsigned nframes = cfg & 7;
	for (unsigned i = 0; i < nframes && size >= 2; i++) {
		size_t len = ((size_t)data[0] | (size_t)data[1] << 8) % 4096;
		data += 2;
		size -= 2;
		memset(frame, (int)i, len + NET_HDR_LEN);
		frame[0] = (uint8_t)(len & 3);           /* sometimes NEEDS_CSUM / DATA_VALID */
		if (send(h->host_fd, frame, len + NET_HDR_LEN, 0) < 0)
			abort();
	}
	for (unsigned q = 0; q < 2; q++) {
		take(h->ram + DESC_GPA + q * QSTRIDE, 16u * QSIZE, &data, &size);
		take(h->ram + AVAIL_GPA + q * QSTRIDE, 6u + 2u * QSIZE, &data, &size);
	}
	take(h->ram + DATA_GPA, LOW_RAM - DATA_GPA, &data, &size);
	take(h->ram + LOW_RAM, HIGH_RAM, &data, &size);
	if (cfg & 8) {
		serve(h, 0);
		serve(h, 1);
	} else {
		serve(h, 1);
		serve(h, 0);
	}
	serve(h, 0);                                  /* again: a held chain, the rest */
	host_check(h);
	return 0;
}
