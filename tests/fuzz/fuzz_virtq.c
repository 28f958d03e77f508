/* fuzz_virtq.c - libFuzzer target for the split-virtqueue walker
 * (src/vm/virtio/virtq.c): everything a driver controls comes from the
 * input. A small guest memory (64 KiB low RAM and 16 KiB at 4 GiB, one
 * malloc'd block, so ASan sees any access outside it) gets the queue's
 * descriptor table and available ring from the input, and the rest of the
 * input as data (room for indirect tables and buffers). The device pops
 * and pushes until the queue is empty or broken, reading and writing the
 * chains it gets; it must never touch memory outside guest RAM, never
 * loop for ever, and a broken queue must stay broken.
 *
 * Input: byte 0: queue size 1 << (b % 9), bit 7 EVENT_IDX, bit 6 a second
 * round; then 16 * size bytes of descriptors, 6 + 2 * size bytes of
 * available ring, then data laid at DATA_GPA. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/layout.h"
#include "vm/memory.h"
#include "vm/virtio/virtq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LOW_RAM   (64u << 10)
#define HIGH_RAM  (16u << 10)
#define DESC_GPA  0x1000u
#define AVAIL_GPA 0x2000u
#define USED_GPA  0x3000u
#define DATA_GPA  0x4000u

static size_t take(uint8_t *dst, size_t room, const uint8_t **data, size_t *size)
{
	size_t n = *size < room ? *size : room;
	memcpy(dst, *data, n);
	*data += n;
	*size -= n;
	return n;
}

/* Pop and serve until empty or broken. Without the driver adding more,
 * at most `size` chains come; a writable buffer laid over the available
 * ring can add more as we write into it, hence the bound. */
static void drain(struct virtq *q)
{
	struct virtq_chain c;
	uint8_t buf[512];
	for (unsigned n = 0; n <= 2u * VIRTQ_MAX_SIZE; n++) {
		int r = virtq_pop(q, &c);
		if (r < 0) {
			if (!q->broken || !q->why || virtq_pop(q, &c) != -EINVAL)
				abort();
			return;
		}
		if (r == 0)
			return;
		if (c.nread > c.nseg || c.nseg > VIRTQ_MAX_SEGS ||
		    c.read_len + c.write_len > VIRTQ_MAX_CHAIN_BYTES)
			abort();
		size_t got = virtq_chain_read(&c, c.read_len / 2, buf, sizeof(buf));
		size_t put = virtq_chain_write(&c, 1, buf, got);
		virtq_push(q, c.head, (uint32_t)put);
		if (n % 3 == 0)
			virtq_needs_interrupt(q);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	static struct guest_mem mem;
	if (!ram) {
		ram = malloc(LOW_RAM + HIGH_RAM);
		if (!ram)
			return 0;
		mem = (struct guest_mem){ ram, LOW_RAM + HIGH_RAM, LOW_RAM, HIGH_RAM };
	}
	if (size < 1)
		return 0;
	memset(ram, 0, LOW_RAM + HIGH_RAM);
	uint8_t cfg = data[0];
	data++;
	size--;
	struct virtq q;
	virtq_reset(&q);
	q.size = (uint16_t)(1u << (cfg % 9));
	q.event_idx = (cfg >> 7) & 1;
	q.desc_gpa = DESC_GPA;
	q.avail_gpa = AVAIL_GPA;
	q.used_gpa = USED_GPA;
	take(ram + DESC_GPA, 16u * q.size, &data, &size);
	take(ram + AVAIL_GPA, 6u + 2u * q.size, &data, &size);
	take(ram + DATA_GPA, LOW_RAM - DATA_GPA, &data, &size);
	take(ram + LOW_RAM, HIGH_RAM, &data, &size);
	if (virtq_enable(&q, &mem) < 0)
		abort();                   /* the layout above is always valid */
	q.ready = 1;
	drain(&q);
	if ((cfg & 0x40) && !q.broken) {
		/* the driver adds as many again, reusing the same heads */
		uint16_t idx;
		memcpy(&idx, ram + AVAIL_GPA + 2, 2);
		idx = (uint16_t)(idx + (q.size > 1 ? q.size / 2 : 1));
		memcpy(ram + AVAIL_GPA + 2, &idx, 2);
		drain(&q);
	}
	return 0;
}
