/* caps.c - drop the capabilities a system container must not hold.
 *
 * A container's init runs as uid 0 of its own user namespace, so execve(2)
 * gives it every capability of the bounding set (capabilities(7), "Capabilities
 * and execution of programs by root"). Removing a capability from the bounding
 * set is therefore what keeps it out of the guest for good; we also remove it
 * from the current permitted/effective/inheritable sets and clear the ambient
 * set so nothing carries it across the exec. Raw prctl/capget/capset; no libcap. */
#include "ct/caps.h"

#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/fsutil.h"

/* Older uapi headers lack the newest capabilities; the numbers are ABI. */
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* Kept on purpose: sys_boot (reboot(2) in a pid namespace only ends the
 * container's init), sys_nice, lease, checkpoint_restore (CRIU inside the
 * guest), audit_write (login tools), sys_admin/net_admin (namespaced). */
const int caps_dropped[] = {
	CAP_SYS_MODULE,     /* load kernel modules */
	CAP_SYS_RAWIO,      /* iopl, /dev/mem */
	CAP_SYS_TIME,       /* set the host clock */
	CAP_MAC_ADMIN,      /* configure the LSM */
	CAP_MAC_OVERRIDE,   /* bypass the LSM */
	CAP_AUDIT_CONTROL,  /* configure host auditing */
	CAP_AUDIT_READ,     /* read the host audit log */
	CAP_SYSLOG,         /* host kernel log, kernel addresses */
	CAP_WAKE_ALARM,     /* wake the host from suspend */
	CAP_BLOCK_SUSPEND,  /* keep the host from suspending */
	CAP_SYS_PACCT,      /* host process accounting */
	CAP_BPF,            /* load BPF programs */
	CAP_PERFMON,        /* perf events on the host */
};
const unsigned caps_dropped_count = sizeof(caps_dropped) / sizeof(caps_dropped[0]);

/* Highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap,
 * capabilities(7)); CAP_LAST_CAP of our headers if /proc is not readable. */
static int caps_last_cap(void)
{
	char *buf = NULL;
	size_t len;
	struct err ignore = { 0 };
	int last = CAP_LAST_CAP;

	if (read_file("/proc/sys/kernel/cap_last_cap", 64, &buf, &len, &ignore) == 0) {
		char *end;
		long v = strtol(buf, &end, 10);
		if (end != buf && v > 0 && v < 64)
			last = (int)v;
	}
	free(buf);
	return last;
}

/* Drop caps_dropped from the bounding set (prctl PR_CAPBSET_DROP), clear
 * the ambient set (PR_CAP_AMBIENT_CLEAR_ALL) and remove them from the
 * inheritable, permitted and effective sets (capset(2), version 3). */
int caps_drop_bounding(struct err *e)
{
	int last = caps_last_cap();
	uint32_t mask[2] = { 0, 0 };

	for (unsigned i = 0; i < caps_dropped_count; i++) {
		int cap = caps_dropped[i];
		if (cap > last)
			continue; /* the kernel does not know it: nobody can have it */
		mask[cap / 32] |= 1u << (cap % 32);
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return err_sys(e, errno, "drop capability %d from the bounding set "
				       "(needs CAP_SETPCAP in the container's user namespace)", cap);
	}

	/* EINVAL: kernel older than 4.3 has no ambient set, nothing to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return err_sys(e, errno, "clear the ambient capability set");

	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return err_sys(e, errno, "capget");
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		data[i].effective &= ~mask[i];
		data[i].permitted &= ~mask[i];
		data[i].inheritable &= ~mask[i];
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return err_sys(e, errno, "capset: remove the dropped capabilities from the "
			       "permitted, effective and inheritable sets");
	return 0;
}
