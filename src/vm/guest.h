/* guest.h - a `--type vm` guest of the store: its settings checked at
 * create, its kernel and initramfs found at start, and its monitor, a fork
 * of the CLI (setsid) that holds the runtime lock and runs the VMM
 * in-process until the guest ends (the VM counterpart of ct/monitor.h).
 *
 *   $BERTH_ROOT/guests/<name>/disk.img      root disk (ext4, ids not shifted)
 *   $BERTH_ROOT/guests/<name>/console.log   serial console + monitor log
 *   $BERTH_ROOT/cache/initramfs-<release>-<berth hash>.cpio
 *   $BERTH_RUN/<name>/control.sock, vsock.sock, pid
 *   tap bt<label>: the guest's virtio-net, made by the monitor at start, gone
 *   with the monitor and the VMM (not persistent) */
#ifndef BERTH_VM_GUEST_H
#define BERTH_VM_GUEST_H

#include <stddef.h>
#include "lib/config.h"
#include "lib/err.h"
#include "lib/store.h"

#define VM_GUEST_DEFAULT_MEMORY (512ull << 20)
#define VM_GUEST_DEFAULT_DISK (1ull << 30)
#define VM_GUEST_CMDLINE "console=ttyS0 reboot=k panic=-1 pci=off quiet berth.root=/dev/vda"
#define VM_GUEST_CID 3

/* Is path a kernel berth can boot (bzImage or ELF)? Its release (the
 * bzImage's version string, or the vmlinu[xz]-<release> file name) goes to
 * release when not NULL. EXIT_USAGE errors. */
int vm_kernel_check(const char *path, char *release, size_t len, struct err *e);

/* Fill defaults (memory, disk, 1 vCPU) and check a new VM's settings:
 * whole vCPUs, no more vCPUs or memory than the host has, a kernel that
 * is one (made absolute). EXIT_USAGE errors. */
int vm_config_check(struct guest_config *c, struct err *e);

/* Start a stopped VM guest: kernel and cached initramfs, fork the monitor,
 * wait until its control socket answers. keep_fd: not inherited. */
int vm_start(const struct store *s, const struct guest_config *c, int keep_fd, struct err *e);

/* Wait (up to timeout_ms) until the guest's monitor has gone and cleaned up. */
void vm_wait_gone(const struct store *s, const char *name, int timeout_ms);

/* Clean up after a VM monitor that died without doing so (kill -9). */
int vm_cleanup_stale(const struct store *s, const struct guest_config *c, struct err *e);

/* The guest's virtio-net MAC: its config's vm.mac, else the default
 * 52:54:00 followed by bits 8..31 of its label (id_base), unique among the
 * host's guests since labels are (idrange.h). out: 18 bytes. */
void vm_guest_mac(const struct guest_config *c, char *out, size_t len);

/* The name of the guest's tap: "bt<label>" (at most 12 characters, unique
 * host-wide like the label; guest names are too long for IFNAMSIZ). */
void vm_guest_tap(const struct guest_config *c, char *out, size_t len);

/* The path of the VM's vsock unix socket. */
void vm_vsock_path(const struct store *s, const char *name, char *buf, size_t len);

#endif
