/* guest.c - a VM guest of the store: settings at create, kernel and cached
 * initramfs at start, and the monitor that runs berth's VMM in-process. */
#include "vm/guest.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ct/control.h"
#include "lib/fsutil.h"
#include "lib/size.h"
#include "net/tap.h"
#include "tpl/initramfs.h"
#include "vm/console_hub.h"
#include "vm/sandbox.h"
#include "vm/vmm.h"

#define REPORT_FD 3
#define START_WAIT_MS 30000
#define CONSOLE_TAIL 600
#define CONSOLE_LOG_KEEP (1 << 20)  /* console.log rotates at start past this */

void vm_vsock_path(const struct store *s, const char *name, char *buf, size_t len)
{
	store_run_path(s, name, "vsock.sock", buf, len);
}

void vm_guest_mac(const struct guest_config *c, char *out, size_t len)
{
	if (c->vm.mac[0]) {
		snprintf(out, len, "%s", c->vm.mac);
		return;
	}
	snprintf(out, len, "52:54:00:%02x:%02x:%02x", (c->id_base >> 24) & 0xff,
		 (c->id_base >> 16) & 0xff, (c->id_base >> 8) & 0xff);
}

void vm_guest_tap(const struct guest_config *c, char *out, size_t len)
{
	snprintf(out, len, "bt%u", (unsigned)c->id_base);
}

/* Release from a name vmlinu[xz]-<release>; 0 or -1. */
static int release_from_name(const char *path, char *release, size_t len)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strncmp(base, "vmlinu", 6) || (base[6] != 'x' && base[6] != 'z') || base[7] != '-' ||
	    !base[8] || strlen(base + 8) >= len)
		return -1;
	snprintf(release, len, "%s", base + 8);
	return 0;
}

int vm_kernel_check(const char *path, char *release, size_t len, struct err *e)
{
	uint8_t h[1024];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_exit(e, EXIT_USAGE, "kernel %s: %s", path, strerror(errno));
	ssize_t n = pread(fd, h, sizeof(h), 0);
	int is_elf = n >= 4 && !memcmp(h, "\177ELF", 4);
	/* bzImage: boot sector signature and "HdrS" (Documentation/arch/x86/boot.rst) */
	int is_bz = n >= 0x210 && h[0x1fe] == 0x55 && h[0x1ff] == 0xaa && !memcmp(h + 0x202, "HdrS", 4);
	if (!is_elf && !is_bz) {
		close(fd);
		return err_exit(e, EXIT_USAGE, "%s is not a kernel (neither a bzImage nor an ELF vmlinux)",
				path);
	}
	if (!release) {
		close(fd);
		return 0;
	}
	release[0] = '\0';
	if (is_bz) {
		unsigned off = (unsigned)h[0x20e] | (unsigned)h[0x20f] << 8;
		char v[128] = "";
		if (off && pread(fd, v, sizeof(v) - 1, (off_t)off + 0x200) > 0) {
			v[strcspn(v, " \n")] = '\0';
			if (v[0] && strlen(v) < len)
				snprintf(release, len, "%s", v);
		}
	}
	close(fd);
	if (!release[0] && release_from_name(path, release, len) < 0)
		return err_exit(e, EXIT_USAGE, "cannot tell the release of kernel %s (name it vmlinux-RELEASE)",
				path);
	return 0;
}

/* The newest /boot/vmlinuz-*-cloud-amd64. */
static int newest_cloud_kernel(char *out, size_t len, struct err *e)
{
	static const char suffix[] = "-cloud-amd64";
	char best[256] = "";
	DIR *d = opendir("/boot");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name), sl = sizeof(suffix) - 1;
		if (strncmp(de->d_name, "vmlinuz-", 8) || n <= sl + 8 || n >= sizeof(best) ||
		    strcmp(de->d_name + n - sl, suffix))
			continue;
		if (!best[0] || strverscmp(de->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	}
	if (d)
		closedir(d);
	if (!best[0])
		return err_exit(e, EXIT_HOST, "no /boot/vmlinuz-*-cloud-amd64; install linux-image-cloud-amd64 or create the guest with --kernel");
	snprintf(out, len, "/boot/%s", best);
	return 0;
}

