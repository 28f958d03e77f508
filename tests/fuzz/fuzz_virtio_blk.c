/* fuzz_virtio_blk.c - libFuzzer target for blk_request (virtio-blk requests,
 * virtio 1.2 section 5.2.6), the part of the disk device a guest drives.
 *
 * Input: byte 0 holds flags (bit 0: the sync stub fails; bit 1: the disk is
 * read-only; bit 2: an earlier flush already failed), byte 1 the segment
 * count, byte 2 how many are readable; then two bytes of length per segment
 * (each segment its own allocation, so ASan sees any access past it; all
 * together at most POOL bytes); the rest fills the readable segments in
 * order (the header first). The disk is a small temporary file made once.
 *
 * Checked: no crash or leak; the device never writes a readable segment; a
 * malformed chain returns 0 and leaves everything alone; otherwise the
 * status byte is the one the request calls for (worked out here on its
 * own, in sectors, so an offset that wraps around cannot hide), the used
 * length fits the writable part, nothing but the data part and the status
 * byte changes, and an IN or OUT that succeeded matches the file. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm/virtio/blk.h"

#define DISK_BYTES (32 * BLK_SECTOR + 17)   /* a partial sector at the end */
#define MAX_SEGS 24
#define POOL (16 * 1024)
#define FILL 0xa5

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct blk_disk disk;   /* one disk for the whole run (the harness's state) */
static int sync_fails;

static int sync_stub(int fd)
{
	if (sync_fails) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/berth-fuzz-blk-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, DISK_BYTES) < 0) {
		perror("fuzz_virtio_blk: temporary disk");
		abort();
	}
	close(fd);
	struct err e = { 0 };
	if (blk_disk_open(&disk, path, &e) < 0) {
		fprintf(stderr, "fuzz_virtio_blk: %s\n", e.msg);
		abort();
	}
	unlink(path);
	disk.sync = sync_stub;
	return 0;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* Whether buffer p of len bytes equals the file at off. */
static int matches_file(const uint8_t *p, uint64_t len, uint64_t off)
{
	uint8_t buf[POOL];
	if (len > sizeof(buf) || pread(disk.fd, buf, len, (off_t)off) != (ssize_t)len)
		return 0;
	return !memcmp(p, buf, len);
}

/* Whether an IN or OUT of len bytes at sector is one the disk must serve:
 * whole sectors, all of them on the disk (counted in sectors: no overflow). */
static int valid(uint64_t sector, uint64_t len)
{
	uint64_t cap = DISK_BYTES / BLK_SECTOR;
	return len % BLK_SECTOR == 0 && sector <= cap && len / BLK_SECTOR <= cap - sector;
}

/* Flatten parts of the chain: readable (w = 0) or writable (w = 1). */
static uint64_t flatten(const struct virtq_chain *c, int w, uint8_t *out)
{
	uint64_t n = 0;
	for (unsigned i = w ? c->nread : 0; i < (w ? c->nseg : c->nread); i++) {
		memcpy(out + n, c->seg[i].p, c->seg[i].len);
		n += c->seg[i].len;
	}
	return n;
}

static void check(const struct virtq_chain *c, const uint8_t *rd_before, uint32_t used,
		  int ro, int flush_failed_before)
{
	static uint8_t rd[POOL], wr[POOL];
	uint64_t rlen = flatten(c, 0, rd), wlen = flatten(c, 1, wr);
	if (memcmp(rd, rd_before, rlen))
		abort();   /* wrote into a readable segment */
	if (rlen < VIRTIO_BLK_HDR_LEN || wlen == 0) {
		for (uint64_t i = 0; i < wlen; i++)
			if (wr[i] != FILL)
				abort();
		if (used != 0)
			abort();
		return;
	}
	uint8_t status = wr[wlen - 1];
	uint32_t type = (uint32_t)le(rd, 4);
	uint64_t sector = le(rd + 8, 8);
	if (used == 0 || used > wlen || status > VIRTIO_BLK_S_UNSUPP)
		abort();
	uint64_t data = used - 1;   /* bytes written before the status */
	for (uint64_t i = data; i < wlen - 1; i++)
		if (wr[i] != FILL)
			abort();
	switch (type) {
	case VIRTIO_BLK_T_IN:
		if (status != (valid(sector, wlen - 1) ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR))
			abort();
		if (status == VIRTIO_BLK_S_OK &&
		    (data != wlen - 1 || !matches_file(wr, data, sector * BLK_SECTOR)))
			abort();
		break;
	case VIRTIO_BLK_T_OUT:
		if (status != (!ro && valid(sector, rlen - VIRTIO_BLK_HDR_LEN) ? VIRTIO_BLK_S_OK
									: VIRTIO_BLK_S_IOERR))
			abort();
		if (data != 0)
			abort();
		if (status == VIRTIO_BLK_S_OK &&
		    !matches_file(rd + VIRTIO_BLK_HDR_LEN, rlen - VIRTIO_BLK_HDR_LEN,
				  sector * BLK_SECTOR))
			abort();
		break;
	case VIRTIO_BLK_T_FLUSH: {
		int want = ro ? VIRTIO_BLK_S_OK
			      : (sync_fails || flush_failed_before) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		if (data != 0 || status != want)
			abort();
		break;
	}
	case VIRTIO_BLK_T_GET_ID:
		if (status != VIRTIO_BLK_S_OK ||
		    data != (wlen - 1 < VIRTIO_BLK_ID_BYTES ? wlen - 1 : VIRTIO_BLK_ID_BYTES) ||
		    memcmp(wr, "berth-", data < 6 ? data : 6))
			abort();
		break;
	default:
		if (data != 0 || status != VIRTIO_BLK_S_UNSUPP)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rd_before[POOL];
	if (size < 3)
		return 0;
	uint8_t flags = data[0];
	unsigned nseg = data[1] % (MAX_SEGS + 1), nread = data[2] % (nseg + 1);
	data += 3;
	size -= 3;
	if (size < 2 * nseg)
		return 0;

	struct virtq_chain *c = calloc(1, sizeof(*c));
	if (!c)
		return 0;
	const uint8_t *lens = data, *fill = data + 2 * nseg;
	size_t left = POOL, fill_len = size - 2 * nseg;
	for (unsigned i = 0; i < nseg; i++) {
		uint32_t len = (uint32_t)(lens[2 * i] | lens[2 * i + 1] << 8) % 4096;
		if (len > left)
			len = (uint32_t)left;
		left -= len;
		c->seg[i].p = malloc(len ? len : 1);
		if (!c->seg[i].p)
			abort();
		c->seg[i].len = len;
		c->seg[i].writable = i >= nread;
		if (i < nread) {
			size_t n = len < fill_len ? len : fill_len;
			memcpy(c->seg[i].p, fill, n);
			memset(c->seg[i].p + n, 0, len - n);
			fill += n;
			fill_len -= n;
			c->read_len += len;
		} else {
			memset(c->seg[i].p, FILL, len);
			c->write_len += len;
		}
	}
	c->nseg = nseg;
	c->nread = nread;
	flatten(c, 0, rd_before);

	sync_fails = flags & 1;
	disk.ro = (flags >> 1) & 1;
	disk.flush_failed = (flags >> 2) & 1;
	int flush_failed_before = disk.flush_failed;
	uint32_t used = blk_request(&disk, c);
	check(c, rd_before, used, disk.ro, flush_failed_before);

	for (unsigned i = 0; i < nseg; i++)
		free(c->seg[i].p);
	free(c);
	return 0;
}
