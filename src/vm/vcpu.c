/* vcpu.c - virtual CPUs: creation (CPUID, LAPIC LINT wiring, FPU), one host
 * thread per vCPU running the KVM_RUN loop, dispatch of port-I/O and MMIO
 * exits to the VM's buses, and the terminal exits (shutdown, system events,
 * entry failures) that end a run.
 * Reference: Documentation/virt/kvm/api.rst 4.10 KVM_RUN and 5 "The kvm_run
 * structure"; Intel SDM vol. 3A 10.5.1 (LVT), 8.4 (MP initialization). */
#include "vm/vcpu.h"

#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vm/kvm.h"
#include "vm/sandbox.h"

/* The signal that knocks a vCPU thread out of KVM_RUN. */
#define VCPU_KICK_SIGNAL SIGUSR1

void vm_request_stop(struct vm *vm, int outcome, int arg, const char *fmt, ...)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->outcome == VM_RUNNING) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(vm->why, sizeof(vm->why), fmt, ap);
		va_end(ap);
		vm->outcome_arg = arg;
		__atomic_store_n(&vm->outcome, outcome, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
}

int vm_stopping(struct vm *vm)
{
	return __atomic_load_n(&vm->outcome, __ATOMIC_ACQUIRE) != VM_RUNNING;
}

static void kick_handler(int sig)
{
	(void)sig;
}

int vcpu_signal_init(struct err *e)
{
	struct sigaction sa = { .sa_handler = kick_handler };  /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return err_sys(e, errno, "sigaction");
	return 0;
}

/* Per-vCPU CPUID: the host's supported set, with this vCPU's APIC ID in
 * leaf 1 EBX[31:24] and the x2APIC ID of leaves 0xB/0x1F, the hypervisor
 * bit set, and energy-performance bias hidden (no MSR behind it). */
static int vcpu_set_cpuid(struct vcpu *v, struct err *e)
{
	const struct kvm_cpuid2 *src = v->vm->cpuid;
	size_t size = sizeof(*src) + src->nent * sizeof(src->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	if (!c)
		return err_sys(e, ENOMEM, "vCPU %u CPUID", v->id);
	memcpy(c, src, size);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *x = &c->entries[i];
		switch (x->function) {
		case 1:
			x->ebx = (x->ebx & 0x00ffffffu) | (v->id << 24);
			x->ecx |= 1u << 31;
			break;
		case 6:
			x->ecx &= ~(1u << 3);
			break;
		case 0xb:
		case 0x1f:
			x->edx = v->id;
			break;
		}
	}
	int r = ioctl(v->fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	if (r < 0)
		return err_sys(e, -r, "vCPU %u: KVM_SET_CPUID2", v->id);
	return 0;
}

/* SDM 10.5.1: as firmware leaves it, LINT0 delivers ExtINT (the 8259's
 * output, "virtual wire" mode) and LINT1 delivers NMI. */
static int vcpu_set_lint(struct vcpu *v, struct err *e)
{
	struct kvm_lapic_state l;
	if (ioctl(v->fd, KVM_GET_LAPIC, &l) < 0)
		return err_sys(e, errno, "vCPU %u: KVM_GET_LAPIC", v->id);
	uint32_t lvt0, lvt1;
	memcpy(&lvt0, l.regs + 0x350, 4);
	memcpy(&lvt1, l.regs + 0x360, 4);
	lvt0 = (lvt0 & ~0x700u) | (7u << 8);   /* ExtINT */
	lvt1 = (lvt1 & ~0x700u) | (4u << 8);   /* NMI */
	memcpy(l.regs + 0x350, &lvt0, 4);
	memcpy(l.regs + 0x360, &lvt1, 4);
	if (ioctl(v->fd, KVM_SET_LAPIC, &l) < 0)
		return err_sys(e, errno, "vCPU %u: KVM_SET_LAPIC", v->id);
	return 0;
}

int vcpu_create(struct vm *vm, unsigned id, struct vcpu *v, struct err *e)
{
	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		return err_sys(e, errno, "KVM_CREATE_VCPU %u", id);
	void *run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED) {
		v->run = NULL;
		return err_sys(e, errno, "vCPU %u: map kvm_run", id);
	}
	v->run = run;
	int r = vcpu_set_cpuid(v, e);
	if (r == 0)
		r = vcpu_set_lint(v, e);
	if (r < 0)
		return r;
	/* x87 control word and MXCSR at their power-on values (SDM 9.1.1). */
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return err_sys(e, errno, "vCPU %u: KVM_SET_FPU", id);
	return 0;
}

/* api.rst 5, KVM_EXIT_IO: `count` items of `size` bytes at data_offset in
 * the kvm_run page (more than one for rep ins/outs). */
