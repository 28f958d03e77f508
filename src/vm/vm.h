/* vm.h - one virtual machine: its KVM handles, guest memory, buses, vCPUs,
 * devices and run state. Built by vmm.c, torn down by vmm.c. */
#ifndef BERTH_VM_VM_H
#define BERTH_VM_VM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "vm/bus.h"

struct kvm_cpuid2;
struct vcpu;
struct serial8250;
struct i8042;
struct rtc;
struct acpi_pm;
struct virtio_dev;
struct virtio_console;
struct virtio_vsock;
struct virtio_net;
struct evloop;

/* How a run ended (vm.outcome); VM_RUNNING while it has not. */
enum vm_outcome {
	VM_RUNNING = 0,
	VM_POWEROFF,   /* ACPI S5 written by the guest */
	VM_REBOOT,     /* i8042 reset pulse, or KVM_SYSTEM_EVENT_RESET */
	VM_CRASH,      /* triple fault, failed entry, KVM internal error */
	VM_SIGNAL,     /* the VMM got SIGINT/SIGTERM/SIGHUP (outcome_arg: signo) */
	VM_QUIT,       /* the user typed the escape key on the console */
};

/* Guest RAM: [0, low_size) and, when memory exceeds the 32-bit hole,
 * [4 GiB, 4 GiB + high_size); both backed by one host mapping. */
struct guest_mem {
	uint8_t *host;
	uint64_t size;       /* low_size + high_size */
	uint64_t low_size;
	uint64_t high_size;
};

struct vm {
	int kvm_fd, vm_fd;
	int run_size;                 /* KVM_GET_VCPU_MMAP_SIZE */
	unsigned max_vcpus;           /* KVM_CAP_MAX_VCPUS */
	struct kvm_cpuid2 *cpuid;     /* KVM_GET_SUPPORTED_CPUID, patched per vCPU */

	struct guest_mem mem;
	struct bus pio, mmio;

	unsigned ncpus;
	struct vcpu *vcpus;

	struct serial8250 *com1;
	struct i8042 *i8042;
	struct rtc *rtc;
	struct acpi_pm *pm;
	struct evloop *loop;          /* the device loop thread */
	struct virtio_dev *virtio[16];  /* VIRTIO_MAX_DEVS, in window order */
	unsigned nvirtio;
	struct virtio_console *console;  /* with --console virtio */
	struct virtio_vsock *vsock;      /* with a vsock socket */
	struct virtio_net *net;          /* with --net */

	pthread_mutex_t lock;         /* guards the outcome fields */
	pthread_cond_t cond;          /* signalled when outcome is set */
	int outcome;                  /* enum vm_outcome; read unlocked by vCPUs */
	int outcome_arg;
	char why[256];                /* one line on how it ended */
	uint64_t unhandled_pio, unhandled_mmio;
};

/* Start a VMM thread with a 1 MiB stack instead of glibc's 8 MiB: a stack
 * that can hold an aligned 2 MiB range gets a transparent huge page on
 * first touch, which alone doubled the VMM's memory outside guest RAM. No
 * VMM thread recurses or keeps big buffers on its stack. (vcpu.c) */
int vm_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* Record how the run ends (the first request wins) and wake the VMM's main
 * thread, which then stops every vCPU. Safe from any thread. (vcpu.c) */
void vm_request_stop(struct vm *vm, int outcome, int arg, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* 1 once a stop was requested. */
int vm_stopping(struct vm *vm);

#endif
