/* kvm.c - the KVM API surface: /dev/kvm, version and capability checks, VM
 * creation with the in-kernel interrupt controllers and PIT.
 * Reference: Documentation/virt/kvm/api.rst (sections 4.1 KVM_GET_API_VERSION,
 * 4.2 KVM_CREATE_VM, 4.24 KVM_CREATE_IRQCHIP, 4.25 KVM_IRQ_LINE,
 * 4.46 KVM_GET_SUPPORTED_CPUID, 4.48 KVM_SET_TSS_ADDR, 4.71 KVM_CREATE_PIT2). */
#include "vm/kvm.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vm/layout.h"

/* Capabilities the VMM cannot work without, with what each is for. */
static const struct { int cap; const char *name; } required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY (guest RAM)" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP (in-kernel PIC/IOAPIC/LAPIC)" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2 (in-kernel i8254)" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID (KVM_GET_SUPPORTED_CPUID)" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT (stopping vCPUs without races)" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE (INIT/SIPI for secondary vCPUs)" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD (virtio queue notifications)" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD (virtio interrupts)" },
};

/* The TSC-deadline timer is emulated by KVM but not in its supported
 * CPUID (api.rst, KVM_CAP_TSC_DEADLINE_TIMER: userspace sets leaf 1 ECX
 * bit 24). Without it Linux drives the LAPIC timer in one-shot mode and
 * calibrates it against the PIT at boot. */
static void kvm_cpuid_tsc_deadline(struct vm *vm, struct kvm_cpuid2 *c)
{
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) <= 0)
		return;
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1)
			c->entries[i].ecx |= 1u << 24;
}

/* api.rst 4.46: ask for the supported CPUID leaves, growing the buffer
 * while the kernel answers E2BIG. */
static int kvm_supported_cpuid(struct vm *vm, struct err *e)
{
	for (unsigned n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return err_sys(e, ENOMEM, "KVM_GET_SUPPORTED_CPUID");
		c->nent = n;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			kvm_cpuid_tsc_deadline(vm, c);
			vm->cpuid = c;
			return 0;
		}
		int saved = errno;
		free(c);
		if (saved != E2BIG)
			return err_sys(e, saved, "KVM_GET_SUPPORTED_CPUID");
	}
	return err_set(e, E2BIG, "KVM_GET_SUPPORTED_CPUID: too many leaves");
}

/* api.rst 4.1 and 4.4: open /dev/kvm, insist on API 12 and our capabilities. */
int kvm_open(struct vm *vm, struct err *e)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
			return err_exit(e, EXIT_HOST, KVM_MISSING_MSG);
		int r = err_sys(e, errno, "open /dev/kvm");
		e->exit_code = EXIT_HOST;
		return r;
	}
	/* kvm-pvm (a software KVM some cloud guests get) runs only guest kernels
	 * built for it; a stock kernel dies in its early boot */
	if (access("/sys/module/kvm_pvm", F_OK) == 0 && access("/sys/module/kvm_intel", F_OK) != 0 &&
	    access("/sys/module/kvm_amd", F_OK) != 0 && !getenv("BERTH_VMM_ALLOW_PVM"))
		return err_exit(e, EXIT_HOST, "/dev/kvm here is kvm-pvm, which runs only PVM-enabled "
				"guest kernels; run VM tests through tests/vm/rig with RIG_MODE=qemu "
				"(or set BERTH_VMM_ALLOW_PVM=1)");
	int v = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION)
		return err_exit(e, EXIT_HOST, "/dev/kvm speaks API version %d; berth needs %d", v,
				KVM_API_VERSION);
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0)
			return err_exit(e, EXIT_HOST, "this KVM lacks %s", required_caps[i].name);
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < (int)sizeof(struct kvm_run))
		return err_sys(e, errno ? errno : EINVAL, "KVM_GET_VCPU_MMAP_SIZE");
	int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	vm->max_vcpus = max > 0 ? (unsigned)max : 1;
	return kvm_supported_cpuid(vm, e);
}

/* api.rst 4.2, 4.48, 4.24, 4.71: the order matters: TSS and identity map
 * before any vCPU exists, the irqchip before the PIT. */
int kvm_create_vm(struct vm *vm, struct err *e)
{
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		int r = err_sys(e, errno, "KVM_CREATE_VM");
		e->exit_code = EXIT_HOST;
		return r;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)GPA_KVM_TSS) < 0)
		return err_sys(e, errno, "KVM_SET_TSS_ADDR");
	uint64_t idmap = GPA_KVM_IDMAP;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return err_sys(e, errno, "KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return err_sys(e, errno, "KVM_CREATE_IRQCHIP");
	/* The dummy speaker makes KVM answer port 0x61 (PIT channel 2 gate),
	 * which Linux reads while calibrating. */
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return err_sys(e, errno, "KVM_CREATE_PIT2");
	return 0;
}

/* api.rst 4.25: with the in-kernel irqchip, lines 0-15 reach the PIC and
 * the IOAPIC, 16-23 the IOAPIC only. */
int kvm_irq_line(struct vm *vm, unsigned irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level ? 1 : 0 };
	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

void kvm_destroy_vm(struct vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	vm->vm_fd = -1;
}

void kvm_close(struct vm *vm)
{
	kvm_destroy_vm(vm);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->kvm_fd = -1;
	free(vm->cpuid);
	vm->cpuid = NULL;
}
