/* err.h - the error object every fallible function fills (crun style).
 *
 * Functions return 0 on success or a negative errno, and on failure describe
 * what went wrong in a struct err: a one-line message with context, e.g.
 * "open disk image /x: No such file or directory". Only main() prints it. */
#ifndef BERTH_ERR_H
#define BERTH_ERR_H

#include <errno.h>
#include <stdarg.h>

/* Exit codes the CLI uses; stable API for scripts. */
enum {
	EXIT_USAGE = 2,    /* bad command line or bad value */
	EXIT_STATE = 3,    /* guest in the wrong state (running/stopped/missing) */
	EXIT_HOST = 4,     /* the host cannot do what was asked */
	EXIT_POLICY = 5,   /* refused by the overcommit policy */
};

struct err {
	int code;          /* negative errno of the failure, 0 if none */
	int exit_code;     /* process exit code main() should use (default 1) */
	char msg[512];
};

/* Set the error message from a format; returns -errnum (errnum > 0) so callers
 * can write `return err_set(e, ENOENT, "...")`. */
int err_set(struct err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like err_set but appends ": strerror(errnum)". */
int err_sys(struct err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set err with a specific CLI exit code. */
int err_exit(struct err *e, int exit_code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix an existing message with more context: "ctx: old message". */
int err_wrap(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void err_clear(struct err *e);

/* cleanup helpers */
void cleanup_freep(void *p);
void cleanup_closep(int *fd);
#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))

#endif
