/* args.c - option parsing shared by the verbs. */
#include "cli/cli.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "lib/size.h"

void limit_args_init(struct limit_args *a)
{
	memset(a, 0, sizeof(*a));
	limits_init(&a->lim);
}

int limit_args_take(struct limit_args *a, int opt, const char *arg, struct err *e)
{
	int r;
	switch (opt) {
	case OPT_MEMORY:
		r = size_parse(arg, &a->lim.memory, e);
		break;
	case OPT_SWAP:
		r = size_parse(arg, &a->lim.swap, e);
		break;
	case OPT_CPUS:
		r = cpus_parse(arg, &a->lim.cpus, e);
		break;
	case OPT_CPU_WEIGHT:
		r = uint_parse(arg, 1, 10000, 1, &a->lim.cpu_weight, e);
		break;
	case OPT_PIDS:
		r = uint_parse(arg, 1, 1u << 30, 1, &a->lim.pids, e);
		break;
	case OPT_DISK:
		r = size_parse(arg, &a->lim.disk, e);
		if (r == 0 && a->lim.disk != LIMIT_NONE && a->lim.disk < (16u << 20))
			r = err_exit(e, EXIT_USAGE, "disk %s is too small; give at least 16M", arg);
		break;
	case OPT_HOSTNAME:
		if (strlen(arg) < 1 || strlen(arg) > 63 || strspn(arg,
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != strlen(arg))
			return err_exit(e, EXIT_USAGE, "bad hostname '%s'; use 1-63 letters, digits, '-' and '.'", arg);
		a->hostname = arg;
		r = 0;
		break;
	default:
		return 0;
	}
	if (r < 0)
		return r;
	if (opt != OPT_HOSTNAME)
		a->given |= 1u << (opt - OPT_MEMORY);
	return 1;
}

void limit_args_apply(const struct limit_args *a, struct guest_config *c)
{
	uint64_t *dst[] = { &c->lim.memory, &c->lim.swap, &c->lim.cpus,
			    &c->lim.cpu_weight, &c->lim.pids, &c->lim.disk };
	const uint64_t src[] = { a->lim.memory, a->lim.swap, a->lim.cpus,
				 a->lim.cpu_weight, a->lim.pids, a->lim.disk };
	for (unsigned i = 0; i < 6; i++)
		if (a->given & (1u << i))
			*dst[i] = src[i];
	if (a->hostname)
		snprintf(c->hostname, sizeof(c->hostname), "%s", a->hostname);
}

void getopt_reset(void)
{
	optind = 0; /* GNU: full re-initialisation */
	opterr = 0;
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
	       struct err *e)
{
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (c == '?') {
		const char *bad = argv[optind - 1];
		if (optopt && optopt < 256)
			return err_exit(e, EXIT_USAGE, "unknown option or missing value '-%c'; see 'berth help'",
					optopt);
		return err_exit(e, EXIT_USAGE, "unknown option or missing value '%s'; see 'berth help'",
				bad ? bad : "");
	}
	if (c == ':')
		return err_exit(e, EXIT_USAGE, "option needs a value; see 'berth help'");
	return c;
}

int cli_one_name(int argc, char **argv, const char *usage, const char **name, struct err *e)
{
	if (optind >= argc)
		return err_exit(e, EXIT_USAGE, "missing guest name; usage: berth %s", usage);
	if (optind + 1 < argc)
		return err_exit(e, EXIT_USAGE, "unexpected argument '%s'; usage: berth %s",
				argv[optind + 1], usage);
	*name = argv[optind];
	return 0;
}

int cli_name_only(int argc, char **argv, const char *usage, const char **name, struct err *e)
{
	int opt;
	while ((opt = cli_getopt(argc, argv, "", (struct option[]){ { 0 } }, e)) != -1)
		if (opt < 0)
			return opt;
	return cli_one_name(argc, argv, usage, name, e);
}

int cli_json_flag(int argc, char **argv, int *json, struct err *e)
{
	static const struct option opts[] = { { "json", no_argument, NULL, OPT_JSON }, { 0 } };
	int opt;
	*json = 0;
	while ((opt = cli_getopt(argc, argv, "", opts, e)) != -1) {
		if (opt < 0)
			return opt;
		*json = 1;
	}
	return 0;
}

int cli_store(struct store *s, struct err *e)
{
	return store_open(s, e);
}

void cli_print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

int vm_limits_check(const struct limit_args *a, struct err *e)
{
	const unsigned ct_only = 1u << (OPT_SWAP - OPT_MEMORY) | 1u << (OPT_CPU_WEIGHT - OPT_MEMORY) |
				 1u << (OPT_PIDS - OPT_MEMORY);
	if (a->given & ct_only)
		return err_exit(e, EXIT_USAGE, "--swap, --cpu-weight and --pids are for containers; a VM takes --memory, --cpus and --disk");
	return 0;
}
