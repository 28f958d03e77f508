/* sandbox.h - the VMM's sandbox: the guest's security label for a VM.
 *
 * A container's root is host uid `id_base` (lib/idrange.h); a VM's VMM runs
 * as that same uid. Once every file the VMM needs is open (kernel, initrd,
 * disks, /dev/kvm), vmm_sandbox_enter drops the process to the label:
 * no_new_privs, uid/gid = the label with no supplementary groups, no
 * capability left in any set (bounding and ambient included), a Landlock
 * ruleset under which no path can be opened or created except unix sockets
 * in the given directories (the control and vsock sockets, re-created on
 * each boot), and a seccomp allow-list. Each VMM thread then narrows its
 * own filter to its kind (vmm_seccomp_thread).
 *
 * Seccomp is off with BERTH_VMM_NO_SECCOMP=1 in the environment (debugging:
 * strace the VMM, find a syscall a new code path needs) and in sanitizer
 * builds (ASan/UBSan make syscalls of their own, at unforeseeable places
 * such as an error report). A syscall outside the list ends the VMM with
 * a line on stderr (the guest's console.log) naming it and the thread. */
#ifndef BERTH_VM_SANDBOX_H
#define BERTH_VM_SANDBOX_H

#include <sys/types.h>
#include "lib/err.h"

#define VMM_SANDBOX_DIRS 2

struct vmm_sandbox {
	uid_t uid;               /* the label: uid and gid the VMM drops to */
	gid_t gid;
	/* directories where the VMM may still create and remove unix sockets
	 * (NULL: unused); they must be writable by the label */
	const char *sock_dirs[VMM_SANDBOX_DIRS];
};

/* What a thread does, hence which syscalls it may make. */
enum vmm_thread_kind {
	VMM_THREAD_MAIN,         /* builds each boot: KVM, memory, threads, sockets */
	VMM_THREAD_VCPU,         /* KVM_RUN and the devices' port-I/O and MMIO */
	VMM_THREAD_DEVICES,      /* the device loop: disks, vsock, timers */
	VMM_THREAD_CONSOLE,      /* stdin to the guest's console */
	VMM_THREAD_CONTROL,      /* the control socket */
};

/* Enter the sandbox; call with only one thread running (capabilities,
 * no_new_privs and Landlock are per thread; threads started afterwards
 * inherit them). Loads the VMM_THREAD_MAIN filter. */
int vmm_sandbox_enter(const struct vmm_sandbox *sb, struct err *e);

/* At the start of a VMM thread: when the process runs under the sandbox's
 * filter, stack the narrower filter of kind k. 0, or a negative errno
 * (the thread should then stop the VM). */
int vmm_seccomp_thread(enum vmm_thread_kind k);

/* Whether seccomp is applied (not in sanitizer builds, not with
 * BERTH_VMM_NO_SECCOMP=1). */
int vmm_seccomp_enabled(void);

#endif
