/* test_vm_devices.c - the VMM's buses and emulated chips, driven the way a
 * guest drives them, no KVM needed (interrupt-line ioctls go to a closed fd
 * and are ignored): bus dispatch, the 8250 UART, ACPI PM1a power-off, the
 * i8042 reset line, the CMOS clock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm/acpi.h"
#include "vm/bus.h"
#include "vm/dev/acpi_pm.h"
#include "vm/dev/i8042.h"
#include "vm/dev/rtc.h"
#include "vm/dev/serial_8250.h"
#include "vm/layout.h"
#include "vm/vm.h"

static void vm_init(struct vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
}

static uint8_t in8(struct vm *vm, uint16_t port)
{
	uint8_t v = 0x5a;
	bus_access(&vm->pio, port, &v, 1, 0);
	return v;
}

static void out8(struct vm *vm, uint16_t port, uint8_t v)
{
	bus_access(&vm->pio, port, &v, 1, 1);
}

static void nop_io(void *dev, uint64_t off, uint8_t *data, unsigned len, int is_write)
{
	(*(int *)dev)++;
	if (!is_write)
		memset(data, 0x11, len);
}

static void test_bus(void **state)
{
	struct bus b = {0};
	struct err e = {0};
	int hits = 0;
	assert_int_equal(bus_add(&b, 0x100, 8, nop_io, &hits, "a", &e), 0);
	assert_int_equal(bus_add(&b, 0x10, 4, nop_io, &hits, "b", &e), 0);
	assert_int_equal(bus_add(&b, 0x108, 8, nop_io, &hits, "c", &e), 0);   /* adjacent is fine */
	assert_true(bus_add(&b, 0x104, 8, nop_io, &hits, "d", &e) < 0);        /* overlaps a and c */
	assert_non_null(strstr(e.msg, "overlaps"));
	assert_true(bus_add(&b, 0xfe, 4, nop_io, &hits, "d", &e) < 0);         /* overlaps a */
	assert_true(bus_add(&b, 0x200, 0, nop_io, &hits, "d", &e) < 0);        /* empty */
	assert_true(bus_add(&b, UINT64_MAX - 1, 4, nop_io, &hits, "d", &e) < 0); /* wraps */
	uint8_t d[8];
	assert_int_equal(bus_access(&b, 0x107, d, 1, 0), 0);
	assert_int_equal(d[0], 0x11);
	assert_int_equal(bus_access(&b, 0x104, d, 4, 0), 0);
	assert_int_equal(bus_access(&b, 0x106, d, 4, 0), -ENOENT);             /* straddles a|c */
	assert_int_equal(d[0], 0xff);
	assert_int_equal(bus_access(&b, 0x14, d, 1, 0), -ENOENT);
	assert_int_equal(bus_access(&b, UINT64_MAX, d, 8, 0), -ENOENT);
	assert_int_equal(bus_access(&b, 0x10, d, 4, 1), 0);
	assert_int_equal(hits, 3);
	bus_free(&b);
}

#define COM 0x3f8

static void test_serial_registers(void **state)
{
	struct vm vm;
	struct err e = {0};
	vm_init(&vm);
	int p[2];
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	struct serial8250 *s = NULL;
	assert_int_equal(serial_attach(&vm, COM, 4, p[1], &s, &e), 0);

	/* Linux autoconfig: IER keeps its low nibble only */
	out8(&vm, COM + 1, 0);
	assert_int_equal(in8(&vm, COM + 1), 0);
	out8(&vm, COM + 1, 0xff);
	assert_int_equal(in8(&vm, COM + 1), 0x0f);
	out8(&vm, COM + 1, 0);
	out8(&vm, COM + 7, 0xa5);
	assert_int_equal(in8(&vm, COM + 7), 0xa5);
	/* DLAB: offsets 0/1 are the divisor latch */
	out8(&vm, COM + 3, 0x83);
	out8(&vm, COM + 0, 0x01);
	out8(&vm, COM + 1, 0x00);
	assert_int_equal(in8(&vm, COM + 0), 0x01);
	assert_int_equal(in8(&vm, COM + 1), 0x00);
	out8(&vm, COM + 3, 0x03);
	assert_int_equal(in8(&vm, COM + 3), 0x03);
	/* FIFO enabled: IIR shows 0xc0; nothing pending */
	out8(&vm, COM + 2, 0x07);
	assert_int_equal(in8(&vm, COM + 2), 0xc1);
	/* transmitter always empty */
	assert_int_equal(in8(&vm, COM + 5) & 0x60, 0x60);
	/* THRE interrupt: raised by enabling it, cleared by reading IIR */
	out8(&vm, COM + 1, 0x02);
	assert_int_equal(in8(&vm, COM + 2), 0xc2);
	assert_int_equal(in8(&vm, COM + 2), 0xc1);
	/* a byte out: to the fd, and THRE pending again */
	out8(&vm, COM + 0, 'A');
	char c = 0;
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'A');
	assert_int_equal(in8(&vm, COM + 2), 0xc2);
	out8(&vm, COM + 1, 0);
	/* loopback: MSR mirrors MCR, THR feeds RBR */
	out8(&vm, COM + 4, 0x1a);
	assert_int_equal(in8(&vm, COM + 6) & 0xf0, 0x90);
	out8(&vm, COM + 0, 'z');
	assert_int_equal(in8(&vm, COM + 5) & 0x01, 0x01);
	assert_int_equal(in8(&vm, COM + 0), 'z');
	assert_int_equal(in8(&vm, COM + 5) & 0x01, 0);
	assert_int_equal(read(p[0], &c, 1), -1);                 /* nothing reached the fd */
	out8(&vm, COM + 4, 0x0b);
	assert_int_equal(in8(&vm, COM + 6) & 0xb0, 0xb0);        /* DCD DSR CTS: attached */
	/* hostile accesses: wide, odd offsets; nothing breaks */
	uint8_t d[4] = { 1, 2, 3, 4 };
	assert_int_equal(bus_access(&vm.pio, COM + 4, d, 4, 0), 0);
	assert_int_equal(d[1] | d[2] | d[3], 0);
	assert_int_equal(bus_access(&vm.pio, COM + 5, d, 4, 0), -ENOENT);  /* past the device */
	assert_int_equal(bus_access(&vm.pio, COM + 6, d, 2, 1), 0);
	assert_int_equal(bus_access(&vm.pio, COM + 7, d, 2, 0), -ENOENT);  /* past the device */
	serial_free(s);
	bus_free(&vm.pio);
	close(p[0]);
	close(p[1]);
}

