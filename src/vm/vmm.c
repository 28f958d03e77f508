/* vmm.c - the VMM's builder and run loop.
 *
 * vmm_build lists, in one place, everything a berth VM consists of (the
 * Firecracker habit: an explicit builder, no constructor-ordered device
 * registration). vmm_run boots it, waits for the first vCPU or device to
 * say the run is over, stops the rest, and reboots in place or returns. */
#include "vm/vmm.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "net/tap.h"
#include "vm/acpi.h"
#include "vm/console_relay.h"
#include "vm/dev/acpi_pm.h"
#include "vm/dev/i8042.h"
#include "vm/dev/rtc.h"
#include "vm/dev/serial_8250.h"
#include "vm/evloop.h"
#include "vm/kernel_payload.h"
#include "vm/kvm.h"
#include "vm/layout.h"
#include "vm/longmode.h"
#include "vm/memory.h"
#include "vm/sandbox.h"
#include "vm/vcpu.h"
#include "vm/vmm_control.h"
#include "vm/virtio/blk.h"
#include "vm/virtio/console.h"
#include "vm/virtio/mmio.h"
#include "vm/virtio/net.h"
#include "vm/virtio/rng.h"
#include "vm/virtio/vsock.h"

/* Map a whole (kernel) file read-only, at most 256 MiB. A mapping rather
 * than a copy: once a boot has loaded the kernel into guest RAM, its pages
 * are dropped (kernel_release) and come back from the page cache only when
 * the guest reboots, so they do not count against the VMM's own memory.
 * (A kernel file truncated in place during a run would fault on reboot;
 * package upgrades replace files by renaming, which is safe.) */
static int read_file(const char *path, uint8_t **buf, size_t *len, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "kernel %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, EINVAL, "kernel %s: not a regular file", path);
	}
	if (st.st_size > (256 << 20) || st.st_size == 0) {
		close(fd);
		return err_set(e, EINVAL, "kernel %s: %lld bytes is not the size of a kernel", path,
			       (long long)st.st_size);
	}
	*len = (size_t)st.st_size;
	void *p = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
	int saved = errno;
	close(fd);
	if (p == MAP_FAILED)
		return err_sys(e, saved, "map kernel %s", path);
	*buf = p;
	return 0;
}

/* The kernel is in guest RAM now: let its file pages go (see read_file). */
static void kernel_release(const struct vmm_image *img)
{
	if (img->kernel)
		madvise(img->kernel, img->kernel_len, MADV_DONTNEED);
}

/* The host's limits: online CPUs and physical memory. */
static int vmm_check_host(const struct vmm_config *c, struct err *e)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (c->cpus == 0 || c->cpus > VMM_MAX_CPUS)
		return err_exit(e, EXIT_USAGE, "--cpus %u: give 1 to %d", c->cpus, VMM_MAX_CPUS);
	if (ncpu > 0 && c->cpus > (unsigned long)ncpu)
		return err_exit(e, EXIT_HOST, "--cpus %u exceeds the host's %ld CPUs; lower --cpus",
				c->cpus, ncpu);
	struct sysinfo si;
	if (sysinfo(&si) == 0) {
		uint64_t total = (uint64_t)si.totalram * si.mem_unit;
		if (c->memory > total)
			return err_exit(e, EXIT_HOST,
					"--memory %lluM exceeds the host's %lluM of RAM; lower --memory",
					(unsigned long long)(c->memory >> 20),
					(unsigned long long)(total >> 20));
	}
	if (c->memory < MEM_MIN || c->memory > MEM_MAX)
		return err_exit(e, EXIT_USAGE, "--memory must be between %lluM and %lluG",
				MEM_MIN >> 20, MEM_MAX >> 30);
	return 0;
}

/* The bzImage's setup header, NULL when --kernel is an ELF vmlinux. */
static const struct bzimage *vmm_bz(const struct vmm_image *img)
{
	return img->bz.buf ? &img->bz : NULL;
}

