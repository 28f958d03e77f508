/* boot_bzimage.c - the Linux x86 boot protocol, loader side, for a bzImage
 * entered through its 64-bit entry point.
 * Reference: Documentation/arch/x86/boot.rst: "The Real-Mode Kernel Header",
 * "Details of Header Fields", "Loading the Rest of the Kernel", "64-bit Boot
 * Protocol". Everything in the file is untrusted: every offset is checked
 * against the file's length before it is read.
 *
 * Why the bzImage's 64-bit entry and not PVH: Debian ships only the
 * compressed bzImage (/boot/vmlinuz-*); the PVH entry note (XEN_ELFNOTE_PHYS32_
 * ENTRY) lives in the ELF vmlinux inside it, which the VMM would have to
 * decompress itself (xz, zstd, gzip... depending on the kernel's config).
 * The 64-bit entry needs no decompressor in the VMM and works for every
 * x86-64 kernel since 3.8; the price is that the guest decompresses itself,
 * which costs seconds under nested emulation. kernel_payload.c and
 * boot_elf.c offer the other way: decompress on the host and enter the
 * vmlinux the way the kernel's decompressor would; measured in the nested
 * rig it is no faster (vmm.h, enum vmm_kernel_loader), so it is opt-in. */
#include "vm/boot_bzimage.h"

#include <string.h>

#include "vm/boot_params.h"
#include "vm/layout.h"
#include "vm/memory.h"

/* boot.rst "Details of Header Fields" */
#define HDR_SETUP_SECTS    0x1f1
#define HDR_SYSSIZE        0x1f4
#define HDR_BOOT_FLAG      0x1fe
#define HDR_JUMP           0x200
#define HDR_MAGIC          0x202
#define HDR_VERSION        0x206
#define HDR_LOADFLAGS      0x211
#define HDR_INITRD_MAX     0x22c
#define HDR_KERNEL_ALIGN   0x230
#define HDR_RELOCATABLE    0x234
#define HDR_XLOADFLAGS     0x236
#define HDR_CMDLINE_SIZE   0x238
#define HDR_PREF_ADDRESS   0x258
#define HDR_INIT_SIZE      0x260
#define HDR_MIN_END        0x264   /* protocol 2.12 fields end here */


