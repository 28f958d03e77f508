/* control.c - client side of the monitor's control socket. */
#include "ct/control.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int control_connect(const struct store *s, const char *name, struct err *e)
{
	return control_connect_to(s, name, "control.sock", e);
}

int control_connect_to(const struct store *s, const char *name, const char *sock, struct err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[PATH_MAX];
	store_run_path(s, name, sock, path, sizeof(path));
	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(e, ENAMETOOLONG, "control socket path %s is too long; use a shorter BERTH_RUN", path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(e, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int saved = errno;
		close(fd);
		if (saved == ENOENT || saved == ECONNREFUSED)
			return err_exit(e, EXIT_STATE, "guest '%s' is not running; start it with 'berth start %s'",
					name, name);
		return err_sys(e, saved, "connect to the monitor of '%s'", name);
	}
	return fd;
}

int control_read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
	size_t n = 0;
	while (n + 1 < cap) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int pr = poll(&p, 1, timeout_ms);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return pr == 0 ? -ETIMEDOUT : -errno;
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return (int)n;
}

int control_call(const struct store *s, const char *name, const char *req, char *reply,
		 size_t cap, int timeout_ms, struct err *e)
{
	int fd = control_connect(s, name, e);
	if (fd < 0)
		return fd;
	char line[256];
	int n = snprintf(line, sizeof(line), "%s\n", req);
	if (write(fd, line, (size_t)n) != n) {
		int r = err_sys(e, errno, "send request to the monitor of '%s'", name);
		close(fd);
		return r;
	}
	int r = control_read_line(fd, reply, cap, timeout_ms);
	close(fd);
	if (r == -ETIMEDOUT)
		return err_set(e, ETIMEDOUT, "the monitor of '%s' did not answer", name);
	if (r < 0)
		return err_sys(e, -r, "read the monitor's answer");
	if (r == 0)
		return err_set(e, EPIPE, "the monitor of '%s' closed the connection", name);
	if (!strncmp(reply, "error ", 6))
		return err_set(e, EIO, "%s", reply + 6);
	return 0;
}
