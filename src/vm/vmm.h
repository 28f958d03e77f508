/* vmm.h - berth's VMM: build a VM from a kernel, initrd and command line,
 * run it until the guest powers off, and say how it ended. */
#ifndef BERTH_VM_VMM_H
#define BERTH_VM_VMM_H

#include <stddef.h>
#include <stdint.h>
#include "lib/err.h"
#include "vm/boot_bzimage.h"
#include "vm/boot_elf.h"

/* Exit status of `berth vmm` for each way a guest can end; stable for
 * scripts. A signal to the VMM gives 128 + its number, the console escape
 * 130 (like Ctrl-C). */
enum {
	VMM_EXIT_POWEROFF = 0,
	VMM_EXIT_REBOOT = 10,    /* the guest rebooted and --no-reboot was given */
	VMM_EXIT_CRASH = 11,     /* triple fault, failed VM entry, KVM error */
};

#define VMM_DEFAULT_MEMORY (256ull << 20)
#define VMM_DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=-1 pci=off"
#define VMM_DEFAULT_CMDLINE_VIRTIO "console=hvc0 reboot=k panic=-1 pci=off"
#define VMM_MAX_CPUS 254
#define VMM_MAX_DISKS 8

struct blk_disk;
struct tap;
struct vmm_sandbox;

/* Which device has the VMM's stdin and stdout. */
enum vmm_console {
	VMM_CONSOLE_SERIAL = 0,  /* the 8250 UART at COM1 (guest: console=ttyS0) */
	VMM_CONSOLE_VIRTIO,      /* virtio console (guest: console=hvc0); UART output dropped */
};

/* How the kernel gets into the guest (--kernel-loader). An ELF vmlinux
 * given as --kernel is loaded directly (boot_elf.h). A bzImage, by
 * default, boots through its 64-bit entry and decompresses itself; the
 * VMM can instead decompress it on the host and load the vmlinux (elf),
 * which was meant to cut nested boot time, but measured in tests/vm/rig
 * (KVM nested in QEMU TCG) it is slower: the VMM runs emulated too, the
 * guest still faults in its kernel pages, and the host pays for an extra
 * copy (medians of 10-16 boots: cloud kernel, lz4, +2 s; generic, xz,
 * +9 s, liblzma being slower than the kernel's in-place decoder). */
enum vmm_kernel_loader {
	VMM_LOADER_AUTO = 0,     /* ELF as it is, bzImage decompressing itself */
	VMM_LOADER_BZIMAGE,      /* the kernel's own decompressor, in the guest */
	VMM_LOADER_ELF,          /* decompress on the host; fail if berth cannot */
};

struct vmm_config {
	const char *kernel;
	const char *initrd;      /* NULL: none */
	const char *cmdline;
	uint64_t memory;
	unsigned cpus;
	int no_reboot;           /* a reboot ends the VMM (VMM_EXIT_REBOOT) */
	int console;             /* enum vmm_console */
	int kernel_loader;       /* enum vmm_kernel_loader */
	const char *disks[VMM_MAX_DISKS];   /* "FILE" or "FILE,ro": one virtio-blk each */
	unsigned ndisks;
	const char *control;     /* control socket path (vmm_control.h); NULL: none */
	const char *vsock_uds;   /* host side of the vsock device; NULL: no vsock */
	uint64_t vsock_cid;      /* the guest's CID, 3 .. 0xfffffffe */
	const char *net;         /* "TAP[,mac=..]": a virtio-net on that tap; NULL: none */
	const struct vmm_sandbox *sandbox;  /* drop to it once /dev/kvm is open; NULL: none */
};

/* Files read and checked before any KVM resource exists. */
struct vmm_image {
	uint8_t *kernel;
	size_t kernel_len;
	struct bzimage bz;       /* bz.buf NULL: --kernel is an ELF vmlinux */
	/* the ELF vmlinux to load (kernel itself, or decompressed from the
	 * bzImage with --kernel-loader elf: kept for reboots, as much host
	 * memory as the kernel's image, 50-65 MiB for Debian's); NULL: boot
	 * the bzImage. */
	uint8_t *vmlinux;
	size_t vmlinux_len;
	struct elf_kernel elf;
	int initrd_fd;
	uint64_t initrd_size;
	struct blk_disk *disks;  /* opened and locked once, for every boot */
	unsigned ndisks;
	struct tap *net;         /* --net: the tap, opened once (it needs CAP_NET_ADMIN) */
};

struct vmm_stats {
	unsigned boots;
	double seconds;          /* from building the VM to its end, last boot */
	uint64_t exits, exits_io, exits_mmio;   /* exits to user space, last boot */
	uint64_t unhandled_pio, unhandled_mmio;
	int outcome;             /* enum vm_outcome */
	char why[256];
};

/* Check the configuration against the files and the host without touching
 * /dev/kvm: the kernel is a usable bzImage (decompressed here with
 * --kernel-loader elf) or ELF vmlinux, the initrd and command line
 * fit, vCPUs and memory do not exceed the host's; the disks are opened
 * and locked. */
int vmm_prepare(const struct vmm_config *c, struct vmm_image *img, struct err *e);
void vmm_image_free(struct vmm_image *img);

/* Boot and run (rebooting in place unless no_reboot). Returns the exit
 * status (>= 0, see VMM_EXIT_*) or a negative errno with e set. */
int vmm_run(const struct vmm_config *c, const struct vmm_image *img, struct vmm_stats *st,
	    struct err *e);

#endif