static uint64_t host_memory(void)
{
	struct sysinfo si;
	return sysinfo(&si) == 0 ? (uint64_t)si.totalram * si.mem_unit : 0;
}

int vm_config_check(struct guest_config *c, struct err *e)
{
	if (c->lim.memory == LIMIT_NONE)
		c->lim.memory = VM_GUEST_DEFAULT_MEMORY;
	if (c->lim.disk == LIMIT_NONE)
		c->lim.disk = VM_GUEST_DEFAULT_DISK;
	if (c->lim.cpus == LIMIT_NONE)
		c->lim.cpus = 1000;
	if (c->lim.cpus % 1000 || c->lim.cpus == 0) {
		char given[32];
		cpus_format(c->lim.cpus, given, sizeof(given));
		return err_exit(e, EXIT_USAGE, "--cpus %s: a VM takes a whole number of vCPUs (1, 2, ...)",
				given);
	}
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t vcpus = c->lim.cpus / 1000;
	if (vcpus > VMM_MAX_CPUS || (online > 0 && vcpus > (uint64_t)online))
		return err_exit(e, EXIT_USAGE, "--cpus %llu exceeds the host's %ld CPUs; lower --cpus",
				(unsigned long long)vcpus, online);
	uint64_t ram = host_memory();
	if (ram && c->lim.memory > ram)
		return err_exit(e, EXIT_USAGE, "--memory %lluM exceeds the host's %lluM of RAM; lower --memory",
				(unsigned long long)(c->lim.memory >> 20), (unsigned long long)(ram >> 20));
	if (c->lim.memory < (64ull << 20))
		return err_exit(e, EXIT_USAGE, "--memory %lluM is too small for a VM; give at least 64M",
				(unsigned long long)(c->lim.memory >> 20));
	if (c->vm.kernel[0]) {
		char abs[PATH_MAX];
		int r = vm_kernel_check(c->vm.kernel, NULL, 0, e);
		if (r < 0)
			return r;
		if (!realpath(c->vm.kernel, abs) || strlen(abs) >= sizeof(c->vm.kernel))
			return err_exit(e, EXIT_USAGE, "kernel %s: path too long or unresolvable", c->vm.kernel);
		snprintf(c->vm.kernel, sizeof(c->vm.kernel), "%s", abs);
	}
	return 0;
}

/* $BERTH_ROOT/cache/initramfs-<release>-<hash>.cpio, built when missing;
 * the hash (FNV-1a of the berth binary's size and mtime) changes with
 * every new berth, whose copy is the initramfs's /init. */
/* Remove the cached initramfs images of this kernel release that older
 * berth binaries built (a guest running one keeps its open file). */
