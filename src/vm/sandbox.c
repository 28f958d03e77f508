/* sandbox.c - the VMM's sandbox (see sandbox.h): label, capabilities,
 * Landlock (landlock(7)), seccomp allow-lists per thread kind (libseccomp,
 * seccomp_rule_add(3)). */
#include "vm/sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define VMM_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define VMM_SANITIZED 1
#endif
#endif
#ifndef VMM_SANITIZED
#define VMM_SANITIZED 0
#endif

int vmm_seccomp_enabled(void)
{
	const char *off = getenv("BERTH_VMM_NO_SECCOMP");
	return !VMM_SANITIZED && !(off && !strcmp(off, "1"));
}

/* --- seccomp --------------------------------------------------------- */

/* Every thread: memory, locks, time, signals, I/O on open fds, exit. */
static const char *const sc_core[] = {
	"read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev",
	"preadv2", "pwritev2", "close", "lseek", "fstat", "newfstatat", "fsync", "fdatasync",
	"futex", "madvise", "munmap", "brk", "mremap",
	"clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday",
	"rt_sigreturn", "rt_sigprocmask", "tgkill", "sigaltstack", "restart_syscall",
	"exit", "exit_group", "getpid", "gettid", "sched_yield", "set_robust_list", "rseq",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "poll", "ppoll",
	"getrandom",
	"seccomp",               /* a thread stacks its own filter: only narrows */
};

/* Sockets already open: the control socket, vsock clients. */
static const char *const sc_sock[] = {
	"accept", "accept4", "recvfrom", "sendto", "recvmsg", "sendmsg", "shutdown",
	"getsockopt", "setsockopt", "getsockname", "getpeername",
};

/* Making the unix sockets of each boot (vsock re-binds its socket). */
static const char *const sc_sock_make[] = {
	"bind", "listen", "unlink", "unlinkat", "lstat", "statx", "chmod",
	"fchmodat", "umask",
};

/* Building a boot: KVM objects, event fds, threads. */
static const char *const sc_build[] = {
	"eventfd2", "epoll_create1", "timerfd_create", "signalfd4", "fcntl", "dup", "dup3",
	"rt_sigaction", "mincore", "sysinfo", "sched_getaffinity", "uname", "timerfd_gettime",
};

/* What each kind may do beyond sc_core. */
enum { G_SOCK = 1, G_SOCK_MAKE = 2, G_BUILD = 4, G_KVM = 8, G_TTY = 16, G_TIMER = 32,
       G_DISK = 64 };

static unsigned kind_groups(enum vmm_thread_kind k)
{
	switch (k) {
	case VMM_THREAD_MAIN:
		return G_SOCK | G_SOCK_MAKE | G_BUILD | G_KVM | G_TTY | G_TIMER | G_DISK;
	case VMM_THREAD_VCPU: return G_KVM | G_DISK;
	case VMM_THREAD_DEVICES: return G_KVM | G_SOCK | G_TIMER | G_DISK | G_TTY;
	case VMM_THREAD_CONSOLE: return G_KVM | G_TTY;
	case VMM_THREAD_CONTROL: return G_SOCK | G_KVM;   /* the power button raises the SCI */
	}
	return 0;
}

static const char *const kind_names[] = { "main", "vcpu", "devices", "console", "control" };

static int allow_list(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;           /* not on this architecture */
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The rules with argument checks, by group. */
static int add_arg_rules(scmp_filter_ctx ctx, unsigned g)
{
	int r = 0;
	/* memory, never executable: the VMM runs no code it did not load at start */
	if (r == 0) r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
					 SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0) r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
					 SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* naming a thread, asking whether a filter is on */
	if (r == 0) r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
					 SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME, 0));
	if (r == 0) r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
					 SCMP_A0(SCMP_CMP_EQ, PR_GET_SECCOMP, 0));
	/* paths: Landlock refuses them anyway; say so without killing */
	if (r == 0) r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	if (r == 0) r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
	/* the VMM only serves sockets: no connecting out, even to a socket
	 * its label could reach by file modes (Landlock does not cover it) */
	if (r == 0) r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(connect), 0);
	/* KVM's ioctls (type 0xAE) and the terminal's ('T') */
	if (r == 0 && (g & G_KVM))
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00, 0xae00));
	if (r == 0 && (g & G_TTY))
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00, 0x5400));
	if (r == 0 && (g & G_TIMER))
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(timerfd_settime), 0);
	if (r == 0 && (g & G_DISK))
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fallocate), 0);
	if (r == 0 && (g & G_SOCK_MAKE))
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0));
	if (r == 0 && (g & G_BUILD)) {
		/* threads only (pthread_create); clone3's flags are out of reach
		 * of a filter, and glibc falls back to clone on ENOSYS */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
		if (r == 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	}
	return r;
}

/* The filter of kind k: anything not listed traps (sandbox_sigsys). */
static int seccomp_load_kind(enum vmm_thread_kind k)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	unsigned g = kind_groups(k);
	/* no_new_privs is set already (vmm_sandbox_enter), and a thread's
	 * prctl could not set it under the filter it stacks on */
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r == 0)
		r = allow_list(ctx, sc_core, sizeof(sc_core) / sizeof(sc_core[0]));
	if (r == 0 && (g & G_SOCK))
		r = allow_list(ctx, sc_sock, sizeof(sc_sock) / sizeof(sc_sock[0]));
	if (r == 0 && (g & G_SOCK_MAKE))
		r = allow_list(ctx, sc_sock_make, sizeof(sc_sock_make) / sizeof(sc_sock_make[0]));
	if (r == 0 && (g & G_BUILD))
		r = allow_list(ctx, sc_build, sizeof(sc_build) / sizeof(sc_build[0]));
	if (r == 0)
		r = add_arg_rules(ctx, g);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

