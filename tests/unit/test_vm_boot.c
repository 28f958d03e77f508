/* test_vm_boot.c - the VMM's boot pieces, no KVM needed: bzImage header
 * parsing (valid and hostile images), initrd placement, guest_ptr bounds,
 * ACPI tables (checksums, MADT entry count, the DSDT's AML for virtio-mmio
 * devices, PkgLength encoding), e820 and boot_params. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/acpi.h"
#include "vm/aml.h"
#include "vm/boot_bzimage.h"
#include "vm/boot_params.h"
#include "vm/layout.h"
#include "vm/memory.h"

#define IMG_LEN (64 * 1024)
#define SETUP_SECTS 4

static void put16(uint8_t *p, size_t off, uint16_t v) { p[off] = (uint8_t)v; p[off + 1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, size_t off, uint32_t v) { put16(p, off, (uint16_t)v); put16(p, off + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, size_t off, uint64_t v) { put32(p, off, (uint32_t)v); put32(p, off + 4, (uint32_t)(v >> 32)); }
static uint16_t get16(const uint8_t *p, size_t off) { return (uint16_t)(p[off] | p[off + 1] << 8); }
static uint32_t get32(const uint8_t *p, size_t off) { return get16(p, off) | (uint32_t)get16(p, off + 2) << 16; }
static uint64_t get64(const uint8_t *p, size_t off) { return get32(p, off) | (uint64_t)get32(p, off + 4) << 32; }

/* A synthetic bzImage with the header of a protocol 2.15 64-bit kernel. */
static uint8_t *make_image(size_t len)
{
	uint8_t *b = calloc(1, len);
	b[0x1f1] = SETUP_SECTS;
	size_t setup = (SETUP_SECTS + 1) * 512;
	put32(b, 0x1f4, (uint32_t)((len - setup) / 16));  /* syssize */
	put16(b, 0x1fe, 0xaa55);
	b[0x200] = 0xeb;
	b[0x201] = 0x6a;                                    /* header ends at 0x26c */
	memcpy(b + 0x202, "HdrS", 4);
	put16(b, 0x206, 0x020f);
	b[0x211] = 0x01;                                    /* LOADED_HIGH */
	put32(b, 0x22c, 0x7fffffff);                        /* initrd_addr_max */
	put32(b, 0x230, 0x200000);                          /* kernel_alignment */
	b[0x234] = 1;                                       /* relocatable */
	put16(b, 0x236, 0x7f);                              /* xloadflags: KERNEL_64 ... */
	put32(b, 0x238, 2047);                              /* cmdline_size */
	put64(b, 0x258, 0x1000000);                         /* pref_address */
	put32(b, 0x260, 0x2000000);                         /* init_size */
	return b;
}

static void expect_reject(const uint8_t *b, size_t len, const char *needle)
{
	struct bzimage bz;
	struct err e = {0};
	int r = bzimage_parse(b, len, &bz, &e);
	if (r >= 0)
		fail_msg("accepted a bad image (expected '%s')", needle);
	if (!strstr(e.msg, needle))
		fail_msg("message '%s' lacks '%s'", e.msg, needle);
}

static void test_bzimage_valid(void **state)
{
	uint8_t *b = make_image(IMG_LEN);
	struct bzimage bz;
	struct err e = {0};
	assert_int_equal(bzimage_parse(b, IMG_LEN, &bz, &e), 0);
	assert_int_equal(bz.version, 0x020f);
	assert_int_equal(bz.setup_size, 2560);
	assert_int_equal(bz.kernel_off, 2560);
	assert_int_equal(bz.kernel_len, IMG_LEN - 2560);
	assert_int_equal(bz.hdr_end, 0x26c);
	assert_int_equal(bz.cmdline_size, 2047);
	assert_int_equal(bz.pref_address, 0x1000000);
	assert_int_equal(bz.init_size, 0x2000000);
	assert_int_equal(bzimage_kernel_end(&bz), 0x3000000);
	/* setup_sects 0 means 4 */
	b[0x1f1] = 0;
	assert_int_equal(bzimage_parse(b, IMG_LEN, &bz, &e), 0);
	assert_int_equal(bz.setup_size, 2560);
	free(b);
}

