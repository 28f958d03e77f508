/* virtq.h - split virtqueues (virtio 1.2 section 2.7), device side.
 *
 * The walker turns what the driver put in a queue into a struct virtq_chain:
 * a list of host pointers into guest RAM, each one bounds-checked against
 * guest memory, with the readable (driver-to-device) segments first and the
 * writable ones after, as 2.7.4.2 requires. Devices never see a guest
 * address. Anything the driver gets wrong (an index past the queue size, a
 * loop, a chain longer than the queue, a buffer outside RAM, a readable
 * segment after a writable one, nested indirect tables) makes virtq_pop
 * fail with -EINVAL and marks the queue broken; the transport then sets
 * DEVICE_NEEDS_RESET. No global state; the code needs no KVM, so unit tests
 * and fuzz targets drive it over a plain struct guest_mem. */
#ifndef BERTH_VM_VIRTIO_VIRTQ_H
#define BERTH_VM_VIRTIO_VIRTQ_H

#include <stddef.h>
#include <stdint.h>

#include "vm/vm.h"

#define VIRTQ_MAX_SIZE 256        /* QueueNumMax every berth device offers */
#define VIRTQ_MAX_SEGS 256        /* segments in one chain (indirect included) */
#define VIRTQ_MAX_CHAIN_BYTES (64u << 20)  /* total length of one chain */

struct virtq_seg {
	uint8_t *p;                   /* host address of the guest buffer */
	uint32_t len;
	int writable;                 /* VIRTQ_DESC_F_WRITE */
};

struct virtq_chain {
	uint16_t head;                /* descriptor index to return in the used ring */
	unsigned nseg;
	unsigned nread;               /* seg[0..nread) readable, seg[nread..nseg) writable */
	uint64_t read_len, write_len; /* bytes in each part */
	struct virtq_seg seg[VIRTQ_MAX_SEGS];
};

struct virtq {
	/* set by the driver through the transport registers */
	uint16_t size;                /* QueueNum: power of two, 1..VIRTQ_MAX_SIZE */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	int ready;                    /* QueueReady */
	int event_idx;                /* VIRTIO_F_RING_EVENT_IDX was negotiated */

	/* device state */
	const struct guest_mem *mem;
	uint16_t last_avail;          /* next avail ring entry to consume */
	uint16_t used_idx;            /* next used ring entry to fill */
	uint16_t signalled_used;      /* used_idx when the driver was last interrupted */
	int signalled_valid;
	int broken;                   /* the driver broke the rules: needs reset */
	const char *why;              /* what it broke, for the log (static string) */
	/* host addresses of the rings, set by virtq_enable */
	uint8_t *desc, *avail, *used;
};

/* Check the ring addresses and size the driver gave (alignment 2.7: desc
 * 16, avail 2, used 4; every ring inside guest RAM) and start the queue at
 * index 0. Returns 0 or -EINVAL. */
int virtq_enable(struct virtq *q, const struct guest_mem *m);

/* Forget everything (device reset). Keeps nothing from the driver. */
void virtq_reset(struct virtq *q);

/* Take the next available chain. Returns 1 with *c filled, 0 when the
 * driver has made nothing new available, -EINVAL when the queue is broken
 * (or becomes so now; the chain is then not consumed). */
int virtq_pop(struct virtq *q, struct virtq_chain *c);

/* Put a chain in the used ring with the number of bytes the device wrote
 * into its writable part (2.7.8). */
void virtq_push(struct virtq *q, uint16_t head, uint32_t written);

/* Whether the driver wants an interrupt for what was pushed since the last
 * one (VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX, 2.7.10).
 * Call once after a batch of virtq_push; it records the point signalled. */
int virtq_needs_interrupt(struct virtq *q);

/* Copy between a chain and a flat buffer, starting `off` bytes into the
 * readable (resp. writable) part. Return the bytes copied (short when the
 * part is shorter). */
size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *buf, size_t len);
size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *buf, size_t len);

#endif
