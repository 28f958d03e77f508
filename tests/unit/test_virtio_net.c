/* test_virtio_net.c - virtio-net (virtio 1.2 section 5.1) driven through
 * the MMIO bus and split rings in guest memory the way Linux's driver does
 * (no KVM), with a datagram socketpair standing in for the tap (one frame
 * per datagram, 12-byte header first, as a tap with IFF_VNET_HDR gives):
 * config space and features, frames both ways, no receive buffers (the
 * device waits, then delivers in order), and hostile chains (a writable
 * transmit segment, a readable receive segment, buffers too small for a
 * frame or a header, a transmit frame over 64 KiB). Also the --net
 * specification parser of net/tap.c. */
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
#include <unistd.h>

#include "net/tap.h"
#include "vm/evloop.h"
#include "vm/layout.h"
#include "vm/memory.h"
#include "vm/virtio/mmio.h"
#include "vm/virtio/net.h"

#define RXBUF_GPA 0x100000ull      /* receive buffers, 0x1000 apart... */
#define TXBUF_GPA 0x200000ull      /* transmit buffers */
#define BIGBUF_GPA 0x400000ull     /* one 128 KiB transmit buffer */
#define RXLEN 1530                 /* what Linux posts without offloads */

static const uint64_t V1 = 1ull << VIRTIO_F_VERSION_1;
static const uint32_t RUNNING = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

