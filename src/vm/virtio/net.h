/* net.h - virtio network device (virtio 1.2 section 5.1) on a host tap:
 * one receiveq/transmitq pair, the MAC and link status in config space, no
 * offloads and no control queue. The device only reads and writes a file
 * descriptor that yields and takes one frame per read/write behind a
 * 12-byte virtio_net_hdr_v1 (a tap opened by net/tap.c; unit tests pass a
 * datagram socket). */
#ifndef BERTH_VM_VIRTIO_NET_H
#define BERTH_VM_VIRTIO_NET_H

#include <stdint.h>

#include "lib/err.h"
#include "vm/virtio/mmio.h"

#define NET_DEVICE_ID 1
#define NET_HDR_LEN 12            /* struct virtio_net_hdr_v1 (5.1.6) */
#define NET_CONFIG_LEN 8          /* mac[6], le16 status (5.1.4) */
#define NET_MAX_FRAME 65550       /* Ethernet header, VLAN tag and 64 KiB - 1 */
#define NET_MAX_CHAIN (NET_HDR_LEN + NET_MAX_FRAME)   /* 65562 */

/* Feature bits (5.1.3) */
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_S_LINK_UP 1

struct virtio_net;

extern const struct virtio_dev_ops net_dev_ops;

/* Create the device in the VM's next virtio window, moving frames between
 * the guest and fd (not owned; non-blocking, one frame per read/write),
 * the guest seeing `mac`. Call before the device loop starts. */
int virtio_net_attach(struct vm *vm, struct evloop *loop, int fd, const uint8_t mac[6],
		      struct virtio_net **out, struct err *e);

/* Frame bytes (virtio header excluded) received from and sent to the fd
 * since the device was attached; safe from any thread (stats). */
void virtio_net_bytes(const struct virtio_net *n, uint64_t *rx, uint64_t *tx);

/* Stop watching the fd and free; after the device loop stopped and
 * virtio_mmio_free of the device, before evloop_free. NULL: no-op. */
void virtio_net_free(struct virtio_net *n);

#endif
