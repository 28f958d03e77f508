/* store.c - paths, locks, config persistence and runtime state of guests. */
#include "lib/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/name.h"

static int env_dir(const char *var, const char *dflt, char *dst, size_t cap, struct err *e)
{
	const char *v = getenv(var);
	if (!v || !*v)
		v = dflt;
	if (v[0] != '/')
		return err_exit(e, EXIT_USAGE, "%s must be an absolute path, not '%s'", var, v);
	if (strlen(v) >= cap)
		return err_exit(e, EXIT_USAGE, "%s is too long", var);
	snprintf(dst, cap, "%s", v);
	size_t n = strlen(dst);
	while (n > 1 && dst[n - 1] == '/')
		dst[--n] = '\0';
	return 0;
}

int store_open(struct store *s, struct err *e)
{
	char p[PATH_MAX];
	int r;
	if ((r = env_dir("BERTH_ROOT", "/var/lib/berth", s->root, sizeof(s->root), e)) < 0 ||
	    (r = env_dir("BERTH_RUN", "/run/berth", s->run, sizeof(s->run), e)) < 0)
		return r;
	snprintf(p, sizeof(p), "%s/guests", s->root);
	if ((r = mkdir_p(p, 0711, e)) < 0)
		return r;
	snprintf(p, sizeof(p), "%s/templates", s->root);
	if ((r = mkdir_p(p, 0755, e)) < 0)
		return r;
	snprintf(p, sizeof(p), "%s/locks", s->run);
	return mkdir_p(p, 0700, e);
}

static void join(char *buf, size_t len, const char *a, const char *b, const char *c,
		 const char *leaf)
{
	if (leaf && *leaf)
		snprintf(buf, len, "%s%s%s/%s", a, b, c, leaf);
	else
		snprintf(buf, len, "%s%s%s", a, b, c);
}

void store_guest_path(const struct store *s, const char *name, const char *leaf, char *buf,
		      size_t len)
{
	join(buf, len, s->root, "/guests/", name, leaf);
}

void store_run_path(const struct store *s, const char *name, const char *leaf, char *buf,
		    size_t len)
{
	join(buf, len, s->run, "/", name, leaf);
}

void store_template_path(const struct store *s, const char *name, const char *leaf, char *buf,
			 size_t len)
{
	join(buf, len, s->root, "/templates/", name, leaf);
}

int store_lock(const struct store *s, struct err *e)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/.lock", s->root);
	return lock_path(p, 0, 0, e);
}

int store_guest_lock(const struct store *s, const char *name, struct err *e)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/locks/%s", s->run, name);
	return lock_path(p, 0, 0, e);
}

void store_guest_lock_remove(const struct store *s, const char *name)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/locks/%s", s->run, name);
	unlink(p);
}

int guest_exists(const struct store *s, const char *name)
{
	char p[PATH_MAX];
	store_guest_path(s, name, "config.json", p, sizeof(p));
	return path_exists(p);
}

int guest_load(const struct store *s, const char *name, struct guest_config *c, struct err *e)
{
	char p[PATH_MAX];
	int r = name_check(name, "guest", e);
	if (r < 0)
		return r;
	store_guest_path(s, name, "config.json", p, sizeof(p));
	if (!path_exists(p))
		return err_exit(e, EXIT_STATE, "no guest named '%s'; see 'berth list', or create it with 'berth create %s --template T'",
				name, name);
	_cleanup_free_ char *text = NULL;
	size_t len;
	if ((r = read_file(p, 1 << 20, &text, &len, e)) < 0)
		return r;
	if ((r = config_from_json(text, len, c, e)) < 0)
		return err_wrap(e, "config of guest '%s' (%s) is damaged; fix or restore the file", name, p);
	if (strcmp(c->name, name) != 0)
		return err_set(e, EINVAL, "config %s names guest '%s', not '%s'; fix the file", p,
			       c->name, name);
	return 0;
}

int guest_save(const struct store *s, const struct guest_config *c, struct err *e)
{
	char p[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	int r = config_to_json(c, &text, e);
	if (r < 0)
		return r;
	store_guest_path(s, c->name, "config.json", p, sizeof(p));
	return atomic_write(p, text, strlen(text), 0600, !c->ephemeral, e);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int store_list(const struct store *s, const char *sub, char ***out, size_t *count, struct err *e)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", s->root, sub);
	*out = NULL;
	*count = 0;
	DIR *d = opendir(p);
	if (!d)
		return errno == ENOENT ? 0 : err_sys(e, errno, "open %s", p);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (name_check(de->d_name, "x", NULL) < 0)
			continue; /* ".", "..", temp dirs */
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nn = realloc(names, cap * sizeof(*nn));
			if (!nn)
				goto oom;
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name)))
			goto oom;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	*out = names;
	*count = n;
	return 0;
oom:
	closedir(d);
	names_free(names, n);
	return err_set(e, ENOMEM, "out of memory");
}

int guest_runtime(const struct store *s, const char *name, struct guest_runtime *rt)
{
	char p[PATH_MAX];
	memset(rt, 0, sizeof(*rt));
	store_run_path(s, name, NULL, p, sizeof(p));
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		rt->stale = 1; /* nobody holds it: the monitor is gone */
		close(fd);
		return 0;
	}
	close(fd);
	rt->running = 1;
	store_run_path(s, name, "pid", p, sizeof(p));
	char *text = NULL;
	if (read_file(p, 4096, &text, NULL, NULL) == 0) {
		long long m = 0, i = 0, t = 0;
		if (sscanf(text, "%lld %lld %lld", &m, &i, &t) == 3) {
			rt->monitor_pid = (pid_t)m;
			rt->init_pid = (pid_t)i;
			rt->started = t;
		}
		free(text);
	}
	return 0;
}

int guest_exit_load(const struct store *s, const char *name, struct guest_exit *x)
{
	char p[PATH_MAX];
	memset(x, 0, sizeof(*x));
	store_guest_path(s, name, "state.json", p, sizeof(p));
	char *text = NULL;
	size_t len;
	if (read_file(p, 65536, &text, &len, NULL) < 0)
		return 0;
	json_object *o = json_tokener_parse(text);
	free(text);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return 0;
	}
	json_object *v;
	x->code = -1;
	if (json_object_object_get_ex(o, "exit_code", &v) && json_object_is_type(v, json_type_int))
		x->code = json_object_get_int(v);
	if (json_object_object_get_ex(o, "signal", &v) && json_object_is_type(v, json_type_int))
		x->signal = json_object_get_int(v);
	if (json_object_object_get_ex(o, "when", &v) && json_object_is_type(v, json_type_int))
		x->when = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "reason", &v) && json_object_is_type(v, json_type_string))
		snprintf(x->reason, sizeof(x->reason), "%s", json_object_get_string(v));
	x->valid = 1;
	json_object_put(o);
	return 0;
}

int guest_exit_save(const struct store *s, const char *name, const struct guest_exit *x,
		    struct err *e)
{
	char p[PATH_MAX], text[256];
	store_guest_path(s, name, "state.json", p, sizeof(p));
	int n = snprintf(text, sizeof(text),
			 "{\"exit_code\": %d, \"signal\": %d, \"when\": %lld, \"reason\": \"%s\"}\n",
			 x->code, x->signal, x->when, x->reason);
	return atomic_write(p, text, (size_t)n, 0600, 1, e);
}
