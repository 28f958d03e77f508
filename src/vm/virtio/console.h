/* console.h - virtio console (virtio 1.2 section 5.3) with a single port
 * (no VIRTIO_CONSOLE_F_MULTIPORT): the guest's /dev/hvc0. What the guest
 * writes goes to a host fd (the VMM's stdout); what the user types reaches
 * it through virtio_console_rx_push, which the console relay calls (the
 * relay owns stdin, the escape key and the stop signals). */
#ifndef BERTH_VM_VIRTIO_CONSOLE_H
#define BERTH_VM_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "vm/virtio/mmio.h"

struct virtio_console;

extern const struct virtio_dev_ops console_dev_ops;

/* Create the console in the VM's next virtio window, writing guest output
 * to out_fd (not owned). */
int virtio_console_attach(struct vm *vm, struct evloop *loop, int out_fd,
			  struct virtio_console **out, struct err *e);

/* Give typed bytes to the guest; returns how many fit in the receive
 * buffers the driver posted (0 when it has none, or is not running).
 * Safe from any thread. */
size_t virtio_console_rx_push(struct virtio_console *c, const uint8_t *buf, size_t n);

/* An eventfd that becomes readable when the driver may have posted
 * receive buffers (poll it while virtio_console_rx_push returns short). */
int virtio_console_rx_wakeup_fd(struct virtio_console *c);

/* Free the console's own state, after virtio_mmio_free of its device. */
void virtio_console_free(struct virtio_console *c);

#endif
