/* cgroup_stats.h - a running container's usage for `berth stats`: its
 * cgroup (v1, hybrid or v2, through cgroup.h) and its network namespace
 * (/proc/<init>/net/dev: containers have only lo today, so network bytes
 * are 0 until they get an interface). */
#ifndef BERTH_CT_CGROUP_STATS_H
#define BERTH_CT_CGROUP_STATS_H

#include <sys/types.h>
#include "ct/cgroup.h"
#include "lib/stats.h"

/* Fill CPU time, memory and its limit, swap, pids, OOM kills, block and
 * network bytes of st. -ENOENT when the guest has no cgroup (stopped). */
int cgroup_stats_read(const struct cgroup *cg, pid_t init_pid, struct guest_stats *st);

#endif
