/* cgroup.c - a guest's cgroups on v1, hybrid and v2 hosts (see cgroup.h).
 *
 * Every guest gets <mnt>/<parent>/<name> in each v1 hierarchy berth uses and
 * in the unified one. A limit goes to whichever hierarchy holds its
 * controller: the unified one on v2 layouts, the v1 mount otherwise. */
#include "ct/cgroup.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/size.h"

#define CG_PERIOD_US 100000ull
#define CG_MIN_QUOTA_US 1000ull            /* the kernel's minimum CFS quota */
#define CG_TREE_DEPTH 32                   /* deepest sub-cgroup tree we walk */
#define CG_PROCS_MAX (4u << 20)            /* cap on a cgroup.procs read */
#define CG_V1_UNLIMITED (1ull << 62)       /* v1 reports "no limit" above this */
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* v1 hierarchies a guest joins, most important first (see v1_ctrl_string). */
static const char *const v1_used[] = {
	"memory", "pids", "cpu", "cpuacct", "cpuset", "freezer", "devices", "blkio", "name=systemd",
};
/* Controllers berth enables for guests on v2 hosts. */
static const char *const v2_wanted[] = { "memory", "pids", "cpu", "io", "cpuset" };

static const char no_swap_msg[] = "swap limit needs swap accounting, which this host lacks "
				  "(boot with swapaccount=1); drop --swap";

/* 1 if the comma/space separated list contains token tok. */
static int list_has(const char *list, const char *tok)
{
	size_t n = strlen(tok);
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ", \t\n");
		if (len == n && memcmp(p, tok, n) == 0)
			return 1;
		p += len;
		p += strspn(p, ", \t\n");
	}
	return 0;
}

/* 1 if berth puts guests into a v1 hierarchy with this controller list. */
static int v1_is_used(const char *ctrl)
{
	for (size_t i = 0; i < NELEM(v1_used); i++)
		if (list_has(ctrl, v1_used[i]))
			return 1;
	return 0;
}

/* 1 if the host has controller ctrl anywhere (v1 mount or unified). */
static int host_has(const struct cg_host *h, const char *ctrl)
{
	if (h->unified[0] && list_has(h->v2_controllers, ctrl))
		return 1;
	for (size_t i = 0; i < h->nv1 && i < CG_MAX_V1; i++)
		if (list_has(h->v1[i].ctrl, ctrl))
			return 1;
	return 0;
}

struct span { const char *p; size_t n; };

/* Next space-separated field of [*pos, end); 0 when none is left. */
static int next_field(const char **pos, const char *end, struct span *f)
{
	const char *p = *pos;
	while (p < end && *p == ' ')
		p++;
	f->p = p;
	while (p < end && *p != ' ')
		p++;
	f->n = (size_t)(p - f->p);
	*pos = p;
	return f->n > 0;
}

/* 1 if the field is exactly s. */
static int span_is(struct span f, const char *s)
{
	return f.n == strlen(s) && memcmp(f.p, s, f.n) == 0;
}

/* Decode mountinfo's octal escapes (\040) into out; -1 if it does not fit,
 * holds a NUL or is not an absolute path. */
