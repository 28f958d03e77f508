/* tap.c - open a tap interface for virtio-net (see tap.h): the Linux
 * tun/tap driver's interface (Documentation/networking/tuntap.rst):
 * TUNSETIFF attaches the fd to the named interface, creating it when it
 * does not exist; TUNSETVNETHDRSZ sets the header length to 12, the size
 * of virtio 1.2's struct virtio_net_hdr_v1 (5.1.6). */
#include "net/tap.h"

#include <ctype.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The kernel's dev_valid_name rules (1-15 bytes, not "." or "..", no '/',
 * ':' or white space), and no '%' (a name pattern would let the kernel
 * pick another name). */
static int tap_name_check(const char *name, struct err *e)
{
	size_t n = strlen(name);
	int bad = n == 0 || n >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, "..");
	for (size_t i = 0; i < n && !bad; i++) {
		unsigned char ch = (unsigned char)name[i];
		bad = ch == '/' || ch == ':' || ch == '%' || ch <= ' ' || ch >= 0x7f;
	}
	if (bad)
		return err_exit(e, EXIT_USAGE, "--net '%.40s': a tap name is 1 to %d characters "
				"without '/', ':', '%%' or spaces (e.g. tap0)", name, IFNAMSIZ - 1);
	return 0;
}

/* xx:xx:xx:xx:xx:xx, hex digits in either case; unicast only. */
static int tap_mac_parse(const char *s, uint8_t mac[6], struct err *e)
{
	int ok = strlen(s) == 17;
	for (unsigned i = 0; i < 17 && ok; i++)
		ok = i % 3 == 2 ? s[i] == ':' : isxdigit((unsigned char)s[i]) != 0;
	if (!ok)
		return err_exit(e, EXIT_USAGE, "--net mac=%.40s: give six hex bytes, "
				"e.g. mac=52:54:00:12:34:56", s);
	for (unsigned i = 0; i < 6; i++)
		mac[i] = (uint8_t)strtoul((char[3]){ s[3 * i], s[3 * i + 1], 0 }, NULL, 16);
	if (mac[0] & 1)
		return err_exit(e, EXIT_USAGE, "--net mac=%s is a multicast address; the first "
				"byte must be even (e.g. 52:54:00:...)", s);
	return 0;
}

/* 52:54:00 (the locally used KVM/QEMU prefix) and 24 bits of the name's
 * FNV-1a hash. */
static void tap_mac_default(const char *name, uint8_t mac[6])
{
	uint32_t h = 2166136261u;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

int tap_spec_parse(const char *spec, char name[IFNAMSIZ], uint8_t mac[6], struct err *e)
{
	const char *comma = strchr(spec, ',');
	size_t n = comma ? (size_t)(comma - spec) : strlen(spec);
	char buf[IFNAMSIZ + 1];
	if (n > IFNAMSIZ)
		n = IFNAMSIZ;             /* too long: tap_name_check refuses it */
	memcpy(buf, spec, n);
	buf[n] = '\0';
	int r = tap_name_check(buf, e);
	if (r < 0)
		return r;
	memcpy(name, buf, n + 1);
	if (!comma) {
		tap_mac_default(name, mac);
		return 0;
	}
	if (strncmp(comma + 1, "mac=", 4))
		return err_exit(e, EXIT_USAGE, "--net '%.60s': the only option is mac=xx:xx:xx:xx:xx:xx",
				spec);
	return tap_mac_parse(comma + 5, mac, e);
}

int tap_open(const char *name, int *out, struct err *e)
{
	*out = -1;
	int r = tap_name_check(name, e);
	if (r < 0)
		return r;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
			return err_exit(e, EXIT_HOST, "tap %s: /dev/net/tun is missing; load the tun "
					"module (modprobe tun) or create the node (mknod /dev/net/tun c 10 200)",
					name);
		return err_sys(e, errno, "tap %s: open /dev/net/tun", name);
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int saved = errno;
		close(fd);
		if (saved == EPERM)
			return err_exit(e, EXIT_HOST, "tap %s: creating or attaching a tap needs "
					"CAP_NET_ADMIN; run as root", name);
		if (saved == EBUSY)
			return err_exit(e, EXIT_STATE, "tap %s is in use by another process; stop it "
					"or choose another tap", name);
		if (saved == EINVAL)
			return err_exit(e, EXIT_USAGE, "tap %s: an interface of that name exists and is "
					"not a single-queue tap; choose another name", name);
		return err_sys(e, saved, "tap %s: TUNSETIFF", name);
	}
	int hdr = TAP_VNET_HDR_LEN;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int saved = errno;
		close(fd);
		return err_sys(e, saved, "tap %s: TUNSETVNETHDRSZ %d", name, hdr);
	}
	*out = fd;
	return 0;
}

int tap_link_up(const char *name, struct err *e)
{
	int r = tap_name_check(name, e);
	if (r < 0)
		return r;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return err_sys(e, errno, "tap %s: socket for SIOCSIFFLAGS", name);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (r == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	int saved = errno;
	close(s);
	if (r < 0)
		return err_sys(e, saved, "tap %s: bring the link up", name);
	return 0;
}

int tap_open_spec(const char *spec, struct tap **out, struct err *e)
{
	*out = NULL;
	struct tap *t = calloc(1, sizeof(*t));
	if (!t)
		return err_sys(e, ENOMEM, "tap");
	t->fd = -1;
	int r = tap_spec_parse(spec, t->name, t->guest_mac, e);
	if (r == 0)
		r = tap_open(t->name, &t->fd, e);
	if (r < 0) {
		free(t);
		return r;
	}
	*out = t;
	return 0;
}

void tap_free(struct tap *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}
