/* mmio.h - the virtio-mmio transport (virtio 1.2 section 4.2.2, version 2
 * registers only: no legacy) and the interface a virtio device implements.
 *
 * Each device gets one 4 KiB MMIO window and one interrupt line, both
 * chosen by the transport from layout.h and described to the guest in the
 * ACPI DSDT (_HID LNRO0005, which Linux's virtio_mmio driver binds to).
 * Queue notifications arrive through one ioeventfd per queue (KVM signals
 * it without an exit to user space) and are handled on the VM's device
 * loop thread; interrupts leave through an irqfd (edge, no exit either).
 * Register reads and writes arrive on vCPU threads; both paths hold the
 * device's lock, so a device's callbacks never run concurrently. */
#ifndef BERTH_VM_VIRTIO_MMIO_H
#define BERTH_VM_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdint.h>

#include "lib/err.h"
#include "vm/virtio/virtq.h"

struct vm;
struct evloop;
struct virtio_dev;

#define VIRTIO_MAX_QUEUES 4

/* Register offsets in a window (4.2.2, table "MMIO Device Register Layout") */
enum {
	VIRTIO_MMIO_MAGIC = 0x000,           /* "virt" */
	VIRTIO_MMIO_VERSION = 0x004,         /* 2: no legacy interface */
	VIRTIO_MMIO_DEVICE_ID = 0x008,
	VIRTIO_MMIO_VENDOR_ID = 0x00c,
	VIRTIO_MMIO_DEVICE_FEATURES = 0x010,
	VIRTIO_MMIO_DEVICE_FEATURES_SEL = 0x014,
	VIRTIO_MMIO_DRIVER_FEATURES = 0x020,
	VIRTIO_MMIO_DRIVER_FEATURES_SEL = 0x024,
	VIRTIO_MMIO_QUEUE_SEL = 0x030,
	VIRTIO_MMIO_QUEUE_NUM_MAX = 0x034,
	VIRTIO_MMIO_QUEUE_NUM = 0x038,
	VIRTIO_MMIO_QUEUE_READY = 0x044,
	VIRTIO_MMIO_QUEUE_NOTIFY = 0x050,
	VIRTIO_MMIO_INTERRUPT_STATUS = 0x060,
	VIRTIO_MMIO_INTERRUPT_ACK = 0x064,
	VIRTIO_MMIO_STATUS = 0x070,
	VIRTIO_MMIO_QUEUE_DESC_LOW = 0x080,
	VIRTIO_MMIO_QUEUE_DESC_HIGH = 0x084,
	VIRTIO_MMIO_QUEUE_DRIVER_LOW = 0x090,
	VIRTIO_MMIO_QUEUE_DRIVER_HIGH = 0x094,
	VIRTIO_MMIO_QUEUE_DEVICE_LOW = 0x0a0,
	VIRTIO_MMIO_QUEUE_DEVICE_HIGH = 0x0a4,
	VIRTIO_MMIO_SHM_SEL = 0x0ac,
	VIRTIO_MMIO_SHM_LEN_LOW = 0x0b0,
	VIRTIO_MMIO_SHM_LEN_HIGH = 0x0b4,
	VIRTIO_MMIO_SHM_BASE_LOW = 0x0b8,
	VIRTIO_MMIO_SHM_BASE_HIGH = 0x0bc,
	VIRTIO_MMIO_CONFIG_GENERATION = 0x0fc,
	VIRTIO_MMIO_CONFIG = 0x100,
};
#define VIRTIO_MMIO_MAGIC_VALUE 0x74726976u
#define VIRTIO_MMIO_VENDOR      0x48545242u  /* "BRTH" in memory order */

/* InterruptStatus bits (4.2.2) */
#define VIRTIO_MMIO_INT_VRING   1
#define VIRTIO_MMIO_INT_CONFIG  2

