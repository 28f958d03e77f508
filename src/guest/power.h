/* power.h - the guest agent's power duties: ask the guest's init to power
 * off (POWEROFF requests, the ACPI power button where logind does not
 * handle it). */
#ifndef BERTH_GUEST_POWER_H
#define BERTH_GUEST_POWER_H

#include "lib/err.h"

/* Signal pid 1 to power off: SIGRTMIN+4 when its comm is "systemd", else
 * SIGUSR2 (busybox init's poweroff; its SIGPWR only halts, which leaves a
 * VM running). 0 or -errno with e set. */
int power_request(struct err *e);

/* Open up to max /dev/input/event* devices that have KEY_POWER into fds[]
 * (non-blocking, close-on-exec). Returns how many. */
int powerkey_open(int *fds, int max);

/* Read the events waiting on fd: 1 if the power key was pressed, 0 if not,
 * -1 when the device is gone (close it). */
int powerkey_pressed(int fd);

/* 1 if pid 1 is systemd. */
int power_init_is_systemd(void);

/* 1 if systemd-logind handles the power key (and its HandlePowerKey=
 * decides): pid 1 is systemd, systemd-logind runs and udev has tagged a
 * device "power-switch". A minimal systemd guest (no dbus, so no logind;
 * or no udev) leaves the key to the agent. */
int power_key_is_logind(void);

#endif
