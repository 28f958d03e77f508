/* seccomp.h - the default seccomp filter of containers (libseccomp). */
#ifndef BERTH_SECCOMP_H
#define BERTH_SECCOMP_H

#include "lib/err.h"

/* Load the default filter into the calling thread: allow by default, fail
 * with EPERM the syscalls that let a guest reach past its namespaces
 * (kexec_load, kexec_file_load, init_module, finit_module, delete_module,
 * open_by_handle_at, keyctl, add_key, request_key, bpf, perf_event_open,
 * userfaultfd, iopl, ioperm, swapon, swapoff, acct, quotactl, lookup_dcookie,
 * uselib, syslog, ... see seccomp.c), on every architecture the host can
 * run (x86_64, x32, i386 on amd64). Does not set no_new_privs; the caller
 * decides (exec sets it, init has CAP_SYS_ADMIN in its namespace). */
int seccomp_load_default(struct err *e);

#endif
