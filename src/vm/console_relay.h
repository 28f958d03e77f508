/* console_relay.h - the VMM's own terminal: stdin to the guest's UART, and
 * the signals that stop the VM. */
#ifndef BERTH_VM_CONSOLE_RELAY_H
#define BERTH_VM_CONSOLE_RELAY_H

#include <pthread.h>
#include <termios.h>
#include "lib/err.h"

struct vm;
struct serial8250;

/* The key that stops the VM when stdin is a terminal: Ctrl-], as for
 * `berth console`. */
#define CONSOLE_ESCAPE 0x1d

struct console_relay {
	struct vm *vm;
	struct serial8250 *uart;
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

/* Start relaying into this VM's UART (once per boot). */
int console_relay_start(struct console_relay *c, struct vm *vm, struct serial8250 *uart,
			struct err *e);
void console_relay_stop(struct console_relay *c);

/* Restore the terminal and the signal mask. */
void console_relay_fini(struct console_relay *c);

#endif
