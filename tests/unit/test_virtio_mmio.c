/* test_virtio_mmio.c - the virtio-mmio transport (src/vm/virtio/mmio.c),
 * the device loop, and the entropy and console devices, driven through the
 * MMIO bus the way Linux's virtio_mmio driver does, without KVM: with no
 * VM fd, QueueNotify writes reach the bus handler, which hands them to the
 * device loop, and interrupts are visible on the device's irq eventfd. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vm/evloop.h"
#include "vm/layout.h"
#include "vm/memory.h"
#include "vm/virtio/console.h"
#include "vm/virtio/mmio.h"
#include "vm/virtio/rng.h"

#define DESC_GPA  0x10000ull
#define AVAIL_GPA 0x11000ull
#define USED_GPA  0x12000ull
#define QSTRIDE   0x4000ull      /* rings of queue i at + i * QSTRIDE */
#define DATA_GPA  0x100000ull
#define QSIZE 8

struct rig {
	struct vm vm;
	struct evloop *loop;
};

static void rig_init(struct rig *r)
{
	struct err e = {0};
	memset(r, 0, sizeof(*r));
	r->vm.kvm_fd = r->vm.vm_fd = -1;
	pthread_mutex_init(&r->vm.lock, NULL);
	pthread_cond_init(&r->vm.cond, NULL);
	assert_int_equal(mem_alloc(&r->vm.mem, 32ull << 20, &e), 0);
	assert_int_equal(evloop_new(&r->loop, &e), 0);
	assert_int_equal(evloop_start(r->loop, &e), 0);
}

static void rig_fini(struct rig *r)
{
	evloop_stop(r->loop);
	for (unsigned i = 0; i < r->vm.nvirtio; i++)
		virtio_mmio_free(r->vm.virtio[i]);
	evloop_free(r->loop);
	bus_free(&r->vm.mmio);
	mem_free(&r->vm.mem);
	pthread_mutex_destroy(&r->vm.lock);
	pthread_cond_destroy(&r->vm.cond);
}

static uint32_t rd(struct rig *r, unsigned dev, uint64_t off)
{
	uint8_t b[4] = { 0x5a, 0x5a, 0x5a, 0x5a };
	assert_int_equal(bus_access(&r->vm.mmio, GPA_VIRTIO_MMIO + dev * VIRTIO_MMIO_SIZE + off, b,
				    4, 0), 0);
	return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

static void wr(struct rig *r, unsigned dev, uint64_t off, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	assert_int_equal(bus_access(&r->vm.mmio, GPA_VIRTIO_MMIO + dev * VIRTIO_MMIO_SIZE + off, b,
				    4, 1), 0);
}

static uint8_t *gp(struct rig *r, uint64_t gpa, size_t len)
{
	uint8_t *p = mem_ptr(&r->vm.mem, gpa, len);
	assert_non_null(p);
	return p;
}

static void desc(struct rig *r, unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	uint8_t *d = gp(r, DESC_GPA + q * QSTRIDE + 16ull * i, 16);
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void avail_add(struct rig *r, unsigned q, uint16_t head)
{
	uint16_t idx;
	uint8_t *avail = gp(r, AVAIL_GPA + q * QSTRIDE, 6 + 2 * QSIZE);
	memcpy(&idx, avail + 2, 2);
	memcpy(avail + 4 + 2 * (idx % QSIZE), &head, 2);
	idx++;
	memcpy(avail + 2, &idx, 2);
}

/* EVENT_IDX: interrupt me when used->idx passes v (as Linux sets it). */
static void used_event(struct rig *r, unsigned q, uint16_t v)
{
	memcpy(gp(r, AVAIL_GPA + q * QSTRIDE + 4 + 2 * QSIZE, 2), &v, 2);
}

static uint16_t used_idx(struct rig *r, unsigned q)
{
	/* the device loop may be writing it: read it as a driver would */
	return __atomic_load_n((uint16_t *)(void *)gp(r, USED_GPA + q * QSTRIDE + 2, 2),
			       __ATOMIC_ACQUIRE);
}

static uint32_t used_len(struct rig *r, unsigned q, unsigned i)
{
	uint32_t v;
	memcpy(&v, gp(r, USED_GPA + q * QSTRIDE + 4 + 8 * i + 4, 4), 4);
	return v;
}

/* Wait until fd (an eventfd) is readable and drain it; 0 on time-out. */
static int wait_fd(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, ms) != 1)
		return 0;
	uint64_t n;
	return read(fd, &n, sizeof(n)) == sizeof(n);
}

