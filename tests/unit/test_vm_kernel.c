/* test_vm_kernel.c - the host-side kernel loader, no KVM needed: the
 * bzImage payload decompressors (Debian's real lz4 and xz kernels, and
 * synthetic gzip, xz, lz4 and zstd payloads, valid and hostile), the ELF
 * vmlinux parser and loader (valid and hostile headers and segments),
 * boot_params without a setup header, initrd placement above an ELF
 * kernel, and vmm_prepare's choice of loader. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <glob.h>
#include <lz4.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "vm/boot_bzimage.h"
#include "vm/boot_elf.h"
#include "vm/boot_params.h"
#include "vm/kernel_payload.h"
#include "vm/layout.h"
#include "vm/memory.h"
#include "vm/vmm.h"

#define SETUP_SECTS 4
#define SETUP_SIZE ((SETUP_SECTS + 1) * 512)
#define PAYLOAD_AT 0x100          /* payload_offset in the synthetic images */
#define RAM_END (256ull << 20)

static void put16(uint8_t *p, size_t off, uint16_t v) { p[off] = (uint8_t)v; p[off + 1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, size_t off, uint32_t v) { put16(p, off, (uint16_t)v); put16(p, off + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, size_t off, uint64_t v) { put32(p, off, (uint32_t)v); put32(p, off + 4, (uint32_t)(v >> 32)); }

/* ---------------------------------------------------------------- helpers */

/* Read a whole file; NULL if it cannot. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

/* The newest /boot/vmlinuz-* matching pattern (and not `not`). */
static char *find_kernel(const char *pattern, const char *not)
{
	glob_t g;
	char *found = NULL;
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			if (!not || !strstr(g.gl_pathv[i], not)) {
				free(found);
				found = strdup(g.gl_pathv[i]);
			}
		globfree(&g);
	}
	return found;
}

/* A bzImage (protocol 2.15, 64-bit) whose protected-mode code holds
 * `payload` at PAYLOAD_AT followed by the 4-byte size trailer `size`. */
static uint8_t *make_bzimage(const uint8_t *payload, size_t plen, uint32_t size, size_t *len)
{
	size_t pm = PAYLOAD_AT + plen + 4 + 16;
	pm = (pm + 15) & ~(size_t)15;
	*len = SETUP_SIZE + pm;
	uint8_t *b = calloc(1, *len);
	b[0x1f1] = SETUP_SECTS;
	put32(b, 0x1f4, (uint32_t)(pm / 16));
	put16(b, 0x1fe, 0xaa55);
	b[0x200] = 0xeb;
	b[0x201] = 0x6a;
	memcpy(b + 0x202, "HdrS", 4);
	put16(b, 0x206, 0x020f);
	b[0x211] = 0x01;
	put32(b, 0x22c, 0x7fffffff);
	put32(b, 0x230, 0x200000);
	b[0x234] = 1;
	put16(b, 0x236, 0x7f);
	put32(b, 0x238, 2047);
	put32(b, 0x248, PAYLOAD_AT);
	put32(b, 0x24c, (uint32_t)(plen + 4));
	put64(b, 0x258, 0x1000000);
	put32(b, 0x260, 0x2000000);
	memcpy(b + SETUP_SIZE + PAYLOAD_AT, payload, plen);
	put32(b, SETUP_SIZE + PAYLOAD_AT + plen, size);
	return b;
}

/* Decompress a bzImage; returns the result code, output in *out. */
static int decompress(const uint8_t *img, size_t len, size_t cap, uint8_t **out, size_t *out_len,
		      struct err *e)
{
	struct bzimage bz;
	int r = bzimage_parse(img, len, &bz, e);
	assert_int_equal(r, 0);
	return kernel_payload_decompress(&bz, cap, out, out_len, e);
}

static void expect_fail(const uint8_t *img, size_t len, size_t cap, int code, const char *needle)
{
	uint8_t *out = (uint8_t *)1;
	size_t n = 1;
	struct err e = {0};
	int r = decompress(img, len, cap, &out, &n, &e);
	if (r >= 0)
		fail_msg("accepted a bad payload (expected '%s')", needle);
	if (code && r != -code)
		fail_msg("got %d (%s), expected %d", r, e.msg, -code);
	if (!strstr(e.msg, needle))
		fail_msg("message '%s' lacks '%s'", e.msg, needle);
	assert_null(out);
	assert_int_equal(n, 0);
}

/* Original data that compresses well but not trivially. */
static uint8_t *sample(size_t n)
{
	uint8_t *d = malloc(n);
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245 + 12345;
		d[i] = (i % 64 < 40) ? (uint8_t)(i / 64) : (uint8_t)(x >> 24);
	}
	return d;
}

