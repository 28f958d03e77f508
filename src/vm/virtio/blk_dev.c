/* blk_dev.c - virtio-blk as a virtio device (virtio 1.2 section 5.2): the
 * glue between the virtio-mmio transport and the request code in blk.c.
 * One request queue (5.2.2); its priv is the struct blk_disk, which outlives
 * every reset of the device. */
#include "vm/virtio/blk.h"

#include "vm/virtio/mmio.h"
#include "vm/virtio/virtq.h"

/* Device feature bits (5.2.3). */
static uint64_t blk_dev_features(struct virtio_dev *vd)
{
	return blk_features(vd->priv);
}

/* Config space reads (5.2.4); blk_config_read bounds-checks again. */
static void blk_dev_config_read(struct virtio_dev *vd, uint32_t off, uint8_t *data, unsigned len)
{
	blk_config_read(vd->priv, off, data, len);
}

/* Config space is read-only for us: writeback (CONFIG_WCE) is not offered,
 * so writes are ignored (5.2.4). */
static void blk_dev_config_write(struct virtio_dev *vd, uint32_t off, const uint8_t *data,
				 unsigned len)
{
}

/* DRIVER_OK: nothing to start; requests are served on queue notifications. */
static int blk_dev_activate(struct virtio_dev *vd)
{
	return 0;
}

/* The request queue has new chains (5.2.6): serve each in order, return it
 * in the used ring, then interrupt once for the batch. A broken queue, or a
 * chain without a header or a status byte, fails the device (needs reset). */
static void blk_dev_queue_notify(struct virtio_dev *vd, unsigned qi)
{
	struct blk_disk *d = vd->priv;
	struct virtq_chain c;
	unsigned pushed = 0;
	if (qi != 0 || (vd->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	struct virtq *q = &vd->q[0];
	for (;;) {
		int r = virtq_pop(q, &c);
		if (r == 0)
			break;
		if (r < 0) {
			if (pushed)
				virtio_mmio_used(vd, 0);
			virtio_mmio_fail(vd, "request queue: %s; the device needs a reset",
					 q->why ? q->why : "broken");
			return;
		}
		uint32_t used = blk_request(d, &c);
		if (used == 0) {
			if (pushed)
				virtio_mmio_used(vd, 0);
			virtio_mmio_fail(vd, "malformed request: %llu readable and %llu writable bytes "
					 "(needs a %d-byte header and a status byte)",
					 (unsigned long long)c.read_len,
					 (unsigned long long)c.write_len, VIRTIO_BLK_HDR_LEN);
			return;
		}
		virtq_push(q, c.head, used);
		pushed++;
	}
	if (pushed)
		virtio_mmio_used(vd, 0);
}

/* Reset: no queue or guest-memory state of our own to drop; the disk, its
 * lock and the sticky flush error stay with the VMM process. */
static void blk_dev_reset(struct virtio_dev *vd)
{
}

const struct virtio_dev_ops blk_dev_ops = {
	.name = "blk",
	.device_id = 2,
	.nqueues = 1,
	.config_len = BLK_CONFIG_LEN,
	.features = blk_dev_features,
	.config_read = blk_dev_config_read,
	.config_write = blk_dev_config_write,
	.activate = blk_dev_activate,
	.queue_notify = blk_dev_queue_notify,
	.reset = blk_dev_reset,
};
