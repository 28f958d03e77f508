/* console_hub.h - the console of a VM guest, kept by its monitor.
 *
 * The sandboxed VMM keeps the lkvm/Firecracker convention: the guest's
 * console is its stdin and stdout. For a guest, both are pipes to the
 * monitor (root), which appends everything to console.log (rotating it at
 * CONSOLE_HUB_LOG_MAX, one older log kept) and relays it to at most one
 * attached `berth console` client on $BERTH_RUN/<name>/console.sock, which
 * speaks the container monitor's console request (ct/control.h): the
 * client sends "console", gets "ok", then the connection is the byte
 * stream both ways. The VMM's stderr goes the same way, so its log lines
 * and the guest's output keep their order in the log. */
#ifndef BERTH_VM_CONSOLE_HUB_H
#define BERTH_VM_CONSOLE_HUB_H

#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/err.h"

#define CONSOLE_HUB_LOG_MAX (1u << 20)
#define CONSOLE_HUB_POLLFDS 3

struct console_hub {
	int out_r, out_w;        /* VMM stdout+stderr -> monitor */
	int in_r, in_w;          /* monitor -> VMM stdin */
	int listen_fd, client;   /* console.sock and the attached client */
	int client_ok;           /* the client asked for the console */
	char req[64];            /* its request line so far */
	size_t reqlen;
	int log_fd;
	uint64_t log_size;
	char log_path[PATH_MAX], log_old[PATH_MAX], sock_path[108];
};

/* Pipes, console.sock (mode 0600), console.log opened for appending. The
 * monitor's own stdout and stderr follow the log across rotations. */
int console_hub_open(struct console_hub *h, const char *sock_path, const char *log_path,
		     const char *log_old, struct err *e);

/* In the VMM child: the pipes become stdin, stdout and stderr; every
 * other hub descriptor is closed. */
void console_hub_child(struct console_hub *h);

/* In the monitor after the fork: close the child's ends. */
void console_hub_parent(struct console_hub *h);

/* Fill p (CONSOLE_HUB_POLLFDS entries) with what the hub waits on. */
void console_hub_pollfds(const struct console_hub *h, struct pollfd *p);

/* Act on what poll reported in p (as filled by console_hub_pollfds). */
void console_hub_service(struct console_hub *h, const struct pollfd *p);

/* After the VMM ended: log what is left in the pipe, close everything,
 * remove console.sock. */
void console_hub_close(struct console_hub *h);

#endif
