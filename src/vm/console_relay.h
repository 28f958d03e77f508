/* console_relay.h - the VMM's own terminal: stdin to the guest's console
 * (the UART or the virtio console, whichever the VM uses), the escape key,
 * and the signals that stop the VM. */
#ifndef BERTH_VM_CONSOLE_RELAY_H
#define BERTH_VM_CONSOLE_RELAY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>
#include "lib/err.h"

struct vm;

/* Where typed bytes go: push returns how many the device took (0 when its
 * buffers are full); wakeup_fd becomes readable when it may take more. */
struct console_sink {
	void *dev;
	size_t (*push)(void *dev, const uint8_t *buf, size_t n);
	int wakeup_fd;
};

/* The key that stops the VM when stdin is a terminal: Ctrl-], as for
 * `berth console`. */
#define CONSOLE_ESCAPE 0x1d

struct console_relay {
	struct vm *vm;
	struct console_sink sink;
	int in_fd;
	int in_open;            /* stdin not at EOF yet (kept across reboots) */
	int sig_fd;             /* signalfd for SIGINT, SIGTERM, SIGHUP, SIGQUIT */
	int stop_fd;            /* eventfd: the relay thread ends */
	int is_tty;
	struct termios saved;
	pthread_t thread;
	int running;
};

/* Once per VMM process: block the stop signals in every thread (taken via
 * signalfd instead), put a terminal stdin in raw mode. */
int console_relay_init(struct console_relay *c, int in_fd, struct err *e);

/* Start relaying into this VM's console device (once per boot). */
int console_relay_start(struct console_relay *c, struct vm *vm, const struct console_sink *sink,
			struct err *e);
void console_relay_stop(struct console_relay *c);

/* Restore the terminal and the signal mask. */
void console_relay_fini(struct console_relay *c);

#endif
