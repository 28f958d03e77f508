/* fuzz_stats.c - libFuzzer target for the usage parsers (lib/stats.c):
 * cgroup files (cpu.stat, memory.events, io.stat, blkio), /proc/<pid>/stat,
 * status and net/dev, and the VMM's stats reply. The first byte picks the
 * parser, the rest is the text; the parser gets an exact-size heap copy, so
 * any read past its length is caught. Results must stay consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned which = data[0] % 7;
	size_t len = size - 1;
	char *text = malloc(len ? len : 1);
	if (!text)
		return 0;
	memcpy(text, data + 1, len);
	uint64_t a = 0, b = 0;
	int pid = 0;
	struct guest_stats st;
	memset(&st, 0, sizeof(st));
	switch (which) {
	case 0:
		stats_parse_u64(text, len, &a);
		break;
	case 1:
		stats_parse_keyed(text, len, "usage_usec", &a);
		stats_parse_keyed(text, len, "oom_kill", &b);
		stats_parse_keyed(text, len, "VmRSS", &a);
		break;
	case 2:
		stats_parse_io_stat(text, len, &a, &b);
		break;
	case 3:
		stats_parse_blkio(text, len, &a, &b);
		break;
	case 4:
		stats_parse_net_dev(text, len, &a, &b);
		break;
	case 5:
		if (stats_parse_proc_stat(text, len, &pid, &a, &b) == 0 && pid < -1)
			abort();
		break;
	case 6:
		if (stats_parse_vmm_reply(text, len, &st, &pid) == 0 && pid < 0)
			abort();
		break;
	}
	free(text);
	return 0;
}