static void test_serial_receive(void **state)
{
	struct vm vm;
	struct err e = {0};
	vm_init(&vm);
	struct serial8250 *s = NULL;
	assert_int_equal(serial_attach(&vm, COM, 4, -1, &s, &e), 0);
	out8(&vm, COM + 2, 0x01);
	out8(&vm, COM + 1, 0x01);                                /* RDI */
	assert_int_equal(in8(&vm, COM + 2), 0xc1);
	uint8_t buf[40];
	for (int i = 0; i < 40; i++)
		buf[i] = (uint8_t)('a' + i % 26);
	size_t n = serial_rx_push(s, buf, sizeof(buf));
	assert_true(n > 0 && n < sizeof(buf));                   /* the FIFO is bounded */
	assert_int_equal(serial_rx_push(s, buf + n, 1), 0);
	assert_int_equal(in8(&vm, COM + 2), 0xc4);               /* received data available */
	struct pollfd pf = { .fd = serial_rx_wakeup_fd(s), .events = POLLIN };
	assert_int_equal(poll(&pf, 1, 0), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(in8(&vm, COM + 0), buf[i]);
	assert_int_equal(in8(&vm, COM + 5) & 0x01, 0);
	assert_int_equal(in8(&vm, COM + 2), 0xc1);
	assert_int_equal(poll(&pf, 1, 0), 1);                    /* the feeder is woken */
	assert_int_equal(in8(&vm, COM + 0), 0);                  /* empty FIFO reads 0 */
	/* FCR clears the receive FIFO */
	assert_int_equal(serial_rx_push(s, buf, 3), 3);
	out8(&vm, COM + 2, 0x03);
	assert_int_equal(in8(&vm, COM + 5) & 0x01, 0);
	serial_free(s);
	bus_free(&vm.pio);
}

static void test_acpi_poweroff(void **state)
{
	struct vm vm;
	struct err e = {0};
	vm_init(&vm);
	struct acpi_pm *pm = NULL;
	assert_int_equal(acpi_pm_attach(&vm, &pm, &e), 0);
	uint16_t cnt;
	assert_int_equal(bus_access(&vm.pio, PORT_ACPI_PM + 4, (uint8_t *)&cnt, 2, 0), 0);
	assert_int_equal(cnt & 1, 1);                             /* SCI_EN: ACPI mode */
	/* Linux writes SLP_TYP first, then SLP_TYP | SLP_EN */
	cnt = (uint16_t)(1 | ACPI_S5_SLP_TYP << 10);
	bus_access(&vm.pio, PORT_ACPI_PM + 4, (uint8_t *)&cnt, 2, 1);
	assert_int_equal(vm.outcome, VM_RUNNING);
	cnt = (uint16_t)(0 << 10 | 1 << 13);                      /* SLP_EN with S0: ignored */
	bus_access(&vm.pio, PORT_ACPI_PM + 4, (uint8_t *)&cnt, 2, 1);
	assert_int_equal(vm.outcome, VM_RUNNING);
	assert_int_equal(bus_access(&vm.pio, PORT_ACPI_PM + 4, (uint8_t *)&cnt, 2, 0), 0);
	assert_int_equal(cnt & (1 << 13), 0);                     /* SLP_EN reads as 0 */
	/* a byte write of the high half counts too */
	out8(&vm, PORT_ACPI_PM + 5, (uint8_t)((ACPI_S5_SLP_TYP << 10 | 1 << 13) >> 8));
	assert_int_equal(vm.outcome, VM_POWEROFF);
	/* no PM timer behind the block (the FADT declares none) */
	uint32_t t1 = 0;
	assert_true(bus_access(&vm.pio, PORT_ACPI_PM + 8, (uint8_t *)&t1, 4, 0) != 0);
	/* PM1_EN: the enable bits Linux sets and reads back at boot (GBL_EN,
	 * PWRBTN_EN, RTC_EN) keep what is written; the others read 0 */
	uint16_t en = 0xffff;
	bus_access(&vm.pio, PORT_ACPI_PM + 2, (uint8_t *)&en, 2, 1);
	assert_int_equal(bus_access(&vm.pio, PORT_ACPI_PM + 2, (uint8_t *)&en, 2, 0), 0);
	assert_int_equal(en, 0x0520);
	en = 0;
	bus_access(&vm.pio, PORT_ACPI_PM + 2, (uint8_t *)&en, 2, 1);
	bus_access(&vm.pio, PORT_ACPI_PM + 2, (uint8_t *)&en, 2, 0);
	assert_int_equal(en, 0);
	/* status bits are write-1-to-clear; odd widths and offsets are harmless */
	uint8_t junk[4] = { 0xff, 0xff, 0xff, 0xff };
	bus_access(&vm.pio, PORT_ACPI_PM + 5, junk, 2, 1);
	bus_access(&vm.pio, PORT_ACPI_PM + 1, junk, 4, 1);
	acpi_pm_free(pm);
	bus_free(&vm.pio);
}

static void test_i8042_reset(void **state)
{
	struct vm vm;
	struct err e = {0};
	vm_init(&vm);
	struct i8042 *k = NULL;
	assert_int_equal(i8042_attach(&vm, &k, &e), 0);
	assert_int_equal(in8(&vm, PORT_I8042_CMD) & 0x02, 0);    /* input buffer empty */
	out8(&vm, PORT_I8042_CMD, 0xad);                          /* other commands: ignored */
	out8(&vm, PORT_I8042_DATA, 0xfe);                         /* 0xfe as data: ignored */
	assert_int_equal(vm.outcome, VM_RUNNING);
	out8(&vm, PORT_I8042_CMD, 0xfe);
	assert_int_equal(vm.outcome, VM_REBOOT);
	i8042_free(k);
	bus_free(&vm.pio);
}

static int is_bcd(uint8_t v, unsigned max)
{
	return (v & 0x0f) <= 9 && (v >> 4) <= 9 && (unsigned)((v >> 4) * 10 + (v & 0x0f)) <= max;
}

static void test_rtc(void **state)
{
	struct vm vm;
	struct err e = {0};
	vm_init(&vm);
	struct rtc *r = NULL;
	assert_int_equal(rtc_attach(&vm, &r, &e), 0);
	out8(&vm, PORT_RTC, 0x0a);
	assert_int_equal(in8(&vm, PORT_RTC + 1) & 0x80, 0);       /* never updating */
	out8(&vm, PORT_RTC, 0x8d);                                /* NMI-mask bit is ignored */
	assert_int_equal(in8(&vm, PORT_RTC + 1), 0x80);           /* valid RAM and time */
	out8(&vm, PORT_RTC, 0x0b);
	assert_int_equal(in8(&vm, PORT_RTC + 1) & 0x06, 0x02);    /* BCD, 24-hour */
	static const struct { uint8_t reg; unsigned max; } f[] = {
		{ 0, 59 }, { 2, 59 }, { 4, 23 }, { 7, 31 }, { 8, 12 }, { 9, 99 }, { 0x32, 99 },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		out8(&vm, PORT_RTC, f[i].reg);
		assert_true(is_bcd(in8(&vm, PORT_RTC + 1), f[i].max));
	}
	out8(&vm, PORT_RTC, 0x32);
	assert_int_equal(in8(&vm, PORT_RTC + 1), 0x20);           /* 20xx */
	/* CMOS RAM keeps what is written; the clock ignores writes */
	out8(&vm, PORT_RTC, 0x40);
	out8(&vm, PORT_RTC + 1, 0x77);
	assert_int_equal(in8(&vm, PORT_RTC + 1), 0x77);
	out8(&vm, PORT_RTC, 0x7f);
	out8(&vm, PORT_RTC + 1, 0x66);
	assert_int_equal(in8(&vm, PORT_RTC + 1), 0x66);
	rtc_free(r);
	bus_free(&vm.pio);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bus),
		cmocka_unit_test(test_serial_registers),
		cmocka_unit_test(test_serial_receive),
		cmocka_unit_test(test_acpi_poweroff),
		cmocka_unit_test(test_i8042_reset),
		cmocka_unit_test(test_rtc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
