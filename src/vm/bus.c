/* bus.c - port-I/O and MMIO dispatch tables (one pair per VM).
 *
 * A sorted array and a binary search: a VM has a handful of devices, the
 * table is written only while the VM is built and read-only afterwards. */
#include "vm/bus.h"

#include <stdlib.h>
#include <string.h>

/* Insert a range, keeping the array sorted and overlap-free. */
int bus_add(struct bus *b, uint64_t base, uint64_t len, bus_fn fn, void *dev,
	    const char *name, struct err *e)
{
	if (len == 0 || base + len < base)
		return err_set(e, EINVAL, "device %s: bad address range 0x%llx+0x%llx", name,
			       (unsigned long long)base, (unsigned long long)len);
	size_t i = 0;
	while (i < b->n && b->r[i].base < base)
		i++;
	const struct bus_range *clash = NULL;
	if (i > 0 && b->r[i - 1].base + b->r[i - 1].len > base)
		clash = &b->r[i - 1];
	else if (i < b->n && base + len > b->r[i].base)
		clash = &b->r[i];
	if (clash)
		return err_set(e, EEXIST, "device %s: range 0x%llx+0x%llx overlaps device %s", name,
			       (unsigned long long)base, (unsigned long long)len, clash->name);
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		struct bus_range *r = realloc(b->r, cap * sizeof(*r));
		if (!r)
			return err_sys(e, ENOMEM, "device %s", name);
		b->r = r;
		b->cap = cap;
	}
	memmove(&b->r[i + 1], &b->r[i], (b->n - i) * sizeof(*b->r));
	b->r[i] = (struct bus_range){ base, len, fn, dev, name };
	b->n++;
	return 0;
}

/* Binary search for the range that contains the whole access. */
const struct bus_range *bus_find(const struct bus *b, uint64_t addr, unsigned len)
{
	size_t lo = 0, hi = b->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &b->r[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return (len <= r->len - (addr - r->base)) ? r : NULL;
	}
	return NULL;
}

/* Dispatch one guest access; unclaimed reads float high. */
int bus_access(const struct bus *b, uint64_t addr, uint8_t *data, unsigned len, int is_write)
{
	const struct bus_range *r = bus_find(b, addr, len);
	if (!r) {
		if (!is_write)
			memset(data, 0xff, len);
		return -ENOENT;
	}
	r->fn(r->dev, addr - r->base, data, len, is_write);
	return 0;
}

void bus_free(struct bus *b)
{
	free(b->r);
	memset(b, 0, sizeof(*b));
}
