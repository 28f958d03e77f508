/* test_idrange.c - id range slots: idrange_pick and idrange_alloc on a store. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "lib/fsutil.h"
#include "lib/idrange.h"

#define SLOT(i) (IDRANGE_FIRST + (uint32_t)(i) * IDRANGE_SIZE)

static uint32_t pick(const uint32_t *used, size_t n)
{
	uint32_t base = 0xdeadbeef;
	int r = idrange_pick(used, n, &base);
	if (r != 0)
		fail_msg("idrange_pick failed: %d", r);
	return base;
}

static void test_pick_basic(void **state)
{
	assert_int_equal(pick(NULL, 0), IDRANGE_FIRST);
	uint32_t two[] = { SLOT(0), SLOT(1) };
	assert_int_equal(pick(two, 2), SLOT(2));
	/* order does not matter, nor duplicates */
	uint32_t rev[] = { SLOT(1), SLOT(0), SLOT(1), SLOT(0) };
	assert_int_equal(pick(rev, 4), SLOT(2));
	/* the lowest hole wins */
	uint32_t holes[] = { SLOT(0), SLOT(2), SLOT(3), SLOT(5) };
	assert_int_equal(pick(holes, 4), SLOT(1));
	uint32_t hole0[] = { SLOT(1), SLOT(2) };
	assert_int_equal(pick(hole0, 2), SLOT(0));
	/* across a bitmap word boundary */
	uint32_t w[130];
	for (size_t i = 0; i < 130; i++)
		w[i] = SLOT(i);
	assert_int_equal(pick(w, 64), SLOT(64));
	assert_int_equal(pick(w, 130), SLOT(130));
	w[100] = SLOT(0);
	assert_int_equal(pick(w, 130), SLOT(100));
}

static void test_pick_garbage(void **state)
{
	/* bases whose range lies wholly below the slots are ignored */
	uint32_t junk[] = { 0, 1, 1000, 100000, 165536, IDRANGE_FIRST - IDRANGE_SIZE,
			    IDRANGE_FIRST - 2 * IDRANGE_SIZE, 0x3fff0000u };
	assert_int_equal(pick(junk, sizeof(junk) / sizeof(junk[0])), SLOT(0));
	/* a base off the grid blocks every slot its range overlaps */
	uint32_t off[] = { SLOT(0) + 100 };
	assert_int_equal(pick(off, 1), SLOT(2));
	uint32_t below[] = { IDRANGE_FIRST - 1 };
	assert_int_equal(pick(below, 1), SLOT(1));
	uint32_t end[] = { SLOT(0), SLOT(1) - 1 }; /* ends on SLOT(1)'s first id */
	assert_int_equal(pick(end, 2), SLOT(2));
	/* bases at the very top of the id space */
	uint32_t top[] = { UINT32_MAX, UINT32_MAX - 5, SLOT(IDRANGE_SLOTS - 1) };
	assert_int_equal(pick(top, 3), SLOT(0));
}

static void test_pick_full(void **state)
{
	uint32_t *all = malloc(IDRANGE_SLOTS * sizeof(*all));
	assert_non_null(all);
	for (uint32_t i = 0; i < IDRANGE_SLOTS; i++)
		all[i] = SLOT(i);
	uint32_t base = 7;
	assert_int_equal(idrange_pick(all, IDRANGE_SLOTS, &base), -ENOSPC);
	assert_int_equal(base, 7);
	/* free one slot in the middle: it is found */
	all[31337] = SLOT(0);
	assert_int_equal(pick(all, IDRANGE_SLOTS), SLOT(31337));
	/* the last slot is never handed out: its range would end at uid
	 * 4294967295, which is (uid_t)-1 and no valid uid_map entry */
	all[31337] = SLOT(31337);
	all[IDRANGE_SLOTS - 1] = SLOT(0);
	assert_int_equal(idrange_pick(all, IDRANGE_SLOTS, &base), -ENOSPC);
	/* every base handed out is one config_from_json accepts */
	assert_true((uint64_t)SLOT(IDRANGE_SLOTS - 2) + IDRANGE_SIZE - 1 < UINT32_MAX);
	free(all);
}

/* ---- idrange_alloc against a real store ---- */

