/* boot_elf.c - load an ELF64 vmlinux and hand it over the way the kernel's
 * decompressor would.
 * References: System V gABI, "ELF Header" and "Program Header" (PT_LOAD:
 * p_filesz bytes from p_offset, zero-filled to p_memsz); Documentation/
 * arch/x86/boot.rst, "64-bit Boot Protocol" (the entry state longmode.c
 * sets up) and "Details of Header Fields"; arch/x86/kernel/head_64.S,
 * startup_64: "We come here either directly from a 64bit bootloader, or
 * from arch/x86/boot/compressed/head_64.S", with RSI = boot_params.
 *
 * vmlinux is linked with ENTRY(phys_startup_64), so e_entry is physical;
 * an entry given as a virtual address (0xffffffff81000000 ...) is
 * translated through the segment holding it. The kernel is loaded at its
 * link-time physical address, so no relocation is needed (and there is no
 * KASLR: that is the decompressor's job).
 *
 * Everything in the file is untrusted: every header and segment is checked
 * against the file's length and guest RAM before anything is copied. */
#include "vm/boot_elf.h"

#include <elf.h>
#include <string.h>

#include "vm/boot_bzimage.h"
#include "vm/boot_params.h"
#include "vm/layout.h"
#include "vm/memory.h"

#define ELF_MAX_PHNUM 64

/* gABI "ELF Header": a 64-bit little-endian x86-64 executable. The host
 * is x86-64 too, so the headers are read with memcpy as they are. */
static int elf_check_header(const uint8_t *buf, size_t len, Elf64_Ehdr *h, struct err *e)
{
	if (len < sizeof(*h))
		return err_set(e, ENOEXEC, "not an ELF file: only %zu bytes", len);
	memcpy(h, buf, sizeof(*h));
	if (memcmp(h->e_ident, ELFMAG, SELFMAG) != 0)
		return err_set(e, ENOEXEC, "not an ELF file (no \\177ELF magic)");
	if (h->e_ident[EI_CLASS] != ELFCLASS64 || h->e_ident[EI_DATA] != ELFDATA2LSB ||
	    h->e_ident[EI_VERSION] != EV_CURRENT)
		return err_set(e, ENOEXEC, "ELF file is not 64-bit little-endian (a 32-bit kernel?)");
	if (h->e_type != ET_EXEC || h->e_machine != EM_X86_64)
		return err_set(e, ENOEXEC, "ELF file is not an x86-64 executable (type %u, machine %u)",
			       h->e_type, h->e_machine);
	if (h->e_phentsize != sizeof(Elf64_Phdr) || h->e_phnum == 0 || h->e_phnum > ELF_MAX_PHNUM)
		return err_set(e, ENOEXEC, "bad ELF file: %u program headers of %u bytes",
			       h->e_phnum, h->e_phentsize);
	if (h->e_phoff > len || (size_t)h->e_phnum * sizeof(Elf64_Phdr) > len - h->e_phoff)
		return err_set(e, ENOEXEC, "bad ELF file: program headers at %llu lie past its end (%zu bytes)",
			       (unsigned long long)h->e_phoff, len);
	return 0;
}

/* gABI "Program Header", PT_LOAD: in the file, in RAM above 1 MiB. */
static int elf_check_load(const Elf64_Phdr *p, unsigned i, size_t len, uint64_t ram_end,
			  struct err *e)
{
	if (p->p_offset > len || p->p_filesz > len - p->p_offset)
		return err_set(e, ENOEXEC, "bad ELF file: segment %u (%llu bytes at %llu) runs past its end (%zu bytes)",
			       i, (unsigned long long)p->p_filesz, (unsigned long long)p->p_offset, len);
	if (p->p_filesz > p->p_memsz)
		return err_set(e, ENOEXEC, "bad ELF file: segment %u has more file bytes than memory bytes", i);
	if (p->p_paddr < GPA_KERNEL || p->p_memsz > ram_end || p->p_paddr > ram_end - p->p_memsz)
		return err_set(e, ENOEXEC,
			       "ELF segment %u loads at 0x%llx-0x%llx: outside guest RAM from 1 MiB to 0x%llx",
			       i, (unsigned long long)p->p_paddr,
			       (unsigned long long)(p->p_paddr + p->p_memsz),
			       (unsigned long long)ram_end);
	return 0;
}

/* The entry's physical address: in one segment's physical range, or in
 * one's virtual range and translated (paddr = e_entry - p_vaddr + p_paddr).
 * It must point at bytes from the file, not at zero fill. */
static int elf_entry(uint64_t entry, struct elf_kernel *k, struct err *e)
{
	for (unsigned i = 0; i < k->nseg; i++) {
		const struct elf_segment *s = &k->seg[i];
		if (entry >= s->paddr && entry - s->paddr < s->filesz) {
			k->entry = entry;
			return 0;
		}
	}
	for (unsigned i = 0; i < k->nseg; i++) {
		const struct elf_segment *s = &k->seg[i];
		if (entry >= s->vaddr && entry - s->vaddr < s->filesz) {
			k->entry = s->paddr + (entry - s->vaddr);
			return 0;
		}
	}
	return err_set(e, ENOEXEC, "bad ELF file: entry point 0x%llx lies in no loaded segment",
		       (unsigned long long)entry);
}

