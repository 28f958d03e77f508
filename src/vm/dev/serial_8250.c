/* serial_8250.c - 16550A UART: THR/RBR, IER, IIR/FCR, LCR (with DLAB and the
 * divisor latch), MCR (with loopback), LSR, MSR, SCR, a 16-byte receive FIFO
 * and a transmitter that is always empty (bytes go straight to out_fd).
 * The interrupt line follows IIR: high while an enabled condition is
 * pending, low otherwise; the in-kernel PIC/IOAPIC see it via KVM_IRQ_LINE.
 * Reference: TI PC16550D datasheet, sections 8.1-8.10 (register set) and
 * table 4 (interrupt priorities); the semantics Linux's 8250 driver probes
 * (drivers/tty/serial/8250/8250_port.c: autoconfig, THRE test). */
#include "vm/dev/serial_8250.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vm/bus.h"
#include "vm/kvm.h"
#include "vm/vm.h"

#define RX_FIFO 16

/* register offsets (DLAB = LCR bit 7 switches 0 and 1 to the divisor) */
enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

#define IER_RDI    0x01   /* received data available */
#define IER_THRI   0x02   /* transmitter holding register empty */
#define IER_RLSI   0x04   /* receiver line status */
#define IER_MSI    0x08   /* modem status */
#define IIR_NO_INT 0x01
#define IIR_MSI    0x00
#define IIR_THRI   0x02
#define IIR_RDI    0x04
#define IIR_RLSI   0x06
#define IIR_FIFO   0xc0   /* FIFOs enabled */
#define FCR_ENABLE 0x01
#define FCR_CLR_RX 0x02
#define LCR_DLAB   0x80
#define MCR_DTR    0x01
#define MCR_RTS    0x02
#define MCR_OUT1   0x04
#define MCR_OUT2   0x08
#define MCR_LOOP   0x10
#define LSR_DR     0x01
#define LSR_OE     0x02
#define LSR_THRE   0x20
#define LSR_TEMT   0x40
#define MSR_DELTA  0x0f
#define MSR_CTS    0x10
#define MSR_DSR    0x20
#define MSR_RI     0x40
#define MSR_DCD    0x80

struct serial8250 {
	struct vm *vm;
	pthread_mutex_t lock;
	unsigned irq;
	int irq_level;
	int out_fd;
	int wake_fd;
	uint8_t dll, dlm, ier, fcr, lcr, mcr, lsr, msr, scr;
	int thr_ipending;          /* THRE interrupt pending (cleared by IIR read / THR write) */
	int rx_was_full;
	uint8_t rx[RX_FIFO];
	unsigned rx_head, rx_len;
};

