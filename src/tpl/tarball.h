/* tarball.h - checking untrusted root file system tarballs before import.
 *
 * Every entry of a tarball is checked before anything is written: no
 * absolute names, no "..", no empty or over-long names, hard links only to
 * names inside the tree, device nodes only under dev/, owners in 0..65535.
 * Symlinks may point anywhere: they are resolved inside the guest only, and
 * extraction never follows one. */
#ifndef BERTH_TARBALL_H
#define BERTH_TARBALL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "lib/err.h"

#define TARBALL_MAX_ENTRIES 1000000
#define TARBALL_MAX_NAME 4096
/* Sum of the entries' sizes we accept at all (the free space is checked too). */
#define TARBALL_MAX_BYTES (1ULL << 40)

/* What a whole tarball holds, filled by the checks. */
struct tarball_stats {
	uint64_t entries;
	uint64_t bytes;      /* sum of the entries' declared sizes */
};

/* Check one entry. type is the S_IFMT part of its mode (0 for a plain hard
 * link entry); linkname is the symlink target when type is S_IFLNK, else the
 * hard link target or NULL. Sets an EXIT_USAGE error naming the entry and
 * the rule it breaks. */
int tarball_check_entry(const char *path, mode_t type, const char *linkname, int64_t uid,
			int64_t gid, struct err *e);

/* Check every entry of a tarball held in memory (plain, gz, bz2, xz, zst). */
int tarball_check_mem(const void *buf, size_t len, struct tarball_stats *st, struct err *e);

/* Check every entry of a tarball file. */
int tarball_check_file(const char *path, struct tarball_stats *st, struct err *e);

/* 1 if the extended attribute is one we restore (user.*, security.capability). */
int tarball_xattr_allowed(const char *name);

#endif