struct rig {
	struct vm vm;
	struct evloop *loop;
	struct virtio_net *net;
	int dev_fd, host_fd;       /* the device's end, the "host" end */
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
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	r->dev_fd = sv[0];
	r->host_fd = sv[1];
	assert_int_equal(fcntl(r->dev_fd, F_SETFL, O_NONBLOCK), 0);
	int big = 1 << 20;
	setsockopt(r->dev_fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(r->host_fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	assert_int_equal(virtio_net_attach(&r->vm, r->loop, r->dev_fd, MAC, &r->net, &e), 0);
	assert_int_equal(evloop_start(r->loop, &e), 0);
}

static void rig_fini(struct rig *r)
{
	evloop_stop(r->loop);
	for (unsigned i = 0; i < r->vm.nvirtio; i++)
		virtio_mmio_free(r->vm.virtio[i]);
	virtio_net_free(r->net);
	evloop_free(r->loop);
	bus_free(&r->vm.mmio);
	mem_free(&r->vm.mem);
	pthread_mutex_destroy(&r->vm.lock);
	pthread_cond_destroy(&r->vm.cond);
	close(r->dev_fd);
	close(r->host_fd);
}

/* 3.1.1 up to DRIVER_OK with VERSION_1, MAC and STATUS, both queues. */
static void driver_start(struct rig *r)
{
	wr(r, VIRTIO_MMIO_STATUS, 0);
	r->rx_seen = r->tx_sent = 0;
	wr(r, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(r, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(r, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(r, VIRTIO_MMIO_DRIVER_FEATURES, 1u << VIRTIO_NET_F_MAC | 1u << VIRTIO_NET_F_STATUS);
	wr(r, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(r, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(V1 >> 32));
	wr(r, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				      VIRTIO_STATUS_FEATURES_OK);
	queue_setup(r, 0);
	queue_setup(r, 1);
	wr(r, VIRTIO_MMIO_STATUS, RUNNING);
	assert_int_equal(rd(r, VIRTIO_MMIO_STATUS), RUNNING);
}

/* Receive buffer k: one writable descriptor of len bytes (descriptor k). */
static void rx_post(struct rig *r, unsigned k, uint32_t len)
{
	desc(r, 0, k, RXBUF_GPA + k * 0x10000ull, len, 2, 0);
	avail_add(r, 0, (uint16_t)k);
}

/* Wait up to ms for the next used receive buffer: 1 with its id and length. */
static int rx_get(struct rig *r, uint32_t *id, uint32_t *len, int ms)
{
	for (int waited = 0; used_idx(r, 0) == r->rx_seen; waited++) {
		if (waited >= ms)
			return 0;
		usleep(1000);
	}
	used_elem(r, 0, r->rx_seen, id, len);
	r->rx_seen++;
	return 1;
}

/* The host sends one frame (header + payload) as the tap would. */
static void host_send(struct rig *r, const uint8_t *frame, size_t len, uint8_t hdr_flags)
{
	uint8_t buf[2048];
	assert_true(len + NET_HDR_LEN <= sizeof(buf));
	memset(buf, 0, NET_HDR_LEN);
	buf[0] = hdr_flags;
	memcpy(buf + NET_HDR_LEN, frame, len);
	assert_int_equal(send(r->host_fd, buf, len + NET_HDR_LEN, 0), (ssize_t)(len + NET_HDR_LEN));
}

/* Wait for the transmit queue to return everything sent. */
static void tx_wait(struct rig *r)
{
	for (int waited = 0; used_idx(r, 1) != r->tx_sent; waited++) {
		assert_true(waited < 5000);
		usleep(1000);
	}
}

/* A datagram the device sent to the host, within ms: its length, or -1. */
static ssize_t host_recv(struct rig *r, uint8_t *buf, size_t cap, int ms)
{
	struct pollfd p = { .fd = r->host_fd, .events = POLLIN };
	if (poll(&p, 1, ms) != 1)
		return -1;
	return recv(r->host_fd, buf, cap, 0);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed);
}

static void test_config(void **state)
{
	struct rig r;
	rig_init(&r);
	assert_int_equal(rd(&r, VIRTIO_MMIO_DEVICE_ID), 1);
	wr(&r, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(&r, VIRTIO_MMIO_DEVICE_FEATURES) &
			 ~(1u << VIRTIO_F_RING_INDIRECT_DESC | 1u << VIRTIO_F_RING_EVENT_IDX),
			 1u << VIRTIO_NET_F_MAC | 1u << VIRTIO_NET_F_STATUS);
	wr(&r, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(&r, VIRTIO_MMIO_DEVICE_FEATURES), 1);   /* VERSION_1 */
	uint8_t cfg[8];
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(bus_access(&r.vm.mmio, GPA_VIRTIO_MMIO + VIRTIO_MMIO_CONFIG + i,
					    &cfg[i], 1, 0), 0);
	assert_memory_equal(cfg, MAC, 6);
	assert_int_equal(cfg[6] | cfg[7] << 8, VIRTIO_NET_S_LINK_UP);
	uint8_t w[2] = { 0x0f, 0 };
	bus_access(&r.vm.mmio, GPA_VIRTIO_MMIO + VIRTIO_MMIO_CONFIG, w, 1, 1);   /* read-only */
	bus_access(&r.vm.mmio, GPA_VIRTIO_MMIO + VIRTIO_MMIO_CONFIG, w, 1, 0);
	assert_int_equal(w[0], 0x52);
	rig_fini(&r);
}

/* Transmit: header split across descriptors, frame in pieces; the host gets
 * a zero header (whatever the guest wrote there) and the frame. */
static void test_tx(void **state)
{
	struct rig r;
	rig_init(&r);
	driver_start(&r);
	uint8_t frame[1514], got[2048];
	fill(frame, sizeof(frame), 7);
	uint8_t *b = gp(&r, TXBUF_GPA, 0x1000);
	memset(b, 0xee, 5);                              /* header bytes the guest made up */
	memset(b + 0x100, 0xee, 7);
	memcpy(b + 0x200, frame, 600);
	memcpy(b + 0x1000 - 0x100, frame + 600, 1);
	memcpy(gp(&r, TXBUF_GPA + 0x1000, 0x1000), frame + 601, sizeof(frame) - 601);
	desc(&r, 1, 0, TXBUF_GPA, 5, 1, 1);
	desc(&r, 1, 1, TXBUF_GPA + 0x100, 7, 1, 2);
	desc(&r, 1, 2, TXBUF_GPA + 0x200, 600, 1, 3);
	desc(&r, 1, 3, TXBUF_GPA + 0x1000 - 0x100, 1, 1, 4);
	desc(&r, 1, 4, TXBUF_GPA + 0x1000, sizeof(frame) - 601, 0, 0);
	avail_add(&r, 1, 0);
	r.tx_sent++;
	/* the common shape: header and frame in one descriptor */
	uint8_t *c = gp(&r, TXBUF_GPA + 0x4000, 0x1000);
	memset(c, 0, NET_HDR_LEN);
	memcpy(c + NET_HDR_LEN, frame, 60);
	desc(&r, 1, 5, TXBUF_GPA + 0x4000, NET_HDR_LEN + 60, 0, 0);
	avail_add(&r, 1, 5);
	r.tx_sent++;
	wr(&r, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	tx_wait(&r);
	uint32_t id, len;
	used_elem(&r, 1, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 0);
	used_elem(&r, 1, 1, &id, &len);
	assert_int_equal(id, 5);
	assert_int_equal(len, 0);
	static const uint8_t zero[NET_HDR_LEN];
	assert_int_equal(host_recv(&r, got, sizeof(got), 1000), NET_HDR_LEN + sizeof(frame));
	assert_memory_equal(got, zero, NET_HDR_LEN);
	assert_memory_equal(got + NET_HDR_LEN, frame, sizeof(frame));
	assert_int_equal(host_recv(&r, got, sizeof(got), 1000), NET_HDR_LEN + 60);
	assert_memory_equal(got + NET_HDR_LEN, frame, 60);
	assert_int_equal(rd(&r, VIRTIO_MMIO_STATUS), RUNNING);
	rig_fini(&r);
}

/* Hostile transmit chains: shorter than a header and longer than 65562
 * bytes are dropped (used, length 0, nothing sent); a writable segment
 * breaks the device until a reset, after which it works again. */
static void test_tx_hostile(void **state)
{
	struct rig r;
	rig_init(&r);
	driver_start(&r);
	uint8_t got[2048];
	desc(&r, 1, 0, TXBUF_GPA, 11, 0, 0);
	avail_add(&r, 1, 0);
	desc(&r, 1, 1, BIGBUF_GPA, NET_MAX_CHAIN + 1, 0, 0);
	avail_add(&r, 1, 1);
	desc(&r, 1, 2, BIGBUF_GPA, NET_MAX_CHAIN, 0, 0);     /* the largest allowed */
	avail_add(&r, 1, 2);
	r.tx_sent = 3;
	wr(&r, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	tx_wait(&r);
	uint8_t *big = malloc(NET_MAX_CHAIN + 16);
	assert_non_null(big);
	assert_int_equal(host_recv(&r, big, NET_MAX_CHAIN + 16, 1000), NET_MAX_CHAIN);
	free(big);
	assert_int_equal(host_recv(&r, got, sizeof(got), 100), -1);
	assert_int_equal(rd(&r, VIRTIO_MMIO_STATUS), RUNNING);

	desc(&r, 1, 3, TXBUF_GPA, 100, 1, 4);
	desc(&r, 1, 4, TXBUF_GPA + 0x100, 100, 2, 0);
	avail_add(&r, 1, 3);
	wr(&r, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	for (int waited = 0; !(rd(&r, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET); waited++) {
		assert_true(waited < 5000);
		usleep(1000);
	}
	assert_int_equal(host_recv(&r, got, sizeof(got), 100), -1);
	assert_int_equal(used_idx(&r, 1), 3);
	driver_start(&r);                                     /* a reset brings it back */
	desc(&r, 1, 0, TXBUF_GPA, NET_HDR_LEN + 20, 0, 0);
	avail_add(&r, 1, 0);
	r.tx_sent = 1;
	wr(&r, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	tx_wait(&r);
	assert_int_equal(host_recv(&r, got, sizeof(got), 1000), NET_HDR_LEN + 20);
	rig_fini(&r);
}

/* Receive: frames land in the posted buffers in order with num_buffers 1
 * and the flags the tap set cleared; the length covers header and frame;
 * a buffer split in two descriptors works too. */
static void test_rx(void **state)
{
	struct rig r;
	rig_init(&r);
	driver_start(&r);
	rx_post(&r, 0, RXLEN);
	rx_post(&r, 1, RXLEN);
	desc(&r, 0, 2, RXBUF_GPA + 0x20000, NET_HDR_LEN, 2 | 1, 3);
	desc(&r, 0, 3, RXBUF_GPA + 0x30000, 1514, 2, 0);
	avail_add(&r, 0, 2);
	wr(&r, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	uint8_t f1[1514], f2[60], f3[1000];
	fill(f1, sizeof(f1), 1);
	fill(f2, sizeof(f2), 2);
	fill(f3, sizeof(f3), 3);
	host_send(&r, f1, sizeof(f1), 2);                 /* DATA_VALID from the tap */
	host_send(&r, f2, sizeof(f2), 0);
	host_send(&r, f3, sizeof(f3), 0);
	uint32_t id, len;
	static const uint8_t hdr[NET_HDR_LEN] = { [10] = 1 };
	assert_int_equal(rx_get(&r, &id, &len, 5000), 1);
	assert_int_equal(id, 0);
	assert_int_equal(len, NET_HDR_LEN + sizeof(f1));
	assert_memory_equal(gp(&r, RXBUF_GPA, NET_HDR_LEN), hdr, NET_HDR_LEN);
	assert_memory_equal(gp(&r, RXBUF_GPA + NET_HDR_LEN, sizeof(f1)), f1, sizeof(f1));
	assert_int_equal(rx_get(&r, &id, &len, 5000), 1);
	assert_int_equal(id, 1);
	assert_int_equal(len, NET_HDR_LEN + sizeof(f2));
	assert_memory_equal(gp(&r, RXBUF_GPA + 0x10000 + NET_HDR_LEN, sizeof(f2)), f2, sizeof(f2));
	assert_int_equal(rx_get(&r, &id, &len, 5000), 1);
	assert_int_equal(id, 2);
	assert_int_equal(len, NET_HDR_LEN + sizeof(f3));
	assert_memory_equal(gp(&r, RXBUF_GPA + 0x20000, NET_HDR_LEN), hdr, NET_HDR_LEN);
	assert_memory_equal(gp(&r, RXBUF_GPA + 0x30000, sizeof(f3)), f3, sizeof(f3));
	assert_int_equal(rd(&r, VIRTIO_MMIO_STATUS), RUNNING);
	rig_fini(&r);
}

/* No receive buffers: frames wait in the fd (nothing is read, nothing
 * spins) and come in order once buffers are posted; the device reads only
 * as many as there are buffers. */
static void test_rx_no_buffers(void **state)
{
	struct rig r;
	rig_init(&r);
	driver_start(&r);
	uint8_t f[5][100];
	for (unsigned i = 0; i < 5; i++) {
		fill(f[i], sizeof(f[i]), i);
		host_send(&r, f[i], sizeof(f[i]), 0);
	}
	uint32_t id, len;
	assert_int_equal(rx_get(&r, &id, &len, 200), 0);
	rx_post(&r, 0, RXLEN);
	rx_post(&r, 1, RXLEN);
	wr(&r, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(rx_get(&r, &id, &len, 5000), 1);
		assert_int_equal(id, i);
		assert_int_equal(len, NET_HDR_LEN + 100);
		assert_memory_equal(gp(&r, RXBUF_GPA + i * 0x10000ull + NET_HDR_LEN, 100), f[i], 100);
	}
	assert_int_equal(rx_get(&r, &id, &len, 200), 0);   /* 3 frames still waiting */
	for (unsigned i = 2; i < 5; i++) {
		rx_post(&r, i, RXLEN);
		wr(&r, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		assert_int_equal(rx_get(&r, &id, &len, 5000), 1);
		assert_int_equal(id, i);
		assert_memory_equal(gp(&r, RXBUF_GPA + i * 0x10000ull + NET_HDR_LEN, 100), f[i], 100);
	}
	/* a buffer waits for the next frame: posted first, filled later */
	rx_post(&r, 5, RXLEN);
	wr(&r, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(rx_get(&r, &id, &len, 100), 0);
	host_send(&r, f[0], 50, 0);
	assert_int_equal(rx_get(&r, &id, &len, 5000), 1);
	assert_int_equal(id, 5);
	assert_int_equal(len, NET_HDR_LEN + 50);
	rig_fini(&r);
}

/* Hostile receive chains: one too small for its frame gets the frame
 * dropped and comes back empty; one too small for a header comes back
 * empty at once; a frame with an offload the guest did not accept is
 * dropped; a readable segment needs a reset. */
static void test_rx_hostile(void **state)
{
	struct rig r;
	rig_init(&r);
	driver_start(&r);
	uint8_t f[1514];
	fill(f, sizeof(f), 9);
	uint32_t id, len;
	rx_post(&r, 0, 4);                                    /* < header */
	wr(&r, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(rx_get(&r, &id, &len, 5000), 1);
	assert_int_equal(id, 0);
	assert_int_equal(len, 0);
	rx_post(&r, 1, 200);                                  /* frame too big for it */
	rx_post(&r, 2, NET_HDR_LEN + 100);                    /* exactly full */
	rx_post(&r, 3, RXLEN);
	rx_post(&r, 4, RXLEN);
	wr(&r, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	host_send(&r, f, 500, 0);
	host_send(&r, f, 100, 0);
	host_send(&r, f, 80, 1);                              /* NEEDS_CSUM */
	host_send(&r, f, 70, 0);
	assert_int_equal(rx_get(&r, &id, &len, 5000), 1);
	assert_int_equal(id, 1);
	assert_int_equal(len, 0);
	assert_int_equal(rx_get(&r, &id, &len, 5000), 1);
	assert_int_equal(id, 2);
	assert_int_equal(len, NET_HDR_LEN + 100);
	assert_memory_equal(gp(&r, RXBUF_GPA + 2 * 0x10000ull + NET_HDR_LEN, 100), f, 100);
	assert_int_equal(rx_get(&r, &id, &len, 5000), 1);
	assert_int_equal(id, 3);
	assert_int_equal(len, 0);
	assert_int_equal(rx_get(&r, &id, &len, 5000), 1);
	assert_int_equal(id, 4);
	assert_int_equal(len, NET_HDR_LEN + 70);
	assert_int_equal(rd(&r, VIRTIO_MMIO_STATUS), RUNNING);

	desc(&r, 0, 5, RXBUF_GPA, 20, 0, 6);                  /* readable first */
	desc(&r, 0, 6, RXBUF_GPA + 0x100, RXLEN, 2, 0);
	avail_add(&r, 0, 5);
	wr(&r, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (int waited = 0; !(rd(&r, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET); waited++) {
		assert_true(waited < 5000);
		usleep(1000);
	}
	host_send(&r, f, 60, 0);
	assert_int_equal(rx_get(&r, &id, &len, 100), 0);
	/* after a reset the waiting frame goes to the new driver's buffer */
	driver_start(&r);
	rx_post(&r, 0, RXLEN);
	wr(&r, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(rx_get(&r, &id, &len, 5000), 1);
	assert_int_equal(id, 0);
	assert_int_equal(len, NET_HDR_LEN + 60);
	rig_fini(&r);
}

/* A ring of 8 buffers posted over and over while 200 frames arrive: all
 * arrive, in order (the device's per-round limit hands over and resumes). */
static void test_rx_flood(void **state)
{
	struct rig r;
	rig_init(&r);
	driver_start(&r);
	for (unsigned k = 0; k < QSIZE; k++)
		rx_post(&r, k, RXLEN);
	wr(&r, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	uint8_t f[64];
	unsigned sent = 0, got = 0;
	while (got < 200) {
		while (sent < 200 && sent - got < 50) {
			memset(f, (int)sent, sizeof(f));
			host_send(&r, f, sizeof(f), 0);
			sent++;
		}
		uint32_t id = 0, len = 0;
		assert_int_equal(rx_get(&r, &id, &len, 5000), 1);
		assert_int_equal(len, NET_HDR_LEN + sizeof(f));
		assert_int_equal(gp(&r, RXBUF_GPA + id * 0x10000ull + NET_HDR_LEN, 1)[0], (uint8_t)got);
		got++;
		rx_post(&r, id, RXLEN);
		wr(&r, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	}
	rig_fini(&r);
}

static void test_spec(void **state)
{
	struct err e = {0};
	char name[IFNAMSIZ];
	uint8_t mac[6], mac2[6];
	assert_int_equal(tap_spec_parse("tap0", name, mac, &e), 0);
	assert_string_equal(name, "tap0");
	assert_int_equal(mac[0], 0x52);
	assert_int_equal(mac[1], 0x54);
	assert_int_equal(mac[2], 0x00);
	assert_int_equal(tap_spec_parse("tap0", name, mac2, &e), 0);
	assert_memory_equal(mac, mac2, 6);                   /* stable */
	assert_int_equal(tap_spec_parse("tap1", name, mac2, &e), 0);
	assert_memory_not_equal(mac, mac2, 6);
	assert_int_equal(tap_spec_parse("vm-net.15chars_,mac=02:AB:cd:00:00:01", name, mac, &e), 0);
	assert_string_equal(name, "vm-net.15chars_");
	static const uint8_t want[6] = { 2, 0xab, 0xcd, 0, 0, 1 };
	assert_memory_equal(mac, want, 6);
	const char *bad[] = { "", ",mac=52:54:00:00:00:01", "sixteen-chars-xx", "a/b", "a b",
			      "a:1", "tap%d", ".", "..", "tap0,mac=52:54:00:00:00",
			      "tap0,mac=52:54:00:00:00:0g", "tap0,mac=53:54:00:00:00:01",
			      "tap0,mac=52:54:00:00:00:01x", "tap0,ro", "tap0,mac=",
			      "tap0,mac= 2:54:00:00:00:01", "tap0,mac=+2:54:00:00:00:01",
			      "tap0,mac=52-54-00-00-00-01" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		if (tap_spec_parse(bad[i], name, mac, &e) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(e.exit_code, EXIT_USAGE);
	}
	int fd;
	assert_int_equal(tap_open("bad/name", &fd, &e), -EINVAL);
	assert_int_equal(fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_tx),
		cmocka_unit_test(test_tx_hostile),
		cmocka_unit_test(test_rx),
		cmocka_unit_test(test_rx_no_buffers),
		cmocka_unit_test(test_rx_hostile),
		cmocka_unit_test(test_rx_flood),
		cmocka_unit_test(test_spec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
