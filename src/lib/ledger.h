/* ledger.h - the host ledger: what guests are allocated, against what the
 * host has and the policy allows (lib/policy.h).
 *
 * The ledger is not a second copy of the truth: it is summed from the guest
 * configs (guests/<name>/config.json) and the live monitors every time it is
 * needed, under $BERTH_ROOT/ledger.lock, so it cannot drift or go stale.
 *
 * One pool per resource: a guest's allocation counts as allocation / ratio
 * of its type (e.g. a container's 3G at ct.memory.overcommit=1.5 counts 2G),
 * and the shares of all guests together must stay within the limit:
 * (capacity - reserve). Capacity: online CPUs, MemTotal, and for disk the
 * free space under BERTH_ROOT plus what the guests' disk images hold now.
 *
 *   cpus, memory: committed = running guests (what runs now)
 *   disk:         committed = defined guests (an image exists whether or not
 *                 the guest runs)
 * A resource without a limit (a container without --memory, --cpus or
 * --disk) counts 0: it shares what is left and is listed as unlimited. */
#ifndef BERTH_LEDGER_H
#define BERTH_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include "lib/config.h"
#include "lib/err.h"
#include "lib/policy.h"
#include "lib/store.h"

enum ledger_op {
	LEDGER_CREATE,    /* cpus and memory: the guest alone fits; disk: defined + it */
	LEDGER_START,     /* cpus and memory: running + it */
	LEDGER_SET,       /* what grew: as START when running, else as CREATE */
	LEDGER_VALIDATE,  /* everything a CREATE and a START would check */
};

struct host_capacity {
	uint64_t cpus;         /* online CPUs, in millicpus */
	uint64_t memory;       /* MemTotal, bytes */
	uint64_t disk_total;   /* size of the file system holding BERTH_ROOT */
	uint64_t disk_free;    /* free there (f_bavail) */
	uint64_t disk_guests;  /* bytes the guests' disk images occupy now */
};

struct ledger_sum {
	uint64_t alloc[2][RES_COUNT];      /* [guest_type][resource] */
	unsigned guests[2];
	unsigned unlimited[2][RES_COUNT];  /* guests with no limit on it */
};

struct ledger {
	struct host_capacity host;
	struct policy pol;
	struct ledger_sum defined, running;
	unsigned unreadable;       /* guests whose config could not be read */
	char unreadable_name[64];  /* the first of them */
};

/* Take the store-wide ledger lock ($BERTH_ROOT/ledger.lock); close to release. */
int ledger_lock(const struct store *s, struct err *e);

/* policy.json: load (missing = defaults; damaged = error naming the fix),
 * save atomically. */
int ledger_policy_load(const struct store *s, struct policy *p, struct err *e);
int ledger_policy_save(const struct store *s, const struct policy *p, struct err *e);

/* Read the host's CPUs, memory and disk under root. */
int host_capacity_read(const char *root, struct host_capacity *h, struct err *e);

/* Sum every guest but skip_name (NULL: none); policy and host included. */
int ledger_build(const struct store *s, const char *skip_name, struct ledger *l, struct err *e);

/* What a guest is allocated of a resource (0 when unlimited). */
uint64_t ledger_alloc(const struct guest_config *c, enum resource r);
/* Capacity, limit (capacity - reserve) and shares, in host units. */
uint64_t ledger_capacity(const struct ledger *l, enum resource r);
uint64_t ledger_limit(const struct ledger *l, enum resource r);
uint64_t ledger_share(const struct policy *p, enum guest_type t, enum resource r, uint64_t amount);
uint64_t ledger_committed(const struct ledger *l, const struct ledger_sum *sum, enum resource r);

/* Does guest c's allocation of r fit on top of sum (NULL: alone)? 0, or an
 * EXIT_POLICY error with the numbers. sum_word names sum ("running",
 * "defined"). Pure arithmetic. */
int ledger_check(const struct ledger *l, const struct guest_config *c, enum resource r,
		 const struct ledger_sum *sum, const char *sum_word, struct err *e);

/* Admission of c for op, under the ledger lock. With lock_fd, the lock stays
 * held on success (*lock_fd; release with ledger_release once the guest
 * counts: running, or its config saved); without, it is released. */
int ledger_admit(const struct store *s, const struct guest_config *c, enum ledger_op op,
		 int *lock_fd, struct err *e);
void ledger_release(int lock_fd);

/* Human form of an amount: "23.4G", "512M", "2.5" (cpus). */
void ledger_format(enum resource r, uint64_t v, char *buf, size_t len);

#endif
