/* initramfs_cpio.c - newc cpio writer (see initramfs_cpio.h; the format
 * is the one documented in the kernel's early-userspace buffer-format). */
#include "tpl/initramfs_cpio.h"

#include <string.h>
#include <sys/stat.h>

void cpio_init(struct cpio *c, FILE *f)
{
	c->f = f;
	c->off = 0;
	c->ino = 1;
}

/* Append bytes, counting them for the padding. */
static int cpio_write(struct cpio *c, const void *p, size_t n, struct err *e)
{
	if (n && fwrite(p, 1, n, c->f) != n)
		return err_sys(e, errno ? errno : EIO, "write the initramfs");
	c->off += n;
	return 0;
}

/* Zeros up to the next multiple of 4 bytes. */
static int cpio_pad(struct cpio *c, struct err *e)
{
	static const char zero[4];
	return cpio_write(c, zero, (4 - (c->off & 3)) & 3, e);
}

int cpio_add(struct cpio *c, const char *name, mode_t mode, unsigned rmajor, unsigned rminor,
	     const void *data, size_t len, struct err *e)
{
	size_t nlen = strlen(name) + 1;
	if (len > 0xffffffffu || nlen > 4096)
		return err_set(e, EFBIG, "initramfs entry %.100s is too large for cpio", name);
	char hdr[111];
	snprintf(hdr, sizeof(hdr),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 c->ino++, (unsigned)mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, (unsigned)len,
		 0u, 0u, rmajor, rminor, (unsigned)nlen, 0u);
	int r;
	if ((r = cpio_write(c, hdr, 110, e)) < 0 || (r = cpio_write(c, name, nlen, e)) < 0 ||
	    (r = cpio_pad(c, e)) < 0 || (r = cpio_write(c, data, len, e)) < 0)
		return r;
	return cpio_pad(c, e);
}

int cpio_finish(struct cpio *c, struct err *e)
{
	return cpio_add(c, "TRAILER!!!", 0, 0, 0, NULL, 0, e);
}
