/* boot_params.c - the zero page and the e820 map.
 * Reference: Documentation/arch/x86/zero-page.rst and boot.rst ("Details of
 * Header Fields": the fields marked "write (obligatory)" for the loader). */
#include "vm/boot_params.h"

#include <string.h>

#include "vm/layout.h"

/* zero-page.rst: e820_table at 0x2d0, e820_entries at 0x1e8. */
size_t e820_build(const struct guest_mem *m, struct boot_e820_entry *tab, size_t max)
{
	struct boot_e820_entry all[4] = {
		{ 0, GPA_EBDA, E820_RAM },
		{ GPA_ACPI, ACPI_MAX, E820_RESERVED },
		{ GPA_KERNEL, m->low_size - GPA_KERNEL, E820_RAM },
		{ GPA_4G, m->high_size, E820_RAM },
	};
	size_t n = m->high_size ? 4 : 3;
	if (n > max)
		n = max;
	memcpy(tab, all, n * sizeof(*tab));
	return n;
}

/* boot.rst: type_of_loader 0xff ("undefined"), no video mode change, the
 * heap hint, command line and ramdisk pointers; zero-page.rst for the rest. */
int boot_params_fill(struct boot_params *bp, const uint8_t *image, size_t hdr_end,
		     const struct guest_mem *m, uint64_t cmdline, uint64_t initrd,
		     uint64_t initrd_size, uint64_t rsdp, struct err *e)
{
	const size_t hdr_off = offsetof(struct boot_params, hdr);
	if (hdr_end > hdr_off + sizeof(bp->hdr))
		hdr_end = hdr_off + sizeof(bp->hdr);
	if (hdr_end <= hdr_off)
		return err_set(e, EINVAL, "bad setup header length");
	if (initrd > UINT32_MAX || initrd_size > UINT32_MAX || cmdline > UINT32_MAX)
		return err_set(e, ERANGE, "initrd or command line above 4 GiB");
	memset(bp, 0, sizeof(*bp));
	memcpy(&bp->hdr, image + hdr_off, hdr_end - hdr_off);

	bp->hdr.type_of_loader = 0xff;
	bp->hdr.vid_mode = 0xffff;                   /* "normal" */
	bp->hdr.loadflags |= CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.cmd_line_ptr = (uint32_t)cmdline;
	bp->hdr.ramdisk_image = (uint32_t)initrd;
	bp->hdr.ramdisk_size = (uint32_t)initrd_size;
	bp->acpi_rsdp_addr = rsdp;                   /* protocol 2.14+; older scan 0xe0000 */
	bp->e820_entries = (uint8_t)e820_build(m, bp->e820_table,
					       sizeof(bp->e820_table) / sizeof(bp->e820_table[0]));
	return 0;
}
