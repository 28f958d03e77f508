/* acpi_pm.h - the ACPI fixed-hardware register block (PM1a + PM timer). */
#ifndef BERTH_VM_DEV_ACPI_PM_H
#define BERTH_VM_DEV_ACPI_PM_H

#include "lib/err.h"

struct vm;
struct acpi_pm;

/* Register PM1a_EVT (4 bytes), PM1a_CNT (2) and PM_TMR (4) at PORT_ACPI_PM. */
int acpi_pm_attach(struct vm *vm, struct acpi_pm **out, struct err *e);
void acpi_pm_free(struct acpi_pm *p);

/* Press the power button (4.8.4.2.1): the guest's ACPI button driver turns
 * it into a power-off request for its init. Safe from any thread. */
void acpi_pm_power_button(struct acpi_pm *p);

/* Whether the guest has enabled the power-button event (a kernel without
 * the ACPI button driver never does, and would ignore a press). */
int acpi_pm_power_button_armed(struct acpi_pm *p);

#endif
