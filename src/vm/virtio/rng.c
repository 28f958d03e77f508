/* rng.c - virtio entropy device (virtio 1.2 section 5.4): device ID 4, no
 * feature bits, no config space, one queue (requestq) of writable buffers
 * that the device fills with random bytes from getrandom(2). */
#include "vm/virtio/rng.h"

#include <errno.h>
#include <sys/random.h>

/* Fill the writable part of one chain (5.4.6); returns the bytes written.
 * Only a host failure of getrandom, which does not happen with flags 0 and
 * a buffer this small, ends it short. */
static uint32_t rng_fill(const struct virtq_chain *c)
{
	uint32_t done = 0;
	for (unsigned i = c->nread; i < c->nseg && done < RNG_MAX_REQUEST; i++) {
		const struct virtq_seg *s = &c->seg[i];
		uint32_t want = s->len < RNG_MAX_REQUEST - done ? s->len : RNG_MAX_REQUEST - done;
		uint32_t got = 0;
		while (got < want) {
			ssize_t n = getrandom(s->p + got, want - got, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return done + got;
			got += (uint32_t)n;
		}
		done += got;
	}
	return done;
}

/* 5.4.6: serve every buffer the driver made available. */
static void rng_queue_notify(struct virtio_dev *d, unsigned qi)
{
	struct virtq *q = &d->q[qi];
	struct virtq_chain c;
	int r, served = 0;
	while ((r = virtq_pop(q, &c)) == 1) {
		virtq_push(q, c.head, rng_fill(&c));
		served = 1;
	}
	if (served)
		virtio_mmio_used(d, qi);
}

const struct virtio_dev_ops rng_dev_ops = {
	.name = "rng",
	.device_id = 4,
	.nqueues = 1,
	.config_len = 0,
	.queue_notify = rng_queue_notify,
};

int virtio_rng_attach(struct vm *vm, struct evloop *loop, struct err *e)
{
	struct virtio_dev *d;
	return virtio_mmio_attach(vm, loop, &rng_dev_ops, NULL, &d, e);
}