static void test_bzimage_hostile(void **state)
{
	uint8_t *b = make_image(IMG_LEN);
	/* every truncation fails cleanly (ASan checks no byte past len is read) */
	for (size_t len = 0; len < 0x264; len++) {
		uint8_t *t = malloc(len ? len : 1);
		memcpy(t, b, len);
		expect_reject(t, len, "not a Linux kernel");
		free(t);
	}
	for (size_t len = 0x264; len <= 2560; len += 7) {
		uint8_t *t = malloc(len);
		memcpy(t, b, len);
		expect_reject(t, len, "bad bzImage");
		free(t);
	}
	/* a truncated kernel body: syssize says more than the file has */
	expect_reject(b, IMG_LEN - 16, "truncated");

	uint8_t *c = make_image(IMG_LEN);
	memcpy(c + 0x202, "HdrZ", 4);
	expect_reject(c, IMG_LEN, "no boot header");
	free(c);

	c = make_image(IMG_LEN);
	put16(c, 0x1fe, 0);
	expect_reject(c, IMG_LEN, "no boot header");
	free(c);

	c = make_image(IMG_LEN);
	put16(c, 0x206, 0x0209);
	expect_reject(c, IMG_LEN, "boot protocol 2.09");
	free(c);

	c = make_image(IMG_LEN);
	c[0x1f1] = 255;                                    /* 128K of setup in a 64K file */
	expect_reject(c, IMG_LEN, "setup sectors");
	free(c);

	c = make_image(IMG_LEN);
	c[0x211] = 0;
	expect_reject(c, IMG_LEN, "zImage");
	free(c);

	c = make_image(IMG_LEN);
	put16(c, 0x236, 0);
	expect_reject(c, IMG_LEN, "64-bit");
	free(c);

	c = make_image(IMG_LEN);
	c[0x201] = 0x10;                                   /* header ends before its own fields */
	expect_reject(c, IMG_LEN, "setup header ends");
	free(c);

	c = make_image(IMG_LEN);
	put32(c, 0x1f4, 0xffffffff);                       /* syssize * 16 overflows 32 bits */
	expect_reject(c, IMG_LEN, "truncated");
	free(c);

	c = make_image(IMG_LEN);
	put32(c, 0x260, 0xfffff000);                       /* init_size into the MMIO hole */
	expect_reject(c, IMG_LEN, "beyond 3 GiB");
	free(c);
	free(b);
}

static void test_initrd_placement(void **state)
{
	uint8_t *b = make_image(IMG_LEN);
	struct bzimage bz;
	struct err e = {0};
	assert_int_equal(bzimage_parse(b, IMG_LEN, &bz, &e), 0);
	uint64_t gpa = 0, low = 256ull << 20;
	assert_int_equal(bzimage_place_initrd(&bz, low, 5000000, &gpa, &e), 0);
	assert_int_equal(gpa & 0xfff, 0);
	assert_true(gpa + 5000000 <= low);
	assert_true(gpa >= bzimage_kernel_end(&bz));
	assert_true(low - (gpa + 5000000) < 4096);        /* as high as possible */
	/* initrd_addr_max below the end of RAM wins */
	put32(b, 0x22c, 0x7ffffff);
	assert_int_equal(bzimage_parse(b, IMG_LEN, &bz, &e), 0);
	assert_int_equal(bzimage_place_initrd(&bz, low, 4096, &gpa, &e), 0);
	assert_int_equal(gpa, 0x8000000 - 4096);
	/* too big: the message says what memory would do */
	assert_true(bzimage_place_initrd(&bz, low, 200ull << 20, &gpa, &e) < 0);
	assert_non_null(strstr(e.msg, "--memory"));
	assert_int_equal(e.exit_code, EXIT_USAGE);
	assert_true(bzimage_place_initrd(&bz, low, UINT64_MAX, &gpa, &e) < 0);
	assert_true(bzimage_place_initrd(&bz, low, UINT64_MAX - 4095, &gpa, &e) < 0);
	/* command line */
	assert_int_equal(bzimage_check_cmdline(&bz, "console=ttyS0", &e), 0);
	char *longline = malloc(3000);
	memset(longline, 'x', 2999);
	longline[2999] = '\0';
	assert_true(bzimage_check_cmdline(&bz, longline, &e) < 0);
	assert_non_null(strstr(e.msg, "at most 2047"));
	free(longline);
	free(b);
}

