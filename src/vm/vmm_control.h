/* vmm_control.h - how the world asks a running VMM to stop: a control
 * socket speaking the container monitor's line protocol (src/ct/control.h),
 * and SIGPWR, which presses the guest's ACPI power button as SIGPWR asks a
 * container's init to power off.
 *
 * Requests (one line each; answers are one line):
 *   "status"        -> {"state":"running","pid":N,"boots":N,"vcpus":N,
 *                       "memory_bytes":N,"power_button_armed":B}
 *   "stats"         -> one JSON line of counters (vm/vm_stats.h)
 *   "shutdown"      -> "ok" once the power button is pressed
 *   "stop SECONDS"  -> presses the button; "ok" once the VMM has ended
 *                      (killed when the guest is not off after SECONDS)
 *   "kill"          -> "ok" once the VMM has ended
 * Errors: "error <message>". One thread, alive for the whole VMM run
 * (across reboots); it reaches the current boot's VM only under its lock. */
#ifndef BERTH_VM_VMM_CONTROL_H
#define BERTH_VM_VMM_CONTROL_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "lib/err.h"

struct vm;

#define VMM_CONTROL_CLIENTS 8

struct vmm_control {
	int listen_fd;              /* -1 without a socket */
	int sig_fd;                 /* signalfd for SIGPWR */
	int stop_fd;                /* eventfd: the thread ends */
	char path[108];
	pthread_t thread;
	int running;

	pthread_mutex_t lock;       /* guards everything below */
	struct vm *vm;              /* the current boot; NULL between boots */
	unsigned boots, vcpus;
	uint64_t memory;
	int stopping;               /* a stop or kill was asked: do not reboot */
	struct timespec deadline;   /* stop: kill at this time (tv_sec 0: none) */
	int clients[VMM_CONTROL_CLIENTS];
	char inbuf[VMM_CONTROL_CLIENTS][128];
	unsigned inlen[VMM_CONTROL_CLIENTS];
	int waiting[VMM_CONTROL_CLIENTS];  /* answer "ok" when the VMM ends */
};

/* Block SIGPWR and start the thread; with a non-NULL path, also listen on
 * a unix socket there (mode 0600; a stale socket is replaced). */
int vmm_control_start(struct vmm_control *c, const char *path, unsigned vcpus,
		      uint64_t memory, struct err *e);

/* The VM of the boot now starting, and its end (before it is torn down). */
void vmm_control_attach(struct vmm_control *c, struct vm *vm);
void vmm_control_detach(struct vmm_control *c);

/* Whether a stop or kill was requested (a reboot then ends the VMM). */
int vmm_control_stopping(struct vmm_control *c);

/* End the thread, answer "ok" to whoever waits for the end, remove the
 * socket. */
void vmm_control_finish(struct vmm_control *c);

#endif
