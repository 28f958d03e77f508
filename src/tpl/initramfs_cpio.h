/* initramfs_cpio.h - a writer of the "newc" cpio format (the one the
 * kernel unpacks as an initramfs): entries of a 110-byte ASCII header,
 * the name and the data, each padded to 4 bytes; TRAILER!!! ends it. */
#ifndef BERTH_TPL_INITRAMFS_CPIO_H
#define BERTH_TPL_INITRAMFS_CPIO_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "lib/err.h"

struct cpio {
	FILE *f;
	uint64_t off;      /* bytes written so far (for the padding) */
	uint32_t ino;
};

/* Start writing to f (the caller opens and closes it). */
void cpio_init(struct cpio *c, FILE *f);

/* One entry: mode holds the type (S_IFDIR, S_IFREG, S_IFCHR...); name is
 * relative ("lib/modules"), parents written before; rdev for devices.
 * Owner root, mtime 0 (the archive depends only on its inputs). */
int cpio_add(struct cpio *c, const char *name, mode_t mode, unsigned rmajor, unsigned rminor,
	     const void *data, size_t len, struct err *e);

/* The TRAILER!!! entry. */
int cpio_finish(struct cpio *c, struct err *e);

#endif
