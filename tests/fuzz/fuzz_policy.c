/* fuzz_policy.c - libFuzzer target for policy_from_json ($BERTH_ROOT/policy.json).
 *
 * Every input must be either rejected with a message or accepted; an accepted
 * policy must stay within bounds and survive policy_to_json ->
 * policy_from_json unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int policy_equal(const struct policy *a, const struct policy *b)
{
	for (int t = 0; t < 2; t++)
		for (int r = 0; r < RES_COUNT; r++)
			if (a->ratio[t][r] != b->ratio[t][r])
				return 0;
	for (int r = 0; r < RES_COUNT; r++)
		if (a->reserve[r].value != b->reserve[r].value ||
		    a->reserve[r].percent != b->reserve[r].percent)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exactly size bytes: the parser is told the length */
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	struct policy p;
	struct err e = { 0 };
	int r = policy_from_json(text, size, &p, &e);
	free(text);
	if (r < 0) {
		if (e.code != r || e.msg[0] == '\0' || r < -4095)
			abort();
		return 0;
	}
	if (r != 0)
		abort();
	for (int t = 0; t < 2; t++)
		for (int x = 0; x < RES_COUNT; x++)
			if (p.ratio[t][x] < POLICY_RATIO_MIN || p.ratio[t][x] > POLICY_RATIO_MAX)
				abort();
	for (int x = 0; x < RES_COUNT; x++)
		if (p.reserve[x].percent && p.reserve[x].value > 99)
			abort();
	char *json = NULL;
	struct err e2 = { 0 };
	if (policy_to_json(&p, &json, &e2) < 0)
		abort();
	struct policy back;
	if (policy_from_json(json, strlen(json), &back, &e2) != 0) {
		fprintf(stderr, "re-parse of our own output failed: %s\n%s\n", e2.msg, json);
		abort();
	}
	if (!policy_equal(&p, &back)) {
		fprintf(stderr, "round trip changed the policy:\n%s\n", json);
		abort();
	}
	free(json);
	return 0;
}
