/* vmm_control.c - the VMM's control socket and SIGPWR (see vmm_control.h). */
#include "vm/vmm_control.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vm/dev/acpi_pm.h"
#include "vm/vm.h"
#include "vm/sandbox.h"
#include "vm/vm_stats.h"

static void say(int fd, const char *line)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);
	if (n > 0 && send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* the client went away; nothing to tell it */
	}
}

static int listen_on(const char *path, struct err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return err_exit(e, EXIT_USAGE, "--control %s: path too long for a unix socket (max %zu)",
				path, sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_sys(e, errno, "socket");
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);              /* left by a VMM that was killed */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, VMM_CONTROL_CLIENTS) < 0) {
		int saved = errno;
		close(fd);
		return err_sys(e, saved, "--control %s", path);
	}
	return fd;
}

static void press_button(struct vmm_control *c)
{
	if (c->vm && c->vm->pm)
		acpi_pm_power_button(c->vm->pm);
}

/* Ask the current boot to end now (kill). Lock held. */
static void kill_vm(struct vmm_control *c, const char *why)
{
	c->stopping = 1;
	if (c->vm)
		vm_request_stop(c->vm, VM_SIGNAL, SIGKILL, "%s", why);
}

static void handle_request(struct vmm_control *c, unsigned i, char *req)
{
	int fd = c->clients[i];
	char out[384];
	if (!strcmp(req, "status")) {
		int armed = c->vm && c->vm->pm && acpi_pm_power_button_armed(c->vm->pm);
		snprintf(out, sizeof(out),
			 "{\"state\":\"running\",\"pid\":%d,\"boots\":%u,\"vcpus\":%u,"
			 "\"memory_bytes\":%llu,\"power_button_armed\":%s}",
			 (int)getpid(), c->boots, c->vcpus, (unsigned long long)c->memory,
			 armed ? "true" : "false");
		say(fd, out);
	} else if (!strcmp(req, "stats")) {
		vm_stats_reply(c->vm, c->boots, c->vcpus, c->memory, out, sizeof(out));
		say(fd, out);
	} else if (!strcmp(req, "shutdown")) {
		press_button(c);
		say(fd, "ok");
	} else if (!strncmp(req, "stop ", 5) || !strcmp(req, "stop")) {
		char *end;
		long secs = req[4] ? strtol(req + 5, &end, 10) : 30;
		if (req[4] && (*end || end == req + 5 || secs < 0 || secs > 86400)) {
			say(fd, "error stop: give a timeout of 0 to 86400 seconds");
			return;
		}
		c->stopping = 1;
		c->waiting[i] = 1;
		if (secs == 0) {
			kill_vm(c, "killed: stop with no timeout");
			return;
		}
		press_button(c);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!c->deadline.tv_sec || now.tv_sec + secs < c->deadline.tv_sec)
			c->deadline = (struct timespec){ .tv_sec = now.tv_sec + secs,
							 .tv_nsec = now.tv_nsec };
	} else if (!strcmp(req, "kill")) {
		c->waiting[i] = 1;
		kill_vm(c, "killed through the control socket");
	} else {
		snprintf(out, sizeof(out),
			 "error unknown request '%.40s'; known: status, shutdown, stop SECONDS, kill", req);
		say(fd, out);
	}
}

static void drop_client(struct vmm_control *c, unsigned i)
{
	close(c->clients[i]);
	c->clients[i] = -1;
	c->inlen[i] = 0;
	c->waiting[i] = 0;
}

/* Read what a client sent; act on each complete line. Lock held. */
static void client_input(struct vmm_control *c, unsigned i)
{
	char *buf = c->inbuf[i];
	ssize_t n = recv(c->clients[i], buf + c->inlen[i], sizeof(c->inbuf[i]) - 1 - c->inlen[i],
			 MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (!c->waiting[i])
			drop_client(c, i);
		else
			c->inlen[i] = sizeof(c->inbuf[i]);   /* keep it for the answer; stop reading */
		return;
	}
	c->inlen[i] += (unsigned)n;
	char *nl;
	while (c->clients[i] >= 0 && (nl = memchr(buf, '\n', c->inlen[i]))) {
		*nl = '\0';
		handle_request(c, i, buf);
		unsigned rest = c->inlen[i] - (unsigned)(nl + 1 - buf);
		memmove(buf, nl + 1, rest);
		c->inlen[i] = rest;
	}
	if (c->inlen[i] >= sizeof(c->inbuf[i]) - 1) {
		say(c->clients[i], "error request line too long");
		drop_client(c, i);
	}
}

static void accept_client(struct vmm_control *c)
{
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	for (unsigned i = 0; i < VMM_CONTROL_CLIENTS; i++) {
		if (c->clients[i] < 0) {
			c->clients[i] = fd;
			c->inlen[i] = 0;
			c->waiting[i] = 0;
			return;
		}
	}
	say(fd, "error too many control connections");
	close(fd);
}

