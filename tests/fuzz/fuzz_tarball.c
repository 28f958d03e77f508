/* fuzz_tarball.c - libFuzzer target for the tarball checks.
 *
 * Byte 0 picks the mode. Even: the rest is a raw (maybe compressed) tarball
 * for tarball_check_mem, which must reject or accept it without crashing,
 * leaking or hanging. Odd: the rest describes entries (type, ids, name,
 * link) that we pack into a real tar with libarchive, so the checks see
 * well-formed archives full of hostile names; every entry the checks accept
 * must also pass the independent rules below, else we trap. */
#include <archive.h>
#include <archive_entry.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "tpl/tarball.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const mode_t types[] = { S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK, 0 };

struct cursor {
	const uint8_t *p;
	size_t left;
};

/* Take a length-prefixed string (at most 255 bytes) into buf. */
static void take_str(struct cursor *c, char *buf)
{
	size_t n = c->left ? c->p[0] : 0;
	if (c->left)
		c->p++, c->left--;
	if (n > c->left)
		n = c->left;
	memcpy(buf, c->p, n);
	buf[n] = '\0';
	c->p += n;
	c->left -= n;
}

/* 1 if some '/'-separated component of s is "..". */
static int dotdot(const char *s)
{
	for (const char *c = s; *c; ) {
		size_t n = strcspn(c, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return 1;
		c += n + (c[n] == '/');
	}
	return 0;
}

/* Independent restatement of the rules for an accepted entry. */
static void assert_sane(const char *path, mode_t type, const char *link, int64_t uid, int64_t gid)
{
	if (!path[0] || path[0] == '/' || dotdot(path) || uid < 0 || uid > 65535 || gid < 0 || gid > 65535)
		__builtin_trap();
	if (link && type != S_IFLNK && (!link[0] || link[0] == '/' || dotdot(link)))
		__builtin_trap();
	if (type == S_IFCHR || type == S_IFBLK) {
		/* components other than "" and ".": the first is dev, and more follow */
		int count = 0, first_dev = 0;
		for (const char *c = path; *c; ) {
			size_t n = strcspn(c, "/");
			if (n && !(n == 1 && c[0] == '.')) {
				if (count++ == 0)
					first_dev = n == 3 && !strncmp(c, "dev", 3);
			}
			c += n + (c[n] == '/');
		}
		if (!first_dev || count < 2)
			__builtin_trap();
	}
}

/* Odd mode: pack the described entries into a tar and check it. */
static void structured(const uint8_t *data, size_t size)
{
	struct cursor c = { data, size };
	static char out[1 << 16];
	size_t used = 0;
	struct archive *a = archive_write_new();
	if (!a)
		return;
	archive_write_set_format_pax_restricted(a);
	if (archive_write_open_memory(a, out, sizeof(out), &used) != ARCHIVE_OK) {
		archive_write_free(a);
		return;
	}
	for (int i = 0; i < 16 && c.left >= 4; i++) {
		mode_t type = types[c.p[0] & 7];
		int hard = c.p[0] & 8;
		int64_t uid = (int64_t)c.p[1] << (c.p[0] >> 4), gid = (int64_t)c.p[2] << 9;
		c.p += 3;
		c.left -= 3;
		char path[256], link[256];
		take_str(&c, path);
		take_str(&c, link);
		const char *ln = link[0] || hard ? link : NULL;
		struct err e = { 0 };
		if (tarball_check_entry(path, type, ln, uid, gid, &e) == 0)
			assert_sane(path, type, ln, uid, gid);
		if (!path[0])
			continue;
		struct archive_entry *ent = archive_entry_new();
		archive_entry_set_pathname(ent, path);
		archive_entry_set_filetype(ent, type ? type : S_IFREG);
		archive_entry_set_perm(ent, 0644);
		archive_entry_set_uid(ent, uid);
		archive_entry_set_gid(ent, gid);
		if (type == S_IFLNK && link[0])
			archive_entry_set_symlink(ent, link);
		else if (hard && link[0])
			archive_entry_set_hardlink(ent, link);
		if (type == S_IFCHR || type == S_IFBLK)
			archive_entry_set_rdev(ent, makedev(1, 3));
		archive_entry_set_size(ent, 0);
		int r = archive_write_header(a, ent);
		archive_entry_free(ent);
		if (r < ARCHIVE_WARN)
			break;
	}
	archive_write_close(a);
	archive_write_free(a);
	struct err e = { 0 };
	tarball_check_mem(out, used, NULL, &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		structured(data + 1, size - 1);
	} else {
		struct err e = { 0 };
		struct tarball_stats st;
		tarball_check_mem(data + 1, size - 1, &st, &e);
	}
	return 0;
}
