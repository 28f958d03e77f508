/* session.c - relay between the host connection and the command of one
 * EXEC session, in the agent's per-connection process.
 *
 * Memory is bounded both ways: output frames wait in `out` (OUT_CAP) and
 * the command's output is only read while a whole frame fits there, so a
 * host that stops reading stops the command (it blocks on its full pipe or
 * pty); STDIN bytes wait in `in` (IN_CAP) and frames are only taken from
 * the connection while a STDIN frame fits there.
 *
 * End of the session: the command has exited and its output is drained.
 * With pipes that is the bytes queued in them when it exited (FIONREAD):
 * background processes that keep the pipes open cannot hold the session.
 * With a pty (whose output reaches the master asynchronously) it is EIO
 * (no slave left), 100 ms without output, or 3 s after the exit. */
#include "guest/session.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "guest/child.h"

#define OUT_CAP (256 * 1024)
#define IN_CAP (256 * 1024)
#define CHUNK 16384
#define PTY_QUIET_MS 100
#define PTY_DRAIN_MS 3000
#define HUP_GRACE_MS 2000
#define KILL_WAIT_MS 5000

struct buf {
	uint8_t *p;
	size_t off, len, cap;   /* data is p[off..len) */
};

struct session {
	int conn;
	struct child c;
	struct buf rx, out, in;
	int in_eof;             /* the host ended input */
	int exited, code;
	long long exit_ms, quiet_until;
	long left[2];           /* pipes: bytes still to drain after the exit */
	int host_gone;          /* closed, failed or broke the protocol */
	int exit_queued;
};

/* Monotonic time in milliseconds. */
static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Free space at the end of b, after moving its data to the front. */
static size_t buf_room(struct buf *b)
{
	if (b->off) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	return b->cap - b->len;
}

/* Drop n bytes from the front of b. */
static void buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

/* Close *fd if open and mark it closed. */
static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Queue a frame for the host; the caller made sure it fits. */
static void out_frame(struct session *s, uint8_t type, const void *p, uint32_t n)
{
	buf_room(&s->out);
	agent_frame_header(s->out.p + s->out.len, type, n);
	if (n)
		memcpy(s->out.p + s->out.len + AGENT_HDR, p, n);
	s->out.len += AGENT_HDR + n;
}

/* Send what the connection takes now. */
static void flush_out(struct session *s)
{
	while (s->out.len > s->out.off && !s->host_gone) {
		ssize_t w = send(s->conn, s->out.p + s->out.off, s->out.len - s->out.off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) {
			s->host_gone = 1;
			return;
		}
		buf_consume(&s->out, (size_t)w);
	}
}

/* Move output of fd into a frame of type. 1 data, 0 nothing now (or no
 * room), -1 fd closed (end of output). *left (>= 0) caps what is read. */
static int pump_output(struct session *s, int *fd, uint8_t type, long *left)
{
	size_t want = CHUNK;
	if (*left >= 0 && (size_t)*left < want)
		want = (size_t)*left;
	if (want == 0) {
		close_fd(fd);
		return -1;
	}
	if (buf_room(&s->out) < AGENT_HDR + want)
		return 0;
	ssize_t n = read(*fd, s->out.p + s->out.len + AGENT_HDR, want);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) { /* EOF, or EIO: a pty with no slave left */
		close_fd(fd);
		return -1;
	}
	agent_frame_header(s->out.p + s->out.len, type, (uint32_t)n);
	s->out.len += AGENT_HDR + (size_t)n;
	if (*left >= 0)
		*left -= n;
	return 1;
}

/* Feed buffered input to the command; at end of input close its stdin
 * (with a tty: type the EOF character, when the line discipline is canonical). */
static void write_stdin(struct session *s)
{
	int fd = s->c.in_fd;
	while (fd >= 0 && s->in.len > s->in.off) {
		ssize_t w = write(fd, s->in.p + s->in.off, s->in.len - s->in.off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) { /* the command closed its stdin: drop what is left */
			s->in.off = s->in.len = 0;
			close_fd(&s->c.in_fd);
			return;
		}
		buf_consume(&s->in, (size_t)w);
	}
	if (fd >= 0 && s->in_eof) {
		/* the line discipline's settings are the slave's, not the master's */
		int slave = s->c.tty ? ioctl(fd, TIOCGPTPEER, O_RDONLY | O_NOCTTY | O_CLOEXEC) : -1;
		struct termios t;
		if (slave >= 0 && tcgetattr(slave, &t) == 0 && (t.c_lflag & ICANON)) {
			ssize_t w = write(fd, &t.c_cc[VEOF], 1);
			(void)w;
		}
		if (slave >= 0)
			close(slave);
		close_fd(&s->c.in_fd);
	}
}

