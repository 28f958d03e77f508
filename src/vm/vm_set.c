/* vm_set.c - `berth set` for VM guests; switching a guest between
 * container and VM (the one-word change of vm_set.h). */
#include "vm/vm_set.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ct/disk.h"
#include "lib/fsutil.h"
#include "vm/guest.h"

/* Ready a VM's tree for a container: the empty rootfs/ mount point owned by
 * the guest's root, and disk.img back to host root (a VM's monitor gave it
 * to the label; a container's processes must not own its backing file). */
static int switch_to_ct(const struct store *s, const struct guest_config *c, struct err *e)
{
	char root[PATH_MAX], img[PATH_MAX];
	store_guest_path(s, c->name, "rootfs", root, sizeof(root));
	store_guest_path(s, c->name, "disk.img", img, sizeof(img));
	if (mkdir(root, 0755) < 0 && errno != EEXIST)
		return err_sys(e, errno, "create mount point %s", root);
	if (chown(root, c->id_base, c->id_base) < 0)
		return err_sys(e, errno, "set owner of mount point %s", root);
	if (chown(img, 0, 0) < 0 || chmod(img, 0600) < 0)
		return err_sys(e, errno, "set owner of disk image %s", img);
	return 0;
}

int vm_switch_type(const struct store *s, struct guest_config *c, enum guest_type to, int running,
		   struct err *e)
{
	const char *name = c->name, *want = guest_type_name(to);
	if (c->type == to)
		return 0;
	if (running)
		return err_exit(e, EXIT_STATE, "guest '%s' is running; stop it first with 'berth stop %s', then set --type %s",
				name, name, want);
	if (c->ephemeral)
		return err_exit(e, EXIT_USAGE, "guest '%s' was made by 'berth run' and ends with its command; it cannot change type",
				name);
	if (c->lim.disk == LIMIT_NONE)
		return err_exit(e, EXIT_USAGE, "container '%s' keeps its files in a directory, and a VM needs a disk image; create the container with --disk SIZE to switch it to a VM",
				name);
	if (c->disk_ids == DISK_IDS_SHIFTED)
		return err_exit(e, EXIT_USAGE, "the disk image of container '%s' stores shifted ids (made by an older berth or on a kernel without idmapped mounts), which a VM cannot boot; create a new guest with --disk to switch",
				name);
	char img[PATH_MAX];
	store_guest_path(s, name, "disk.img", img, sizeof(img));
	if (!path_exists(img))
		return err_exit(e, EXIT_HOST, "guest '%s' has no disk image %s; destroy and create it again",
				name, img);
	if (to == GUEST_CT) {
		int r = switch_to_ct(s, c, e);
		if (r < 0)
			return r;
		memset(&c->vm, 0, sizeof(c->vm)); /* a container keeps no VM settings */
	}
	c->type = to;
	c->disk_ids = DISK_IDS_PLAIN;
	/* a VM's defaults (memory, vCPUs) in place before anyone weighs it */
	return to == GUEST_VM ? vm_config_check(c, e) : 0;
}

int vm_set_check(const struct store *s, struct guest_config *c, const struct guest_config *old,
		 int running, struct err *e)
{
	int r = vm_config_check(c, e);
	if (r < 0)
		return r;
	if (c->lim.disk != old->lim.disk && old->lim.disk != LIMIT_NONE) {
		char img[PATH_MAX];
		store_guest_path(s, c->name, "disk.img", img, sizeof(img));
		if (c->lim.disk < old->lim.disk)
			return disk_grow(img, c->lim.disk, NULL, e); /* refuses, with the reason */
		if (running)
			return err_exit(e, EXIT_STATE, "VM '%s' is running; stop it first with 'berth stop %s' to grow its disk",
					c->name, c->name);
		if ((r = disk_grow(img, c->lim.disk, NULL, e)) < 0)
			return r;
	}
	return running && (c->lim.memory != old->lim.memory || c->lim.cpus != old->lim.cpus ||
			   strcmp(c->vm.kernel, old->vm.kernel) || strcmp(c->vm.cmdline, old->vm.cmdline));
}
