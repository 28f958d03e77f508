/* exec.c - verbs that run commands in guests: exec, console, run. */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ct/cgroup.h"
#include "ct/console.h"
#include "ct/control.h"
#include "ct/enter.h"
#include "ct/monitor.h"
#include "cli/agent_client.h"
#include "lib/agent_proto.h"
#include "lib/ledger.h"
#include "lib/name.h"
#include "vm/guest.h"

#define VM_AGENT_WAIT_MS 60000

/* exec in a VM: through its agent, which starts late in the guest's boot,
 * so connecting is retried while the VM runs, for up to a minute. */
static int vm_exec(const struct store *s, const char *name, char *const argv[], int tty,
		   struct err *e)
{
	char sock[PATH_MAX];
	vm_vsock_path(s, name, sock, sizeof(sock));
	int fd;
	for (int waited = 0;; waited += 250) {
		struct guest_runtime rt;
		err_clear(e);
		if ((fd = agent_connect_vm(sock, AGENT_VSOCK_PORT, e)) >= 0)
			break;
		guest_runtime(s, name, &rt);
		if (!rt.running)
			return err_exit(e, EXIT_STATE, "guest '%s' is not running; start it with 'berth start %s'",
					name, name);
		if (waited >= VM_AGENT_WAIT_MS)
			return err_wrap(e, "the agent of VM '%s' did not answer within %d s", name,
					VM_AGENT_WAIT_MS / 1000);
		usleep(250 * 1000);
	}
	int code = 0;
	int r = agent_session(fd, argv, NULL, tty, &code, e);
	close(fd);
	return r < 0 ? r : code;
}

/* Rename a running VM now: its agent writes /proc/sys/kernel/hostname
 * (berth init writes /etc/hostname from the config at every boot). The
 * session runs in a child whose stdio is /dev/null; an error comes back
 * through a pipe. */
int vm_set_live_hostname(const struct store *s, const char *name, const char *host, struct err *e)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return err_sys(e, errno, "fork");
	}
	if (pid == 0) {
		close(p[0]);
		int nul = open("/dev/null", O_RDWR);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0)
			_exit(1);
		char *argv[] = { "/bin/sh", "-c", "printf %s \"$1\" >/proc/sys/kernel/hostname",
				 "sh", (char *)host, NULL };
		struct err ce = { 0 };
		int r = vm_exec(s, name, argv, 0, &ce);
		if (r < 0)
			(void)!write(p[1], ce.msg, strlen(ce.msg));
		else if (r != 0)
			dprintf(p[1], "the guest's shell exited %d", r);
		_exit(r != 0);
	}
	close(p[1]);
	char msg[sizeof(e->msg)];
	ssize_t n = read(p[0], msg, sizeof(msg) - 1);
	close(p[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	msg[n > 0 ? n : 0] = 0;
	return err_set(e, EIO, "%s", n > 0 ? msg : "the agent session failed");
}

/* A signal to `berth run --type vm` ends the VM (its monitor turns
 * SIGTERM into a stop of the VMM), which ends the agent session. */
static volatile sig_atomic_t run_vm_monitor, run_vm_interrupted;

static void run_vm_signal(int sig)
{
	(void)sig;
	run_vm_interrupted = 1;
	if (run_vm_monitor > 0)
		kill(run_vm_monitor, SIGTERM);
}

/* `berth run --type vm`: an ephemeral VM guest from the template, started,
 * CMD run through its agent, then killed (its disk is thrown away) and
 * removed. Returns CMD's exit code. */
static int vm_run(const struct store *s, struct guest_config *c, char *const argv[],
		  struct err *e)
{
	int r = guest_create(s, c, e);
	if (r < 0)
		return r;
	struct sigaction sa = { .sa_handler = run_vm_signal }, old[3];
	static const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	r = guest_start(s, c->name, e);
	struct guest_runtime rt;
	if (r == 0) {
		guest_runtime(s, c->name, &rt);
		run_vm_monitor = rt.monitor_pid;
		if (run_vm_interrupted)
			r = err_exit(e, 130, "interrupted");
		else
			r = vm_exec(s, c->name, argv, isatty(STDIN_FILENO), e);
	}
	struct err de = { 0 };
	guest_runtime(s, c->name, &rt);
	if (rt.running && guest_kill(s, c->name, &de) < 0)
		fprintf(stderr, "berth run: %s\n", de.msg);
	run_vm_monitor = 0;
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	err_clear(&de);
	if (guest_remove(s, c, &de) < 0)
		fprintf(stderr, "berth run: %s\n", de.msg);
	return r;
}

int cmd_exec(int argc, char **argv, struct err *e)
{
	static const struct option opts[] = { { "tty", no_argument, NULL, 't' }, { 0 } };
	int tty = 0, opt, r;
	while ((opt = cli_getopt(argc, argv, "+t", opts, e)) != -1) {
		if (opt < 0)
			return opt;
		tty = 1;
	}
	/* NAME [-t] -- CMD...: options may also follow the name */
	if (optind >= argc)
		return err_exit(e, EXIT_USAGE, "missing guest name; usage: berth exec NAME [-t] -- CMD...");
	const char *name = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "-t")) {
		tty = 1;
		optind++;
	}
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc)
		return err_exit(e, EXIT_USAGE, "missing command; usage: berth exec NAME [-t] -- CMD...");
	struct store s;
	struct guest_config c;
	struct guest_runtime rt;
	if ((r = cli_store(&s, e)) < 0 || (r = guest_load(&s, name, &c, e)) < 0)
		return r;
	guest_runtime(&s, name, &rt);
	if (!rt.running || rt.init_pid <= 0)
		return err_exit(e, EXIT_STATE, "guest '%s' is not running; start it with 'berth start %s'",
				name, name);
	if (c.type == GUEST_VM)
		return vm_exec(&s, name, argv + optind, tty && isatty(STDIN_FILENO), e);
	struct cg_host h;
	struct cgroup cg;
	if ((r = cg_host_detect(&h, e)) < 0 || (r = cgroup_open(&h, name, &cg, e)) < 0)
		return r;
	if (tty && !isatty(STDIN_FILENO))
		tty = 0; /* no terminal to relay: plain pipes */
	int code;
	if ((r = ct_enter(rt.init_pid, &cg, argv + optind, tty, &code, e)) < 0)
		return r;
	return code;
}

