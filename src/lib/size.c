/* size.c - sizes ("512M"), CPU counts ("1.5") and bounded integers. */
#include "lib/size.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Parse "digits[.digits]" into an integer scaled by 10^scale_digits;
 * returns the number of characters consumed, or -1. */
static int parse_decimal(const char *s, unsigned scale_digits, uint64_t *out)
{
	uint64_t v = 0;
	unsigned frac = 0;
	int i = 0, any = 0, dot = 0;

	for (;; i++) {
		char c = s[i];
		if (c == '.' && !dot) {
			dot = 1;
			continue;
		}
		if (!isdigit((unsigned char)c))
			break;
		if (dot) {
			if (frac >= scale_digits) {
				if (c != '0')
					return -1; /* more precision than we keep */
				continue;
			}
			frac++;
		}
		uint64_t d = (uint64_t)(c - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
		any = 1;
	}
	if (!any)
		return -1;
	for (; frac < scale_digits; frac++) {
		if (v > UINT64_MAX / 10)
			return -1;
		v *= 10;
	}
	*out = v;
	return i;
}

int size_parse(const char *s, uint64_t *out, struct err *e)
{
	if (!s || !*s)
		return err_exit(e, EXIT_USAGE, "empty size; use a number with an optional K, M, G or T suffix");
	if (strcmp(s, "unlimited") == 0) {
		*out = LIMIT_NONE;
		return 0;
	}
	/* whole numbers are parsed unscaled so that every byte count up to
	 * LIMIT_NONE - 1 (what size_format prints) is accepted */
	uint64_t whole, frac = 0;
	int n = parse_decimal(s, 0, &whole);
	if (n < 0) {
		uint64_t milli;
		n = parse_decimal(s, 3, &milli);
		if (n < 0)
			goto bad;
		whole = milli / 1000;
		frac = milli % 1000;
	}
	const char *suf = s + n;
	unsigned shift = 0;
	switch (toupper((unsigned char)*suf)) {
	case '\0': break;
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	case 'T': shift = 40; break;
	default: goto bad;
	}
	if (*suf) {
		suf++;
		if ((*suf == 'i' && suf[1] == 'B') || *suf == 'B')
			suf += (*suf == 'i') ? 2 : 1;
		if (*suf)
			goto bad;
	}
	/* bytes = (whole + frac / 1000) * 2^shift, without overflow */
	if (shift && whole > (UINT64_MAX >> shift))
		goto range;
	uint64_t bytes = whole << shift;
	uint64_t fbytes = (frac << shift) / 1000;
	if (!shift && frac)
		goto bad; /* fractional bytes */
	if (bytes > UINT64_MAX - 1 - fbytes)
		goto range;
	*out = bytes + fbytes;
	return 0;
bad:
	return err_exit(e, EXIT_USAGE, "bad size '%s'; use a number with an optional K, M, G or T suffix (e.g. 512M) or 'unlimited'", s);
range:
	return err_exit(e, EXIT_USAGE, "size '%s' is too large", s);
}

void size_format(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	if (bytes == LIMIT_NONE) {
		snprintf(buf, len, "unlimited");
		return;
	}
	int u = -1;
	while (u < 3 && bytes && (bytes % 1024) == 0) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)bytes, units[u]);
}

int cpus_parse(const char *s, uint64_t *millicpus, struct err *e)
{
	if (s && strcmp(s, "unlimited") == 0) {
		*millicpus = LIMIT_NONE;
		return 0;
	}
	uint64_t v;
	int n = s ? parse_decimal(s, 3, &v) : -1;
	if (n < 0 || s[n] != '\0' || v == 0 || v > 1000000ull * 1000)
		return err_exit(e, EXIT_USAGE, "bad CPU count '%s'; use a positive number such as 2 or 0.5", s ? s : "");
	*millicpus = v;
	return 0;
}

void cpus_format(uint64_t m, char *buf, size_t len)
{
	if (m == LIMIT_NONE)
		snprintf(buf, len, "unlimited");
	else if (m % 1000 == 0)
		snprintf(buf, len, "%llu", (unsigned long long)(m / 1000));
	else {
		char tmp[32];
		snprintf(tmp, sizeof(tmp), "%llu.%03llu", (unsigned long long)(m / 1000),
			 (unsigned long long)(m % 1000));
		size_t n = strlen(tmp);
		while (tmp[n - 1] == '0')
			tmp[--n] = '\0';
		snprintf(buf, len, "%s", tmp);
	}
}

int uint_parse(const char *s, uint64_t min, uint64_t max, int allow_unlimited,
	       uint64_t *out, struct err *e)
{
	if (allow_unlimited && s && strcmp(s, "unlimited") == 0) {
		*out = LIMIT_NONE;
		return 0;
	}
	uint64_t v;
	int n = s ? parse_decimal(s, 0, &v) : -1;
	if (n < 0 || s[n] != '\0' || v < min || v > max)
		return err_exit(e, EXIT_USAGE, "bad number '%s'; expected an integer from %llu to %llu%s",
				s ? s : "", (unsigned long long)min, (unsigned long long)max,
				allow_unlimited ? " or 'unlimited'" : "");
	*out = v;
	return 0;
}
