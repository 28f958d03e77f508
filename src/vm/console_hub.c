/* console_hub.c - a VM guest's console in its monitor (see console_hub.h). */
#include "vm/console_hub.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int hub_listen(struct console_hub *h, const char *path, struct err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path) || strlen(path) >= sizeof(h->sock_path))
		return err_set(e, ENAMETOOLONG, "console socket path %s is too long; use a shorter BERTH_RUN",
			       path);
	strcpy(sa.sun_path, path);
	strcpy(h->sock_path, path);
	h->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (h->listen_fd < 0)
		return err_sys(e, errno, "socket");
	unlink(path);   /* left by a monitor that was killed */
	mode_t old = umask(0177);
	int r = bind(h->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(h->listen_fd, 2) < 0)
		return err_sys(e, errno, "listen on %s", path);
	return 0;
}

static int hub_log_open(struct console_hub *h)
{
	h->log_fd = open(h->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	struct stat st;
	h->log_size = h->log_fd >= 0 && fstat(h->log_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	if (h->log_fd >= 0) {   /* the monitor's own messages follow the log */
		dup2(h->log_fd, STDOUT_FILENO);
		dup2(h->log_fd, STDERR_FILENO);
	}
	return h->log_fd;
}

int console_hub_open(struct console_hub *h, const char *sock_path, const char *log_path,
		     const char *log_old, struct err *e)
{
	memset(h, 0, sizeof(*h));
	h->out_r = h->out_w = h->in_r = h->in_w = h->listen_fd = h->client = h->log_fd = -1;
	snprintf(h->log_path, sizeof(h->log_path), "%s", log_path);
	snprintf(h->log_old, sizeof(h->log_old), "%s", log_old);
	int out[2], in[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return err_sys(e, errno, "console pipe");
	h->out_r = out[0];
	h->out_w = out[1];
	if (pipe2(in, O_CLOEXEC) < 0) {
		console_hub_close(h);
		return err_sys(e, errno, "console pipe");
	}
	h->in_r = in[0];
	h->in_w = in[1];
	/* the monitor never blocks on the guest: input beyond what the
	 * pipe holds is dropped, as a UART would */
	fcntl(h->in_w, F_SETFL, O_NONBLOCK);
	fcntl(h->out_r, F_SETFL, O_NONBLOCK);
	int r = hub_listen(h, sock_path, e);
	if (r == 0 && hub_log_open(h) < 0)
		r = err_sys(e, errno, "open %s", log_path);
	if (r < 0)
		console_hub_close(h);
	return r;
}

void console_hub_child(struct console_hub *h)
{
	dup2(h->in_r, STDIN_FILENO);
	dup2(h->out_w, STDOUT_FILENO);
	dup2(h->out_w, STDERR_FILENO);
	/* dup2'd descriptors do not inherit O_CLOEXEC; the originals go */
	close_fd(&h->in_r);
	close_fd(&h->out_w);
	close_fd(&h->in_w);
	close_fd(&h->out_r);
	close_fd(&h->listen_fd);
	close_fd(&h->client);
	close_fd(&h->log_fd);
}

void console_hub_parent(struct console_hub *h)
{
	close_fd(&h->in_r);
	close_fd(&h->out_w);
}

void console_hub_pollfds(const struct console_hub *h, struct pollfd *p)
{
	p[0] = (struct pollfd){ .fd = h->out_r, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = h->listen_fd, .events = POLLIN };
	p[2] = (struct pollfd){ .fd = h->client, .events = POLLIN };
}

/* Append to console.log, rotating past CONSOLE_HUB_LOG_MAX. */
static void hub_log(struct console_hub *h, const char *buf, size_t n)
{
	if (h->log_fd >= 0 && h->log_size + n > CONSOLE_HUB_LOG_MAX) {
		close_fd(&h->log_fd);
		rename(h->log_path, h->log_old);
		hub_log_open(h);
	}
	if (h->log_fd >= 0 && write(h->log_fd, buf, n) > 0)
		h->log_size += n;
}

static void hub_drop_client(struct console_hub *h)
{
	close_fd(&h->client);
	h->client_ok = 0;
	h->reqlen = 0;
}

static void hub_say(int fd, const char *line)
{
	if (send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* the client went away; nothing to tell it */
	}
}

/* Guest output: to the log, and to the client when one is attached (a
 * client that cannot keep up loses output rather than stalling the guest). */
static void hub_output(struct console_hub *h)
{
	char buf[4096];
	ssize_t n = read(h->out_r, buf, sizeof(buf));
	if (n <= 0) {
		if (n == 0)
			close_fd(&h->out_r);   /* the VMM is gone */
		return;
	}
	hub_log(h, buf, (size_t)n);
	if (h->client_ok && send(h->client, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
	    errno != EAGAIN)
		hub_drop_client(h);
}

/* The request line, then console input. */
static void hub_client_input(struct console_hub *h)
{
	char buf[1024];
	ssize_t n = recv(h->client, buf, sizeof(buf), MSG_DONTWAIT);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			hub_drop_client(h);
		return;
	}
	size_t off = 0;
	while (!h->client_ok && off < (size_t)n) {
		char ch = buf[off++];
		if (ch != '\n') {
			if (h->reqlen + 1 >= sizeof(h->req)) {
				hub_say(h->client, "error request line too long\n");
				hub_drop_client(h);
				return;
			}
			h->req[h->reqlen++] = ch;
			continue;
		}
		h->req[h->reqlen] = '\0';
		if (strcmp(h->req, "console") != 0) {
			hub_say(h->client, "error this socket only serves the console; send 'console'\n");
			hub_drop_client(h);
			return;
		}
		h->client_ok = 1;
		hub_say(h->client, "ok\n");
	}
	if (h->client_ok && off < (size_t)n && h->in_w >= 0 &&
	    write(h->in_w, buf + off, (size_t)n - off) < 0 && errno != EAGAIN)
		close_fd(&h->in_w);   /* the VMM is gone */
}

void console_hub_service(struct console_hub *h, const struct pollfd *p)
{
	if (p[0].revents)
		hub_output(h);
	if (p[1].revents && h->client < 0) {
		h->client = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		h->reqlen = 0;
		h->client_ok = 0;
	} else if (p[1].revents) {
		int fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			hub_say(fd, "error the console is in use by another client\n");
			close(fd);
		}
	}
	if (p[2].revents && h->client >= 0)
		hub_client_input(h);
}

void console_hub_close(struct console_hub *h)
{
	/* what the VMM wrote last (its exit message) */
	while (h->out_r >= 0) {
		struct pollfd p = { .fd = h->out_r, .events = POLLIN };
		if (poll(&p, 1, 200) <= 0)
			break;
		hub_output(h);
	}
	close_fd(&h->out_r);
	close_fd(&h->out_w);
	close_fd(&h->in_r);
	close_fd(&h->in_w);
	hub_drop_client(h);
	if (h->listen_fd >= 0) {
		close_fd(&h->listen_fd);
		unlink(h->sock_path);
	}
	close_fd(&h->log_fd);
}