static uint8_t *gzip_of(const uint8_t *d, size_t n, size_t *clen)
{
	z_stream s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(deflateInit2(&s, 9, Z_DEFLATED, 16 + 15, 9, Z_DEFAULT_STRATEGY), Z_OK);
	size_t cap = deflateBound(&s, n);
	uint8_t *c = malloc(cap);
	s.next_in = (Bytef *)d;
	s.avail_in = (uInt)n;
	s.next_out = c;
	s.avail_out = (uInt)cap;
	assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
	*clen = s.total_out;
	deflateEnd(&s);
	return c;
}

static uint8_t *xz_of(const uint8_t *d, size_t n, size_t *clen)
{
	size_t cap = lzma_stream_buffer_bound(n);
	uint8_t *c = malloc(cap);
	*clen = 0;
	assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, d, n, c, clen, cap),
			 LZMA_OK);
	return c;
}

static uint8_t *zstd_of(const uint8_t *d, size_t n, size_t *clen)
{
	size_t cap = ZSTD_compressBound(n);
	uint8_t *c = malloc(cap);
	ZSTD_CCtx *z = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, 19);
	ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1);     /* as the zstd CLI does */
	*clen = ZSTD_compress2(z, c, cap, d, n);
	assert_false(ZSTD_isError(*clen));
	ZSTD_freeCCtx(z);
	return c;
}

/* LZ4 legacy frame: magic, then [le32 size][block] per 8 MiB (or per
 * `block` bytes, to get several blocks from small data). */
static uint8_t *lz4_of(const uint8_t *d, size_t n, size_t block, size_t *clen)
{
	size_t cap = 4 + (n / block + 1) * (4 + (size_t)LZ4_compressBound((int)block));
	uint8_t *c = malloc(cap);
	put32(c, 0, 0x184c2102);
	size_t o = 4;
	for (size_t i = 0; i < n; i += block) {
		size_t m = n - i < block ? n - i : block;
		int k = LZ4_compress_default((const char *)d + i, (char *)c + o + 4, (int)m,
					     LZ4_compressBound((int)m));
		assert_true(k > 0);
		put32(c, o, (uint32_t)k);
		o += 4 + (size_t)k;
	}
	*clen = o;
	return c;
}

/* A small ELF64 x86-64 vmlinux look-alike: two PT_LOAD segments at
 * 16 MiB (text, 0x3000 file bytes) and 16 MiB + 0x10000 (data, 0x1000
 * file bytes, 0x4000 in memory), a PT_NOTE, entry = start of text
 * (virtual unless phys_entry). */
#define T_PADDR 0x1000000ull
#define T_VADDR 0xffffffff81000000ull
#define D_PADDR 0x1010000ull
#define D_VADDR 0xffffffff81010000ull
static uint8_t *make_elf(size_t *len, int phys_entry)
{
	*len = 0x5000;
	uint8_t *b = calloc(1, *len);
	Elf64_Ehdr h = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		.e_entry = phys_entry ? T_PADDR + 0x10 : T_VADDR + 0x10,
		.e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 3,
	};
	Elf64_Phdr p[3] = {
		{ .p_type = PT_LOAD, .p_offset = 0x1000, .p_vaddr = T_VADDR, .p_paddr = T_PADDR,
		  .p_filesz = 0x3000, .p_memsz = 0x3000 },
		{ .p_type = PT_NOTE, .p_offset = 0x80000, .p_vaddr = 0, .p_paddr = 0,
		  .p_filesz = 0x100000, .p_memsz = 0x100000 },    /* ignored, even bogus */
		{ .p_type = PT_LOAD, .p_offset = 0x4000, .p_vaddr = D_VADDR, .p_paddr = D_PADDR,
		  .p_filesz = 0x1000, .p_memsz = 0x4000 },
	};
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), p, sizeof(p));
	for (size_t i = 0x1000; i < *len; i++)
		b[i] = (uint8_t)(i * 7 + 1);
	return b;
}

static Elf64_Ehdr *ehdr(uint8_t *b) { return (Elf64_Ehdr *)b; }
static Elf64_Phdr *phdr(uint8_t *b, int i) { return (Elf64_Phdr *)(b + sizeof(Elf64_Ehdr)) + i; }