static void vcpu_exit_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;
	if ((size != 1 && size != 2 && size != 4) ||
	    run->io.data_offset + (uint64_t)run->io.count * size > (uint64_t)v->vm->run_size)
		return;
	v->exits_io++;
	for (uint32_t i = 0; i < run->io.count; i++, data += size)
		if (bus_access(&v->vm->pio, run->io.port, data, size,
			       run->io.direction == KVM_EXIT_IO_OUT) < 0)
			__atomic_add_fetch(&v->vm->unhandled_pio, 1, __ATOMIC_RELAXED);
}

/* api.rst 5, KVM_EXIT_MMIO: one access of up to 8 bytes in run->mmio.data. */
static void vcpu_exit_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	unsigned len = run->mmio.len;
	v->exits_mmio++;
	if (len == 0 || len > sizeof(run->mmio.data))
		return;
	if (bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len,
		       run->mmio.is_write) < 0)
		__atomic_add_fetch(&v->vm->unhandled_mmio, 1, __ATOMIC_RELAXED);
}

static unsigned long long vcpu_rip(struct vcpu *v)
{
	struct kvm_regs regs;
	return ioctl(v->fd, KVM_GET_REGS, &regs) == 0 ? regs.rip : 0;
}

/* One exit to user space; anything that ends the run calls vm_request_stop. */
static void vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct vm *vm = v->vm;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_exit_io(v);
		break;
	case KVM_EXIT_MMIO:
		vcpu_exit_mmio(v);
		break;
	case KVM_EXIT_INTR:
		break;
	case KVM_EXIT_HLT:
		/* cannot happen with the in-kernel LAPIC, which parks halted vCPUs */
		vm_request_stop(vm, VM_CRASH, 0, "vCPU %u halted for good (rip 0x%llx)", v->id,
				vcpu_rip(v));
		break;
	case KVM_EXIT_SHUTDOWN:
		vm_request_stop(vm, VM_CRASH, 0, "vCPU %u: triple fault (rip 0x%llx)", v->id,
				vcpu_rip(v));
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_request_stop(vm, VM_POWEROFF, 0, "guest powered off (system event)");
			break;
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_stop(vm, VM_REBOOT, 0, "guest reset (system event)");
			break;
		default:
			vm_request_stop(vm, VM_CRASH, 0, "vCPU %u: system event %u", v->id,
					run->system_event.type);
		}
		break;
	case KVM_EXIT_FAIL_ENTRY:
		vm_request_stop(vm, VM_CRASH, 0, "vCPU %u: entry failed, hardware reason 0x%llx",
				v->id, (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vm_request_stop(vm, VM_CRASH, 0, "vCPU %u: KVM internal error %u (rip 0x%llx)",
				v->id, run->internal.suberror, vcpu_rip(v));
		break;
	default:
		vm_request_stop(vm, VM_CRASH, 0, "vCPU %u: unexpected exit reason %u", v->id,
				run->exit_reason);
	}
}

/* api.rst 4.10 KVM_RUN: loop until the VM is asked to stop. A kick sets
 * immediate_exit and signals the thread, so KVM_RUN returns EINTR whether
 * the signal lands inside the guest or just before KVM_RUN is entered. */
static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	char name[16];
	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);
	if (vmm_seccomp_thread(VMM_THREAD_VCPU) < 0)
		vm_request_stop(v->vm, VM_CRASH, 0, "vCPU %u: seccomp filter failed", v->id);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (!vm_stopping(v->vm)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vm_request_stop(v->vm, VM_CRASH, 0, "vCPU %u: KVM_RUN: %s", v->id,
					strerror(errno));
			break;
		}
		__atomic_add_fetch(&v->exits, 1, __ATOMIC_RELAXED);   /* read by stats */
		vcpu_handle_exit(v);
	}
	return NULL;
}

int vcpu_start(struct vcpu *v, struct err *e)
{
	int r = vm_thread_start(&v->thread, vcpu_thread, v);
	if (r)
		return err_sys(e, r, "start vCPU %u thread", v->id);
	v->started = 1;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->started)
		return;
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *v)
{
	if (v->started)
		pthread_join(v->thread, NULL);
	v->started = 0;
}

void vcpu_destroy(struct vcpu *v)
{
	vcpu_join(v);
	if (v->run)
		munmap(v->run, (size_t)v->vm->run_size);
	if (v->fd > 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

int vm_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	pthread_attr_t a;
	int r = pthread_attr_init(&a);
	if (r)
		return r;
	r = pthread_attr_setstacksize(&a, 1u << 20);
	if (r == 0)
		r = pthread_create(t, &a, fn, arg);
	pthread_attr_destroy(&a);
	return r;
}
