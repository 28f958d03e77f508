/* vmm.h - berth's VMM: build a VM from a kernel, initrd and command line,
 * run it until the guest powers off, and say how it ended. */
#ifndef BERTH_VM_VMM_H
#define BERTH_VM_VMM_H

#include <stddef.h>
#include <stdint.h>
#include "lib/err.h"
#include "vm/boot_bzimage.h"

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
#define VMM_MAX_CPUS 254

struct vmm_config {
	const char *kernel;
	const char *initrd;      /* NULL: none */
	const char *cmdline;
	uint64_t memory;
	unsigned cpus;
	int no_reboot;           /* a reboot ends the VMM (VMM_EXIT_REBOOT) */
};

/* Files read and checked before any KVM resource exists. */
struct vmm_image {
	uint8_t *kernel;
	size_t kernel_len;
	struct bzimage bz;
	int initrd_fd;
	uint64_t initrd_size;
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
 * /dev/kvm: the kernel is a usable bzImage, the initrd and command line fit,
 * vCPUs and memory do not exceed the host's. */
int vmm_prepare(const struct vmm_config *c, struct vmm_image *img, struct err *e);
void vmm_image_free(struct vmm_image *img);

/* Boot and run (rebooting in place unless no_reboot). Returns the exit
 * status (>= 0, see VMM_EXIT_*) or a negative errno with e set. */
int vmm_run(const struct vmm_config *c, const struct vmm_image *img, struct vmm_stats *st,
	    struct err *e);

#endif
