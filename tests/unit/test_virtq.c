/* test_virtq.c - split virtqueues (src/vm/virtio/virtq.c) driven over plain
 * guest memory from mem_alloc(), no KVM: normal and indirect chains, used
 * ring and interrupt suppression (flags and EVENT_IDX), index wrap-around,
 * and hostile drivers (loops, indices out of range, buffers outside RAM,
 * wrapping addresses, readable after writable, nested indirect tables,
 * huge lengths, an available index running ahead), each of which must
 * give -EINVAL and a broken queue, never a crash. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "vm/memory.h"
#include "vm/virtio/virtq.h"

#define DESC_GPA  0x10000ull
#define AVAIL_GPA 0x11000ull
#define USED_GPA  0x12000ull
#define TABLE_GPA 0x14000ull     /* an indirect table */
#define DATA_GPA  0x100000ull

#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4

struct ring {
	struct guest_mem m;
	struct virtq q;
};

static struct ring R;

static int ring_setup(void **state)
{
	struct err e = {0};
	assert_int_equal(mem_alloc(&R.m, 32ull << 20, &e), 0);
	return 0;
}

static int ring_teardown(void **state)
{
	mem_free(&R.m);
	return 0;
}

static uint8_t *gp(uint64_t gpa, size_t len)
{
	uint8_t *p = mem_ptr(&R.m, gpa, len);
	assert_non_null(p);
	return p;
}

static void put16(uint64_t gpa, uint16_t v) { memcpy(gp(gpa, 2), &v, 2); }
static uint16_t get16(uint64_t gpa) { uint16_t v; memcpy(&v, gp(gpa, 2), 2); return v; }
static uint32_t get32(uint64_t gpa) { uint32_t v; memcpy(&v, gp(gpa, 4), 4); return v; }

/* A fresh queue of `size` entries with zeroed rings. */
static struct virtq *q_new(uint16_t size, int event_idx)
{
	memset(gp(DESC_GPA, 0x8000), 0, 0x8000);
	virtq_reset(&R.q);
	R.q.size = size;
	R.q.desc_gpa = DESC_GPA;
	R.q.avail_gpa = AVAIL_GPA;
	R.q.used_gpa = USED_GPA;
	R.q.event_idx = event_idx;
	assert_int_equal(virtq_enable(&R.q, &R.m), 0);
	R.q.ready = 1;
	return &R.q;
}

static void desc_at(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	uint8_t *d = gp(table + 16ull * i, 16);
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	desc_at(DESC_GPA, i, addr, len, flags, next);
}

/* Make `head` available (avail->ring[idx % size] = head; idx++). */
static void avail_add(uint16_t head)
{
	uint16_t idx = get16(AVAIL_GPA + 2);
	put16(AVAIL_GPA + 4 + 2ull * (idx % R.q.size), head);
	put16(AVAIL_GPA + 2, (uint16_t)(idx + 1));
}

/* Pop must fail, break the queue for good and say why. */
static void expect_broken(struct virtq *q, const char *why)
{
	struct virtq_chain c;
	uint16_t used = get16(USED_GPA + 2);
	assert_int_equal(virtq_pop(q, &c), -EINVAL);
	assert_true(q->broken);
	assert_non_null(q->why);
	assert_non_null(strstr(q->why, why));
	assert_int_equal(virtq_pop(q, &c), -EINVAL);
	virtq_push(q, 0, 1);                          /* ignored once broken */
	assert_int_equal(get16(USED_GPA + 2), used);
	assert_int_equal(virtq_needs_interrupt(q), 0);
}

