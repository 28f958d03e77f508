/* policy.h - the host's overcommit policy ($BERTH_ROOT/policy.json).
 *
 * Per guest type (ct, vm) and resource (cpus, memory, disk) an overcommit
 * ratio: a guest's allocation counts as allocation / ratio of host capacity.
 * Per resource a host reserve kept for the host itself (a size, a CPU count
 * or a percentage of the host's capacity). Keys, as `berth host set` takes
 * them and policy.json stores them (a flat JSON object of strings):
 *
 *   ct.cpus.overcommit  vm.cpus.overcommit  *.cpus.overcommit     ratio 0.1..100
 *   ct.memory.overcommit  vm.memory.overcommit  *.memory.overcommit
 *   ct.disk.overcommit  vm.disk.overcommit  *.disk.overcommit
 *   reserve.cpus (e.g. 0.5 or 10%)  reserve.memory (512M, 10%)  reserve.disk (1G, 5%)
 * Defaults: policy_init (and README, "Host policy").
 */
#ifndef BERTH_POLICY_H
#define BERTH_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include "lib/config.h"
#include "lib/err.h"

enum resource { RES_CPUS = 0, RES_MEMORY, RES_DISK, RES_COUNT };

#define POLICY_RATIO_MIN 100u      /* thousandths: 0.1 */
#define POLICY_RATIO_MAX 100000u   /* 100.0 */

struct policy_reserve {
	uint64_t value;   /* millicpus or bytes; unused when percent */
	int percent;      /* 1: value is a percentage 0..99 of capacity */
};

struct policy {
	uint32_t ratio[2][RES_COUNT];            /* [guest_type][resource], thousandths */
	struct policy_reserve reserve[RES_COUNT];
};

/* The defaults (README, "Host policy"). */
void policy_init(struct policy *p);

/* Apply one "KEY=VALUE" (or KEY and VALUE apart with policy_set_kv). Bad
 * key or value: EXIT_USAGE error, p unchanged. */
int policy_set(struct policy *p, const char *kv, struct err *e);
int policy_set_kv(struct policy *p, const char *key, const char *value, struct err *e);

/* The canonical text of one key's value ("1.5", "512M", "10%"); key must
 * be one of policy_keys. Returns 0 or -EINVAL for an unknown key. */
int policy_get(const struct policy *p, const char *key, char *buf, size_t len);

/* All keys in display order (NULL-terminated); "*.x" aliases not included. */
extern const char *const policy_keys[];

/* Serialise as a flat JSON object of key -> string (malloc'd). */
int policy_to_json(const struct policy *p, char **out, struct err *e);

/* Parse policy.json text of len bytes. Untrusted: size, depth, types, every
 * key and value are checked; an unknown key is an error. Missing keys keep
 * their defaults. */
int policy_from_json(const char *text, size_t len, struct policy *p, struct err *e);

/* The reserve of a resource in its units given the host's capacity. */
uint64_t policy_reserve_of(const struct policy *p, enum resource r, uint64_t capacity);

/* Names: "cpus", "memory", "disk". */
const char *resource_name(enum resource r);

/* Format a ratio in thousandths as "1.5", "4", "0.125". */
void ratio_format(uint32_t milli, char *buf, size_t len);

#endif
