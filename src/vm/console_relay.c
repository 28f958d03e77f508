/* console_relay.c - one thread that feeds the VMM's stdin to the guest's
 * console device, the UART or the virtio console (respecting the device's
 * buffers: when they are full we stop reading stdin until the guest drains
 * them), stops the VM on the escape key, and turns SIGINT/SIGTERM/SIGHUP/
 * SIGQUIT into an orderly stop of the VM. Guest output does not pass
 * through here: the device writes it to stdout itself. */
#include "vm/console_relay.h"

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vm/vm.h"
#include "vm/sandbox.h"

static sigset_t stop_signals(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGHUP);
	sigaddset(&s, SIGQUIT);
	return s;
}

int console_relay_init(struct console_relay *c, int in_fd, struct err *e)
{
	memset(c, 0, sizeof(*c));
	c->in_fd = in_fd;
	c->in_open = 1;
	c->stop_fd = -1;
	sigset_t s = stop_signals();
	if (pthread_sigmask(SIG_BLOCK, &s, NULL) != 0)
		return err_sys(e, EINVAL, "block signals");
	c->sig_fd = signalfd(-1, &s, SFD_CLOEXEC | SFD_NONBLOCK);
	if (c->sig_fd < 0)
		return err_sys(e, errno, "signalfd");
	signal(SIGPIPE, SIG_IGN);    /* a closed stdout must not kill the VMM */
	if (isatty(in_fd) && tcgetattr(in_fd, &c->saved) == 0) {
		struct termios raw = c->saved;
		cfmakeraw(&raw);
		raw.c_oflag |= OPOST | ONLCR;   /* our own messages stay readable */
		if (tcsetattr(in_fd, TCSANOW, &raw) == 0)
			c->is_tty = 1;
	}
	return 0;
}

/* Feed what is pending; returns bytes still waiting for FIFO space. */
static size_t relay_push(struct console_relay *c, uint8_t *buf, size_t *off, size_t len)
{
	*off += c->sink.push(c->sink.dev, buf + *off, len - *off);
	return len - *off;
}

static void *relay_thread(void *arg)
{
	struct console_relay *c = arg;
	uint8_t buf[256];
	size_t off = 0, len = 0;
	pthread_setname_np(pthread_self(), "console");
	vmm_seccomp_thread(VMM_THREAD_CONSOLE);   /* on failure: the VMM's filter stays */
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = c->stop_fd, .events = POLLIN },
			{ .fd = c->sig_fd, .events = POLLIN },
			{ .fd = -1, .events = POLLIN },
		};
		if (off < len)
			p[2].fd = c->sink.wakeup_fd;
		else if (c->in_open)
			p[2].fd = c->in_fd;
		if (poll(p, 3, -1) < 0)
			continue;
		if (p[0].revents)
			break;
		if (p[1].revents) {
			struct signalfd_siginfo si;
			if (read(c->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				vm_request_stop(c->vm, VM_SIGNAL, (int)si.ssi_signo,
						"stopped by signal %s", strsignal((int)si.ssi_signo));
		}
		if (!p[2].revents)
			continue;
		if (off < len) {
			uint64_t n;
			if (read(p[2].fd, &n, sizeof(n)) < 0) {
				/* spurious wake-up; try to push anyway */
			}
			relay_push(c, buf, &off, len);
			continue;
		}
		ssize_t n = read(c->in_fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			c->in_open = 0;       /* EOF or error: the guest just gets no input */
			continue;
		}
		if (c->is_tty && memchr(buf, CONSOLE_ESCAPE, (size_t)n)) {
			vm_request_stop(c->vm, VM_QUIT, 0, "stopped from the console (Ctrl-])");
			n = (uint8_t *)memchr(buf, CONSOLE_ESCAPE, (size_t)n) - buf;
		}
		off = 0;
		len = (size_t)n;
		relay_push(c, buf, &off, len);
	}
	return NULL;
}

int console_relay_start(struct console_relay *c, struct vm *vm, const struct console_sink *sink,
			struct err *e)
{
	c->vm = vm;
	c->sink = *sink;
	c->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (c->stop_fd < 0)
		return err_sys(e, errno, "eventfd");
	int r = vm_thread_start(&c->thread, relay_thread, c);
	if (r) {
		close(c->stop_fd);
		c->stop_fd = -1;
		return err_sys(e, r, "start console thread");
	}
	c->running = 1;
	return 0;
}

void console_relay_stop(struct console_relay *c)
{
	if (!c->running)
		return;
	uint64_t one = 1;
	if (write(c->stop_fd, &one, sizeof(one)) < 0) {
		/* an eventfd write only fails on overflow */
	}
	pthread_join(c->thread, NULL);
	close(c->stop_fd);
	c->stop_fd = -1;
	c->running = 0;
}

void console_relay_fini(struct console_relay *c)
{
	console_relay_stop(c);
	if (c->is_tty)
		tcsetattr(c->in_fd, TCSANOW, &c->saved);
	c->is_tty = 0;
	if (c->sig_fd >= 0)
		close(c->sig_fd);
	c->sig_fd = -1;
	sigset_t s = stop_signals();
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
}
