/* instance.c - what a running container holds on the host, and giving it back:
 * runtime dir + liveness lock, private mount namespace, disk mount, cgroup. */
#include "ct/monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ct/disk.h"
#include "ct/overlay.h"
#include "lib/copytree.h"
#include "ct/spawn.h"
#include "lib/fsutil.h"

int ct_stop_signal(const struct guest_config *c)
{
	return c->init == INIT_SYSTEMD ? SIGRTMIN + 3 : c->init == INIT_BUSYBOX ? SIGPWR : SIGTERM;
}

/* Create and lock $BERTH_RUN/<name>; a stale one (dead monitor) is reused. */
static int rundir_take(struct ct_instance *in, struct err *e)
{
	char p[PATH_MAX];
	store_run_path(in->s, in->c->name, NULL, p, sizeof(p));
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return err_sys(e, errno, "create %s", p);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "open %s", p);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return err_exit(e, EXIT_STATE, "guest '%s' is already running; stop it first with 'berth stop %s'",
				in->c->name, in->c->name);
	}
	in->rundir_fd = fd;
	return 0;
}

static void rundir_release(struct ct_instance *in)
{
	static const char *const leaves[] = { "control.sock", "pid", NULL };
	char p[PATH_MAX];
	if (in->rundir_fd < 0)
		return;
	for (const char *const *l = leaves; *l; l++) {
		store_run_path(in->s, in->c->name, *l, p, sizeof(p));
		unlink(p);
	}
	store_run_path(in->s, in->c->name, NULL, p, sizeof(p));
	rmdir(p);
	close(in->rundir_fd);
	in->rundir_fd = -1;
}

/* The guest's root opens its tree by path as its own uid: every directory
 * above the guest dir must be searchable by others (like LXC and runc). */
static int check_path_searchable(const char *path, struct err *e)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", path);
	for (char *slash = strrchr(p, '/'); slash && slash != p; slash = strrchr(p, '/')) {
		*slash = '\0';
		struct stat st;
		if (stat(p, &st) == 0 && !(st.st_mode & S_IXOTH))
			return err_exit(e, EXIT_HOST, "%s (mode %04o) is not searchable by guests; run 'chmod o+x %s' or move BERTH_ROOT",
					p, st.st_mode & 07777, p);
	}
	return 0;
}

int ct_prepare(struct ct_instance *in, struct err *e)
{
	int r;
	in->rundir_fd = -1;
	in->disk_mounted = 0;
	in->overlay_mounted = 0;
	in->init_pid = 0;
	store_guest_path(in->s, in->c->name, "rootfs", in->rootfs, sizeof(in->rootfs));
	char guests[PATH_MAX];
	store_guest_path(in->s, in->c->name, NULL, guests, sizeof(guests));
	if ((r = check_path_searchable(guests, e)) < 0)
		return r;
	if ((r = cg_host_detect(&in->cgh, e)) < 0 ||
	    (r = cgroup_check_limits(&in->cgh, &in->c->lim, e)) < 0 ||
	    (r = cgroup_open(&in->cgh, in->c->name, &in->cg, e)) < 0)
		return r;
	if ((r = rundir_take(in, e)) < 0)
		return r;
	int overlay = in->c->ephemeral && in->c->lim.disk == LIMIT_NONE;
	if (in->c->lim.disk != LIMIT_NONE || overlay) {
		/* A private mount namespace: our mounts die with us, even on kill -9. */
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			r = err_sys(e, errno, "private mount namespace");
			goto fail;
		}
	}
	if (overlay) {
		char tpl[PATH_MAX], dir[PATH_MAX];
		store_template_path(in->s, in->c->template_name, "rootfs", tpl, sizeof(tpl));
		store_guest_path(in->s, in->c->name, NULL, dir, sizeof(dir));
		if ((r = overlay_mount(tpl, dir, in->c->id_base, in->rootfs, e)) == 0) {
			in->overlay_mounted = 1;
		} else {
			/* no idmapped mounts on this kernel or file system (tmpfs
			 * before 6.3): fall back to a shifted copy of the template */
			struct err ce = { 0 };
			rmdir(in->rootfs);
			if ((r = copytree_shift(tpl, in->rootfs, in->c->id_base, &ce)) < 0) {
				char first[sizeof(e->msg)];
				snprintf(first, sizeof(first), "%s", e->msg);
				err_set(e, -r, "%.200s; copying the template instead failed too: %.200s",
					first, ce.msg);
				goto fail;
			}
			err_clear(e);
		}
	} else if (in->c->lim.disk != LIMIT_NONE) {
		char img[PATH_MAX];
		store_guest_path(in->s, in->c->name, "disk.img", img, sizeof(img));
		/* a plain image (root 0 on disk, as a VM boots it) is seen
		 * through an idmapped mount; an old shifted one as it is */
		int ns = -1;
		if (in->c->disk_ids == DISK_IDS_PLAIN && (ns = overlay_userns(in->c->id_base, e)) < 0) {
			r = ns;
			goto fail;
		}
		r = disk_mount_ns(img, in->rootfs, ns, e);
		if (ns >= 0)
			close(ns);
		if (r < 0)
			goto fail;
		in->disk_mounted = 1;
	}
	if (!in->cg_external && (r = cgroup_create(&in->cg, in->c->id_base, &in->c->lim, e)) < 0)
		goto fail;
	in->started = (long long)time(NULL);
	return 0;
fail:
	ct_teardown(in);
	return r;
}

void ct_teardown(struct ct_instance *in)
{
	struct err e = { 0 };
	if (in->init_pid > 0)
		kill(in->init_pid, SIGKILL);
	if (!in->cg_external && cgroup_destroy(&in->cg, &e) < 0)
		fprintf(stderr, "berth: %s\n", e.msg);
	if (in->disk_mounted && umount2(in->rootfs, MNT_DETACH) < 0)
		fprintf(stderr, "berth: unmount %s: %m\n", in->rootfs);
	in->disk_mounted = 0;
	if (in->overlay_mounted) {
		char dir[PATH_MAX];
		store_guest_path(in->s, in->c->name, NULL, dir, sizeof(dir));
		overlay_umount(dir, in->rootfs);
		in->overlay_mounted = 0;
	}
	rundir_release(in);
}

int ct_write_pidfile(struct ct_instance *in, pid_t monitor, struct err *e)
{
	char p[PATH_MAX], text[64];
	store_run_path(in->s, in->c->name, "pid", p, sizeof(p));
	int n = snprintf(text, sizeof(text), "%d %d %lld\n", (int)monitor, (int)in->init_pid,
			 in->started);
	return atomic_write(p, text, (size_t)n, 0644, 0, e);
}

int ct_cleanup_stale(const struct store *s, const struct guest_config *c, struct err *e)
{
	struct ct_instance in = { .s = s, .c = c, .rundir_fd = -1 };
	int r;
	if ((r = cg_host_detect(&in.cgh, e)) < 0 || (r = cgroup_open(&in.cgh, c->name, &in.cg, e)) < 0)
		return r;
	if ((r = rundir_take(&in, e)) < 0)
		return r; /* a monitor took it meanwhile: not stale */
	cgroup_kill_all(&in.cg);
	ct_teardown(&in);
	struct guest_exit x = { .code = -1, .signal = SIGKILL, .when = time(NULL) };
	snprintf(x.reason, sizeof(x.reason), "monitor-lost");
	return guest_exit_save(s, c->name, &x, e);
}