static int unescape_path(struct span f, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < f.n; i++) {
		char c = f.p[i];
		if (c == '\\' && i + 3 < f.n && strspn(f.p + i + 1, "01234567") >= 3 && f.p[i + 1] <= '3') {
			c = (char)((f.p[i + 1] - '0') * 64 + (f.p[i + 2] - '0') * 8 + (f.p[i + 3] - '0'));
			i += 3;
		}
		if (c == '\0' || o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return out[0] == '/' ? 0 : -1;
}

/* A v1 mount's ctrl string: the controllers berth uses that its super
 * options list, most important first (so a too-long list drops the least
 * important). -1 if the hierarchy has none of them. */
static int v1_ctrl_string(struct span opts, char *out, size_t cap)
{
	char o[512];
	if (opts.n >= sizeof(o))
		return -1;
	memcpy(o, opts.p, opts.n);
	o[opts.n] = '\0';
	out[0] = '\0';
	for (size_t i = 0, len = 0; i < NELEM(v1_used); i++) {
		size_t n = strlen(v1_used[i]);
		if (list_has(o, v1_used[i]) && len + n + 2 <= cap)
			len += (size_t)sprintf(out + len, "%s%s", len ? "," : "", v1_used[i]);
	}
	return out[0] ? 0 : -1;
}

/* Remember one v1 mount; a mount of the hierarchy's root beats a bind mount
 * of a sub-cgroup, otherwise the first one wins. */
static void add_v1(struct cg_host *h, unsigned char *is_root, const char *ctrl,
		   const char *mnt, int root)
{
	size_t i;
	for (i = 0; i < h->nv1 && strcmp(h->v1[i].ctrl, ctrl); i++)
		;
	if (i < h->nv1 && (is_root[i] || !root))
		return;
	if (i == h->nv1 && h->nv1++ == CG_MAX_V1) {
		h->nv1--;
		return;
	}
	snprintf(h->v1[i].ctrl, sizeof(h->v1[i].ctrl), "%s", ctrl);
	snprintf(h->v1[i].mnt, sizeof(h->v1[i].mnt), "%s", mnt);
	is_root[i] = (unsigned char)root;
}

/* Parse one mountinfo line [p, end); lines that do not parse are ignored. */
static void parse_line(const char *p, const char *end, struct cg_host *h,
		       unsigned char *v1_root, int *unified_root)
{
	struct span f[6], x, fstype, source, opts;
	for (int i = 0; i < 6; i++)
		if (!next_field(&p, end, &f[i]))
			return;
	do {                            /* optional fields up to the "-" */
		if (!next_field(&p, end, &x))
			return;
	} while (!span_is(x, "-"));
	if (!next_field(&p, end, &fstype) || !next_field(&p, end, &source))
		return;
	next_field(&p, end, &opts);
	int root = span_is(f[3], "/");
	char mnt[PATH_MAX], ctrl[sizeof(h->v1[0].ctrl)];
	if (span_is(fstype, "cgroup2")) {
		if ((h->unified[0] && (*unified_root || !root)) || unescape_path(f[4], mnt, sizeof(mnt)) < 0)
			return;
		snprintf(h->unified, sizeof(h->unified), "%s", mnt);
		*unified_root = root;
	} else if (span_is(fstype, "cgroup") && v1_ctrl_string(opts, ctrl, sizeof(ctrl)) == 0 &&
		   unescape_path(f[4], mnt, sizeof(mnt)) == 0) {
		add_v1(h, v1_root, ctrl, mnt, root);
	}
}

/* Decide the layout from the mounts and the unified root's controllers. */
static void classify(struct cg_host *h)
{
	const char *c = h->v2_controllers;
	if (!h->unified[0])
		h->layout = CG_V1;
	else if (h->nv1 == 0 || list_has(c, "memory") || list_has(c, "pids") || list_has(c, "cpu"))
		h->layout = CG_V2;
	else
		h->layout = CG_HYBRID;
}

/* Parse mountinfo text; only v1 hierarchies berth uses are recorded (a host
 * may have more than CG_MAX_V1 in all). No file system access. */
int cg_host_parse(const char *mountinfo, struct cg_host *h, struct err *e)
{
	memset(h, 0, sizeof(*h));
	if (!mountinfo)
		return err_set(e, EINVAL, "no mountinfo text to parse");
	unsigned char v1_root[CG_MAX_V1] = { 0 };
	int unified_root = 0;
	for (const char *p = mountinfo; *p;) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		parse_line(p, end, h, v1_root, &unified_root);
		p = nl ? nl + 1 : end;
	}
	if (!h->unified[0] && h->nv1 == 0)
		return err_exit(e, EXIT_HOST, "no cgroup file system is mounted; "
				"mount one (mount -t cgroup2 none /sys/fs/cgroup)");
	classify(h);
	return 0;
}

/* Read dir/file into a malloc'd string; -errno on failure. */
static int cg_read(const char *dir, const char *file, size_t max, char **out)
{
	char path[PATH_MAX];
	struct err e = { 0 };
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return read_file(path, max, out, NULL, &e);
}

/* Read the first number of dir/file ("max" gives LIMIT_NONE). */
static int cg_read_u64(const char *dir, const char *file, uint64_t *v)
{
	_cleanup_free_ char *s = NULL;
	char *end = NULL;
	int r = cg_read(dir, file, 4096, &s);
	if (r < 0)
		return r;
	errno = 0;
	*v = strncmp(s, "max", 3) == 0 ? LIMIT_NONE : strtoull(s, &end, 10);
	return *v != LIMIT_NONE && (end == s || errno || s[0] == '-') ? -EINVAL : 0;
}

