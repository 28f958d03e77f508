/* agent_client.c - host side of the guest agent protocol: connect, send
 * EXEC, relay stdio, signals and window size, return the exit code. */
#include "cli/agent_client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lib/agent_proto.h"

#define CHUNK 16384
#define TX_CAP (2 * (AGENT_HDR + CHUNK))
#define TX_SPARE 64          /* kept free for RESIZE and SIGNAL frames */
#define CONNECT_TIMEOUT_MS 5000

/* A stream connection to the unix socket at path. */
static int unix_connect(const char *path, struct err *e)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a.sun_path))
		return err_exit(e, EXIT_USAGE, "socket path '%.60s...' is too long", path);
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(e, errno, "unix socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int r = err_sys(e, errno, "connect to %s", path);
		close(fd);
		return r;
	}
	return fd;
}

int agent_connect_unix(const char *path, struct err *e)
{
	int fd = unix_connect(path, e);
	if (fd < 0)
		err_wrap(e, "reach the guest agent (is 'berth agent --unix %s' running?)", path);
	return fd;
}

/* Read one line ("OK 1073741824\n") byte by byte, so that no frame byte
 * after it is consumed; within CONNECT_TIMEOUT_MS. */
static int read_line(int fd, char *line, size_t len)
{
	size_t n = 0;
	while (n + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, CONNECT_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		ssize_t r = read(fd, line + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ECONNRESET;
		if (line[n] == '\n') {
			line[n] = '\0';
			return 0;
		}
		n++;
	}
	return -EPROTO;
}

int agent_connect_vm(const char *vsock_sock_path, unsigned port, struct err *e)
{
	int fd = unix_connect(vsock_sock_path, e);
	if (fd < 0)
		return err_wrap(e, "reach the VM's vsock device (is the VM running?)");
	char req[32], line[64];
	int n = snprintf(req, sizeof(req), "CONNECT %u\n", port);
	int r = send(fd, req, (size_t)n, MSG_NOSIGNAL) == n ? read_line(fd, line, sizeof(line)) : -errno;
	if (r == 0 && (strncmp(line, "OK ", 3) != 0 || !line[3] || strspn(line + 3, "0123456789") != strlen(line + 3)))
		r = -EPROTO;
	if (r < 0) {
		close(fd);
		return err_set(e, r == -ETIMEDOUT ? ETIMEDOUT : ECONNREFUSED,
			       "the VM's agent does not answer on vsock port %u (is the guest up? its agent "
			       "starts with berth init)", port);
	}
	return fd;
}

/* The state of one session. */
struct client {
	int fd;
	uint8_t *rx;
	size_t rx_len;
	uint8_t tx[TX_CAP];
	size_t tx_len;
	int started, done, code;
	int tx_dead;             /* the agent stopped reading */
};

/* Queue a frame for the agent. */
static void tx_frame(struct client *c, uint8_t type, const void *p, uint32_t n)
{
	if (c->tx_dead || c->tx_len + AGENT_HDR + n > TX_CAP)
		return; /* only control frames get here, and TX_SPARE keeps room for them */
	agent_frame_header(c->tx + c->tx_len, type, n);
	if (n)
		memcpy(c->tx + c->tx_len + AGENT_HDR, p, n);
	c->tx_len += AGENT_HDR + n;
}

/* Send what the connection takes now. When the agent no longer reads
 * (the session ended), input is dropped: what it sent last (EXIT) is
 * still to be read. */
static void tx_flush(struct client *c)
{
	while (c->tx_len && !c->tx_dead) {
		ssize_t w = send(c->fd, c->tx, c->tx_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w < 0) {
			c->tx_dead = 1;
			c->tx_len = 0;
			return;
		}
		memmove(c->tx, c->tx + w, c->tx_len - (size_t)w);
		c->tx_len -= (size_t)w;
	}
}

/* Write all of p to fd (our stdout or stderr), waiting when it is non-blocking. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd q = { .fd = fd, .events = POLLOUT };
			poll(&q, 1, -1);
			continue;
		}
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The window size of our terminal: stdin's, else stdout's or stderr's. */
static int get_winsize(struct winsize *ws)
{
	for (int fd = 0; fd < 3; fd++)
		if (ioctl(fd, TIOCGWINSZ, ws) == 0 && ws->ws_row && ws->ws_col)
			return 0;
	return -1;
}

/* Queue a RESIZE with our terminal's size. */
static void send_winsize(struct client *c)
{
	struct winsize ws;
	if (get_winsize(&ws) < 0)
		return;
	uint8_t p[4] = { (uint8_t)ws.ws_row, (uint8_t)(ws.ws_row >> 8), (uint8_t)ws.ws_col,
			 (uint8_t)(ws.ws_col >> 8) };
	tx_frame(c, AGENT_RESIZE, p, 4);
}

/* The agent could not start the command: its message (untrusted, so
 * printable characters only) becomes the error. */
static int agent_error(const struct agent_frame *f, struct err *e)
{
	char msg[300];
	size_t n = f->len < sizeof(msg) - 1 ? f->len : sizeof(msg) - 1;
	for (size_t i = 0; i < n; i++)
		msg[i] = f->payload[i] >= 0x20 && f->payload[i] < 0x7f ? (char)f->payload[i] : '?';
	msg[n] = '\0';
	return err_exit(e, 127, "%s", n ? msg : "the guest agent could not run the command");
}

/* Act on one frame from the agent. */
static int handle_frame(struct client *c, const struct agent_frame *f, struct err *e)
{
	switch (f->type) {
	case AGENT_STARTED:
		if (c->started)
			break;
		c->started = 1;
		return 0;
	case AGENT_STDOUT:
	case AGENT_STDERR:
		if (!c->started)
			break;
		if (write_all(f->type == AGENT_STDOUT ? STDOUT_FILENO : STDERR_FILENO, f->payload, f->len) < 0)
			return err_sys(e, errno, "write the command's output");
		return 0;
	case AGENT_EXIT: {
		uint32_t v = agent_get_u32(f->payload);
		if (!c->started || v > 255)
			break;
		c->code = (int)v;
		c->done = 1;
		return 0;
	}
	case AGENT_ERROR:
		if (c->started)
			break;
		c->code = 127;
		return agent_error(f, e);
	default:
		break;
	}
	return err_set(e, EPROTO, "the guest agent sent an unexpected frame (type %u); dropped the connection",
		       f->type);
}

/* Read from the agent and act on every whole frame. */
static int read_agent(struct client *c, struct err *e)
{
	ssize_t n = recv(c->fd, c->rx + c->rx_len, AGENT_HDR + AGENT_MAX_PAYLOAD - c->rx_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0)
		return err_sys(e, errno, "read from the guest agent");
	if (n == 0)
		return err_set(e, ECONNRESET, "the guest agent closed the connection before the command ended");
	c->rx_len += (size_t)n;
	size_t off = 0;
	while (!c->done) {
		struct agent_frame f;
		int r = agent_frame_parse(c->rx + off, c->rx_len - off, &f);
		if (r == -EPROTO)
			return err_set(e, EPROTO, "the guest agent sent a malformed frame (type %u, length %u); "
				       "dropped the connection", c->rx[off], agent_get_u32(c->rx + off + 1));
		if (r == 0)
			break;
		off += (size_t)r;
		if ((r = handle_frame(c, &f, e)) < 0)
			return r;
	}
	memmove(c->rx, c->rx + off, c->rx_len - off);
	c->rx_len -= off;
	return 0;
}

/* Our stdin: a chunk becomes a STDIN frame; its end an empty one. */
static void read_stdin(struct client *c, int *open)
{
	uint8_t buf[CHUNK];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		*open = 0;
		tx_frame(c, AGENT_STDIN, NULL, 0);
		return;
	}
	tx_frame(c, AGENT_STDIN, buf, (uint32_t)n);
}

