/* serial_8250.h - a 16550A-compatible UART (the PC's COM ports). */
#ifndef BERTH_VM_DEV_SERIAL_8250_H
#define BERTH_VM_DEV_SERIAL_8250_H

#include <stddef.h>
#include <stdint.h>
#include "lib/err.h"

struct vm;
struct serial8250;

/* Create a UART at I/O port `port` (8 registers) raising `irq`, writing
 * what the guest sends to out_fd (-1: discard it), and register it on the
 * VM's pio bus. */
int serial_attach(struct vm *vm, uint16_t port, unsigned irq, int out_fd,
		  struct serial8250 **out, struct err *e);

/* Feed bytes typed by the user to the guest; returns how many fit in the
 * receive FIFO (0 when it is full). Safe from any thread. */
size_t serial_rx_push(struct serial8250 *s, const uint8_t *buf, size_t n);

/* An eventfd that becomes readable when the guest drained the receive FIFO
 * (poll it while serial_rx_push returns 0). */
int serial_rx_wakeup_fd(struct serial8250 *s);

void serial_free(struct serial8250 *s);

#endif