static void test_guest_ptr_low(void **state)
{
	struct guest_mem m;
	struct err e = {0};
	assert_int_equal(mem_alloc(&m, 64ull << 20, &e), 0);
	uint64_t size = 64ull << 20;
	assert_int_equal(m.low_size, size);
	assert_int_equal(m.high_size, 0);
	assert_ptr_equal(mem_ptr(&m, 0, 1), m.host);
	assert_ptr_equal(mem_ptr(&m, 0, 0), m.host);
	assert_ptr_equal(mem_ptr(&m, size - 1, 1), m.host + size - 1);
	assert_ptr_equal(mem_ptr(&m, size - 4096, 4096), m.host + size - 4096); /* exact end */
	assert_ptr_equal(mem_ptr(&m, 0, size), m.host);
	assert_null(mem_ptr(&m, 0, size + 1));
	assert_null(mem_ptr(&m, size, 1));
	assert_null(mem_ptr(&m, size, 0));
	assert_null(mem_ptr(&m, size - 1, 2));
	assert_null(mem_ptr(&m, UINT64_MAX, 1));
	assert_null(mem_ptr(&m, UINT64_MAX, 2));               /* gpa + len wraps */
	assert_null(mem_ptr(&m, 1, SIZE_MAX));                 /* len wraps */
	assert_null(mem_ptr(&m, size - 1, SIZE_MAX));
	assert_null(mem_ptr(&m, GPA_4G, 1));                   /* no high RAM */
	assert_null(mem_ptr(&m, GPA_IOAPIC, 4));
	mem_free(&m);
	assert_null(mem_ptr(&m, 0, 1));
	/* sizes are checked and rounded to 2 MiB */
	assert_true(mem_alloc(&m, 1 << 20, &e) < 0);
	assert_int_equal(mem_alloc(&m, (64ull << 20) + 1, &e), 0);
	assert_int_equal(m.size, 66ull << 20);
	mem_free(&m);
}

static void test_guest_ptr_high(void **state)
{
	struct guest_mem m;
	struct err e = {0};
	uint64_t size = 3584ull << 20;                          /* 3.5 GiB: 512M above 4G */
	assert_int_equal(mem_alloc(&m, size, &e), 0);
	assert_int_equal(m.low_size, GPA_MMIO_HOLE);
	assert_int_equal(m.high_size, 512ull << 20);
	assert_ptr_equal(mem_ptr(&m, GPA_MMIO_HOLE - 1, 1), m.host + GPA_MMIO_HOLE - 1);
	assert_null(mem_ptr(&m, GPA_MMIO_HOLE - 1, 2));        /* into the hole */
	assert_null(mem_ptr(&m, GPA_MMIO_HOLE, 1));
	assert_null(mem_ptr(&m, GPA_4G - 1, 1));
	assert_null(mem_ptr(&m, GPA_4G - 1, 2));               /* from the hole into RAM */
	assert_ptr_equal(mem_ptr(&m, GPA_4G, 1), m.host + m.low_size);
	assert_ptr_equal(mem_ptr(&m, GPA_4G + m.high_size - 8, 8), m.host + size - 8);
	assert_null(mem_ptr(&m, GPA_4G + m.high_size - 8, 9));
	assert_null(mem_ptr(&m, GPA_4G + m.high_size, 1));
	assert_null(mem_ptr(&m, GPA_4G, SIZE_MAX));
	assert_null(mem_ptr(&m, UINT64_MAX - 1, 4));
	mem_free(&m);
}

/* Check an SDT's length and checksum; return it. */
static const uint8_t *table_at(const uint8_t *buf, uint64_t gpa, uint64_t addr, const char *sig)
{
	assert_true(addr >= gpa && addr - gpa < ACPI_MAX);
	const uint8_t *t = buf + (addr - gpa);
	assert_memory_equal(t, sig, 4);
	uint32_t len = get32(t, 4);
	assert_true(len >= 36 && addr - gpa + len <= ACPI_MAX);
	assert_int_equal(acpi_checksum(t, len), 0);
	return t;
}

/* 20.2.4: decode a PkgLength; *n gets its size in bytes. */
static uint32_t pkglen_decode(const uint8_t *p, unsigned *n)
{
	*n = 1 + (p[0] >> 6);
	if (*n == 1)
		return p[0] & 0x3f;
	assert_int_equal(p[0] & 0x30, 0);            /* reserved bits */
	uint32_t v = p[0] & 0x0f;
	for (unsigned i = 1; i < *n; i++)
		v |= (uint32_t)p[i] << (4 + 8 * (i - 1));
	return v;
}

