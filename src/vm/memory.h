/* memory.h - guest RAM and the only sanctioned way to reach it. */
#ifndef BERTH_VM_MEMORY_H
#define BERTH_VM_MEMORY_H

#include <stddef.h>
#include <stdint.h>
#include "vm/vm.h"

/* Smallest and largest RAM sizes berth accepts. */
#define MEM_MIN (32ull << 20)
#define MEM_MAX (1ull << 40)

/* Reserve `size` bytes of guest RAM (rounded up to 2 MiB), split around the
 * 32-bit MMIO hole. Needs no KVM: unit tests use it. */
int mem_alloc(struct guest_mem *m, uint64_t size, struct err *e);

/* Tell KVM about the RAM (KVM_SET_USER_MEMORY_REGION, slots 0 and 1). */
int mem_register(struct vm *vm, struct err *e);

/* Host pointer for the guest-physical range [gpa, gpa+len), or NULL unless
 * the whole range lies in one RAM region (no overflow, no wrap, no hole).
 * len 0 is treated as 1. Every device and loader goes through this. */
void *guest_ptr(struct vm *vm, uint64_t gpa, size_t len);
void *mem_ptr(const struct guest_mem *m, uint64_t gpa, size_t len);

void mem_free(struct guest_mem *m);

#endif
