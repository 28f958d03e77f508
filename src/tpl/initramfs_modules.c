/* initramfs_modules.c - resolve kernel modules and their dependencies from
 * modules.dep (lines "kernel/a/b.ko: kernel/c.ko kernel/d.ko", each
 * dependency listed with its own line) and read module files. */
#include "tpl/initramfs_modules.h"

#include <fcntl.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "lib/fsutil.h"

#define DEP_MAX (16u << 20)      /* modules.dep is ~100 KiB */
#define MODULE_MAX (64u << 20)   /* the largest modules are a few MiB */
#define DEPTH_MAX 64

struct moddep {
	const char *path;
	char *deps;              /* space-separated paths */
	char name[64];
	int state;               /* 0 new, 1 being visited, 2 listed */
};

struct moddb {
	struct moddep *m;
	size_t n;
	char *text;
};

/* The module name of a path: basename up to ".ko", '-' read as '_'. */
static void mod_name(const char *path, char *out, size_t len)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t n = strcspn(b, ".");
	if (n >= len)
		n = len - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = b[i] == '-' ? '_' : b[i];
	out[n] = '\0';
}

/* A path from modules.dep that stays inside the module directory. */
static int path_ok(const char *p)
{
	if (!p[0] || p[0] == '/' || !strcmp(p, "..") || !strncmp(p, "../", 3) || strstr(p, "/../") ||
	    (strlen(p) >= 3 && !strcmp(p + strlen(p) - 3, "/..")))
		return 0;
	return 1;
}

static void db_free(struct moddb *db)
{
	free(db->m);
	free(db->text);
}

/* Parse moddir/modules.dep (entries point into db->text). */
static int db_load(const char *moddir, struct moddb *db, struct err *e)
{
	char path[4096];
	size_t len;
	snprintf(path, sizeof(path), "%s/modules.dep", moddir);
	memset(db, 0, sizeof(*db));
	int r = read_file(path, DEP_MAX, &db->text, &len, e);
	if (r < 0)
		return err_wrap(e, "kernel modules of %s", moddir);
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += db->text[i] == '\n';
	if (!(db->m = calloc(lines, sizeof(*db->m))))
		return err_set(e, ENOMEM, "out of memory");
	for (char *line = db->text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		if (!path_ok(line))
			continue;
		struct moddep *d = &db->m[db->n++];
		d->path = line;
		d->deps = colon + 1;
		mod_name(line, d->name, sizeof(d->name));
	}
	return 0;
}

/* The entry of a module name, or NULL. */
static struct moddep *db_by_name(struct moddb *db, const char *name)
{
	for (size_t i = 0; i < db->n; i++)
		if (!strcmp(db->m[i].name, name))
			return &db->m[i];
	return NULL;
}

/* The entry of path[0..len) as modules.dep spells it, or NULL. */
static struct moddep *db_by_path(struct moddb *db, const char *path, size_t len)
{
	for (size_t i = 0; i < db->n; i++)
		if (strlen(db->m[i].path) == len && !strncmp(db->m[i].path, path, len))
			return &db->m[i];
	return NULL;
}

/* 1 if name is built into the kernel (modules.builtin lists it). */
static int builtin_has(const char *moddir, const char *name)
{
	char path[4096], *text = NULL;
	size_t len;
	struct err e = { 0 };
	snprintf(path, sizeof(path), "%s/modules.builtin", moddir);
	if (read_file(path, DEP_MAX, &text, &len, &e) < 0)
		return 0;
	int found = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save)) {
		char n[64];
		mod_name(line, n, sizeof(n));
		found = !strcmp(n, name);
	}
	free(text);
	return found;
}

/* Append a copy of path to l. */
static int list_add(struct modlist *l, const char *path, struct err *e)
{
	char **p = realloc(l->paths, (l->n + 1) * sizeof(*p));
	if (!p)
		return err_set(e, ENOMEM, "out of memory");
	l->paths = p;
	if (!(p[l->n] = strdup(path)))
		return err_set(e, ENOMEM, "out of memory");
	l->n++;
	return 0;
}

/* Depth-first: a module's dependencies, then the module. */
static int visit(struct moddb *db, struct moddep *d, int depth, struct modlist *l, struct err *e)
{
	if (d->state)
		return 0; /* listed, or a cycle (which modules.dep never has) */
	if (depth > DEPTH_MAX)
		return err_set(e, ELOOP, "module dependencies of %s are too deep", d->name);
	d->state = 1;
	for (const char *p = d->deps; *p;) {
		p += strspn(p, " \t");
		size_t n = strcspn(p, " \t");
		if (!n)
			break;
		struct moddep *dep = db_by_path(db, p, n);
		if (!dep)
			return err_set(e, ENOENT, "module %s needs %.*s, which modules.dep does not list",
				       d->name, (int)n, p);
		int r = visit(db, dep, depth + 1, l, e);
		if (r < 0)
			return r;
		p += n;
	}
	d->state = 2;
	return list_add(l, d->path, e);
}

