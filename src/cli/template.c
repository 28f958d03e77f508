/* template.c - `berth template`: build, import, list and remove templates. */
#include "cli/cli.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/fsutil.h"
#include "tpl/template.h"

#define USAGE "template build busybox [NAME] | build debian [--suite S] [--mirror URL] [NAME] | import NAME FILE | list [--json] | rm NAME"

/* Format a byte count as 512K / 1.9M / 23G. */
static void fmt_size(long long b, char *buf, size_t len)
{
	static const char units[] = "KMGTP";
	if (b < 0) {
		snprintf(buf, len, "?");
		return;
	}
	double v = (double)b / 1024;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

/* Print the last lines of a failed build's log to stderr. */
static void print_log_tail(const char *path, int lines)
{
	char *text = NULL;
	size_t len;
	if (read_file(path, 16 << 20, &text, &len, NULL) < 0)
		return;
	const char *p = text + len;
	int seen = 0;
	while (p > text && seen <= lines)
		if (*--p == '\n' && p + 1 < text + len)
			seen++;
	if (p > text)
		p++;
	fprintf(stderr, "last lines of %s:\n", path);
	for (const char *l = p; *l; ) {
		size_t n = strcspn(l, "\n");
		fprintf(stderr, "  | %.*s\n", (int)n, l);
		l += n + (l[n] == '\n');
	}
	free(text);
}

/* `template list [--json]`. */
static int do_list(const struct store *s, int json, struct err *e)
{
	char **names;
	size_t n;
	int r = store_list(s, "templates", &names, &n, e);
	if (r < 0)
		return r;
	json_object *arr = json ? json_object_new_array() : NULL;
	if (!json)
		printf("%-20s %-8s %-8s %7s  %s\n", "NAME", "SOURCE", "INIT", "SIZE", "CREATED");
	for (size_t i = 0; i < n; i++) {
		struct template_info t;
		struct err le = { 0 };
		char root[PATH_MAX], size[16], when[32] = "?";
		int ok = tpl_load(s, names[i], &t, &le) == 0;
		store_template_path(s, names[i], "rootfs", root, sizeof(root));
		long long bytes = tpl_disk_usage(root);
		if (ok) {
			struct tm tm;
			time_t c = (time_t)t.created;
			if (localtime_r(&c, &tm))
				strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
		}
		if (!json) {
			fmt_size(bytes, size, sizeof(size));
			printf("%-20s %-8s %-8s %7s  %s\n", names[i], ok ? t.source : "?",
			       ok ? init_kind_name(t.init) : "?", size, ok ? when : "damaged");
			continue;
		}
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(names[i]));
		if (ok) {
			json_object_object_add(o, "source", json_object_new_string(t.source));
			json_object_object_add(o, "init", json_object_new_string(init_kind_name(t.init)));
			json_object_object_add(o, "created", json_object_new_int64(t.created));
		} else {
			json_object_object_add(o, "error", json_object_new_string(le.msg));
		}
		json_object_object_add(o, "size", json_object_new_int64(bytes));
		json_object_array_add(arr, o);
	}
	if (json) {
		cli_print_json(arr);
		json_object_put(arr);
	}
	names_free(names, n);
	return 0;
}

/* `template build busybox|debian [NAME]`. */
static int do_build(const struct store *s, char **pos, int npos, const char *suite,
		    const char *mirror, struct err *e)
{
	if (npos < 2)
		return err_exit(e, EXIT_USAGE, "build: say what to build (busybox or debian); usage: berth %s", USAGE);
	if (npos > 3)
		return err_exit(e, EXIT_USAGE, "build: unexpected argument '%s'; usage: berth %s", pos[3], USAGE);
	const char *kind = pos[1], *name = npos == 3 ? pos[2] : kind;
	int r;
	if (!strcmp(kind, "busybox")) {
		if (suite || mirror)
			return err_exit(e, EXIT_USAGE, "build busybox: --suite and --mirror are for 'build debian'");
		r = tpl_build_busybox(s, name, e);
	} else if (!strcmp(kind, "debian")) {
		r = tpl_build_debian(s, name, suite, mirror, e);
		char log[PATH_MAX];
		tpl_log_path(s, name, log, sizeof(log));
		if (r < 0 && strstr(e->msg, "full log in "))
			print_log_tail(log, 20);
	} else {
		return err_exit(e, EXIT_USAGE, "build: unknown kind '%.40s'; build 'busybox' or 'debian'", kind);
	}
	if (r < 0)
		return r;
	struct template_info t;
	if (tpl_load(s, name, &t, e) < 0)
		return -EIO;
	printf("built template '%s' (init %s)\n", name, init_kind_name(t.init));
	return 0;
}

int cmd_template(int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		{ "suite", required_argument, NULL, OPT_SUITE },
		{ "mirror", required_argument, NULL, OPT_MIRROR },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	const char *suite = NULL, *mirror = NULL;
	int json = 0, c;
	while ((c = cli_getopt(argc, argv, "", opts, e)) != -1) {
		if (c < 0)
			return c;
		if (c == OPT_SUITE)
			suite = optarg;
		else if (c == OPT_MIRROR)
			mirror = optarg;
		else if (c == OPT_JSON)
			json = 1;
	}
	char **pos = argv + optind;
	int npos = argc - optind;
	if (npos < 1)
		return err_exit(e, EXIT_USAGE, "missing subcommand; usage: berth %s", USAGE);
	const char *sub = pos[0];
	int is_build = !strcmp(sub, "build"), is_list = !strcmp(sub, "list");
	if (!is_build && !is_list && strcmp(sub, "import") && strcmp(sub, "rm"))
		return err_exit(e, EXIT_USAGE, "unknown subcommand '%.40s'; usage: berth %s", sub, USAGE);
	if ((suite || mirror) && !is_build)
		return err_exit(e, EXIT_USAGE, "%s: --suite and --mirror are for 'build debian'", sub);
	if (json && !is_list)
		return err_exit(e, EXIT_USAGE, "%s: --json is for 'template list'", sub);
	struct store s;
	int r = cli_store(&s, e);
	if (r < 0)
		return r;
	if (is_build)
		return do_build(&s, pos, npos, suite, mirror, e);
	if (is_list) {
		if (npos > 1)
			return err_exit(e, EXIT_USAGE, "list: unexpected argument '%s'; usage: berth template list [--json]", pos[1]);
		return do_list(&s, json, e);
	}
	if (!strcmp(sub, "import")) {
		if (npos != 3)
			return err_exit(e, EXIT_USAGE, "import: give a name and a tarball; usage: berth template import NAME FILE.tar[.gz|.xz|.zst]");
		if ((r = tpl_import(&s, pos[1], pos[2], e)) < 0)
			return r;
		struct template_info t;
		if (tpl_load(&s, pos[1], &t, e) < 0)
			return -EIO;
		printf("imported template '%s' (init %s)\n", pos[1], init_kind_name(t.init));
		return 0;
	}
	if (npos != 2)
		return err_exit(e, EXIT_USAGE, "rm: give one template name; usage: berth template rm NAME");
	if ((r = tpl_remove(&s, pos[1], e)) < 0)
		return r;
	printf("removed template '%s'\n", pos[1]);
	return 0;
}
