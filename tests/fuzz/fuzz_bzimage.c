/* fuzz_bzimage.c - libFuzzer target for a bzImage read by the VMM
 * (src/vm/boot_bzimage.c, src/vm/kernel_payload.c): the setup header,
 * the payload fields, and the gzip/xz/lz4/zstd decompressors on whatever
 * payload the input holds, then the ELF parser on what comes out. The
 * output cap is 1 MiB (the VMM's is 512 MiB) so each run stays fast; an
 * accepted payload must decompress to exactly its size trailer, within
 * the cap. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/boot_bzimage.h"
#include "vm/boot_elf.h"
#include "vm/kernel_payload.h"
#include "vm/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_CAP (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct bzimage bz;
	struct err e = {0};
	if (bzimage_parse(buf, size, &bz, &e) < 0)
		goto out;
	uint64_t gpa;
	(void)bzimage_place_initrd(&bz, 64u << 20, 1u << 20, &gpa, &e);
	const uint8_t *p;
	size_t plen;
	int fmt;
	if (kernel_payload_find(&bz, &p, &plen, &fmt, &e) < 0)
		goto out;
	if (p < buf || plen > size || (size_t)(p - buf) > size - plen)
		abort();
	uint8_t *vmlinux;
	size_t n;
	int r = kernel_payload_decompress(&bz, OUT_CAP, &vmlinux, &n, &e);
	if (r < 0) {
		if (!e.msg[0] || vmlinux || n)
			abort();
		goto out;
	}
	uint32_t want = (uint32_t)p[plen - 4] | (uint32_t)p[plen - 3] << 8 |
			(uint32_t)p[plen - 2] << 16 | (uint32_t)p[plen - 1] << 24;
	if (n != want || n > OUT_CAP)
		abort();
	struct elf_kernel k;
	(void)elf_parse(vmlinux, n, GPA_KERNEL + (1u << 20), &k, &e);
	free(vmlinux);
out:
	free(buf);
	return 0;
}
