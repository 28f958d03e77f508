/* stats.h - live usage figures of a guest (`berth stats`, `berth top`), the
 * same for containers and VMs, and the parsers of the kernel text they come
 * from (cgroup files, /proc/<pid>/stat and status, /proc/<pid>/net/dev).
 *
 * The parsers take a buffer and its length (no NUL terminator needed) and
 * treat the text as untrusted: bounded, no number overflows (a value that
 * does not fit saturates at UINT64_MAX), malformed lines skipped. They are
 * unit-tested with hostile input and fuzzed (tests/fuzz/fuzz_stats.c). */
#ifndef BERTH_STATS_H
#define BERTH_STATS_H

#include <stddef.h>
#include <stdint.h>
#include "lib/config.h"

/* One sample of one guest. Counters are cumulative since the guest (for a
 * VM: its current boot) started; cpu_percent needs two samples. */
struct guest_stats {
	char name[64];
	enum guest_type type;
	int running;
	uint64_t cpu_usec;               /* CPU time used, microseconds */
	double cpu_percent;              /* of one CPU, between two samples */
	uint64_t memory_bytes;           /* ct: cgroup memory; vm: the VMM's RSS */
	uint64_t memory_limit_bytes;     /* LIMIT_NONE = unlimited; vm: guest RAM */
	uint64_t swap_bytes;
	uint64_t pids;                   /* ct: tasks in the cgroup; vm: VMM threads */
	uint64_t block_read_bytes, block_write_bytes;
	uint64_t net_rx_bytes, net_tx_bytes;
	uint64_t oom_kills;
	uint64_t uptime_seconds;
	/* vm only */
	uint64_t vcpus, guest_memory_bytes, exits;
	/* monotonic time of the sample, microseconds (for cpu_percent) */
	uint64_t sampled_usec;
};

/* The first number of a one-value file ("123\n"); "max" gives LIMIT_NONE.
 * -EINVAL if there is none. */
int stats_parse_u64(const char *text, size_t len, uint64_t *v);

/* The number after `key` on a "key N" or "Key:  N kB" line (cpu.stat,
 * memory.events, memory.oom_control, /proc/<pid>/status). A " kB" unit is
 * multiplied out. -ENOENT if no line has the key. */
int stats_parse_keyed(const char *text, size_t len, const char *key, uint64_t *v);

/* cgroup v2 io.stat: sum of rbytes= and wbytes= over every device line. */
void stats_parse_io_stat(const char *text, size_t len, uint64_t *rbytes, uint64_t *wbytes);

/* cgroup v1 blkio.*io_service_bytes*: sum of the "MAJ:MIN Read N" and
 * "MAJ:MIN Write N" lines (the "Total" lines are ignored). */
void stats_parse_blkio(const char *text, size_t len, uint64_t *rbytes, uint64_t *wbytes);

/* /proc/<pid>/net/dev: received and transmitted bytes summed over every
 * interface but lo. */
void stats_parse_net_dev(const char *text, size_t len, uint64_t *rx, uint64_t *tx);

/* /proc/<pid>/stat: the parent's pid, utime + stime (clock ticks) and
 * num_threads. The comm field may hold spaces and parentheses: fields are
 * counted after the last ')'. -EINVAL when the line is too short. */
int stats_parse_proc_stat(const char *text, size_t len, int *ppid, uint64_t *ticks,
			  uint64_t *threads);

/* The VMM's reply to "stats" (one JSON object, see vm/vm_stats.h): fills
 * vcpus, guest_memory_bytes, exits, block and net bytes of st, and the
 * VMM's pid. Unknown keys are ignored; a missing or non-integer known key
 * leaves 0. -EINVAL when it is not a JSON object. */
int stats_parse_vmm_reply(const char *text, size_t len, struct guest_stats *st, int *pid);

/* a + b, saturating at UINT64_MAX. */
uint64_t stats_add(uint64_t a, uint64_t b);

/* Set cur->cpu_percent from the CPU time used between prev and cur. */
void stats_cpu_percent(const struct guest_stats *prev, struct guest_stats *cur);

/* Human-readable size for tables: "0", "512K", "1.5M", "12G". */
void stats_human(uint64_t bytes, char *buf, size_t len);
/* Uptime for tables: "45s", "12m03s", "3h07m", "2d04h". */
void stats_uptime(uint64_t seconds, char *buf, size_t len);

#endif