/* Read N from the "key N" line of dir/file. */
static int cg_read_keyed(const char *dir, const char *file, const char *key, uint64_t *v)
{
	_cleanup_free_ char *s = NULL;
	size_t n = strlen(key);
	if (cg_read(dir, file, 65536, &s) < 0)
		return -ENOENT;
	for (char *p = s; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, n) == 0 && p[n] == ' ') {
			*v = strtoull(p + n + 1, NULL, 10);
			return 0;
		}
	return -ENOENT;
}

/* Write a formatted value to dir/file, describing a failure in e. */
static int __attribute__((format(printf, 4, 5)))
cg_write(const char *dir, const char *file, struct err *e, const char *fmt, ...)
{
	char path[PATH_MAX], val[64];
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return err_set(e, ENAMETOOLONG, "cgroup path too long: %s/%s", dir, file);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return write_str(path, val, e);
}

/* 1 if dir/file exists. */
static int cg_has_file(const char *dir, const char *file)
{
	char path[PATH_MAX];
	return snprintf(path, sizeof(path), "%s/%s", dir, file) < (int)sizeof(path) && path_exists(path);
}

/* A limit as text: the number, or `none` for LIMIT_NONE. */
static const char *num(char buf[32], uint64_t v, const char *none)
{
	if (v == LIMIT_NONE)
		return none;
	snprintf(buf, 32, "%llu", (unsigned long long)v);
	return buf;
}

/* Whether swap can be limited. v1: memory.memsw.* exists. v2: the root has
 * no memory.swap.max, so look in init.scope if it has memory files; else
 * trust the kernel command line (swapaccount=0, cgroup.memory=noswap). */
static int detect_memsw(const struct cg_host *h)
{
	char scope[PATH_MAX];
	_cleanup_free_ char *cmd = NULL;
	for (size_t i = 0; i < h->nv1; i++)
		if (list_has(h->v1[i].ctrl, "memory"))
			return cg_has_file(h->v1[i].mnt, "memory.memsw.limit_in_bytes");
	if (!h->unified[0] || !list_has(h->v2_controllers, "memory"))
		return 0;
	snprintf(scope, sizeof(scope), "%s/init.scope", h->unified);
	if (cg_has_file(scope, "memory.current"))
		return cg_has_file(scope, "memory.swap.max");
	if (cg_read("/proc", "cmdline", 65536, &cmd) < 0)
		return 1;
	return !strstr(cmd, "swapaccount=0") && !strstr(cmd, "noswap");
}

/* Read mountinfo and the unified root's controllers; decide layout and swap. */
int cg_host_detect(struct cg_host *h, struct err *e)
{
	_cleanup_free_ char *text = NULL, *ctl = NULL;
	int r = read_file("/proc/self/mountinfo", 16u << 20, &text, NULL, e);
	if (r < 0 || (r = cg_host_parse(text, h, e)) < 0)
		return r;
	if (h->unified[0] && cg_read(h->unified, "cgroup.controllers", 4096, &ctl) == 0) {
		ctl[strcspn(ctl, "\n")] = '\0';
		snprintf(h->v2_controllers, sizeof(h->v2_controllers), "%s", ctl);
	}
	classify(h);
	h->has_memsw = detect_memsw(h);
	return 0;
}

