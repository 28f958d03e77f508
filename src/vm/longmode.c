/* longmode.c - 64-bit entry state for the boot vCPU.
 * Reference: Documentation/arch/x86/boot.rst, "64-bit Boot Protocol": paging
 * on, the kernel, zero page and command line identity-mapped, a GDT with
 * flat __BOOT_CS (0x10, execute/read) and __BOOT_DS (0x18, read/write),
 * CS = __BOOT_CS, DS/ES/SS = __BOOT_DS, interrupts off, RSI = boot_params.
 * Intel SDM vol. 3A 3.4.5 (segment descriptors), 4.5 (4-level paging). */
#include "vm/longmode.h"

#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vm/layout.h"
#include "vm/memory.h"
#include "vm/vcpu.h"

#define CR0_PE   (1ull << 0)
#define CR0_ET   (1ull << 4)
#define CR0_PG   (1ull << 31)
#define CR4_PAE  (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define SEL_CS   0x10
#define SEL_DS   0x18

/* Flat 64-bit code (L=1) and flat data descriptors, SDM 3.4.5. */
static const uint64_t gdt[4] = {
	0,
	0,
	0x00af9b000000ffffull,   /* 0x10: code, present, DPL0, exec/read, L, G */
	0x00cf93000000ffffull,   /* 0x18: data, present, DPL0, read/write, D/B, G */
};

/* KVM's view of a descriptor; must agree with the GDT entry above. */
static struct kvm_segment seg(uint16_t sel, uint8_t type, int code)
{
	struct kvm_segment s = {
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0, .g = 1,
	};
	return s;
}

/* PML4[0] -> PDPT, PDPT[0..3] -> four page directories of 2 MiB pages. */
static int page_tables(struct vm *vm, struct err *e)
{
	uint64_t *pml4 = guest_ptr(vm, GPA_PML4, 4096);
	uint64_t *pdpt = guest_ptr(vm, GPA_PDPT, 4096);
	uint64_t *pd = guest_ptr(vm, GPA_PD, 4 * 4096);
	if (!pml4 || !pdpt || !pd)
		return err_set(e, EFAULT, "page tables outside guest memory");
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = GPA_PDPT | 0x3;                                  /* present, writable */
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (GPA_PD + i * 4096) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83;                          /* present, writable, 2 MiB */
	return 0;
}

int longmode_enter(struct vm *vm, struct vcpu *v, uint64_t entry, uint64_t boot_params,
		   struct err *e)
{
	uint64_t *g = guest_ptr(vm, GPA_GDT, sizeof(gdt));
	uint64_t *idt = guest_ptr(vm, GPA_IDT, 8);
	if (!g || !idt)
		return err_set(e, EFAULT, "GDT outside guest memory");
	memcpy(g, gdt, sizeof(gdt));
	*idt = 0;
	int r = page_tables(vm, e);
	if (r < 0)
		return r;

	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return err_sys(e, errno, "KVM_GET_SREGS");
	s.cs = seg(SEL_CS, 0xb, 1);
	s.ds = s.es = s.fs = s.gs = s.ss = seg(SEL_DS, 0x3, 0);
	/* TR and LDTR are never used before the kernel loads its own, but VMX
	 * entry checks want a busy 64-bit TSS and a valid LDT descriptor. */
	s.tr = (struct kvm_segment){ .limit = 0xffff, .type = 0xb, .present = 1 };
	s.ldt = (struct kvm_segment){ .limit = 0xffff, .type = 0x2, .present = 1 };
	s.gdt.base = GPA_GDT;
	s.gdt.limit = sizeof(gdt) - 1;
	s.idt.base = GPA_IDT;
	s.idt.limit = 7;
	s.cr0 = CR0_PE | CR0_ET | CR0_PG;
	s.cr3 = GPA_PML4;
	s.cr4 = CR4_PAE;
	s.efer = EFER_LME | EFER_LMA;
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return err_sys(e, errno, "KVM_SET_SREGS");

	struct kvm_regs regs = {
		.rflags = 0x2,          /* bit 1 is always set; IF clear */
		.rip = entry,
		.rsi = boot_params,
		.rsp = GPA_BOOT_STACK,
		.rbp = GPA_BOOT_STACK,
	};
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return err_sys(e, errno, "KVM_SET_REGS");
	return 0;
}
