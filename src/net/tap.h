/* tap.h - a host tap device for a VM's virtio-net: /dev/net/tun attached
 * to a named tap interface (created if it does not exist) in the mode the
 * device needs: IFF_TAP | IFF_NO_PI | IFF_VNET_HDR with a 12-byte vnet
 * header (struct virtio_net_hdr_v1, virtio 1.2 section 5.1.6), so every
 * read or write is one Ethernet frame behind the same header the guest
 * uses. Host-side addressing and bridging are someone else's business. */
#ifndef BERTH_NET_TAP_H
#define BERTH_NET_TAP_H

#include <net/if.h>
#include <stdint.h>

#include "lib/err.h"

#define TAP_VNET_HDR_LEN 12

struct tap {
	int fd;                      /* attached, non-blocking, close-on-exec */
	char name[IFNAMSIZ];
	uint8_t guest_mac[6];        /* the MAC the guest's virtio-net reports */
};

/* "TAP[,mac=52:54:00:xx:xx:xx]" (the --net option): check the interface
 * name and the MAC; without mac= the MAC is 52:54:00 followed by three
 * bytes of a hash of the name (stable for a tap name). */
int tap_spec_parse(const char *spec, char name[IFNAMSIZ], uint8_t mac[6], struct err *e);

/* Open /dev/net/tun and attach it to tap `name`, creating the interface
 * when it does not exist. */
int tap_open(const char *name, int *fd, struct err *e);

/* Bring the host side of tap `name` up (IFF_UP; no address): a guest's tap
 * passes frames as soon as the VMM runs. Needs CAP_NET_ADMIN. */
int tap_link_up(const char *name, struct err *e);

/* tap_spec_parse + tap_open into a new struct tap. */
int tap_open_spec(const char *spec, struct tap **out, struct err *e);

/* Close and free (a tap the VMM created goes away with it). NULL: no-op. */
void tap_free(struct tap *t);

#endif
