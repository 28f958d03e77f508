/* power.c - power off the guest through its init, and watch the power key
 * (the VMM's ACPI power button appears as an evdev device with KEY_POWER). */
#include "guest/power.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/input.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int power_init_is_systemd(void)
{
	char comm[32] = "";
	int fd = open("/proc/1/comm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	return !strcmp(comm, "systemd");
}

/* 1 if a process whose comm is name runs (a scan of /proc). */
static int process_running(const char *name)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	int found = 0;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		char path[64], comm[32];
		if (de->d_name[0] < '1' || de->d_name[0] > '9' || strlen(de->d_name) > 10)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n <= 0)
			continue;
		comm[n] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		found = !strcmp(comm, name);
	}
	closedir(d);
	return found;
}

/* 1 if the directory path has an entry besides . and .. */
static int dir_has_entries(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *de;
	int any = 0;
	while (!any && (de = readdir(d)))
		any = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return any;
}

int power_key_is_logind(void)
{
	/* logind listens only to input devices udev tagged "power-switch" */
	return power_init_is_systemd() && dir_has_entries("/run/udev/tags/power-switch") &&
	       process_running("systemd-logind");
}

int power_request(struct err *e)
{
	int systemd = power_init_is_systemd();
	int sig = systemd ? SIGRTMIN + 4 : SIGUSR2;
	if (kill(1, sig) < 0)
		return err_sys(e, errno, "signal the guest's init (%s) to power off",
			       systemd ? "systemd" : "busybox init");
	return 0;
}

/* 1 if the evdev device on fd reports KEY_POWER among its keys. */
static int has_power_key(int fd)
{
	unsigned long bits[KEY_MAX / (8 * sizeof(unsigned long)) + 1];
	memset(bits, 0, sizeof(bits));
	if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof(bits)), bits) < 0)
		return 0;
	const unsigned per = 8 * sizeof(unsigned long);
	return (bits[KEY_POWER / per] >> (KEY_POWER % per)) & 1;
}

int powerkey_open(int *fds, int max)
{
	DIR *d = opendir("/dev/input");
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	while (n < max && (de = readdir(d))) {
		unsigned idx;
		char path[64], tail;
		if (sscanf(de->d_name, "event%u%c", &idx, &tail) != 1)
			continue;
		snprintf(path, sizeof(path), "/dev/input/event%u", idx);
		int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			continue;
		if (has_power_key(fd))
			fds[n++] = fd;
		else
			close(fd);
	}
	closedir(d);
	return n;
}

int powerkey_pressed(int fd)
{
	struct input_event ev[16];
	int pressed = 0;
	for (;;) {
		ssize_t n = read(fd, ev, sizeof(ev));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? pressed : -1;
		if (n == 0)
			return -1;
		for (size_t i = 0; i < (size_t)n / sizeof(ev[0]); i++)
			if (ev[i].type == EV_KEY && ev[i].code == KEY_POWER && ev[i].value == 1)
				pressed = 1;
	}
}
