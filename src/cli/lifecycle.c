/* lifecycle.c - verbs that run and end guests: start, stop, kill, restart. */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ct/control.h"
#include "ct/monitor.h"
#include "lib/ledger.h"
#include "lib/size.h"
#include "vm/guest.h"

#define DEFAULT_STOP_TIMEOUT 30

int guest_cleanup_stale(const struct store *s, const struct guest_config *c, struct err *e)
{
	return c->type == GUEST_VM ? vm_cleanup_stale(s, c, e) : ct_cleanup_stale(s, c, e);
}

/* Is the guest running? Cleans up after a dead monitor on the way. */
static int is_running(const struct store *s, const struct guest_config *c, struct err *e)
{
	struct guest_runtime rt;
	guest_runtime(s, c->name, &rt);
	if (rt.stale) {
		int r = guest_cleanup_stale(s, c, e);
		if (r < 0)
			return r;
		guest_runtime(s, c->name, &rt);
	}
	return rt.running;
}

static int not_running(const char *name, struct err *e)
{
	return err_exit(e, EXIT_STATE, "guest '%s' is not running; start it with 'berth start %s'",
			name, name);
}

int guest_start(const struct store *s, const char *name, struct err *e)
{
	struct guest_config c;
	int r = guest_load(s, name, &c, e);
	if (r < 0)
		return r;
	int lock = store_guest_lock(s, name, e);
	if (lock < 0)
		return lock;
	if ((r = is_running(s, &c, e)) > 0)
		r = err_exit(e, EXIT_STATE, "guest '%s' is already running; stop it first with 'berth stop %s'",
			     name, name);
	int ledger = -1; /* held until the guest runs: two starts cannot both fit */
	if (r == 0)
		r = ledger_admit(s, &c, LEDGER_START, &ledger, e);
	if (r == 0)
		r = c.type == GUEST_VM ? vm_start(s, &c, lock, e) : ct_start(s, &c, lock, e);
	ledger_release(ledger);
	close(lock);
	return r;
}

int guest_stop(const struct store *s, const char *name, int timeout, struct err *e)
{
	struct guest_config c;
	char reply[256], req[32];
	int r = guest_load(s, name, &c, e);
	if (r < 0)
		return r;
	if ((r = is_running(s, &c, e)) <= 0)
		return r < 0 ? r : not_running(name, e);
	snprintf(req, sizeof(req), "stop %d", timeout);
	r = control_call(s, name, req, reply, sizeof(reply), (timeout + 30) * 1000, e);
	if (r == 0 && c.type == GUEST_VM)
		vm_wait_gone(s, name, 10000); /* the VMM answers before its monitor cleans up */
	return r;
}

int guest_kill(const struct store *s, const char *name, struct err *e)
{
	struct guest_config c;
	char reply[256];
	int r = guest_load(s, name, &c, e);
	if (r < 0)
		return r;
	if ((r = is_running(s, &c, e)) <= 0)
		return r < 0 ? r : not_running(name, e);
	r = control_call(s, name, "kill", reply, sizeof(reply), 30000, e);
	if (r == 0 && c.type == GUEST_VM)
		vm_wait_gone(s, name, 10000);
	return r;
}

/* Parse [--timeout S] NAME for stop and restart; with all non-NULL, stop's
 * --all, which takes no NAME (*name is then NULL). */
static int parse_stop_args(int argc, char **argv, const char *usage, const char **name,
			   int *timeout, int *all, struct err *e)
{
	static const struct option opts[] = { { "timeout", required_argument, NULL, 't' },
					      { "all", no_argument, NULL, 'a' },
					      { 0 } };
	int opt, r;
	uint64_t t = DEFAULT_STOP_TIMEOUT;
	*name = NULL;
	while ((opt = cli_getopt(argc, argv, "t:", opts, e)) != -1) {
		if (opt < 0)
			return opt;
		if (opt == 'a' && all) {
			*all = 1;
			continue;
		}
		if (opt == 'a')
			return err_exit(e, EXIT_USAGE, "unknown option '--all'; usage: berth %s", usage);
		if ((r = uint_parse(optarg, 0, 86400, 0, &t, e)) < 0)
			return err_wrap(e, "--timeout");
	}
	*timeout = (int)t;
	if (all && *all) {
		if (optind < argc)
			return err_exit(e, EXIT_USAGE, "--all stops every running guest: give no NAME ('%s')",
					argv[optind]);
		return 0;
	}
	return cli_one_name(argc, argv, usage, name, e);
}