static void elf_reject(const uint8_t *b, size_t len, uint64_t ram_end, const char *needle)
{
	struct elf_kernel k;
	struct err e = {0};
	int r = elf_parse(b, len, ram_end, &k, &e);
	if (r >= 0)
		fail_msg("accepted a bad ELF (expected '%s')", needle);
	if (!strstr(e.msg, needle))
		fail_msg("message '%s' lacks '%s'", e.msg, needle);
}

/* ------------------------------------------------------ real kernels */

/* Decompress a Debian kernel and check it is a loadable vmlinux at
 * 16 MiB whose entry is startup_64. */
static void check_real(const char *pattern, const char *not, int format)
{
	char *path = find_kernel(pattern, not);
	if (!path)
		fail_msg("no %s: scripts/setup installs Debian's kernels", pattern);
	size_t len = 0;
	uint8_t *img = slurp(path, &len);
	assert_non_null(img);
	struct bzimage bz;
	struct err e = {0};
	assert_int_equal(bzimage_parse(img, len, &bz, &e), 0);
	const uint8_t *p;
	size_t plen;
	int fmt;
	assert_int_equal(kernel_payload_find(&bz, &p, &plen, &fmt, &e), 0);
	assert_int_equal(fmt, format);
	uint8_t *out;
	size_t n;
	if (kernel_payload_decompress(&bz, KERNEL_PAYLOAD_MAX, &out, &n, &e) < 0)
		fail_msg("%s: %s", path, e.msg);
	assert_int_equal(n, p[plen - 4] | p[plen - 3] << 8 | p[plen - 2] << 16 | (uint32_t)p[plen - 1] << 24);
	assert_memory_equal(out, ELFMAG, SELFMAG);

	struct elf_kernel k;
	if (elf_parse(out, n, GPA_MMIO_HOLE, &k, &e) < 0)
		fail_msg("%s: %s", path, e.msg);
	int at16m = 0;
	for (unsigned i = 0; i < k.nseg; i++)
		at16m |= k.seg[i].paddr == 0x1000000;
	assert_true(at16m);
	assert_int_equal(k.start, 0x1000000);
	assert_int_equal(k.entry, 0x1000000);
	assert_true(k.end > k.start && k.end < (256ull << 20));

	/* load it into guest RAM: each segment's bytes where they belong */
	struct guest_mem m;
	assert_int_equal(mem_alloc(&m, 256ull << 20, &e), 0);
	assert_int_equal(elf_load(&m, out, n, &k, &e), 0);
	for (unsigned i = 0; i < k.nseg; i++) {
		const struct elf_segment *s = &k.seg[i];
		assert_memory_equal(mem_ptr(&m, s->paddr, s->filesz), out + s->offset, s->filesz);
	}
	/* an initrd goes above the kernel, below initrd_addr_max and RAM */
	uint64_t gpa;
	assert_int_equal(vmlinux_place_initrd(&k, &bz, m.low_size, 10 << 20, &gpa, &e), 0);
	assert_true(gpa >= k.end && gpa + (10 << 20) <= m.low_size);
	mem_free(&m);

	/* the trailer is checked: one byte less room fails cleanly */
	uint8_t *bad;
	size_t badn;
	assert_true(kernel_payload_decompress(&bz, n - 1, &bad, &badn, &e) < 0);
	assert_non_null(strstr(e.msg, "size trailer"));
	free(out);
	free(img);
	free(path);
}

static void test_real_lz4(void **state)
{
	check_real("/boot/vmlinuz-*-cloud-amd64", NULL, PAYLOAD_LZ4);
}

static void test_real_xz(void **state)
{
	check_real("/boot/vmlinuz-*-amd64", "cloud", PAYLOAD_XZ);
}

/* ------------------------------------------------- synthetic payloads */

#define DATA_LEN (300 * 1024)

/* Round trip, then truncations (the magic kept), lying trailers and a
 * corrupted middle: clean errors, never an overrun. has_check: the format
 * carries a checksum, so corruption must be detected (LZ4's legacy frame
 * has none: there it must only fail cleanly or not at all). */
