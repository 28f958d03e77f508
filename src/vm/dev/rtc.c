/* rtc.c - a minimal MC146818 CMOS clock: the time of day (read from the
 * host's clock at each access, in BCD and 24-hour mode), status registers
 * that never show an update in progress, and 128 bytes of CMOS RAM.
 * Without it Linux waits on the UIP bit of a floating bus while it sets up
 * its clock, which makes boots seconds slower. No alarm, periodic or update
 * interrupts (register C reads 0; IRQ 8 is never raised).
 * Reference: Motorola MC146818A datasheet, "Address Map" and "Registers A-D";
 * Linux arch/x86/kernel/rtc.c and drivers/rtc/rtc-mc146818-lib.c. */
#include "vm/dev/rtc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vm/bus.h"
#include "vm/layout.h"
#include "vm/vm.h"

#define REG_A       0x0a
#define REG_B       0x0b
#define REG_C       0x0c
#define REG_D       0x0d
#define REG_CENTURY 0x32     /* the FADT's CENTURY field names this index */
#define B_24H       0x02
#define B_BINARY    0x04

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t ram[128];
};

static uint8_t to_bcd(const struct rtc *r, unsigned v)
{
	if (r->ram[REG_B] & B_BINARY)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* Registers 0x00-0x09 and the century byte come from the host's UTC time. */
static uint8_t rtc_reg(struct rtc *r, uint8_t idx)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	switch (idx) {
	case 0x00: return to_bcd(r, (unsigned)tm.tm_sec);
	case 0x02: return to_bcd(r, (unsigned)tm.tm_min);
	case 0x04: return to_bcd(r, (unsigned)tm.tm_hour);
	case 0x06: return to_bcd(r, (unsigned)tm.tm_wday + 1);
	case 0x07: return to_bcd(r, (unsigned)tm.tm_mday);
	case 0x08: return to_bcd(r, (unsigned)tm.tm_mon + 1);
	case 0x09: return to_bcd(r, (unsigned)(tm.tm_year % 100));
	case REG_CENTURY: return to_bcd(r, (unsigned)(tm.tm_year / 100 + 19));
	case REG_A: return r->ram[REG_A] & 0x7f;          /* UIP never set */
	case REG_C: return 0;                             /* no interrupt flags */
	case REG_D: return 0x80;                          /* VRT: time is valid */
	default: return r->ram[idx & 0x7f];
	}
}

/* Port 0x70 selects a register (bit 7 is the NMI mask, ignored); port 0x71
 * reads or writes it. Writes to the time registers are dropped: the guest
 * cannot set the host's clock. */
static void rtc_io(void *dev, uint64_t off, uint8_t *data, unsigned len, int is_write)
{
	struct rtc *r = dev;
	pthread_mutex_lock(&r->lock);
	if (off == 0) {
		if (is_write)
			r->index = data[0] & 0x7f;
		else
			memset(data, 0xff, len);
	} else if (is_write) {
		if (r->index == REG_A || r->index == REG_B || r->index >= 0x0e)
			r->ram[r->index] = data[0];
	} else {
		memset(data, 0, len);
		data[0] = rtc_reg(r, r->index);
	}
	pthread_mutex_unlock(&r->lock);
}

int rtc_attach(struct vm *vm, struct rtc **out, struct err *e)
{
	struct rtc *r = calloc(1, sizeof(*r));
	if (!r)
		return err_sys(e, ENOMEM, "rtc");
	pthread_mutex_init(&r->lock, NULL);
	r->ram[REG_A] = 0x26;      /* 32.768 kHz time base, 1024 Hz rate */
	r->ram[REG_B] = B_24H;     /* BCD, 24-hour, no interrupts */
	*out = r;
	return bus_add(&vm->pio, PORT_RTC, 2, rtc_io, r, "rtc", e);
}

void rtc_free(struct rtc *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}
