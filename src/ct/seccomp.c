/* seccomp.c - the default seccomp filter of containers (libseccomp).
 *
 * Allow-by-default (a system container runs a whole distribution), with EPERM
 * for the syscalls that reach past the namespaces into the host kernel: the
 * ones Docker's default profile denies that matter to a system container,
 * minus those systemd needs (user namespaces, name_to_handle_at, the new
 * mount API, fanotify) and those debuggers need (ptrace). seccomp(2),
 * seccomp_rule_add(3), seccomp_attr_set(3). */
#include "ct/seccomp.h"

#include <seccomp.h>
#include <stdint.h>

/* Syscalls that fail with EPERM. Names libseccomp does not know on an
 * architecture are skipped (vm86 exists only on i386, kexec_file_load not
 * there, ...). */
static const char *const seccomp_denied[] = {
	/* another kernel, kernel modules */
	"kexec_load", "kexec_file_load", "init_module", "finit_module",
	"delete_module", "create_module", "get_kernel_syms", "query_module",
	/* files by handle bypass the mount namespace (shocker) */
	"open_by_handle_at",
	/* the kernel keyring is not namespaced */
	"keyctl", "add_key", "request_key",
	/* kernel programs, host-wide observation, kernel-assisted exploits */
	"bpf", "perf_event_open", "userfaultfd", "lookup_dcookie",
	/* hardware and the host's memory, accounting, quotas, log */
	"iopl", "ioperm", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
	"syslog", "vm86", "vm86old",
	/* obsolete interfaces */
	"uselib", "nfsservctl", "_sysctl",
	/* the host clock */
	"clock_settime", "clock_settime64", "settimeofday", "stime",
	"adjtimex", "clock_adjtime", "clock_adjtime64",
};

/* Bits personality(2) may set: PER_LINUX32 (0x0008) and UNAME26 (0x20000).
 * Allowed values, as in Docker's profile: 0x0, 0x8, 0x20000, 0x20008 and
 * 0xffffffff (query). */
#define PERS_OK_BITS 0x20008u

/* Make personality(2) fail with EPERM unless its argument is one of the
 * allowed values. libseccomp cannot AND several comparisons of one argument,
 * so the denied set is a union of single masked compares (OR of rules), each
 * "bit a set and bit b clear" with a outside PERS_OK_BITS: walking the 30
 * other bits in a cycle, any value with some but not all of them set has a
 * set bit followed by a clear one; values with all of them set but not 0xffffffff
 * miss bit 3 or bit 17. Only the low 32 bits count (the kernel takes an int). */
static int seccomp_add_personality(scmp_filter_ctx ctx, struct err *e)
{
	int nr = seccomp_syscall_resolve_name("personality");
	unsigned bits[32], n = 0;

	if (nr == __NR_SCMP_ERROR)
		return 0;
	for (unsigned b = 0; b < 32; b++)
		if (!(PERS_OK_BITS & (1u << b)))
			bits[n++] = b;

	for (unsigned i = 0; i < n + 2; i++) {
		uint32_t set = 1u << bits[i < n ? i : 0];
		uint32_t clear = i < n ? 1u << bits[(i + 1) % n] : i == n ? 0x8u : 0x20000u;
		int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
					 SCMP_A0(SCMP_CMP_MASKED_EQ, set | clear, set));
		if (r < 0)
			return err_sys(e, -r, "seccomp: add the personality rule");
	}
	return 0;
}

/* Build the default filter: native arch plus i386 and x32 on x86_64. */
static int seccomp_build(scmp_filter_ctx ctx, struct err *e)
{
	int r;

	/* no_new_privs is the caller's decision (seccomp_attr_set(3)). */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0)
		return err_sys(e, -r, "seccomp: clear the no_new_privs attribute");
	/* report the kernel's errno from seccomp_load, not -ECANCELED */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	if (r < 0 && r != -EINVAL)
		return err_sys(e, -r, "seccomp: ask for raw error codes");

#if defined(__x86_64__)
	/* The i386 (int 0x80) and x32 ABIs enter the same kernel; filter them
	 * the same way. -EEXIST would mean it is already there. */
	const uint32_t arches[] = { SCMP_ARCH_X86, SCMP_ARCH_X32 };
	for (unsigned i = 0; i < sizeof(arches) / sizeof(arches[0]); i++) {
		r = seccomp_arch_add(ctx, arches[i]);
		if (r < 0 && r != -EEXIST)
			return err_sys(e, -r, "seccomp: add the %s architecture",
				       i == 0 ? "i386" : "x32");
	}
#endif

	for (unsigned i = 0; i < sizeof(seccomp_denied) / sizeof(seccomp_denied[0]); i++) {
		int nr = seccomp_syscall_resolve_name(seccomp_denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* unknown to libseccomp here: nothing to filter */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0)
			return err_sys(e, -r, "seccomp: add the rule for %s", seccomp_denied[i]);
	}
	return seccomp_add_personality(ctx, e);
}

/* Load the default filter into the calling thread (seccomp_load(3)). */
int seccomp_load_default(struct err *e)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return err_set(e, ENOMEM, "seccomp: cannot create a filter context");

	int r = seccomp_build(ctx, e);
	if (r == 0) {
		r = seccomp_load(ctx);
		if (r == -EACCES)
			err_set(e, EACCES, "seccomp: load the filter: permission denied; "
				"the caller needs CAP_SYS_ADMIN in its user namespace "
				"or no_new_privs set");
		else if (r < 0)
			err_sys(e, -r, "seccomp: load the filter");
	}
	seccomp_release(ctx);
	return r;
}