/* The kernel file: an ELF vmlinux as it is, or a bzImage, which boots
 * decompressing itself unless --kernel-loader elf asks for its payload to
 * be decompressed here (enum vmm_kernel_loader says why not by default). */
static int vmm_prepare_kernel(const struct vmm_config *c, struct vmm_image *img, struct err *e)
{
	int r = read_file(c->kernel, &img->kernel, &img->kernel_len, e);
	if (r < 0)
		return r;
	if (img->kernel_len >= 4 && memcmp(img->kernel, "\177ELF", 4) == 0) {
		if (c->kernel_loader == VMM_LOADER_BZIMAGE)
			return err_exit(e, EXIT_USAGE,
					"kernel %s is an ELF vmlinux, not a bzImage; drop --kernel-loader bzimage",
					c->kernel);
		img->vmlinux = img->kernel;
		img->vmlinux_len = img->kernel_len;
	} else {
		r = bzimage_parse(img->kernel, img->kernel_len, &img->bz, e);
		if (r < 0)
			return err_wrap(e, "kernel %s", c->kernel);
		if (c->kernel_loader != VMM_LOADER_ELF)
			return 0;
		r = kernel_payload_decompress(&img->bz, KERNEL_PAYLOAD_MAX, &img->vmlinux,
					      &img->vmlinux_len, e);
	}
	if (r == 0)
		r = elf_parse(img->vmlinux, img->vmlinux_len, GPA_MMIO_HOLE, &img->elf, e);
	if (r < 0 && vmm_bz(img)) {
		char why[sizeof(e->msg)];
		snprintf(why, sizeof(why), "%s", e->msg);
		return err_set(e, -r, "kernel %s: %s; without --kernel-loader elf the kernel decompresses itself",
			       c->kernel, why);
	}
	if (r < 0)
		return err_wrap(e, "kernel %s", c->kernel);
	return 0;
}

/* The --disk images, opened and locked once for every boot. */
static int vmm_open_disks(const struct vmm_config *c, struct vmm_image *img, struct err *e)
{
	if (c->ndisks > VMM_MAX_DISKS)
		return err_exit(e, EXIT_USAGE, "%u disks: a VM takes at most %d", c->ndisks,
				VMM_MAX_DISKS);
	if (c->ndisks == 0)
		return 0;
	img->disks = calloc(c->ndisks, sizeof(*img->disks));
	if (!img->disks)
		return err_sys(e, ENOMEM, "disks");
	for (unsigned i = 0; i < c->ndisks; i++) {
		int r = blk_disk_open(&img->disks[i], c->disks[i], e);
		if (r < 0)
			return r;
		img->ndisks++;
	}
	return 0;
}

