/* template.c - the template store: load, remove, detect init, and the
 * begin/commit/abort steps every builder shares. */
#include "tpl/template.h"

#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/name.h"

#define TEMPLATE_JSON_MAX (64 * 1024)

void tpl_log_path(const struct store *s, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/templates/.%s.log", s->root, name);
}

/* --- interruption guard --- */

static volatile sig_atomic_t interrupted;
static struct sigaction saved_sa[3];
static const int guard_sigs[3] = { SIGINT, SIGTERM, SIGHUP };

/* Remember that we were asked to stop; the build loop notices. */
static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

void tpl_guard_begin(void)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: blocking reads return EINTR */
	interrupted = 0;
	for (int i = 0; i < 3; i++)
		sigaction(guard_sigs[i], &sa, &saved_sa[i]);
}

void tpl_guard_end(void)
{
	for (int i = 0; i < 3; i++)
		sigaction(guard_sigs[i], &saved_sa[i], NULL);
}

int tpl_interrupted(void)
{
	return interrupted;
}

/* --- files inside a tree --- */

int tpl_openat(int rootfd, const char *rel, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
	return fd < 0 ? -1 : (int)fd;
}

int tpl_write(int rootfd, const char *rel, const char *text, mode_t mode, struct err *e)
{
	int fd = tpl_openat(rootfd, rel, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode);
	if (fd < 0)
		return err_sys(e, errno, "create /%s in the template", rel);
	size_t left = strlen(text);
	while (left) {
		ssize_t n = write(fd, text, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int r = err_sys(e, n < 0 ? errno : EIO, "write /%s in the template", rel);
			close(fd);
			return r;
		}
		text += n;
		left -= (size_t)n;
	}
	if (fchmod(fd, mode) < 0) {
		int r = err_sys(e, errno, "chmod /%s in the template", rel);
		close(fd);
		return r;
	}
	close(fd);
	return 0;
}

int tpl_read(int rootfd, const char *rel, size_t max, char **out, struct err *e)
{
	int fd = tpl_openat(rootfd, rel, O_RDONLY | O_NOFOLLOW, 0);
	if (fd < 0)
		return err_sys(e, errno, "open /%s in the template", rel);
	char *buf = malloc(max + 1);
	size_t n = 0;
	if (!buf) {
		close(fd);
		return err_set(e, ENOMEM, "out of memory");
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, max - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int rc = err_sys(e, errno, "read /%s in the template", rel);
			free(buf);
			close(fd);
			return rc;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == max) {
			free(buf);
			close(fd);
			return err_set(e, EFBIG, "/%s in the template is larger than %zu bytes", rel, max);
		}
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	return 0;
}

/* --- build steps --- */

/* Undo octal escapes (\040) in a mountinfo field, in place. */
static void unescape_mountinfo(char *s)
{
	char *w = s;
	for (char *r = s; *r; ) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* Detach every mount at or below dir (deepest first); debootstrap may leave
 * /proc or /sys mounted in its target when it fails. */
static void unmount_under(const char *dir)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	size_t dl = strlen(dir);
	char *line = NULL, **pts = NULL;
	size_t cap = 0, n = 0, pcap = 0;
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *tok = strtok_r(line, " ", &save);
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &save);
		if (!tok)
			continue;
		unescape_mountinfo(tok);
		if (strncmp(tok, dir, dl) != 0 || (tok[dl] != '/' && tok[dl] != '\0'))
			continue;
		if (n == pcap) {
			pcap = pcap ? pcap * 2 : 8;
			char **np = realloc(pts, pcap * sizeof(*np));
			if (!np)
				break;
			pts = np;
		}
		if (!(pts[n] = strdup(tok)))
			break;
		n++;
	}
	free(line);
	fclose(f);
	while (n--) { /* mountinfo lists parents before children */
		umount2(pts[n], MNT_DETACH);
		free(pts[n]);
	}
	free(pts);
}

void tpl_abort(const char *tmp)
{
	if (!tmp || !*tmp)
		return;
	unmount_under(tmp);
	rm_rf(tmp, NULL);
}

