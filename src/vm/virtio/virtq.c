/* virtq.c - split virtqueues, device side (virtio 1.2 section 2.7).
 *
 * The driver owns the descriptor table and the available ring and may
 * change them at any moment (it runs on other CPUs): every field is read
 * once into a local before it is checked, and only the checked copy is
 * used. Each guest address goes through mem_ptr(), which refuses a range
 * that is not wholly inside one RAM region. The walk is bounded twice: at
 * most `size` descriptors per table (a longer walk is a loop) and at most
 * VIRTQ_MAX_SEGS segments per chain. The indices shared with the driver
 * (avail->idx, used->idx, the event words) are accessed with __atomic
 * operations and the barriers 2.7.13 and 2.7.10 call for. */
#include "vm/virtio/virtq.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "vm/memory.h"

/* 2.7.5 descriptor flags */
#define VIRTQ_DESC_F_NEXT      1
#define VIRTQ_DESC_F_WRITE     2
#define VIRTQ_DESC_F_INDIRECT  4
/* 2.7.6 / 2.7.7 ring flags */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

#define DESC_SIZE 16

/* One descriptor as read from guest memory (2.7.5), host byte order. */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static int virtq_break(struct virtq *q, const char *why)
{
	q->broken = 1;
	q->why = why;
	return -EINVAL;
}

static uint16_t load16(const uint8_t *p, int order)
{
	return le16toh(__atomic_load_n((const uint16_t *)(const void *)p, order));
}

static void store16(uint8_t *p, uint16_t v, int order)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), order);
}

/* Copy descriptor i of a table into host order; the caller checked i. */
static void desc_read(const uint8_t *table, uint32_t i, struct virtq_desc *d)
{
	uint8_t raw[DESC_SIZE];
	memcpy(raw, table + (size_t)i * DESC_SIZE, sizeof(raw));
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
	memcpy(&addr, raw, 8);
	memcpy(&len, raw + 8, 4);
	memcpy(&flags, raw + 12, 2);
	memcpy(&next, raw + 14, 2);
	d->addr = le64toh(addr);
	d->len = le32toh(len);
	d->flags = le16toh(flags);
	d->next = le16toh(next);
}

/* 2.7 table "Virtqueue Part Alignment" and 2.6 sizes: descriptor table
 * 16*size aligned 16, available ring 6+2*size aligned 2, used ring
 * 6+8*size aligned 4; size a power of two (2.7, split queues). */
