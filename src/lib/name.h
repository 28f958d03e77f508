/* name.h - guest and template names. */
#ifndef BERTH_NAME_H
#define BERTH_NAME_H

#include "lib/err.h"

/* Names match [a-z0-9][a-z0-9-]{0,62}; `what` is "guest" or "template" and
 * appears in the error message. */
int name_check(const char *name, const char *what, struct err *e);

#endif