static void initramfs_prune(const char *dir, const char *release, const char *keep)
{
	char prefix[192];
	snprintf(prefix, sizeof(prefix), "initramfs-%s-", release);
	const char *keep_base = strrchr(keep, '/') ? strrchr(keep, '/') + 1 : keep;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (strncmp(de->d_name, prefix, strlen(prefix)) || n < 5 ||
		    strcmp(de->d_name + n - 5, ".cpio") || !strcmp(de->d_name, keep_base))
			continue;
		/* the hash is the rest: 16 hex digits, so no other release matches */
		if (n - strlen(prefix) - 5 != 16)
			continue;
		unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

static int initramfs_cached(const struct store *s, const char *release, char *out, size_t len,
			    struct err *e)
{
	struct stat st;
	if (stat("/proc/self/exe", &st) < 0)
		return err_sys(e, errno, "stat /proc/self/exe");
	uint64_t key[3] = { (uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec,
			    (uint64_t)st.st_mtim.tv_nsec };
	uint64_t h = 0xcbf29ce484222325ull;
	const uint8_t *p = (const uint8_t *)key;
	for (size_t i = 0; i < sizeof(key); i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/cache", s->root);
	int r = mkdir_p(dir, 0700, e);
	if (r < 0)
		return r;
	if ((size_t)snprintf(out, len, "%s/initramfs-%s-%016llx.cpio", dir, release,
			     (unsigned long long)h) >= len)
		return err_set(e, ENAMETOOLONG, "initramfs path in %s is too long", dir);
	if (path_exists(out))
		return 0;
	r = initramfs_build(release, "/proc/self/exe", out, e);
	if (r == 0)
		initramfs_prune(dir, release, out);
	return r;
}

/* Create and lock $BERTH_RUN/<name>; returns the locked fd. */
static int rundir_take(const struct store *s, const char *name, struct err *e)
{
	char p[PATH_MAX];
	store_run_path(s, name, NULL, p, sizeof(p));
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return err_sys(e, errno, "create %s", p);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "open %s", p);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return err_exit(e, EXIT_STATE, "guest '%s' is already running; stop it first with 'berth stop %s'",
				name, name);
	}
	return fd;
}

static void rundir_release(const struct store *s, const char *name, int fd)
{
	static const char *const leaves[] = { "control.sock", "vsock.sock", "console.sock", "pid", NULL };
	char p[PATH_MAX];
	for (const char *const *l = leaves; *l; l++) {
		store_run_path(s, name, *l, p, sizeof(p));
		unlink(p);
	}
	store_run_path(s, name, NULL, p, sizeof(p));
	rmdir(p);
	close(fd);
}

/* How the VMM's exit status reads in state.json. */
static void exit_record(int status, struct guest_exit *x)
{
	*x = (struct guest_exit){ .valid = 1, .code = -1, .when = time(NULL) };
	const char *why = "crashed";
	if (status == VMM_EXIT_POWEROFF) {
		x->code = 0;
		why = "poweroff";
	} else if (status > 128) {
		x->signal = status - 128;
		why = "killed";
	} else if (status == VMM_EXIT_REBOOT) {
		x->code = status;
		why = "exited";
	} else if (status >= 0) {
		x->code = status;
	}
	snprintf(x->reason, sizeof(x->reason), "%s", why);
}

static void mlog(const char *what, const char *msg)
{
	char ts[32];
	time_t t = time(NULL);
	strftime(ts, sizeof(ts), "%F %T", localtime(&t));
	fprintf(stderr, "%s berth monitor: %s%s%s\n", ts, what, msg ? ": " : "", msg ? msg : "");
}

/* The signals the VMM turns into an orderly stop (console_relay.c) or
 * into the guest's power button (SIGPWR, vmm_control.c). */
static void vmm_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGPWR);
}

/* The VMM, in a child sandboxed to the guest's label (sandbox.h) while the
 * monitor stays privileged to clean up and record the exit: the child dies
 * with the monitor, the monitor passes the stop signals on to it and keeps
 * its console (console_hub.h). Returns what vmm_run returned (-1: it
 * failed; its message is in console.log). */
