/* cli.h - verbs of the berth command line and their shared helpers.
 *
 * Every verb is `int cmd_x(int argc, char **argv, struct err *e)`: argv[0]
 * is the verb, it prints its own output to stdout and returns 0, a positive
 * exit code of a guest command (exec, run), or a negative errno with e set.
 * Options may come before or after the guest name (GNU getopt permutes). */
#ifndef BERTH_CLI_H
#define BERTH_CLI_H

#include <getopt.h>
#include "lib/config.h"
#include "lib/err.h"
#include "lib/store.h"

int cmd_create(int argc, char **argv, struct err *e);
int cmd_destroy(int argc, char **argv, struct err *e);
int cmd_set(int argc, char **argv, struct err *e);
int cmd_list(int argc, char **argv, struct err *e);
int cmd_status(int argc, char **argv, struct err *e);
int cmd_start(int argc, char **argv, struct err *e);
int cmd_stop(int argc, char **argv, struct err *e);
int cmd_kill(int argc, char **argv, struct err *e);
int cmd_restart(int argc, char **argv, struct err *e);
int cmd_exec(int argc, char **argv, struct err *e);
int cmd_console(int argc, char **argv, struct err *e);
int cmd_run(int argc, char **argv, struct err *e);
int cmd_template(int argc, char **argv, struct err *e);
int cmd_vmm(int argc, char **argv, struct err *e);
int cmd_host(int argc, char **argv, struct err *e);
int cmd_validate(int argc, char **argv, struct err *e);
int cmd_autostart(int argc, char **argv, struct err *e);
/* live usage (stats.c, top.c) */
int cmd_stats(int argc, char **argv, struct err *e);
int cmd_top(int argc, char **argv, struct err *e);
/* host vs container vs VM, measured (compare.c); its hidden benchmarks (workload.c) */
int cmd_compare(int argc, char **argv, struct err *e);
int cmd_workload(int argc, char **argv, struct err *e);
/* rename a running VM through its agent (exec.c) */
int vm_set_live_hostname(const struct store *s, const char *name, const char *host, struct err *e);
/* hidden verbs of the VM guest kit (src/guest/agent.c, src/cli/vmguest.c) */
int cmd_agent(int argc, char **argv, struct err *e);
int cmd_agent_exec(int argc, char **argv, struct err *e);
int cmd_initramfs(int argc, char **argv, struct err *e);
/* hidden: attempts inside the VMM sandbox (src/cli/sandbox_probe.c) */
int cmd_sandbox_probe(int argc, char **argv, struct err *e);

/* Guest operations shared by verbs (guest.c, lifecycle.c). */
int guest_create(const struct store *s, struct guest_config *c, struct err *e);
int guest_remove(const struct store *s, const struct guest_config *c, struct err *e);
int guest_kill(const struct store *s, const char *name, struct err *e);
int guest_stop(const struct store *s, const char *name, int timeout, struct err *e);
int guest_start(const struct store *s, const char *name, struct err *e);
/* Clean up after a guest's monitor that died without doing so. */
int guest_cleanup_stale(const struct store *s, const struct guest_config *c, struct err *e);

/* Options shared by create, set and run. */
enum {
	OPT_MEMORY = 1000, OPT_SWAP, OPT_CPUS, OPT_CPU_WEIGHT, OPT_PIDS, OPT_DISK,
	OPT_HOSTNAME, OPT_TEMPLATE, OPT_TYPE, OPT_JSON, OPT_TIMEOUT, OPT_FORCE, OPT_ONBOOT,
	OPT_SUITE, OPT_MIRROR, OPT_KERNEL, OPT_CMDLINE, OPT_MAC,
};
#define LIMIT_LONGOPTS                                              \
	{ "memory", required_argument, NULL, OPT_MEMORY },          \
	{ "swap", required_argument, NULL, OPT_SWAP },              \
	{ "cpus", required_argument, NULL, OPT_CPUS },              \
	{ "cpu-weight", required_argument, NULL, OPT_CPU_WEIGHT },  \
	{ "pids", required_argument, NULL, OPT_PIDS },              \
	{ "disk", required_argument, NULL, OPT_DISK },              \
	{ "hostname", required_argument, NULL, OPT_HOSTNAME }

/* Limits given on the command line; `given` says which were. */
struct limit_args {
	struct limits lim;
	unsigned given;          /* bit per OPT_* - OPT_MEMORY */
	const char *hostname;
};
void limit_args_init(struct limit_args *a);
/* Handle one getopt result; returns 1 if it was a limit option, 0 if not,
 * negative on a bad value. */
int limit_args_take(struct limit_args *a, int opt, const char *arg, struct err *e);
/* Copy the given limits into a config. */
void limit_args_apply(const struct limit_args *a, struct guest_config *c);
/* Refuse container-only limits (--swap, --cpu-weight, --pids) for a VM. */
int vm_limits_check(const struct limit_args *a, struct err *e);

/* Reset getopt before parsing a verb's own argv. */
void getopt_reset(void);
/* getopt_long wrapper that turns unknown options into an error. */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
	       struct err *e);
/* Require exactly one positional guest name at argv[optind]. */
int cli_one_name(int argc, char **argv, const char *usage, const char **name, struct err *e);

/* A verb whose only argument is the guest name. */
int cli_name_only(int argc, char **argv, const char *usage, const char **name, struct err *e);
/* A verb whose only option is --json. */
int cli_json_flag(int argc, char **argv, int *json, struct err *e);

/* Open the store (BERTH_ROOT, BERTH_RUN). */
int cli_store(struct store *s, struct err *e);

/* Print a JSON object followed by a newline (used by --json outputs). */
struct json_object;
void cli_print_json(struct json_object *o);

#endif