static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* boot.rst "The Real-Mode Kernel Header": magic, version, sizes. */
int bzimage_parse(const uint8_t *buf, size_t len, struct bzimage *bz, struct err *e)
{
	memset(bz, 0, sizeof(*bz));
	if (len < HDR_MIN_END)
		return err_set(e, ENOEXEC, "not a Linux kernel: the file is only %zu bytes", len);
	if (rd16(buf + HDR_BOOT_FLAG) != 0xaa55 || memcmp(buf + HDR_MAGIC, "HdrS", 4) != 0)
		return err_set(e, ENOEXEC, "not a Linux bzImage: no boot header ('HdrS' at 0x202)");
	bz->buf = buf;
	bz->len = len;
	bz->version = rd16(buf + HDR_VERSION);
	if (bz->version < BZ_MIN_PROTOCOL)
		return err_set(e, ENOEXEC,
			       "kernel uses boot protocol %u.%02u; berth needs %u.%02u or newer (Linux 3.8+)",
			       bz->version >> 8, bz->version & 0xff, BZ_MIN_PROTOCOL >> 8,
			       BZ_MIN_PROTOCOL & 0xff);
	if (!(buf[HDR_LOADFLAGS] & LOADED_HIGH))
		return err_set(e, ENOEXEC, "not a bzImage: an old zImage that loads below 1 MiB");
	if (!(rd16(buf + HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return err_set(e, ENOEXEC, "kernel has no 64-bit entry point (a 32-bit kernel?)");
	bz->hdr_end = 0x202 + (size_t)buf[HDR_JUMP + 1];
	if (bz->hdr_end < HDR_MIN_END)
		return err_set(e, ENOEXEC, "bad bzImage: setup header ends at 0x%zx, before 0x%x",
			       bz->hdr_end, HDR_MIN_END);
	unsigned sects = buf[HDR_SETUP_SECTS] ? buf[HDR_SETUP_SECTS] : 4;
	bz->setup_size = (size_t)(sects + 1) * 512;
	if (bz->setup_size >= len || bz->hdr_end > bz->setup_size)
		return err_set(e, ENOEXEC,
			       "bad bzImage: %u setup sectors (%zu bytes) do not fit in the %zu-byte file",
			       sects, bz->setup_size, len);
	bz->kernel_off = bz->setup_size;
	bz->kernel_len = (size_t)rd32(buf + HDR_SYSSIZE) * 16;
	if (bz->kernel_len == 0 || bz->kernel_len > len - bz->setup_size)
		return err_set(e, ENOEXEC,
			       "bad bzImage: header says %zu bytes of kernel after the setup code, the file has %zu (truncated?)",
			       bz->kernel_len, len - bz->setup_size);
	bz->initrd_addr_max = rd32(buf + HDR_INITRD_MAX);
	bz->kernel_alignment = rd32(buf + HDR_KERNEL_ALIGN);
	bz->relocatable = buf[HDR_RELOCATABLE];
	bz->cmdline_size = rd32(buf + HDR_CMDLINE_SIZE);
	bz->pref_address = rd64(buf + HDR_PREF_ADDRESS);
	bz->init_size = rd32(buf + HDR_INIT_SIZE);
	if (bz->pref_address >= GPA_MMIO_HOLE || bz->init_size >= GPA_MMIO_HOLE)
		return err_set(e, ENOEXEC, "bad bzImage: preferred address 0x%llx + init size 0x%x is beyond 3 GiB",
			       (unsigned long long)bz->pref_address, bz->init_size);
	return 0;
}

/* "64-bit Boot Protocol" + head_64.S: a relocatable kernel decompresses at
 * max(load address aligned up, LOAD_PHYSICAL_ADDR = pref_address) and needs
 * init_size bytes from there; a fixed one at pref_address. */
uint64_t bzimage_kernel_end(const struct bzimage *bz)
{
	uint64_t start = bz->pref_address > GPA_KERNEL ? bz->pref_address : GPA_KERNEL;
	uint64_t end = start + bz->init_size;
	uint64_t image_end = GPA_KERNEL + bz->kernel_len;
	return end > image_end ? end : image_end;
}

/* "Details of Header Fields: initrd_addr_max": the initrd must end at or
 * below initrd_addr_max + 1; we also keep it inside low RAM. */
int bzimage_place_initrd(const struct bzimage *bz, uint64_t low_ram_end, uint64_t initrd_size,
			 uint64_t *gpa, struct err *e)
{
	uint64_t limit = (uint64_t)bz->initrd_addr_max + 1;
	if (limit > low_ram_end)
		limit = low_ram_end;
	return boot_initrd_place(bzimage_kernel_end(bz), limit, initrd_size, gpa, e);
}

/* "Details of Header Fields: cmdline_size" (protocol 2.06+). */
int bzimage_check_cmdline(const struct bzimage *bz, const char *cmdline, struct err *e)
{
	size_t n = strlen(cmdline);
	if (n > bz->cmdline_size || n >= CMDLINE_MAX)
		return err_exit(e, EXIT_USAGE, "command line is %zu bytes; this kernel takes at most %u",
				n, bz->cmdline_size);
	return 0;
}

/* "Loading the Rest of the Kernel" and "64-bit Boot Protocol": kernel at
 * 1 MiB, command line and initrd where the header allows, boot_params. */
int bzimage_load(struct vm *vm, const struct bzimage *bz, const char *cmdline, int initrd_fd,
		 uint64_t initrd_size, uint64_t rsdp, struct err *e)
{
	int r = bzimage_check_cmdline(bz, cmdline, e);
	if (r < 0)
		return r;
	uint8_t *k = guest_ptr(vm, GPA_KERNEL, bz->kernel_len);
	if (!k || bzimage_kernel_end(bz) > vm->mem.low_size)
		return err_exit(e, EXIT_USAGE, "kernel needs %lluM of memory to decompress; raise --memory",
				(unsigned long long)((bzimage_kernel_end(bz) >> 20) + 1));
	memcpy(k, bz->buf + bz->kernel_off, bz->kernel_len);

	uint64_t initrd_gpa = 0;
	if (initrd_fd >= 0) {
		r = bzimage_place_initrd(bz, vm->mem.low_size, initrd_size, &initrd_gpa, e);
		if (r < 0)
			return r;
	}
	return boot_params_load(vm, bz->buf, bz->hdr_end, cmdline, initrd_fd, initrd_gpa,
				initrd_size, rsdp, e);
}
