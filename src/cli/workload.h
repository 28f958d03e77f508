/* workload.h - the benchmarks of `berth workload` (workload.c), shared with
 * `berth compare` (compare.c), which runs them on the host and in guests. */
#ifndef BERTH_CLI_WORKLOAD_H
#define BERTH_CLI_WORKLOAD_H

#include <stdint.h>

struct workload_kind {
	const char *name;     /* cpu, memory, forkexec, seqwrite, seqread, fsync */
	const char *unit;     /* of the printed figure: ms, MiB/s, /s */
	uint64_t size;        /* default --size (MiB), 0 if unused */
	uint64_t count;       /* default --count, 0 if unused */
	int needs_path;       /* takes a PATH (a file on the disk under test) */
};

/* The workload named name, or NULL. */
const struct workload_kind *workload_kind_find(const char *name);

#endif
