/* longmode.h - CPU state for entering a kernel in 64-bit mode. */
#ifndef BERTH_VM_LONGMODE_H
#define BERTH_VM_LONGMODE_H

#include <stdint.h>
#include "vm/vm.h"

struct vcpu;

/* Write a GDT and identity-mapping page tables (first 4 GiB, 2 MiB pages)
 * into guest memory and put the vCPU in long mode at `entry` with RSI =
 * `boot_params`, interrupts off: boot.rst "64-bit Boot Protocol". */
int longmode_enter(struct vm *vm, struct vcpu *v, uint64_t entry, uint64_t boot_params,
		   struct err *e);

#endif
