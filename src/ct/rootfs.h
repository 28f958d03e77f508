/* rootfs.h - the container's file system view: mounts, /dev, masks, pivot_root. */
#ifndef BERTH_ROOTFS_H
#define BERTH_ROOTFS_H

#include "lib/err.h"

struct rootfs_spec {
	const char *rootfs;        /* host path of the guest's root tree */
	const char *console;       /* host path of the console pty slave, or NULL */
};

/* Build the guest's mounts and pivot_root into it. Runs in the container's
 * first process, as root of its fresh user and mount namespaces:
 * /proc (with /proc/sys, sysrq-trigger, irq, bus, fs read-only and the
 * paths runc masks hidden), /sys read-only, a tmpfs /dev with null zero full
 * random urandom tty (bound from the host), console, devpts newinstance,
 * ptmx, shm and mqueue. */
int rootfs_enter(const struct rootfs_spec *spec, struct err *e);

/* Mount the guest's cgroup2 view (its cgroup namespace) at /sys/fs/cgroup,
 * after pivot_root and unshare(CLONE_NEWCGROUP). */
int rootfs_mount_cgroup2(struct err *e);

/* Paths hidden from the guest (bind-mounted /dev/null or an empty tmpfs). */
extern const char *const rootfs_masked[];
/* Paths made read-only. */
extern const char *const rootfs_readonly[];

#endif
