/* rng.h - virtio entropy device (virtio 1.2 section 5.4): the guest's
 * /dev/hwrng, filled from the host's getrandom(2). */
#ifndef BERTH_VM_VIRTIO_RNG_H
#define BERTH_VM_VIRTIO_RNG_H

#include "lib/err.h"
#include "vm/virtio/mmio.h"

/* Most bytes given for one request; the device may write fewer than the
 * buffer holds (5.4.6.1), the driver asks again. */
#define RNG_MAX_REQUEST (64u << 10)

extern const struct virtio_dev_ops rng_dev_ops;

/* Create the device in the VM's next virtio window. It has no state of its
 * own (priv is NULL). */
int virtio_rng_attach(struct vm *vm, struct evloop *loop, struct err *e);

#endif