int virtq_enable(struct virtq *q, const struct guest_mem *m)
{
	q->broken = 0;
	q->why = NULL;
	q->desc = q->avail = q->used = NULL;
	uint32_t n = q->size;
	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return virtq_break(q, "queue size is not a power of two from 1 to 256");
	if (q->desc_gpa % 16 || q->avail_gpa % 2 || q->used_gpa % 4)
		return virtq_break(q, "misaligned ring address");
	uint8_t *desc = mem_ptr(m, q->desc_gpa, (size_t)DESC_SIZE * n);
	uint8_t *avail = mem_ptr(m, q->avail_gpa, 6 + 2 * (size_t)n);
	uint8_t *used = mem_ptr(m, q->used_gpa, 6 + 8 * (size_t)n);
	if (!desc || !avail || !used)
		return virtq_break(q, "ring outside guest RAM");
	q->mem = m;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->signalled_valid = 0;
	return 0;
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

/* Add one buffer to the chain: the chain length limit, and mem_ptr's
 * check that it lies in RAM. A
 * zero-length buffer carries nothing and is dropped (its address is not
 * used, so it need not point anywhere). */
static int chain_add(struct virtq *q, struct virtq_chain *c, const struct virtq_desc *d)
{
	int writable = (d->flags & VIRTQ_DESC_F_WRITE) != 0;
	if (d->len == 0)
		return 0;
	if (d->len > VIRTQ_MAX_CHAIN_BYTES - c->read_len - c->write_len)
		return virtq_break(q, "chain longer than 64 MiB");
	uint8_t *p = mem_ptr(q->mem, d->addr, d->len);
	if (!p)
		return virtq_break(q, "buffer outside guest RAM");
	c->seg[c->nseg++] = (struct virtq_seg){ p, d->len, writable };
	if (writable) {
		c->write_len += d->len;
	} else {
		c->nread++;
		c->read_len += d->len;
	}
	return 0;
}

/* 2.7.5 and 2.7.5.3: follow a chain from `head` through the descriptor
 * table and at most one indirect table (which may follow zero or more
 * direct descriptors, must not have NEXT set, and must not nest). */
static int virtq_walk(struct virtq *q, uint16_t head, struct virtq_chain *c)
{
	c->head = head;
	c->nseg = c->nread = 0;
	c->read_len = c->write_len = 0;
	const uint8_t *table = q->desc;
	uint32_t tsize = q->size, idx = head, visited = 0, segs = 0;
	int indirect = 0, writing = 0;
	for (;;) {
		if (idx >= tsize)
			return virtq_break(q, indirect ? "indirect descriptor index out of range"
						       : "descriptor index out of range");
		if (++visited > tsize)
			return virtq_break(q, "descriptor chain loops");
		struct virtq_desc d;
		desc_read(table, idx, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (indirect)
				return virtq_break(q, "nested indirect descriptor");
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return virtq_break(q, "indirect descriptor with NEXT set");
			if (d.len == 0 || d.len % DESC_SIZE || d.len / DESC_SIZE > VIRTQ_MAX_SEGS)
				return virtq_break(q, "bad indirect table length");
			table = mem_ptr(q->mem, d.addr, d.len);
			if (!table)
				return virtq_break(q, "indirect table outside guest RAM");
			tsize = d.len / DESC_SIZE;
			idx = 0;
			visited = 0;
			indirect = 1;
			continue;
		}
		if (++segs > VIRTQ_MAX_SEGS)
			return virtq_break(q, "chain has too many descriptors");
		if (d.flags & VIRTQ_DESC_F_WRITE)
			writing = 1;
		else if (writing)   /* 2.7.4.2: readable part first */
			return virtq_break(q, "readable buffer after a writable one");
		int r = chain_add(q, c, &d);
		if (r < 0)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

/* 2.7.10: with EVENT_IDX, tell the driver which available index should
 * cause its next notification: the one we will read next. */
static void set_avail_event(struct virtq *q)
{
	store16(q->used + 4 + 8 * (size_t)q->size, q->last_avail, __ATOMIC_RELAXED);
}

/* 2.7.13.4 (device side of 2.7.6): read avail->idx with acquire semantics,
 * so the ring entries and descriptors it covers are visible; it may run
 * at most `size` entries ahead of what we consumed. */
static int avail_pending(struct virtq *q, uint16_t *pending)
{
	uint16_t idx = load16(q->avail + 2, __ATOMIC_ACQUIRE);
	*pending = (uint16_t)(idx - q->last_avail);
	if (*pending > q->size)
		return virtq_break(q, "available index ran more than the queue size ahead");
	return 0;
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	if (q->broken)
		return -EINVAL;
	if (!q->ready || !q->desc)
		return 0;
	uint16_t pending;
	int r = avail_pending(q, &pending);
	if (r == 0 && pending == 0 && q->event_idx) {
		/* going idle: ask for a notification, then look once more
		 * (the driver may have added a buffer before seeing it) */
		set_avail_event(q);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		r = avail_pending(q, &pending);
	}
	if (r < 0)
		return r;
	if (pending == 0)
		return 0;
	uint16_t slot = q->last_avail & (q->size - 1);
	uint16_t head = load16(q->avail + 4 + 2 * (size_t)slot, __ATOMIC_RELAXED);
	r = virtq_walk(q, head, c);
	if (r < 0)
		return r;
	q->last_avail++;
	return 1;
}

/* 2.7.8: fill the used element, then publish the new used->idx with a
 * release store so the driver sees the element (and the data) first. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	if (q->broken || !q->used)
		return;
	uint8_t *e = q->used + 4 + 8 * (size_t)(q->used_idx & (q->size - 1));
	__atomic_store_n((uint32_t *)(void *)e, htole32(head), __ATOMIC_RELAXED);
	__atomic_store_n((uint32_t *)(void *)(e + 4), htole32(written), __ATOMIC_RELAXED);
	q->used_idx++;
	store16(q->used + 2, q->used_idx, __ATOMIC_RELEASE);
}

/* 2.7.10: without EVENT_IDX the driver's VIRTQ_AVAIL_F_NO_INTERRUPT says
 * whether it wants interrupts; with it, interrupt only when used->idx
 * passed used_event since the last interrupt (vring_need_event). The full
 * barrier orders our used->idx store before reading the driver's words. */
int virtq_needs_interrupt(struct virtq *q)
{
	if (q->broken || !q->avail)
		return 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint16_t old = q->signalled_used, now = q->used_idx;
	int valid = q->signalled_valid;
	q->signalled_used = now;
	q->signalled_valid = 1;
	if (valid && old == now)
		return 0;
	if (!q->event_idx)
		return !(load16(q->avail, __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return 1;
	uint16_t event = load16(q->avail + 4 + 2 * (size_t)q->size, __ATOMIC_RELAXED);
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *buf, size_t len)
{
	size_t done = 0;
	for (unsigned i = 0; i < c->nread && done < len; i++) {
		const struct virtq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		size_t n = s->len - off;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)buf + done, s->p + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *buf, size_t len)
{
	size_t done = 0;
	for (unsigned i = c->nread; i < c->nseg && done < len; i++) {
		const struct virtq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		size_t n = s->len - off;
		if (n > len - done)
			n = len - done;
		memcpy(s->p + off, (const uint8_t *)buf + done, n);
		done += n;
		off = 0;
	}
	return done;
}
