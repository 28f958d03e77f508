/* vm_set.h - `berth set` for VM guests and the switch between the two
 * guest types. One disk.img (ext4, ids not shifted: root is 0) serves a
 * container (idmapped mount, ct/disk.h) and a VM (its root disk), so a
 * stopped guest with a disk image changes type by one word:
 *   berth set NAME --type vm     berth set NAME --type ct */
#ifndef BERTH_VM_SET_H
#define BERTH_VM_SET_H

#include "lib/config.h"
#include "lib/err.h"
#include "lib/store.h"

/* Switch guest c to type `to` (nothing to do when it has it): refused for a
 * running guest (EXIT_STATE), a `run` guest, a container without a disk
 * image or with a shifted one (EXIT_USAGE), nothing changed then. To a
 * container: its rootfs/ mount point and a root-owned disk.img are made
 * ready; to a VM: its settings checked and VM defaults filled in
 * (vm_config_check). The caller checks the rest (vm_set_check, or the
 * container's cgroup checks) and saves the config. */
int vm_switch_type(const struct store *s, struct guest_config *c, enum guest_type to, int running,
		   struct err *e);

/* Check the new settings c of a VM guest (old: as stored) as create does
 * (vm_config_check: VM defaults where a switched container had no limit)
 * and grow its disk.img offline when --disk asked for more: refused while
 * the VM runs (stop it first) and for less (no shrinking). Returns 1 when
 * the VM runs and memory, vCPUs, kernel or command line changed (they take
 * effect at its next start), else 0; the caller saves the config. */
int vm_set_check(const struct store *s, struct guest_config *c, const struct guest_config *old,
		 int running, struct err *e);

#endif
