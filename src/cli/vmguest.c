/* vmguest.c - hidden verbs around the VM guest side, for tests and
 * benchmarks: `agent-exec` (drive a guest agent the way `berth exec` does
 * for VMs) and `initramfs` (build a VM's initramfs). */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/agent_client.h"
#include "lib/agent_proto.h"
#include "tpl/initramfs.h"

#define AGENT_EXEC_USAGE "agent-exec (--unix PATH | --vsock SOCK [--port N]) [-t] [-e NAME=VALUE]... -- CMD..."

int cmd_agent_exec(int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		{ "unix", required_argument, NULL, 'u' },
		{ "vsock", required_argument, NULL, 'v' },
		{ "port", required_argument, NULL, 'p' },
		{ "tty", no_argument, NULL, 't' },
		{ "env", required_argument, NULL, 'e' },
		{ 0 },
	};
	const char *unix_path = NULL, *vsock = NULL, *env[AGENT_MAX_ENV + 1];
	unsigned port = AGENT_VSOCK_PORT, nenv = 0;
	int tty = 0, opt, r;
	while ((opt = cli_getopt(argc, argv, "+te:", opts, e)) != -1) {
		if (opt < 0)
			return opt;
		switch (opt) {
		case 'u': unix_path = optarg; break;
		case 'v': vsock = optarg; break;
		case 't': tty = 1; break;
		case 'p': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (end == optarg || *end || v == 0 || v >= 0xffffffffUL || optarg[0] == '-')
				return err_exit(e, EXIT_USAGE, "bad --port '%.40s'", optarg);
			port = (unsigned)v;
			break;
		}
		case 'e':
			if (nenv >= AGENT_MAX_ENV)
				return err_exit(e, EXIT_USAGE, "too many -e (the limit is %d)", AGENT_MAX_ENV);
			env[nenv++] = optarg;
			break;
		}
	}
	env[nenv] = NULL;
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc || !unix_path == !vsock)
		return err_exit(e, EXIT_USAGE, "usage: berth " AGENT_EXEC_USAGE);
	int fd = unix_path ? agent_connect_unix(unix_path, e) : agent_connect_vm(vsock, port, e);
	if (fd < 0)
		return fd;
	int code = 0;
	r = agent_session(fd, argv + optind, env, tty, &code, e);
	close(fd);
	return r < 0 ? r : code;
}

int cmd_initramfs(int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		{ "kernel-release", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "binary", required_argument, NULL, 'b' },
		{ 0 },
	};
	const char *release = NULL, *out = NULL, *binary = "/proc/self/exe";
	int opt, r;
	while ((opt = cli_getopt(argc, argv, "o:", opts, e)) != -1) {
		if (opt < 0)
			return opt;
		if (opt == 'k')
			release = optarg;
		else if (opt == 'o')
			out = optarg;
		else
			binary = optarg;
	}
	if (optind < argc)
		return err_exit(e, EXIT_USAGE, "unexpected argument '%.60s'; usage: berth initramfs "
				"[--kernel-release R] [-o FILE]", argv[optind]);
	char rel[256], path[300];
	if (!release) {
		if ((r = initramfs_newest_release("-cloud-amd64", rel, sizeof(rel), e)) < 0)
			return r;
		release = rel;
	}
	if (!out) {
		snprintf(path, sizeof(path), "initramfs-%s.cpio", release);
		out = path;
	}
	if ((r = initramfs_build(release, binary, out, e)) < 0)
		return r;
	puts(out);
	return 0;
}
