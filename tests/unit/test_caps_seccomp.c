/* test_caps_seccomp.c - the capability drop and the default seccomp filter,
 * each exercised in a forked child so the test process keeps its privileges. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ct/caps.h"
#include "ct/seccomp.h"

/* In the child: on failure print the line and exit with a non-zero code. */
#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "child check failed at line %d: %s (errno %d)\n", \
			__LINE__, #cond, errno); \
		_exit(1); \
	} \
} while (0)

#define EPERM_CALL(call) do { errno = 0; long r_ = (long)(call); CHECK(r_ == -1 && errno == EPERM); } while (0)

/* Run fn in a forked child and assert that it exited 0. */
static void in_child(void (*fn)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* One capability-set line of /proc/self/status ("CapEff:\t...") as a mask. */
static uint64_t status_caps(const char *field)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	uint64_t v = UINT64_MAX;
	size_t n = strlen(field);
	CHECK(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			v = strtoull(line + n + 1, NULL, 16);
	fclose(f);
	CHECK(v != UINT64_MAX);
	return v;
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int v = CAP_LAST_CAP;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = CAP_LAST_CAP;
		fclose(f);
	}
	return v;
}

/* After the drop: dropped caps gone from every set, the kept ones still there. */
static void check_caps_dropped(void)
{
	int last = last_cap();
	uint64_t dropped = 0;
	for (unsigned i = 0; i < caps_dropped_count; i++) {
		if (caps_dropped[i] > last)
			continue;
		dropped |= 1ull << caps_dropped[i];
		CHECK(prctl(PR_CAPBSET_READ, caps_dropped[i], 0, 0, 0) == 0);
	}
	CHECK(prctl(PR_CAPBSET_READ, CAP_SYS_MODULE, 0, 0, 0) == 0);
	CHECK(prctl(PR_CAPBSET_READ, CAP_SYS_BOOT, 0, 0, 0) == 1);
	CHECK(prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 1);
	CHECK(prctl(PR_CAPBSET_READ, CAP_SETPCAP, 0, 0, 0) == 1);
	if (last >= 40) /* CAP_CHECKPOINT_RESTORE: kept for CRIU */
		CHECK(prctl(PR_CAPBSET_READ, 40, 0, 0, 0) == 1);
	if (last >= 39) /* the newest ones are in the list */
		CHECK(dropped & (1ull << 39));

	uint64_t eff = status_caps("CapEff"), prm = status_caps("CapPrm");
	CHECK((eff & dropped) == 0);
	CHECK((prm & dropped) == 0);
	CHECK((status_caps("CapInh") & dropped) == 0);
	CHECK((status_caps("CapBnd") & dropped) == 0);
	CHECK(status_caps("CapAmb") == 0);
	CHECK(!(eff & (1ull << CAP_SYS_MODULE)));
	CHECK(eff & (1ull << CAP_SYS_BOOT));
	CHECK(eff & (1ull << CAP_SYS_ADMIN));
}

static void child_caps_host(void)
{
	struct err e = { 0 };
	if (caps_drop_bounding(&e) < 0) {
		fprintf(stderr, "caps_drop_bounding: %s\n", e.msg);
		_exit(1);
	}
	check_caps_dropped();
	/* idempotent: a second drop (exec of a guest process) still works */
	CHECK(caps_drop_bounding(&e) == 0);
}

/* As the brief for spawn has it: uid 0 of a fresh user namespace, then
 * execve keeps the dropped capabilities out (the new process's sets are
 * computed from the bounding set). */
static void child_caps_userns(void)
{
	struct err e = { 0 };
	CHECK(unshare(CLONE_NEWUSER) == 0);
	int fd = open("/proc/self/uid_map", O_WRONLY);
	CHECK(fd >= 0 && write(fd, "0 0 1\n", 6) == 6);
	close(fd);
	if (caps_drop_bounding(&e) < 0) {
		fprintf(stderr, "caps_drop_bounding in a user namespace: %s\n", e.msg);
		_exit(1);
	}
	check_caps_dropped();
	/* re-exec this test binary in check mode to look at the sets after execve */
	execl("/proc/self/exe", "test_caps_seccomp", "--check-caps-after-exec", (char *)NULL);
	_exit(2);
}

static void test_caps_drop(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	in_child(child_caps_host);
	in_child(child_caps_userns);
	assert_true(caps_dropped_count >= 13);
}

static int have_ia32;   /* the kernel runs i386 code (probed in main) */

#if defined(__x86_64__)
/* An i386-ABI system call from a 64-bit process (int 0x80: eax, ebx, ecx, edx). */
static long int80(long nr, long a, long b, long c)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c)
			 : "memory", "r8", "r9", "r10", "r11");
	return r;
}
#endif

