/* template.h - guest templates: $BERTH_ROOT/templates/<name>/
 *
 *   rootfs/          the tree, owned by host root (ids 0..65535)
 *   template.json    {"name", "source": "busybox"|"debian"|"import",
 *                     "init": "busybox"|"systemd"|"other", "created", ...}
 *
 * Builders write into templates/.<name>.tmp-<pid> and rename it into
 * place, so a failed or interrupted build leaves nothing behind. */
#ifndef BERTH_TEMPLATE_H
#define BERTH_TEMPLATE_H

#include "lib/config.h"
#include "lib/err.h"
#include "lib/store.h"

#include <stddef.h>
#include <sys/types.h>

struct template_info {
	char name[64];
	char source[16];
	enum init_kind init;
	long long created;
};

/* Builders (as root). */
int tpl_build_busybox(const struct store *s, const char *name, struct err *e);
int tpl_build_debian(const struct store *s, const char *name, const char *suite,
		     const char *mirror, struct err *e);
int tpl_import(const struct store *s, const char *name, const char *tarball, struct err *e);
int tpl_remove(const struct store *s, const char *name, struct err *e);

/* Load template.json; a missing template is an EXIT_USAGE error naming the fix. */
int tpl_load(const struct store *s, const char *name, struct template_info *t, struct err *e);

/* Can a guest made from this rootfs boot: is /sbin/init (followed inside
 * the tree) an executable file? EXIT_USAGE error naming the template. */
int tpl_init_check(const char *rootfs, const char *name, struct err *e);

/* Which init a rootfs has (follows /sbin/init inside the tree, never outside). */
enum init_kind tpl_detect_init(const char *rootfs);

/* Disk usage of a tree in bytes (hard links counted once); -1 if unreadable. */
long long tpl_disk_usage(const char *dir);

/* --- shared by the builders (busybox.c, debian.c, tarball.c) --- */

/* Check the name and that it is free, clear stale temp dirs of dead builds,
 * and create templates/.<name>.tmp-<pid>/rootfs; the temp dir goes to tmp. */
int tpl_begin(const struct store *s, const char *name, char *tmp, size_t len, struct err *e);
/* Write template.json into tmp and, under the store lock, rename tmp into
 * place as templates/<name>. */
int tpl_commit(const struct store *s, const char *name, const char *tmp, const char *source,
	       enum init_kind init, struct err *e);
/* Undo a failed build: unmount whatever is left under tmp and remove it. */
void tpl_abort(const char *tmp);
/* Where a build keeps its log while it runs: templates/.<name>.log. */
void tpl_log_path(const struct store *s, const char *name, char *buf, size_t len);

/* Create or replace the file rel inside the tree rootfd (never leaving it:
 * RESOLVE_IN_ROOT, final symlinks refused) with text and mode. */
int tpl_write(int rootfd, const char *rel, const char *text, mode_t mode, struct err *e);
/* Read the (small) file rel inside the tree rootfd; max bytes at most. */
int tpl_read(int rootfd, const char *rel, size_t max, char **out, struct err *e);
/* Open rel inside the tree rootfd the same way (flags as for openat). */
int tpl_openat(int rootfd, const char *rel, int flags, mode_t mode);

/* SIGINT/SIGTERM/SIGHUP during a build set a flag instead of killing us,
 * so the build can clean up; tpl_guard_end restores the old handlers. */
void tpl_guard_begin(void);
void tpl_guard_end(void);
int tpl_interrupted(void);

#endif