/* SIGINT and SIGQUIT are passed on to the command, SIGWINCH means a
 * RESIZE; SIGTERM and SIGHUP end the session (returned: closing the
 * connection makes the agent hang up on the command). */
static int signal_frame(struct client *c, int sfd, int tty)
{
	struct signalfd_siginfo si;
	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGHUP)
			return (int)si.ssi_signo;
		if (si.ssi_signo == SIGWINCH) {
			if (tty)
				send_winsize(c);
			continue;
		}
		uint8_t p[4];
		agent_put_u32(p, si.ssi_signo);
		tx_frame(c, AGENT_SIGNAL, p, 4);
	}
	return 0;
}

/* Relay until EXIT (0), ERROR or a failure (-errno, e set). */
static int session_loop(struct client *c, int sfd, int tty, struct err *e)
{
	int in_open = 1, r;
	while (!c->done) {
		tx_flush(c);
		struct pollfd p[3] = {
			{ .fd = c->fd, .events = (short)(POLLIN | (c->tx_len ? POLLOUT : 0)) },
			{ .fd = in_open && !c->tx_dead && c->tx_len + AGENT_HDR + CHUNK + TX_SPARE <= TX_CAP ?
				STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(e, errno, "poll");
		}
		int sig = p[2].revents & POLLIN ? signal_frame(c, sfd, tty) : 0;
		if (sig)
			return err_exit(e, 128 + sig, "%s; the command in the guest is hung up on",
					strsignal(sig));
		if (p[1].revents)
			read_stdin(c, &in_open);
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
			if ((r = read_agent(c, e)) < 0)
				return r;
	}
	return 0;
}

int agent_session(int fd, char *const argv[], const char *const env[], int tty, int *exit_code,
		  struct err *e)
{
	struct agent_exec x = { .tty = tty };
	size_t i;
	for (i = 0; argv[i]; i++) {
		if (i >= AGENT_MAX_ARGS)
			return err_exit(e, EXIT_USAGE, "too many arguments (the limit is %d)", AGENT_MAX_ARGS);
		x.argv[i] = argv[i];
	}
	for (i = 0; env && env[i]; i++) {
		if (i >= AGENT_MAX_ENV)
			return err_exit(e, EXIT_USAGE, "too many environment entries (the limit is %d)", AGENT_MAX_ENV);
		x.env[i] = env[i];
	}
	const char *term = getenv("TERM");
	if (tty && term && strlen(term) < AGENT_MAX_TERM)
		x.term = term;
	struct winsize ws;
	if (tty && get_winsize(&ws) == 0) {
		x.rows = ws.ws_row;
		x.cols = ws.ws_col;
	}
	char *json;
	size_t len;
	int r = agent_exec_encode(&x, &json, &len, e);
	if (r < 0)
		return r;
	r = agent_send(fd, AGENT_EXEC, json, (uint32_t)len);
	free(json);
	if (r < 0)
		return err_sys(e, -r, "send the command to the guest agent");

	struct client *c = calloc(1, sizeof(*c));
	if (c)
		c->rx = malloc(AGENT_HDR + AGENT_MAX_PAYLOAD);
	if (!c || !c->rx) {
		free(c);
		return err_set(e, ENOMEM, "out of memory");
	}
	c->fd = fd;
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, &old);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	struct termios saved;
	int raw = tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	r = sfd < 0 ? err_sys(e, errno, "signalfd") : session_loop(c, sfd, tty, e);
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	fcntl(fd, F_SETFL, fl);
	*exit_code = c->code;
	free(c->rx);
	free(c);
	return r;
}