/* 1 if s is a safe single cgroup directory name. */
static int cg_name_ok(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= 64 && strcmp(s, ".") && strcmp(s, "..") &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* Fill cg's paths for guest name under $BERTH_CGROUP_PARENT. */
int cgroup_open(const struct cg_host *h, const char *name, struct cgroup *cg, struct err *e)
{
	memset(cg, 0, sizeof(*cg));
	cg->host = h;
	const char *parent = getenv("BERTH_CGROUP_PARENT");
	if (!parent || !*parent)
		parent = "berth";
	if (!cg_name_ok(parent))
		return err_exit(e, EXIT_USAGE, "BERTH_CGROUP_PARENT '%s' is not a valid cgroup name; "
				"use up to 64 letters, digits, '_', '.' or '-' (e.g. berth)", parent);
	if (!name || !cg_name_ok(name))
		return err_exit(e, EXIT_USAGE, "guest name '%s' cannot be a cgroup name; "
				"use letters, digits and '-'", name ? name : "");
	for (size_t i = 0; i < h->nv1 && i < CG_MAX_V1; i++)
		if (v1_is_used(h->v1[i].ctrl) &&
		    snprintf(cg->v1[i], PATH_MAX, "%s/%s/%s", h->v1[i].mnt, parent, name) >= PATH_MAX)
			return err_set(e, ENAMETOOLONG, "cgroup path too long under %s", h->v1[i].mnt);
	if (h->unified[0] &&
	    snprintf(cg->v2, sizeof(cg->v2), "%s/%s/%s", h->unified, parent, name) >= (int)sizeof(cg->v2))
		return err_set(e, ENAMETOOLONG, "cgroup path too long under %s", h->unified);
	return 0;
}

/* Number of directory slots: the v1 ones, then the unified one. */
static size_t cg_ndirs(const struct cgroup *cg)
{
	return (cg->host->nv1 > CG_MAX_V1 ? CG_MAX_V1 : cg->host->nv1) + 1;
}

/* Directory slot i ("" when unused); the last slot is the unified one. */
static const char *cg_dir(const struct cgroup *cg, size_t i)
{
	return i + 1 == cg_ndirs(cg) ? cg->v2 : cg->v1[i];
}

/* Directory holding controller ctrl, or NULL; v2 first on v2 layouts. */
static const char *cg_ctrl_dir(const struct cgroup *cg, const char *ctrl)
{
	int in_v2 = cg->v2[0] && list_has(cg->host->v2_controllers, ctrl);
	if (in_v2 && cg->host->layout == CG_V2)
		return cg->v2;
	for (size_t i = 0; i + 1 < cg_ndirs(cg); i++)
		if (cg->v1[i][0] && list_has(cg->host->v1[i].ctrl, ctrl))
			return cg->v1[i];
	return in_v2 ? cg->v2 : NULL;
}

/* The controller's directory, for readers outside this file (stats). */
const char *cgroup_ctrl_dir(const struct cgroup *cg, const char *ctrl)
{
	return cg_ctrl_dir(cg, ctrl);
}

/* Call fn on every sub-cgroup of path (deepest first), then on path. Returns
 * the first negative result, else the sum of the results. */
static int walk(const char *path, int depth, int (*fn)(const char *))
{
	int r = 0, s;
	DIR *d = depth < CG_TREE_DEPTH ? opendir(path) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char sub[PATH_MAX];
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) ||
		    snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= (int)sizeof(sub) ||
		    lstat(sub, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		s = walk(sub, depth + 1, fn);
		r = r < 0 ? r : s < 0 ? s : r + s;
	}
	if (d)
		closedir(d);
	s = fn(path);
	return r < 0 ? r : s < 0 ? s : r + s;
}

/* rmdir one cgroup: 0, -EBUSY while it has processes or children, -errno. */
static int rmdir_one(const char *path)
{
	if (rmdir(path) == 0 || errno == ENOENT)
		return 0;
	return errno == ENOTEMPTY ? -EBUSY : -errno;
}

/* SIGKILL the processes listed in path/cgroup.procs; returns how many. */
static int kill_procs(const char *path)
{
	_cleanup_free_ char *procs = NULL;
	int n = 0;
	if (cg_read(path, "cgroup.procs", CG_PROCS_MAX, &procs) < 0)
		return 0;
	for (char *p = procs, *end; *p; p = end + strspn(end, " \n")) {
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid > 1 && pid != getpid() && kill((pid_t)pid, SIGKILL) == 0)
			n++;
	}
	return n;
}

/* SIGKILL every process of the guest: cgroup.kill on v2, then (the only way
 * on v1) a few sweeps killing what each cgroup.procs below the guest lists. */
void cgroup_kill_all(const struct cgroup *cg)
{
	if (cg->v2[0] && cg_has_file(cg->v2, "cgroup.kill"))
		cg_write(cg->v2, "cgroup.kill", NULL, "1");
	for (int pass = 0, n = 1; pass < 5 && n; pass++) {
		n = 0;
		for (size_t i = 0; i < cg_ndirs(cg); i++)
			if (cg_dir(cg, i)[0])
				n += walk(cg_dir(cg, i), 0, kill_procs);
		if (n)
			usleep(10000);
	}
}

