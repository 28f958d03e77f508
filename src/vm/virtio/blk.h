/* blk.h - virtio-blk (virtio 1.2 section 5.2) over a raw image file or a
 * block device.
 *
 * A struct blk_disk lives for the whole VMM process (across reboots): it
 * holds the open file, the flock that keeps another VMM from using the same
 * disk (exclusive for read-write, shared for read-only), and the sticky
 * flush error: once an fdatasync fails, that FLUSH and every later one
 * complete with VIRTIO_BLK_S_IOERR, since the kernel may have dropped the
 * dirty pages it could not write (fsyncgate). A read-only disk offers
 * VIRTIO_BLK_F_RO and refuses writes with VIRTIO_BLK_S_IOERR. */
#ifndef BERTH_VM_VIRTIO_BLK_H
#define BERTH_VM_VIRTIO_BLK_H

#include <stdint.h>
#include <limits.h>

#include "lib/err.h"
#include "vm/virtio/mmio.h"
#include "vm/virtio/virtq.h"

#define BLK_SECTOR 512

/* Feature bits (5.2.3) berth offers */
#define VIRTIO_BLK_F_SEG_MAX   2
#define VIRTIO_BLK_F_RO        5
#define VIRTIO_BLK_F_BLK_SIZE  6
#define VIRTIO_BLK_F_FLUSH     9

/* Request header (5.2.6): le32 type, le32 reserved, le64 sector */
#define VIRTIO_BLK_HDR_LEN     16
#define VIRTIO_BLK_T_IN        0
#define VIRTIO_BLK_T_OUT       1
#define VIRTIO_BLK_T_FLUSH     4
#define VIRTIO_BLK_T_GET_ID    8
#define VIRTIO_BLK_ID_BYTES    20
/* Status byte */
#define VIRTIO_BLK_S_OK        0
#define VIRTIO_BLK_S_IOERR     1
#define VIRTIO_BLK_S_UNSUPP    2

/* Config space (5.2.4) berth fills: capacity, size_max, seg_max, geometry
 * (zero) and blk_size; the fields after it belong to features not offered. */
#define BLK_CONFIG_LEN         24

struct blk_disk {
	char path[PATH_MAX];
	int fd;
	int ro;
	uint64_t size;                /* bytes (a multiple of 512 is not required) */
	int flush_failed;             /* sticky, see above */
	int (*sync)(int fd);          /* fdatasync; tests inject failures */
	uint64_t reads, writes, flushes, errors;   /* requests served, for stats */
	uint64_t read_bytes, write_bytes;
};

/* Open "FILE" or "FILE,ro": a regular file or a block device, locked
 * against other VMMs. One-line errors that name the fix. */
int blk_disk_open(struct blk_disk *d, const char *spec, struct err *e);
void blk_disk_close(struct blk_disk *d);

/* Serve one request chain (5.2.6): header in the readable part, data, and
 * the status byte as the last writable byte. Returns the used length (bytes
 * the device wrote into the chain: data read for IN or GET_ID, plus the
 * status byte), always >= 1. A chain too short for a header or without a
 * writable byte for the status is malformed: nothing is written, it counts
 * as an error and 0 is returned; the caller then fails the device (the
 * driver broke 5.2.6.1, as QEMU also treats it). */
uint32_t blk_request(struct blk_disk *d, const struct virtq_chain *c);

/* The device feature bits (5.2.3) and config space (5.2.4) of a disk:
 * blk_config_read copies any in-bounds part of the BLK_CONFIG_LEN bytes
 * (little-endian) and zero-fills the rest of data. */
uint64_t blk_features(const struct blk_disk *d);
void blk_config_read(const struct blk_disk *d, uint32_t off, uint8_t *data, unsigned len);

/* The virtio device for a disk: pass the struct blk_disk as `priv` to
 * virtio_mmio_attach. */
extern const struct virtio_dev_ops blk_dev_ops;

#endif