static int vmm_child(struct vmm_config *vc, const struct vmm_image *img,
		     const struct guest_config *c, const char *rundir, int lock,
		     struct console_hub *hub)
{
	sigset_t stop, wait_for, old;
	vmm_signals(&stop);
	wait_for = stop;
	sigaddset(&wait_for, SIGCHLD);
	sigprocmask(SIG_BLOCK, &wait_for, &old);
	int sfd = signalfd(-1, &wait_for, SFD_CLOEXEC | SFD_NONBLOCK);
	pid_t monitor = getpid();
	pid_t pid = sfd < 0 ? -1 : fork();
	if (pid < 0) {
		mlog("fork the VMM", strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != monitor)
			_exit(255);
		close(lock);   /* the monitor's: its death frees the guest at once */
		close(sfd);
		console_hub_child(hub);
		struct vmm_sandbox sb = { .uid = c->id_base, .gid = c->id_base,
					  .sock_dirs = { rundir } };
		vc->sandbox = c->id_base ? &sb : NULL;
		struct err e = { 0 };
		struct vmm_stats st;
		int r = vmm_run(vc, img, &st, &e);
		fflush(stdout);
		if (r < 0)
			mlog("VMM failed", e.msg);
		else if (st.why[0])
			mlog("VM ended", st.why);
		_exit(r < 0 ? 255 : r & 0xff);
	}
	console_hub_parent(hub);
	int status = 0;
	for (;;) {
		struct pollfd p[1 + CONSOLE_HUB_POLLFDS] = { { .fd = sfd, .events = POLLIN } };
		console_hub_pollfds(hub, p + 1);
		if (poll(p, 1 + CONSOLE_HUB_POLLFDS, -1) < 0 && errno != EINTR)
			break;
		console_hub_service(hub, p + 1);
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			if (si.ssi_signo != SIGCHLD)
				kill(pid, (int)si.ssi_signo);
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno == ECHILD))
			break;
	}
	close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status) == 255 ? -1 : WEXITSTATUS(status);
}

/* Make the guest's files the label's (defence in depth: the VMM opens
 * them before it drops to the label) and its runtime directory, where
 * the sandboxed VMM makes its control and vsock sockets. */
static int label_files(const struct store *s, const struct guest_config *c, struct err *e)
{
	char p[PATH_MAX];
	if (!c->id_base)
		return 0;
	static const char *const files[] = { "disk.img", "console.log", NULL };
	for (const char *const *f = files; *f; f++) {
		store_guest_path(s, c->name, *f, p, sizeof(p));
		if (chown(p, c->id_base, c->id_base) < 0 && errno != ENOENT)
			return err_sys(e, errno, "chown %s to the guest's label", p);
	}
	store_run_path(s, c->name, NULL, p, sizeof(p));
	if (chown(p, c->id_base, c->id_base) < 0)
		return err_sys(e, errno, "chown %s to the guest's label", p);
	/* $BERTH_RUN searchable (not listable) by the labels, so each VMM
	 * reaches its own runtime dir (0700, its label's) to bind sockets */
	struct stat st;
	if (stat(s->run, &st) < 0)
		return err_sys(e, errno, "stat %s", s->run);
	if ((st.st_mode & 0111) != 0111 && chmod(s->run, (st.st_mode & 07777) | 0111) < 0)
		return err_sys(e, errno, "chmod %s", s->run);
	return 0;
}

