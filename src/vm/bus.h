/* bus.h - port-I/O and MMIO dispatch: which device answers an address.
 *
 * Each VM has two buses (struct vm.pio, struct vm.mmio); devices register
 * address ranges while the VM is built, before any vCPU runs, so lookups
 * need no lock. Devices lock their own state. No global state. */
#ifndef BERTH_VM_BUS_H
#define BERTH_VM_BUS_H

#include <stddef.h>
#include <stdint.h>
#include "lib/err.h"

/* A device's access handler: `off` is relative to the range's base, `data`
 * holds `len` bytes (1, 2, 4 or 8), little-endian. For reads the handler
 * fills data; for writes it consumes it. Handlers run on vCPU threads, must
 * not block for long, and never trust the value or the offset. */
typedef void (*bus_fn)(void *dev, uint64_t off, uint8_t *data, unsigned len, int is_write);

struct bus_range {
	uint64_t base, len;
	bus_fn fn;
	void *dev;
	const char *name;
};

struct bus {
	struct bus_range *r;   /* sorted by base, no overlaps */
	size_t n, cap;
};

/* Register [base, base+len) for a device; refuses empty, wrapping or
 * overlapping ranges. */
int bus_add(struct bus *b, uint64_t base, uint64_t len, bus_fn fn, void *dev,
	    const char *name, struct err *e);

/* Find the range holding all of [addr, addr+len); NULL if none does. */
const struct bus_range *bus_find(const struct bus *b, uint64_t addr, unsigned len);

/* Deliver one access. Returns 0 if a device took it, -ENOENT if none did
 * (then a read gets all-ones, as on a real bus with nothing there). */
int bus_access(const struct bus *b, uint64_t addr, uint8_t *data, unsigned len, int is_write);

void bus_free(struct bus *b);

#endif