/* The DSDT body: \_S5, then (with devices) Scope(\_SB) whose PkgLength
 * ends the table, holding one Device per window whose lengths chain up
 * exactly, each with its window and GSI in its _CRS. */
static void check_dsdt(const uint8_t *aml, size_t len, const struct acpi_mmio_dev *v, unsigned nv)
{
	const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, ACPI_S5_SLP_TYP };
	assert_true(len >= 14);
	assert_memory_equal(aml, s5, sizeof(s5));
	if (!nv) {
		assert_int_equal(len, 14);
		return;
	}
	const uint8_t *p = aml + 14;
	unsigned n;
	assert_int_equal(p[0], 0x10);                /* ScopeOp */
	uint32_t scope = pkglen_decode(p + 1, &n);
	assert_int_equal(14 + 1 + scope, len);
	assert_memory_equal(p + 1 + n, "\\_SB_", 5);
	const uint8_t *d = p + 1 + n + 5, *end = p + 1 + scope;
	for (unsigned i = 0; i < nv; i++) {
		assert_true(d + 3 < end);
		assert_int_equal(d[0], 0x5b);            /* DeviceOp */
		assert_int_equal(d[1], 0x82);
		uint32_t dl = pkglen_decode(d + 2, &n);
		char name[5];
		snprintf(name, sizeof(name), "VR%02X", i);
		assert_memory_equal(d + 2 + n, name, 4);
		const uint8_t *next = d + 2 + dl;
		assert_true(next <= end);
		assert_non_null(memmem(d, (size_t)(next - d), "LNRO0005", 9));
		uint8_t mem32[12] = { 0x86, 9, 0, 1 }, irq[9] = { 0x89, 6, 0, 3, 1 };
		put32(mem32, 4, (uint32_t)v[i].base);
		put32(mem32, 8, v[i].size);
		put32(irq, 5, v[i].gsi);
		assert_non_null(memmem(d, (size_t)(next - d), mem32, sizeof(mem32)));
		assert_non_null(memmem(d, (size_t)(next - d), irq, sizeof(irq)));
		d = next;
	}
	assert_ptr_equal(d, end);
}

