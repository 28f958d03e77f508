/* test_virtio_blk.c - virtio-blk requests (virtio 1.2 section 5.2.6) over a
 * temporary image file, with chains built by hand over host buffers (no
 * guest memory, no transport): reads and writes with every framing, range
 * and length refusals, malformed chains, GET_ID, read-only disks, flush and
 * its sticky failure, config space and features, what blk_disk_open
 * refuses (wrong file types, empty files, a disk locked by another VM), and
 * the device glue (blk_dev.c) serving a split ring in guest memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "vm/memory.h"
#include "vm/virtio/blk.h"

#define DISK_SECTORS 64
#define DISK_SIZE (DISK_SECTORS * BLK_SECTOR + 100)   /* a partial sector at the end */

static char tmp[64], img[128];

/* A chain under construction: segments over malloc'd buffers (one each, so
 * ASan sees any access past a segment), freed by chain_free. Readable
 * segments must all be added before writable ones. */
struct tchain {
	struct virtq_chain c;
};

static uint8_t *seg_add(struct tchain *t, uint32_t len, int writable)
{
	struct virtq_chain *c = &t->c;
	assert_true(c->nseg < VIRTQ_MAX_SEGS);
	uint8_t *p = malloc(len ? len : 1);
	assert_non_null(p);
	memset(p, writable ? 0xa5 : 0, len);
	c->seg[c->nseg] = (struct virtq_seg){ .p = p, .len = len, .writable = writable };
	c->nseg++;
	if (writable) {
		c->write_len += len;
	} else {
		assert_int_equal(c->nread, c->nseg - 1);
		c->nread++;
		c->read_len += len;
	}
	return p;
}

static void chain_free(struct tchain *t)
{
	for (unsigned i = 0; i < t->c.nseg; i++)
		free(t->c.seg[i].p);
	memset(t, 0, sizeof(*t));
}

static void put_hdr(uint8_t *p, uint32_t type, uint64_t sector)
{
	memset(p, 0, VIRTIO_BLK_HDR_LEN);
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(type >> (8 * i));
	for (int i = 0; i < 8; i++)
		p[8 + i] = (uint8_t)(sector >> (8 * i));
}

/* The common shape: one header segment, an optional data segment, one
 * status segment. Returns the status pointer; *data gets the data buffer. */
static uint8_t *simple(struct tchain *t, uint32_t type, uint64_t sector, uint32_t len,
		       uint8_t **data)
{
	memset(t, 0, sizeof(*t));
	put_hdr(seg_add(t, VIRTIO_BLK_HDR_LEN, 0), type, sector);
	uint8_t *buf = NULL;
	if (type == VIRTIO_BLK_T_OUT && len)
		buf = seg_add(t, len, 0);
	else if (len)
		buf = seg_add(t, len, 1);
	if (data)
		*data = buf;
	return seg_add(t, 1, 1);
}

/* Bytes [off, off + len) of the image file as it is on disk. */
static void file_read(uint64_t off, void *buf, size_t len)
{
	int fd = open(img, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/berth-test-blk-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(img, sizeof(img), "%s/disk.img", tmp);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	struct err e = { 0 };
	return rm_rf(tmp, &e) < 0 ? -1 : 0;
}

/* Each test starts from a fresh image: sector n filled with byte n. */
static int fresh_image(void **state)
{
	(void)state;
	int fd = open(img, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	uint8_t buf[DISK_SIZE];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i / BLK_SECTOR);
	int ok = write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf);
	close(fd);
	return ok ? 0 : -1;
}

static struct blk_disk *disk_open(const char *spec)
{
	struct blk_disk *d = malloc(sizeof(*d));
	struct err e = { 0 };
	assert_non_null(d);
	if (blk_disk_open(d, spec, &e) < 0)
		fail_msg("blk_disk_open %s: %s", spec, e.msg);
	return d;
}

static void disk_free(struct blk_disk *d)
{
	blk_disk_close(d);
	free(d);
}

