/* workload_line.h - the parser of `berth workload` output, the lines
 * `KIND <value> <unit>` a guest prints back to `berth compare`.
 *
 * The text comes from inside a guest and is untrusted: bounded, lines
 * longer than WORKLOAD_LINE_MAX are skipped, other lines (any noise the
 * guest adds) ignored, a value must be a finite number > 0 and < 1e15.
 * Unit-tested with hostile input and fuzzed (tests/fuzz/fuzz_workload_line.c). */
#ifndef BERTH_WORKLOAD_LINE_H
#define BERTH_WORKLOAD_LINE_H

#include <stddef.h>

#define WORKLOAD_LINE_MAX 128

/* Collect, in order, the values of the lines `kind <value> unit` in text
 * (len bytes, no NUL needed), at most max of them, into vals; their count
 * goes to n. A line of that kind and unit whose value is not valid makes
 * it -EINVAL; no such line at all is -ENOENT. */
int workload_parse(const char *text, size_t len, const char *kind, const char *unit,
		   double *vals, size_t max, size_t *n);

/* The median of n values (n >= 1; vals is sorted in place). */
double workload_median(double *vals, size_t n);

#endif