static void check_format(const uint8_t *c, size_t clen, const char *name, int has_check)
{
	uint8_t *d = sample(DATA_LEN);
	size_t len;
	uint8_t *img = make_bzimage(c, clen, DATA_LEN, &len);
	uint8_t *out;
	size_t n;
	struct err e = {0};
	if (decompress(img, len, KERNEL_PAYLOAD_MAX, &out, &n, &e) < 0)
		fail_msg("%s: %s", name, e.msg);
	assert_int_equal(n, DATA_LEN);
	assert_memory_equal(out, d, DATA_LEN);
	free(out);
	free(img);

	/* truncated streams (the trailer still says DATA_LEN) */
	for (size_t cut = 1; cut + 8 < clen; cut += cut < 64 ? 1 : clen / 7) {
		img = make_bzimage(c, clen - cut, DATA_LEN, &len);
		expect_fail(img, len, KERNEL_PAYLOAD_MAX, 0, name);
		free(img);
	}
	/* trailers that lie: one byte short, one byte long, zero, over the cap */
	img = make_bzimage(c, clen, DATA_LEN - 1, &len);
	expect_fail(img, len, KERNEL_PAYLOAD_MAX, 0, name);
	free(img);
	img = make_bzimage(c, clen, DATA_LEN + 1, &len);
	expect_fail(img, len, KERNEL_PAYLOAD_MAX, 0, "size trailer");
	free(img);
	img = make_bzimage(c, clen, 0, &len);
	expect_fail(img, len, KERNEL_PAYLOAD_MAX, EFBIG, "size trailer");
	free(img);
	img = make_bzimage(c, clen, 0xffffffff, &len);
	expect_fail(img, len, KERNEL_PAYLOAD_MAX, EFBIG, "berth takes 1 to");
	free(img);
	img = make_bzimage(c, clen, DATA_LEN, &len);
	expect_fail(img, len, DATA_LEN - 1, EFBIG, "berth takes 1 to");   /* the caller's cap */
	free(img);
	/* corrupt bytes in the middle of the stream */
	uint8_t *bad = malloc(clen);
	memcpy(bad, c, clen);
	for (size_t i = clen / 3; i < clen / 3 + 16 && i < clen; i++)
		bad[i] ^= 0x5a;
	img = make_bzimage(bad, clen, DATA_LEN, &len);
	if (has_check) {
		expect_fail(img, len, KERNEL_PAYLOAD_MAX, 0, name);
	} else {
		int r = decompress(img, len, KERNEL_PAYLOAD_MAX, &out, &n, &e);
		if (r == 0) {
			assert_int_equal(n, DATA_LEN);
			free(out);
		}
	}
	free(img);
	free(bad);
	free(d);
}

static void test_gzip(void **state)
{
	uint8_t *d = sample(DATA_LEN);
	size_t clen;
	uint8_t *c = gzip_of(d, DATA_LEN, &clen);
	check_format(c, clen, "gzip", 1);
	free(c);
	free(d);
}

static void test_xz(void **state)
{
	uint8_t *d = sample(DATA_LEN);
	size_t clen;
	uint8_t *c = xz_of(d, DATA_LEN, &clen);
	check_format(c, clen, "xz", 1);
	free(c);
	free(d);
}

static void test_zstd(void **state)
{
	uint8_t *d = sample(DATA_LEN);
	size_t clen;
	uint8_t *c = zstd_of(d, DATA_LEN, &clen);
	check_format(c, clen, "zstd", 1);
	free(c);
	free(d);
}

