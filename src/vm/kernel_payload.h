/* kernel_payload.h - decompress the vmlinux a bzImage carries, on the host,
 * so that the VMM can load it as an ELF (boot_elf.h) instead of letting the
 * kernel's own decompressor run in the guest (`berth vmm --kernel-loader
 * elf`). Not the default: in the nested test rig it measured slower (see
 * enum vmm_kernel_loader in vmm.h). */
#ifndef BERTH_VM_KERNEL_PAYLOAD_H
#define BERTH_VM_KERNEL_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>
#include "lib/err.h"
#include "vm/boot_bzimage.h"

/* Largest vmlinux berth decompresses (Debian's are ~50-65 MiB). */
#define KERNEL_PAYLOAD_MAX (512u << 20)

enum kernel_payload_format {
	PAYLOAD_UNKNOWN = 0,
	PAYLOAD_GZIP,
	PAYLOAD_XZ,
	PAYLOAD_LZ4,
	PAYLOAD_ZSTD,
	PAYLOAD_BZIP2,      /* recognized, not decompressed by berth */
	PAYLOAD_LZMA,       /* recognized, not decompressed by berth */
	PAYLOAD_LZO,        /* recognized, not decompressed by berth */
};

/* Name of a format for messages ("xz", "lz4" ...). */
const char *kernel_payload_name(int format);

/* Where the compressed payload lies in the bzImage (setup header fields
 * payload_offset at 0x248 and payload_length at 0x24c, relative to the
 * protected-mode code) and its format, from its magic. Fails if the
 * fields point outside the protected-mode code or the payload is too short
 * to hold its 4-byte size trailer. */
int kernel_payload_find(const struct bzimage *bz, const uint8_t **payload, size_t *len,
			int *format, struct err *e);

/* Decompress the payload of bz into a malloc'd buffer (*out, *out_len;
 * the caller frees it). The output is exactly as long as the payload's
 * little-endian size trailer says and at most max_out bytes; anything
 * inconsistent (truncated or corrupt stream, more or less output than the
 * trailer says) fails with a message. Formats berth does not decompress
 * (bzip2, lzma, lzo, unknown magic) give -ENOTSUP: boot the bzImage and
 * let the kernel decompress itself. */
int kernel_payload_decompress(const struct bzimage *bz, size_t max_out, uint8_t **out,
			      size_t *out_len, struct err *e);

#endif