/* Remove temp dirs of earlier builds of this name whose process is gone. */
static void clear_stale(const struct store *s, const char *name)
{
	char dir[PATH_MAX], pfx[96];
	snprintf(dir, sizeof(dir), "%s/templates", s->root);
	snprintf(pfx, sizeof(pfx), ".%s.", name);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t pl = strlen(pfx);
		if (strncmp(de->d_name, pfx, pl) != 0)
			continue;
		const char *rest = de->d_name + pl;
		if (strncmp(rest, "tmp-", 4) != 0 && strncmp(rest, "rm-", 3) != 0)
			continue;
		char *end;
		long pid = strtol(strchr(rest, '-') + 1, &end, 10);
		if (*end || pid <= 0 || (pid != getpid() && !(kill((pid_t)pid, 0) < 0 && errno == ESRCH)))
			continue;
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		tpl_abort(p);
	}
	closedir(d);
}

/* The refusal for a name that is taken. */
static int err_taken(struct err *e, const char *name)
{
	return err_exit(e, EXIT_USAGE, "template '%s' already exists; remove it with 'berth template rm %s' or pick another name",
			name, name);
}

int tpl_begin(const struct store *s, const char *name, char *tmp, size_t len, struct err *e)
{
	char p[PATH_MAX];
	int r = name_check(name, "template", e);
	if (r < 0)
		return r;
	store_template_path(s, name, NULL, p, sizeof(p));
	if (path_exists(p))
		return err_taken(e, name);
	clear_stale(s, name);
	if (snprintf(tmp, len, "%s/templates/.%s.tmp-%d", s->root, name, (int)getpid()) >= (int)len)
		return err_set(e, ENAMETOOLONG, "BERTH_ROOT %s is too long", s->root);
	tpl_abort(tmp);
	/* 0700: the tree holds host-root-owned (even setuid) files; keep other
	 * host users out of it. */
	if (mkdir(tmp, 0700) < 0)
		return err_sys(e, errno, "mkdir %s", tmp);
	snprintf(p, sizeof(p), "%s/rootfs", tmp);
	if (mkdir(p, 0755) < 0 || chmod(p, 0755) < 0) {
		r = err_sys(e, errno, "mkdir %s", p);
		tpl_abort(tmp);
		return r;
	}
	return 0;
}

/* Flush the tree in tmp to disk before it is renamed into place. */
static void sync_tree(const char *tmp)
{
	int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		syncfs(fd);
		close(fd);
	}
}

