/* fsutil.h - small file system helpers used across berth. */
#ifndef BERTH_FSUTIL_H
#define BERTH_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>
#include "lib/err.h"

/* Write data to path atomically: temp file in the same directory, fsync,
 * rename, fsync the directory. `durable` = 0 skips the fsyncs (ephemeral
 * state such as `berth run` guests). */
int atomic_write(const char *path, const void *data, size_t len, mode_t mode,
		 int durable, struct err *e);

/* Read a whole (small) file into a NUL-terminated malloc'd buffer; refuses
 * files larger than max. */
int read_file(const char *path, size_t max, char **out, size_t *len, struct err *e);

/* Write a string to an existing file (cgroup and /proc knobs). */
int write_str(const char *path, const char *s, struct err *e);

/* mkdir -p with mode for newly created components. */
int mkdir_p(const char *path, mode_t mode, struct err *e);

/* rm -rf that never follows symlinks and does not cross into other mounts. */
int rm_rf(const char *path, struct err *e);

/* Take an flock on path (created if missing); returns the fd. Re-checks that
 * the locked file is still the one at path, so unlinking lock files is safe. */
int lock_path(const char *path, int shared, int nonblock, struct err *e);

/* 1 if path exists (lstat), 0 if not. */
int path_exists(const char *path);

#endif
