/* agent_client.h - the host side of the guest agent protocol
 * (lib/agent_proto.h): connect to a VM's agent and run one command there
 * with this process's stdio, as `berth exec`/`berth run` do for VMs. */
#ifndef BERTH_CLI_AGENT_CLIENT_H
#define BERTH_CLI_AGENT_CLIENT_H

#include "lib/err.h"

/* Connect to the agent through the VMM's unix socket for vsock
 * (Firecracker's convention: send "CONNECT <port>\n", get "OK <n>\n").
 * Returns the connected fd or -errno with e set. */
int agent_connect_vm(const char *vsock_sock_path, unsigned port, struct err *e);

/* Connect to an agent listening on a unix socket (`berth agent --unix`). */
int agent_connect_unix(const char *path, struct err *e);

/* Run argv in the guest over fd (env: extra NAME=value entries or NULL)
 * and relay this process's stdin, stdout and stderr. With tty the command
 * gets a pty: a terminal stdin is put in raw mode (restored after), its
 * window size is sent at the start and on SIGWINCH. SIGINT and SIGQUIT
 * received meanwhile are passed to the command; SIGTERM and SIGHUP end the
 * session (exit code 128+N; the agent hangs up on the command). Returns
 * 0 with *exit_code set (128+N for signal N); when the command could not
 * start, *exit_code is 127 and the agent's message is the error (exit code
 * 127). Frames from the guest are untrusted: a malformed one ends the
 * session with an error. fd stays open. */
int agent_session(int fd, char *const argv[], const char *const env[], int tty, int *exit_code,
		  struct err *e);

#endif