/* Device status bits (2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE   1
#define VIRTIO_STATUS_DRIVER        2
#define VIRTIO_STATUS_DRIVER_OK     4
#define VIRTIO_STATUS_FEATURES_OK   8
#define VIRTIO_STATUS_NEEDS_RESET   64
#define VIRTIO_STATUS_FAILED        128

/* Feature bits the transport handles itself (6) */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32

/* What a device is. All callbacks run with the device's lock held. */
struct virtio_dev_ops {
	const char *name;             /* "blk", "console", "rng": for messages */
	uint32_t device_id;           /* 5: 2 block, 3 console, 4 entropy */
	unsigned nqueues;             /* 1..VIRTIO_MAX_QUEUES */
	uint32_t config_len;          /* bytes of device config space */
	/* Device-specific feature bits offered (the transport adds VERSION_1,
	 * INDIRECT_DESC and EVENT_IDX). */
	uint64_t (*features)(struct virtio_dev *d);
	/* Config space access; the transport has checked off + len <= config_len. */
	void (*config_read)(struct virtio_dev *d, uint32_t off, uint8_t *data, unsigned len);
	void (*config_write)(struct virtio_dev *d, uint32_t off, const uint8_t *data, unsigned len);
	/* DRIVER_OK: the queues are live. May register host fds with the
	 * device loop. Returns 0, or <0 to mark the device as needing reset. */
	int (*activate)(struct virtio_dev *d);
	/* Device loop: queue q has new buffers. */
	void (*queue_notify)(struct virtio_dev *d, unsigned q);
	/* The driver reset the device (Status 0), or the VM is going away:
	 * drop everything that refers to queues or guest memory. */
	void (*reset)(struct virtio_dev *d);
};

/* What a queue's notification callback on the device loop needs. */
struct virtio_qref {
	struct virtio_dev *d;
	unsigned q;
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv;                   /* the device's own state */
	struct vm *vm;
	struct evloop *loop;
	pthread_mutex_t lock;

	unsigned slot;                /* index into the layout's virtio windows */
	uint64_t base;                /* MMIO window (VIRTIO_MMIO_SIZE bytes) */
	unsigned gsi;                 /* its interrupt line */

	/* transport registers */
	uint32_t status;
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint64_t driver_features;
	int driver_features_high;     /* the driver set bits above 63 (none offered) */
	uint32_t isr;                 /* InterruptStatus: 1 used buffer, 2 config change */
	uint32_t config_generation;
	struct virtq q[VIRTIO_MAX_QUEUES];

	int notify_fd[VIRTIO_MAX_QUEUES];  /* ioeventfds */
	struct virtio_qref qref[VIRTIO_MAX_QUEUES];
	int irq_fd;                        /* irqfd */
	uint64_t log_budget;               /* rate limit for messages about the guest */
};

/* Create the device in the next free window of `vm` (its MMIO range, its
 * ioeventfds and irqfd) and register it in vm->virtio for the ACPI tables.
 * `priv` belongs to the caller. */
int virtio_mmio_attach(struct vm *vm, struct evloop *loop, const struct virtio_dev_ops *ops,
		       void *priv, struct virtio_dev **out, struct err *e);
void virtio_mmio_free(struct virtio_dev *d);

/* 1 while the driver has the device running: DRIVER_OK set and
 * DEVICE_NEEDS_RESET not. Device paths that do not start from a queue
 * notification (input arriving from the host) check it under the lock. */
int virtio_mmio_live(const struct virtio_dev *d);

/* After pushing used buffers on queue q: interrupt the driver if it wants
 * one. Call with the device's lock held (callbacks already do). */
void virtio_mmio_used(struct virtio_dev *d, unsigned q);

/* The driver broke the rules (or the device hit a host error it cannot
 * report per request): log one rate-limited line naming the device and the
 * problem, set DEVICE_NEEDS_RESET and send a configuration interrupt
 * (2.1.2). The device ignores its queues until the driver resets it. */
void virtio_mmio_fail(struct virtio_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
