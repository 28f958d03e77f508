/* session.h - one EXEC session of the guest agent: run the command, relay
 * STDIN/RESIZE/SIGNAL in and STDOUT/STDERR out with bounded buffers, end
 * with EXIT once the command exited and its output was delivered. */
#ifndef BERTH_GUEST_SESSION_H
#define BERTH_GUEST_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include "lib/agent_proto.h"

/* Receive buffer for frames from the host: one whole frame always fits. */
#define SESSION_RX_CAP (AGENT_HDR + AGENT_MAX_PAYLOAD)

/* Serve x on the connection conn (blocking when called). rx[0..rx_len) are
 * bytes the host sent after EXEC (rx has SESSION_RX_CAP bytes of room).
 * Answers ERROR when the command cannot start; when the host goes away or
 * breaks the protocol, the command's process group gets SIGHUP, then
 * SIGKILL after 2 s. Returns when the session is over (conn still open). */
void session_run(int conn, const struct agent_exec *x, uint8_t *rx, size_t rx_len);

#endif