/* Milliseconds until the stop deadline, or -1 without one. Lock held. */
static int deadline_ms(struct vmm_control *c)
{
	if (!c->deadline.tv_sec)
		return -1;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (c->deadline.tv_sec - now.tv_sec) * 1000LL +
		       (c->deadline.tv_nsec - now.tv_nsec) / 1000000;
	if (ms <= 0) {
		c->deadline.tv_sec = 0;
		kill_vm(c, "killed: the guest did not power off in time after the power button");
		return -1;
	}
	return ms > 60000 ? 60000 : (int)ms;
}

static void *control_thread(void *arg)
{
	struct vmm_control *c = arg;
	pthread_setname_np(pthread_self(), "control");
	vmm_seccomp_thread(VMM_THREAD_CONTROL);   /* on failure: the VMM's filter stays */
	for (;;) {
		struct pollfd p[3 + VMM_CONTROL_CLIENTS];
		unsigned n = 0;
		p[n++] = (struct pollfd){ .fd = c->stop_fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = c->sig_fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
		pthread_mutex_lock(&c->lock);
		for (unsigned i = 0; i < VMM_CONTROL_CLIENTS; i++) {
			int want = c->clients[i] >= 0 && c->inlen[i] < sizeof(c->inbuf[i]);
			p[n++] = (struct pollfd){ .fd = want ? c->clients[i] : -1, .events = POLLIN };
		}
		int timeout = deadline_ms(c);
		pthread_mutex_unlock(&c->lock);
		if (poll(p, n, timeout) < 0)
			continue;
		if (p[0].revents)
			break;
		pthread_mutex_lock(&c->lock);
		if (p[1].revents) {
			struct signalfd_siginfo si;
			if (read(c->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				press_button(c);
		}
		if (p[2].revents)
			accept_client(c);
		for (unsigned i = 0; i < VMM_CONTROL_CLIENTS; i++)
			if (p[3 + i].revents && c->clients[i] >= 0)
				client_input(c, i);
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

int vmm_control_start(struct vmm_control *c, const char *path, unsigned vcpus,
		      uint64_t memory, struct err *e)
{
	memset(c, 0, sizeof(*c));
	c->listen_fd = c->sig_fd = c->stop_fd = -1;
	for (unsigned i = 0; i < VMM_CONTROL_CLIENTS; i++)
		c->clients[i] = -1;
	c->vcpus = vcpus;
	c->memory = memory;
	pthread_mutex_init(&c->lock, NULL);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGPWR);
	int r = 0;
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	c->sig_fd = signalfd(-1, &s, SFD_CLOEXEC | SFD_NONBLOCK);
	if (c->sig_fd < 0)
		r = err_sys(e, errno, "signalfd");
	if (r == 0 && (c->stop_fd = eventfd(0, EFD_CLOEXEC)) < 0)
		r = err_sys(e, errno, "eventfd");
	if (r == 0 && path) {
		int fd = listen_on(path, e);
		if (fd < 0)
			r = fd;
		else
			c->listen_fd = fd;
		snprintf(c->path, sizeof(c->path), "%s", path);
	}
	if (r == 0 && (r = vm_thread_start(&c->thread, control_thread, c)) != 0)
		r = err_sys(e, r, "start the control thread");
	if (r < 0) {
		vmm_control_finish(c);
		return r;
	}
	c->running = 1;
	return 0;
}

void vmm_control_attach(struct vmm_control *c, struct vm *vm)
{
	pthread_mutex_lock(&c->lock);
	c->vm = vm;
	c->boots++;
	/* a stop asked between two boots ends the new one at once */
	if (c->stopping && !c->deadline.tv_sec)
		vm_request_stop(vm, VM_SIGNAL, SIGKILL, "killed as requested");
	else if (c->stopping)
		acpi_pm_power_button(vm->pm);
	pthread_mutex_unlock(&c->lock);
}

void vmm_control_detach(struct vmm_control *c)
{
	pthread_mutex_lock(&c->lock);
	c->vm = NULL;
	pthread_mutex_unlock(&c->lock);
}

int vmm_control_stopping(struct vmm_control *c)
{
	pthread_mutex_lock(&c->lock);
	int s = c->stopping;
	pthread_mutex_unlock(&c->lock);
	return s;
}

void vmm_control_finish(struct vmm_control *c)
{
	if (c->running) {
		uint64_t one = 1;
		if (write(c->stop_fd, &one, sizeof(one)) < 0) {
			/* cannot fail for a fresh eventfd */
		}
		pthread_join(c->thread, NULL);
		c->running = 0;
	}
	for (unsigned i = 0; i < VMM_CONTROL_CLIENTS; i++) {
		if (c->clients[i] < 0)
			continue;
		if (c->waiting[i])
			say(c->clients[i], "ok");
		close(c->clients[i]);
		c->clients[i] = -1;
	}
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		unlink(c->path);
	}
	if (c->sig_fd >= 0)
		close(c->sig_fd);
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	c->listen_fd = c->sig_fd = c->stop_fd = -1;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGPWR);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	pthread_mutex_destroy(&c->lock);
}
