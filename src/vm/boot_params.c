/* boot_params.c - the zero page and the e820 map.
 * Reference: Documentation/arch/x86/zero-page.rst and boot.rst ("Details of
 * Header Fields": the fields marked "write (obligatory)" for the loader). */
#include "vm/boot_params.h"

#include <string.h>
#include <unistd.h>

#include "vm/layout.h"
#include "vm/memory.h"

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

/* boot.rst "The Real-Mode Kernel Header": what a bzImage's header would
 * say, for a vmlinux loaded without one (as Firecracker does). The kernel
 * proper reads only version, root_flags, loadflags and the loader's
 * fields; root_flags 1 (read-only root unless "rw") matches the bzImage
 * defaults, so a kernel behaves the same whichever way it was loaded. */
static void boot_header_minimal(struct setup_header *h)
{
	h->boot_flag = 0xaa55;
	h->header = 0x53726448;                      /* "HdrS" */
	h->version = 0x020f;
	h->root_flags = 1;
	h->loadflags = LOADED_HIGH;
	h->kernel_alignment = 0x200000;
	h->xloadflags = XLF_KERNEL_64;
	h->cmdline_size = 2047;                      /* COMMAND_LINE_SIZE - 1 */
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
	if (image && hdr_end <= hdr_off)
		return err_set(e, EINVAL, "bad setup header length");
	if (initrd > UINT32_MAX || initrd_size > UINT32_MAX || cmdline > UINT32_MAX)
		return err_set(e, ERANGE, "initrd or command line above 4 GiB");
	memset(bp, 0, sizeof(*bp));
	if (image)
		memcpy(&bp->hdr, image + hdr_off, hdr_end - hdr_off);
	else
		boot_header_minimal(&bp->hdr);

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

/* boot.rst "Details of Header Fields: initrd_addr_max": the initrd as high
 * as the limit allows, so the kernel's early allocations below it stay free. */
int boot_initrd_place(uint64_t floor, uint64_t limit, uint64_t size, uint64_t *gpa,
		      struct err *e)
{
	floor = (floor + 0xfff) & ~0xfffull;
	if (size > limit || ((limit - size) & ~0xfffull) < floor) {
		uint64_t need = floor + ((size + 0xfff) & ~0xfffull);
		return err_exit(e, EXIT_USAGE,
				"initrd (%lluK) does not fit below 0x%llx with this kernel; it needs about %lluM of memory, give --memory %lluM or more",
				(unsigned long long)(size >> 10), (unsigned long long)limit,
				(unsigned long long)((need + (1 << 20) - 1) >> 20),
				(unsigned long long)(((need >> 20) + 2 + 1) & ~1ull));
	}
	*gpa = (limit - size) & ~0xfffull;
	return 0;
}

/* Read exactly n bytes at offset 0 of fd into dst. */
static int read_all(int fd, uint8_t *dst, uint64_t n, struct err *e)
{
	uint64_t done = 0;
	while (done < n) {
		size_t chunk = n - done > (1u << 30) ? (1u << 30) : (size_t)(n - done);
		ssize_t r = pread(fd, dst + done, chunk, (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_sys(e, errno, "read initrd");
		if (r == 0)
			return err_set(e, EIO, "read initrd: file shrank while loading");
		done += (uint64_t)r;
	}
	return 0;
}

/* boot.rst "Loading the Rest of the Kernel": command line, initrd, and the
 * zero page pointing at both. */
int boot_params_load(struct vm *vm, const uint8_t *image, size_t hdr_end, const char *cmdline,
		     int initrd_fd, uint64_t initrd_gpa, uint64_t initrd_size, uint64_t rsdp,
		     struct err *e)
{
	size_t clen = strlen(cmdline) + 1;
	char *c = clen <= CMDLINE_MAX ? guest_ptr(vm, GPA_CMDLINE, clen) : NULL;
	if (!c)
		return err_set(e, EFAULT, "command line does not fit in guest memory");
	memcpy(c, cmdline, clen);
	if (initrd_fd >= 0) {
		uint8_t *dst = guest_ptr(vm, initrd_gpa, initrd_size);
		if (!dst)
			return err_set(e, EFAULT, "initrd does not fit in guest memory");
		int r = read_all(initrd_fd, dst, initrd_size, e);
		if (r < 0)
			return r;
	}
	struct boot_params *bp = guest_ptr(vm, GPA_ZERO_PAGE, sizeof(*bp));
	if (!bp)
		return err_set(e, EFAULT, "zero page outside guest memory");
	return boot_params_fill(bp, image, hdr_end, &vm->mem, GPA_CMDLINE,
				initrd_fd >= 0 ? initrd_gpa : 0, initrd_fd >= 0 ? initrd_size : 0,
				rsdp, e);
}
