/* store.h - the guest store: $BERTH_ROOT (persistent) and $BERTH_RUN (runtime).
 *
 *   $BERTH_ROOT/templates/<name>/       template trees (rootfs/ + template.json)
 *   $BERTH_ROOT/guests/<name>/          config.json, state.json, rootfs/ or disk.img,
 *                                       console.log, monitor.log
 *   $BERTH_ROOT/.lock                   store lock: create/destroy/id allocation
 *   $BERTH_RUN/locks/<name>             per-guest verb lock
 *   $BERTH_ROOT/cache/                  VM initramfs images (vm/guest.h)
 *   $BERTH_RUN/<name>/                  runtime dir, flock'ed by the live monitor:
 *                                       control.sock, pid (+ vsock.sock for a VM)
 */
#ifndef BERTH_STORE_H
#define BERTH_STORE_H

#include <limits.h>
#include <sys/types.h>
#include "lib/config.h"
#include "lib/err.h"

struct store {
	char root[PATH_MAX - 128];
	char run[PATH_MAX - 128];
};

/* Fill from BERTH_ROOT / BERTH_RUN (or the defaults) and create the dirs. */
int store_open(struct store *s, struct err *e);

/* Path helpers: write "<root>/guests/<name>/<leaf>" etc. into buf. */
void store_guest_path(const struct store *s, const char *name, const char *leaf, char *buf,
		      size_t len);
void store_run_path(const struct store *s, const char *name, const char *leaf, char *buf,
		    size_t len);
void store_template_path(const struct store *s, const char *name, const char *leaf, char *buf,
			 size_t len);

/* Locks; each returns an fd to close to release. */
int store_lock(const struct store *s, struct err *e);
int store_guest_lock(const struct store *s, const char *name, struct err *e);
/* Remove the guest's lock file (while holding it; see lock_path). */
void store_guest_lock_remove(const struct store *s, const char *name);

int guest_exists(const struct store *s, const char *name);
/* Load config; a missing guest is EXIT_STATE "no guest named X". */
int guest_load(const struct store *s, const char *name, struct guest_config *c, struct err *e);
int guest_save(const struct store *s, const struct guest_config *c, struct err *e);

/* Names of all guests, sorted; free with names_free. */
int store_list(const struct store *s, const char *sub, char ***names, size_t *n, struct err *e);
void names_free(char **names, size_t n);

/* Runtime view of a guest. */
struct guest_runtime {
	int running;          /* a live monitor holds the runtime dir */
	int stale;            /* runtime dir present but its monitor is gone */
	pid_t monitor_pid;
	pid_t init_pid;       /* guest init on the host; 0 if stopped */
	long long started;    /* unix seconds */
};
int guest_runtime(const struct store *s, const char *name, struct guest_runtime *rt);

/* Last exit of the guest's init, from state.json. */
struct guest_exit {
	int valid;
	int code;             /* exit status, or -1 */
	int signal;           /* terminating signal, or 0 */
	long long when;
	char reason[32];      /* "stopped", "killed", "exited", "poweroff", "monitor-lost" */
};
int guest_exit_load(const struct store *s, const char *name, struct guest_exit *x);
int guest_exit_save(const struct store *s, const char *name, const struct guest_exit *x,
		    struct err *e);

#endif
