/* disk.h - a guest's own ext4 image (OpenVZ ploop idea): the disk quota of
 * a container and the root disk of a VM, the same file (disk.img in the
 * guest dir) with the same ids (root 0) for both. */
#ifndef BERTH_DISK_H
#define BERTH_DISK_H

#include <stdint.h>
#include "lib/err.h"

/* Create a sparse ext4 image of `bytes` at img, populated from tree
 * (mkfs.ext4 -d, no mounts), owned as in tree. Removes img on failure. */
int disk_create(const char *img, uint64_t bytes, const char *tree, struct err *e);

/* Attach img to a free loop device (autoclear) and mount it at dir. The
 * loop device goes away by itself when the mount does. */
int disk_mount(const char *img, const char *dir, struct err *e);

/* disk_mount, with the mount idmapped through the user namespace userns
 * (an fd; -1: not idmapped): a plain image (root 0) shows to a container
 * as owned by its shifted ids. */
int disk_mount_ns(const char *img, const char *dir, int userns, struct err *e);

/* Whether this kernel idmaps ext4 mounts (Linux 5.12+); when it does not,
 * a container's image is made with shifted ids instead. */
int disk_idmap_supported(void);

/* Grow the image and its file system to `bytes` (offline or online when
 * mounted at dir, dir may be NULL). Shrinking is refused. */
int disk_grow(const char *img, uint64_t bytes, const char *mounted_at, struct err *e);

#endif
