/* overlay.h - a guest tree without copying: the template seen through an
 * idmapped mount (its ids shifted into the guest's range) as the lower layer
 * of an overlay whose upper layer holds the guest's changes. Used for the
 * ephemeral guests of `berth run`, where copying the template would cost
 * more than the whole container start. */
#ifndef BERTH_OVERLAY_H
#define BERTH_OVERLAY_H

#include <stdint.h>
#include "lib/err.h"

/* Make dir/upper and dir/work (owned by base) and dir/lower (the mount point
 * of the idmapped template). Done at create time. */
int overlay_prepare(const char *dir, uint32_t base, struct err *e);

/* Mount template (idmapped to base..base+65535) on dir/lower and the overlay
 * on target. Call in a private mount namespace; the mounts die with it. */
int overlay_mount(const char *template_root, const char *dir, uint32_t base, const char *target,
		  struct err *e);

/* A user namespace fd mapping ids 0..65535 to base..: the idmap of an
 * idmapped mount (also of a container's disk image, ct/disk.h). */
int overlay_userns(uint32_t base, struct err *e);

/* Undo overlay_mount (lazy unmounts; missing mounts are fine). */
void overlay_umount(const char *dir, const char *target);

#endif