/* One frame from the host. Unexpected types end the session. */
static void handle_frame(struct session *s, const struct agent_frame *f)
{
	switch (f->type) {
	case AGENT_STDIN:
		if (f->len == 0)
			s->in_eof = 1;
		else if (!s->in_eof && s->c.in_fd >= 0) {
			buf_room(&s->in);
			memcpy(s->in.p + s->in.len, f->payload, f->len);
			s->in.len += f->len;
		}
		break;
	case AGENT_RESIZE:
		if (s->c.tty && s->c.out_fd >= 0) {
			struct winsize ws = {
				.ws_row = (unsigned short)(f->payload[0] | f->payload[1] << 8),
				.ws_col = (unsigned short)(f->payload[2] | f->payload[3] << 8),
			};
			ioctl(s->c.out_fd, TIOCSWINSZ, &ws);
		}
		break;
	case AGENT_SIGNAL: {
		uint32_t sig = agent_get_u32(f->payload);
		if (sig >= 1 && sig < NSIG && !s->exited)
			kill(-s->c.pid, (int)sig);
		break;
	}
	default:
		s->host_gone = 1;
	}
}

/* Take the frames waiting in rx, stopping at a STDIN frame that does not
 * fit the input buffer yet. */
static void process_rx(struct session *s)
{
	while (!s->host_gone) {
		struct agent_frame f;
		int n = agent_frame_parse(s->rx.p + s->rx.off, s->rx.len - s->rx.off, &f);
		if (n < 0)
			s->host_gone = 1;
		if (n <= 0)
			break;
		if (f.type == AGENT_STDIN && f.len && !s->in_eof && s->c.in_fd >= 0 &&
		    buf_room(&s->in) < f.len)
			break;
		handle_frame(s, &f);
		buf_consume(&s->rx, (size_t)n);
	}
}

/* Read what the host sent into rx; EOF or an error means it is gone. */
static void read_host(struct session *s)
{
	if (buf_room(&s->rx) == 0) {
		s->host_gone = 1; /* hung up with a frame we cannot take: nothing left to do */
		return;
	}
	ssize_t n = recv(s->conn, s->rx.p + s->rx.len, s->rx.cap - s->rx.len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		s->host_gone = 1;
		return;
	}
	s->rx.len += (size_t)n;
}

/* The command exited: reap it and note what is left to drain. */
static void child_exited(struct session *s)
{
	int st;
	if (waitpid(s->c.pid, &st, WNOHANG) != s->c.pid)
		return;
	s->exited = 1;
	s->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	s->exit_ms = now_ms();
	s->quiet_until = s->exit_ms + PTY_QUIET_MS;
	if (!s->c.tty) {
		int fds[2] = { s->c.out_fd, s->c.err_fd };
		for (int i = 0; i < 2; i++) {
			int q = 0;
			s->left[i] = fds[i] >= 0 && ioctl(fds[i], FIONREAD, &q) == 0 ? q : 0;
		}
	}
}

/* After the exit: read what remains; 1 while there is more to wait for. */
static int drain(struct session *s, long long now)
{
	int *fds[2] = { &s->c.out_fd, &s->c.err_fd };
	for (int i = 0; i < 2; i++) {
		uint8_t type = i ? AGENT_STDERR : AGENT_STDOUT;
		while (*fds[i] >= 0 && pump_output(s, fds[i], type, &s->left[i]) > 0)
			if (s->c.tty)
				s->quiet_until = now + PTY_QUIET_MS;
		if (*fds[i] < 0 || buf_room(&s->out) < AGENT_HDR + CHUNK)
			continue; /* done, or waiting for the host to take output */
		/* nothing to read now: a pipe is drained; a pty may still get
		 * output in flight from the line discipline */
		if (!s->c.tty || now >= s->quiet_until || now >= s->exit_ms + PTY_DRAIN_MS)
			close_fd(fds[i]);
	}
	return s->c.out_fd >= 0 || s->c.err_fd >= 0;
}