int elf_parse(const uint8_t *buf, size_t len, uint64_t ram_end, struct elf_kernel *k,
	      struct err *e)
{
	memset(k, 0, sizeof(*k));
	Elf64_Ehdr h;
	int r = elf_check_header(buf, len, &h, e);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < h.e_phnum; i++) {
		Elf64_Phdr p;
		memcpy(&p, buf + h.e_phoff + (size_t)i * sizeof(p), sizeof(p));
		if (p.p_type != PT_LOAD || p.p_memsz == 0)
			continue;
		r = elf_check_load(&p, i, len, ram_end, e);
		if (r < 0)
			return r;
		if (k->nseg == ELF_MAX_LOAD)
			return err_set(e, ENOEXEC, "ELF file has more than %d loadable segments", ELF_MAX_LOAD);
		for (unsigned j = 0; j < k->nseg; j++) {
			const struct elf_segment *s = &k->seg[j];
			if (p.p_paddr < s->paddr + s->memsz && s->paddr < p.p_paddr + p.p_memsz)
				return err_set(e, ENOEXEC, "bad ELF file: segment %u overlaps another at 0x%llx",
					       i, (unsigned long long)s->paddr);
		}
		k->seg[k->nseg++] = (struct elf_segment){ p.p_paddr, p.p_vaddr, p.p_offset,
							  p.p_filesz, p.p_memsz };
		if (k->nseg == 1 || p.p_paddr < k->start)
			k->start = p.p_paddr;
		if (p.p_paddr + p.p_memsz > k->end)
			k->end = p.p_paddr + p.p_memsz;
	}
	if (k->nseg == 0)
		return err_set(e, ENOEXEC, "ELF file has nothing to load (no PT_LOAD segment)");
	return elf_entry(h.e_entry, k, e);
}

/* gABI "Program Loading": file bytes, then zeros up to p_memsz. */
int elf_load(const struct guest_mem *m, const uint8_t *buf, size_t len,
	     const struct elf_kernel *k, struct err *e)
{
	for (unsigned i = 0; i < k->nseg; i++) {
		const struct elf_segment *s = &k->seg[i];
		if (s->offset > len || s->filesz > len - s->offset || s->filesz > s->memsz)
			return err_set(e, EINVAL, "ELF segment %u does not match the file", i);
		uint8_t *dst = mem_ptr(m, s->paddr, (size_t)s->memsz);
		if (!dst)
			return err_exit(e, EXIT_USAGE,
					"kernel segment at 0x%llx-0x%llx is outside guest memory; raise --memory",
					(unsigned long long)s->paddr,
					(unsigned long long)(s->paddr + s->memsz));
		memcpy(dst, buf + s->offset, (size_t)s->filesz);
		memset(dst + s->filesz, 0, (size_t)(s->memsz - s->filesz));
	}
	return 0;
}

/* boot.rst "Details of Header Fields: cmdline_size"; without a header,
 * the kernel copies at most COMMAND_LINE_SIZE (2048) bytes. */
int vmlinux_check_cmdline(const struct bzimage *bz, const char *cmdline, struct err *e)
{
	if (bz)
		return bzimage_check_cmdline(bz, cmdline, e);
	size_t n = strlen(cmdline);
	if (n > VMLINUX_CMDLINE_MAX || n >= CMDLINE_MAX)
		return err_exit(e, EXIT_USAGE, "command line is %zu bytes; this kernel takes at most %d",
				n, VMLINUX_CMDLINE_MAX);
	return 0;
}

/* boot.rst "initrd_addr_max" when the header exists; always below the
 * 32-bit hole (ramdisk_image is 32 bits) and above the kernel's end. */
int vmlinux_place_initrd(const struct elf_kernel *k, const struct bzimage *bz,
			 uint64_t low_ram_end, uint64_t initrd_size, uint64_t *gpa, struct err *e)
{
	uint64_t limit = low_ram_end < GPA_MMIO_HOLE ? low_ram_end : GPA_MMIO_HOLE;
	if (bz && (uint64_t)bz->initrd_addr_max + 1 < limit)
		limit = (uint64_t)bz->initrd_addr_max + 1;
	return boot_initrd_place(k->end, limit, initrd_size, gpa, e);
}

/* boot.rst "64-bit Boot Protocol": what the decompressor leaves behind. */
int vmlinux_load(struct vm *vm, const uint8_t *buf, size_t len, const struct elf_kernel *k,
		 const struct bzimage *bz, const char *cmdline, int initrd_fd,
		 uint64_t initrd_size, uint64_t rsdp, struct err *e)
{
	int r = vmlinux_check_cmdline(bz, cmdline, e);
	if (r < 0)
		return r;
	if (k->end > vm->mem.low_size)
		return err_exit(e, EXIT_USAGE, "kernel needs %lluM of memory; raise --memory",
				(unsigned long long)((k->end >> 20) + 1));
	r = elf_load(&vm->mem, buf, len, k, e);
	if (r < 0)
		return r;
	uint64_t initrd_gpa = 0;
	if (initrd_fd >= 0) {
		r = vmlinux_place_initrd(k, bz, vm->mem.low_size, initrd_size, &initrd_gpa, e);
		if (r < 0)
			return r;
	}
	return boot_params_load(vm, bz ? bz->buf : NULL, bz ? bz->hdr_end : 0, cmdline, initrd_fd,
				initrd_gpa, initrd_size, rsdp, e);
}