/* 3.1.1 driver initialisation up to FEATURES_OK, with `features`. */
static uint32_t negotiate(struct rig *r, unsigned dev, uint64_t features)
{
	wr(r, dev, VIRTIO_MMIO_STATUS, 0);
	wr(r, dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(r, dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(r, dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(r, dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(r, dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(r, dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(r, dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					       VIRTIO_STATUS_FEATURES_OK);
	return rd(r, dev, VIRTIO_MMIO_STATUS);
}

static void queue_setup(struct rig *r, unsigned dev, unsigned q)
{
	memset(gp(r, DESC_GPA + q * QSTRIDE, 0x3000), 0, 0x3000);
	wr(r, dev, VIRTIO_MMIO_QUEUE_SEL, q);
	assert_int_equal(rd(r, dev, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
	assert_int_equal(rd(r, dev, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(r, dev, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(r, dev, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(DESC_GPA + q * QSTRIDE));
	wr(r, dev, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr(r, dev, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(AVAIL_GPA + q * QSTRIDE));
	wr(r, dev, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
	wr(r, dev, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(USED_GPA + q * QSTRIDE));
	wr(r, dev, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
	wr(r, dev, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(r, dev, VIRTIO_MMIO_QUEUE_READY), 1);
}

static const uint64_t V1 = 1ull << VIRTIO_F_VERSION_1;
static const uint32_t RUNNING = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;

static void test_registers(void **state)
{
	struct rig r;
	struct err e = {0};
	rig_init(&r);
	assert_int_equal(virtio_rng_attach(&r.vm, r.loop, &e), 0);
	assert_int_equal(virtio_rng_attach(&r.vm, r.loop, &e), 0);
	assert_int_equal(r.vm.nvirtio, 2);
	assert_int_equal(r.vm.virtio[1]->base, GPA_VIRTIO_MMIO + VIRTIO_MMIO_SIZE);
	assert_int_equal(r.vm.virtio[0]->gsi, 16);
	assert_int_equal(r.vm.virtio[1]->gsi, 17);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_MAGIC), 0x74726976);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_DEVICE_ID), 4);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	wr(&r, 0, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_DEVICE_FEATURES) & 1, 1);          /* VERSION_1 */
	wr(&r, 0, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_DEVICE_FEATURES), 3u << 28);       /* INDIRECT, EVENT_IDX */
	wr(&r, 0, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu);
	wr(&r, 0, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);                /* one queue */

	/* FEATURES_OK: refused without VERSION_1, or with a bit not offered */
	assert_int_equal(negotiate(&r, 0, 0) & VIRTIO_STATUS_FEATURES_OK, 0);
	assert_int_equal(negotiate(&r, 0, V1 | 1u << 5) & VIRTIO_STATUS_FEATURES_OK, 0);
	wr(&r, 0, VIRTIO_MMIO_STATUS, 0);
	wr(&r, 0, VIRTIO_MMIO_STATUS, 3);
	wr(&r, 0, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);                            /* bit 64 */
	wr(&r, 0, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(&r, 0, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(&r, 0, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(&r, 0, VIRTIO_MMIO_STATUS, 11);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
	assert_int_equal(negotiate(&r, 0, V1 | 3u << 28), 11);
	/* features are fixed after FEATURES_OK */
	wr(&r, 0, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(&r, 0, VIRTIO_MMIO_DRIVER_FEATURES, 1u << 5);
	assert_int_equal(r.vm.virtio[0]->driver_features, V1 | 3u << 28);

	/* narrow, unaligned and unknown accesses are ignored */
	uint8_t b[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint64_t base = GPA_VIRTIO_MMIO;
	assert_int_equal(bus_access(&r.vm.mmio, base + VIRTIO_MMIO_MAGIC, b, 2, 0), 0);
	assert_int_equal(b[0] | b[1], 0);
	assert_int_equal(bus_access(&r.vm.mmio, base + VIRTIO_MMIO_MAGIC + 1, b, 4, 0), 0);
	assert_int_equal(b[0] | b[3], 0);
	b[0] = 0;
	assert_int_equal(bus_access(&r.vm.mmio, base + VIRTIO_MMIO_STATUS, b, 1, 1), 0);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_STATUS), 11);                       /* not a reset */
	assert_int_equal(bus_access(&r.vm.mmio, base + VIRTIO_MMIO_STATUS, b, 8, 1), 0);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_STATUS), 11);
	wr(&r, 0, VIRTIO_MMIO_MAGIC, 0);
	wr(&r, 0, 0x7fc, 1);
	assert_int_equal(rd(&r, 0, 0x7fc), 0);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_MAGIC), 0x74726976);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_CONFIG), 0);                       /* no config */
	/* queue set-up needs FEATURES_OK and a valid queue */
	queue_setup(&r, 0, 0);
	wr(&r, 0, VIRTIO_MMIO_QUEUE_NUM, 4);                                      /* while ready */
	assert_int_equal(r.vm.virtio[0]->q[0].size, QSIZE);
	wr(&r, 0, VIRTIO_MMIO_QUEUE_SEL, 7);
	wr(&r, 0, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_QUEUE_READY), 0);
	rig_fini(&r);
}

/* A whole request: descriptor, notify, the device loop fills it with
 * random bytes, the used ring and an interrupt come back. */
static void test_rng_request(void **state)
{
	struct rig r;
	struct err e = {0};
	rig_init(&r);
	assert_int_equal(virtio_rng_attach(&r.vm, r.loop, &e), 0);
	struct virtio_dev *d = r.vm.virtio[0];
	assert_int_equal(negotiate(&r, 0, V1 | 1ull << VIRTIO_F_RING_EVENT_IDX), 11);
	queue_setup(&r, 0, 0);
	/* a buffer queued before DRIVER_OK is served once the driver is ready */
	memset(gp(&r, DATA_GPA, 64), 0, 64);
	desc(&r, 0, 0, DATA_GPA, 64, 2, 0);
	avail_add(&r, 0, 0);
	wr(&r, 0, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(wait_fd(d->irq_fd, 200), 0);                 /* not yet */
	wr(&r, 0, VIRTIO_MMIO_STATUS, RUNNING);
	assert_int_equal(wait_fd(d->irq_fd, 5000), 1);
	assert_int_equal(used_idx(&r, 0), 1);
	assert_int_equal(used_len(&r, 0, 0), 64);
	static const uint8_t zero[64];
	assert_memory_not_equal(gp(&r, DATA_GPA, 64), zero, 64);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	wr(&r, 0, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	/* a second one, through QueueNotify; notify of a queue that does not exist */
	desc(&r, 0, 1, DATA_GPA + 64, 16, 2, 0);
	used_event(&r, 0, 1);
	avail_add(&r, 0, 1);
	wr(&r, 0, VIRTIO_MMIO_QUEUE_NOTIFY, 5);
	wr(&r, 0, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(wait_fd(d->irq_fd, 5000), 1);
	assert_int_equal(used_idx(&r, 0), 2);

	/* a hostile chain: the device needs a reset, with a config interrupt */
	desc(&r, 0, 2, DATA_GPA, 16, 3, 2);
	avail_add(&r, 0, 2);
	wr(&r, 0, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(wait_fd(d->irq_fd, 5000), 1);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_STATUS), RUNNING | VIRTIO_STATUS_NEEDS_RESET);
	assert_true(rd(&r, 0, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	/* then it ignores the queue ... */
	desc(&r, 0, 3, DATA_GPA, 16, 2, 0);
	avail_add(&r, 0, 3);
	wr(&r, 0, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(wait_fd(d->irq_fd, 200), 0);
	assert_int_equal(used_idx(&r, 0), 2);
	/* ... until a reset, after which it works again */
	wr(&r, 0, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(negotiate(&r, 0, V1), 11);
	queue_setup(&r, 0, 0);
	wr(&r, 0, VIRTIO_MMIO_STATUS, RUNNING);
	desc(&r, 0, 0, DATA_GPA, 8, 2, 0);
	avail_add(&r, 0, 0);
	wr(&r, 0, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(wait_fd(d->irq_fd, 5000), 1);
	assert_int_equal(used_idx(&r, 0), 1);

	/* a ring outside RAM: QueueReady fails the device */
	wr(&r, 0, VIRTIO_MMIO_STATUS, 0);
	negotiate(&r, 0, V1);
	wr(&r, 0, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(&r, 0, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(&r, 0, VIRTIO_MMIO_QUEUE_DESC_LOW, 0xd0000000u);
	wr(&r, 0, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(&r, 0, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(rd(&r, 0, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	rig_fini(&r);
}

/* Messages about the guest: at most 10 per device, then one more line. */
static void test_log_rate_limit(void **state)
{
	struct rig r;
	struct err e = {0};
	rig_init(&r);
	assert_int_equal(virtio_rng_attach(&r.vm, r.loop, &e), 0);
	int p[2];
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	int saved = dup(2);
	dup2(p[1], 2);
	for (int i = 0; i < 50; i++)
		wr(&r, 0, VIRTIO_MMIO_MAGIC, 0);
	dup2(saved, 2);
	close(saved);
	close(p[1]);
	char buf[8192];
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	assert_true(n > 0);
	buf[n] = '\0';
	int lines = 0;
	for (char *c = buf; *c; c++)
		lines += *c == '\n';
	assert_int_equal(lines, 11);
	assert_non_null(strstr(buf, "berth vmm: virtio-rng: write to read-only"));
	assert_non_null(strstr(buf, "berth vmm: virtio-rng: further messages suppressed\n"));
	rig_fini(&r);
}

/* The console: transmitq to out_fd, typed bytes into receiveq. */
static void test_console(void **state)
{
	struct rig r;
	struct err e = {0};
	rig_init(&r);
	int out[2];
	assert_int_equal(pipe2(out, O_NONBLOCK), 0);
	struct virtio_console *c;
	assert_int_equal(virtio_rng_attach(&r.vm, r.loop, &e), 0);
	assert_int_equal(virtio_console_attach(&r.vm, r.loop, out[1], &c, &e), 0);
	struct virtio_dev *d = r.vm.virtio[1];
	assert_int_equal(rd(&r, 1, VIRTIO_MMIO_DEVICE_ID), 3);
	assert_int_equal(rd(&r, 1, VIRTIO_MMIO_CONFIG), 0);                  /* cols, rows */
	assert_int_equal(rd(&r, 1, VIRTIO_MMIO_CONFIG + 4), 1);              /* max_nr_ports */
	uint8_t b[2] = { 0x55, 0x55 };
	assert_int_equal(bus_access(&r.vm.mmio, d->base + VIRTIO_MMIO_CONFIG + 11, b, 2, 0), 0);
	assert_int_equal(b[0] | b[1], 0);                                     /* past the end */
	assert_int_equal(virtio_console_rx_push(c, (const uint8_t *)"x", 1), 0); /* no driver yet */

	assert_int_equal(negotiate(&r, 1, V1 | 1ull << VIRTIO_F_RING_EVENT_IDX), 11);
	queue_setup(&r, 1, 0);
	queue_setup(&r, 1, 1);
	wr(&r, 1, VIRTIO_MMIO_STATUS, RUNNING);
	assert_int_equal(wait_fd(virtio_console_rx_wakeup_fd(c), 5000), 1); /* DRIVER_OK */

	/* output */
	memcpy(gp(&r, DATA_GPA, 6), "hello ", 6);
	memcpy(gp(&r, DATA_GPA + 0x100, 6), "world\n", 6);
	desc(&r, 1, 0, DATA_GPA, 6, 1, 1);
	desc(&r, 1, 1, DATA_GPA + 0x100, 6, 0, 0);
	avail_add(&r, 1, 0);
	wr(&r, 1, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(wait_fd(d->irq_fd, 5000), 1);
	char buf[64] = { 0 };
	assert_int_equal(read(out[0], buf, sizeof(buf)), 12);
	assert_string_equal(buf, "hello world\n");
	assert_int_equal(used_idx(&r, 1), 1);
	assert_int_equal(used_len(&r, 1, 0), 0);

	/* input: nothing fits until the driver posts receive buffers */
	assert_int_equal(virtio_console_rx_push(c, (const uint8_t *)"typed", 5), 0);
	desc(&r, 0, 0, DATA_GPA + 0x1000, 3, 2, 0);
	desc(&r, 0, 1, DATA_GPA + 0x2000, 64, 2, 0);
	avail_add(&r, 0, 0);
	avail_add(&r, 0, 1);
	wr(&r, 1, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(wait_fd(virtio_console_rx_wakeup_fd(c), 5000), 1);
	assert_int_equal(virtio_console_rx_push(c, (const uint8_t *)"typed", 5), 5);
	assert_int_equal(used_idx(&r, 0), 2);
	assert_int_equal(used_len(&r, 0, 0), 3);
	assert_int_equal(used_len(&r, 0, 1), 2);
	assert_memory_equal(gp(&r, DATA_GPA + 0x1000, 3), "typ", 3);
	assert_memory_equal(gp(&r, DATA_GPA + 0x2000, 2), "ed", 2);
	assert_int_equal(wait_fd(d->irq_fd, 5000), 1);
	assert_int_equal(virtio_console_rx_push(c, (const uint8_t *)"more", 4), 0); /* used up */

	/* a reader that went away loses the output, the guest goes on */
	close(out[0]);
	desc(&r, 1, 2, DATA_GPA, 6, 0, 0);
	avail_add(&r, 1, 2);
	wr(&r, 1, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	for (int i = 0; i < 5000 && used_idx(&r, 1) != 2; i++)
		usleep(1000);     /* no interrupt: used_event (0) was passed already */
	assert_int_equal(used_idx(&r, 1), 2);
	rig_fini(&r);
	virtio_console_free(c);
	close(out[1]);
}

/* evloop_del from another thread while the loop runs, and evloop_free
 * of a loop that was never started. */
static int hits;
static void count_hit(void *arg, uint32_t events)
{
	uint64_t n;
	if (read(*(int *)arg, &n, sizeof(n)) == sizeof(n))
		__atomic_add_fetch(&hits, 1, __ATOMIC_SEQ_CST);
}

static void test_evloop(void **state)
{
	struct evloop *l;
	struct err e = {0};
	int p[2];
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	assert_int_equal(evloop_new(&l, &e), 0);
	assert_int_equal(evloop_add(l, p[0], POLLIN, count_hit, &p[0], &e), 0);
	assert_true(evloop_add(l, p[0], POLLIN, count_hit, &p[0], &e) < 0);   /* twice */
	assert_true(evloop_add(l, -1, POLLIN, count_hit, &p[0], &e) < 0);
	evloop_free(l);                                                       /* never started */

	assert_int_equal(evloop_new(&l, &e), 0);
	assert_int_equal(evloop_add(l, p[0], POLLIN, count_hit, &p[0], &e), 0);
	assert_int_equal(evloop_start(l, &e), 0);
	for (int i = 0; i < 100; i++) {
		uint64_t one = 1;
		assert_int_equal(write(p[1], &one, sizeof(one)), sizeof(one));
		while (__atomic_load_n(&hits, __ATOMIC_SEQ_CST) <= i)
			usleep(100);
	}
	evloop_del(l, p[0]);
	evloop_del(l, p[0]);                                                  /* not there */
	uint64_t one = 1;
	assert_int_equal(write(p[1], &one, sizeof(one)), sizeof(one));
	usleep(20000);
	assert_int_equal(hits, 100);
	evloop_stop(l);
	evloop_stop(l);
	evloop_free(l);
	evloop_free(NULL);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registers),
		cmocka_unit_test(test_rng_request),
		cmocka_unit_test(test_log_rate_limit),
		cmocka_unit_test(test_console),
		cmocka_unit_test(test_evloop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
