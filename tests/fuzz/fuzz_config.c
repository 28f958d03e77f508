/* fuzz_config.c - libFuzzer target for config_from_json (guests/<name>/config.json).
 *
 * Every input must be either rejected with a message or accepted; an accepted
 * config must survive config_to_json -> config_from_json unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int config_equal(const struct guest_config *a, const struct guest_config *b)
{
	return !strcmp(a->name, b->name) && a->type == b->type &&
	       !strcmp(a->template_name, b->template_name) && !strcmp(a->hostname, b->hostname) &&
	       a->lim.memory == b->lim.memory && a->lim.swap == b->lim.swap &&
	       a->lim.cpus == b->lim.cpus && a->lim.cpu_weight == b->lim.cpu_weight &&
	       a->lim.pids == b->lim.pids && a->lim.disk == b->lim.disk &&
	       a->id_base == b->id_base && a->id_count == b->id_count && a->init == b->init &&
	       a->ephemeral == b->ephemeral && a->onboot == b->onboot && a->created == b->created;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes (NUL-terminated for safety, but the
	 * parser is told the length and must not read the terminator) */
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	struct guest_config c;
	struct err e = {0};
	int r = config_from_json(text, size, &c, &e);
	free(text);
	if (r < 0) {
		/* rejected: with a reason, and a negative errno */
		if (e.code != r || e.msg[0] == '\0' || r < -4095)
			abort();
		return 0;
	}
	if (r != 0)
		abort();

	char *json = NULL;
	struct err e2 = {0};
	if (config_to_json(&c, &json, &e2) < 0)
		abort();
	struct guest_config back;
	if (config_from_json(json, strlen(json), &back, &e2) != 0) {
		fprintf(stderr, "re-parse of our own output failed: %s\n%s\n", e2.msg, json);
		abort();
	}
	if (!config_equal(&c, &back)) {
		fprintf(stderr, "round trip changed the config:\n%s\n", json);
		abort();
	}
	free(json);
	return 0;
}
