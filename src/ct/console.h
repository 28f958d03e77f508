/* console.h - the guest console: a pty the monitor owns, and the client side
 * that attaches a terminal to it. */
#ifndef BERTH_CONSOLE_H
#define BERTH_CONSOLE_H

#include <sys/types.h>
#include "lib/err.h"

/* Open a new host pty pair; the slave is chowned to uid (the guest's root)
 * so the guest can reopen /dev/console. */
int console_open(uid_t uid, int *master, int *slave, char *slave_path, size_t len,
		 struct err *e);

/* Relay between the user's terminal (stdin/stdout) and fd until fd closes
 * or the user types the detach key (Ctrl-], 0x1d) when detach_key is set.
 * Puts a terminal stdin into raw mode for the duration and forwards window
 * size changes to winsize_fd (a pty master) when >= 0. end_fd (a pidfd, or
 * -1) ends the relay when it becomes readable, after draining fd. Returns 0. */
int console_relay(int fd, int winsize_fd, int detach_key, int end_fd, struct err *e);

#endif
