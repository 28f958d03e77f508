/* acpi_pm.h - the ACPI fixed-hardware register block (PM1a + PM timer). */
#ifndef BERTH_VM_DEV_ACPI_PM_H
#define BERTH_VM_DEV_ACPI_PM_H

#include "lib/err.h"

struct vm;
struct acpi_pm;

/* Register PM1a_EVT (4 bytes), PM1a_CNT (2) and PM_TMR (4) at PORT_ACPI_PM. */
int acpi_pm_attach(struct vm *vm, struct acpi_pm **out, struct err *e);
void acpi_pm_free(struct acpi_pm *p);

#endif