static void test_lz4(void **state)
{
	uint8_t *d = sample(DATA_LEN);
	size_t clen;
	uint8_t *c = lz4_of(d, DATA_LEN, 64 * 1024, &clen);   /* 5 blocks */
	check_format(c, clen, "lz4", 0);
	free(c);

	/* one 8 MiB-style block, then a concatenated frame: the kernel's
	 * unlz4 skips a repeated magic, so do we */
	size_t c1n, c2n, len, n;
	uint8_t *c1 = lz4_of(d, DATA_LEN / 2, 1 << 20, &c1n);
	uint8_t *c2 = lz4_of(d + DATA_LEN / 2, DATA_LEN / 2, 1 << 20, &c2n);
	uint8_t *cc = malloc(c1n + c2n);
	memcpy(cc, c1, c1n);
	memcpy(cc + c1n, c2, c2n);
	uint8_t *img = make_bzimage(cc, c1n + c2n, DATA_LEN, &len), *out;
	struct err e = {0};
	assert_int_equal(decompress(img, len, KERNEL_PAYLOAD_MAX, &out, &n, &e), 0);
	assert_memory_equal(out, d, DATA_LEN);
	free(out);
	free(img);

	/* a block size past the end of the stream */
	uint8_t *bad = malloc(c1n);
	memcpy(bad, c1, c1n);
	put32(bad, 4, (uint32_t)(c1n - 8 + 1));
	img = make_bzimage(bad, c1n, DATA_LEN / 2, &len);
	expect_fail(img, len, KERNEL_PAYLOAD_MAX, EBADMSG, "remain in the stream");
	free(img);
	put32(bad, 4, 0xfffffff0);
	img = make_bzimage(bad, c1n, DATA_LEN / 2, &len);
	expect_fail(img, len, KERNEL_PAYLOAD_MAX, EBADMSG, "remain in the stream");
	free(img);
	put32(bad, 4, 0);                                     /* an empty block */
	img = make_bzimage(bad, c1n, DATA_LEN / 2, &len);
	expect_fail(img, len, KERNEL_PAYLOAD_MAX, EBADMSG, "lz4");
	free(img);
	/* stray bytes after the last block */
	memcpy(bad, c1, c1n);
	uint8_t *stray = malloc(c1n + 2);
	memcpy(stray, c1, c1n);
	stray[c1n] = stray[c1n + 1] = 0;
	img = make_bzimage(stray, c1n + 2, DATA_LEN / 2, &len);
	expect_fail(img, len, KERNEL_PAYLOAD_MAX, EBADMSG, "stray bytes");
	free(img);
	/* a block that decompresses past what the trailer allows */
	img = make_bzimage(c1, c1n, DATA_LEN / 2 - 100, &len);
	expect_fail(img, len, KERNEL_PAYLOAD_MAX, EBADMSG, "lz4");
	free(img);
	free(stray);
	free(bad);
	free(c1);
	free(c2);
	free(cc);
	free(d);
}

static void test_unsupported_and_bad_fields(void **state)
{
	static const uint8_t bz2[] = "BZh91AY&SY0123456789";
	static const uint8_t lzma[] = { 0x5d, 0, 0, 0x80, 0, 1, 2, 3, 4, 5, 6, 7 };
	static const uint8_t lzo[] = { 0x89, 'L', 'Z', 'O', 0, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3 };
	static const uint8_t junk[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	const struct { const uint8_t *p; size_t n; const char *name; } cases[] = {
		{ bz2, sizeof(bz2), "bzip2" }, { lzma, sizeof(lzma), "lzma" },
		{ lzo, sizeof(lzo), "lzo" }, { junk, sizeof(junk), "unknown" },
	};
	size_t len;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *img = make_bzimage(cases[i].p, cases[i].n, 1000, &len);
		expect_fail(img, len, KERNEL_PAYLOAD_MAX, ENOTSUP, cases[i].name);
		free(img);
	}
	/* payload fields pointing outside the protected-mode code */
	uint8_t *img = make_bzimage(junk, sizeof(junk), 1000, &len);
	put32(img, 0x248, 0xfffffff0);
	expect_fail(img, len, KERNEL_PAYLOAD_MAX, ENOEXEC, "outside");
	put32(img, 0x248, PAYLOAD_AT);
	put32(img, 0x24c, 0xfffffff0);
	expect_fail(img, len, KERNEL_PAYLOAD_MAX, ENOEXEC, "outside");
	put32(img, 0x24c, (uint32_t)(len - SETUP_SIZE - PAYLOAD_AT + 1));
	expect_fail(img, len, KERNEL_PAYLOAD_MAX, ENOEXEC, "outside");
	put32(img, 0x24c, 3);
	expect_fail(img, len, KERNEL_PAYLOAD_MAX, ENOEXEC, "only 3 bytes");
	free(img);
}

/* ------------------------------------------------------------- ELF */

