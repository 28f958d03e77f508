/* acpi_pm.c - ACPI fixed hardware in I/O space, as the FADT describes it:
 *   +0 PM1a_STS (write 1 to clear)   +2 PM1a_EN
 *   +4 PM1a_CNT: SCI_EN (bit 0, always 1: no legacy mode), SLP_TYP (bits
 *      10-12), SLP_EN (bit 13, write-only): SLP_EN with the \_S5 type from
 *      the DSDT powers the machine off
 * No PM timer (the FADT declares none, see acpi.c): the guest keeps time
 * with kvm-clock and the TSC.
 * The one fixed event raised is the power button (PWRBTN_STS/PWRBTN_EN, bit 8;
 * the FADT declares it a fixed feature): acpi_pm_power_button sets its
 * status, and the SCI (level-triggered, IRQ_ACPI_SCI) is held high while
 * an enabled status bit is set, as on real chipsets. No GPEs.
 * Reference: ACPI 6.5 section 4.8.3 (PM1 event/control, PM timer), 4.8.4.2.1
 * (power button), 7.4.2 (\_Sx objects), 16.1.6 (transitioning to S5). */
#include "vm/dev/acpi_pm.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/acpi.h"
#include "vm/bus.h"
#include "vm/kvm.h"
#include "vm/layout.h"
#include "vm/vm.h"

#define PM_BLOCK_LEN 6          /* PM1a_EVT (4 bytes), PM1a_CNT (2) */
#define CNT_SCI_EN  0x0001
#define CNT_SLP_EN  0x2000
#define PM1_PWRBTN  0x0100      /* PWRBTN_STS in PM1_STS, PWRBTN_EN in PM1_EN */
#define PM1_EVENTS  PM1_PWRBTN  /* the fixed events this machine raises */
/* enable bits that read back as written (4.8.3.1.2): besides the power
 * button, GBL_EN (bit 5) and RTC_EN (bit 10), which Linux sets and checks
 * at boot ("Could not enable GlobalLock/RealTimeClock event" otherwise);
 * nothing here ever raises their status bits */
#define PM1_EN_RW   (PM1_PWRBTN | 0x0020 | 0x0400)

struct acpi_pm {
	struct vm *vm;
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
	int sci;                  /* level last driven on the SCI line */
	uint64_t presses;
};

/* 4.8.3.1: the SCI is asserted while any status bit is set whose enable
 * bit is set. Called with the lock held after every change. */
static void pm_update_sci(struct acpi_pm *p)
{
	int level = (p->sts & p->en & PM1_EVENTS) != 0;
	if (level != p->sci) {
		p->sci = level;
		kvm_irq_line(p->vm, IRQ_ACPI_SCI, level);
	}
}

/* 4.8.3.2.1: a write with SLP_EN set starts the transition to SLP_TYP. */
static void pm_write_cnt(struct acpi_pm *p, uint16_t v)
{
	if ((v & CNT_SLP_EN) && ((v >> 10) & 7) == ACPI_S5_SLP_TYP)
		vm_request_stop(p->vm, VM_POWEROFF, 0, "guest powered off (ACPI S5)");
	p->cnt = (uint16_t)((v & ~CNT_SLP_EN) | CNT_SCI_EN);
}

/* Any access width at any offset: assemble the 16-bit registers byte-wise. */
static void acpi_pm_io(void *dev, uint64_t off, uint8_t *data, unsigned len, int is_write)
{
	struct acpi_pm *p = dev;
	pthread_mutex_lock(&p->lock);
	uint8_t regs[PM_BLOCK_LEN];
	memcpy(regs + 0, &p->sts, 2);
	memcpy(regs + 2, &p->en, 2);
	memcpy(regs + 4, &p->cnt, 2);
	if (!is_write) {
		memset(data, 0, len);
		for (unsigned i = 0; i < len && off + i < sizeof(regs); i++)
			data[i] = regs[off + i];
	} else {
		uint8_t w[PM_BLOCK_LEN] = { 0 };
		int touched_cnt = 0;
		memcpy(w, regs, sizeof(w));
		memset(w, 0, 2);                  /* status: only bits written as 1 clear */
		for (unsigned i = 0; i < len && off + i < sizeof(regs); i++) {
			w[off + i] = data[i];
			if (off + i == 4 || off + i == 5)
				touched_cnt = 1;
		}
		uint16_t clr, en, cnt;
		memcpy(&clr, w + 0, 2);
		memcpy(&en, w + 2, 2);
		memcpy(&cnt, w + 4, 2);
		p->sts &= (uint16_t)~clr;
		p->en = en & PM1_EN_RW;
		if (touched_cnt)
			pm_write_cnt(p, cnt);
		pm_update_sci(p);
	}
	pthread_mutex_unlock(&p->lock);
}

int acpi_pm_attach(struct vm *vm, struct acpi_pm **out, struct err *e)
{
	struct acpi_pm *p = calloc(1, sizeof(*p));
	if (!p)
		return err_sys(e, ENOMEM, "acpi pm");
	pthread_mutex_init(&p->lock, NULL);
	p->vm = vm;
	p->cnt = CNT_SCI_EN;
	*out = p;
	return bus_add(&vm->pio, PORT_ACPI_PM, PM_BLOCK_LEN, acpi_pm_io, p, "acpi-pm", e);
}

void acpi_pm_power_button(struct acpi_pm *p)
{
	pthread_mutex_lock(&p->lock);
	p->sts |= PM1_PWRBTN;
	p->presses++;
	pm_update_sci(p);
	pthread_mutex_unlock(&p->lock);
}

int acpi_pm_power_button_armed(struct acpi_pm *p)
{
	pthread_mutex_lock(&p->lock);
	int armed = (p->en & PM1_PWRBTN) != 0;
	pthread_mutex_unlock(&p->lock);
	return armed;
}

void acpi_pm_free(struct acpi_pm *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}
