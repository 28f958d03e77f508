/* agent.c - the guest agent's listener: accept connections (vsock from the
 * host, or a unix socket in tests), serve each in its own process, reap
 * them, and watch the power key. Also the hidden verb `berth agent`. */
#include "guest/agent.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "cli/cli.h"
#include "guest/power.h"
#include "guest/session.h"
#include "lib/agent_proto.h"

#define MAX_HANDLERS 128      /* connections served at once */
#define MAX_KEYS 8            /* power key devices watched */
#define FIRST_FRAME_MS 10000  /* a connection must send its request this fast */
#define LINGER_MS 2000        /* how long a finished connection waits for the host to close */

static int listen_vsock(unsigned port, struct err *e)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(e, errno, "vsock socket (is the vsock module loaded?)");
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port };
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
		int r = err_sys(e, errno, "listen on vsock port %u", port);
		close(fd);
		return r;
	}
	return fd;
}

/* Tests: listen on a unix socket only root can reach (0600). */
static int listen_unix(const char *path, struct err *e)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a.sun_path))
		return err_exit(e, EXIT_USAGE, "socket path '%.60s...' is too long", path);
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(e, errno, "unix socket");
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path); /* a stale socket of an earlier agent */
	mode_t old = umask(0077);
	int r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0 || listen(fd, 16) < 0) {
		r = err_sys(e, errno, "listen on %s", path);
		close(fd);
		return r;
	}
	return fd;
}

/* Only the host may use the agent: a vsock peer must be CID 2 (guest
 * processes reach the listener through vsock loopback with other CIDs). */
static int peer_is_host(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family != AF_VSOCK)
		return ss.ss_family == AF_UNIX;
	return ((struct sockaddr_vm *)&ss)->svm_cid == VMADDR_CID_HOST;
}

/* Read the first frame within FIRST_FRAME_MS into rx; its size, or -1. */
static int read_first(int fd, uint8_t *rx, size_t *rx_len, struct agent_frame *f)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int n = agent_frame_parse(rx, *rx_len, f);
		if (n != 0)
			return n;
		clock_gettime(CLOCK_MONOTONIC, &t);
		long ms = FIRST_FRAME_MS - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (ms <= 0 || poll(&p, 1, (int)ms) <= 0)
			return -1;
		ssize_t r = recv(fd, rx + *rx_len, SESSION_RX_CAP - *rx_len, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (r > 0)
			*rx_len += (size_t)r;
	}
}

/* Answer a request with an ERROR frame carrying msg. */
static void send_error(int fd, const char *msg)
{
	agent_send(fd, AGENT_ERROR, msg, (uint32_t)strlen(msg));
}

/* Serve one connection (in its own process). */
static void agent_handle(int fd, const struct agent_opts *o)
{
	struct timeval tv = { .tv_sec = 10 }; /* replies never wait forever on the host */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	uint8_t *rx = malloc(SESSION_RX_CAP);
	size_t rx_len = 0;
	struct agent_frame f;
	int n;
	if (!rx || (n = read_first(fd, rx, &rx_len, &f)) < 0) {
		free(rx);
		return;
	}
	struct err e = { 0 };
	struct agent_exec x;
	switch (f.type) {
	case AGENT_PING:
		agent_send(fd, AGENT_PONG, NULL, 0);
		break;
	case AGENT_POWEROFF:
		if (o->unix_path)
			send_error(fd, "poweroff is served only to a VM's host (over vsock)");
		else if (power_request(&e) < 0)
			send_error(fd, e.msg);
		else
			agent_send(fd, AGENT_OK, NULL, 0);
		break;
	case AGENT_EXEC:
		if (agent_exec_parse(f.payload, f.len, &x, &e) < 0) {
			char msg[600];
			snprintf(msg, sizeof(msg), "bad request: %s", e.msg);
			send_error(fd, msg);
			break;
		}
		memmove(rx, rx + n, rx_len - (size_t)n);
		session_run(fd, &x, rx, rx_len - (size_t)n);
		agent_exec_free(&x);
		break;
	default:
		break; /* not a request: drop the connection */
	}
	free(rx);
}

