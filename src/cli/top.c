/* top.c - `berth top [--interval MS]`: a live table of the running guests,
 * redrawn every interval on a terminal (q or Ctrl-C quits and restores the
 * terminal); one snapshot when stdout is not a terminal, like `top -b -n1`. */
#include "cli/cli.h"
#include "cli/stats.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum { OPT_INTERVAL = 2000 };
#define TOP_REFRESH_MS 1000
#define TOP_FIRST_MS 250         /* the first frame's CPU% sampling window */

static volatile sig_atomic_t top_quit;

static void top_on_signal(int sig)
{
	(void)sig;
	top_quit = 1;
}

/* One sample of every guest in the store (those whose config loads). */
static int sample_store(const struct store *s, struct guest_stats **out, size_t *count,
			struct err *e)
{
	char **names;
	size_t n;
	int r = store_list(s, "guests", &names, &n, e);
	if (r < 0)
		return r;
	struct guest_stats *st = calloc(n ? n : 1, sizeof(*st));
	size_t k = 0;
	for (size_t i = 0; st && i < n; i++) {
		struct err le = { 0 };
		if (stats_sample(s, names[i], &st[k], &le) == 0)
			k++;
	}
	names_free(names, n);
	if (!st)
		return err_set(e, ENOMEM, "out of memory");
	*out = st;
	*count = k;
	return 0;
}

/* cur's CPU% against the sample of the same guest in prev, if any. */
static void percent_from(const struct guest_stats *prev, size_t np, struct guest_stats *cur,
			 size_t nc)
{
	for (size_t i = 0; i < nc; i++)
		for (size_t j = 0; j < np; j++)
			if (!strcmp(cur[i].name, prev[j].name))
				stats_cpu_percent(&prev[j], &cur[i]);
}

/* The snapshot: two samples interval_ms apart, running guests only. */
static int top_once(const struct store *s, int interval_ms, struct err *e)
{
	struct guest_stats *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	int r = sample_store(s, &a, &na, e);
	if (r == 0) {
		usleep((useconds_t)interval_ms * 1000u);
		r = sample_store(s, &b, &nb, e);
	}
	if (r == 0) {
		percent_from(a, na, b, nb);
		stats_print_table(stdout, b, nb, 1);
	}
	free(a);
	free(b);
	return r;
}

/* Clear the screen and draw one frame. */
static void top_draw(const struct guest_stats *st, size_t n)
{
	size_t running = 0;
	for (size_t i = 0; i < n; i++)
		running += st[i].running != 0;
	char clock[16];
	time_t t = time(NULL);
	struct tm tm;
	strftime(clock, sizeof(clock), "%H:%M:%S", localtime_r(&t, &tm));
	printf("\033[H\033[2Jberth top - %s, %zu running guest%s (q quits)\n\n", clock, running,
	       running == 1 ? "" : "s");
	stats_print_table(stdout, st, n, 1);
	fflush(stdout);
}

/* Wait up to ms for 'q' on stdin or a signal; 1 when it is time to quit. */
static int top_wait(int tty_in, int ms)
{
	struct pollfd p = { .fd = tty_in ? STDIN_FILENO : -1, .events = POLLIN };
	if (poll(&p, 1, ms) > 0 && (p.revents & POLLIN)) {
		char buf[64];
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n > 0 && (memchr(buf, 'q', (size_t)n) || memchr(buf, 'Q', (size_t)n)))
			return 1;
		if (n == 0)
			return 1;         /* the terminal went away */
	}
	return top_quit;
}

/* The live view; the terminal is restored however it ends. */
static int top_live(const struct store *s, int interval_ms, struct err *e)
{
	struct termios saved, raw;
	int tty_in = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (tty_in) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	struct sigaction sa = { .sa_handler = top_on_signal }, old_int, old_term, old_hup;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	printf("\033[?25l");     /* hide the cursor */
	struct guest_stats *prev = NULL, *cur = NULL;
	size_t np = 0, nc = 0;
	int r = sample_store(s, &prev, &np, e), wait_ms = TOP_FIRST_MS;
	while (r == 0 && !top_wait(tty_in, wait_ms)) {
		if ((r = sample_store(s, &cur, &nc, e)) < 0)
			break;
		percent_from(prev, np, cur, nc);
		top_draw(cur, nc);
		free(prev);
		prev = cur;
		np = nc;
		cur = NULL;
		wait_ms = interval_ms;
	}
	free(prev);
	printf("\033[?25h\n");   /* the cursor back */
	fflush(stdout);
	if (tty_in)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	return r;
}

int cmd_top(int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ 0 },
	};
	int interval = -1, opt, r;
	while ((opt = cli_getopt(argc, argv, "", opts, e)) != -1) {
		if (opt < 0)
			return opt;
		if ((r = stats_interval_arg(optarg, &interval, e)) < 0)
			return r;
	}
	if (optind < argc)
		return err_exit(e, EXIT_USAGE, "unexpected argument '%s'; usage: berth top [--interval MS]",
				argv[optind]);
	struct store s;
	if ((r = cli_store(&s, e)) < 0)
		return r;
	if (!isatty(STDOUT_FILENO))
		return top_once(&s, interval > 0 ? interval : STATS_INTERVAL_MS, e);
	return top_live(&s, interval > 0 ? interval : TOP_REFRESH_MS, e);
}
