/* caps.h - capability bounding set of guests and exec'd processes. */
#ifndef BERTH_CAPS_H
#define BERTH_CAPS_H

#include "lib/err.h"

/* Drop from the bounding set (and the ambient/inheritable sets) every
 * capability a system container must not have: sys_module, sys_rawio,
 * sys_time, mac_admin, mac_override, audit_control, audit_read, syslog,
 * wake_alarm, block_suspend, sys_pacct, bpf, perfmon, ... (the list in
 * caps.c). Run inside the guest's user namespace before exec. */
int caps_drop_bounding(struct err *e);

/* Names of the dropped capabilities (for tests and docs). */
extern const int caps_dropped[];
extern const unsigned caps_dropped_count;

#endif
