/* debian.c - the debian template: debootstrap (minbase + systemd) and a few
 * touches so the tree boots as a container and as a VM. */
#include "tpl/template.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/term.h"

#define DEFAULT_MIRROR "http://deb.debian.org/debian"
/* udev: a VM's systemd knows devices only through it (without it units
 * such as serial-getty@ttyS0 wait 90 s for their .device and fail); in a
 * container systemd-udevd does not start (read-only /sys) */
#define INCLUDE "--include=systemd,systemd-sysv,udev,iproute2"

extern char **environ;

/* Find debootstrap in PATH or the sbin dirs; 0 if found. */
static int find_debootstrap(char *out, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096];
	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin", path ? path : "");
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (d[0] != '/')
			continue;
		snprintf(out, len, "%s/debootstrap", d);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}

/* 1 if the mirror is an http(s) or file URL without spaces or control bytes. */
static int mirror_ok(const char *m)
{
	if (strncmp(m, "http://", 7) && strncmp(m, "https://", 8) && strncmp(m, "file:/", 6))
		return 0;
	if (strlen(m) > 400)
		return 0;
	for (const char *c = m; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return 0;
	return 1;
}

/* 1 if the suite is a plausible Debian suite or codename. */
static int suite_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 32 && s[0] != '-' && s[0] != '.' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-") == n;
}

/* First usable `deb` URL of a one-line-style sources file. */
static int mirror_from_list(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char line[1024];
	int found = -1;
	while (found < 0 && fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save);
		if (!tok || strcmp(tok, "deb"))
			continue;
		tok = strtok_r(NULL, " \t\r\n", &save);
		if (tok && tok[0] == '[') { /* options: [arch=amd64 signed-by=...] */
			while (tok && !strchr(tok, ']'))
				tok = strtok_r(NULL, " \t\r\n", &save);
			tok = tok ? strtok_r(NULL, " \t\r\n", &save) : NULL;
		}
		if (tok && mirror_ok(tok)) {
			snprintf(out, len, "%s", tok);
			found = 0;
		}
	}
	fclose(f);
	return found;
}

/* First usable URI of an enabled `Types: deb` stanza of a deb822 file. */
static int mirror_from_deb822(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char line[1024], uri[512] = "";
	int deb = 0, enabled = 1, found = -1, eof = 0;
	while (found < 0 && !eof) {
		eof = !fgets(line, sizeof(line), f);
		char *s = line + strspn(line, " \t");
		if (eof || *s == '\n' || *s == '\r' || *s == '\0') { /* end of stanza */
			if (deb && enabled && uri[0]) {
				snprintf(out, len, "%s", uri);
				found = 0;
			}
			deb = 0, enabled = 1, uri[0] = '\0';
			continue;
		}
		char *save = NULL, *key = strtok_r(s, ": \t\r\n", &save), *tok;
		if (!key || key[0] == '#')
			continue;
		if (!strcasecmp(key, "Types")) {
			while ((tok = strtok_r(NULL, " \t\r\n", &save)))
				deb |= !strcmp(tok, "deb");
		} else if (!strcasecmp(key, "Enabled")) {
			tok = strtok_r(NULL, " \t\r\n", &save);
			enabled = !(tok && !strcasecmp(tok, "no"));
		} else if (!strcasecmp(key, "URIs") && !uri[0]) {
			tok = strtok_r(NULL, " \t\r\n", &save);
			if (tok && mirror_ok(tok))
				snprintf(uri, sizeof(uri), "%s", tok);
		}
	}
	fclose(f);
	return found;
}