int tpl_commit(const struct store *s, const char *name, const char *tmp, const char *source,
	       enum init_kind init, struct err *e)
{
	char p[PATH_MAX], dst[PATH_MAX];
	if (tpl_interrupted())
		return err_set(e, EINTR, "interrupted; nothing was kept");
	json_object *o = json_object_new_object();
	if (!o)
		return err_set(e, ENOMEM, "out of memory");
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "source", json_object_new_string(source));
	json_object_object_add(o, "init", json_object_new_string(init_kind_name(init)));
	json_object_object_add(o, "created", json_object_new_int64((int64_t)time(NULL)));
	char text[1024];
	int tl = snprintf(text, sizeof(text), "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	snprintf(p, sizeof(p), "%s/template.json", tmp);
	int r = atomic_write(p, text, (size_t)tl, 0644, 0, e);
	json_object_put(o);
	if (r < 0)
		return r;
	sync_tree(tmp);
	int lock = store_lock(s, e);
	if (lock < 0)
		return lock;
	store_template_path(s, name, NULL, dst, sizeof(dst));
	if (path_exists(dst))
		r = err_taken(e, name);
	else if (rename(tmp, dst) < 0)
		r = err_sys(e, errno, "rename %s to %s", tmp, dst);
	if (r == 0) {
		snprintf(p, sizeof(p), "%s/templates", s->root);
		int dfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	close(lock);
	return r;
}

/* --- load, list, remove --- */

/* A string member of o, or NULL if missing or not a string. */
static const char *json_str(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Parse and validate template.json text (untrusted: every field checked). */
static int parse_template_json(const char *text, size_t len, const char *name,
			       struct template_info *t, struct err *e)
{
	if (strlen(text) != len)
		return err_set(e, EINVAL, "it contains a NUL byte");
	json_object *o = json_tokener_parse(text);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return err_set(e, EINVAL, "it is not a JSON object");
	}
	int r = 0;
	const char *n = json_str(o, "name"), *src = json_str(o, "source"), *init = json_str(o, "init");
	json_object *c;
	memset(t, 0, sizeof(*t));
	if (!n || strcmp(n, name) != 0)
		r = err_set(e, EINVAL, "\"name\" is not '%s'", name);
	else if (!src || (strcmp(src, "busybox") && strcmp(src, "debian") && strcmp(src, "import")))
		r = err_set(e, EINVAL, "\"source\" is not busybox, debian or import");
	else if (!init || (strcmp(init, "busybox") && strcmp(init, "systemd") && strcmp(init, "other")))
		r = err_set(e, EINVAL, "\"init\" is not busybox, systemd or other");
	else if (!json_object_object_get_ex(o, "created", &c) || !json_object_is_type(c, json_type_int) ||
		 json_object_get_int64(c) < 0)
		r = err_set(e, EINVAL, "\"created\" is not a non-negative integer");
	if (r == 0) {
		snprintf(t->name, sizeof(t->name), "%s", n);
		snprintf(t->source, sizeof(t->source), "%s", src);
		t->init = !strcmp(init, "busybox") ? INIT_BUSYBOX
			  : !strcmp(init, "systemd") ? INIT_SYSTEMD : INIT_OTHER;
		t->created = json_object_get_int64(c);
	}
	json_object_put(o);
	return r;
}

int tpl_load(const struct store *s, const char *name, struct template_info *t, struct err *e)
{
	char p[PATH_MAX];
	int r = name_check(name, "template", e);
	if (r < 0)
		return r;
	store_template_path(s, name, NULL, p, sizeof(p));
	if (!path_exists(p))
		return err_exit(e, EXIT_USAGE, "no template named '%s'; see 'berth template list' or build one with 'berth template build busybox %s'",
				name, name);
	store_template_path(s, name, "template.json", p, sizeof(p));
	_cleanup_free_ char *text = NULL;
	size_t len;
	if ((r = read_file(p, TEMPLATE_JSON_MAX, &text, &len, e)) < 0 ||
	    (r = parse_template_json(text, len, name, t, e)) < 0)
		return err_wrap(e, "template '%s' is damaged (%s); remove it with 'berth template rm %s' and build it again",
				name, p, name);
	return 0;
}

/* Append to buf the guests whose config.json names template `name`;
 * returns how many there are. */
static int guests_using(const struct store *s, const char *name, char *buf, size_t len)
{
	char **names;
	size_t n;
	int count = 0;
	buf[0] = '\0';
	if (store_list(s, "guests", &names, &n, NULL) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char p[PATH_MAX];
		char *text = NULL;
		store_guest_path(s, names[i], "config.json", p, sizeof(p));
		if (read_file(p, 1 << 20, &text, NULL, NULL) < 0)
			continue;
		json_object *o = json_tokener_parse(text);
		free(text);
		const char *tn = o && json_object_is_type(o, json_type_object) ? json_str(o, "template") : NULL;
		if (tn && !strcmp(tn, name)) {
			size_t used = strlen(buf);
			snprintf(buf + used, len - used, "%s'%s'", count ? ", " : "", names[i]);
			count++;
		}
		json_object_put(o);
	}
	names_free(names, n);
	return count;
}

int tpl_remove(const struct store *s, const char *name, struct err *e)
{
	char dir[PATH_MAX], gone[PATH_MAX], users[320];
	int r = name_check(name, "template", e);
	if (r < 0)
		return r;
	int lock = store_lock(s, e);
	if (lock < 0)
		return lock;
	store_template_path(s, name, NULL, dir, sizeof(dir));
	snprintf(gone, sizeof(gone), "%s/templates/.%s.rm-%d", s->root, name, (int)getpid());
	int n;
	if (!path_exists(dir))
		r = err_exit(e, EXIT_USAGE, "no template named '%s'; see 'berth template list'", name);
	else if ((n = guests_using(s, name, users, sizeof(users))) > 0)
		r = err_exit(e, EXIT_STATE, "template '%s' is used by guest%s %s; destroy %s first with 'berth destroy NAME'",
			     name, n > 1 ? "s" : "", users, n > 1 ? "them" : "it");
	else if (rename(dir, gone) < 0)
		r = err_sys(e, errno, "rename %s", dir);
	close(lock);
	if (r < 0)
		return r;
	/* The name is free from here on; if we die while removing, the next
	 * build of this name clears the .rm dir. */
	return rm_rf(gone, e);
}

/* --- init detection --- */

/* Resolve path inside rootfs the way the guest's kernel would, never leaving
 * the tree; writes the final tree-relative path ("/usr/lib/...") to out.
 * Returns 0, or -1 if a component is missing or there are too many links. */
static int resolve_in_tree(const char *rootfs, const char *path, char *out, size_t outlen)
{
	char rest[PATH_MAX], cur[PATH_MAX] = "", tmp[PATH_MAX], host[PATH_MAX * 2];
	int hops = 0;
	snprintf(rest, sizeof(rest), "%s", path);
	while (rest[0]) {
		char *p = rest;
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t cl = strcspn(p, "/");
		char comp[NAME_MAX + 1];
		if (cl > NAME_MAX)
			return -1;
		memcpy(comp, p, cl);
		comp[cl] = '\0';
		memmove(rest, p + cl, strlen(p + cl) + 1);
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			char *slash = strrchr(cur, '/');
			if (slash)
				*slash = '\0';
			continue;
		}
		if (strlen(cur) + 1 + cl >= sizeof(cur))
			return -1;
		snprintf(tmp, sizeof(tmp), "%s/%s", cur, comp);
		snprintf(host, sizeof(host), "%s%s", rootfs, tmp);
		struct stat st;
		if (lstat(host, &st) < 0)
			return -1;
		if (!S_ISLNK(st.st_mode)) {
			snprintf(cur, sizeof(cur), "%s", tmp);
			continue;
		}
		char target[PATH_MAX];
		ssize_t tl = readlink(host, target, sizeof(target) - 1);
		if (tl <= 0 || ++hops > 40)
			return -1;
		target[tl] = '\0';
		if (target[0] == '/')
			cur[0] = '\0';
		if ((size_t)tl + 1 + strlen(rest) >= sizeof(tmp))
			return -1;
		snprintf(tmp, sizeof(tmp), "%s/%s", target, rest);
		snprintf(rest, sizeof(rest), "%s", tmp);
	}
	snprintf(out, outlen, "%s", cur[0] ? cur : "/");
	return 0;
}