/* One guest's stop under its lock: `stop NAME`, and each child of `stop --all`. */
static int stop_locked(const struct store *s, const char *name, int timeout, struct err *e)
{
	int lock = store_guest_lock(s, name, e);
	if (lock < 0)
		return lock;
	int r = guest_stop(s, name, timeout, e);
	close(lock);
	return r;
}

/* stop --all: every running guest at once (each may take its whole
 * timeout), one child per guest; reports each, fails if any failed. */
static int stop_all(const struct store *s, int timeout, struct err *e)
{
	char **names;
	size_t n;
	int r = store_list(s, "guests", &names, &n, e);
	if (r < 0)
		return r;
	pid_t *kids = calloc(n ? n : 1, sizeof(*kids));
	if (!kids) {
		names_free(names, n);
		return err_sys(e, ENOMEM, "stop --all");
	}
	unsigned running = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		struct guest_runtime rt;
		guest_runtime(s, names[i], &rt);
		if (!rt.running)
			continue;
		running++;
		fflush(NULL);
		kids[i] = fork();
		if (kids[i] == 0) {
			struct err ce = { 0 };
			/* stopped meanwhile by someone else: as good as done */
			if (stop_locked(s, names[i], timeout, &ce) < 0 && ce.exit_code != EXIT_STATE) {
				fprintf(stderr, "berth stop: %s: %s\n", names[i], ce.msg);
				_exit(1);
			}
			printf("%s: stopped\n", names[i]);
			fflush(stdout);
			_exit(0);
		}
		if (kids[i] < 0) {
			fprintf(stderr, "berth stop: %s: fork: %s\n", names[i], strerror(errno));
			failed++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		int st = 0;
		if (kids[i] <= 0)
			continue;
		while (waitpid(kids[i], &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			failed++;
	}
	free(kids);
	names_free(names, n);
	if (!running)
		printf("no guest is running\n");
	if (failed)
		return err_exit(e, 1, "%u of %u running guests did not stop", failed, running);
	return 0;
}

int cmd_start(int argc, char **argv, struct err *e)
{
	const char *name;
	struct store s;
	int r;
	if ((r = cli_name_only(argc, argv, "start NAME", &name, e)) < 0 || (r = cli_store(&s, e)) < 0)
		return r;
	return guest_start(&s, name, e);
}

int cmd_stop(int argc, char **argv, struct err *e)
{
	const char *name;
	int timeout, all = 0, r;
	struct store s;
	if ((r = parse_stop_args(argc, argv, "stop [--timeout S] NAME|--all", &name, &timeout, &all,
				 e)) < 0 ||
	    (r = cli_store(&s, e)) < 0)
		return r;
	return all ? stop_all(&s, timeout, e) : stop_locked(&s, name, timeout, e);
}

int cmd_kill(int argc, char **argv, struct err *e)
{
	const char *name;
	struct store s;
	int r;
	if ((r = cli_name_only(argc, argv, "kill NAME", &name, e)) < 0 || (r = cli_store(&s, e)) < 0)
		return r;
	int lock = store_guest_lock(&s, name, e);
	if (lock < 0)
		return lock;
	r = guest_kill(&s, name, e);
	close(lock);
	return r;
}

int cmd_restart(int argc, char **argv, struct err *e)
{
	const char *name;
	int timeout, r;
	struct store s;
	if ((r = parse_stop_args(argc, argv, "restart [--timeout S] NAME", &name, &timeout, NULL, e)) < 0 ||
	    (r = cli_store(&s, e)) < 0)
		return r;
	int lock = store_guest_lock(&s, name, e);
	if (lock < 0)
		return lock;
	r = guest_stop(&s, name, timeout, e);
	if (r < 0 && e->exit_code == EXIT_STATE) {
		err_clear(e); /* restart of a stopped guest just starts it */
		r = 0;
	}
	close(lock);
	return r < 0 ? r : guest_start(&s, name, e);
}
