/* initramfs_modules.h - which kernel modules a VM's initramfs carries:
 * the wanted ones and everything they depend on (modules.dep of
 * /lib/modules/<release>), in the order they must be loaded, and their
 * contents (decompressed when the kernel ships .ko.xz, .ko.zst, .ko.gz). */
#ifndef BERTH_TPL_INITRAMFS_MODULES_H
#define BERTH_TPL_INITRAMFS_MODULES_H

#include <stddef.h>
#include <stdint.h>
#include "lib/err.h"

struct modlist {
	char **paths;      /* relative to the module directory, as in modules.dep */
	size_t n;
};

/* Resolve names (NULL-terminated; '-' and '_' are the same) against
 * moddir/modules.dep: each module after its dependencies. A name that is
 * built into the kernel (moddir/modules.builtin) is skipped; one that is
 * neither is an error naming it. */
int modlist_resolve(const char *moddir, const char *const *names, struct modlist *l, struct err *e);

void modlist_free(struct modlist *l);

/* Read a module file, decompressed; *data is malloc'd. */
int module_read(const char *path, uint8_t **data, size_t *len, struct err *e);

/* Length of path without its compression suffix (".xz", ".zst", ".gz"
 * after ".ko"). */
size_t module_plain_len(const char *path);

#endif