static void test_elf_valid(void **state)
{
	size_t len;
	uint8_t *b = make_elf(&len, 0);
	struct elf_kernel k;
	struct err e = {0};
	assert_int_equal(elf_parse(b, len, RAM_END, &k, &e), 0);
	assert_int_equal(k.nseg, 2);
	assert_int_equal(k.entry, T_PADDR + 0x10);            /* virtual entry translated */
	assert_int_equal(k.start, T_PADDR);
	assert_int_equal(k.end, D_PADDR + 0x4000);
	free(b);
	b = make_elf(&len, 1);
	assert_int_equal(elf_parse(b, len, RAM_END, &k, &e), 0);
	assert_int_equal(k.entry, T_PADDR + 0x10);            /* physical entry as it is */

	/* loading: the bytes, and zeros (not what was there) past p_filesz */
	struct guest_mem m;
	assert_int_equal(mem_alloc(&m, MEM_MIN, &e), 0);
	memset(mem_ptr(&m, T_PADDR, 0x20000), 0xee, 0x20000);
	assert_int_equal(elf_load(&m, b, len, &k, &e), 0);
	assert_memory_equal(mem_ptr(&m, T_PADDR, 0x3000), b + 0x1000, 0x3000);
	assert_memory_equal(mem_ptr(&m, D_PADDR, 0x1000), b + 0x4000, 0x1000);
	const uint8_t *tail = mem_ptr(&m, D_PADDR + 0x1000, 0x3000);
	for (size_t i = 0; i < 0x3000; i++)
		assert_int_equal(tail[i], 0);
	assert_int_equal(*(uint8_t *)mem_ptr(&m, D_PADDR + 0x4000, 1), 0xee);  /* not beyond */
	assert_int_equal(*(uint8_t *)mem_ptr(&m, T_PADDR + 0x3000, 1), 0xee);
	/* a segment outside this (smaller) RAM is refused by the loader too */
	k.seg[1].paddr = MEM_MIN - 0x1000;
	assert_true(elf_load(&m, b, len, &k, &e) < 0);
	assert_non_null(strstr(e.msg, "--memory"));
	mem_free(&m);
	free(b);
}

static void test_elf_hostile(void **state)
{
	size_t len;
	uint8_t *b = make_elf(&len, 0);

	/* every truncation of the headers, and of the segments' file bytes */
	for (size_t n = 0; n < sizeof(Elf64_Ehdr) + 3 * sizeof(Elf64_Phdr); n++) {
		uint8_t *t = malloc(n ? n : 1);
		memcpy(t, b, n);
		elf_reject(t, n, RAM_END, n < sizeof(Elf64_Ehdr) ? "only" : "past its end");
		free(t);
	}
	elf_reject(b, 0x4fff, RAM_END, "runs past its end");
	elf_reject(b, 0x3fff, RAM_END, "runs past its end");

#define MUTATE(stmt, needle) do {                            \
		uint8_t *c = make_elf(&len, 0);              \
		stmt;                                        \
		elf_reject(c, len, RAM_END, needle);         \
		free(c);                                     \
	} while (0)

	MUTATE(c[0] = 0x7e, "magic");
	MUTATE(c[EI_CLASS] = ELFCLASS32, "64-bit");
	MUTATE(c[EI_DATA] = ELFDATA2MSB, "64-bit");
	MUTATE(ehdr(c)->e_machine = EM_386, "x86-64 executable");
	MUTATE(ehdr(c)->e_type = ET_DYN, "x86-64 executable");
	MUTATE(ehdr(c)->e_phentsize = 32, "program headers");
	MUTATE(ehdr(c)->e_phnum = 0, "program headers");
	MUTATE(ehdr(c)->e_phnum = 0xffff, "program headers");
	MUTATE((ehdr(c)->e_phnum = 64, ehdr(c)->e_phoff = len - 63 * sizeof(Elf64_Phdr)),
	       "past its end");
	MUTATE(ehdr(c)->e_phoff = len - 100, "past its end");
	MUTATE(ehdr(c)->e_phoff = UINT64_MAX - 10, "past its end");
	/* segments whose file bytes are not in the file (incl. overflow) */
	MUTATE(phdr(c, 0)->p_offset = UINT64_MAX - 0xfff, "runs past its end");
	MUTATE(phdr(c, 0)->p_filesz = UINT64_MAX, "runs past its end");
	MUTATE(phdr(c, 2)->p_offset = len, "runs past its end");
	MUTATE(phdr(c, 0)->p_memsz = 0x2000, "more file bytes");
	/* outside RAM: below 1 MiB, past the end, wrapping around */
	MUTATE(phdr(c, 0)->p_paddr = 0x9000, "outside guest RAM");
	MUTATE(phdr(c, 0)->p_paddr = 0, "outside guest RAM");
	MUTATE(phdr(c, 2)->p_paddr = RAM_END - 0x3fff, "outside guest RAM");
	MUTATE(phdr(c, 2)->p_memsz = UINT64_MAX, "outside guest RAM");
	MUTATE(phdr(c, 2)->p_paddr = UINT64_MAX - 0xfff, "outside guest RAM");
	/* overlapping segments, either way round, and identical */
	MUTATE(phdr(c, 2)->p_paddr = T_PADDR + 0x2fff, "overlaps");
	MUTATE(phdr(c, 2)->p_paddr = T_PADDR - 0x3fff, "overlaps");
	MUTATE(phdr(c, 2)->p_paddr = T_PADDR, "overlaps");
	/* entry outside every segment, or in zero fill only */
	MUTATE(ehdr(c)->e_entry = 0, "entry point");
	MUTATE(ehdr(c)->e_entry = T_VADDR + 0x3000, "entry point");
	MUTATE(ehdr(c)->e_entry = D_PADDR + 0x1000, "entry point");
	MUTATE(ehdr(c)->e_entry = UINT64_MAX, "entry point");
	/* nothing to load */
	MUTATE((phdr(c, 0)->p_type = PT_NULL, phdr(c, 2)->p_type = PT_NOTE), "no PT_LOAD");