struct fixture {
	char dir[PATH_MAX];
	struct store s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/berth-test-idrange.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	char root[PATH_MAX + 16], run[PATH_MAX + 16];
	snprintf(root, sizeof(root), "%s/root", f->dir);
	snprintf(run, sizeof(run), "%s/run", f->dir);
	setenv("BERTH_ROOT", root, 1);
	setenv("BERTH_RUN", run, 1);
	char ids[PATH_MAX + 16];
	snprintf(ids, sizeof(ids), "%s/ids", f->dir);
	setenv("BERTH_IDS", ids, 1);
	struct err e = {0};
	if (store_open(&f->s, &e) < 0) {
		fprintf(stderr, "store_open: %s\n", e.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct err e = {0};
	int r = rm_rf(f->dir, &e);
	free(f);
	return r;
}

static void add_guest(struct fixture *f, const char *name, uint32_t base)
{
	char p[PATH_MAX];
	struct err e = {0};
	store_guest_path(&f->s, name, NULL, p, sizeof(p));
	assert_int_equal(mkdir(p, 0700), 0);
	struct guest_config c;
	config_init(&c);
	snprintf(c.name, sizeof(c.name), "%s", name);
	c.id_base = base;
	if (guest_save(&f->s, &c, &e) < 0)
		fail_msg("guest_save %s: %s", name, e.msg);
	struct guest_config back;
	assert_int_equal(guest_load(&f->s, name, &back, &e), 0);
	assert_int_equal(back.id_base, base);
}

static uint32_t alloc(struct fixture *f)
{
	struct err e = {0};
	uint32_t base = 0;
	if (idrange_alloc(&f->s, "unborn", 1, &base, &e) < 0)
		fail_msg("idrange_alloc: %s", e.msg);
	return base;
}

static void test_alloc_store(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(getenv("BERTH_ROOT"), f->s.root);
	assert_int_equal(alloc(f), SLOT(0));
	add_guest(f, "one", SLOT(0));
	assert_int_equal(alloc(f), SLOT(1));
	add_guest(f, "two", SLOT(1));
	assert_int_equal(alloc(f), SLOT(2));
	add_guest(f, "four", SLOT(3));
	assert_int_equal(alloc(f), SLOT(2));
	add_guest(f, "three", SLOT(2));
	assert_int_equal(alloc(f), SLOT(4));
	/* entries that are not guests are skipped */
	char p[PATH_MAX];
	store_guest_path(&f->s, ".tmp-x", NULL, p, sizeof(p));
	assert_int_equal(mkdir(p, 0700), 0);
	store_guest_path(&f->s, "empty", NULL, p, sizeof(p));
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(alloc(f), SLOT(4));
}

static void test_alloc_missing_root(void **state)
{
	struct fixture *f = *state;
	/* a store whose guests/ dir is gone is simply empty */
	struct store s = f->s;
	snprintf(s.root, sizeof(s.root), "%s/nowhere", f->dir);
	uint32_t base = 0;
	struct err e = {0};
	assert_int_equal(idrange_alloc(&s, "x", 1, &base, &e), 0);
	assert_int_equal(base, SLOT(0));
}

/* Claims in the host-wide registry keep ranges unique across stores. */
static void test_alloc_across_stores(void **state)
{
	struct fixture *f = *state;
	struct store s2 = f->s;
	struct err e = {0};
	char p[PATH_MAX];
	uint32_t a = 0, b = 0, c = 0;
	snprintf(s2.root, sizeof(s2.root), "%s/root2", f->dir);
	store_guest_path(&f->s, "a", NULL, p, sizeof(p));
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(idrange_alloc(&f->s, "a", 0, &a, &e), 0);
	assert_int_equal(a, SLOT(0));
	/* another store sees a's claim while a's dir exists */
	assert_int_equal(idrange_alloc(&s2, "b", 0, &b, &e), 0);
	assert_int_equal(b, SLOT(1));
	/* b never got a dir: its claim is stale and reusable; a's is not */
	assert_int_equal(idrange_alloc(&s2, "c", 0, &c, &e), 0);
	assert_int_equal(c, SLOT(1));
	/* a's config with another base makes a's claim stale too */
	add_guest(f, "a2", SLOT(7));
	idrange_release(&f->s, "a", a);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(idrange_alloc(&s2, "d", 0, &c, &e), 0);
	assert_int_equal(c, SLOT(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pick_basic),
		cmocka_unit_test(test_pick_garbage),
		cmocka_unit_test(test_pick_full),
		cmocka_unit_test_setup_teardown(test_alloc_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_missing_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_across_stores, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