int modlist_resolve(const char *moddir, const char *const *names, struct modlist *l, struct err *e)
{
	struct moddb db;
	memset(l, 0, sizeof(*l));
	int r = db_load(moddir, &db, e);
	for (size_t i = 0; r == 0 && names[i]; i++) {
		char name[64];
		mod_name(names[i], name, sizeof(name));
		struct moddep *d = db_by_name(&db, name);
		if (d)
			r = visit(&db, d, 0, l, e);
		else if (!builtin_has(moddir, name))
			r = err_set(e, ENOENT, "kernel %s has no module %s (neither in modules.dep nor built in)",
				    moddir, names[i]);
	}
	db_free(&db);
	if (r < 0)
		modlist_free(l);
	return r;
}

void modlist_free(struct modlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	l->paths = NULL;
	l->n = 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

size_t module_plain_len(const char *path)
{
	static const char *const sfx[] = { ".ko.xz", ".ko.zst", ".ko.gz" };
	for (size_t i = 0; i < 3; i++)
		if (ends_with(path, sfx[i]))
			return strlen(path) - strlen(sfx[i]) + 3;
	return strlen(path);
}

/* Grow *out to hold at least need bytes (capped at MODULE_MAX). */
static int out_grow(uint8_t **out, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	if (need > MODULE_MAX)
		return -EFBIG;
	size_t n = *cap ? *cap : 1 << 20;
	while (n < need)
		n *= 2;
	if (n > MODULE_MAX)
		n = MODULE_MAX;
	uint8_t *p = realloc(*out, n);
	if (!p)
		return -ENOMEM;
	*out = p;
	*cap = n;
	return 0;
}

/* Decompress .xz (liblzma) into a malloc'd *out. */
static int unxz(const uint8_t *in, size_t len, uint8_t **out, size_t *olen)
{
	lzma_stream s = LZMA_STREAM_INIT;
	if (lzma_stream_decoder(&s, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
		return -ENOMEM;
	size_t cap = 0;
	int r = 0;
	s.next_in = in;
	s.avail_in = len;
	for (;;) {
		if ((r = out_grow(out, &cap, s.total_out + 65536)) < 0)
			break;
		s.next_out = *out + s.total_out;
		s.avail_out = cap - s.total_out;
		lzma_ret lr = lzma_code(&s, LZMA_FINISH);
		if (lr == LZMA_STREAM_END)
			break;
		if (lr != LZMA_OK) {
			r = -EBADMSG;
			break;
		}
	}
	*olen = s.total_out;
	lzma_end(&s);
	return r;
}

/* Decompress .zst (libzstd) into a malloc'd *out. */
static int unzstd(const uint8_t *in, size_t len, uint8_t **out, size_t *olen)
{
	ZSTD_DStream *z = ZSTD_createDStream();
	if (!z)
		return -ENOMEM;
	ZSTD_initDStream(z);
	ZSTD_inBuffer ib = { in, len, 0 };
	size_t cap = 0, done = 0, ret = 1;
	int r = 0;
	while (ret != 0) {
		if ((r = out_grow(out, &cap, done + 65536)) < 0)
			break;
		ZSTD_outBuffer ob = { *out + done, cap - done, 0 };
		ret = ZSTD_decompressStream(z, &ob, &ib);
		done += ob.pos;
		if (ZSTD_isError(ret) || (ib.pos == ib.size && ob.pos == 0 && ret != 0)) {
			r = -EBADMSG;
			break;
		}
	}
	*olen = done;
	ZSTD_freeDStream(z);
	return r;
}

/* Decompress .gz (zlib) into a malloc'd *out. */
static int ungzip(const uint8_t *in, size_t len, uint8_t **out, size_t *olen)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	size_t cap = 0;
	int r = 0;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	for (;;) {
		if ((r = out_grow(out, &cap, z.total_out + 65536)) < 0)
			break;
		z.next_out = *out + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		int zr = inflate(&z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END)
			break;
		if (zr != Z_OK) {
			r = -EBADMSG;
			break;
		}
	}
	*olen = z.total_out;
	inflateEnd(&z);
	return r;
}

int module_read(const char *path, uint8_t **data, size_t *len, struct err *e)
{
	char *raw;
	size_t rlen;
	int r = read_file(path, MODULE_MAX, &raw, &rlen, e);
	if (r < 0)
		return r;
	int (*unpack)(const uint8_t *, size_t, uint8_t **, size_t *) =
		ends_with(path, ".ko.xz") ? unxz : ends_with(path, ".ko.zst") ? unzstd :
		ends_with(path, ".ko.gz") ? ungzip : NULL;
	if (!unpack) {
		*data = (uint8_t *)raw;
		*len = rlen;
		return 0;
	}
	*data = NULL;
	r = unpack((const uint8_t *)raw, rlen, data, len);
	free(raw);
	if (r < 0) {
		free(*data);
		*data = NULL;
		return err_sys(e, -r, "decompress module %s", path);
	}
	return 0;
}
