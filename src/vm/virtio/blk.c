/* blk.c - virtio-blk requests (virtio 1.2 section 5.2) over a raw image file
 * or a block device: opening and locking the disk, serving one request
 * chain, and the feature bits and config space a disk shows. The transport
 * glue (struct virtio_dev_ops) is in blk_dev.c; nothing here needs guest
 * memory or KVM, so unit tests and the fuzz target drive it over host
 * buffers.
 *
 * Everything in a chain is the guest's: the header may be split across
 * segments (2.6.4 message framing), lengths are summed in 64 bits, every
 * request is checked against the disk size before any I/O, and a request
 * the driver got wrong completes with an error status, never an abort. */
#include "vm/virtio/blk.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* What kind of file a stat result is, for messages. */
static const char *blk_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a fifo";
	case S_IFCHR: return "a character device";
	case S_IFSOCK: return "a socket";
	default: return "not a regular file";
	}
}

/* Split "FILE" or "FILE,ro" into d->path and d->ro. A last comma followed by
 * anything but "ro" is part of the file name. */
static int blk_parse_spec(struct blk_disk *d, const char *spec, struct err *e)
{
	size_t n = strlen(spec);
	if (n >= 3 && !strcmp(spec + n - 3, ",ro")) {
		d->ro = 1;
		n -= 3;
	}
	if (n == 0)
		return err_exit(e, EXIT_USAGE, "disk '%s' names no file; give FILE or FILE,ro", spec);
	if (n >= sizeof(d->path))
		return err_exit(e, EXIT_USAGE, "disk path is longer than %zu bytes; use a shorter path",
				sizeof(d->path) - 1);
	memcpy(d->path, spec, n);
	d->path[n] = '\0';
	return 0;
}

/* Refuse anything that is not a regular file or a block device. */
static int blk_check_type(const struct blk_disk *d, const struct stat *st, struct err *e)
{
	if (S_ISREG(st->st_mode) || S_ISBLK(st->st_mode))
		return 0;
	return err_exit(e, EXIT_USAGE,
			"disk %s is %s; give a raw image file or a block device", d->path,
			blk_kind(st->st_mode));
}

/* Open the checked file without side effects (O_NONBLOCK: a fifo swapped in
 * since stat must not block us; O_NOCTTY), with O_EXCL for a read-write
 * block device so that one the host has mounted is refused; then make sure
 * it is still the file stat saw. */