/* The host's Debian mirror: the first deb URL of its apt sources. */
static void host_mirror(char *out, size_t len)
{
	if (mirror_from_list("/etc/apt/sources.list", out, len) == 0)
		return;
	struct dirent **ents;
	int n = scandir("/etc/apt/sources.list.d", &ents, NULL, alphasort);
	int found = 0;
	for (int i = 0; i < n; i++) {
		char p[PATH_MAX];
		const char *name = ents[i]->d_name;
		size_t nl = strlen(name);
		snprintf(p, sizeof(p), "/etc/apt/sources.list.d/%s", name);
		if (!found && nl > 5 && !strcmp(name + nl - 5, ".list"))
			found = mirror_from_list(p, out, len) == 0;
		else if (!found && nl > 8 && !strcmp(name + nl - 8, ".sources"))
			found = mirror_from_deb822(p, out, len) == 0;
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
	if (!found)
		snprintf(out, len, "%s", DEFAULT_MIRROR);
}

/* Our environment plus LC_ALL=C and a non-interactive dpkg (malloc'd). */
static char **child_env(void)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 3, sizeof(*env));
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LC_ALL=", 7) && strncmp(environ[i], "DEBIAN_FRONTEND=", 16))
			env[k++] = environ[i];
	env[k++] = "LC_ALL=C";
	env[k++] = "DEBIAN_FRONTEND=noninteractive";
	return env;
}

struct dbs_out {
	char line[512];      /* the line being assembled */
	size_t len;
	char last[200];      /* the last non-empty line */
	char last_err[200];  /* the last "E: " line */
};

/* Take one complete output line of debootstrap: remember it, show progress. */
static void take_line(struct dbs_out *o)
{
	o->line[o->len] = '\0';
	o->len = 0;
	char *l = o->line;
	l[strcspn(l, "\r")] = '\0';
	if (!*l)
		return;
	snprintf(o->last, sizeof(o->last), "%s", l);
	if (!strncmp(l, "E: ", 3))
		snprintf(o->last_err, sizeof(o->last_err), "%s", l);
	if (!strncmp(l, "I: ", 3))
		progress_show("debootstrap: %s", l + 3);
}

