/* stats.c - parsers of the kernel's usage files and small helpers for
 * guest statistics (see stats.h). Every parser stays inside [text, text+len). */
#include "lib/stats.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "lib/size.h"

uint64_t stats_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Decimal digits at *p (before end) into *v, saturating; *p moves past them.
 * 0 if there was at least one digit, -EINVAL if none. */
static int take_num(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t n = 0;
	while (s < end && *s >= '0' && *s <= '9') {
		unsigned d = (unsigned)(*s - '0');
		n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
		s++;
	}
	if (s == *p)
		return -EINVAL;
	*p = s;
	*v = n;
	return 0;
}

/* Skip spaces and tabs. */
static const char *skip_blank(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* End of the line starting at p (the '\n' or end). */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl : end;
}

/* 1 if [p, e) is exactly the string s. */
static int span_eq(const char *p, const char *e, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(e - p) == n && memcmp(p, s, n) == 0;
}

int stats_parse_u64(const char *text, size_t len, uint64_t *v)
{
	const char *p = text, *end = text + len;
	p = skip_blank(p, end);
	if (end - p >= 3 && memcmp(p, "max", 3) == 0) {
		*v = LIMIT_NONE;
		return 0;
	}
	return take_num(&p, end, v);
}

int stats_parse_keyed(const char *text, size_t len, const char *key, uint64_t *v)
{
	const char *end = text + len;
	size_t n = strlen(key);
	for (const char *p = text; p < end;) {
		const char *le = line_end(p, end);
		if ((size_t)(le - p) > n && memcmp(p, key, n) == 0 &&
		    (p[n] == ' ' || p[n] == '\t' || p[n] == ':')) {
			const char *q = p + n + (p[n] == ':');
			q = skip_blank(q, le);
			uint64_t x;
			if (take_num(&q, le, &x) == 0) {
				q = skip_blank(q, le);
				if (le - q >= 2 && memcmp(q, "kB", 2) == 0)
					x = x > UINT64_MAX / 1024 ? UINT64_MAX : x * 1024;
				*v = x;
				return 0;
			}
		}
		p = le + 1;
	}
	return -ENOENT;
}

void stats_parse_io_stat(const char *text, size_t len, uint64_t *rbytes, uint64_t *wbytes)
{
	const char *end = text + len;
	*rbytes = *wbytes = 0;
	for (const char *p = text; p < end;) {
		const char *le = line_end(p, end);
		/* "MAJ:MIN key=value key=value ..." */
		const char *q = memchr(p, ' ', (size_t)(le - p));
		while (q && q < le) {
			q = skip_blank(q, le);
			const char *tok = q, *eq = NULL;
			while (q < le && *q != ' ' && *q != '\t') {
				if (*q == '=' && !eq)
					eq = q;
				q++;
			}
			uint64_t x;
			const char *num = eq ? eq + 1 : NULL;
			if (!eq || take_num(&num, q, &x) < 0 || num != q)
				continue;
			if (span_eq(tok, eq, "rbytes"))
				*rbytes = stats_add(*rbytes, x);
			else if (span_eq(tok, eq, "wbytes"))
				*wbytes = stats_add(*wbytes, x);
		}
		p = le + 1;
	}
}

void stats_parse_blkio(const char *text, size_t len, uint64_t *rbytes, uint64_t *wbytes)
{
	const char *end = text + len;
	*rbytes = *wbytes = 0;
	for (const char *p = text; p < end;) {
		const char *le = line_end(p, end);
		/* "MAJ:MIN Op N" */
		const char *dev = skip_blank(p, le), *q = dev;
		while (q < le && *q != ' ' && *q != '\t')
			q++;
		const char *op = skip_blank(q, le), *ope = op;
		while (ope < le && *ope != ' ' && *ope != '\t')
			ope++;
		const char *num = skip_blank(ope, le);
		uint64_t x;
		if (q > dev && memchr(dev, ':', (size_t)(q - dev)) && take_num(&num, le, &x) == 0) {
			if (span_eq(op, ope, "Read"))
				*rbytes = stats_add(*rbytes, x);
			else if (span_eq(op, ope, "Write"))
				*wbytes = stats_add(*wbytes, x);
		}
		p = le + 1;
	}
}