int cmd_console(int argc, char **argv, struct err *e)
{
	int r;
	const char *name;
	if ((r = cli_name_only(argc, argv, "console NAME", &name, e)) < 0)
		return r;
	struct store s;
	struct guest_config c;
	if ((r = cli_store(&s, e)) < 0 || (r = guest_load(&s, name, &c, e)) < 0)
		return r;
	/* a VM's console is kept by its monitor, the control socket by its VMM */
	int fd = control_connect_to(&s, name, c.type == GUEST_VM ? "console.sock" : "control.sock", e);
	if (fd < 0)
		return fd;
	char reply[96];
	if (write(fd, "console\n", 8) != 8 || control_read_line(fd, reply, sizeof(reply), 5000) < 0 ||
	    strcmp(reply, "ok") != 0) {
		close(fd);
		return err_set(e, EIO, "the monitor of '%s' refused the console", name);
	}
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "Connected to the console of %s; Ctrl-] detaches.\r\n", name);
	r = console_relay(fd, -1, 1, -1, e);
	close(fd);
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "\r\nDetached from %s.\n", name);
	return r;
}

int cmd_run(int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		LIMIT_LONGOPTS,
		{ "template", required_argument, NULL, OPT_TEMPLATE },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "name", required_argument, NULL, 'n' },
		{ 0 },
	};
	struct limit_args la;
	const char *tpl = NULL, *name = NULL;
	int opt, r, vm = 0;
	limit_args_init(&la);
	/* '+': stop at the first non-option, which starts CMD */
	while ((opt = cli_getopt(argc, argv, "+n:", opts, e)) != -1) {
		if (opt < 0)
			return opt;
		if ((r = limit_args_take(&la, opt, optarg, e)) < 0)
			return r;
		if (r)
			continue;
		if (opt == OPT_TEMPLATE)
			tpl = optarg;
		else if (opt == 'n')
			name = optarg;
		else if (opt == OPT_TYPE && !strcmp(optarg, "vm"))
			vm = 1;
		else if (opt == OPT_TYPE && strcmp(optarg, "ct") != 0)
			return err_exit(e, EXIT_USAGE, "--type %s: give ct (container) or vm", optarg);
	}
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc)
		return err_exit(e, EXIT_USAGE, "missing command; usage: berth run --template T [limits] -- CMD...");
	if (!tpl)
		return err_exit(e, EXIT_USAGE, "missing --template; see 'berth template list'");
	char gen[32];
	if (!name) {
		unsigned rnd = 0;
		if (getrandom(&rnd, sizeof(rnd), 0) < 0)
			rnd = (unsigned)getpid();
		snprintf(gen, sizeof(gen), "run-%08x", rnd);
		name = gen;
	}
	if ((r = name_check(name, "guest", e)) < 0)
		return r;
	struct store s;
	if ((r = cli_store(&s, e)) < 0)
		return r;
	struct guest_config c;
	config_init(&c);
	snprintf(c.name, sizeof(c.name), "%s", name);
	snprintf(c.template_name, sizeof(c.template_name), "%s", tpl);
	c.ephemeral = 1;
	limit_args_apply(&la, &c);
	if (vm) {
		if ((r = vm_limits_check(&la, e)) < 0)
			return r;
		c.type = GUEST_VM;
		if ((r = vm_config_check(&c, e)) < 0)
			return r;
		return vm_run(&s, &c, argv + optind, e);
	}
	struct ct_runner rn;
	if ((r = ct_run_begin(&s, &c, argv + optind, &rn, e)) < 0)
		return r;
	if ((r = guest_create(&s, &c, e)) < 0) {
		ct_run_abort(&rn);
		return r;
	}
	int ledger = -1; /* held until the guest runs, as for start */
	if ((r = ledger_admit(&s, &c, LEDGER_START, &ledger, e)) < 0 ||
	    (r = ct_run_go(&rn, &c, e)) < 0) {
		ledger_release(ledger);
		ct_run_abort(&rn);
		struct err de = { 0 };
		if (guest_remove(&s, &c, &de) < 0)
			fprintf(stderr, "berth run: %s\n", de.msg);
		return r;
	}
	ledger_release(ledger);
	int code = 0;
	r = ct_run_wait(&rn, c.name, &code, e);
	struct err de = { 0 };
	if (guest_remove(&s, &c, &de) < 0)
		fprintf(stderr, "berth run: %s\n", de.msg);
	ct_run_finish(&rn);
	return r < 0 ? r : code;
}
