/* monitor.c - the container monitor: forked by `berth start`, parent of the
 * guest's init, serving control.sock until the guest ends. */
#include "ct/monitor.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ct/console.h"
#include "ct/control.h"
#include "ct/spawn.h"

#define MAX_CLIENTS 32
#define CONSOLE_LOG_MAX (1 << 20)
#define REPORT_FD 3

enum client_kind { CL_REQUEST, CL_CONSOLE, CL_WAITER };

struct client {
	int fd;
	enum client_kind kind;
	size_t len;
	char buf[128];
};

struct monitor {
	struct ct_instance in;
	int epfd, sigfd, listenfd, timerfd;
	int con_master, con_slave, con_log;
	char con_path[64];
	size_t con_log_size;
	struct client clients[MAX_CLIENTS];
	int stopping;              /* a stop or kill was asked for */
	int killed;                /* SIGKILL was sent */
	int done;
	int reboot;                /* init asked for a reboot: start it again */
	time_t reboots[5];         /* when the last reboots happened (loop guard) */
	struct guest_exit exit;
};

static void mlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mlog(const char *fmt, ...)
{
	char ts[32];
	time_t t = time(NULL);
	strftime(ts, sizeof(ts), "%F %T", localtime(&t));
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s ", ts);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int ep_add(struct monitor *m, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	return epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void client_close(struct monitor *m, struct client *c)
{
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

static void client_say(struct client *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (send(c->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return;
}

/* Append guest console output to console.log, rotating at 1 MiB. */
static void console_log(struct monitor *m, const char *buf, size_t n)
{
	if (m->con_log < 0)
		return;
	if (m->con_log_size + n > CONSOLE_LOG_MAX) {
		char cur[PATH_MAX], old[PATH_MAX];
		store_guest_path(m->in.s, m->in.c->name, "console.log", cur, sizeof(cur));
		store_guest_path(m->in.s, m->in.c->name, "console.log.1", old, sizeof(old));
		rename(cur, old);
		close(m->con_log);
		m->con_log = open(cur, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		m->con_log_size = 0;
		if (m->con_log < 0)
			return;
	}
	if (write(m->con_log, buf, n) > 0)
		m->con_log_size += n;
}

static void on_console_output(struct monitor *m)
{
	char buf[4096];
	ssize_t n = read(m->con_master, buf, sizeof(buf));
	if (n <= 0)
		return;
	console_log(m, buf, (size_t)n);
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &m->clients[i];
		/* a client that cannot keep up loses output rather than stalling the guest */
		if (c->fd >= 0 && c->kind == CL_CONSOLE &&
		    send(c->fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
			client_close(m, c);
	}
}

/* Ask init to shut down; SIGKILL when the deadline passes. */
static void begin_stop(struct monitor *m, int seconds)
{
	if (!m->stopping) {
		m->stopping = 1;
		kill(m->in.init_pid, ct_stop_signal(m->in.c));
		mlog("stop requested, timeout %ds", seconds);
	}
	struct itimerspec its = { .it_value = { .tv_sec = seconds > 0 ? seconds : 0,
						 .tv_nsec = seconds > 0 ? 0 : 1 } };
	timerfd_settime(m->timerfd, 0, &its, NULL);
}

static void kill_guest(struct monitor *m)
{
	m->stopping = 1;
	m->killed = 1;
	kill(m->in.init_pid, SIGKILL);
	cgroup_kill_all(&m->in.cg);
}

static void handle_request(struct monitor *m, struct client *c)
{
	char *req = c->buf;
	int secs;
	if (!strcmp(req, "status")) {
		client_say(c, "{\"state\":\"running\",\"pid\":%d,\"started\":%lld,\"monitor\":%d}",
			   (int)m->in.init_pid, m->in.started, (int)getpid());
		client_close(m, c);
	} else if (sscanf(req, "stop %d", &secs) == 1 && secs >= 0) {
		c->kind = CL_WAITER;
		begin_stop(m, secs);
	} else if (!strcmp(req, "kill")) {
		c->kind = CL_WAITER;
		kill_guest(m);
	} else if (!strcmp(req, "console")) {
		c->kind = CL_CONSOLE;
		client_say(c, "ok");
	} else {
		client_say(c, "error unknown request '%.40s'", req);
		client_close(m, c);
	}
}

static void on_client(struct monitor *m, struct client *c)
{
	char buf[4096];
	ssize_t n = recv(c->fd, c->kind == CL_CONSOLE ? buf : c->buf + c->len,
			 c->kind == CL_CONSOLE ? sizeof(buf) : sizeof(c->buf) - 1 - c->len,
			 MSG_DONTWAIT);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			client_close(m, c);
		return;
	}
	if (c->kind == CL_CONSOLE) {
		if (write(m->con_master, buf, (size_t)n) < 0)
			mlog("console input: %m");
		return;
	}
	if (c->kind == CL_WAITER)
		return;
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	char *nl = strchr(c->buf, '\n');
	if (!nl) {
		if (c->len >= sizeof(c->buf) - 1) {
			client_say(c, "error request too long");
			client_close(m, c);
		}
		return;
	}
	*nl = '\0';
	handle_request(m, c);
}

static void on_accept(struct monitor *m)
{
	int fd = accept4(m->listenfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (m->clients[i].fd < 0) {
			m->clients[i] = (struct client){ .fd = fd, .kind = CL_REQUEST };
			ep_add(m, fd, EPOLLIN);
			return;
		}
	}
	close(fd); /* too many clients */
}

/* Reap children; when init has gone, record how it ended. */
static void on_sigchld(struct monitor *m)
{
	int status;
	pid_t p;
	while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
		if (p != m->in.init_pid)
			continue;
		m->in.init_pid = 0;
		/* reboot(2) in a pid namespace kills its init with SIGHUP */
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGHUP && !m->stopping) {
			time_t now = time(NULL);
			if (now - m->reboots[0] > 10) {
				memmove(m->reboots, m->reboots + 1, sizeof(m->reboots) - sizeof(time_t));
				m->reboots[4] = now;
				m->reboot = 1;
				continue;
			}
			mlog("five reboots within 10 s: giving up");
		}
		m->done = 1;
		m->exit.valid = 1;
		m->exit.when = time(NULL);
		m->exit.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		m->exit.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		const char *why = m->killed ? "killed" : m->stopping ? "stopped"
			: (m->exit.signal == SIGINT || m->exit.signal == SIGHUP) ? "poweroff" : "exited";
		snprintf(m->exit.reason, sizeof(m->exit.reason), "%s", why);
		mlog("init ended: %s (code %d, signal %d)", why, m->exit.code, m->exit.signal);
	}
}

static void on_signal(struct monitor *m)
{
	struct signalfd_siginfo si;
	while (read(m->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			on_sigchld(m);
		else
			begin_stop(m, 10); /* the host is shutting down or someone asked us */
	}
}

static int listen_control(struct monitor *m, struct err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[PATH_MAX];
	store_run_path(m->in.s, m->in.c->name, "control.sock", path, sizeof(path));
	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(e, ENAMETOOLONG, "control socket path %s is too long; use a shorter BERTH_RUN", path);
	strcpy(sa.sun_path, path);
	unlink(path);
	m->listenfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (m->listenfd < 0 || bind(m->listenfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(m->listenfd, 16) < 0)
		return err_sys(e, errno, "control socket %s", path);
	return 0;
}

/* Start the guest's init (again, after a reboot) on the console pty. */
static int start_init(struct monitor *m, struct err *e)
{
	char *argv[] = { "/sbin/init", NULL };
	struct spawn_spec sp = {
		.cfg = m->in.c, .rootfs = m->in.rootfs, .cg = &m->in.cg, .console = m->con_path,
		.stdio = { m->con_slave, m->con_slave, m->con_slave }, .argv = argv,
	};
	return ct_spawn(&sp, &m->in.init_pid, e);
}

static int monitor_setup(struct monitor *m, struct err *e)
{
	char p[PATH_MAX];
	int r;
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	m->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m->sigfd < 0 || m->epfd < 0 || m->timerfd < 0)
		return err_sys(e, errno, "monitor event setup");
	if ((r = ct_prepare(&m->in, e)) < 0)
		return r;
	if ((r = console_open(m->in.c->id_base, &m->con_master, &m->con_slave, m->con_path,
			      sizeof(m->con_path), e)) < 0)
		return r;
	store_guest_path(m->in.s, m->in.c->name, "console.log", p, sizeof(p));
	m->con_log = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if ((r = start_init(m, e)) < 0)
		return r;
	if ((r = listen_control(m, e)) < 0 || (r = ct_write_pidfile(&m->in, getpid(), e)) < 0)
		return r;
	ep_add(m, m->sigfd, EPOLLIN);
	ep_add(m, m->listenfd, EPOLLIN);
	ep_add(m, m->timerfd, EPOLLIN);
	ep_add(m, m->con_master, EPOLLIN);
	return 0;
}

static void do_reboot(struct monitor *m)
{
	struct err e = { 0 };
	m->reboot = 0;
	cgroup_kill_all(&m->in.cg);
	mlog("guest rebooted itself; starting init again");
	m->in.started = time(NULL);
	if (start_init(m, &e) < 0 || ct_write_pidfile(&m->in, getpid(), &e) < 0) {
		mlog("restart after reboot failed: %s", e.msg);
		m->done = 1;
		m->exit = (struct guest_exit){ .valid = 1, .code = -1, .signal = SIGHUP,
					       .when = time(NULL) };
		snprintf(m->exit.reason, sizeof(m->exit.reason), "exited");
	}
}

static void monitor_loop(struct monitor *m)
{
	while (!m->done) {
		if (m->reboot) {
			do_reboot(m);
			continue;
		}
		struct epoll_event ev[16];
		int n = epoll_wait(m->epfd, ev, 16, -1);
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			if (fd == m->sigfd)
				on_signal(m);
			else if (fd == m->listenfd)
				on_accept(m);
			else if (fd == m->con_master)
				on_console_output(m);
			else if (fd == m->timerfd) {
				uint64_t x;
				if (read(m->timerfd, &x, sizeof(x)) > 0) {
					mlog("stop timed out, killing");
					kill_guest(m);
				}
			} else {
				for (int k = 0; k < MAX_CLIENTS; k++)
					if (m->clients[k].fd == fd) {
						on_client(m, &m->clients[k]);
						break;
					}
			}
		}
	}
}

/* The monitor is a fork of the CLI and has touched its set-up code once;
 * hand those pages back (they stay in the page cache, shared) so a resting
 * monitor costs only what its event loop uses. */
static void monitor_shrink(void)
{
	extern char __executable_start, etext;
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)&__executable_start & ~(uintptr_t)(page - 1);
	uintptr_t end = ((uintptr_t)&etext + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1);
	madvise((void *)start, end - start, MADV_DONTNEED);
	malloc_trim(0);
}

/* Body of the forked monitor process; never returns. */
static void monitor_main(const struct store *s, const struct guest_config *c)
{
	static struct monitor m;
	struct err e = { 0 };
	m.in = (struct ct_instance){ .s = s, .c = c, .rundir_fd = -1 };
	m.con_master = m.con_slave = m.con_log = m.listenfd = -1;
	for (int i = 0; i < MAX_CLIENTS; i++)
		m.clients[i].fd = -1;
	int r = monitor_setup(&m, &e);
	if (r < 0) {
		mlog("start failed: %s", e.msg);
		ct_teardown(&m.in);
		if (write(REPORT_FD, e.msg, strlen(e.msg)) < 0)
			_exit(2);
		_exit(1);
	}
	mlog("started init pid %d", (int)m.in.init_pid);
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "ok %d", (int)m.in.init_pid);
	if (write(REPORT_FD, ok, (size_t)n) < 0)
		mlog("report to CLI: %m");
	close(REPORT_FD);
	monitor_shrink();

	monitor_loop(&m);

	if (m.listenfd >= 0)
		close(m.listenfd);
	ct_teardown(&m.in);
	if (guest_exit_save(s, c->name, &m.exit, &e) < 0)
		mlog("%s", e.msg);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (m.clients[i].fd >= 0) {
			if (m.clients[i].kind == CL_WAITER)
				client_say(&m.clients[i], "ok");
			close(m.clients[i].fd);
		}
	mlog("monitor exits");
	_exit(0);
}

/* In the forked child: stdio to /dev/null and monitor.log, report pipe on fd 3. */
static void monitor_detach(const struct store *s, const struct guest_config *c, int report)
{
	char p[PATH_MAX];
	setsid();
	if (report != REPORT_FD) {
		dup2(report, REPORT_FD);
		close(report);
	}
	syscall(SYS_close_range, REPORT_FD + 1, ~0U, 0);
	int null = open("/dev/null", O_RDWR);
	store_guest_path(s, c->name, "monitor.log", p, sizeof(p));
	int log = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	dup2(null, 0);
	dup2(null, 1);
	dup2(log >= 0 ? log : null, 2);
	if (null > 2)
		close(null);
	if (log > 2)
		close(log);
	fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stderr, NULL, _IOLBF, 0);
}

int ct_start(const struct store *s, const struct guest_config *c, int keep_fd, struct err *e)
{
	(void)keep_fd; /* closed in the child by close_range */
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return err_sys(e, errno, "fork the monitor");
	}
	if (pid == 0) {
		close(pfd[0]);
		monitor_detach(s, c, pfd[1]);
		monitor_main(s, c);
	}
	close(pfd[1]);
	char msg[sizeof(e->msg)];
	ssize_t n;
	while ((n = read(pfd[0], msg, sizeof(msg) - 1)) < 0 && errno == EINTR)
		;
	close(pfd[0]);
	waitpid(pid, NULL, WNOHANG);
	if (n <= 0)
		return err_set(e, EIO, "the monitor of '%s' died during start; see %s/guests/%s/monitor.log",
			       c->name, s->root, c->name);
	msg[n] = '\0';
	if (strncmp(msg, "ok ", 3) != 0)
		return err_exit(e, EXIT_HOST, "start '%s': %s", c->name, msg);
	return 0;
}
