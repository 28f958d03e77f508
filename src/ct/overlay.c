/* overlay.c - idmapped template + overlay as an ephemeral guest's tree
 * (mount_setattr(2) MOUNT_ATTR_IDMAP, overlayfs on idmapped layers). */
#include "ct/overlay.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/config.h"

int overlay_prepare(const char *dir, uint32_t base, struct err *e)
{
	static const char *const sub[] = { "upper", "work", "lower", NULL };
	char p[PATH_MAX];
	for (const char *const *s = sub; *s; s++) {
		snprintf(p, sizeof(p), "%s/%s", dir, *s);
		if (mkdir(p, 0755) < 0)
			return err_sys(e, errno, "mkdir %s", p);
		if (strcmp(*s, "lower") != 0 && chown(p, base, base) < 0)
			return err_sys(e, errno, "chown %s", p);
	}
	return 0;
}

/* A short-lived child holds the namespace while we write its maps. */
int overlay_userns(uint32_t base, struct err *e)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return err_sys(e, errno, "new user namespace for the idmap");
	}
	if (pid == 0) {
		char c;
		close(pfd[1]);
		(void)!read(pfd[0], &c, 1);
		_exit(0);
	}
	close(pfd[0]);
	char p[64], map[64];
	int fd = -1, r = 0;
	snprintf(map, sizeof(map), "0 %u %u\n", base, IDRANGE_SIZE);
	for (int i = 0; i < 2 && r == 0; i++) {
		snprintf(p, sizeof(p), "/proc/%d/%s", (int)pid, i ? "gid_map" : "uid_map");
		int m = open(p, O_WRONLY | O_CLOEXEC);
		if (m < 0 || write(m, map, strlen(map)) < 0)
			r = err_sys(e, errno, "write %s", p);
		if (m >= 0)
			close(m);
	}
	if (r == 0) {
		snprintf(p, sizeof(p), "/proc/%d/ns/user", (int)pid);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			r = err_sys(e, errno, "open %s", p);
	}
	close(pfd[1]); /* lets the child exit */
	waitpid(pid, NULL, 0);
	return r < 0 ? r : fd;
}

int overlay_mount(const char *template_root, const char *dir, uint32_t base, const char *target,
		  struct err *e)
{
	char lower[PATH_MAX], opts[3 * PATH_MAX + 64];
	snprintf(lower, sizeof(lower), "%s/lower", dir);
	int ns = overlay_userns(base, e);
	if (ns < 0)
		return ns;
	int tree = open_tree(AT_FDCWD, template_root, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0) {
		close(ns);
		return err_sys(e, errno, "open template tree %s", template_root);
	}
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV,
		.userns_fd = (uint64_t)ns,
	};
	int r = 0;
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		r = err_sys(e, errno, "idmap the template (needs a kernel with idmapped mounts, 5.12+, on this file system)");
	else if (move_mount(tree, "", AT_FDCWD, lower, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		r = err_sys(e, errno, "attach the idmapped template at %s", lower);
	close(tree);
	close(ns);
	if (r < 0)
		return r;
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s/upper,workdir=%s/work", lower, dir, dir);
	if (mount("overlay", target, "overlay", MS_NODEV, opts) < 0) {
		r = err_sys(e, errno, "mount the overlay on %s", target);
		umount2(lower, MNT_DETACH);
	}
	return r;
}

void overlay_umount(const char *dir, const char *target)
{
	char lower[PATH_MAX];
	snprintf(lower, sizeof(lower), "%s/lower", dir);
	umount2(target, MNT_DETACH);
	umount2(lower, MNT_DETACH);
}
