/* evloop.h - the VM's device loop: one thread, one epoll set, serving every
 * device's host-side file descriptors (ioeventfds from vCPUs, stdin for a
 * virtio console, a tap, ...). Callbacks run on that thread only. One loop
 * per VM; nothing global. */
#ifndef BERTH_VM_EVLOOP_H
#define BERTH_VM_EVLOOP_H

#include <pthread.h>
#include <stdint.h>

#include "lib/err.h"

typedef void (*evloop_fn)(void *arg, uint32_t events);

struct evloop;

int evloop_new(struct evloop **out, struct err *e);
/* Watch fd for `events` (EPOLLIN ...); callable before or after start,
 * from any thread. */
int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_fn fn, void *arg,
	       struct err *e);
/* Stop watching fd. After it returns, fn will not be called for fd again
 * (unless called from the loop thread itself, where that is trivially true). */
void evloop_del(struct evloop *l, int fd);
int evloop_start(struct evloop *l, struct err *e);
/* Make the thread leave and join it (no callback runs after this); the fds
 * stay registered until evloop_del or evloop_free. NULL or stopped: no-op. */
void evloop_stop(struct evloop *l);
/* Make the thread leave and join it; then free. NULL: no-op. */
void evloop_free(struct evloop *l);

#endif
