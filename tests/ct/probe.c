/* probe.c - a static test program run INSIDE containers by the integration
 * tests to check what the guest can and cannot do.
 *   probe syscalls         every escape syscall must fail with EPERM
 *   probe exe-race SECS    try to open every /proc/N/exe for writing
 *   probe fds              list open fds other than 0,1,2 (must be none)
 * Exit 0 when the guest is confined as expected, 1 otherwise. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct call { const char *name; long nr; long a0, a1, a2; };

static int probe_syscalls(void)
{
	static const struct call calls[] = {
		{ "init_module", SYS_init_module, 0, 0, 0 },
		{ "finit_module", SYS_finit_module, 0, 0, 0 },
		{ "delete_module", SYS_delete_module, (long)"loop", 0, 0 },
		{ "kexec_load", SYS_kexec_load, 0, 0, 0 },
		{ "kexec_file_load", SYS_kexec_file_load, 0, 0, 0 },
		{ "open_by_handle_at", SYS_open_by_handle_at, AT_FDCWD, 0, 0 },
		{ "keyctl", SYS_keyctl, 0, 0, 0 },
		{ "add_key", SYS_add_key, 0, 0, 0 },
		{ "bpf", SYS_bpf, 0, 0, 0 },
		{ "perf_event_open", SYS_perf_event_open, 0, 0, 0 },
		{ "iopl", SYS_iopl, 3, 0, 0 },
		{ "swapon", SYS_swapon, (long)"/dev/null", 0, 0 },
		{ "syslog", SYS_syslog, 3, 0, 0 },
	};
	int bad = 0;
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		errno = 0;
		long r = syscall(calls[i].nr, calls[i].a0, calls[i].a1, calls[i].a2, 0, 0);
		int ok = r == -1 && errno == EPERM;
		printf("%s %s: %s\n", ok ? "blocked" : "ALLOWED", calls[i].name,
		       r == -1 ? strerror(errno) : "succeeded");
		bad |= !ok;
	}
	return bad;
}

static int probe_exe_race(int secs)
{
	time_t end = time(NULL) + secs;
	int opened = 0;
	long tries = 0;
	while (time(NULL) < end) {
		DIR *d = opendir("/proc");
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			char p[64];
			snprintf(p, sizeof(p), "/proc/%s/exe", de->d_name);
			int fd = open(p, O_WRONLY | O_CLOEXEC);
			tries++;
			if (fd >= 0) {
				char target[256] = "";
				readlink(p, target, sizeof(target) - 1);
				printf("OPENED %s -> %s for writing\n", p, target);
				opened++;
				close(fd);
			}
		}
		if (d)
			closedir(d);
	}
	printf("%ld attempts, %d opened for writing\n", tries, opened);
	return opened != 0;
}

static int probe_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int bad = 0;
	while (d && (de = readdir(d))) {
		int fd = atoi(de->d_name);
		if (de->d_name[0] == '.' || fd <= 2 || fd == dirfd(d))
			continue;
		char p[64], target[256] = "";
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		readlink(p, target, sizeof(target) - 1);
		printf("LEAKED fd %d -> %s\n", fd, target);
		bad = 1;
	}
	char cwd[256] = "";
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/") != 0) {
		printf("cwd is '%s', not /\n", cwd);
		bad = 1;
	}
	if (d)
		closedir(d);
	return bad;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "syscalls"))
		return probe_syscalls();
	if (argc >= 3 && !strcmp(argv[1], "exe-race"))
		return probe_exe_race(atoi(argv[2]));
	if (argc >= 2 && !strcmp(argv[1], "fds"))
		return probe_fds();
	fprintf(stderr, "usage: probe syscalls | exe-race SECS | fds\n");
	return 2;
}