#undef MUTATE
	/* more PT_LOADs than we keep */
	uint8_t *many = calloc(1, 0x10000);
	memcpy(many, b, sizeof(Elf64_Ehdr));
	ehdr(many)->e_phnum = ELF_MAX_LOAD + 1;
	for (int i = 0; i <= ELF_MAX_LOAD; i++)
		*phdr(many, i) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000,
					       .p_paddr = T_PADDR + (uint64_t)i * 0x1000,
					       .p_filesz = 0x10, .p_memsz = 0x1000 };
	elf_reject(many, 0x10000, RAM_END, "more than");
	free(many);
	free(b);
}

/* ------------------------------------------- boot_params, initrd, vmm */

static void test_boot_params_no_header(void **state)
{
	struct guest_mem m;
	struct err e = {0};
	assert_int_equal(mem_alloc(&m, 256ull << 20, &e), 0);
	struct boot_params *bp = malloc(sizeof(*bp));
	memset(bp, 0xaa, sizeof(*bp));
	assert_int_equal(boot_params_fill(bp, NULL, 0, &m, GPA_CMDLINE, 0x8000000, 4321, GPA_ACPI,
					  &e), 0);
	assert_int_equal(bp->hdr.boot_flag, 0xaa55);
	assert_int_equal(bp->hdr.header, 0x53726448);
	assert_true(bp->hdr.version >= 0x020c);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.cmd_line_ptr, GPA_CMDLINE);
	assert_int_equal(bp->hdr.ramdisk_image, 0x8000000);
	assert_int_equal(bp->hdr.ramdisk_size, 4321);
	assert_int_equal(bp->hdr.root_flags, 1);
	assert_int_equal(bp->hdr.setup_data, 0);
	assert_int_equal(bp->sentinel, 0);
	assert_int_equal(bp->ext_cmd_line_ptr, 0);
	assert_int_equal(bp->acpi_rsdp_addr, GPA_ACPI);
	assert_int_equal(bp->e820_entries, 3);
	assert_int_equal(bp->e820_table[2].addr, GPA_KERNEL);
	free(bp);
	mem_free(&m);
}

static void test_vmlinux_initrd_cmdline(void **state)
{
	size_t len;
	uint8_t *b = make_elf(&len, 0);
	struct elf_kernel k;
	struct err e = {0};
	assert_int_equal(elf_parse(b, len, RAM_END, &k, &e), 0);
	uint64_t gpa;
	/* no setup header: top of low RAM, never in the MMIO hole */
	assert_int_equal(vmlinux_place_initrd(&k, NULL, 64ull << 20, 5000, &gpa, &e), 0);
	assert_int_equal(gpa, (64ull << 20) - 8192);
	assert_int_equal(vmlinux_place_initrd(&k, NULL, 4ull << 30, 5000, &gpa, &e), 0);
	assert_true(gpa + 5000 <= GPA_MMIO_HOLE && gpa + 5000 > GPA_MMIO_HOLE - 8192);
	/* just above the kernel's end, and not one page less */
	uint64_t room = (64ull << 20) - k.end;
	assert_int_equal(vmlinux_place_initrd(&k, NULL, 64ull << 20, room, &gpa, &e), 0);
	assert_int_equal(gpa, k.end);
	assert_true(vmlinux_place_initrd(&k, NULL, 64ull << 20, room + 1, &gpa, &e) < 0);
	assert_non_null(strstr(e.msg, "--memory"));
	assert_true(vmlinux_place_initrd(&k, NULL, 64ull << 20, UINT64_MAX, &gpa, &e) < 0);
	/* with a bzImage's header, its initrd_addr_max counts */
	size_t ilen;
	uint8_t *img = make_bzimage((const uint8_t *)"x", 1, 1, &ilen);
	put32(img, 0x22c, 0x2ffffff);
	struct bzimage bz;
	assert_int_equal(bzimage_parse(img, ilen, &bz, &e), 0);
	assert_int_equal(vmlinux_place_initrd(&k, &bz, 64ull << 20, 4096, &gpa, &e), 0);
	assert_int_equal(gpa, 0x3000000 - 4096);
	/* command lines: 2047 bytes without a header, cmdline_size with one */
	char *line = malloc(3000);
	memset(line, 'x', 2999);
	line[2999] = '\0';
	assert_true(vmlinux_check_cmdline(NULL, line, &e) < 0);
	assert_non_null(strstr(e.msg, "at most 2047"));
	line[2047] = '\0';
	assert_int_equal(vmlinux_check_cmdline(NULL, line, &e), 0);
	put32(img, 0x238, 1000);
	assert_int_equal(bzimage_parse(img, ilen, &bz, &e), 0);
	assert_true(vmlinux_check_cmdline(&bz, line, &e) < 0);
	free(line);
	free(img);
	free(b);
}

