/* agent.h - berth's guest agent: the one thing berth adds to a VM. It
 * serves `berth exec`/`berth run` from the host over virtio-vsock (one
 * connection per command, protocol in lib/agent_proto.h), answers PING,
 * and powers the guest off on POWEROFF or the ACPI power button. It runs
 * nothing the host did not ask for. */
#ifndef BERTH_GUEST_AGENT_H
#define BERTH_GUEST_AGENT_H

#include "lib/err.h"

struct agent_opts {
	unsigned vsock_port;       /* AF_VSOCK port when unix_path is NULL */
	const char *unix_path;     /* tests: a unix socket instead (no power duties) */
};

/* Listen and serve until a fatal error (returns -errno with e set). Each
 * connection is served by its own process; vsock connections are taken
 * only from the host (CID 2), never from processes inside the guest. */
int agent_serve(const struct agent_opts *o, struct err *e);

#endif
