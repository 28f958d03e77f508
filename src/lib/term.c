/* term.c - one-line progress display on stderr when it is a terminal. */
#include "lib/term.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static int shown;

int progress_enabled(void)
{
	static int cached = -1;
	if (cached < 0)
		cached = isatty(STDERR_FILENO);
	return cached;
}

void progress_show(const char *fmt, ...)
{
	if (!progress_enabled())
		return;
	char line[100];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
	shown = 1;
}

void progress_done(void)
{
	if (shown && progress_enabled())
		fprintf(stderr, "\r\033[K");
	shown = 0;
}