static void check_acpi(unsigned ncpus, unsigned nvirtio)
{
	uint8_t *buf = calloc(1, ACPI_MAX);
	size_t used = 0;
	struct err e = {0};
	const uint64_t gpa = GPA_ACPI;
	struct acpi_mmio_dev virtio[VIRTIO_MAX_DEVS];
	const unsigned gsis[VIRTIO_MAX_DEVS] = VIRTIO_GSIS;
	for (unsigned i = 0; i < nvirtio; i++)
		virtio[i] = (struct acpi_mmio_dev){ GPA_VIRTIO_MMIO + i * VIRTIO_MMIO_SIZE,
						    VIRTIO_MMIO_SIZE, gsis[i] };
	assert_int_equal(acpi_build(buf, ACPI_MAX, gpa, ncpus, virtio, nvirtio, &used, &e), 0);
	assert_true(used > 0 && used <= ACPI_MAX);

	/* RSDP: both checksums, revision 2, points at the XSDT */
	assert_memory_equal(buf, "RSD PTR ", 8);
	assert_int_equal(acpi_checksum(buf, 20), 0);
	assert_int_equal(acpi_checksum(buf, 36), 0);
	assert_int_equal(buf[15], 2);
	const uint8_t *xsdt = table_at(buf, gpa, get64(buf, 24), "XSDT");
	unsigned n = (get32(xsdt, 4) - 36) / 8;
	const uint8_t *fadt = NULL, *madt = NULL;
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = get64(xsdt, 36 + 8 * i);
		const uint8_t *t = buf + (a - gpa);
		if (!memcmp(t, "FACP", 4))
			fadt = table_at(buf, gpa, a, "FACP");
		else if (!memcmp(t, "APIC", 4))
			madt = table_at(buf, gpa, a, "APIC");
	}
	assert_non_null(fadt);
	assert_non_null(madt);

	/* FADT: DSDT (32 and 64-bit pointers agree), FACS, PM blocks, SCI */
	assert_int_equal(get32(fadt, 4), 276);
	assert_int_equal(get32(fadt, 40), get64(fadt, 140));
	const uint8_t *dsdt = table_at(buf, gpa, get64(fadt, 140), "DSDT");
	assert_int_equal(get64(fadt, 132) % 64, 0);
	assert_memory_equal(buf + (get64(fadt, 132) - gpa), "FACS", 4);
	assert_int_equal(get32(fadt, 56), PORT_ACPI_PM);
	assert_int_equal(get32(fadt, 64), PORT_ACPI_PM + 4);
	assert_int_equal(get32(fadt, 76), 0);                     /* no PM timer */
	assert_int_equal(fadt[91], 0);
	assert_int_equal(get64(fadt, 208 + 4), 0);
	assert_int_equal(get32(fadt, 36), 0);                     /* FACS: 64-bit only */
	assert_int_equal(get16(fadt, 46), IRQ_ACPI_SCI);
	assert_int_equal(get32(fadt, 112) & (1u << 20), 0);      /* not HW-reduced */
	/* DSDT: \_S5 with our SLP_TYP, and the virtio devices */
	check_dsdt(dsdt + 36, get32(dsdt, 4) - 36, virtio, nvirtio);

	/* MADT: one enabled LAPIC per vCPU with IDs 0..n-1, one IOAPIC */
	uint32_t len = get32(madt, 4);
	unsigned lapics = 0, ioapics = 0, overrides = 0;
	for (uint32_t off = 44; off < len;) {
		uint8_t type = madt[off], elen = madt[off + 1];
		assert_true(elen >= 2 && off + elen <= len);
		if (type == 0) {
			assert_int_equal(madt[off + 3], lapics);
			assert_int_equal(get32(madt, off + 4) & 1, 1);
			lapics++;
		} else if (type == 1) {
			assert_int_equal(get32(madt, off + 4), GPA_IOAPIC);
			ioapics++;
		} else if (type == 2) {
			overrides++;
		}
		off += elen;
	}
	assert_int_equal(lapics, ncpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(overrides, 2);
	assert_int_equal(get32(madt, 36), GPA_LAPIC);
	free(buf);
}

static void test_acpi_tables(void **state)
{
	check_acpi(1, 0);
	check_acpi(2, 1);
	check_acpi(8, 3);
	check_acpi(254, VIRTIO_MAX_DEVS);
	uint8_t buf[4096];
	size_t used;
	struct err e = {0};
	assert_true(acpi_build(buf, sizeof(buf), GPA_ACPI, 0, NULL, 0, &used, &e) < 0);
	assert_true(acpi_build(buf, sizeof(buf), GPA_ACPI, 255, NULL, 0, &used, &e) < 0);
	assert_true(acpi_build(buf, 512, GPA_ACPI, 1, NULL, 0, &used, &e) < 0);  /* too small */
	struct acpi_mmio_dev v[VIRTIO_MAX_DEVS] = {{ 0 }};
	assert_true(acpi_build(buf, 700, GPA_ACPI, 1, v, VIRTIO_MAX_DEVS, &used, &e) < 0);
}

/* One virtio device, byte for byte (ACPI 6.5 20.2, 6.4.3.4, 6.4.3.6):
 * Scope(\_SB) { Device(VR00) { Name(_HID, "LNRO0005") Name(_UID, 0)
 *   Name(_CRS, ResourceTemplate() { Memory32Fixed(ReadWrite, 0xd0000000,
 *   0x1000) Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) {16} })}} */
