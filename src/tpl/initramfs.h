/* initramfs.h - the initramfs of a VM: berth itself as /init (see
 * src/guest/init.c), the modules the stock Debian kernels need for
 * berth's VMs (virtio-mmio, disk, net, console, rng, vsock, the ACPI
 * power button and evdev, ext4 when it is a module) with their
 * dependencies, and /lib/berth/modules listing them in load order. */
#ifndef BERTH_TPL_INITRAMFS_H
#define BERTH_TPL_INITRAMFS_H

#include <stddef.h>
#include "lib/err.h"

/* Write the initramfs for kernel_release (modules from
 * /lib/modules/<kernel_release>) with berth_binary as /init to out_path,
 * atomically (temp file, fsync, rename): callers cache it per kernel.
 * The archive is an uncompressed newc cpio; berth_binary must be a static
 * x86-64 executable. 0 or -errno with e set. */
int initramfs_build(const char *kernel_release, const char *berth_binary, const char *out_path,
		    struct err *e);

/* The newest /lib/modules/<release> whose name ends with suffix (e.g.
 * "-cloud-amd64"), into out. 0, or -ENOENT with e set. */
int initramfs_newest_release(const char *suffix, char *out, size_t len, struct err *e);

#endif
