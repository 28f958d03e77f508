/* fuzz_workload_line.c - libFuzzer target for workload_parse, the lines a
 * guest prints back to `berth compare` (lib/workload_line.h).
 *
 * Any input: no crash, no read past its length; an accepted value is a
 * finite number > 0 and < 1e15, and never more values than room. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/workload_line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exactly size bytes: the parser is told the length */
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	static const char *const kinds[][2] = { { "cpu", "ms" }, { "memory", "MiB/s" }, { "fsync", "/s" } };
	for (size_t k = 0; k < 3; k++) {
		double v[3];
		size_t n = 99;
		int r = workload_parse(text, size, kinds[k][0], kinds[k][1], v, 3, &n);
		if (r != 0 && r != -EINVAL && r != -ENOENT)
			abort();
		if (n > 3 || (r == -ENOENT && n != 0))
			abort();
		for (size_t i = 0; i < n; i++)
			if (!isfinite(v[i]) || !(v[i] > 0) || v[i] >= 1e15)
				abort();
		if (r == 0 && n > 0) {
			double m = workload_median(v, n);
			if (m < v[0] || m > v[n - 1])
				abort();
		}
	}
	free(text);
	return 0;
}