static void test_acpi_virtio_aml(void **state)
{
	static const uint8_t want[] = {
		0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 5, 0x0a, 5, 0x00, 0x00,
		0x10, 0x43, 0x04, '\\', '_', 'S', 'B', '_',        /* Scope, PkgLength 67 */
		0x5b, 0x82, 0x3a, 'V', 'R', '0', '0',               /* Device, PkgLength 58 */
		0x08, '_', 'H', 'I', 'D', 0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00,
		0x08, '_', 'U', 'I', 'D', 0x00,
		0x08, '_', 'C', 'R', 'S', 0x11, 0x1a, 0x0a, 0x17,   /* Buffer(23), PkgLength 26 */
		0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00,
		0x89, 0x06, 0x00, 0x03, 0x01, 0x10, 0x00, 0x00, 0x00,
		0x79, 0x00,
	};
	const struct acpi_mmio_dev dev = { GPA_VIRTIO_MMIO, VIRTIO_MMIO_SIZE, 16 };
	uint8_t aml[256];
	size_t len = 0;
	assert_int_equal(acpi_dsdt_aml(aml, sizeof(aml), &dev, 1, &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(aml, want, sizeof(want));
	check_dsdt(aml, len, &dev, 1);
	/* too small a buffer fails instead of writing past it */
	assert_int_equal(acpi_dsdt_aml(aml, sizeof(want) - 1, &dev, 1, &len), -ENOSPC);

	/* the same inside a whole table set: DSDT length and checksum */
	uint8_t *buf = calloc(1, ACPI_MAX);
	size_t used;
	struct err e = {0};
	assert_int_equal(acpi_build(buf, ACPI_MAX, GPA_ACPI, 1, &dev, 1, &used, &e), 0);
	const uint8_t *dsdt = memmem(buf, used, "DSDT", 4);
	assert_non_null(dsdt);
	assert_int_equal(get32(dsdt, 4), 36 + sizeof(want));
	assert_int_equal(acpi_checksum(dsdt, get32(dsdt, 4)), 0);
	assert_memory_equal(dsdt + 36, want, sizeof(want));
	free(buf);
}

/* 20.2.4 PkgLength at each encoding's edges, and nested packages whose
 * bodies grow past 63 bytes after their PkgLength was begun. */
static void test_aml_pkglen(void **state)
{
	static const struct { size_t body; unsigned n; uint8_t b[4]; } cases[] = {
		{ 0, 1, { 0x01 } },
		{ 62, 1, { 0x3f } },
		{ 63, 2, { 0x41, 0x04 } },                      /* 65 = 0x41 */
		{ 4093, 2, { 0x4f, 0xff } },                    /* 4095 */
		{ 4094, 3, { 0x81, 0x00, 0x01 } },              /* 4097 */
		{ 0xffffc, 3, { 0x8f, 0xff, 0xff } },           /* 0xfffff */
		{ 0xffffd, 4, { 0xc1, 0x00, 0x00, 0x01 } },     /* 0x100001 */
		{ AML_PKGLEN_MAX - 4, 4, { 0xcf, 0xff, 0xff, 0xff } },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t out[4] = { 0 };
		unsigned n = aml_pkglen_encode(out, cases[i].body);
		assert_int_equal(n, cases[i].n);
		assert_memory_equal(out, cases[i].b, n);
		unsigned m;
		assert_int_equal(pkglen_decode(out, &m), cases[i].body + n);
		assert_int_equal(m, n);
	}
	uint8_t out[4];
	assert_int_equal(aml_pkglen_encode(out, AML_PKGLEN_MAX - 3), 0);

	/* nesting: an outer package of 100 bytes around an inner one of 70 */
	uint8_t buf[256];
	struct aml a;
	aml_init(&a, buf, sizeof(buf));
	size_t outer = aml_pkg_begin(&a);
	for (int i = 0; i < 28; i++)
		aml_byte(&a, 0xaa);
	size_t inner = aml_pkg_begin(&a);
	for (int i = 0; i < 70; i++)
		aml_byte(&a, 0xbb);
	aml_pkg_end(&a, inner);
	aml_pkg_end(&a, outer);
	assert_int_equal(a.overflow, 0);
	unsigned n;
	assert_int_equal(pkglen_decode(buf, &n), a.len);
	assert_int_equal(n, 2);
	assert_int_equal(buf[2], 0xaa);
	assert_int_equal(buf[2 + 27], 0xaa);
	assert_int_equal(pkglen_decode(buf + 30, &n), 72);
	assert_int_equal(buf[32], 0xbb);
	assert_int_equal(a.len, 2 + 28 + 2 + 70);
	/* integers take their shortest form */
	aml_init(&a, buf, sizeof(buf));
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 2);
	aml_integer(&a, 0x1234);
	aml_integer(&a, 0x12345678);
	aml_integer(&a, 0x123456789ull);
	const uint8_t ints[] = { 0x00, 0x01, 0x0a, 0x02, 0x0b, 0x34, 0x12, 0x0c, 0x78, 0x56, 0x34,
				 0x12, 0x0e, 0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0 };
	assert_int_equal(a.len, sizeof(ints));
	assert_memory_equal(buf, ints, sizeof(ints));
	/* overflow is sticky and writes nothing past the end */
	aml_init(&a, buf, 3);
	aml_string(&a, "LNRO0005");
	assert_int_equal(a.overflow, 1);
	assert_int_equal(a.len, 1);
}

/* e820: sorted, non-overlapping, RAM exactly where guest_ptr allows. */
static void check_e820(uint64_t size)
{
	struct guest_mem m;
	struct err e = {0};
	assert_int_equal(mem_alloc(&m, size, &e), 0);
	struct boot_e820_entry t[8];
	size_t n = e820_build(&m, t, 8);
	assert_true(n >= 3);
	uint64_t ram = 0;
	for (size_t i = 0; i < n; i++) {
		assert_true(t[i].size > 0);
		if (i)
			assert_true(t[i].addr >= t[i - 1].addr + t[i - 1].size);
		if (t[i].type == E820_RAM) {
			ram += t[i].size;
			assert_non_null(mem_ptr(&m, t[i].addr, t[i].size));
			/* never the ISA hole, the BIOS area or the MMIO hole */
			assert_true(t[i].addr + t[i].size <= 0xa0000 || t[i].addr >= GPA_KERNEL);
			assert_true(t[i].addr + t[i].size <= GPA_MMIO_HOLE || t[i].addr >= GPA_4G);
		}
	}
	assert_int_equal(t[0].addr, 0);
	assert_int_equal(t[0].type, E820_RAM);
	assert_int_equal(ram, m.size - (GPA_KERNEL - GPA_EBDA));
	mem_free(&m);
}

static void test_e820(void **state)
{
	check_e820(64ull << 20);
	check_e820(256ull << 20);
	check_e820(3ull << 30);
	check_e820(3584ull << 20);
}

static void test_boot_params(void **state)
{
	uint8_t *img = make_image(IMG_LEN);
	struct guest_mem m;
	struct err e = {0};
	assert_int_equal(mem_alloc(&m, 256ull << 20, &e), 0);
	struct boot_params *bp = calloc(1, sizeof(*bp));
	memset(bp, 0xaa, sizeof(*bp));
	assert_int_equal(boot_params_fill(bp, img, 0x26c, &m, GPA_CMDLINE, 0x8000000, 12345,
					  GPA_ACPI, &e), 0);
	assert_int_equal(bp->hdr.version, 0x020f);
	assert_int_equal(bp->hdr.header, 0x53726448);           /* "HdrS" */
	assert_int_equal(bp->hdr.boot_flag, 0xaa55);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.cmd_line_ptr, GPA_CMDLINE);
	assert_int_equal(bp->hdr.ramdisk_image, 0x8000000);
	assert_int_equal(bp->hdr.ramdisk_size, 12345);
	assert_int_equal(bp->hdr.loadflags & 0x81, 0x81);       /* LOADED_HIGH | CAN_USE_HEAP */
	assert_int_equal(bp->acpi_rsdp_addr, GPA_ACPI);
	assert_int_equal(bp->e820_entries, 3);
	assert_int_equal(bp->ext_ramdisk_image, 0);             /* zeroed, not 0xaa */
	/* a header claiming to run past struct setup_header is clamped */
	assert_int_equal(boot_params_fill(bp, img, 0x1000, &m, GPA_CMDLINE, 0, 0, 0, &e), 0);
	assert_int_equal(bp->hdr.version, 0x020f);
	/* addresses above 4 GiB do not fit the 32-bit fields */
	assert_true(boot_params_fill(bp, img, 0x26c, &m, GPA_CMDLINE, GPA_4G, 1, 0, &e) < 0);
	free(bp);
	mem_free(&m);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bzimage_valid),
		cmocka_unit_test(test_bzimage_hostile),
		cmocka_unit_test(test_initrd_placement),
		cmocka_unit_test(test_guest_ptr_low),
		cmocka_unit_test(test_guest_ptr_high),
		cmocka_unit_test(test_acpi_tables),
		cmocka_unit_test(test_acpi_virtio_aml),
		cmocka_unit_test(test_aml_pkglen),
		cmocka_unit_test(test_e820),
		cmocka_unit_test(test_boot_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