/* v1 cpusets start empty: copy cpuset.cpus/mems from the parent if unset. */
static int cpuset_inherit(const char *dir, struct err *e)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char up[PATH_MAX];
	snprintf(up, sizeof(up), "%s", dir);
	*strrchr(up, '/') = '\0';
	for (size_t i = 0; i < NELEM(files) && cg_has_file(dir, files[i]); i++) {
		_cleanup_free_ char *cur = NULL, *from = NULL;
		if (cg_read(dir, files[i], 65536, &cur) == 0 && cur[strspn(cur, " \n")])
			continue;
		int r = cg_read(up, files[i], 65536, &from);
		if (r == 0 && (from[strcspn(from, "\n")] = '\0', !from[0]))
			r = -ENOSPC;
		if (r < 0)
			return err_sys(e, -r, "copy %s/%s to cgroup %s (set it there first)", up, files[i], dir);
		if ((r = cg_write(dir, files[i], e, "%s", from)) < 0)
			return r;
	}
	return 0;
}

/* Enable the v2 controllers guests need in dir's cgroup.subtree_control
 * (a no-op for those already on). Failing one a requested limit needs is an
 * error; the others are optional. */
static int enable_v2(const char *dir, const struct limits *l, struct err *e)
{
	for (size_t i = 0; i < NELEM(v2_wanted); i++) {
		const char *c = v2_wanted[i];
		struct err why = { 0 };
		if (cg_write(dir, "cgroup.subtree_control", &why, "+%s", c) == 0)
			continue;
		int needed = l && ((!strcmp(c, "memory") && (l->memory != LIMIT_NONE || l->swap != LIMIT_NONE)) ||
				   (!strcmp(c, "pids") && l->pids != LIMIT_NONE) ||
				   (!strcmp(c, "cpu") && (l->cpus != LIMIT_NONE || l->cpu_weight != LIMIT_NONE)));
		if (needed)
			return err_exit(e, EXIT_HOST, "cannot enable the %s controller for guests (%s); "
					"move the processes out of %s or drop the %s limit", c, why.msg, dir, c);
	}
	return 0;
}

/* Give the guest's user the directory and the files delegation needs. */
static int delegate(const char *dir, int v2, uid_t uid, struct err *e)
{
	static const char *const files[] = { "", "cgroup.procs", "cgroup.threads",
					     "cgroup.subtree_control", "tasks" };
	for (size_t i = 0; i < NELEM(files); i++) {
		char path[PATH_MAX];
		if (v2 ? i == 4 : (i == 2 || i == 3))  /* "tasks" is v1 only */
			continue;
		snprintf(path, sizeof(path), "%s%s%s", dir, i ? "/" : "", files[i]);
		if (chown(path, uid, (gid_t)uid) < 0 && errno != ENOENT)
			return err_sys(e, errno, "delegate cgroup: chown %s", path);
	}
	return 0;
}

int cgroup_delegate(const struct cgroup *cg, uid_t uid, struct err *e)
{
	size_t n = cg_ndirs(cg);
	for (size_t i = 0; i < n; i++) {
		const char *d = cg_dir(cg, i);
		int named = i + 1 < n && list_has(cg->host->v1[i].ctrl, "name=systemd");
		int r;
		if (d[0] && (d == cg->v2 || named) && (r = delegate(d, d == cg->v2, uid, e)) < 0)
			return r;
	}
	return 0;
}

/* Make one hierarchy's parent and guest directories; records what it made. */
static int make_one(const struct cgroup *cg, const char *dir, const struct limits *l,
		    int *made_parent, int *made_dir, struct err *e)
{
	int v2 = dir == cg->v2, r = 0;
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", dir);
	*strrchr(parent, '/') = '\0';
	if (mkdir(parent, 0755) == 0)
		*made_parent = 1;
	else if (errno != EEXIST)
		return err_sys(e, errno, "create cgroup %s", parent);
	if (!v2)
		r = cpuset_inherit(parent, e);
	else if (cg->host->layout == CG_V2 && (r = enable_v2(cg->host->unified, l, e)) == 0)
		r = enable_v2(parent, l, e);
	if (r < 0)
		return r;
	if (mkdir(dir, 0755) < 0) {
		if (errno != EEXIST)
			return err_sys(e, errno, "create cgroup %s", dir);
		r = walk(dir, 0, rmdir_one);       /* stale from a crash: reuse if empty */
		if (r == -EBUSY)
			return err_set(e, EBUSY, "cgroup %s still has processes; run 'berth kill %s'",
				       dir, strrchr(dir, '/') + 1);
		if (r < 0 || mkdir(dir, 0755) < 0)
			return err_sys(e, r < 0 ? -r : errno, "create cgroup %s", dir);
	}
	*made_dir = 1;
	return v2 ? 0 : cpuset_inherit(dir, e);
}

