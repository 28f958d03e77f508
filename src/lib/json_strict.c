/* json_strict.c - one JSON document from untrusted text (json_strict.h). */
#include "lib/json_strict.h"

#include <string.h>

int json_parse_strict(const char *text, size_t len, int depth, json_object **out, struct err *e)
{
	*out = NULL;
	if (len > (size_t)0x7fffffff)
		return err_set(e, EFBIG, "JSON text of %zu bytes is too large", len);
	json_tokener *tok = json_tokener_new_ex(depth);
	if (!tok)
		return err_set(e, ENOMEM, "out of memory");
	json_object *o = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	if (!o || jerr != json_tokener_success) {
		const char *why = jerr == json_tokener_continue ? "truncated JSON"
								 : json_tokener_error_desc(jerr);
		json_object_put(o);
		json_tokener_free(tok);
		return err_set(e, EINVAL, "not valid JSON: %s", why);
	}
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
		if (!text[i] || !strchr(" \t\r\n", text[i])) {
			json_object_put(o);
			json_tokener_free(tok);
			return err_set(e, EINVAL, "not valid JSON: data after the value at byte %zu", i);
		}
	}
	json_tokener_free(tok);
	*out = o;
	return 0;
}