/* Run debootstrap into rootfs, logging everything to logfd. */
static int run_debootstrap(const char *bin, const char *suite, const char *rootfs,
			   const char *mirror, int logfd, const char *logpath, struct err *e)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	posix_spawnattr_init(&at);
	posix_spawnattr_setpgroup(&at, 0); /* own group: we stop it and all its children */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	char *argv[] = { "debootstrap", "--variant=minbase", INCLUDE, (char *)suite,
			 (char *)rootfs, (char *)mirror, NULL };
	char **env = child_env();
	pid_t pid;
	int r = env ? posix_spawn(&pid, bin, &fa, &at, argv, env) : ENOMEM;
	free(env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(pfd[1]);
	if (r != 0) {
		close(pfd[0]);
		return err_sys(e, r, "run %s", bin);
	}
	struct dbs_out o = { .len = 0 };
	int stopped = 0;
	char buf[4096];
	for (;;) {
		ssize_t n = read(pfd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR) {
			if (tpl_interrupted() && !stopped++)
				kill(-pid, SIGTERM);
			continue;
		}
		if (n <= 0)
			break;
		if (write(logfd, buf, (size_t)n) < 0) {
			/* a full disk shows up in debootstrap's own errors too */
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' || o.len == sizeof(o.line) - 1)
				take_line(&o);
			if (buf[i] != '\n')
				o.line[o.len++] = buf[i];
		}
	}
	take_line(&o);
	close(pfd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		if (tpl_interrupted() && !stopped++)
			kill(-pid, SIGTERM);
	kill(-pid, SIGKILL); /* whatever it left running */
	progress_done();
	if (tpl_interrupted())
		return err_set(e, EINTR, "interrupted; nothing was kept");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	const char *why = o.last_err[0] ? o.last_err : o.last[0] ? o.last : "no output";
	if (WIFEXITED(status))
		return err_set(e, EIO, "debootstrap %s failed (exit %d): %s; full log in %s; check --suite, --mirror and the network, then retry",
			       suite, WEXITSTATUS(status), why, logpath);
	return err_set(e, EIO, "debootstrap %s was killed by signal %d: %s; full log in %s",
		       suite, WTERMSIG(status), why, logpath);
}

/* Give root an empty password in /etc/shadow (the console logs in as root). */
static int blank_root_password(int rootfd, struct err *e)
{
	_cleanup_free_ char *text = NULL;
	int r = tpl_read(rootfd, "etc/shadow", 1 << 20, &text, e);
	if (r < 0)
		return r;
	char *line = text;
	while (line && strncmp(line, "root:", 5) != 0)
		line = (line = strchr(line, '\n')) ? line + 1 : NULL;
	char *end = line ? strchr(line + 5, ':') : NULL;
	char *eol = line ? strchr(line, '\n') : NULL;
	if (!line || !end || (eol && end > eol))
		return err_set(e, EINVAL, "no root entry in /etc/shadow of the new tree; debootstrap output is unexpected");
	size_t n = strlen(text);
	_cleanup_free_ char *out = malloc(n + 1);
	if (!out)
		return err_set(e, ENOMEM, "out of memory");
	size_t head = (size_t)(line + 5 - text);
	memcpy(out, text, head);
	snprintf(out + head, n + 1 - head, "%s", end);
	return tpl_write(rootfd, "etc/shadow", out, 0640, e);
}

/* Remove files matching suffix from the directory rel of the tree. */
static void remove_matching(int rootfd, const char *rel, const char *suffix)
{
	int fd = tpl_openat(rootfd, rel, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *de;
	size_t sl = strlen(suffix);
	while ((de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		if (de->d_type == DT_REG && nl > sl && !strcmp(de->d_name + nl - sl, suffix))
			unlinkat(fd, de->d_name, 0);
	}
	closedir(d);
}

/* Make the fresh tree ready to boot as a guest (container or VM). */
static int prepare(const char *rootfs, struct err *e)
{
	_cleanup_close_ int rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err_sys(e, errno, "open %s", rootfs);
	int r;
	/* empty machine-id: systemd makes a fresh one for each guest at boot */
	if ((r = tpl_write(rootfd, "etc/machine-id", "", 0444, e)) < 0 ||
	    (r = tpl_write(rootfd, "etc/hostname", "debian\n", 0644, e)) < 0 ||
	    (r = blank_root_password(rootfd, e)) < 0)
		return r;
	remove_matching(rootfd, "var/cache/apt/archives", ".deb"); /* apt clean */
	remove_matching(rootfd, "var/cache/apt", ".bin");
	return 0;
}

int tpl_build_debian(const struct store *s, const char *name, const char *suite,
		     const char *mirror, struct err *e)
{
	char bin[PATH_MAX], tmp[PATH_MAX], rootfs[PATH_MAX], logpath[PATH_MAX], m[512];
	if (!suite)
		suite = "bookworm";
	if (!suite_ok(suite))
		return err_exit(e, EXIT_USAGE, "bad suite '%.40s'; give a Debian suite or codename such as bookworm", suite);
	if (mirror && !mirror_ok(mirror))
		return err_exit(e, EXIT_USAGE, "bad mirror '%.80s'; give an http://, https:// or file:/ URL", mirror);
	if (!mirror) {
		host_mirror(m, sizeof(m));
		mirror = m;
	}
	if (find_debootstrap(bin, sizeof(bin)) < 0)
		return err_exit(e, EXIT_HOST, "debootstrap is not installed; install it with 'apt-get install debootstrap'");
	int r = tpl_begin(s, name, tmp, sizeof(tmp), e);
	if (r < 0)
		return r;
	tpl_guard_begin();
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", tmp);
	tpl_log_path(s, name, logpath, sizeof(logpath));
	int logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (logfd < 0)
		r = err_sys(e, errno, "create %s", logpath);
	else
		r = run_debootstrap(bin, suite, rootfs, mirror, logfd, logpath, e);
	if (logfd >= 0)
		close(logfd);
	if (r == 0)
		r = prepare(rootfs, e);
	if (r == 0) {
		char kept[PATH_MAX + 16];
		snprintf(kept, sizeof(kept), "%s/build.log", tmp);
		rename(logpath, kept); /* the log travels with the template */
		r = tpl_commit(s, name, tmp, "debian", tpl_detect_init(rootfs), e);
	}
	if (r < 0)
		tpl_abort(tmp);
	tpl_guard_end();
	return r;
}
