/* idrange.h - the per-guest security label: a unique host id range.
 *
 * Every guest gets IDRANGE_SIZE host uids/gids starting at a base that no
 * other guest in the store holds: root in a container is host uid `base`,
 * and a VM's VMM runs as host uid `base`. Ranges are slots above
 * IDRANGE_FIRST, clear of /etc/subuid's usual 100000.. allocations. */
#ifndef BERTH_IDRANGE_H
#define BERTH_IDRANGE_H

#include <stdint.h>
#include "lib/store.h"

#define IDRANGE_FIRST 0x40000000u
#define IDRANGE_SLOTS 49152u

/* Pick the lowest range free in this store and in the host-wide claim
 * registry ($BERTH_IDS, default /var/lib/berth/idranges) and claim it for
 * guest `name`, whose directory must already exist. Call with the store
 * lock held. `durable` fsyncs the claim (not needed for ephemeral guests). */
int idrange_alloc(const struct store *s, const char *name, int durable, uint32_t *base,
		  struct err *e);

/* Drop the claim of a destroyed guest (stale claims also expire by themselves). */
void idrange_release(const struct store *s, const char *name, uint32_t base);

/* Pure helper (unit-tested): lowest slot base not in used[0..n). */
int idrange_pick(const uint32_t *used, size_t n, uint32_t *base);

#endif
