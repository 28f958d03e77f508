/* cgroup_stats.c - a container's usage from its cgroup and /proc (see
 * cgroup_stats.h). */
#include "ct/cgroup_stats.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/fsutil.h"

#define STATS_FILE_MAX (1u << 20)

/* Read dir/file (bounded) into a malloc'd buffer; its length into *len. */
static int read_in(const char *dir, const char *file, char **out, size_t *len)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return read_file(path, STATS_FILE_MAX, out, len, NULL);
}

/* Block I/O bytes: v2 io.stat, else v1 blkio (recursive counters first, so
 * a systemd guest's sub-cgroups count too). */
static void block_bytes(const struct cgroup *cg, struct guest_stats *st)
{
	char *text = NULL;
	size_t len = 0;
	const char *d = cgroup_ctrl_dir(cg, "io");
	if (d && d == cg->v2 && read_in(d, "io.stat", &text, &len) == 0) {
		stats_parse_io_stat(text, len, &st->block_read_bytes, &st->block_write_bytes);
		free(text);
		return;
	}
	if (!(d = cgroup_ctrl_dir(cg, "blkio")))
		return;
	static const char *const files[] = { "blkio.throttle.io_service_bytes_recursive",
					     "blkio.throttle.io_service_bytes" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (read_in(d, files[i], &text, &len) < 0)
			continue;
		stats_parse_blkio(text, len, &st->block_read_bytes, &st->block_write_bytes);
		free(text);
		return;
	}
}

/* Network bytes of the init's network namespace, lo excluded. */
static void net_bytes(pid_t init_pid, struct guest_stats *st)
{
	char dir[64], *text = NULL;
	size_t len = 0;
	snprintf(dir, sizeof(dir), "/proc/%d/net", (int)init_pid);
	if (init_pid > 0 && read_in(dir, "dev", &text, &len) == 0) {
		stats_parse_net_dev(text, len, &st->net_rx_bytes, &st->net_tx_bytes);
		free(text);
	}
}

int cgroup_stats_read(const struct cgroup *cg, pid_t init_pid, struct guest_stats *st)
{
	struct cg_usage u;
	int r = cgroup_usage(cg, &u);
	if (r < 0)
		return r;
	st->cpu_usec = u.cpu_usec;
	st->memory_bytes = u.memory_bytes;
	st->memory_limit_bytes = u.memory_limit_bytes ? u.memory_limit_bytes : LIMIT_NONE;
	st->swap_bytes = u.swap_bytes;
	st->pids = u.pids;
	st->oom_kills = u.oom_kills;
	block_bytes(cg, st);
	net_bytes(init_pid, st);
	return 0;
}