/* Table 4: the highest-priority enabled condition, as IIR reports it. */
static uint8_t serial_iir(const struct serial8250 *s)
{
	uint8_t id = IIR_NO_INT;
	if ((s->ier & IER_RLSI) && (s->lsr & LSR_OE))
		id = IIR_RLSI;
	else if ((s->ier & IER_RDI) && s->rx_len)
		id = IIR_RDI;
	else if ((s->ier & IER_THRI) && s->thr_ipending)
		id = IIR_THRI;
	else if ((s->ier & IER_MSI) && (s->msr & MSR_DELTA))
		id = IIR_MSI;
	return id | ((s->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
}

/* Drive the line to match IIR; only changes cost an ioctl. OUT2 gates the
 * line on a PC (Linux sets it); we do not model that gate: like QEMU and
 * kvmtool, the line follows IIR. */
static void serial_update_irq(struct serial8250 *s)
{
	int level = !(serial_iir(s) & IIR_NO_INT);
	if (level != s->irq_level) {
		s->irq_level = level;
		kvm_irq_line(s->vm, s->irq, level);
	}
}

static void rx_put(struct serial8250 *s, uint8_t c)
{
	if (s->rx_len == RX_FIFO) {
		s->lsr |= LSR_OE;
		return;
	}
	s->rx[(s->rx_head + s->rx_len) % RX_FIFO] = c;
	s->rx_len++;
}

static uint8_t rx_get(struct serial8250 *s)
{
	if (!s->rx_len)
		return 0;
	uint8_t c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % RX_FIFO;
	s->rx_len--;
	if (s->rx_was_full) {
		s->rx_was_full = 0;
		uint64_t one = 1;
		if (write(s->wake_fd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow in practice; nothing to do */
		}
	}
	return c;
}

/* Transmit: the byte leaves at once; errors lose it (a closed stdout must
 * not stop the guest). A full pipe blocks the sending vCPU (back-pressure)
 * until the reader drains it or the VM is being stopped (the kick signal
 * interrupts the write). With out_fd -1 output is discarded. */
static void serial_tx(struct serial8250 *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP) {
		rx_put(s, c);
		return;
	}
	if (s->out_fd < 0)
		return;
	for (;;) {
		ssize_t w = write(s->out_fd, &c, 1);
		if (w >= 0 || errno != EINTR || vm_stopping(s->vm))
			break;
	}
}

/* 8.6.7 MSR: in loopback the modem inputs are the MCR outputs. */
static uint8_t serial_msr(const struct serial8250 *s)
{
	if (!(s->mcr & MCR_LOOP))
		return s->msr;
	uint8_t m = s->msr & MSR_DELTA;
	if (s->mcr & MCR_RTS) m |= MSR_CTS;
	if (s->mcr & MCR_DTR) m |= MSR_DSR;
	if (s->mcr & MCR_OUT1) m |= MSR_RI;
	if (s->mcr & MCR_OUT2) m |= MSR_DCD;
	return m;
}

static uint8_t serial_read(struct serial8250 *s, unsigned reg)
{
	uint8_t v;
	switch (reg) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		return rx_get(s);
	case IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case IIR_FCR:
		v = serial_iir(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thr_ipending = 0;      /* 8.4: reading IIR clears THRE */
		return v;
	case LCR:
		return s->lcr;
	case MCR:
		return s->mcr;
	case LSR:
		v = s->lsr | LSR_THRE | LSR_TEMT | (s->rx_len ? LSR_DR : 0);
		s->lsr &= ~LSR_OE;                /* 8.6.3: error bits clear on read */
		return v;
	case MSR:
		v = serial_msr(s);
		s->msr &= ~MSR_DELTA;
		return v;
	default:
		return s->scr;
	}
}

static void serial_write(struct serial8250 *s, unsigned reg, uint8_t v)
{
	switch (reg) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			break;
		}
		serial_tx(s, v);
		s->thr_ipending = 1;              /* empty again at once */
		break;
	case IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* 8.4: enabling THRI while the THR is empty raises it */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thr_ipending = 1;
		s->ier = v & 0x0f;
		break;
	case IIR_FCR:
		s->fcr = v & 0xc9;
		while ((v & FCR_CLR_RX) && s->rx_len)
			rx_get(s);                /* empties the FIFO, wakes the feeder */
		break;
	case LCR:
		s->lcr = v;
		break;
	case MCR:
		s->mcr = v & 0x1f;
		break;
	case SCR:
		s->scr = v;
		break;
	default:                                  /* LSR, MSR: read-only */
		break;
	}
}

/* Bus handler: byte accesses to the 8 registers; wider ones touch only the
 * first byte (reads return it zero-extended). */
static void serial_io(void *dev, uint64_t off, uint8_t *data, unsigned len, int is_write)
{
	struct serial8250 *s = dev;
	pthread_mutex_lock(&s->lock);
	if (is_write) {
		serial_write(s, (unsigned)off & 7, data[0]);
	} else {
		memset(data, 0, len);
		data[0] = serial_read(s, (unsigned)off & 7);
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial_rx_push(struct serial8250 *s, const uint8_t *buf, size_t n)
{
	pthread_mutex_lock(&s->lock);
	size_t done = 0;
	while (done < n && s->rx_len < RX_FIFO)
		rx_put(s, buf[done++]);
	if (done < n || s->rx_len == RX_FIFO)
		s->rx_was_full = 1;
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return done;
}

int serial_rx_wakeup_fd(struct serial8250 *s)
{
	return s->wake_fd;
}

int serial_attach(struct vm *vm, uint16_t port, unsigned irq, int out_fd,
		  struct serial8250 **out, struct err *e)
{
	struct serial8250 *s = calloc(1, sizeof(*s));
	if (!s)
		return err_sys(e, ENOMEM, "serial port");
	pthread_mutex_init(&s->lock, NULL);
	s->vm = vm;
	s->irq = irq;
	s->out_fd = out_fd;
	s->msr = MSR_DCD | MSR_DSR | MSR_CTS;    /* a terminal is attached */
	s->mcr = MCR_OUT2;
	s->lcr = 0x03;                            /* 8N1 */
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0) {
		int r = err_sys(e, errno, "serial port eventfd");
		free(s);
		return r;
	}
	*out = s;
	return bus_add(&vm->pio, port, 8, serial_io, s, "serial-8250", e);
}

void serial_free(struct serial8250 *s)
{
	if (!s)
		return;
	close(s->wake_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
