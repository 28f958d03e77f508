/* init.h - `berth init`: PID 1 of a VM's initramfs. Loads the modules the
 * initramfs carries, mounts the root disk, starts the guest agent and
 * hands over to the guest's own init. */
#ifndef BERTH_GUEST_INIT_H
#define BERTH_GUEST_INIT_H

/* 1 when this process is a VM's initramfs init: PID 1 and argv[0] ending
 * in "init" (the kernel runs /init). */
int init_wanted(int argc, char **argv);

/* Run as PID 1; never returns: it execs the guest's init, or writes one
 * line on /dev/console saying what failed and powers the VM off. */
void init_main(int argc, char **argv) __attribute__((noreturn));

#endif