/* Close a connection after its last frame: end our side, then wait (at
 * most LINGER_MS) for the host to close, so that input it still sends
 * cannot make the transport reset the connection before it has read
 * everything. */
static void linger_close(int fd)
{
	shutdown(fd, SHUT_WR);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char buf[4096];
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long ms = LINGER_MS - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (ms <= 0 || poll(&p, 1, (int)ms) <= 0)
			break;
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			break;
	}
	close(fd);
}

/* Make sure fds 0-2 are open, so no socket or pipe of ours lands there. */
static void stdio_fill(void)
{
	for (int i = 0; i < 3; i++)
		if (fcntl(i, F_GETFD) < 0 && open("/dev/null", O_RDWR) != i)
			return;
}

/* A power key was pressed: power off, unless systemd-logind handles it. */
static void power_key(void)
{
	struct err e = { 0 };
	if (!power_key_is_logind())
		power_request(&e);
}

int agent_serve(const struct agent_opts *o, struct err *e)
{
	stdio_fill();
	signal(SIGPIPE, SIG_IGN);
	int lfd = o->unix_path ? listen_unix(o->unix_path, e) : listen_vsock(o->vsock_port, e);
	if (lfd < 0)
		return lfd;
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		close(lfd);
		return err_sys(e, errno, "signalfd");
	}
	int keys[MAX_KEYS], nkeys = o->unix_path ? 0 : powerkey_open(keys, MAX_KEYS);
	int handlers = 0;
	for (;;) {
		struct pollfd p[2 + MAX_KEYS] = {
			{ .fd = handlers < MAX_HANDLERS ? lfd : -1, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		for (int i = 0; i < nkeys; i++)
			p[2 + i] = (struct pollfd){ .fd = keys[i], .events = POLLIN };
		if (poll(p, (nfds_t)(2 + nkeys), -1) < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(e, errno, "poll");
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) > 0)
				;
			while (waitpid(-1, NULL, WNOHANG) > 0)
				handlers--;
		}
		for (int i = 0; i < nkeys; i++) {
			if (!p[2 + i].revents)
				continue;
			int r = powerkey_pressed(keys[i]);
			if (r > 0)
				power_key();
			if (r < 0) { /* the device went away */
				close(keys[i]);
				keys[i] = keys[--nkeys];
				break;
			}
		}
		if (!(p[0].revents & POLLIN))
			continue;
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
				usleep(100 * 1000); /* out of fds or memory: do not spin */
			continue;
		}
		if (!peer_is_host(c)) {
			close(c);
			continue;
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(lfd);
			close(sfd);
			for (int i = 0; i < nkeys; i++)
				close(keys[i]);
			sigprocmask(SIG_UNBLOCK, &chld, NULL);
			agent_handle(c, o);
			linger_close(c);
			_exit(0);
		}
		if (pid > 0)
			handlers++;
		close(c);
	}
}

int cmd_agent(int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		{ "vsock-port", required_argument, NULL, 'p' },
		{ "unix", required_argument, NULL, 'u' },
		{ 0 },
	};
	struct agent_opts o = { .vsock_port = AGENT_VSOCK_PORT };
	int opt;
	while ((opt = cli_getopt(argc, argv, "", opts, e)) != -1) {
		if (opt < 0)
			return opt;
		if (opt == 'u') {
			o.unix_path = optarg;
		} else {
			char *end;
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || v == 0 || v >= 0xffffffffUL || optarg[0] == '-')
				return err_exit(e, EXIT_USAGE, "bad --vsock-port '%.40s'; give 1..4294967294", optarg);
			o.vsock_port = (unsigned)v;
		}
	}
	if (optind < argc)
		return err_exit(e, EXIT_USAGE, "unexpected argument '%.60s'; usage: berth agent [--vsock-port N] [--unix PATH]",
				argv[optind]);
	return agent_serve(&o, e);
}
