/* disk.h - a guest's own ext4 image (OpenVZ ploop idea): the disk quota of
 * a container, and later the root disk of a VM. */
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

/* Grow the image and its file system to `bytes` (offline or online when
 * mounted at dir, dir may be NULL). Shrinking is refused. */
int disk_grow(const char *img, uint64_t bytes, const char *mounted_at, struct err *e);

#endif
