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

/* Which init a rootfs has (follows /sbin/init inside the tree, never outside). */
enum init_kind tpl_detect_init(const char *rootfs);

#endif