static int blk_open_fd(struct blk_disk *d, const struct stat *st, struct err *e)
{
	int flags = (d->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	if (S_ISBLK(st->st_mode) && !d->ro)
		flags |= O_EXCL;
	d->fd = open(d->path, flags);
	if (d->fd < 0) {
		int r = errno;
		if (r == EBUSY)
			return err_set(e, r, "disk %s is in use (mounted, or held by the host or "
				       "another VM); unmount or stop it first", d->path);
		if (!d->ro && (r == EACCES || r == EPERM || r == EROFS))
			return err_set(e, r, "open disk %s: %s; make it writable or attach it "
				       "read-only (%s,ro)", d->path, strerror(r), d->path);
		return err_sys(e, r, "open disk %s", d->path);
	}
	struct stat now;
	if (fstat(d->fd, &now) < 0)
		return err_sys(e, errno, "stat disk %s", d->path);
	if ((now.st_mode & S_IFMT) != (st->st_mode & S_IFMT) || now.st_ino != st->st_ino ||
	    now.st_dev != st->st_dev)
		return err_set(e, EAGAIN, "disk %s changed while it was being opened; try again",
			       d->path);
	int fl = fcntl(d->fd, F_GETFL);
	if (fl < 0 || fcntl(d->fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return err_sys(e, errno, "fcntl disk %s", d->path);
	return 0;
}

/* Hold the disk against other VMMs: exclusive for read-write, shared for
 * read-only (flock(2); the lock goes with the file description). */
static int blk_lock(struct blk_disk *d, struct err *e)
{
	while (flock(d->fd, (d->ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK) {
			int r = err_set(e, EBUSY, "disk %s is in use by another VM; stop it first",
					d->path);
			if (e)
				e->exit_code = EXIT_STATE;
			return r;
		}
		return err_sys(e, errno, "lock disk %s", d->path);
	}
	return 0;
}

/* The size in bytes: st_size, or BLKGETSIZE64 for a block device. A disk
 * without one whole sector is refused. */
static int blk_size(struct blk_disk *d, const struct stat *st, struct err *e)
{
	if (S_ISBLK(st->st_mode)) {
		uint64_t sz = 0;
		if (ioctl(d->fd, BLKGETSIZE64, &sz) < 0)
			return err_sys(e, errno, "size of block device %s", d->path);
		d->size = sz;
	} else {
		d->size = (uint64_t)st->st_size;
	}
	if (d->size == 0)
		return err_exit(e, EXIT_USAGE, "disk %s is empty; give it a size first "
				"(truncate -s 10G %s)", d->path, d->path);
	if (d->size < BLK_SECTOR)
		return err_exit(e, EXIT_USAGE, "disk %s holds no whole %d-byte sector (%llu bytes); "
				"give it a size first (truncate -s 10G %s)", d->path, BLK_SECTOR,
				(unsigned long long)d->size, d->path);
	return 0;
}

/* Open "FILE" or "FILE,ro" (see blk.h). d is fully reset first; on failure
 * nothing stays open and blk_disk_close(d) is harmless. */
int blk_disk_open(struct blk_disk *d, const char *spec, struct err *e)
{
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	d->sync = fdatasync;
	int r = blk_parse_spec(d, spec, e);
	if (r < 0)
		return r;
	struct stat st;
	if (stat(d->path, &st) < 0) {
		if (errno == ENOENT)
			return err_exit(e, EXIT_USAGE, "disk %s does not exist; create it "
					"(truncate -s 10G %s) or give another path", d->path, d->path);
		return err_sys(e, errno, "disk %s", d->path);
	}
	if ((r = blk_check_type(d, &st, e)) < 0 || (r = blk_open_fd(d, &st, e)) < 0 ||
	    (r = blk_lock(d, e)) < 0 || (r = blk_size(d, &st, e)) < 0) {
		blk_disk_close(d);
		return r;
	}
	return 0;
}

/* Close the disk, which also drops its lock. */
void blk_disk_close(struct blk_disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* The chain's segments [from, to) as iovecs covering bytes [off, off + len)
 * of that part; zero-length pieces are left out. Returns the iovec count.
 * The caller has checked off + len against the part's length. */
static int blk_iov(const struct virtq_chain *c, unsigned from, unsigned to, uint64_t off,
		   uint64_t len, struct iovec *iov)
{
	int n = 0;
	for (unsigned i = from; i < to && len > 0; i++) {
		uint64_t l = c->seg[i].len;
		if (off >= l) {
			off -= l;
			continue;
		}
		uint64_t take = l - off < len ? l - off : len;
		iov[n].iov_base = c->seg[i].p + off;
		iov[n].iov_len = (size_t)take;
		n++;
		len -= take;
		off = 0;
	}
	return n;
}

/* Move all of iov to (write) or from the disk at off, retrying short
 * transfers and EINTR. *done gets the bytes moved. Returns 0 or -errno
 * (-EIO when the file ended early: it shrank under us). */
static int blk_io(int fd, int write, struct iovec *iov, int n, uint64_t off, uint64_t *done)
{
	*done = 0;
	while (n > 0) {
		ssize_t r = write ? pwritev(fd, iov, n, (off_t)off) : preadv(fd, iov, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		*done += (uint64_t)r;
		off += (uint64_t)r;
		size_t left = (size_t)r;
		while (n > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

/* Whether [sector * 512, + len) lies on the disk and len is whole sectors
 * (5.2.6.1: the driver must not ask otherwise; the device answers IOERR). */
static int blk_in_range(const struct blk_disk *d, uint64_t sector, uint64_t len)
{
	if (len % BLK_SECTOR || sector > UINT64_MAX / BLK_SECTOR)
		return 0;
	uint64_t off = sector * BLK_SECTOR;
	return len <= d->size && off <= d->size - len;
}

/* VIRTIO_BLK_T_IN: read into the writable part before the status byte. */
static uint8_t blk_read(struct blk_disk *d, const struct virtq_chain *c, uint64_t sector,
			uint64_t len, uint64_t *done)
{
	struct iovec iov[VIRTQ_MAX_SEGS];
	*done = 0;
	d->reads++;
	if (!blk_in_range(d, sector, len))
		return VIRTIO_BLK_S_IOERR;
	int n = blk_iov(c, c->nread, c->nseg, 0, len, iov);
	int r = blk_io(d->fd, 0, iov, n, sector * BLK_SECTOR, done);
	__atomic_add_fetch(&d->read_bytes, *done, __ATOMIC_RELAXED);   /* read by stats */
	return r < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* VIRTIO_BLK_T_OUT: write the readable bytes after the header. A read-only
 * disk writes nothing and answers IOERR (5.2.6.2). */
static uint8_t blk_write(struct blk_disk *d, const struct virtq_chain *c, uint64_t sector,
			 uint64_t len)
{
	struct iovec iov[VIRTQ_MAX_SEGS];
	uint64_t done = 0;
	d->writes++;
	if (d->ro || !blk_in_range(d, sector, len))
		return VIRTIO_BLK_S_IOERR;
	int n = blk_iov(c, 0, c->nread, VIRTIO_BLK_HDR_LEN, len, iov);
	int r = blk_io(d->fd, 1, iov, n, sector * BLK_SECTOR, &done);
	__atomic_add_fetch(&d->write_bytes, done, __ATOMIC_RELAXED);
	return r < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* VIRTIO_BLK_T_FLUSH: make completed writes durable. A failed sync is
 * sticky (see blk.h): that flush and every later one answer IOERR, though
 * sync is still tried each time and writes still go on. Read-only: OK. */
static uint8_t blk_flush(struct blk_disk *d)
{
	d->flushes++;
	if (d->ro)
		return VIRTIO_BLK_S_OK;
	if (d->sync(d->fd) < 0)
		d->flush_failed = 1;
	return d->flush_failed ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* VIRTIO_BLK_T_GET_ID: "berth-" and 12 hex digits of a 64-bit FNV-1a hash
 * of the disk's path as given (stable across boots of one guest config),
 * NUL-padded to 20 bytes; as many bytes as the data part holds. */
static uint8_t blk_get_id(const struct blk_disk *d, const struct virtq_chain *c, uint64_t len,
			  uint64_t *done)
{
	struct iovec iov[VIRTQ_MAX_SEGS];
	char id[VIRTIO_BLK_ID_BYTES + 1] = { 0 };
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = d->path; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	snprintf(id, sizeof(id), "berth-%012llx", (unsigned long long)(h & 0xffffffffffffull));
	if (len > VIRTIO_BLK_ID_BYTES)
		len = VIRTIO_BLK_ID_BYTES;
	int n = blk_iov(c, c->nread, c->nseg, 0, len, iov);
	size_t at = 0;
	for (int i = 0; i < n; i++) {
		memcpy(iov[i].iov_base, id + at, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	*done = at;
	return VIRTIO_BLK_S_OK;
}

/* Serve one chain (5.2.6); see blk.h for the return value. */
uint32_t blk_request(struct blk_disk *d, const struct virtq_chain *c)
{
	if (c->nseg > VIRTQ_MAX_SEGS || c->nread > c->nseg) {
		d->errors++;
		return 0;
	}
	uint64_t rlen = 0, wlen = 0;
	uint8_t *status = NULL;
	for (unsigned i = 0; i < c->nseg; i++) {
		if (i < c->nread) {
			rlen += c->seg[i].len;
		} else if (c->seg[i].len) {
			wlen += c->seg[i].len;
			status = c->seg[i].p + c->seg[i].len - 1;
		}
	}
	if (rlen < VIRTIO_BLK_HDR_LEN || !status) {
		d->errors++;
		return 0;
	}

	struct iovec iov[VIRTQ_MAX_SEGS];
	uint8_t hdr[VIRTIO_BLK_HDR_LEN];
	int n = blk_iov(c, 0, c->nread, 0, sizeof(hdr), iov);
	for (int i = 0, at = 0; i < n; at += (int)iov[i].iov_len, i++)
		memcpy(hdr + at, iov[i].iov_base, iov[i].iov_len);
	uint32_t type = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
			(uint32_t)hdr[3] << 24;
	uint64_t sector = 0;
	for (int i = 15; i >= 8; i--)
		sector = sector << 8 | hdr[i];

	uint64_t in_len = wlen - 1;   /* writable bytes before the status */
	uint64_t done = 0;
	uint8_t s;
	switch (type) {
	case VIRTIO_BLK_T_IN:
		s = blk_read(d, c, sector, in_len, &done);
		break;
	case VIRTIO_BLK_T_OUT:
		s = blk_write(d, c, sector, rlen - VIRTIO_BLK_HDR_LEN);
		break;
	case VIRTIO_BLK_T_FLUSH:
		s = blk_flush(d);
		break;
	case VIRTIO_BLK_T_GET_ID:
		s = blk_get_id(d, c, in_len, &done);
		break;
	default:
		s = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (s != VIRTIO_BLK_S_OK)
		d->errors++;
	*status = s;
	return done < UINT32_MAX ? (uint32_t)done + 1 : UINT32_MAX;   /* virtq caps chains far lower */
}

/* Device feature bits (5.2.3): SEG_MAX, BLK_SIZE, FLUSH, and RO for a
 * read-only disk. */
uint64_t blk_features(const struct blk_disk *d)
{
	uint64_t f = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
		     1ull << VIRTIO_BLK_F_FLUSH;
	if (d->ro)
		f |= 1ull << VIRTIO_BLK_F_RO;
	return f;
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Config space (5.2.4): capacity (whole 512-byte sectors, rounded down),
 * size_max 0 (not offered), seg_max (two segments of a chain go to the
 * header and the status), geometry 0 (not offered), blk_size 512. */
void blk_config_read(const struct blk_disk *d, uint32_t off, uint8_t *data, unsigned len)
{
	uint8_t cfg[BLK_CONFIG_LEN] = { 0 };
	put_le(cfg + 0, d->size / BLK_SECTOR, 8);
	put_le(cfg + 8, 0, 4);
	put_le(cfg + 12, VIRTQ_MAX_SEGS - 2, 4);
	put_le(cfg + 20, BLK_SECTOR, 4);
	memset(data, 0, len);
	if (off < sizeof(cfg))
		memcpy(data, cfg + off, len < sizeof(cfg) - off ? len : sizeof(cfg) - off);
}
