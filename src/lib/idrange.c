/* idrange.c - allocation of unique host id ranges (the guest label). */
#include "lib/idrange.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/name.h"

int idrange_pick(const uint32_t *used, size_t n, uint32_t *base)
{
	/* a bitmap of taken slots */
	static const size_t words = IDRANGE_SLOTS / 64;
	uint64_t *taken = calloc(words, sizeof(uint64_t));
	if (!taken)
		return -ENOMEM;
	/* the last slot ends at uid 4294967295, (uid_t)-1, which no uid_map can
	 * hold (and config_from_json refuses its base): never hand it out */
	taken[words - 1] |= 1ull << 63;
	for (size_t i = 0; i < n; i++) {
		/* mark every slot the range [base, base + IDRANGE_SIZE) touches, so
		 * that a hand-edited base off the slot grid cannot lead to overlap */
		uint64_t lo = used[i], hi = (uint64_t)used[i] + IDRANGE_SIZE - 1;
		if (hi < IDRANGE_FIRST)
			continue;
		if (lo < IDRANGE_FIRST)
			lo = IDRANGE_FIRST;
		for (uint64_t slot = (lo - IDRANGE_FIRST) / IDRANGE_SIZE;
		     slot <= (hi - IDRANGE_FIRST) / IDRANGE_SIZE && slot < IDRANGE_SLOTS; slot++)
			taken[slot / 64] |= 1ull << (slot % 64);
	}
	int r = -ENOSPC;
	for (size_t w = 0; w < words && r < 0; w++) {
		if (taken[w] == UINT64_MAX)
			continue;
		unsigned bit = (unsigned)__builtin_ctzll(~taken[w]);
		*base = IDRANGE_FIRST + (uint32_t)(w * 64 + bit) * IDRANGE_SIZE;
		r = 0;
	}
	free(taken);
	return r;
}

/* The host-wide claim registry: one file per claimed range, named by its
 * base, holding "<store root>\n<guest name>\n". It keeps labels unique
 * across stores (several BERTH_ROOTs on one host, as the tests use). */
static void registry_dir(char *buf, size_t len)
{
	const char *d = getenv("BERTH_IDS");
	snprintf(buf, len, "%s", d && d[0] == '/' ? d : "/var/lib/berth/idranges");
}

/* A claim is live while its guest dir exists and, once the guest has a
 * config, that config holds the same base. */
static int claim_live(const char *text, uint32_t base)
{
	char root[PATH_MAX], name[64], p[PATH_MAX + 128];
	if (sscanf(text, "%4095[^\n]\n%63[^\n]", root, name) != 2 || root[0] != '/' ||
	    name_check(name, "guest", NULL) < 0)
		return 0;
	snprintf(p, sizeof(p), "%s/guests/%s", root, name);
	struct stat st;
	if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	snprintf(p, sizeof(p), "%s/guests/%s/config.json", root, name);
	char *cfg = NULL;
	size_t len;
	if (read_file(p, 1 << 20, &cfg, &len, NULL) < 0)
		return 1; /* being created: dir first, then claim, then config */
	struct guest_config c;
	int live = config_from_json(cfg, len, &c, NULL) == 0 && c.id_base == base;
	free(cfg);
	return live;
}

/* Append the bases of live claims to *used (dropping stale claim files). */
static int registry_scan(const char *dir, uint32_t **used, size_t *n, struct err *e)
{
	DIR *d = opendir(dir);
	if (!d)
		return err_sys(e, errno, "open id range registry %s", dir);
	struct dirent *de;
	size_t cap = *n;
	while ((de = readdir(d))) {
		char *end;
		unsigned long b = strtoul(de->d_name, &end, 10);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end || b > UINT32_MAX)
			continue;
		char p[PATH_MAX], *text = NULL;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (read_file(p, 8192, &text, NULL, NULL) < 0)
			continue;
		int live = claim_live(text, (uint32_t)b);
		free(text);
		if (!live) {
			unlink(p);
			continue;
		}
		if (*n == cap) {
			cap = cap * 2 + 16;
			uint32_t *nu = realloc(*used, cap * sizeof(**used));
			if (!nu) {
				closedir(d);
				return err_set(e, ENOMEM, "out of memory");
			}
			*used = nu;
		}
		(*used)[(*n)++] = (uint32_t)b;
	}
	closedir(d);
	return 0;
}

int idrange_alloc(const struct store *s, const char *name, int durable, uint32_t *base,
		  struct err *e)
{
	char dir[PATH_MAX], lockp[PATH_MAX + 8];
	registry_dir(dir, sizeof(dir));
	int r = mkdir_p(dir, 0700, e);
	if (r < 0)
		return r;
	snprintf(lockp, sizeof(lockp), "%s/.lock", dir);
	int lock = lock_path(lockp, 0, 0, e);
	if (lock < 0)
		return lock;
	char **names;
	size_t n, k = 0;
	uint32_t *used = NULL;
	if ((r = store_list(s, "guests", &names, &n, e)) < 0)
		goto out;
	used = calloc(n + 1, sizeof(*used));
	if (!used) {
		names_free(names, n);
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct guest_config c;
		if (guest_load(s, names[i], &c, NULL) == 0)
			used[k++] = c.id_base;
	}
	names_free(names, n);
	if ((r = registry_scan(dir, &used, &k, e)) < 0)
		goto out;
	r = idrange_pick(used, k, base);
	if (r == -ENOSPC) {
		r = err_exit(e, EXIT_HOST, "all %u id ranges are in use; destroy unused guests",
			     IDRANGE_SLOTS - 1);
		goto out;
	}
	if (r < 0) {
		r = err_set(e, -r, "out of memory");
		goto out;
	}
	char p[PATH_MAX], text[PATH_MAX + 80];
	snprintf(p, sizeof(p), "%s/%u", dir, *base);
	int len = snprintf(text, sizeof(text), "%s\n%s\n", s->root, name);
	r = atomic_write(p, text, (size_t)len, 0600, durable, e);
out:
	free(used);
	close(lock);
	return r;
}

void idrange_release(const struct store *s, const char *name, uint32_t base)
{
	char dir[PATH_MAX], p[PATH_MAX + 16], *text = NULL, want[PATH_MAX + 80];
	registry_dir(dir, sizeof(dir));
	snprintf(p, sizeof(p), "%s/%u", dir, base);
	snprintf(want, sizeof(want), "%s\n%s\n", s->root, name);
	if (read_file(p, 8192, &text, NULL, NULL) == 0 && strcmp(text, want) == 0)
		unlink(p);
	free(text);
}
