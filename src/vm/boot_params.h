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
 * to hdr_end), then set the loader's fields and the e820 map. */
int boot_params_fill(struct boot_params *bp, const uint8_t *image, size_t hdr_end,
		     const struct guest_mem *m, uint64_t cmdline, uint64_t initrd,
		     uint64_t initrd_size, uint64_t rsdp, struct err *e);

#endif