static void test_open_size(void **state)
{
	struct blk_disk *d = disk_open(img);
	assert_int_equal(d->size, DISK_SIZE);
	assert_int_equal(d->ro, 0);
	assert_string_equal(d->path, img);
	assert_int_equal(fcntl(d->fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(fcntl(d->fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR);
	disk_free(d);
}

/* Write two sectors with the header split across segments and the data in
 * odd pieces; read them back with the status byte sharing the last data
 * segment; the file holds exactly what was written. */
static void test_round_trip(void **state)
{
	struct blk_disk *d = disk_open(img);
	struct tchain t = { 0 };
	uint8_t want[1024];
	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i * 7 + 3);

	uint8_t *h1 = seg_add(&t, 10, 0), *h2 = seg_add(&t, 6, 0), hdr[16];
	put_hdr(hdr, VIRTIO_BLK_T_OUT, 3);
	memcpy(h1, hdr, 10);
	memcpy(h2, hdr + 10, 6);
	memcpy(seg_add(&t, 100, 0), want, 100);
	memcpy(seg_add(&t, 1, 0), want + 100, 1);
	memcpy(seg_add(&t, 923, 0), want + 101, 923);
	seg_add(&t, 0, 1);                     /* empty writable segment: skipped */
	uint8_t *st = seg_add(&t, 1, 1);
	assert_int_equal(blk_request(d, &t.c), 1);
	assert_int_equal(*st, VIRTIO_BLK_S_OK);
	chain_free(&t);

	uint8_t got[1024];
	file_read(3 * BLK_SECTOR, got, sizeof(got));
	assert_memory_equal(got, want, sizeof(want));
	file_read(2 * BLK_SECTOR, got, BLK_SECTOR);   /* neighbours untouched */
	assert_int_equal(got[511], 2);
	file_read(5 * BLK_SECTOR, got, 1);
	assert_int_equal(got[0], 5);

	/* read: header and data in one readable segment would be an OUT; here
	 * the header has extra readable bytes after it (ignored), data is 700
	 * + 325 bytes where the last byte of the second piece is the status */
	put_hdr(seg_add(&t, 16, 0), VIRTIO_BLK_T_IN, 3);
	seg_add(&t, 8, 0);
	uint8_t *a = seg_add(&t, 700, 1), *b = seg_add(&t, 325, 1);
	assert_int_equal(blk_request(d, &t.c), 1025);
	assert_int_equal(b[324], VIRTIO_BLK_S_OK);
	assert_memory_equal(a, want, 700);
	assert_memory_equal(b, want + 700, 324);
	chain_free(&t);

	/* an OUT with header and data in one segment */
	uint8_t *one = seg_add(&t, 16 + 512, 0);
	put_hdr(one, VIRTIO_BLK_T_OUT, 10);
	memset(one + 16, 0x42, 512);
	st = seg_add(&t, 1, 1);
	assert_int_equal(blk_request(d, &t.c), 1);
	assert_int_equal(*st, VIRTIO_BLK_S_OK);
	chain_free(&t);
	file_read(10 * BLK_SECTOR + 511, got, 2);
	assert_int_equal(got[0], 0x42);
	assert_int_equal(got[1], 11);

	assert_int_equal(d->reads, 1);
	assert_int_equal(d->writes, 2);
	assert_int_equal(d->read_bytes, 1024);
	assert_int_equal(d->write_bytes, 1024 + 512);
	assert_int_equal(d->errors, 0);
	disk_free(d);
}

/* The last whole sector reads; one past it, a request running over the end,
 * or into the partial sector at the end is an IOERR that moves no data. */
static void test_range(void **state)
{
	struct blk_disk *d = disk_open(img);
	struct tchain t;
	uint8_t *data, *st;

	st = simple(&t, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 512, &data);
	assert_int_equal(blk_request(d, &t.c), 513);
	assert_int_equal(*st, VIRTIO_BLK_S_OK);
	assert_int_equal(data[0], DISK_SECTORS - 1);
	chain_free(&t);

	uint64_t bad[][2] = { { DISK_SECTORS, 512 }, { DISK_SECTORS - 1, 1024 },
			      { DISK_SECTORS + 1000, 512 } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st = simple(&t, VIRTIO_BLK_T_IN, bad[i][0], (uint32_t)bad[i][1], &data);
		assert_int_equal(blk_request(d, &t.c), 1);
		assert_int_equal(*st, VIRTIO_BLK_S_IOERR);
		assert_int_equal(data[0], 0xa5);   /* nothing read */
		chain_free(&t);

		st = simple(&t, VIRTIO_BLK_T_OUT, bad[i][0], (uint32_t)bad[i][1], &data);
		memset(data, 0x77, bad[i][1]);
		assert_int_equal(blk_request(d, &t.c), 1);
		assert_int_equal(*st, VIRTIO_BLK_S_IOERR);
		chain_free(&t);
	}
	uint8_t tail[100];
	file_read(DISK_SECTORS * BLK_SECTOR, tail, sizeof(tail));
	assert_int_equal(tail[0], DISK_SECTORS);
	assert_int_equal(d->size, DISK_SIZE);   /* nothing appended */
	struct stat sb;
	assert_int_equal(stat(img, &sb), 0);
	assert_int_equal(sb.st_size, DISK_SIZE);
	assert_int_equal(d->errors, 6);
	assert_int_equal(d->read_bytes, 512);
	assert_int_equal(d->write_bytes, 0);
	disk_free(d);
}

/* sector * 512 and sector * 512 + len must not wrap around. */
static void test_overflow(void **state)
{
	struct blk_disk *d = disk_open(img);
	struct tchain t;
	uint64_t sectors[] = { UINT64_MAX, UINT64_MAX / BLK_SECTOR, UINT64_MAX / BLK_SECTOR + 1,
			       (UINT64_MAX - 511) / BLK_SECTOR, 1ull << 55 };
	for (size_t i = 0; i < sizeof(sectors) / sizeof(sectors[0]); i++) {
		for (uint32_t type = 0; type < 2; type++) {
			uint8_t *st = simple(&t, type, sectors[i], 512, NULL);
			assert_int_equal(blk_request(d, &t.c), 1);
			assert_int_equal(*st, VIRTIO_BLK_S_IOERR);
			chain_free(&t);
		}
	}
	assert_int_equal(d->errors, 10);
	disk_free(d);
}

/* Data that is not whole sectors is refused (5.2.6.1), even in range. */
static void test_partial_sector(void **state)
{
	struct blk_disk *d = disk_open(img);
	struct tchain t;
	uint32_t lens[] = { 1, 100, 511, 513, 1000 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t *data;
		uint8_t *st = simple(&t, VIRTIO_BLK_T_IN, 0, lens[i], &data);
		assert_int_equal(blk_request(d, &t.c), 1);
		assert_int_equal(*st, VIRTIO_BLK_S_IOERR);
		assert_int_equal(data[0], 0xa5);
		chain_free(&t);
		st = simple(&t, VIRTIO_BLK_T_OUT, 0, lens[i], &data);
		memset(data, 0x99, lens[i]);
		assert_int_equal(blk_request(d, &t.c), 1);
		assert_int_equal(*st, VIRTIO_BLK_S_IOERR);
		chain_free(&t);
	}
	uint8_t b;
	file_read(0, &b, 1);
	assert_int_equal(b, 0);
	/* zero-length data is whole sectors: nothing to do, OK */
	uint8_t *st = simple(&t, VIRTIO_BLK_T_IN, 5, 0, NULL);
	assert_int_equal(blk_request(d, &t.c), 1);
	assert_int_equal(*st, VIRTIO_BLK_S_OK);
	chain_free(&t);
	disk_free(d);
}

/* No header (fewer than 16 readable bytes) or no writable byte for the
 * status: nothing is written, 0 is returned, an error is counted. */
static void test_malformed(void **state)
{
	struct blk_disk *d = disk_open(img);
	struct tchain t = { 0 };

	uint8_t hdr[VIRTIO_BLK_HDR_LEN];                              /* short header */
	put_hdr(hdr, VIRTIO_BLK_T_FLUSH, 0);
	memcpy(seg_add(&t, 10, 0), hdr, 10);
	memcpy(seg_add(&t, 5, 0), hdr + 10, 5);
	uint8_t *st = seg_add(&t, 1, 1);
	*st = 0x5a;
	assert_int_equal(blk_request(d, &t.c), 0);
	assert_int_equal(*st, 0x5a);
	chain_free(&t);

	put_hdr(seg_add(&t, 16, 0), VIRTIO_BLK_T_FLUSH, 0);          /* no writable part */
	assert_int_equal(blk_request(d, &t.c), 0);
	chain_free(&t);

	put_hdr(seg_add(&t, 16, 0), VIRTIO_BLK_T_FLUSH, 0);          /* only empty ones */
	seg_add(&t, 0, 1);
	seg_add(&t, 0, 1);
	assert_int_equal(blk_request(d, &t.c), 0);
	chain_free(&t);

	st = seg_add(&t, 1, 1);                                       /* nothing readable */
	*st = 0x5a;
	assert_int_equal(blk_request(d, &t.c), 0);
	assert_int_equal(*st, 0x5a);
	chain_free(&t);

	assert_int_equal(blk_request(d, &t.c), 0);                    /* empty chain */
	assert_int_equal(d->errors, 5);
	assert_int_equal(d->flushes, 0);
	disk_free(d);
}

/* Types other than IN, OUT, FLUSH and GET_ID (discard, write zeroes, a
 * legacy SCSI command, garbage) are unsupported and touch nothing. */
static void test_unsupported(void **state)
{
	struct blk_disk *d = disk_open(img);
	struct tchain t;
	uint32_t types[] = { 2, 3, 11, 13, 14, 0x80000000u, 0x80000001u, UINT32_MAX };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint8_t *data;
		uint8_t *st = simple(&t, types[i], 0, 512, &data);
		assert_int_equal(blk_request(d, &t.c), 1);
		assert_int_equal(*st, VIRTIO_BLK_S_UNSUPP);
		assert_int_equal(data[0], 0xa5);
		chain_free(&t);
	}
	assert_int_equal(d->errors, 8);
	assert_int_equal(d->reads + d->writes + d->flushes, 0);
	disk_free(d);
}

/* GET_ID: "berth-" and a hash of the path, NUL-padded to 20 bytes; stable
 * for one path, different for another; cut to a shorter buffer. */
static void test_get_id(void **state)
{
	struct blk_disk *d = disk_open(img);
	struct tchain t;
	uint8_t *id, *st = simple(&t, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, &id);
	assert_int_equal(blk_request(d, &t.c), VIRTIO_BLK_ID_BYTES + 1);
	assert_int_equal(*st, VIRTIO_BLK_S_OK);
	char first[VIRTIO_BLK_ID_BYTES];
	memcpy(first, id, sizeof(first));
	chain_free(&t);
	assert_memory_equal(first, "berth-", 6);
	size_t n = strnlen(first, sizeof(first));
	assert_int_equal(n, 18);
	for (size_t i = 6; i < n; i++)
		assert_non_null(strchr("0123456789abcdef", first[i]));
	for (size_t i = n; i < sizeof(first); i++)
		assert_int_equal(first[i], 0);

	/* larger buffer: still 20 bytes written; smaller: cut */
	st = simple(&t, VIRTIO_BLK_T_GET_ID, 0, 64, &id);
	assert_int_equal(blk_request(d, &t.c), VIRTIO_BLK_ID_BYTES + 1);
	assert_memory_equal(id, first, sizeof(first));
	assert_int_equal(id[20], 0xa5);
	chain_free(&t);
	st = simple(&t, VIRTIO_BLK_T_GET_ID, 0, 8, &id);
	assert_int_equal(blk_request(d, &t.c), 9);
	assert_int_equal(*st, VIRTIO_BLK_S_OK);
	assert_memory_equal(id, first, 8);
	chain_free(&t);
	disk_free(d);

	d = disk_open(img);
	st = simple(&t, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, &id);
	blk_request(d, &t.c);
	assert_memory_equal(id, first, sizeof(first));
	chain_free(&t);
	disk_free(d);

	char other[160];
	snprintf(other, sizeof(other), "%s/other.img", tmp);
	int fd = open(other, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	d = disk_open(other);
	st = simple(&t, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, &id);
	blk_request(d, &t.c);
	assert_memory_not_equal(id, first, sizeof(first));
	chain_free(&t);
	disk_free(d);
	unlink(other);
}

static int sync_calls;
static int sync_fail;

static int sync_stub(int fd)
{
	sync_calls++;
	if (sync_fail) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* Read-only: opened O_RDONLY, RO offered, OUT refused without writing, IN
 * and FLUSH (no sync) fine. */
static void test_ro(void **state)
{
	char spec[160];
	snprintf(spec, sizeof(spec), "%s,ro", img);
	struct blk_disk *d = disk_open(spec);
	assert_int_equal(d->ro, 1);
	assert_string_equal(d->path, img);
	assert_int_equal(fcntl(d->fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_true(blk_features(d) & (1ull << VIRTIO_BLK_F_RO));
	d->sync = sync_stub;
	sync_calls = 0;

	struct tchain t;
	uint8_t *data, *st = simple(&t, VIRTIO_BLK_T_OUT, 1, 512, &data);
	memset(data, 0xee, 512);
	assert_int_equal(blk_request(d, &t.c), 1);
	assert_int_equal(*st, VIRTIO_BLK_S_IOERR);
	chain_free(&t);
	uint8_t b;
	file_read(BLK_SECTOR, &b, 1);
	assert_int_equal(b, 1);

	st = simple(&t, VIRTIO_BLK_T_IN, 1, 512, &data);
	assert_int_equal(blk_request(d, &t.c), 513);
	assert_int_equal(*st, VIRTIO_BLK_S_OK);
	assert_int_equal(data[0], 1);
	chain_free(&t);

	st = simple(&t, VIRTIO_BLK_T_FLUSH, 0, 0, NULL);
	assert_int_equal(blk_request(d, &t.c), 1);
	assert_int_equal(*st, VIRTIO_BLK_S_OK);
	chain_free(&t);
	assert_int_equal(sync_calls, 0);
	assert_int_equal(d->errors, 1);
	disk_free(d);
}

static uint8_t do_flush(struct blk_disk *d)
{
	struct tchain t;
	uint8_t *st = simple(&t, VIRTIO_BLK_T_FLUSH, 0, 0, NULL);
	assert_int_equal(blk_request(d, &t.c), 1);
	uint8_t s = *st;
	chain_free(&t);
	return s;
}

/* FLUSH syncs; the real fdatasync is the default. */
static void test_flush(void **state)
{
	struct blk_disk *d = disk_open(img);
	assert_ptr_equal(d->sync, fdatasync);
	assert_int_equal(do_flush(d), VIRTIO_BLK_S_OK);
	d->sync = sync_stub;
	sync_calls = 0;
	sync_fail = 0;
	assert_int_equal(do_flush(d), VIRTIO_BLK_S_OK);
	assert_int_equal(sync_calls, 1);
	/* data in a FLUSH chain is ignored */
	struct tchain t;
	uint8_t *st = simple(&t, VIRTIO_BLK_T_FLUSH, 99, 512, NULL);
	assert_int_equal(blk_request(d, &t.c), 1);
	assert_int_equal(*st, VIRTIO_BLK_S_OK);
	chain_free(&t);
	assert_int_equal(d->flushes, 3);
	assert_int_equal(d->errors, 0);
	disk_free(d);
}

/* A failed sync is sticky: that flush and every later one are IOERR even
 * once sync works again; writes and reads still work. */
static void test_flush_failure(void **state)
{
	struct blk_disk *d = disk_open(img);
	d->sync = sync_stub;
	sync_calls = 0;
	sync_fail = 1;
	assert_int_equal(do_flush(d), VIRTIO_BLK_S_IOERR);
	assert_int_equal(d->flush_failed, 1);
	sync_fail = 0;
	assert_int_equal(do_flush(d), VIRTIO_BLK_S_IOERR);
	assert_int_equal(sync_calls, 2);   /* still tried */

	struct tchain t;
	uint8_t *data, *st = simple(&t, VIRTIO_BLK_T_OUT, 7, 512, &data);
	memset(data, 0x31, 512);
	assert_int_equal(blk_request(d, &t.c), 1);
	assert_int_equal(*st, VIRTIO_BLK_S_OK);
	chain_free(&t);
	uint8_t b;
	file_read(7 * BLK_SECTOR, &b, 1);
	assert_int_equal(b, 0x31);

	assert_int_equal(do_flush(d), VIRTIO_BLK_S_IOERR);
	assert_int_equal(d->flushes, 3);
	assert_int_equal(d->errors, 3);
	disk_free(d);
}

/* Features and config space (5.2.3, 5.2.4), read whole and in pieces. */
static void test_config(void **state)
{
	struct blk_disk *d = disk_open(img);
	uint64_t f = blk_features(d);
	assert_int_equal(f, (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
				    (1ull << VIRTIO_BLK_F_FLUSH));
	uint8_t cfg[BLK_CONFIG_LEN];
	memset(cfg, 0xff, sizeof(cfg));
	blk_config_read(d, 0, cfg, sizeof(cfg));
	uint8_t want[BLK_CONFIG_LEN] = { DISK_SECTORS, 0, 0, 0, 0, 0, 0, 0,   /* capacity */
					 0, 0, 0, 0,                          /* size_max */
					 254, 0, 0, 0,                        /* seg_max */
					 0, 0, 0, 0,                          /* geometry */
					 0, 2, 0, 0 };                        /* blk_size */
	assert_memory_equal(cfg, want, sizeof(want));
	for (uint32_t off = 0; off < BLK_CONFIG_LEN; off++) {
		for (unsigned len = 1; len <= 8; len++) {
			uint8_t v[8];
			memset(v, 0xff, sizeof(v));
			blk_config_read(d, off, v, len);
			for (unsigned i = 0; i < len; i++)
				assert_int_equal(v[i], off + i < BLK_CONFIG_LEN ? want[off + i] : 0);
		}
	}
	uint8_t v[4] = { 1, 2, 3, 4 };
	blk_config_read(d, UINT32_MAX, v, 4);
	assert_int_equal(v[0] | v[1] | v[2] | v[3], 0);
	disk_free(d);
}

static void expect_refused(const char *spec, const char *needle, int exit_code)
{
	struct blk_disk d;
	struct err e = { 0 };
	assert_true(blk_disk_open(&d, spec, &e) < 0);
	assert_int_equal(d.fd, -1);
	assert_true(e.code < 0);
	if (!strstr(e.msg, needle))
		fail_msg("open %s: '%s' lacks '%s'", spec, e.msg, needle);
	assert_null(strchr(e.msg, '\n'));
	assert_int_equal(e.exit_code, exit_code);
	blk_disk_close(&d);   /* harmless after a failure */
}

/* Wrong kinds of files, a missing one, an empty one, an empty spec. */
static void test_open_refused(void **state)
{
	char p[192];
	expect_refused(tmp, "is a directory; give a raw image file or a block device",
		       EXIT_USAGE);
	snprintf(p, sizeof(p), "%s,ro", tmp);
	expect_refused(p, "is a directory", EXIT_USAGE);
	snprintf(p, sizeof(p), "%s/missing.img", tmp);
	expect_refused(p, "does not exist; create it", EXIT_USAGE);
	snprintf(p, sizeof(p), "%s/fifo", tmp);
	assert_int_equal(mkfifo(p, 0600), 0);
	expect_refused(p, "is a fifo", EXIT_USAGE);
	snprintf(p + strlen(p), sizeof(p) - strlen(p), ",ro");
	expect_refused(p, "is a fifo", EXIT_USAGE);   /* would block in open O_RDONLY */
	expect_refused("/dev/null", "is a character device", EXIT_USAGE);
	snprintf(p, sizeof(p), "%s/empty.img", tmp);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	expect_refused(p, "is empty; give it a size first", EXIT_USAGE);
	assert_int_equal(write(fd, "x", 1), 1);
	expect_refused(p, "holds no whole 512-byte sector", EXIT_USAGE);
	close(fd);
	expect_refused("", "names no file", EXIT_USAGE);
	expect_refused(",ro", "names no file", EXIT_USAGE);
	snprintf(p, sizeof(p), "%s/a,b", tmp);   /* a comma not followed by ro is a name */
	expect_refused(p, "a,b does not exist", EXIT_USAGE);
}

/* The flock: one read-write user, or any number of read-only ones. */
static void test_lock(void **state)
{
	char ro[160];
	snprintf(ro, sizeof(ro), "%s,ro", img);
	struct blk_disk *d = disk_open(img);
	expect_refused(img, "is in use by another VM; stop it first", EXIT_STATE);
	expect_refused(ro, "is in use by another VM; stop it first", EXIT_STATE);
	disk_free(d);

	struct blk_disk *r1 = disk_open(ro), *r2 = disk_open(ro);
	expect_refused(img, "is in use by another VM", EXIT_STATE);
	disk_free(r1);
	expect_refused(img, "is in use by another VM", EXIT_STATE);
	disk_free(r2);
	d = disk_open(img);   /* free again once both are closed */
	disk_free(d);
}

/* A read-write disk the user cannot write is refused with the ro hint.
 * Root writes anyway, so as root the check runs in a child that has become
 * nobody (the temporary directory is opened to it for the while). */
static void test_open_readonly_file(void **state)
{
	char p[192];
	snprintf(p, sizeof(p), "%s/locked.img", tmp);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	if (geteuid() != 0) {
		expect_refused(p, "attach it read-only (", 1);
		return;
	}
	assert_int_equal(chmod(tmp, 0711), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct blk_disk d;
		struct err e = { 0 };
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		int r = blk_disk_open(&d, p, &e);
		_exit(r == -EACCES && strstr(e.msg, "attach it read-only (") && e.exit_code == 1 ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(chmod(tmp, 0700), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The device glue over a real split ring (2.7) in guest memory: two good
 * requests are served and returned in the used ring with their lengths,
 * then a chain with a short header fails the device (DEVICE_NEEDS_RESET,
 * a configuration interrupt) and nothing after it is served. */
#define G_DESC  0x1000ull
#define G_AVAIL 0x2000ull
#define G_USED  0x3000ull
#define G_DATA  0x10000ull

static void g_desc(const struct guest_mem *m, unsigned i, uint64_t addr, uint32_t len,
		   uint16_t flags, uint16_t next)
{
	uint8_t *p = mem_ptr(m, G_DESC + 16ull * i, 16);
	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static void g_avail(const struct guest_mem *m, uint16_t head)
{
	uint16_t idx;
	memcpy(&idx, mem_ptr(m, G_AVAIL + 2, 2), 2);
	memcpy(mem_ptr(m, G_AVAIL + 4 + 2ull * (idx % 8), 2), &head, 2);
	idx++;
	memcpy(mem_ptr(m, G_AVAIL + 2, 2), &idx, 2);
}

static void test_dev_queue(void **state)
{
	struct blk_disk *d = disk_open(img);
	struct guest_mem m;
	struct err e = { 0 };
	assert_int_equal(mem_alloc(&m, MEM_MIN, &e), 0);
	struct virtio_dev *vd = calloc(1, sizeof(*vd));
	assert_non_null(vd);
	vd->ops = &blk_dev_ops;
	vd->priv = d;
	vd->irq_fd = -1;
	vd->log_budget = 10;
	vd->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
	assert_int_equal(blk_dev_ops.device_id, 2);
	assert_int_equal(blk_dev_ops.nqueues, 1);
	assert_int_equal(blk_dev_ops.features(vd), blk_features(d));
	uint8_t cap[8];
	blk_dev_ops.config_read(vd, 0, cap, 8);
	assert_int_equal(cap[0], DISK_SECTORS);
	assert_int_equal(blk_dev_ops.activate(vd), 0);

	struct virtq *q = &vd->q[0];
	q->size = 8;
	q->desc_gpa = G_DESC;
	q->avail_gpa = G_AVAIL;
	q->used_gpa = G_USED;
	assert_int_equal(virtq_enable(q, &m), 0);
	q->ready = 1;

	/* head 0: IN sector 2, 512 bytes; head 3: FLUSH; head 5: 8-byte header */
	put_hdr(mem_ptr(&m, G_DATA, 16), VIRTIO_BLK_T_IN, 2);
	g_desc(&m, 0, G_DATA, 16, 1, 1);
	g_desc(&m, 1, G_DATA + 0x1000, 512, 1 | 2, 2);
	g_desc(&m, 2, G_DATA + 0x2000, 1, 2, 0);
	put_hdr(mem_ptr(&m, G_DATA + 0x3000, 16), VIRTIO_BLK_T_FLUSH, 0);
	g_desc(&m, 3, G_DATA + 0x3000, 16, 1, 4);
	g_desc(&m, 4, G_DATA + 0x4000, 1, 2, 0);
	g_desc(&m, 5, G_DATA + 0x5000, 8, 1, 6);
	g_desc(&m, 6, G_DATA + 0x6000, 1, 2, 0);
	uint8_t *st1 = mem_ptr(&m, G_DATA + 0x2000, 1), *st2 = mem_ptr(&m, G_DATA + 0x4000, 1);
	uint8_t *st3 = mem_ptr(&m, G_DATA + 0x6000, 1);
	*st1 = *st2 = *st3 = 0xff;
	g_avail(&m, 0);
	g_avail(&m, 3);
	blk_dev_ops.queue_notify(vd, 0);

	uint16_t used_idx;
	uint32_t elem[4];
	memcpy(&used_idx, mem_ptr(&m, G_USED + 2, 2), 2);
	memcpy(elem, mem_ptr(&m, G_USED + 4, 16), 16);
	assert_int_equal(used_idx, 2);
	assert_int_equal(elem[0], 0);
	assert_int_equal(elem[1], 513);
	assert_int_equal(elem[2], 3);
	assert_int_equal(elem[3], 1);
	assert_int_equal(*st1, VIRTIO_BLK_S_OK);
	assert_int_equal(*st2, VIRTIO_BLK_S_OK);
	assert_int_equal(*(uint8_t *)mem_ptr(&m, G_DATA + 0x1000 + 511, 1), 2);
	assert_true(vd->isr & 1);
	assert_false(vd->status & VIRTIO_STATUS_NEEDS_RESET);

	vd->isr = 0;
	g_avail(&m, 5);
	g_avail(&m, 3);
	blk_dev_ops.queue_notify(vd, 0);
	assert_true(vd->status & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(vd->isr & 2);
	assert_int_equal(*st3, 0xff);
	memcpy(&used_idx, mem_ptr(&m, G_USED + 2, 2), 2);
	assert_int_equal(used_idx, 2);
	blk_dev_ops.queue_notify(vd, 0);   /* ignored until reset */
	memcpy(&used_idx, mem_ptr(&m, G_USED + 2, 2), 2);
	assert_int_equal(used_idx, 2);
	assert_int_equal(d->flushes, 1);

	blk_dev_ops.reset(vd);
	free(vd);
	mem_free(&m);
	disk_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_open_size, fresh_image),
		cmocka_unit_test_setup(test_round_trip, fresh_image),
		cmocka_unit_test_setup(test_range, fresh_image),
		cmocka_unit_test_setup(test_overflow, fresh_image),
		cmocka_unit_test_setup(test_partial_sector, fresh_image),
		cmocka_unit_test_setup(test_malformed, fresh_image),
		cmocka_unit_test_setup(test_unsupported, fresh_image),
		cmocka_unit_test_setup(test_get_id, fresh_image),
		cmocka_unit_test_setup(test_ro, fresh_image),
		cmocka_unit_test_setup(test_flush, fresh_image),
		cmocka_unit_test_setup(test_flush_failure, fresh_image),
		cmocka_unit_test_setup(test_config, fresh_image),
		cmocka_unit_test_setup(test_open_refused, fresh_image),
		cmocka_unit_test_setup(test_lock, fresh_image),
		cmocka_unit_test_setup(test_open_readonly_file, fresh_image),
		cmocka_unit_test_setup(test_dev_queue, fresh_image),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