void stats_parse_net_dev(const char *text, size_t len, uint64_t *rx, uint64_t *tx)
{
	const char *end = text + len;
	*rx = *tx = 0;
	for (const char *p = text; p < end;) {
		const char *le = line_end(p, end);
		/* "  eth0: rxbytes rxpackets errs drop fifo frame compressed
		 *  multicast txbytes ..." (the two header lines have no ':'
		 *  followed by numbers) */
		const char *colon = memchr(p, ':', (size_t)(le - p));
		if (colon) {
			const char *name = skip_blank(p, colon);
			const char *q = colon + 1;
			uint64_t f[9];
			int n = 0;
			for (; n < 9; n++) {
				q = skip_blank(q, le);
				if (take_num(&q, le, &f[n]) < 0)
					break;
			}
			if (n == 9 && !span_eq(name, colon, "lo")) {
				*rx = stats_add(*rx, f[0]);
				*tx = stats_add(*tx, f[8]);
			}
		}
		p = le + 1;
	}
}

int stats_parse_proc_stat(const char *text, size_t len, int *ppid, uint64_t *ticks,
			  uint64_t *threads)
{
	const char *end = text + len, *p = NULL;
	for (const char *q = text; q < end; q++)
		if (*q == ')')
			p = q;
	if (!p)
		return -EINVAL;
	p++;
	/* after comm: field 3 (state) ... utime is field 14, stime 15,
	 * num_threads 20 (proc(5)) */
	uint64_t f[21] = { 0 };
	for (int i = 3; i <= 20; i++) {
		p = skip_blank(p, end);
		if (i == 3) {               /* state: one letter */
			if (p >= end || *p == ' ' || *p == '\n')
				return -EINVAL;
			while (p < end && *p != ' ' && *p != '\t' && *p != '\n')
				p++;
			continue;
		}
		if (p < end && *p == '-')  /* ppid etc. may be -1 */
			p++;
		if (take_num(&p, end, &f[i]) < 0)
			return -EINVAL;
	}
	*ppid = f[4] > INT32_MAX ? -1 : (int)f[4];
	*ticks = stats_add(f[14], f[15]);
	*threads = f[20];
	return 0;
}

/* A non-negative integer member of o, or 0. */
static uint64_t json_u64(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v) < 0 ? 0 : json_object_get_uint64(v);
}

int stats_parse_vmm_reply(const char *text, size_t len, struct guest_stats *st, int *pid)
{
	json_tokener *tok = json_tokener_new_ex(8);
	if (!tok)
		return -ENOMEM;
	json_object *o = len > (size_t)INT32_MAX ? NULL : json_tokener_parse_ex(tok, text, (int)len);
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EINVAL;
	}
	st->vcpus = json_u64(o, "vcpus");
	st->guest_memory_bytes = json_u64(o, "guest_memory_bytes");
	st->exits = json_u64(o, "exits");
	st->block_read_bytes = json_u64(o, "block_read_bytes");
	st->block_write_bytes = json_u64(o, "block_write_bytes");
	st->net_rx_bytes = json_u64(o, "net_rx_bytes");
	st->net_tx_bytes = json_u64(o, "net_tx_bytes");
	uint64_t p = json_u64(o, "pid");
	*pid = p > INT32_MAX ? 0 : (int)p;
	json_object_put(o);
	return 0;
}

void stats_cpu_percent(const struct guest_stats *prev, struct guest_stats *cur)
{
	cur->cpu_percent = 0;
	if (!prev->running || !cur->running || cur->sampled_usec <= prev->sampled_usec ||
	    cur->cpu_usec < prev->cpu_usec)
		return;
	cur->cpu_percent = 100.0 * (double)(cur->cpu_usec - prev->cpu_usec) /
			   (double)(cur->sampled_usec - prev->sampled_usec);
}

void stats_human(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	if (bytes < 1024) {
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
		return;
	}
	double v = (double)bytes / 1024;
	unsigned u = 0;
	while (v >= 1024 && u + 1 < sizeof(units) - 1) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

void stats_uptime(uint64_t s, char *buf, size_t len)
{
	if (s < 60)
		snprintf(buf, len, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s / 60 % 60));
	else
		snprintf(buf, len, "%llud%02lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s / 3600 % 24));
}