/* Body of the forked monitor; never returns. */
static void monitor_main(const struct store *s, const struct guest_config *c, const char *kernel,
			 const char *initrd)
{
	struct err e = { 0 };
	char cmdline[1024], disk[PATH_MAX], control[PATH_MAX], vsock[PATH_MAX], p[PATH_MAX];
	char tap[IFNAMSIZ], mac[18], net[IFNAMSIZ + 32];
	vm_guest_tap(c, tap, sizeof(tap));
	vm_guest_mac(c, mac, sizeof(mac));
	snprintf(net, sizeof(net), "%s,mac=%s", tap, mac);
	snprintf(cmdline, sizeof(cmdline), "%s berth.hostname=%s%s%s", VM_GUEST_CMDLINE,
		 c->hostname[0] ? c->hostname : c->name, c->vm.cmdline[0] ? " " : "", c->vm.cmdline);
	store_guest_path(s, c->name, "disk.img", disk, sizeof(disk));
	store_run_path(s, c->name, "control.sock", control, sizeof(control));
	vm_vsock_path(s, c->name, vsock, sizeof(vsock));
	struct vmm_config vc = {
		.kernel = kernel, .initrd = initrd, .cmdline = cmdline,
		.memory = c->lim.memory, .cpus = (unsigned)(c->lim.cpus / 1000),
		.console = VMM_CONSOLE_SERIAL, .disks = { disk }, .ndisks = 1,
		.control = control, .vsock_uds = vsock, .vsock_cid = VM_GUEST_CID,
		.net = net,   /* the monitor (root) makes the tap; its fd lives in img */
	};
	struct vmm_image img;
	memset(&img, 0, sizeof(img));
	img.initrd_fd = -1;
	int lock = rundir_take(s, c->name, &e);
	int r = lock < 0 ? lock : vmm_prepare(&vc, &img, &e);
	if (r == 0)
		r = tap_link_up(tap, &e);
	if (r == 0)
		r = label_files(s, c, &e);
	struct console_hub hub;
	char hub_sock[PATH_MAX], log[PATH_MAX], log_old[PATH_MAX];
	store_run_path(s, c->name, "console.sock", hub_sock, sizeof(hub_sock));
	store_guest_path(s, c->name, "console.log", log, sizeof(log));
	store_guest_path(s, c->name, "console.log.1", log_old, sizeof(log_old));
	int hub_open = r == 0 && (r = console_hub_open(&hub, hub_sock, log, log_old, &e)) == 0;
	long long started = (long long)time(NULL);
	if (r == 0) {
		char text[64];
		int n = snprintf(text, sizeof(text), "%d %d %lld\n", (int)getpid(), (int)getpid(), started);
		store_run_path(s, c->name, "pid", p, sizeof(p));
		r = atomic_write(p, text, (size_t)n, 0644, 0, &e);
	}
	if (r < 0) {
		mlog("start failed", e.msg);
		if (hub_open)
			console_hub_close(&hub);
		if (lock >= 0)
			rundir_release(s, c->name, lock);
		vmm_image_free(&img);
		if (write(REPORT_FD, e.msg, strlen(e.msg)) < 0)
			_exit(2);
		_exit(1);
	}
	if (write(REPORT_FD, "ok", 2) < 0)
		mlog("report to the CLI failed", NULL);
	close(REPORT_FD);
	mlog("VMM starting", NULL);
	store_run_path(s, c->name, NULL, p, sizeof(p));
	r = vmm_child(&vc, &img, c, p, lock, &hub);
	console_hub_close(&hub);
	vmm_image_free(&img);
	struct guest_exit x;
	exit_record(r, &x);
	struct err se = { 0 };
	if (guest_exit_save(s, c->name, &x, &se) < 0)
		mlog("record the exit", se.msg);
	rundir_release(s, c->name, lock);
	_exit(0);
}

/* In the forked child: own session, report pipe on fd 3, nothing else
 * inherited, stdin /dev/null, stdout and stderr appended to console.log. */
static void monitor_detach(const struct store *s, const char *name, int report)
{
	char p[PATH_MAX];
	setsid();
	if (report != REPORT_FD) {
		dup2(report, REPORT_FD);
		close(report);
	}
	syscall(SYS_close_range, REPORT_FD + 1, ~0U, 0);
	int null = open("/dev/null", O_RDWR);
	store_guest_path(s, name, "console.log", p, sizeof(p));
	struct stat st;
	if (stat(p, &st) == 0 && st.st_size > CONSOLE_LOG_KEEP) {
		char old[PATH_MAX];
		store_guest_path(s, name, "console.log.1", old, sizeof(old));
		rename(p, old); /* one older log kept, as for containers */
	}
	int log = open(p, O_WRONLY | O_CREAT | O_APPEND, 0600);
	dup2(null, 0);
	dup2(log >= 0 ? log : null, 1);
	dup2(log >= 0 ? log : null, 2);
	if (null > 2)
		close(null);
	if (log > 2)
		close(log);
	fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IONBF, 0);
	setvbuf(stderr, NULL, _IOLBF, 0);
}

