/* console.c - pty allocation and the terminal relay (console and exec -t). */
#include "ct/console.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#define DETACH_KEY 0x1d /* Ctrl-] */

int console_open(uid_t uid, int *master, int *slave, char *slave_path, size_t len,
		 struct err *e)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return err_sys(e, errno, "open /dev/ptmx");
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, slave_path, len) != 0) {
		int r = err_sys(e, errno, "set up console pty");
		close(m);
		return r;
	}
	int s = open(slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0 || fchown(s, uid, uid) < 0) {
		int r = err_sys(e, errno, "open console pty %s", slave_path);
		if (s >= 0)
			close(s);
		close(m);
		return r;
	}
	*master = m;
	*slave = s;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void copy_winsize(int winsize_fd)
{
	struct winsize ws;
	if (winsize_fd >= 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(winsize_fd, TIOCSWINSZ, &ws);
}

int console_relay(int fd, int winsize_fd, int detach_key, int end_fd, struct err *e)
{
	struct termios saved, raw;
	int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	copy_winsize(winsize_fd);

	struct pollfd p[4] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = fd, .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
		{ .fd = end_fd, .events = POLLIN },
	};
	char buf[8192];
	int in_open = 1;
	for (;;) {
		p[0].fd = in_open ? STDIN_FILENO : -1;
		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) > 0)
				copy_winsize(winsize_fd);
		}
		if (p[3].revents & POLLIN) {
			/* the process is gone: show what it left in the pty, then end */
			while (poll(&p[1], 1, 0) == 1 && (p[1].revents & POLLIN)) {
				ssize_t n = read(fd, buf, sizeof(buf));
				if (n <= 0 || write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
					break;
			}
			break;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				break; /* guest side closed */
			if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
				break;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				in_open = 0; /* keep showing output until the guest side ends */
				if (!tty)
					shutdown(fd, SHUT_WR);
				continue;
			}
			char *k = detach_key ? memchr(buf, DETACH_KEY, (size_t)n) : NULL;
			if (k)
				n = k - buf;
			if (n > 0 && write_all(fd, buf, (size_t)n) < 0)
				break;
			if (k)
				break;
		}
	}
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	(void)e;
	return 0;
}