/* Create the guest's cgroups, delegate the unified (and name=systemd) one
 * to owner_uid ((uid_t)-1: don't), apply limits; undo all on failure. */
int cgroup_create(const struct cgroup *cg, uid_t owner_uid, const struct limits *l,
		  struct err *e)
{
	int made_parent[CG_MAX_V1 + 1] = { 0 }, made_dir[CG_MAX_V1 + 1] = { 0 }, r = 0;
	size_t n = cg_ndirs(cg);
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *d = cg_dir(cg, i);
		if (!d[0])
			continue;
		r = make_one(cg, d, l, &made_parent[i], &made_dir[i], e);
		int named = i + 1 < n && list_has(cg->host->v1[i].ctrl, "name=systemd");
		if (r == 0 && owner_uid != (uid_t)-1 && (d == cg->v2 || named))
			r = delegate(d, d == cg->v2, owner_uid, e);
	}
	if (r == 0 && l)
		r = cgroup_apply_limits(cg, l, e);
	if (r == 0)
		return 0;
	for (size_t i = n; i-- > 0;) {
		char path[PATH_MAX];
		if (!cg_dir(cg, i)[0])
			continue;
		snprintf(path, sizeof(path), "%s", cg_dir(cg, i));
		if (made_dir[i])
			rmdir(path);
		*strrchr(path, '/') = '\0';
		if (made_parent[i])
			rmdir(path);            /* fails harmlessly if another guest uses it */
	}
	return r;
}

/* v2 weight (1..10000, default 100) to v1 cpu.shares (default 1024). */
uint64_t cg_v1_shares_from_weight(uint64_t weight)
{
	if (weight == LIMIT_NONE)
		weight = 100;
	if (weight > 262144ull * 100 / 1024 + 1)
		return 262144;
	uint64_t s = weight * 1024 / 100;
	return s < 2 ? 2 : s > 262144 ? 262144 : s;
}

/* Millicpus to a CFS quota per 100 ms period; quota UINT64_MAX means none. */
void cg_cpu_quota(uint64_t millicpus, uint64_t *quota_us, uint64_t *period_us)
{
	*period_us = CG_PERIOD_US;
	if (millicpus == LIMIT_NONE) {
		*quota_us = UINT64_MAX;
		return;
	}
	uint64_t q = millicpus > UINT64_MAX / 200 ? UINT64_MAX / 2 : millicpus * (CG_PERIOD_US / 1000);
	*quota_us = q < CG_MIN_QUOTA_US ? CG_MIN_QUOTA_US : q;
}

/* Refuse a limit whose controller the host lacks. */
static int missing_ctrl(struct err *e, const char *ctrl, const char *flag)
{
	return err_exit(e, EXIT_HOST, "%s needs the %s cgroup controller, which this host lacks "
			"(mount it, or enable it in cgroup.subtree_control); drop %s", flag, ctrl, flag);
}

/* Refuse limit combinations that make no sense whatever the host. */
static int limits_sane(const struct limits *l, struct err *e)
{
	if (l->swap != LIMIT_NONE && l->memory == LIMIT_NONE)
		return err_exit(e, EXIT_USAGE, "--swap needs --memory; add --memory SIZE or drop --swap");
	if (l->swap != LIMIT_NONE && l->swap >= LIMIT_NONE - l->memory)
		return err_exit(e, EXIT_USAGE, "memory plus swap is too large; lower --swap");
	if (l->cpu_weight != LIMIT_NONE && (l->cpu_weight < 1 || l->cpu_weight > 10000))
		return err_exit(e, EXIT_USAGE, "cpu weight %llu is out of range; use 1 to 10000",
				(unsigned long long)l->cpu_weight);
	return 0;
}