/* The host is gone: hang up on the command, kill it if it lingers, reap. */
static void abandon(struct session *s)
{
	if (s->exited)
		return;
	kill(-s->c.pid, SIGHUP);
	kill(-s->c.pid, SIGCONT);
	struct pollfd p = { .fd = s->c.pidfd, .events = POLLIN };
	if (poll(&p, 1, HUP_GRACE_MS) <= 0) {
		kill(-s->c.pid, SIGKILL);
		kill(s->c.pid, SIGKILL);
		poll(&p, 1, KILL_WAIT_MS); /* stuck in the kernel: init reaps it later */
	}
	child_exited(s);
}

/* The relay loop; returns when the session is over. */
static void session_loop(struct session *s)
{
	for (;;) {
		long long now = now_ms();
		int draining = s->exited && drain(s, now);
		if (s->exited && !draining && !s->exit_queued && buf_room(&s->out) >= AGENT_HDR + 4) {
			uint8_t code[4];
			agent_put_u32(code, (uint32_t)s->code);
			out_frame(s, AGENT_EXIT, code, 4);
			s->exit_queued = 1;
		}
		flush_out(s);
		process_rx(s);
		write_stdin(s);
		/* input may have made room for a STDIN frame waiting in rx; if
		 * one still waits, `in` is not empty and POLLOUT on it wakes us */
		process_rx(s);
		if (s->host_gone) {
			abandon(s);
			return;
		}
		if (s->exit_queued && s->out.len == s->out.off)
			return;

		int room = buf_room(&s->out) >= AGENT_HDR + CHUNK;
		struct pollfd p[5] = {
			{ .fd = s->conn, .events = (short)((s->exit_queued ? 0 : POLLIN) |
							  (s->out.len > s->out.off ? POLLOUT : 0)) },
			{ .fd = (!s->exited || s->c.tty) && room ? s->c.out_fd : -1, .events = POLLIN },
			{ .fd = !s->exited && room ? s->c.err_fd : -1, .events = POLLIN },
			{ .fd = s->in.len > s->in.off ? s->c.in_fd : -1, .events = POLLOUT },
			{ .fd = s->exited ? -1 : s->c.pidfd, .events = POLLIN },
		};
		if (buf_room(&s->rx) == 0)
			p[0].events &= (short)~POLLIN;
		int timeout = -1;
		if (draining && s->c.tty && room) {
			long long end = s->quiet_until < s->exit_ms + PTY_DRAIN_MS ?
				s->quiet_until : s->exit_ms + PTY_DRAIN_MS;
			timeout = end > now ? (int)(end - now) : 0;
		}
		if (poll(p, 5, timeout) < 0) {
			if (errno == EINTR)
				continue;
			s->host_gone = 1;
			continue;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
			read_host(s);
		for (int i = 1; i <= 2; i++)
			if (p[i].revents) {
				int *fd = i == 1 ? &s->c.out_fd : &s->c.err_fd;
				long unlimited = -1;
				if (pump_output(s, fd, i == 1 ? AGENT_STDOUT : AGENT_STDERR, &unlimited) > 0 &&
				    s->exited)
					s->quiet_until = now_ms() + PTY_QUIET_MS;
			}
		if (p[4].revents & POLLIN)
			child_exited(s);
	}
}

void session_run(int conn, const struct agent_exec *x, uint8_t *rx, size_t rx_len)
{
	struct err e = { 0 };
	struct session *s = calloc(1, sizeof(*s));
	uint8_t *out = malloc(OUT_CAP), *in = malloc(IN_CAP);
	if (!s || !out || !in) {
		agent_send(conn, AGENT_ERROR, "out of memory in the guest agent", 32);
		goto done;
	}
	if (child_spawn(x, &s->c, &e) < 0) {
		agent_send(conn, AGENT_ERROR, e.msg, (uint32_t)strlen(e.msg));
		goto done;
	}
	s->conn = conn;
	s->rx = (struct buf){ .p = rx, .len = rx_len, .cap = SESSION_RX_CAP };
	s->out = (struct buf){ .p = out, .cap = OUT_CAP };
	s->in = (struct buf){ .p = in, .cap = IN_CAP };
	s->left[0] = s->left[1] = -1;
	uint8_t pid[4];
	agent_put_u32(pid, (uint32_t)s->c.pid);
	out_frame(s, AGENT_STARTED, pid, 4);
	session_loop(s);
	child_close(&s->c);
done:
	free(s);
	free(out);
	free(in);
}
