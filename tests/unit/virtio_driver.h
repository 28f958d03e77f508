/* virtio_driver.h - a minimal virtio-mmio driver for unit tests of devices:
 * rings of queue q at DESC/AVAIL/USED_GPA + q * QSTRIDE, QSIZE entries,
 * registers reached through the VM's MMIO bus as a vCPU would. The test
 * defines `struct rig` (with a `struct vm vm` member) before including it. */
#ifndef BERTH_TESTS_VIRTIO_DRIVER_H
#define BERTH_TESTS_VIRTIO_DRIVER_H

#define DESC_GPA  0x10000ull
#define AVAIL_GPA 0x11000ull
#define USED_GPA  0x12000ull
#define QSTRIDE   0x4000ull
#define QSIZE 8

static uint8_t *gp(struct rig *r, uint64_t gpa, size_t len)
{
	uint8_t *p = mem_ptr(&r->vm.mem, gpa, len);
	assert_non_null(p);
	return p;
}

static uint32_t rd(struct rig *r, uint64_t off)
{
	uint8_t b[4] = { 0x5a, 0x5a, 0x5a, 0x5a };
	assert_int_equal(bus_access(&r->vm.mmio, GPA_VIRTIO_MMIO + off, b, 4, 0), 0);
	return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

static void wr(struct rig *r, uint64_t off, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	assert_int_equal(bus_access(&r->vm.mmio, GPA_VIRTIO_MMIO + off, b, 4, 1), 0);
}

static void desc(struct rig *r, unsigned q, unsigned i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
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
	__atomic_store_n((uint16_t *)(void *)(avail + 2), (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}

static uint16_t used_idx(struct rig *r, unsigned q)
{
	return __atomic_load_n((uint16_t *)(void *)gp(r, USED_GPA + q * QSTRIDE + 2, 2),
			       __ATOMIC_ACQUIRE);
}

static void used_elem(struct rig *r, unsigned q, uint16_t k, uint32_t *id, uint32_t *len)
{
	uint8_t *u = gp(r, USED_GPA + q * QSTRIDE + 4 + 8 * (k % QSIZE), 8);
	memcpy(id, u, 4);
	memcpy(len, u + 4, 4);
}

static void queue_setup(struct rig *r, unsigned q)
{
	memset(gp(r, DESC_GPA + q * QSTRIDE, 0x3000), 0, 0x3000);
	wr(r, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(r, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(r, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(DESC_GPA + q * QSTRIDE));
	wr(r, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr(r, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(AVAIL_GPA + q * QSTRIDE));
	wr(r, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
	wr(r, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(USED_GPA + q * QSTRIDE));
	wr(r, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
	wr(r, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(r, VIRTIO_MMIO_QUEUE_READY), 1);
}

#endif