/* memory.limit_in_bytes / memsw (v1) or memory.max / memory.swap.max (v2). */
static int apply_memory(const struct cgroup *cg, const struct limits *l, struct err *e)
{
	const char *d = cg_ctrl_dir(cg, "memory");
	char b1[32], b2[32];
	int r;
	if (!d)
		return (l->memory == LIMIT_NONE && l->swap == LIMIT_NONE) ? 0 : missing_ctrl(e, "memory", "--memory");
	if (d == cg->v2) {
		if ((r = cg_write(d, "memory.max", e, "%s", num(b1, l->memory, "max"))) < 0)
			return r;
		if (!cg_has_file(d, "memory.swap.max"))
			return l->swap == LIMIT_NONE ? 0 : err_exit(e, EXIT_HOST, "%s", no_swap_msg);
		return cg_write(d, "memory.swap.max", e, "%s", num(b1, l->swap, "max"));
	}
	const char *mem = num(b1, l->memory, "-1");
	if (!cg_has_file(d, "memory.memsw.limit_in_bytes"))
		return l->swap != LIMIT_NONE ? err_exit(e, EXIT_HOST, "%s", no_swap_msg)
					     : cg_write(d, "memory.limit_in_bytes", e, "%s", mem);
	const char *sw = num(b2, l->swap == LIMIT_NONE ? LIMIT_NONE : l->memory + l->swap, "-1");
	/* v1 keeps memsw >= limit at every step: raise memsw first when the new
	 * memory limit would exceed the current memsw limit, else memory first. */
	uint64_t cur_sw = LIMIT_NONE;
	cg_read_u64(d, "memory.memsw.limit_in_bytes", &cur_sw);
	int sw_first = l->memory > cur_sw;
	if ((r = cg_write(d, sw_first ? "memory.memsw.limit_in_bytes" : "memory.limit_in_bytes",
			  e, "%s", sw_first ? sw : mem)) < 0)
		return r;
	return cg_write(d, sw_first ? "memory.limit_in_bytes" : "memory.memsw.limit_in_bytes",
			e, "%s", sw_first ? mem : sw);
}

/* CPU quota and weight: cpu.max/cpu.weight (v2), cfs_*_us/shares (v1). */
static int apply_cpu(const struct cgroup *cg, const struct limits *l, struct err *e)
{
	const char *d = cg_ctrl_dir(cg, "cpu");
	if (!d)
		return (l->cpus == LIMIT_NONE && l->cpu_weight == LIMIT_NONE) ? 0 : missing_ctrl(e, "cpu", "--cpus");
	uint64_t q, p, w = l->cpu_weight == LIMIT_NONE ? 100 : l->cpu_weight;
	char b[32];
	int r = 0;
	cg_cpu_quota(l->cpus, &q, &p);          /* UINT64_MAX == LIMIT_NONE */
	if (d == cg->v2) {
		if (l->cpus != LIMIT_NONE || cg_has_file(d, "cpu.max"))
			r = cg_write(d, "cpu.max", e, "%s %llu", num(b, q, "max"), (unsigned long long)p);
		return r < 0 ? r : cg_write(d, "cpu.weight", e, "%llu", (unsigned long long)w);
	}
	if (l->cpus != LIMIT_NONE || cg_has_file(d, "cpu.cfs_quota_us")) {
		r = cg_write(d, "cpu.cfs_period_us", e, "%llu", (unsigned long long)p);
		if (r == 0)
			r = cg_write(d, "cpu.cfs_quota_us", e, "%s", num(b, q, "-1"));
	}
	return r < 0 ? r : cg_write(d, "cpu.shares", e, "%llu",
				    (unsigned long long)cg_v1_shares_from_weight(w));
}

/* Write the guest's limits; LIMIT_NONE clears a limit. */
int cgroup_apply_limits(const struct cgroup *cg, const struct limits *l, struct err *e)
{
	char b[32];
	int r = limits_sane(l, e);
	if (r < 0 || (r = apply_memory(cg, l, e)) < 0 || (r = apply_cpu(cg, l, e)) < 0)
		return r;
	const char *d = cg_ctrl_dir(cg, "pids");
	if (!d)
		return l->pids == LIMIT_NONE ? 0 : missing_ctrl(e, "pids", "--pids");
	return cg_write(d, "pids.max", e, "%s", num(b, l->pids, "max"));
}

