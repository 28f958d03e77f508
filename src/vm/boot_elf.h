/* boot_elf.h - load an ELF64 x86-64 vmlinux and enter it through Linux's
 * 64-bit boot protocol (the hand-over the kernel's own decompressor does):
 * one given directly as --kernel (Firecracker-style), or one decompressed
 * from a bzImage on the host (kernel_payload.h, --kernel-loader elf). */
#ifndef BERTH_VM_BOOT_ELF_H
#define BERTH_VM_BOOT_ELF_H

#include <stddef.h>
#include <stdint.h>
#include "lib/err.h"
#include "vm/vm.h"

struct bzimage;

#define ELF_MAX_LOAD 16          /* PT_LOAD segments we accept (vmlinux has 4) */
#define VMLINUX_CMDLINE_MAX 2047 /* x86 COMMAND_LINE_SIZE - 1, without a setup header */

struct elf_segment {
	uint64_t paddr;          /* guest-physical load address */
	uint64_t vaddr;          /* link-time virtual address */
	uint64_t offset;         /* in the file */
	uint64_t filesz, memsz;
};

/* What elf_parse found; every field checked against the buffer and RAM. */
struct elf_kernel {
	uint64_t entry;          /* guest-physical entry point */
	uint64_t start, end;     /* lowest p_paddr, highest p_paddr + p_memsz */
	unsigned nseg;
	struct elf_segment seg[ELF_MAX_LOAD];
};

/* Check that buf holds an ELF64 little-endian x86-64 executable whose
 * PT_LOAD segments lie in the file, do not overlap, and load between
 * 1 MiB and ram_end, and whose entry point (physical, or virtual and then
 * translated through its segment) lies in one of them. */
int elf_parse(const uint8_t *buf, size_t len, uint64_t ram_end, struct elf_kernel *k,
	      struct err *e);

/* Copy the segments elf_parse found into guest memory at their physical
 * addresses and zero each one's tail past p_filesz. */
int elf_load(const struct guest_mem *m, const uint8_t *buf, size_t len,
	     const struct elf_kernel *k, struct err *e);

/* Check the command line fits the kernel: the bzImage's cmdline_size when
 * there is a setup header (bz), else VMLINUX_CMDLINE_MAX. */
int vmlinux_check_cmdline(const struct bzimage *bz, const char *cmdline, struct err *e);

/* Choose the initrd's address: as high as possible below low_ram_end (and
 * the bzImage's initrd_addr_max when bz is given), above the kernel's end. */
int vmlinux_place_initrd(const struct elf_kernel *k, const struct bzimage *bz,
			 uint64_t low_ram_end, uint64_t initrd_size, uint64_t *gpa, struct err *e);

/* Load the vmlinux, the command line and the initrd (initrd_fd, size
 * bytes; -1 for none) and write boot_params: from the setup header of bz
 * when the vmlinux came out of a bzImage, built from scratch when bz is
 * NULL. rsdp: guest address of the ACPI RSDP. The vCPU then enters at
 * k->entry with RSI = GPA_ZERO_PAGE (longmode_enter). */
int vmlinux_load(struct vm *vm, const uint8_t *buf, size_t len, const struct elf_kernel *k,
		 const struct bzimage *bz, const char *cmdline, int initrd_fd,
		 uint64_t initrd_size, uint64_t rsdp, struct err *e);

#endif
