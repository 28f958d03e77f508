/* size.h - parse and format sizes and small numeric user input. */
#ifndef BERTH_SIZE_H
#define BERTH_SIZE_H

#include <stdint.h>
#include <stddef.h>
#include "lib/err.h"

/* "No limit": the value of an unset or `unlimited` limit. */
#define LIMIT_NONE UINT64_MAX

/* Parse "512M", "2G", "1.5G", "4096", "unlimited" into bytes (binary units:
 * K=1024). Rejects empty, negative, junk suffixes and overflow. */
int size_parse(const char *s, uint64_t *out, struct err *e);

/* Format bytes as the shortest exact form ("512M", "1536K", "unlimited"). */
void size_format(uint64_t bytes, char *buf, size_t len);

/* Parse a CPU count like "2" or "0.5" into thousandths of a CPU (millicpus).
 * "unlimited" gives LIMIT_NONE. */
int cpus_parse(const char *s, uint64_t *millicpus, struct err *e);
void cpus_format(uint64_t millicpus, char *buf, size_t len);

/* Parse a decimal unsigned integer in [min, max] or "unlimited" (if allowed). */
int uint_parse(const char *s, uint64_t min, uint64_t max, int allow_unlimited,
	       uint64_t *out, struct err *e);

#endif