/* Refuse limits this host cannot enforce, naming the fix. */
int cgroup_check_limits(const struct cg_host *h, const struct limits *l, struct err *e)
{
	if ((l->memory != LIMIT_NONE || l->swap != LIMIT_NONE) && !host_has(h, "memory"))
		return missing_ctrl(e, "memory", l->memory != LIMIT_NONE ? "--memory" : "--swap");
	int r = limits_sane(l, e);
	if (r < 0)
		return r;
	if (l->swap != LIMIT_NONE && !h->has_memsw)
		return err_exit(e, EXIT_HOST, "%s", no_swap_msg);
	if ((l->cpus != LIMIT_NONE || l->cpu_weight != LIMIT_NONE) && !host_has(h, "cpu"))
		return missing_ctrl(e, "cpu", l->cpus != LIMIT_NONE ? "--cpus" : "--cpu-weight");
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (l->cpus != LIMIT_NONE && ncpu > 0 && l->cpus > (uint64_t)ncpu * 1000) {
		char buf[32];
		cpus_format(l->cpus, buf, sizeof(buf));
		return err_exit(e, EXIT_HOST, "cpus %s exceeds the host's %ld CPU%s; lower --cpus",
				buf, ncpu, ncpu == 1 ? "" : "s");
	}
	if (l->pids != LIMIT_NONE && !host_has(h, "pids"))
		return missing_ctrl(e, "pids", "--pids");
	return 0;
}

/* Move pid into the guest's cgroup in every hierarchy. */
int cgroup_add_pid(const struct cgroup *cg, pid_t pid, struct err *e)
{
	for (size_t i = 0; i < cg_ndirs(cg); i++)
		if (cg_dir(cg, i)[0] && cg_write(cg_dir(cg, i), "cgroup.procs", e, "%d", (int)pid) < 0)
			return err_wrap(e, "move process %d into cgroup", (int)pid);
	return 0;
}

/* Monotonic milliseconds. */
static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Remove the guest's directories (and sub-cgroups), killing stragglers for
 * up to ~2 s. The shared parent directory stays. */
int cgroup_destroy(const struct cgroup *cg, struct err *e)
{
	for (long start = now_ms();;) {
		const char *busy = NULL;
		for (size_t i = 0; i < cg_ndirs(cg); i++) {
			const char *d = cg_dir(cg, i);
			int r = d[0] ? walk(d, 0, rmdir_one) : 0;
			if (r == -EBUSY)
				busy = d;
			else if (r < 0)
				return err_sys(e, -r, "remove cgroup %s", d);
		}
		if (!busy)
			return 0;
		if (now_ms() - start > 2000)
			return err_set(e, EBUSY, "cgroup %s still has processes after 2 s of killing them; "
				       "see %s/cgroup.procs and retry 'berth kill %s'", busy, busy, strrchr(busy, '/') + 1);
		cgroup_kill_all(cg);
		usleep(20000);
	}
}

/* 1 if any of the guest's directories exist. */
int cgroup_exists(const struct cgroup *cg)
{
	for (size_t i = 0; i < cg_ndirs(cg); i++)
		if (cg_dir(cg, i)[0] && path_exists(cg_dir(cg, i)))
			return 1;
	return 0;
}

/* Usage counters; missing values stay 0, no memory limit is LIMIT_NONE.
 * -ENOENT when the guest has no cgroup. */
int cgroup_usage(const struct cgroup *cg, struct cg_usage *u)
{
	memset(u, 0, sizeof(*u));
	if (!cgroup_exists(cg))
		return -ENOENT;
	const char *d = cg_ctrl_dir(cg, "memory");
	uint64_t sw = 0;
	if (d && d == cg->v2) {
		cg_read_u64(d, "memory.current", &u->memory_bytes);
		cg_read_u64(d, "memory.max", &u->memory_limit_bytes);
		cg_read_u64(d, "memory.swap.current", &u->swap_bytes);
		cg_read_keyed(d, "memory.events", "oom_kill", &u->oom_kills);
	} else if (d) {
		cg_read_u64(d, "memory.usage_in_bytes", &u->memory_bytes);
		cg_read_u64(d, "memory.limit_in_bytes", &u->memory_limit_bytes);
		if (u->memory_limit_bytes >= CG_V1_UNLIMITED)
			u->memory_limit_bytes = LIMIT_NONE;
		if (cg_read_u64(d, "memory.memsw.usage_in_bytes", &sw) == 0 && sw > u->memory_bytes)
			u->swap_bytes = sw - u->memory_bytes;
		cg_read_keyed(d, "memory.oom_control", "oom_kill", &u->oom_kills);
	}
	if ((d = cg_ctrl_dir(cg, "cpuacct")) && cg_read_u64(d, "cpuacct.usage", &u->cpu_usec) == 0)
		u->cpu_usec /= 1000;
	else if (cg->v2[0])
		cg_read_keyed(cg->v2, "cpu.stat", "usage_usec", &u->cpu_usec);
	if ((d = cg_ctrl_dir(cg, "pids")))
		cg_read_u64(d, "pids.current", &u->pids);
	return 0;
}
