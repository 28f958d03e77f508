/* control.h - the monitor's control socket, $BERTH_RUN/<name>/control.sock.
 *
 * Protocol: the client sends one request line; the monitor answers lines.
 *   "status"        -> one JSON line {"state":"running","pid":N,"started":T}
 *   "stop SECONDS"  -> "ok" when the guest has stopped and been cleaned up
 *   "kill"          -> "ok" likewise
 *   "console"       -> "ok", then the connection is the console byte stream
 * Errors come back as "error <message>". */
#ifndef BERTH_CONTROL_H
#define BERTH_CONTROL_H

#include <stddef.h>
#include "lib/err.h"
#include "lib/store.h"

/* Connect to a guest's monitor (EXIT_STATE error if it is not running). */
int control_connect(const struct store *s, const char *name, struct err *e);

/* The same for another socket of the guest's runtime dir (a VM's monitor
 * serves its console on "console.sock": vm/console_hub.h). */
int control_connect_to(const struct store *s, const char *name, const char *sock, struct err *e);

/* Send req and read one reply line (without the newline) into reply.
 * timeout_ms < 0 waits forever. */
int control_call(const struct store *s, const char *name, const char *req, char *reply,
		 size_t cap, int timeout_ms, struct err *e);

/* Read one line from fd into buf (bounded); returns its length or <0. */
int control_read_line(int fd, char *buf, size_t cap, int timeout_ms);

#endif
