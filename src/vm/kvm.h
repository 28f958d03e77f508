/* kvm.h - the /dev/kvm system and VM ioctls berth needs. */
#ifndef BERTH_VM_KVM_H
#define BERTH_VM_KVM_H

#include "vm/vm.h"

/* Message for a host without /dev/kvm (also used by the CLI's checks). */
#define KVM_MISSING_MSG "no /dev/kvm: this host has no hardware virtualization " \
	"(or kvm modules are not loaded); run VM tests through tests/vm/rig"

/* Open /dev/kvm, check API version 12 and the extensions berth relies on,
 * read the vCPU mmap size, the vCPU limit and the supported CPUID. A host
 * without /dev/kvm gets KVM_MISSING_MSG and exit code EXIT_HOST. */
int kvm_open(struct vm *vm, struct err *e);

/* Create the VM and its in-kernel chips: TSS and identity-map pages, the
 * irqchip (PIC + IOAPIC + per-vCPU LAPIC) and the PIT (i8254). */
int kvm_create_vm(struct vm *vm, struct err *e);

/* Set the level of an interrupt line (a GSI on the IOAPIC and, below 16,
 * on the PIC). Returns 0 or -errno. */
int kvm_irq_line(struct vm *vm, unsigned irq, int level);

/* Close the VM (not /dev/kvm) and free the CPUID copy with kvm_close. */
void kvm_destroy_vm(struct vm *vm);
void kvm_close(struct vm *vm);

#endif
