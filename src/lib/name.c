/* name.c - guest and template name rules. */
#include "lib/name.h"

#include <string.h>

int name_check(const char *name, const char *what, struct err *e)
{
	size_t n = name ? strlen(name) : 0;
	int ok = n >= 1 && n <= 63;
	for (size_t i = 0; ok && i < n; i++) {
		char c = name[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		ok = alnum || (i > 0 && c == '-');
	}
	if (!ok)
		return err_exit(e, EXIT_USAGE,
				"bad %s name '%.70s'; use 1-63 of a-z, 0-9 and '-', starting with a letter or digit",
				what, name ? name : "");
	return 0;
}