int tpl_init_check(const char *rootfs, const char *name, struct err *e)
{
	char final[PATH_MAX], host[PATH_MAX];
	struct stat st;
	if (resolve_in_tree(rootfs, "/sbin/init", final, sizeof(final)) == 0 &&
	    (size_t)snprintf(host, sizeof(host), "%s%s", rootfs, final) < sizeof(host) &&
	    lstat(host, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
		return 0;
	return err_exit(e, EXIT_USAGE, "template '%s' has no executable /sbin/init, so a guest made from it "
			"cannot boot; add one to the template (e.g. a link to /bin/busybox) or use "
			"'berth run' for a single command", name);
}

enum init_kind tpl_detect_init(const char *rootfs)
{
	char final[PATH_MAX];
	if (resolve_in_tree(rootfs, "/sbin/init", final, sizeof(final)) < 0)
		return INIT_OTHER;
	const char *base = strrchr(final, '/');
	base = base ? base + 1 : final;
	if (!strcmp(base, "systemd") || strstr(final, "lib/systemd/systemd"))
		return INIT_SYSTEMD;
	if (!strcmp(base, "busybox"))
		return INIT_BUSYBOX;
	return INIT_OTHER;
}

/* --- size --- */

struct du {
	long long bytes;
	struct { dev_t dev; ino_t ino; } *seen;
	size_t n, cap;
};

/* 1 if this multiply-linked inode was counted already (records it if not). */
static int du_seen(struct du *d, const struct stat *st)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->seen[i].dev == st->st_dev && d->seen[i].ino == st->st_ino)
			return 1;
	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 64;
		void *ns = realloc(d->seen, nc * sizeof(*d->seen));
		if (!ns)
			return 0;
		d->seen = ns;
		d->cap = nc;
	}
	d->seen[d->n].dev = st->st_dev;
	d->seen[d->n].ino = st->st_ino;
	d->n++;
	return 0;
}

/* Add up the blocks under the directory dirfd (consumed). */
static void du_walk(struct du *d, int dirfd, int depth)
{
	DIR *dir = fdopendir(dirfd);
	if (!dir) {
		close(dirfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && du_seen(d, &st))
			continue;
		d->bytes += (long long)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode) && depth < 256) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				du_walk(d, sub, depth + 1);
		}
	}
	closedir(dir);
}

long long tpl_disk_usage(const char *dir)
{
	struct du d = { 0 };
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	du_walk(&d, fd, 0);
	free(d.seen);
	return d.bytes;
}
