/* workload_line.c - parse `KIND <value> <unit>` lines from a guest
 * (see workload_line.h). */
#include "lib/workload_line.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Parse one line (no newline, NUL-terminated, at most WORKLOAD_LINE_MAX):
 * 1 if it is `kind value unit` with a valid value, 0 if it is another
 * line, -EINVAL if it is of this kind and unit but its value is bad. */
static int parse_one(const char *line, const char *kind, const char *unit, double *v)
{
	size_t kl = strlen(kind), ul = strlen(unit);
	if (strncmp(line, kind, kl) != 0 || line[kl] != ' ')
		return 0;
	const char *num = line + kl + 1;
	const char *sp = strchr(num, ' ');
	if (!sp || strlen(sp + 1) != ul || strcmp(sp + 1, unit) != 0)
		return 0;
	char buf[WORKLOAD_LINE_MAX + 1];
	size_t nl = (size_t)(sp - num);
	if (nl == 0 || nl >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, num, nl);
	buf[nl] = '\0';
	/* digits and one '.' only: no signs, exponents, hex, inf or nan */
	if (strspn(buf, "0123456789.") != nl || strchr(buf, '.') != strrchr(buf, '.') ||
	    buf[0] == '.')
		return -EINVAL;
	char *end;
	errno = 0;
	double d = strtod(buf, &end);
	if (errno || *end || !isfinite(d) || !(d > 0) || d >= 1e15)
		return -EINVAL;
	*v = d;
	return 1;
}

int workload_parse(const char *text, size_t len, const char *kind, const char *unit,
		   double *vals, size_t max, size_t *n)
{
	*n = 0;
	if (!kind[0] || strlen(kind) + strlen(unit) + 3 > WORKLOAD_LINE_MAX)
		return -EINVAL;
	int found = 0;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t ll = end - i;
		if (ll > 0 && ll <= WORKLOAD_LINE_MAX && !memchr(text + i, '\0', ll)) {
			char line[WORKLOAD_LINE_MAX + 1];
			memcpy(line, text + i, ll);
			line[ll] = '\0';
			double v;
			int r = parse_one(line, kind, unit, &v);
			if (r < 0)
				return r;
			if (r > 0) {
				found = 1;
				if (*n < max)
					vals[(*n)++] = v;
			}
		}
		i = end + 1;
	}
	return found ? 0 : -ENOENT;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double workload_median(double *vals, size_t n)
{
	if (n == 0)
		return 0;
	qsort(vals, n, sizeof(vals[0]), cmp_double);
	return n % 2 ? vals[n / 2] : (vals[n / 2 - 1] + vals[n / 2]) / 2;
}
