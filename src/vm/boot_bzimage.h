/* boot_bzimage.h - load a Linux bzImage for the 64-bit boot protocol. */
#ifndef BERTH_VM_BOOT_BZIMAGE_H
#define BERTH_VM_BOOT_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>
#include "lib/err.h"

struct vm;

/* Oldest boot protocol we accept: 2.12 (Linux 3.8) has xloadflags and
 * XLF_KERNEL_64, i.e. a documented 64-bit entry point. */
#define BZ_MIN_PROTOCOL 0x020c

/* What the setup header of a bzImage tells the loader (boot.rst, "The Real-
 * Mode Kernel Header"). Offsets into buf are validated by bzimage_parse. */
struct bzimage {
	const uint8_t *buf;
	size_t len;
	unsigned version;          /* 0x0206: boot protocol, e.g. 0x020f */
	size_t setup_size;         /* (setup_sects + 1) * 512 */
	size_t hdr_end;            /* 0x0202 + byte at 0x0201: end of setup_header */
	size_t kernel_off;         /* protected-mode code: buf + setup_size */
	size_t kernel_len;         /* syssize * 16 */
	uint32_t initrd_addr_max;  /* 0x022c */
	uint32_t kernel_alignment; /* 0x0230 */
	int relocatable;           /* 0x0234 */
	uint32_t cmdline_size;     /* 0x0238: longest command line, without NUL */
	uint64_t pref_address;     /* 0x0258 */
	uint32_t init_size;        /* 0x0260: memory the kernel needs to boot */
};

/* Validate a bzImage held in memory and fill bz (which points into buf).
 * Rejects anything short, without the "HdrS" magic, older than protocol
 * 2.12, without a 64-bit entry, or whose sizes point outside the file. */
int bzimage_parse(const uint8_t *buf, size_t len, struct bzimage *bz, struct err *e);

/* First byte above everything the kernel may use while it decompresses:
 * the loaded image, or its preferred address plus init_size. */
uint64_t bzimage_kernel_end(const struct bzimage *bz);

/* Choose the initrd's guest address: as high as possible below both the end
 * of low RAM and initrd_addr_max, 4 KiB aligned, above bzimage_kernel_end.
 * Fails with a message that says how much memory would do. */
int bzimage_place_initrd(const struct bzimage *bz, uint64_t low_ram_end, uint64_t initrd_size,
			 uint64_t *gpa, struct err *e);

/* Check the command line fits this kernel and berth's buffer. */
int bzimage_check_cmdline(const struct bzimage *bz, const char *cmdline, struct err *e);

/* Copy the kernel, the command line and the initrd (read from initrd_fd,
 * size bytes, -1 for none) into guest memory and write boot_params.
 * rsdp: guest address of the ACPI RSDP. */
int bzimage_load(struct vm *vm, const struct bzimage *bz, const char *cmdline, int initrd_fd,
		 uint64_t initrd_size, uint64_t rsdp, struct err *e);

#endif