static void test_normal_chain(void **state)
{
	struct virtq *q = q_new(8, 0);
	struct virtq_chain c;
	assert_int_equal(virtq_pop(q, &c), 0);        /* nothing yet */
	memcpy(gp(DATA_GPA, 8), "abcdefgh", 8);
	memcpy(gp(DATA_GPA + 0x1000, 4), "ijkl", 4);
	desc(3, DATA_GPA, 8, F_NEXT, 5);
	desc(5, DATA_GPA + 0x1000, 4, F_NEXT, 0);
	desc(0, DATA_GPA + 0x2000, 16, F_WRITE | F_NEXT, 7);
	desc(7, DATA_GPA + 0x3000, 16, F_WRITE, 0);
	avail_add(3);
	assert_int_equal(virtq_pop(q, &c), 1);
	assert_int_equal(c.head, 3);
	assert_int_equal(c.nseg, 4);
	assert_int_equal(c.nread, 2);
	assert_int_equal(c.read_len, 12);
	assert_int_equal(c.write_len, 32);
	assert_ptr_equal(c.seg[0].p, gp(DATA_GPA, 8));
	assert_false(c.seg[1].writable);
	assert_true(c.seg[2].writable);

	char buf[32];
	assert_int_equal(virtq_chain_read(&c, 6, buf, sizeof(buf)), 6);   /* across segments */
	assert_memory_equal(buf, "ghijkl", 6);
	assert_int_equal(virtq_chain_read(&c, 12, buf, 4), 0);
	assert_int_equal(virtq_chain_write(&c, 10, "0123456789", 10), 10);
	assert_memory_equal(gp(DATA_GPA + 0x200a, 6), "012345", 6);
	assert_memory_equal(gp(DATA_GPA + 0x3000, 4), "6789", 4);
	assert_int_equal(virtq_chain_write(&c, 30, "xyz", 3), 2);          /* short */

	virtq_push(q, c.head, 20);
	assert_int_equal(get16(USED_GPA + 2), 1);
	assert_int_equal(get32(USED_GPA + 4), 3);
	assert_int_equal(get32(USED_GPA + 8), 20);
	assert_int_equal(virtq_needs_interrupt(q), 1);
	assert_int_equal(virtq_needs_interrupt(q), 0);  /* nothing new since */
	assert_int_equal(virtq_pop(q, &c), 0);

	/* a queue that is not ready yields nothing */
	avail_add(3);
	q->ready = 0;
	assert_int_equal(virtq_pop(q, &c), 0);
	q->ready = 1;
	assert_int_equal(virtq_pop(q, &c), 1);
}

static void test_indirect_chain(void **state)
{
	struct virtq *q = q_new(4, 0);
	struct virtq_chain c;
	/* a direct readable descriptor, then an indirect table of three
	 * (2.7.5.3.2: zero or more direct descriptors, then one indirect) */
	desc(1, DATA_GPA, 16, F_NEXT, 2);
	desc(2, TABLE_GPA, 3 * 16, F_INDIRECT | F_WRITE, 0);   /* its WRITE is ignored */
	desc_at(TABLE_GPA, 0, DATA_GPA + 0x100, 8, F_NEXT, 2);
	desc_at(TABLE_GPA, 2, DATA_GPA + 0x200, 32, F_WRITE | F_NEXT, 1);
	desc_at(TABLE_GPA, 1, DATA_GPA + 0x300, 64, F_WRITE, 0);
	avail_add(1);
	assert_int_equal(virtq_pop(q, &c), 1);
	assert_int_equal(c.head, 1);
	assert_int_equal(c.nseg, 4);
	assert_int_equal(c.nread, 2);
	assert_int_equal(c.read_len, 24);
	assert_int_equal(c.write_len, 96);
	assert_ptr_equal(c.seg[3].p, gp(DATA_GPA + 0x300, 64));
	virtq_push(q, c.head, 96);

	/* an indirect table may hold more entries than the queue */
	q = q_new(2, 0);
	for (unsigned i = 0; i < 100; i++)
		desc_at(TABLE_GPA, i, DATA_GPA + i, 1, i < 99 ? F_NEXT : 0, (uint16_t)(i + 1));
	desc(0, TABLE_GPA, 100 * 16, F_INDIRECT, 0);
	avail_add(0);
	assert_int_equal(virtq_pop(q, &c), 1);
	assert_int_equal(c.nseg, 100);
	assert_int_equal(c.read_len, 100);

	/* zero-length buffers carry nothing and need no valid address */
	q = q_new(4, 0);
	desc(0, 0xdead0000000ull, 0, F_NEXT, 1);
	desc(1, DATA_GPA, 4, F_WRITE, 0);
	avail_add(0);
	assert_int_equal(virtq_pop(q, &c), 1);
	assert_int_equal(c.nseg, 1);
}

