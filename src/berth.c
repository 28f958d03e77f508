/* berth.c - main: the verb table and global options. Only main prints
 * errors and chooses the exit code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "guest/init.h"

struct verb {
	const char *name;
	int (*fn)(int argc, char **argv, struct err *e);
	const char *usage;
};

static const struct verb verbs[] = {
	{ "create", cmd_create, "create NAME --template T [--memory SIZE] [--swap SIZE] [--cpus N] [--cpu-weight N] [--pids N] [--disk SIZE] [--hostname H]" },
	{ "start", cmd_start, "start NAME" },
	{ "stop", cmd_stop, "stop [--timeout S] NAME | --all" },
	{ "kill", cmd_kill, "kill NAME" },
	{ "restart", cmd_restart, "restart [--timeout S] NAME" },
	{ "destroy", cmd_destroy, "destroy [--force] NAME" },
	{ "list", cmd_list, "list [--json]" },
	{ "status", cmd_status, "status NAME [--json]" },
	{ "exec", cmd_exec, "exec NAME [-t] -- CMD..." },
	{ "console", cmd_console, "console NAME            (Ctrl-] detaches)" },
	{ "set", cmd_set, "set NAME [--memory SIZE] [--swap SIZE] [--cpus N] [--cpu-weight N] [--pids N] [--disk SIZE] [--hostname H] [--onboot yes|no] [--type ct|vm] [--kernel K] [--cmdline C]" },
	{ "run", cmd_run, "run --template T [--type ct|vm] [--name N] [limits] -- CMD..." },
	{ "stats", cmd_stats, "stats [NAME...] [--json] [--interval MS]   (live usage: CPU, memory, pids, I/O, uptime)" },
	{ "top", cmd_top, "top [--interval MS]     (live table of running guests; q quits)" },
	{ "host", cmd_host, "host [--json] | host set KEY=VALUE... | host get [KEY...] | host reset   (ledger and overcommit policy)" },
	{ "validate", cmd_validate, "validate NAME           (check a guest against the host and the policy)" },
	{ "autostart", cmd_autostart, "autostart               (start every --onboot guest, by name)" },
	{ "compare", cmd_compare, "compare --template T [--memory SIZE] [--cpus N] [--disk SIZE] [--types ct,vm] [--runs N] [--quick] [--json]   (host vs container vs VM, measured)" },
	{ "template", cmd_template, "template build busybox|debian [--suite S] [NAME] | import NAME FILE | list [--json] | rm NAME" },
	{ "vmm", cmd_vmm, "vmm --kernel K [--initrd I] [--cmdline S] [--memory SIZE] [--cpus N] [--console serial|virtio] [--disk FILE[,ro]]... [--net TAP[,mac=M]] [--control SOCK] [--vsock SOCK] [--sandbox-uid N] [--no-reboot] [--stats]   (boot a VM in the foreground; console on stdio)" },
	/* hidden (usage NULL): the VM guest kit, for berth itself and its tests */
	{ "agent", cmd_agent, NULL },
	{ "agent-exec", cmd_agent_exec, NULL },
	{ "initramfs", cmd_initramfs, NULL },
	{ "sandbox-probe", cmd_sandbox_probe, NULL },   /* tests/vm/sandbox.bats */
	{ "workload", cmd_workload, NULL },             /* compare's benchmarks (src/cli/workload.c) */
};

static void usage(FILE *f)
{
	fprintf(f, "berth - system containers and virtual machines from one command line\n\nusage:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].usage)
			fprintf(f, "  berth %s\n", verbs[i].usage);
	fprintf(f, "\nsizes take K/M/G/T suffixes or 'unlimited'; names match [a-z0-9][a-z0-9-]{0,62}\n"
		   "environment: BERTH_ROOT (default /var/lib/berth), BERTH_RUN (default /run/berth)\n");
}

int main(int argc, char **argv)
{
	if (init_wanted(argc, argv))
		init_main(argc, argv); /* PID 1 of a VM's initramfs (/init) */
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *verb = argv[1];
	if (!strcmp(verb, "help") || !strcmp(verb, "--help") || !strcmp(verb, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(verb, "--version") || !strcmp(verb, "version")) {
		puts("berth 0.1.0");
		return 0;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(verb, verbs[i].name) != 0)
			continue;
		struct err e = { 0 };
		getopt_reset();
		int r = verbs[i].fn(argc - 1, argv + 1, &e);
		if (r >= 0)
			return r;
		fprintf(stderr, "berth %s: %s\n", verb, e.msg[0] ? e.msg : strerror(-r));
		return e.exit_code ? e.exit_code : 1;
	}
	fprintf(stderr, "berth: unknown command '%s'; see 'berth help'\n", verb);
	return EXIT_USAGE;
}
