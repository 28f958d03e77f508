/* evloop.c - the VM's device loop: one thread blocked in epoll_wait(2),
 * calling each ready fd's callback in turn.
 *
 * An entry's memory must outlive any pointer to it that epoll_wait may
 * already have handed the thread, so evloop_del marks the entry dead and,
 * while the thread runs, leaves it on a list the thread frees after the
 * batch it is working on. evloop_del also waits for the entry's callback
 * if it is running on the loop thread at that moment: so it must not be
 * called while holding a lock that callback takes (devices register their
 * fds when they are created and remove them when they are freed, after the
 * loop stopped). The stop request is an eventfd whose epoll entry carries
 * a NULL pointer. */
#include "vm/evloop.h"
#include "vm/vm.h"
#include "vm/sandbox.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EVLOOP_BATCH 16

struct evloop_entry {
	int fd;
	evloop_fn fn;
	void *arg;
	int dead;
	struct evloop_entry *next;
};

struct evloop {
	int epfd, stop_fd;
	pthread_t thread;
	int running;
	pthread_mutex_t lock;          /* guards the lists and `current` */
	pthread_cond_t done;           /* a callback returned */
	struct evloop_entry *live;
	struct evloop_entry *zombies;  /* deleted; the thread may still hold them */
	struct evloop_entry *current;  /* whose callback runs now */
};

/* An epoll set with the stop eventfd in it; no thread yet. */
int evloop_new(struct evloop **out, struct err *e)
{
	*out = NULL;
	struct evloop *l = calloc(1, sizeof(*l));
	if (!l)
		return err_sys(e, ENOMEM, "device loop");
	l->stop_fd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int r = err_sys(e, errno, "device loop: epoll_create1");
		free(l);
		return r;
	}
	l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (l->stop_fd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stop_fd, &ev) < 0) {
		int r = err_sys(e, errno, "device loop: eventfd");
		if (l->stop_fd >= 0)
			close(l->stop_fd);
		close(l->epfd);
		free(l);
		return r;
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->done, NULL);
	*out = l;
	return 0;
}

/* epoll_ctl(2) ADD with the entry as the event's pointer. */
int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_fn fn, void *arg,
	       struct err *e)
{
	struct evloop_entry *x = calloc(1, sizeof(*x));
	if (!x)
		return err_sys(e, ENOMEM, "device loop: watch fd %d", fd);
	*x = (struct evloop_entry){ .fd = fd, .fn = fn, .arg = arg };
	struct epoll_event ev = { .events = events, .data.ptr = x };
	pthread_mutex_lock(&l->lock);
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int saved = errno;
		pthread_mutex_unlock(&l->lock);
		free(x);
		return err_sys(e, saved, "device loop: watch fd %d", fd);
	}
	x->next = l->live;
	l->live = x;
	pthread_mutex_unlock(&l->lock);
	return 0;
}

/* Unlink, EPOLL_CTL_DEL, wait out a running callback (see the top), and
 * free the entry now or, while the thread runs, after its batch. */
void evloop_del(struct evloop *l, int fd)
{
	pthread_mutex_lock(&l->lock);
	struct evloop_entry **pp = &l->live;
	while (*pp && (*pp)->fd != fd)
		pp = &(*pp)->next;
	struct evloop_entry *x = *pp;
	if (!x) {
		pthread_mutex_unlock(&l->lock);
		return;
	}
	*pp = x->next;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	x->dead = 1;
	if (l->running) {
		if (!pthread_equal(pthread_self(), l->thread))
			while (l->current == x)
				pthread_cond_wait(&l->done, &l->lock);
		x->next = l->zombies;
		l->zombies = x;
	} else {
		free(x);
	}
	pthread_mutex_unlock(&l->lock);
}

/* Free a list of entries. */
static void free_list(struct evloop_entry *x)
{
	while (x) {
		struct evloop_entry *next = x->next;
		free(x);
		x = next;
	}
}

/* Run one callback unless its entry was deleted after epoll_wait
 * returned it. */
static void evloop_dispatch(struct evloop *l, struct evloop_entry *x, uint32_t events)
{
	pthread_mutex_lock(&l->lock);
	if (x->dead) {
		pthread_mutex_unlock(&l->lock);
		return;
	}
	l->current = x;
	pthread_mutex_unlock(&l->lock);
	x->fn(x->arg, events);
	pthread_mutex_lock(&l->lock);
	l->current = NULL;
	pthread_cond_broadcast(&l->done);
	pthread_mutex_unlock(&l->lock);
}

/* The "devices" thread: wait, dispatch a batch, free what was deleted. */
static void *evloop_thread(void *arg)
{
	struct evloop *l = arg;
	pthread_setname_np(pthread_self(), "devices");
	vmm_seccomp_thread(VMM_THREAD_DEVICES);   /* on failure: the VMM's filter stays */
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);   /* signals are for other threads */
	for (int quit = 0; !quit;) {
		struct epoll_event ev[EVLOOP_BATCH];
		int n = epoll_wait(l->epfd, ev, EVLOOP_BATCH, -1);
		if (n < 0)
			continue;              /* EINTR; nothing else can fail here */
		for (int i = 0; i < n; i++) {
			if (!ev[i].data.ptr)
				quit = 1;
			else
				evloop_dispatch(l, ev[i].data.ptr, ev[i].events);
		}
		pthread_mutex_lock(&l->lock);
		free_list(l->zombies);
		l->zombies = NULL;
		pthread_mutex_unlock(&l->lock);
	}
	return NULL;
}

int evloop_start(struct evloop *l, struct err *e)
{
	pthread_mutex_lock(&l->lock);
	int r = vm_thread_start(&l->thread, evloop_thread, l);
	if (r == 0)
		l->running = 1;
	pthread_mutex_unlock(&l->lock);
	if (r)
		return err_sys(e, r, "start the device loop thread");
	return 0;
}

/* Signal the stop eventfd and join. */
void evloop_stop(struct evloop *l)
{
	if (!l || !l->running)
		return;
	uint64_t one = 1;
	if (write(l->stop_fd, &one, sizeof(one)) < 0) {
		/* cannot fail: the counter is far from overflowing */
	}
	pthread_join(l->thread, NULL);
	pthread_mutex_lock(&l->lock);
	l->running = 0;
	free_list(l->zombies);
	l->zombies = NULL;
	pthread_mutex_unlock(&l->lock);
}

void evloop_free(struct evloop *l)
{
	if (!l)
		return;
	evloop_stop(l);
	free_list(l->live);
	close(l->stop_fd);
	close(l->epfd);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->done);
	free(l);
}