static void test_enable_checks(void **state)
{
	static const struct { uint16_t size; uint64_t desc, avail, used; } bad[] = {
		{ 0, DESC_GPA, AVAIL_GPA, USED_GPA },
		{ 3, DESC_GPA, AVAIL_GPA, USED_GPA },
		{ 512, DESC_GPA, AVAIL_GPA, USED_GPA },
		{ 8, DESC_GPA + 8, AVAIL_GPA, USED_GPA },           /* desc not 16-aligned */
		{ 8, DESC_GPA, AVAIL_GPA + 1, USED_GPA },           /* avail not 2-aligned */
		{ 8, DESC_GPA, AVAIL_GPA, USED_GPA + 2 },           /* used not 4-aligned */
		{ 8, (32ull << 20) - 64, AVAIL_GPA, USED_GPA },     /* desc past RAM end */
		{ 8, DESC_GPA, (32ull << 20) - 8, USED_GPA },
		{ 8, DESC_GPA, AVAIL_GPA, 0xd0000000ull },          /* MMIO hole */
		{ 8, UINT64_MAX - 15, AVAIL_GPA, USED_GPA },        /* wraps */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct virtq q;
		virtq_reset(&q);
		q.size = bad[i].size;
		q.desc_gpa = bad[i].desc;
		q.avail_gpa = bad[i].avail;
		q.used_gpa = bad[i].used;
		assert_int_equal(virtq_enable(&q, &R.m), -EINVAL);
		assert_non_null(q.why);
		struct virtq_chain c;
		q.ready = 1;
		assert_int_equal(virtq_pop(&q, &c), -EINVAL);
	}
	struct virtq q;
	virtq_reset(&q);
	struct virtq_chain c;
	assert_int_equal(virtq_pop(&q, &c), 0);                  /* never enabled */
	virtq_push(&q, 0, 0);
	assert_int_equal(virtq_needs_interrupt(&q), 0);
}

static void test_hostile_loops(void **state)
{
	struct virtq *q = q_new(8, 0);
	desc(0, DATA_GPA, 4, F_NEXT, 0);                          /* to itself */
	avail_add(0);
	expect_broken(q, "loops");

	q = q_new(8, 0);
	desc(0, DATA_GPA, 4, F_NEXT, 1);
	desc(1, DATA_GPA, 4, F_NEXT, 0);                          /* 0 -> 1 -> 0 */
	avail_add(0);
	expect_broken(q, "loops");

	q = q_new(4, 0);                                          /* loop in an indirect table */
	desc(0, TABLE_GPA, 2 * 16, F_INDIRECT, 0);
	desc_at(TABLE_GPA, 0, DATA_GPA, 4, F_NEXT, 1);
	desc_at(TABLE_GPA, 1, DATA_GPA, 4, F_NEXT, 0);
	avail_add(0);
	expect_broken(q, "loops");

	q = q_new(256, 0);                                        /* 256 segments: fine */
	for (unsigned i = 0; i < 256; i++)
		desc(i, DATA_GPA + i, 1, i < 255 ? F_NEXT : 0, (uint16_t)(i + 1));
	avail_add(0);
	struct virtq_chain c;
	assert_int_equal(virtq_pop(q, &c), 1);
	assert_int_equal(c.nseg, VIRTQ_MAX_SEGS);

	q = q_new(4, 0);                                          /* 1 + 256 segments: too many */
	desc(0, DATA_GPA, 1, F_NEXT, 1);
	desc(1, TABLE_GPA, 256 * 16, F_INDIRECT, 0);
	for (unsigned i = 0; i < 256; i++)
		desc_at(TABLE_GPA, i, DATA_GPA + i, 1, i < 255 ? F_NEXT : 0, (uint16_t)(i + 1));
	avail_add(0);
	expect_broken(q, "too many");
}

static void test_hostile_indices(void **state)
{
	struct virtq *q = q_new(8, 0);
	avail_add(8);                                             /* head == size */
	expect_broken(q, "descriptor index out of range");

	q = q_new(8, 0);
	avail_add(0xffff);
	expect_broken(q, "descriptor index out of range");

	q = q_new(8, 0);
	desc(0, DATA_GPA, 4, F_NEXT, 9);                          /* next out of range */
	avail_add(0);
	expect_broken(q, "descriptor index out of range");

	q = q_new(4, 0);
	desc(0, TABLE_GPA, 2 * 16, F_INDIRECT, 0);
	desc_at(TABLE_GPA, 0, DATA_GPA, 4, F_NEXT, 2);            /* past a 2-entry table */
	avail_add(0);
	expect_broken(q, "indirect descriptor index");

	q = q_new(8, 0);                                          /* avail idx runs 9 ahead */
	put16(AVAIL_GPA + 2, 9);
	expect_broken(q, "ran more");

	q = q_new(8, 0);                                          /* exactly size ahead is fine */
	for (unsigned i = 0; i < 8; i++)
		desc(i, DATA_GPA, 4, 0, 0);
	put16(AVAIL_GPA + 2, 8);
	struct virtq_chain c;
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(virtq_pop(q, &c), 1);
	assert_int_equal(virtq_pop(q, &c), 0);
	put16(AVAIL_GPA + 2, 7);                                  /* and backwards is not */
	expect_broken(q, "ran more");
}