/* The last lines of console.log, on one line, for an error message. */
static void console_tail(const struct store *s, const char *name, char *out, size_t len)
{
	char p[PATH_MAX];
	store_guest_path(s, name, "console.log", p, sizeof(p));
	out[0] = '\0';
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t end = lseek(fd, 0, SEEK_END);
	char buf[CONSOLE_TAIL + 1];
	off_t from = end > CONSOLE_TAIL ? end - CONSOLE_TAIL : 0;
	ssize_t n = pread(fd, buf, CONSOLE_TAIL, from);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	size_t w = 0;
	for (ssize_t i = 0; i < n && w + 3 < len; i++) {
		char ch = buf[i];
		if (ch == '\n') {
			if (w && out[w - 1] != ' ') {
				out[w++] = ';';
				out[w++] = ' ';
			}
		} else if (ch >= 0x20 && ch < 0x7f) {
			out[w++] = ch;
		}
	}
	while (w && (out[w - 1] == ' ' || out[w - 1] == ';'))
		w--;
	out[w] = '\0';
}

/* Until the control socket answers "status", the monitor dies or time is up. */
static int wait_control(const struct store *s, const char *name, pid_t pid, struct err *e)
{
	char reply[256], tail[400];
	for (int waited = 0;; waited += 50) {
		struct err ce = { 0 };
		if (control_call(s, name, "status", reply, sizeof(reply), 1000, &ce) == 0 &&
		    reply[0] == '{')
			return 0;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid || waited >= START_WAIT_MS) {
			if (waited >= START_WAIT_MS)
				kill(pid, SIGKILL);
			console_tail(s, name, tail, sizeof(tail));
			return err_exit(e, EXIT_HOST, "start '%s': the VM %s; console: %s", name,
					waited >= START_WAIT_MS ? "did not answer in time" : "ended during start",
					tail[0] ? tail : "(empty)");
		}
		usleep(50 * 1000);
	}
}

int vm_start(const struct store *s, const struct guest_config *c, int keep_fd, struct err *e)
{
	(void)keep_fd; /* closed in the child by close_range */
	char kernel[PATH_MAX], release[128], initrd[PATH_MAX];
	int r;
	if (c->vm.kernel[0])
		snprintf(kernel, sizeof(kernel), "%s", c->vm.kernel);
	else if ((r = newest_cloud_kernel(kernel, sizeof(kernel), e)) < 0)
		return r;
	if ((r = vm_kernel_check(kernel, release, sizeof(release), e)) < 0 ||
	    (r = initramfs_cached(s, release, initrd, sizeof(initrd), e)) < 0)
		return err_wrap(e, "start '%s'", c->name);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return err_sys(e, errno, "fork the monitor");
	}
	if (pid == 0) {
		close(pfd[0]);
		monitor_detach(s, c->name, pfd[1]);
		monitor_main(s, c, kernel, initrd);
	}
	close(pfd[1]);
	char msg[sizeof(e->msg)];
	ssize_t n;
	while ((n = read(pfd[0], msg, sizeof(msg) - 1)) < 0 && errno == EINTR)
		;
	close(pfd[0]);
	if (n <= 0) {
		waitpid(pid, NULL, 0);
		return err_set(e, EIO, "the monitor of '%s' died during start; see %s/guests/%s/console.log",
			       c->name, s->root, c->name);
	}
	msg[n] = '\0';
	if (strcmp(msg, "ok") != 0) {
		waitpid(pid, NULL, 0);
		return err_exit(e, EXIT_HOST, "start '%s': %s", c->name, msg);
	}
	return wait_control(s, c->name, pid, e);
}

void vm_wait_gone(const struct store *s, const char *name, int timeout_ms)
{
	char p[PATH_MAX];
	store_run_path(s, name, NULL, p, sizeof(p));
	for (int waited = 0; waited < timeout_ms && path_exists(p); waited += 20)
		usleep(20 * 1000);
}

int vm_cleanup_stale(const struct store *s, const struct guest_config *c, struct err *e)
{
	int fd = rundir_take(s, c->name, e);
	if (fd < 0)
		return fd; /* a monitor took it meanwhile: not stale */
	rundir_release(s, c->name, fd);
	struct guest_exit x = { .code = -1, .signal = SIGKILL, .when = time(NULL) };
	snprintf(x.reason, sizeof(x.reason), "monitor-lost");
	return guest_exit_save(s, c->name, &x, e);
}
