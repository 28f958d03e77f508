/* vm_stats.h - a VM guest's usage for `berth stats`, both sides of it.
 *
 * In the VMM, the control thread answers "stats" with one JSON line:
 *   {"pid":N,"boots":N,"vcpus":N,"guest_memory_bytes":N,"exits":N,
 *    "block_read_bytes":N,"block_write_bytes":N,"net_rx_bytes":N,"net_tx_bytes":N}
 * exits and net bytes count the current boot (the devices and vCPUs are
 * rebuilt on each), block bytes the whole VMM run (its disks outlive boots).
 *
 * On the host, the CLI asks that, then reads the VMM process's CPU time,
 * RSS, swap and threads from /proc/<pid>/stat and status. */
#ifndef BERTH_VM_VM_STATS_H
#define BERTH_VM_VM_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "lib/err.h"
#include "lib/stats.h"
#include "lib/store.h"

struct vm;

/* VMM side: write the "stats" reply for the current boot (vm may be NULL
 * between boots) into out. Called by the control thread under its lock: it
 * only loads counters the vCPU and device threads update. */
void vm_stats_reply(const struct vm *vm, unsigned boots, unsigned vcpus, uint64_t memory,
		    char *out, size_t cap);

/* Host side: fill st (VM fields, CPU time, memory, pids = VMM threads,
 * block and network bytes) of the running guest `name`, whose monitor is
 * `monitor` (the VMM must be its child). */
int vm_stats_read(const struct store *s, const char *name, pid_t monitor,
		  struct guest_stats *st, struct err *e);

#endif
