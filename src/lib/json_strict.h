/* json_strict.h - parse one JSON document from untrusted text: a size cap,
 * a nesting cap, and nothing but white space after the value (json-c stops
 * after the first value; more means a damaged or concatenated file). */
#ifndef BERTH_JSON_STRICT_H
#define BERTH_JSON_STRICT_H

#include <json-c/json.h>
#include <stddef.h>
#include "lib/err.h"

/* *out gets the value (json_object_put it), or an EINVAL error saying why
 * the text is not one JSON value. */
int json_parse_strict(const char *text, size_t len, int depth, json_object **out, struct err *e);

#endif
