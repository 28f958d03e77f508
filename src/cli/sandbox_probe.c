/* sandbox_probe.c - hidden verb `berth sandbox-probe --uid N ATTEMPT...`
 * for tests/vm/sandbox.bats: tries, inside the VMM's sandbox
 * (vm/sandbox.h), what a compromised VMM would try, and prints how each
 * attempt ended. Each attempt runs in a child of its own that enters the
 * sandbox (fork itself is refused once inside), so one attempt stopped by
 * seccomp does not hide the others. Attempts:
 *   open:PATH     open PATH for reading
 *   write:PATH    create/open PATH for writing
 *   connect:PATH  connect to the unix socket PATH
 *   ptrace:PID    attach to process PID
 *   exec:PATH     execute PATH
 *   setuid0       become root again
 * Exit status: 0 when every attempt was refused, 1 otherwise. */
#include "cli/cli.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/size.h"
#include "vm/sandbox.h"

/* One attempt, already sandboxed: 0 if it worked, else an errno. */
static int probe_try(const char *a)
{
	const char *arg = strchr(a, ':');
	arg = arg ? arg + 1 : "";
	if (!strncmp(a, "open:", 5)) {
		int fd = open(arg, O_RDONLY | O_CLOEXEC);
		return fd >= 0 ? 0 : errno;
	}
	if (!strncmp(a, "write:", 6)) {
		int fd = open(arg, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		return fd >= 0 ? 0 : errno;
	}
	if (!strncmp(a, "connect:", 8)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", arg);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return errno;
		return connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
	}
	if (!strncmp(a, "ptrace:", 7))
		return ptrace(PTRACE_ATTACH, (pid_t)atoi(arg), 0, 0) == 0 ? 0 : errno;
	if (!strncmp(a, "exec:", 5)) {
		execl(arg, arg, (char *)NULL);
		return errno;
	}
	if (!strcmp(a, "setuid0"))
		return setresuid(0, 0, 0) == 0 ? 0 : errno;
	return -1;
}

/* Run attempt a in a sandboxed child; print its outcome; 1 if it worked. */
static int probe_one(const struct vmm_sandbox *sb, const char *a)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		struct err e = { 0 };
		if (vmm_sandbox_enter(sb, &e) < 0) {
			fprintf(stderr, "sandbox-probe: %s\n", e.msg);
			_exit(125);
		}
		int r = probe_try(a);
		_exit(r < 0 ? 124 : r > 0 && r < 120 ? r : r == 0 ? 0 : 123);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("%s: ALLOWED\n", a);
		return 1;
	}
	if (WIFSIGNALED(status))
		printf("%s: refused (signal %d)\n", a, WTERMSIG(status));
	else if (WEXITSTATUS(status) == 128 + SIGSYS)
		printf("%s: refused (seccomp)\n", a);
	else if (WEXITSTATUS(status) >= 123 && WEXITSTATUS(status) <= 125) {
		printf("%s: probe error %d\n", a, WEXITSTATUS(status));
		return 1;
	} else
		printf("%s: refused (%s)\n", a, strerror(WEXITSTATUS(status)));
	return 0;
}

int cmd_sandbox_probe(int argc, char **argv, struct err *e)
{
	if (argc < 4 || strcmp(argv[1], "--uid"))
		return err_exit(e, EXIT_USAGE, "usage: berth sandbox-probe --uid N ATTEMPT...");
	uint64_t v;
	int r = uint_parse(argv[2], 1, 0xfffffffeu, 0, &v, e);
	if (r < 0)
		return err_wrap(e, "--uid");
	struct vmm_sandbox sb = { .uid = (uid_t)v, .gid = (gid_t)v };
	int allowed = 0;
	for (int i = 3; i < argc; i++)
		allowed += probe_one(&sb, argv[i]);
	fflush(stdout);
	return allowed ? err_exit(e, 1, "%d attempt(s) not refused", allowed) : 0;
}
