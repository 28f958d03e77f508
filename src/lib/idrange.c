/* idrange.c - allocation of unique host id ranges (the guest label). */
#include "lib/idrange.h"

#include <stdlib.h>
#include <string.h>

int idrange_pick(const uint32_t *used, size_t n, uint32_t *base)
{
	/* a bitmap of taken slots */
	static const size_t words = IDRANGE_SLOTS / 64;
	uint64_t *taken = calloc(words, sizeof(uint64_t));
	if (!taken)
		return -ENOMEM;
	/* the last slot ends at uid 4294967295, (uid_t)-1, which no uid_map can
	 * hold (and config_from_json refuses its base): never hand it out */
	taken[words - 1] |= 1ull << 63;
	for (size_t i = 0; i < n; i++) {
		/* mark every slot the range [base, base + IDRANGE_SIZE) touches, so
		 * that a hand-edited base off the slot grid cannot lead to overlap */
		uint64_t lo = used[i], hi = (uint64_t)used[i] + IDRANGE_SIZE - 1;
		if (hi < IDRANGE_FIRST)
			continue;
		if (lo < IDRANGE_FIRST)
			lo = IDRANGE_FIRST;
		for (uint64_t slot = (lo - IDRANGE_FIRST) / IDRANGE_SIZE;
		     slot <= (hi - IDRANGE_FIRST) / IDRANGE_SIZE && slot < IDRANGE_SLOTS; slot++)
			taken[slot / 64] |= 1ull << (slot % 64);
	}
	int r = -ENOSPC;
	for (size_t w = 0; w < words && r < 0; w++) {
		if (taken[w] == UINT64_MAX)
			continue;
		unsigned bit = (unsigned)__builtin_ctzll(~taken[w]);
		*base = IDRANGE_FIRST + (uint32_t)(w * 64 + bit) * IDRANGE_SIZE;
		r = 0;
	}
	free(taken);
	return r;
}

int idrange_alloc(const struct store *s, uint32_t *base, struct err *e)
{
	char **names;
	size_t n;
	int r = store_list(s, "guests", &names, &n, e);
	if (r < 0)
		return r;
	uint32_t *used = calloc(n + 1, sizeof(*used));
	if (!used) {
		names_free(names, n);
		return err_set(e, ENOMEM, "out of memory");
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct guest_config c;
		struct err ignore = {0};
		if (guest_load(s, names[i], &c, &ignore) == 0)
			used[k++] = c.id_base;
	}
	names_free(names, n);
	r = idrange_pick(used, k, base);
	free(used);
	if (r == -ENOSPC)
		return err_exit(e, EXIT_HOST, "all %u id ranges are in use; destroy unused guests",
				IDRANGE_SLOTS - 1);
	if (r < 0)
		return err_set(e, -r, "out of memory");
	return 0;
}
