/* stats.h (cli) - sampling guests' usage and printing it, shared by
 * `berth stats` (stats.c) and `berth top` (top.c). */
#ifndef BERTH_CLI_STATS_H
#define BERTH_CLI_STATS_H

#include <stdio.h>
#include "lib/err.h"
#include "lib/stats.h"
#include "lib/store.h"

#define STATS_INTERVAL_MS 500

/* One sample of guest `name` (its config must load): a stopped guest gives
 * zeros with running 0, and its configured limits. */
int stats_sample(const struct store *s, const char *name, struct guest_stats *st,
		 struct err *e);

/* Sample the n guests, wait interval_ms (not when none runs), sample them
 * again and set cpu_percent. out holds the second samples. */
int stats_measure(const struct store *s, char *const *names, size_t n, int interval_ms,
		  struct guest_stats *out, struct err *e);

/* The table `stats` and `top` print: a header, then one row per guest
 * (running ones only when only_running). */
void stats_print_table(FILE *f, const struct guest_stats *st, size_t n, int only_running);

/* Parse --interval's value: milliseconds, 50..60000. */
int stats_interval_arg(const char *arg, int *ms, struct err *e);

#endif
