/* copytree.h - copy a directory tree, shifting ownership into an id range. */
#ifndef BERTH_COPYTREE_H
#define BERTH_COPYTREE_H

#include <stdint.h>
#include "lib/err.h"

/* Copy src into dst (which must not exist), preserving modes, times,
 * symlinks and hard links, with every uid/gid u (< 65536) stored as
 * u + shift. Device nodes and sockets are skipped (a guest's /dev is built
 * at start). Never follows symlinks in src. */
int copytree_shift(const char *src, const char *dst, uint32_t shift, struct err *e);

#endif
