/* i8042.h - the PC keyboard controller, reduced to its reset line. */
#ifndef BERTH_VM_DEV_I8042_H
#define BERTH_VM_DEV_I8042_H

#include "lib/err.h"

struct vm;
struct i8042;

/* Register ports 0x60 and 0x64 on the VM's pio bus. */
int i8042_attach(struct vm *vm, struct i8042 **out, struct err *e);
void i8042_free(struct i8042 *k);

#endif