/* vmm_prepare picks the loader: elf decompresses, auto and bzimage leave
 * a bzImage to decompress itself, an ELF file is taken as it is (and
 * refused with --kernel-loader bzimage). */
static void test_vmm_prepare_loader(void **state)
{
	char *path = find_kernel("/boot/vmlinuz-*-cloud-amd64", NULL);
	assert_non_null(path);
	struct vmm_config c = { .kernel = path, .cmdline = "console=ttyS0", .memory = 256ull << 20,
				.cpus = 1 };
	struct vmm_image img;
	struct err e = {0};
	assert_int_equal(vmm_prepare(&c, &img, &e), 0);
	assert_null(img.vmlinux);                              /* auto: the guest decompresses */
	assert_non_null(img.bz.buf);
	vmm_image_free(&img);

	c.kernel_loader = VMM_LOADER_ELF;
	if (vmm_prepare(&c, &img, &e) < 0)
		fail_msg("%s", e.msg);
	assert_non_null(img.vmlinux);
	assert_non_null(img.bz.buf);
	assert_int_equal(img.elf.entry, 0x1000000);

	/* write the vmlinux out and boot "Firecracker-style" from it */
	char elf[] = "/tmp/test_vm_kernel.XXXXXX";
	int fd = mkstemp(elf);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, img.vmlinux, img.vmlinux_len), (ssize_t)img.vmlinux_len);
	close(fd);
	vmm_image_free(&img);

	c.kernel_loader = VMM_LOADER_BZIMAGE;
	assert_int_equal(vmm_prepare(&c, &img, &e), 0);
	assert_null(img.vmlinux);
	vmm_image_free(&img);

	c.kernel = elf;
	c.kernel_loader = VMM_LOADER_AUTO;
	if (vmm_prepare(&c, &img, &e) < 0)
		fail_msg("%s", e.msg);
	assert_ptr_equal(img.vmlinux, img.kernel);
	assert_null(img.bz.buf);
	assert_int_equal(img.elf.entry, 0x1000000);
	vmm_image_free(&img);

	c.kernel_loader = VMM_LOADER_BZIMAGE;
	assert_true(vmm_prepare(&c, &img, &e) < 0);
	assert_non_null(strstr(e.msg, "--kernel-loader"));
	vmm_image_free(&img);

	/* too little memory for the kernel's image: a message about --memory */
	c.kernel_loader = VMM_LOADER_ELF;
	c.memory = 48ull << 20;
	assert_true(vmm_prepare(&c, &img, &e) < 0);
	assert_non_null(strstr(e.msg, "--memory"));
	vmm_image_free(&img);
	unlink(elf);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_lz4),
		cmocka_unit_test(test_real_xz),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_xz),
		cmocka_unit_test(test_zstd),
		cmocka_unit_test(test_lz4),
		cmocka_unit_test(test_unsupported_and_bad_fields),
		cmocka_unit_test(test_elf_valid),
		cmocka_unit_test(test_elf_hostile),
		cmocka_unit_test(test_boot_params_no_header),
		cmocka_unit_test(test_vmlinux_initrd_cmdline),
		cmocka_unit_test(test_vmm_prepare_loader),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
