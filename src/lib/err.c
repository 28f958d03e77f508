/* err.c - error object helpers. */
#include "lib/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int err_vset(struct err *e, int errnum, const char *fmt, va_list ap)
{
	if (errnum <= 0)
		errnum = EIO;
	if (e) {
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		e->code = -errnum;
		if (e->exit_code == 0)
			e->exit_code = 1;
	}
	return -errnum;
}

int err_set(struct err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = err_vset(e, errnum, fmt, ap);
	va_end(ap);
	return r;
}

int err_sys(struct err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = err_vset(e, errnum, fmt, ap);
	va_end(ap);
	if (e) {
		size_t n = strlen(e->msg);
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(-r));
	}
	return r;
}

int err_exit(struct err *e, int exit_code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = err_vset(e, EINVAL, fmt, ap);
	va_end(ap);
	if (e)
		e->exit_code = exit_code;
	return r;
}

int err_wrap(struct err *e, const char *fmt, ...)
{
	if (!e)
		return -EIO;
	char prefix[256], old[sizeof(e->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%s: %s", prefix, old);
	return e->code ? e->code : -EIO;
}

void err_clear(struct err *e)
{
	e->code = 0;
	e->exit_code = 0;
	e->msg[0] = '\0';
}

void cleanup_freep(void *p)
{
	free(*(void **)p);
}

void cleanup_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
