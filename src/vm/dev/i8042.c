/* i8042.c - the keyboard controller's one job in a VM: the CPU reset line.
 * Linux reboots (reboot=k, and as a fallback of the default order) by
 * writing command 0xfe ("pulse output line 0", which is wired to CPU reset)
 * to port 0x64 after waiting for the input buffer to drain (status bit 1).
 * We report an empty controller (status 0, no keyboard data) and turn 0xfe
 * into a reboot request. The FADT says no 8042 is present, so Linux's
 * i8042 driver does not probe it.
 * Reference: IBM PC/AT Technical Reference, "Keyboard Controller" commands;
 * Linux arch/x86/kernel/reboot.c (BOOT_KBD). */
#include "vm/dev/i8042.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/bus.h"
#include "vm/layout.h"
#include "vm/vm.h"

#define CMD_RESET 0xfe

struct i8042 {
	struct vm *vm;
};

/* Port 0x60: data, always empty. */
static void i8042_data(void *dev, uint64_t off, uint8_t *data, unsigned len, int is_write)
{
	if (!is_write)
		memset(data, 0, len);
}

/* Port 0x64: status on read (nothing pending), command on write. */
static void i8042_cmd(void *dev, uint64_t off, uint8_t *data, unsigned len, int is_write)
{
	struct i8042 *k = dev;
	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	if (data[0] == CMD_RESET)
		vm_request_stop(k->vm, VM_REBOOT, 0, "guest rebooted (keyboard controller reset)");
}

int i8042_attach(struct vm *vm, struct i8042 **out, struct err *e)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	if (!k)
		return err_sys(e, ENOMEM, "i8042");
	k->vm = vm;
	*out = k;
	int r = bus_add(&vm->pio, PORT_I8042_DATA, 1, i8042_data, k, "i8042", e);
	if (r == 0)
		r = bus_add(&vm->pio, PORT_I8042_CMD, 1, i8042_cmd, k, "i8042", e);
	return r;
}

void i8042_free(struct i8042 *k)
{
	free(k);
}
