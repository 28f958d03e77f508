/* vcpu.h - virtual CPUs: one host thread each, running KVM_RUN. */
#ifndef BERTH_VM_VCPU_H
#define BERTH_VM_VCPU_H

#include <pthread.h>
#include <stdint.h>
#include "vm/vm.h"

struct kvm_run;

struct vcpu {
	struct vm *vm;
	unsigned id;                /* also its APIC ID */
	int fd;
	struct kvm_run *run;        /* shared page KVM fills on each exit */
	pthread_t thread;
	int started;
	uint64_t exits, exits_io, exits_mmio;   /* exits to user space */
};

/* KVM_CREATE_VCPU, map its kvm_run page, give it the supported CPUID with
 * its own APIC ID, wire LINT0/LINT1 as a BIOS would, reset the FPU. */
int vcpu_create(struct vm *vm, unsigned id, struct vcpu *v, struct err *e);

/* Start the vCPU's thread (its KVM_RUN loop). */
int vcpu_start(struct vcpu *v, struct err *e);

/* Make the vCPU leave KVM_RUN and its loop (after vm_request_stop). */
void vcpu_kick(struct vcpu *v);

/* Wait for the thread to end; then unmap and close. */
void vcpu_join(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);

/* Install the no-op handler of the kick signal (once per process). */
int vcpu_signal_init(struct err *e);

#endif
