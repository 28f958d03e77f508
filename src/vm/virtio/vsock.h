/* vsock.h - virtio socket device (virtio 1.2 section 5.10): stream
 * connections from the host to ports in the guest (berth's guest agent
 * listens on AF_VSOCK port 1024), through a unix socket the VMM owns.
 *
 * Protocol on the unix socket (Firecracker's): a host client connects,
 * writes "CONNECT <port>\n", and reads "OK <hostport>\n" once the guest
 * accepted; from then on the socket is the connection, both ways, with
 * half-close (shutdown(SHUT_WR)) carried through. When the guest refuses
 * (nothing listens), does not answer within 5 s, or resets the connection,
 * the client's socket is closed without a reply line. At most 64 clients at
 * a time; more are closed at once. Connections from the guest to the host
 * are refused (OP_RST). The socket is created when the device is attached
 * (a stale socket left at the path is replaced, a live one is refused) and
 * removed when it is freed; a reboot of the guest therefore closes every
 * connection. */
#ifndef BERTH_VM_VIRTIO_VSOCK_H
#define BERTH_VM_VIRTIO_VSOCK_H

#include <stdint.h>

#include "lib/err.h"
#include "vm/virtio/mmio.h"

#define VSOCK_DEVICE_ID 19
#define VSOCK_CONFIG_LEN 8      /* 5.10.4: le64 guest_cid */

struct vsock_cfg {
	uint64_t guest_cid;     /* 3 .. 0xfffffffe (0-2 and -1 are reserved) */
	const char *uds_path;   /* the unix socket host clients connect to */
};

struct virtio_vsock;

/* The device's ops; its priv is a struct virtio_vsock, so attach it with
 * virtio_vsock_attach, not virtio_mmio_attach directly. */
extern const struct virtio_dev_ops vsock_dev_ops;

/* Create the device in the VM's next virtio window, listening on
 * cfg->uds_path. Call before the device loop starts (as vmm_build does). */
int virtio_vsock_attach(struct vm *vm, struct evloop *loop, const struct vsock_cfg *cfg,
			struct virtio_vsock **out, struct err *e);

/* Close every client and the listening socket (and remove it). Call after
 * the device loop stopped and virtio_mmio_free of the device, before
 * evloop_free. NULL: no-op. */
void virtio_vsock_free(struct virtio_vsock *vs);

#endif