static void test_hostile_buffers(void **state)
{
	const uint64_t end = 32ull << 20;
	static const struct { uint64_t addr; uint32_t len; } bad[] = {
		{ (32ull << 20) - 8, 16 },            /* runs past the end of RAM */
		{ 32ull << 20, 1 },                   /* just past it */
		{ UINT64_MAX - 4, 16 },               /* wraps around */
		{ 0xd0000000ull, 4 },                 /* the MMIO hole */
		{ 0xfffffffffffff000ull, 0x2000 },
		{ 0x100000000ull, 16 },               /* 4 GiB: no high RAM here */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct virtq *q = q_new(8, 0);
		desc(0, DATA_GPA, 4, F_NEXT, 1);
		desc(1, bad[i].addr, bad[i].len, F_WRITE, 0);
		avail_add(0);
		expect_broken(q, "outside guest RAM");
	}
	struct virtq *q = q_new(8, 0);                            /* the last byte of RAM is fine */
	desc(0, end - 1, 1, 0, 0);
	avail_add(0);
	struct virtq_chain c;
	assert_int_equal(virtq_pop(q, &c), 1);

	q = q_new(8, 0);                                          /* readable after writable */
	desc(0, DATA_GPA, 4, F_WRITE | F_NEXT, 1);
	desc(1, DATA_GPA, 4, 0, 0);
	avail_add(0);
	expect_broken(q, "readable buffer after");

	q = q_new(8, 0);                                          /* ... with a zero-length one */
	desc(0, DATA_GPA, 0, F_WRITE | F_NEXT, 1);
	desc(1, DATA_GPA, 4, 0, 0);
	avail_add(0);
	expect_broken(q, "readable buffer after");

	q = q_new(8, 0);                                          /* huge: 2 x 2 GiB */
	desc(0, DATA_GPA, 0x80000000u, F_NEXT, 1);
	desc(1, DATA_GPA, 0x80000000u, F_WRITE, 0);
	avail_add(0);
	expect_broken(q, "64 MiB");

	q = q_new(8, 0);                                          /* 4 GiB - 1 in one */
	desc(0, DATA_GPA, UINT32_MAX, 0, 0);
	avail_add(0);
	expect_broken(q, "64 MiB");

	q = q_new(8, 0);                                          /* 64 MiB + 1 in total */
	desc(0, DATA_GPA, 16u << 20, F_NEXT, 1);
	desc(1, DATA_GPA, 16u << 20, F_NEXT, 2);
	desc(2, DATA_GPA, 16u << 20, F_NEXT, 3);
	desc(3, DATA_GPA, 16u << 20, F_NEXT, 4);
	desc(4, DATA_GPA, 1, 0, 0);
	avail_add(0);
	expect_broken(q, "64 MiB");
}

static void test_hostile_indirect(void **state)
{
	static const struct { uint64_t addr; uint32_t len; uint16_t flags; const char *why; } bad[] = {
		{ TABLE_GPA, 24, F_INDIRECT, "length" },                 /* not a multiple of 16 */
		{ TABLE_GPA, 0, F_INDIRECT, "length" },                  /* empty */
		{ TABLE_GPA, 257 * 16, F_INDIRECT, "length" },           /* longer than any chain */
		{ TABLE_GPA, UINT32_MAX & ~15u, F_INDIRECT, "length" },
		{ (32ull << 20) - 16, 32, F_INDIRECT, "outside guest RAM" },  /* past RAM end */
		{ UINT64_MAX - 15, 32, F_INDIRECT, "outside guest RAM" },     /* wraps */
		{ TABLE_GPA, 32, F_INDIRECT | F_NEXT, "NEXT" },         /* INDIRECT with NEXT */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct virtq *q = q_new(8, 0);
		desc_at(TABLE_GPA, 0, DATA_GPA, 4, 0, 0);
		desc_at(TABLE_GPA, 1, DATA_GPA, 4, 0, 0);
		desc(0, bad[i].addr, bad[i].len, bad[i].flags, 1);
		desc(1, DATA_GPA, 4, 0, 0);
		avail_add(0);
		expect_broken(q, bad[i].why);
	}
	struct virtq *q = q_new(8, 0);                            /* nested */
	desc(0, TABLE_GPA, 32, F_INDIRECT, 0);
	desc_at(TABLE_GPA, 0, DATA_GPA, 4, F_NEXT, 1);
	desc_at(TABLE_GPA, 1, TABLE_GPA, 32, F_INDIRECT, 0);
	avail_add(0);
	expect_broken(q, "nested");

	q = q_new(8, 0);                                          /* readable after writable across */
	desc(0, DATA_GPA, 4, F_WRITE | F_NEXT, 1);
	desc(1, TABLE_GPA, 16, F_INDIRECT, 0);
	desc_at(TABLE_GPA, 0, DATA_GPA, 4, 0, 0);
	avail_add(0);
	expect_broken(q, "readable buffer after");
}

