/* term.h - progress output: live on a terminal, silent otherwise. */
#ifndef BERTH_TERM_H
#define BERTH_TERM_H

/* 1 if stderr is a terminal (progress is shown). */
int progress_enabled(void);
/* Replace the current progress line (no-op when not a terminal). */
void progress_show(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Clear the progress line. */
void progress_done(void);

#endif