int vmm_prepare(const struct vmm_config *c, struct vmm_image *img, struct err *e)
{
	memset(img, 0, sizeof(*img));
	img->initrd_fd = -1;
	int r = vmm_prepare_kernel(c, img, e);
	if (r < 0)
		return r;
	r = vmlinux_check_cmdline(vmm_bz(img), c->cmdline, e);
	if (r < 0)
		return r;
	r = vmm_check_host(c, e);
	if (r < 0)
		return r;
	uint64_t low = c->memory < GPA_MMIO_HOLE ? c->memory : GPA_MMIO_HOLE;
	uint64_t end = img->vmlinux ? img->elf.end : bzimage_kernel_end(&img->bz);
	if (end > low)
		return err_exit(e, EXIT_USAGE, "kernel %s needs %lluM of memory to boot; raise --memory",
				c->kernel, (unsigned long long)((end >> 20) + 1));
	if (c->initrd) {
		img->initrd_fd = open(c->initrd, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (img->initrd_fd < 0 || fstat(img->initrd_fd, &st) < 0)
			return err_sys(e, errno, "initrd %s", c->initrd);
		if (!S_ISREG(st.st_mode))
			return err_set(e, EINVAL, "initrd %s: not a regular file", c->initrd);
		img->initrd_size = (uint64_t)st.st_size;
		uint64_t gpa;
		if (img->vmlinux)
			r = vmlinux_place_initrd(&img->elf, vmm_bz(img), low, img->initrd_size, &gpa, e);
		else
			r = bzimage_place_initrd(&img->bz, low, img->initrd_size, &gpa, e);
		if (r < 0)
			return err_wrap(e, "initrd %s", c->initrd);
	}
	r = vmm_open_disks(c, img, e);
	if (r == 0 && c->net)
		r = tap_open_spec(c->net, &img->net, e);
	return r;
}

void vmm_image_free(struct vmm_image *img)
{
	for (unsigned i = 0; i < img->ndisks; i++)
		blk_disk_close(&img->disks[i]);
	free(img->disks);
	img->disks = NULL;
	img->ndisks = 0;
	tap_free(img->net);
	img->net = NULL;
	if (img->vmlinux != img->kernel)
		free(img->vmlinux);
	img->vmlinux = NULL;
	if (img->kernel)
		munmap(img->kernel, img->kernel_len);
	img->kernel = NULL;
	if (img->initrd_fd >= 0)
		close(img->initrd_fd);
	img->initrd_fd = -1;
}

/* ACPI tables (with a DSDT node per virtio window) into guest memory. */
static int vmm_acpi(struct vm *vm, const struct vmm_config *c, struct err *e)
{
	struct acpi_mmio_dev virtio[VIRTIO_MAX_DEVS];
	for (unsigned i = 0; i < vm->nvirtio; i++)
		virtio[i] = (struct acpi_mmio_dev){ vm->virtio[i]->base, VIRTIO_MMIO_SIZE,
						    vm->virtio[i]->gsi };
	size_t used;
	uint8_t *acpi = guest_ptr(vm, GPA_ACPI, ACPI_MAX);
	if (!acpi)
		return err_set(e, EFAULT, "ACPI area outside guest memory");
	return acpi_build(acpi, ACPI_MAX, GPA_ACPI, c->cpus, virtio, vm->nvirtio, &used, e);
}

/* Everything the VM gets, in order. KVM itself provides the PIC, IOAPIC,
 * one LAPIC per vCPU (KVM_CREATE_IRQCHIP) and the PIT with its port 0x61
 * (KVM_CREATE_PIT2); the rest is ours. */
static int vmm_build(struct vm *vm, const struct vmm_config *c, const struct vmm_image *img,
		     struct err *e)
{
	int virtio_console = c->console == VMM_CONSOLE_VIRTIO;
	int r = mem_alloc(&vm->mem, c->memory, e);
	if (r == 0) r = kvm_create_vm(vm, e);
	if (r == 0) r = mem_register(vm, e);

	/* devices: legacy PC pieces the stock kernel expects (the UART stays
	 * when the console is on virtio, so early printk to ttyS0 is harmless,
	 * but its output is dropped) */
	if (r == 0) r = serial_attach(vm, PORT_COM1, IRQ_COM1, virtio_console ? -1 : STDOUT_FILENO,
				      &vm->com1, e);
	if (r == 0) r = i8042_attach(vm, &vm->i8042, e);
	if (r == 0) r = rtc_attach(vm, &vm->rtc, e);
	if (r == 0) r = acpi_pm_attach(vm, &vm->pm, e);

	/* the device loop and the virtio devices, one window each, in order */
	if (r == 0) r = evloop_new(&vm->loop, e);
	if (r == 0) r = virtio_rng_attach(vm, vm->loop, e);
	if (r == 0 && virtio_console)
		r = virtio_console_attach(vm, vm->loop, STDOUT_FILENO, &vm->console, e);
	for (unsigned i = 0; i < img->ndisks && r == 0; i++) {
		struct virtio_dev *d;
		r = virtio_mmio_attach(vm, vm->loop, &blk_dev_ops, &img->disks[i], &d, e);
	}
	if (r == 0 && img->net)
		r = virtio_net_attach(vm, vm->loop, img->net->fd, img->net->guest_mac, &vm->net, e);
	if (r == 0 && c->vsock_uds) {
		struct vsock_cfg vc = { .guest_cid = c->vsock_cid, .uds_path = c->vsock_uds };
		r = virtio_vsock_attach(vm, vm->loop, &vc, &vm->vsock, e);
	}
	if (r < 0)
		return r;

	/* firmware tables, then the kernel that reads them */
	r = vmm_acpi(vm, c, e);
	if (r == 0 && img->vmlinux)      /* an ELF vmlinux: see vmm.h */
		r = vmlinux_load(vm, img->vmlinux, img->vmlinux_len, &img->elf, vmm_bz(img),
				 c->cmdline, img->initrd_fd, img->initrd_size, GPA_ACPI, e);
	else if (r == 0)
		r = bzimage_load(vm, &img->bz, c->cmdline, img->initrd_fd, img->initrd_size,
				 GPA_ACPI, e);
	if (r < 0)
		return r;
	kernel_release(img);

	/* vCPUs: 0 boots the kernel; the others wait for INIT/SIPI in KVM */
	vm->vcpus = calloc(c->cpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return err_sys(e, ENOMEM, "vCPUs");
	vm->ncpus = c->cpus;
	for (unsigned i = 0; i < c->cpus && r == 0; i++)
		r = vcpu_create(vm, i, &vm->vcpus[i], e);
	if (r == 0)
		r = longmode_enter(vm, &vm->vcpus[0],
				   img->vmlinux ? img->elf.entry : GPA_KERNEL + 0x200, GPA_ZERO_PAGE, e);
	return r;
}

static void vmm_teardown(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->ncpus = 0;
	evloop_stop(vm->loop);
	for (unsigned i = 0; i < vm->nvirtio; i++)
		virtio_mmio_free(vm->virtio[i]);
	vm->nvirtio = 0;
	virtio_console_free(vm->console);
	vm->console = NULL;
	virtio_vsock_free(vm->vsock);
	vm->vsock = NULL;
	virtio_net_free(vm->net);
	vm->net = NULL;
	evloop_free(vm->loop);
	vm->loop = NULL;
	serial_free(vm->com1);
	i8042_free(vm->i8042);
	rtc_free(vm->rtc);
	acpi_pm_free(vm->pm);
	vm->com1 = NULL;
	vm->i8042 = NULL;
	vm->rtc = NULL;
	vm->pm = NULL;
	bus_free(&vm->pio);
	bus_free(&vm->mmio);
	kvm_destroy_vm(vm);
	mem_free(&vm->mem);
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->cond);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t sink_serial(void *dev, const uint8_t *buf, size_t n)
{
	return serial_rx_push(dev, buf, n);
}

static size_t sink_virtio(void *dev, const uint8_t *buf, size_t n)
{
	return virtio_console_rx_push(dev, buf, n);
}

/* The device that gets what the user types. */
static struct console_sink vmm_console_sink(struct vm *vm)
{
	if (vm->console)
		return (struct console_sink){ vm->console, sink_virtio,
					      virtio_console_rx_wakeup_fd(vm->console) };
	return (struct console_sink){ vm->com1, sink_serial, serial_rx_wakeup_fd(vm->com1) };
}

/* One boot: build, start every thread (the device loop before the vCPUs
 * that feed it), wait for the end, stop them all (the vCPUs first). */
static int vmm_boot(struct vm *vm, const struct vmm_config *c, const struct vmm_image *img,
		    struct console_relay *relay, struct vmm_control *ctl, struct vmm_stats *st,
		    struct err *e)
{
	double t0 = now_s();
	vm->vm_fd = -1;
	vm->outcome = VM_RUNNING;
	vm->why[0] = '\0';
	vm->unhandled_pio = vm->unhandled_mmio = 0;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	int r = vmm_build(vm, c, img, e);
	if (r == 0)
		r = evloop_start(vm->loop, e);
	if (r == 0) {
		struct console_sink sink = vmm_console_sink(vm);
		r = console_relay_start(relay, vm, &sink, e);
	}
	if (r == 0)
		vmm_control_attach(ctl, vm);
	for (unsigned i = 0; i < vm->ncpus && r == 0; i++)
		r = vcpu_start(&vm->vcpus[i], e);
	if (r == 0) {
		pthread_mutex_lock(&vm->lock);
		while (vm->outcome == VM_RUNNING)
			pthread_cond_wait(&vm->cond, &vm->lock);
		pthread_mutex_unlock(&vm->lock);
	} else {
		vm_request_stop(vm, VM_CRASH, 0, "start-up failed");
	}
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_join(&vm->vcpus[i]);
	vmm_control_detach(ctl);
	console_relay_stop(relay);
	evloop_stop(vm->loop);

	st->boots++;
	st->seconds = now_s() - t0;
	st->exits = st->exits_io = st->exits_mmio = 0;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		st->exits += vm->vcpus[i].exits;
		st->exits_io += vm->vcpus[i].exits_io;
		st->exits_mmio += vm->vcpus[i].exits_mmio;
	}
	st->unhandled_pio = vm->unhandled_pio;
	st->unhandled_mmio = vm->unhandled_mmio;
	st->outcome = vm->outcome;
	memcpy(st->why, vm->why, sizeof(st->why));
	int outcome = vm->outcome, arg = vm->outcome_arg;
	vmm_teardown(vm);
	if (r < 0)
		return r;
	switch (outcome) {
	case VM_POWEROFF: return VMM_EXIT_POWEROFF;
	case VM_REBOOT: return VMM_EXIT_REBOOT;
	case VM_SIGNAL: return 128 + arg;
	case VM_QUIT: return 130;
	default: return VMM_EXIT_CRASH;
	}
}

int vmm_run(const struct vmm_config *c, const struct vmm_image *img, struct vmm_stats *st,
	    struct err *e)
{
	struct vm vm;
	memset(&vm, 0, sizeof(vm));
	memset(st, 0, sizeof(*st));
	vm.vm_fd = -1;
	int r = kvm_open(&vm, e);
	if (r == 0 && c->cpus > vm.max_vcpus)
		r = err_exit(e, EXIT_HOST, "--cpus %u exceeds this KVM's limit of %u vCPUs",
			     c->cpus, vm.max_vcpus);
	struct console_relay relay;
	struct vmm_control ctl;
	if (r == 0)
		r = vcpu_signal_init(e);
	/* every file is open, no thread started yet: from here on the VMM runs
	 * as the guest's label (sandbox.h) */
	if (r == 0 && c->sandbox)
		r = vmm_sandbox_enter(c->sandbox, e);
	/* the relay blocks the stop signals first: threads started later
	 * (control, vCPUs, devices) inherit the mask, so signalfd gets them */
	if (r == 0)
		r = console_relay_init(&relay, STDIN_FILENO, e);
	if (r == 0 && (r = vmm_control_start(&ctl, c->control, c->cpus, c->memory, e)) < 0)
		console_relay_fini(&relay);
	if (r < 0) {
		kvm_close(&vm);
		return r;
	}
	for (;;) {
		r = vmm_boot(&vm, c, img, &relay, &ctl, st, e);
		/* a guest asked to stop that reboots instead is not restarted */
		if (r == VMM_EXIT_REBOOT && !c->no_reboot && !vmm_control_stopping(&ctl))
			continue;
		break;
	}
	vmm_control_finish(&ctl);
	console_relay_fini(&relay);
	kvm_close(&vm);
	return r;
}