/* Many chains through a small queue: the 16-bit indices wrap. */
static void test_wraparound(void **state)
{
	struct virtq *q = q_new(4, 1);
	struct virtq_chain c;
	for (unsigned i = 0; i < 4; i++)
		desc(i, DATA_GPA + 64 * i, 64, F_WRITE, 0);
	for (unsigned n = 0; n < 70000; n++) {
		avail_add((uint16_t)(n % 4));
		if (n % 3 == 0)
			avail_add((uint16_t)((n + 1) % 4));
		while (virtq_pop(q, &c) == 1)
			virtq_push(q, c.head, 1);
		assert_false(q->broken);
	}
	assert_int_equal(get16(USED_GPA + 2), q->used_idx);
	assert_int_equal(q->last_avail, get16(AVAIL_GPA + 2));
	assert_int_equal(get16(USED_GPA + 4 + 8 * 4), q->last_avail);  /* avail_event */
}

/* 2.7.10: interrupt suppression with the flag and with used_event. */
static void test_interrupts(void **state)
{
	struct virtq *q = q_new(8, 0);
	struct virtq_chain c;
	for (unsigned i = 0; i < 8; i++)
		desc(i, DATA_GPA, 4, F_WRITE, 0);
	put16(AVAIL_GPA, 1);                                      /* NO_INTERRUPT */
	avail_add(0);
	assert_int_equal(virtq_pop(q, &c), 1);
	virtq_push(q, c.head, 0);
	assert_int_equal(virtq_needs_interrupt(q), 0);
	put16(AVAIL_GPA, 0);
	avail_add(1);
	assert_int_equal(virtq_pop(q, &c), 1);
	virtq_push(q, c.head, 0);
	assert_int_equal(virtq_needs_interrupt(q), 1);

	/* EVENT_IDX: used_event sits after the avail ring */
	q = q_new(8, 1);
	for (unsigned i = 0; i < 8; i++)
		desc(i, DATA_GPA, 4, F_WRITE, 0);
	const uint64_t used_event = AVAIL_GPA + 4 + 2 * 8, avail_event = USED_GPA + 4 + 8 * 8;
	put16(AVAIL_GPA, 1);                                      /* the flag is ignored now */
	put16(used_event, 0);
	avail_add(0);
	assert_int_equal(virtq_pop(q, &c), 1);
	virtq_push(q, c.head, 0);                                 /* used idx 1 passes event 0 */
	assert_int_equal(virtq_needs_interrupt(q), 1);
	avail_add(1);
	assert_int_equal(virtq_pop(q, &c), 1);
	virtq_push(q, c.head, 0);                                 /* idx 2: event 0 already passed */
	assert_int_equal(virtq_needs_interrupt(q), 0);
	put16(used_event, 3);
	avail_add(2);
	avail_add(3);
	assert_int_equal(virtq_pop(q, &c), 1);
	virtq_push(q, c.head, 0);                                 /* idx 3: event 3 not passed */
	assert_int_equal(virtq_needs_interrupt(q), 0);
	assert_int_equal(virtq_pop(q, &c), 1);
	virtq_push(q, c.head, 0);                                 /* idx 4 passes event 3 */
	assert_int_equal(virtq_needs_interrupt(q), 1);
	/* going idle publishes avail_event = the next index we will read */
	assert_int_equal(virtq_pop(q, &c), 0);
	assert_int_equal(get16(avail_event), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normal_chain),
		cmocka_unit_test(test_indirect_chain),
		cmocka_unit_test(test_enable_checks),
		cmocka_unit_test(test_hostile_loops),
		cmocka_unit_test(test_hostile_indices),
		cmocka_unit_test(test_hostile_buffers),
		cmocka_unit_test(test_hostile_indirect),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_interrupts),
	};
	return cmocka_run_group_tests(tests, ring_setup, ring_teardown);
}