/* A syscall outside the list: say which, then end the whole VMM (as
 * SECCOMP_RET_KILL_PROCESS would, but with a line in console.log). Only
 * async-signal-safe calls, all on the lists. */
static void sandbox_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	char msg[160];
	unsigned long long a0 = 0, a1 = 0;
#if defined(__x86_64__)
	const ucontext_t *u = uc;
	a0 = (unsigned long long)u->uc_mcontext.gregs[REG_RDI];
	a1 = (unsigned long long)u->uc_mcontext.gregs[REG_RSI];
#endif
	int n = snprintf(msg, sizeof(msg),
			 "berth vmm: sandbox: syscall %d (%#llx, %#llx, ...) refused; VMM stopped\n",
			 si->si_syscall, a0, a1);
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0) {
		/* nowhere else to say it */
	}
	syscall(SYS_exit_group, 128 + SIGSYS);
}

int vmm_seccomp_thread(enum vmm_thread_kind k)
{
	if (!vmm_seccomp_enabled() || prctl(PR_GET_SECCOMP) != 2)
		return 0;
	int r = seccomp_load_kind(k);
	if (r < 0) {
		char msg[96];
		int n = snprintf(msg, sizeof(msg), "berth vmm: seccomp filter of the %s thread: %s\n",
				 kind_names[k], strerror(-r));
		if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0) {
			/* nothing more to do */
		}
	}
	return r;
}

/* --- label and capabilities ------------------------------------------ */

static int drop_identity(const struct vmm_sandbox *sb, struct err *e)
{
	if (sb->uid == 0 || sb->gid == 0)
		return err_exit(e, EXIT_USAGE, "sandbox uid/gid 0 is no sandbox; give the guest's label");
	for (int c = 0; c < 64; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return err_sys(e, errno, "sandbox: drop capability %d from the bounding set", c);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return err_sys(e, errno, "sandbox: clear ambient capabilities");
	if (setgroups(0, NULL) < 0)
		return err_sys(e, errno, "sandbox: setgroups");
	/* a uid change clears the parent-death signal (prctl(2)): keep it,
	 * or a guest's VMM outlives its killed monitor, tap and all */
	int pdeath = 0;
	pid_t parent = getppid();
	prctl(PR_GET_PDEATHSIG, &pdeath, 0, 0, 0);
	if (setresgid(sb->gid, sb->gid, sb->gid) < 0)
		return err_sys(e, errno, "sandbox: setresgid %u", (unsigned)sb->gid);
	if (setresuid(sb->uid, sb->uid, sb->uid) < 0)
		return err_sys(e, errno, "sandbox: setresuid %u", (unsigned)sb->uid);
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		return err_sys(e, errno, "sandbox: capset");
	if (setresuid(0, 0, 0) == 0)
		return err_set(e, EPERM, "sandbox: root could be regained after the drop");
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);   /* no ptrace by other guests' VMMs */
	if (pdeath && (prctl(PR_SET_PDEATHSIG, pdeath, 0, 0, 0) < 0 || getppid() != parent))
		return err_set(e, ESRCH, "sandbox: the parent process ended during the drop");
	return 0;
}

/* --- Landlock -------------------------------------------------------- */

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

/* Handle every filesystem right of ABI 1-3 (ABI 5's ioctl right concerns
 * device files opened afterwards: none), allow only making and removing
 * unix sockets in sock_dirs. Fds open before keep working. A kernel
 * without Landlock: a note on stderr, and the rest of the sandbox. */
static int landlock_apply(const struct vmm_sandbox *sb, struct err *e)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		fprintf(stderr, "berth vmm: sandbox: Landlock unavailable (%s); going on without it\n",
			strerror(errno));
		return 0;
	}
	struct landlock_ruleset_attr ra = { .handled_access_fs = (1ULL << 13) - 1 };
	if (abi >= 2)
		ra.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		ra.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	int rs = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0);
	if (rs < 0)
		return err_sys(e, errno, "sandbox: landlock_create_ruleset");
	for (int i = 0; i < VMM_SANDBOX_DIRS; i++) {
		if (!sb->sock_dirs[i])
			continue;
		struct landlock_path_beneath_attr pb = {
			.allowed_access = LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_REMOVE_FILE,
		};
		pb.parent_fd = open(sb->sock_dirs[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (pb.parent_fd < 0) {
			int saved = errno;
			close(rs);
			return err_sys(e, saved, "sandbox: directory %s", sb->sock_dirs[i]);
		}
		long r = syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
		int saved = errno;
		close(pb.parent_fd);
		if (r < 0) {
			close(rs);
			return err_sys(e, saved, "sandbox: Landlock rule for %s", sb->sock_dirs[i]);
		}
	}
	long r = syscall(SYS_landlock_restrict_self, rs, 0);
	int saved = errno;
	close(rs);
	if (r < 0)
		return err_sys(e, saved, "sandbox: landlock_restrict_self");
	return 0;
}

int vmm_sandbox_enter(const struct vmm_sandbox *sb, struct err *e)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_sys(e, errno, "sandbox: no_new_privs");
	/* Landlock first, while sock_dirs can still be opened whatever the
	 * modes of their parents */
	int r = landlock_apply(sb, e);
	if (r == 0)
		r = drop_identity(sb, e);
	if (r < 0 || !vmm_seccomp_enabled())
		return r;
	struct sigaction sa = { .sa_sigaction = sandbox_sigsys, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return err_sys(e, errno, "sandbox: SIGSYS handler");
	r = seccomp_load_kind(VMM_THREAD_MAIN);
	if (r < 0)
		return err_sys(e, -r, "sandbox: seccomp filter");
	return 0;
}
