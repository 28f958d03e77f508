/* boot_params.h - the "zero page" a loader hands the kernel, and its e820
 * memory map. */
#ifndef BERTH_VM_BOOT_PARAMS_H
#define BERTH_VM_BOOT_PARAMS_H

#include <stddef.h>
#include <stdint.h>
#include <asm/bootparam.h>
#include "lib/err.h"
#include "vm/vm.h"

#define E820_RAM       1
#define E820_RESERVED  2

/* Describe guest memory as an e820 table: low RAM below the EBDA, RAM from
 * 1 MiB to the end of low memory, RAM above 4 GiB if any, and the BIOS area
 * holding the ACPI tables as reserved. Returns the number of entries. */
size_t e820_build(const struct guest_mem *m, struct boot_e820_entry *tab, size_t max);

/* Write boot_params: zero it, copy the image's setup header (bytes 0x1f1 up
 * to hdr_end) or, with image NULL (an ELF vmlinux, no bzImage), write a
 * minimal protocol 2.15 header, then set the loader's fields and the e820
 * map. */
int boot_params_fill(struct boot_params *bp, const uint8_t *image, size_t hdr_end,
		     const struct guest_mem *m, uint64_t cmdline, uint64_t initrd,
		     uint64_t initrd_size, uint64_t rsdp, struct err *e);

/* The initrd's address: the highest 4 KiB-aligned gpa with gpa + size <=
 * limit and gpa >= floor (the kernel's end). Fails with a message saying
 * how much --memory would do. */
int boot_initrd_place(uint64_t floor, uint64_t limit, uint64_t size, uint64_t *gpa,
		      struct err *e);

/* What every Linux loader does once the kernel is in place: copy the
 * command line to GPA_CMDLINE and the initrd (read from initrd_fd, size
 * bytes; -1 for none) to initrd_gpa, and write boot_params at
 * GPA_ZERO_PAGE (boot_params_fill; image and hdr_end as there). */
int boot_params_load(struct vm *vm, const uint8_t *image, size_t hdr_end, const char *cmdline,
		     int initrd_fd, uint64_t initrd_gpa, uint64_t initrd_size, uint64_t rsdp,
		     struct err *e);

#endif