static void child_seccomp(void)
{
	struct err e = { 0 };
	if (geteuid() != 0)   /* without CAP_SYS_ADMIN the kernel wants no_new_privs */
		CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	int nnp_before = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	if (seccomp_load_default(&e) < 0) {
		fprintf(stderr, "seccomp_load_default: %s\n", e.msg);
		_exit(1);
	}
	/* the filter does not set no_new_privs by itself */
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == nnp_before);

	EPERM_CALL(syscall(SYS_kexec_load, 0, 0, NULL, 0));
	EPERM_CALL(syscall(SYS_init_module, NULL, 0, ""));
	EPERM_CALL(syscall(SYS_finit_module, -1, "", 0));
	EPERM_CALL(syscall(SYS_delete_module, "nonexistent", 0));
	EPERM_CALL(syscall(SYS_keyctl, 0, 0, 0, 0, 0));
	EPERM_CALL(syscall(SYS_add_key, "user", "x", "y", 1, 0));
	EPERM_CALL(syscall(SYS_bpf, 0, NULL, 0));
	EPERM_CALL(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
	EPERM_CALL(syscall(SYS_userfaultfd, 0));
	EPERM_CALL(syscall(SYS_open_by_handle_at, -1, NULL, 0));
	EPERM_CALL(syscall(SYS_iopl, 0));
	EPERM_CALL(syscall(SYS_syslog, 10, NULL, 0));
	EPERM_CALL(syscall(SYS_settimeofday, NULL, NULL));   /* glibc derefs tv */
	struct timex tx = { .modes = 0 };
	EPERM_CALL(adjtimex(&tx));

	/* still allowed */
	CHECK(getpid() == syscall(SYS_getpid));
	errno = 0;
	CHECK(syscall(SYS_name_to_handle_at, -1, NULL, NULL, NULL, 0) == -1 && errno != EPERM);

	/* personality: Docker's allowed values pass, anything else is EPERM */
	CHECK(personality(0xffffffff) >= 0);
	CHECK(personality(PER_LINUX32) >= 0);
	CHECK(personality(UNAME26) >= 0);
	CHECK(personality(PER_LINUX32 | UNAME26) >= 0);
	CHECK(personality(PER_LINUX) >= 0);
	CHECK((unsigned)personality(0xffffffff) == PER_LINUX);
	EPERM_CALL(personality(PER_BSD));
	EPERM_CALL(personality(ADDR_NO_RANDOMIZE));
	EPERM_CALL(personality(READ_IMPLIES_EXEC));
	for (unsigned b = 0; b < 32; b++) {   /* the edges of the rule set */
		unsigned one = 1u << b, all_but = ~(1u << b);
		if (one != PER_LINUX32 && one != UNAME26)
			EPERM_CALL(personality(one));
		EPERM_CALL(personality(all_but));
		EPERM_CALL(personality(all_but & ~0x20008u));
	}
	srand(1);
	for (int i = 0; i < 5000; i++) {
		unsigned v = ((unsigned)rand() << 16) ^ (unsigned)rand();
		if (v & ~0x20008u && v != 0xffffffff)
			EPERM_CALL(personality(v));
	}
	CHECK((unsigned)personality(0xffffffff) == PER_LINUX);

#if defined(__x86_64__)
	/* x32 ABI (syscall number | 0x40000000): filtered whether or not the
	 * kernel has x32 (seccomp runs before the dispatch). 175 = init_module. */
	EPERM_CALL(syscall(0x40000000 | 175, NULL, 0, ""));
	/* i386 ABI through int 0x80: 128 = init_module, 283 = kexec_load,
	 * 166 = vm86, 20 = getpid. Skipped without IA32 emulation. */
	if (have_ia32) {
		CHECK(int80(128, 0, 0, 0) == -EPERM);
		CHECK(int80(283, 0, 0, 0) == -EPERM);
		CHECK(int80(166, 0, 0, 0) == -EPERM);
		CHECK(int80(20, 0, 0, 0) == getpid());
	}
#endif
	/* user namespaces stay allowed (systemd uses them) */
	CHECK(unshare(CLONE_NEWUSER) == 0);
}

static void test_seccomp_default(void **state)
{
	(void)state;
	in_child(child_seccomp);
}

#if defined(__x86_64__)
/* Does this kernel run i386 code (IA32 emulation)? Probe in a child: without
 * it int 0x80 faults. */
static void child_int80_probe(void)
{
	CHECK(int80(20, 0, 0, 0) == getpid());
}
#endif

static int ia32_works(void)
{
#if defined(__x86_64__)
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		child_int80_probe();
		_exit(0);
	}
	int status;
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
#else
	return 1;
#endif
}

/* --check-caps-after-exec: the sets a freshly exec'd uid 0 gets. */
static int check_after_exec(void)
{
	check_caps_dropped();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--check-caps-after-exec") == 0)
		return check_after_exec();
	have_ia32 = ia32_works();
	if (!have_ia32)
		fprintf(stderr, "# note: no IA32 emulation; the i386 checks are skipped\n");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps_drop),
		cmocka_unit_test(test_seccomp_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
