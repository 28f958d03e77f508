/* mmio.c - the virtio-mmio transport (virtio 1.2 section 4.2.2, version 2):
 * the register file of one device window, feature negotiation (2.2, 3.1.1),
 * the status state machine (2.1, 3.1) with reset, queue set-up, and the
 * two paths that need no exit to user space: notifications arrive through
 * an ioeventfd per queue (served on the device loop), interrupts leave
 * through an irqfd. The guest's register accesses are untrusted: anything
 * that is not an aligned 32-bit access (outside config space), a write to
 * a read-only register, or a queue change while the queue is live is
 * ignored and logged, rate-limited. */
#include "vm/virtio/mmio.h"

#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vm/evloop.h"
#include "vm/layout.h"
#include "vm/vm.h"

#define VIRTIO_LOG_LINES 10      /* messages per device before we go quiet */

static const unsigned virtio_gsis[VIRTIO_MAX_DEVS] = VIRTIO_GSIS;

/* One line on stderr naming the device, at most VIRTIO_LOG_LINES per
 * device, then a last line saying that the rest are suppressed. */
static void virtio_vlog(struct virtio_dev *d, const char *fmt, va_list ap)
{
	if (d->log_budget == 0)
		return;
	char msg[256];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "berth vmm: virtio-%s: %s\n", d->ops->name, msg);
	if (--d->log_budget == 0)
		fprintf(stderr, "berth vmm: virtio-%s: further messages suppressed\n", d->ops->name);
}

/* virtio_vlog with a format. */
static void virtio_log(struct virtio_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void virtio_log(struct virtio_dev *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	virtio_vlog(d, fmt, ap);
	va_end(ap);
}

/* Pulse the interrupt line: the irqfd makes KVM inject an edge. */
static void virtio_irq(struct virtio_dev *d)
{
	uint64_t one = 1;
	if (d->irq_fd >= 0 && write(d->irq_fd, &one, sizeof(one)) < 0) {
		/* an eventfd write fails only on counter overflow: already pending */
	}
}

/* 2.1: DRIVER_OK and not DEVICE_NEEDS_RESET. */
int virtio_mmio_live(const struct virtio_dev *d)
{
	return (d->status & VIRTIO_STATUS_DRIVER_OK) && !(d->status & VIRTIO_STATUS_NEEDS_RESET);
}

/* 2.1.2: set DEVICE_NEEDS_RESET and, once the driver is running, send a
 * configuration change notification. Logged once per failure. */
void virtio_mmio_fail(struct virtio_dev *d, const char *fmt, ...)
{
	if (d->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	va_list ap;
	va_start(ap, fmt);
	virtio_vlog(d, fmt, ap);
	va_end(ap);
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (d->status & VIRTIO_STATUS_DRIVER_OK) {
		d->isr |= VIRTIO_MMIO_INT_CONFIG;
		virtio_irq(d);
	}
}

/* 2.7.10 via virtq_needs_interrupt; 4.2.2 InterruptStatus bit 0. */
void virtio_mmio_used(struct virtio_dev *d, unsigned q)
{
	if (q >= d->ops->nqueues)
		return;
	if (virtq_needs_interrupt(&d->q[q])) {
		d->isr |= VIRTIO_MMIO_INT_VRING;
		virtio_irq(d);
	}
}

/* A queue the driver broke (the device saw it in virtq_pop) puts the
 * whole device in DEVICE_NEEDS_RESET. */
static void virtio_check_queues(struct virtio_dev *d)
{
	for (unsigned i = 0; i < d->ops->nqueues; i++)
		if (d->q[i].broken)
			virtio_mmio_fail(d, "queue %u: %s; the device needs a reset", i,
					 d->q[i].why ? d->q[i].why : "broken");
}

/* Device loop: queue q was notified (ioeventfd, or QueueNotify reaching
 * the bus handler). Ignored unless the device and the queue are live. */
static void virtio_notify_ready(void *arg, uint32_t events)
{
	struct virtio_qref *ref = arg;
	struct virtio_dev *d = ref->d;
	uint64_t n;
	if (read(d->notify_fd[ref->q], &n, sizeof(n)) < 0) {
		/* EAGAIN: someone else drained it; serve the queue anyway */
	}
	pthread_mutex_lock(&d->lock);
	struct virtq *q = &d->q[ref->q];
	if (virtio_mmio_live(d) && q->ready && !q->broken) {
		d->ops->queue_notify(d, ref->q);
		virtio_check_queues(d);
	}
	pthread_mutex_unlock(&d->lock);
}

/* Hand queue q to the device loop, as an ioeventfd would have. */
static void virtio_kick(struct virtio_dev *d, unsigned q)
{
	uint64_t one = 1;
	if (write(d->notify_fd[q], &one, sizeof(one)) < 0) {
		/* overflow only: a notification is pending anyway */
	}
}

/* 2.2 and 6: the device's own bits plus the transport's: VERSION_1 (no
 * legacy interface), indirect descriptors (2.7.5.3), EVENT_IDX (2.7.10). */
static uint64_t virtio_offered(struct virtio_dev *d)
{
	uint64_t f = d->ops->features ? d->ops->features(d) : 0;
	return f | 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_RING_INDIRECT_DESC |
	       1ull << VIRTIO_F_RING_EVENT_IDX;
}

/* 2.4 / 4.2.2.1: writing 0 to Status resets the device: the device drops
 * its state, every queue is forgotten, the registers start over. The
 * window stays on the bus and the fds stay assigned. */
static void virtio_reset(struct virtio_dev *d)
{
	if (d->ops->reset)
		d->ops->reset(d);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&d->q[i]);
	d->status = 0;
	d->driver_features = 0;
	d->driver_features_high = 0;
	d->dev_features_sel = d->drv_features_sel = d->queue_sel = 0;
	d->isr = 0;
}

/* 3.1.1 step 5 and 2.2: FEATURES_OK only for a subset of what we offer
 * that includes VERSION_1 (we have no legacy interface). */
static int virtio_features_ok(struct virtio_dev *d)
{
	uint64_t f = d->driver_features;
	if (d->driver_features_high) {
		virtio_log(d, "driver accepted feature bits above 63, none offered; FEATURES_OK refused");
		return 0;
	}
	if (f & ~virtio_offered(d)) {
		virtio_log(d, "driver accepted features 0x%llx we did not offer; FEATURES_OK refused",
			   (unsigned long long)(f & ~virtio_offered(d)));
		return 0;
	}
	if (!(f & 1ull << VIRTIO_F_VERSION_1)) {
		virtio_log(d, "driver did not accept VERSION_1 (legacy driver?); FEATURES_OK refused");
		return 0;
	}
	return 1;
}

/* 2.1 and 3.1.1: the driver only adds bits; FEATURES_OK is checked,
 * DRIVER_OK activates the device and serves what the driver queued
 * before it. DEVICE_NEEDS_RESET is ours and stays until a reset. */
static void virtio_status_write(struct virtio_dev *d, uint32_t v)
{
	if (v == 0) {
		virtio_reset(d);
		return;
	}
	uint32_t old = d->status;
	uint32_t now = (v & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET);
	if ((now & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    !virtio_features_ok(d))
		now &= ~VIRTIO_STATUS_FEATURES_OK;
	if ((now & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) &&
	    !(now & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_log(d, "DRIVER_OK without FEATURES_OK ignored");
		now &= ~VIRTIO_STATUS_DRIVER_OK;
	}
	d->status = now;
	if (!(now & VIRTIO_STATUS_DRIVER_OK) || (old & VIRTIO_STATUS_DRIVER_OK))
		return;
	if (d->ops->activate && d->ops->activate(d) < 0) {
		virtio_mmio_fail(d, "could not start the device");
		return;
	}
	for (unsigned i = 0; i < d->ops->nqueues; i++)
		if (d->q[i].ready)
			virtio_kick(d, i);
}

/* The selected queue, or NULL (and a log line) when QueueSel is out of
 * range or, for a write that changes its set-up, the queue is live. */
static struct virtq *virtio_sel_queue(struct virtio_dev *d, int for_setup, uint64_t reg)
{
	if (d->queue_sel >= d->ops->nqueues) {
		virtio_log(d, "access to register 0x%03llx for queue %u, which does not exist",
			   (unsigned long long)reg, d->queue_sel);
		return NULL;
	}
	struct virtq *q = &d->q[d->queue_sel];
	if (for_setup && q->ready) {
		virtio_log(d, "queue %u set-up changed while ready; ignored", d->queue_sel);
		return NULL;
	}
	return q;
}

/* QueueReady (4.2.2): 1 checks and starts the queue, 0 stops it. */
static void virtio_queue_ready(struct virtio_dev *d, uint32_t v)
{
	struct virtq *q = virtio_sel_queue(d, 0, VIRTIO_MMIO_QUEUE_READY);
	if (!q)
		return;
	if (!v) {
		q->ready = 0;
		return;
	}
	if (q->ready)
		return;
	if (!(d->status & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_log(d, "queue %u made ready before FEATURES_OK; ignored", d->queue_sel);
		return;
	}
	q->event_idx = (d->driver_features >> VIRTIO_F_RING_EVENT_IDX) & 1;
	if (virtq_enable(q, &d->vm->mem) < 0) {
		virtio_mmio_fail(d, "queue %u: %s", d->queue_sel, q->why);
		return;
	}
	q->ready = 1;
}

/* 4.2.2: 64-bit values (features, ring addresses) come in two halves. */
static void set_half(uint64_t *v, int high, uint32_t half)
{
	if (high)
		*v = (*v & 0xffffffffull) | (uint64_t)half << 32;
	else
		*v = (*v & ~0xffffffffull) | half;
}

/* 4.2.2 / 4.2.3: a 32-bit write to register `off`. */
static void virtio_reg_write(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	struct virtq *q;
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: d->dev_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: d->drv_features_sel = v; break;
	case VIRTIO_MMIO_QUEUE_SEL: d->queue_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (!(d->status & VIRTIO_STATUS_DRIVER) || (d->status & VIRTIO_STATUS_FEATURES_OK)) {
			virtio_log(d, "DriverFeatures written outside negotiation; ignored");
			break;
		}
		if (d->drv_features_sel < 2)
			set_half(&d->driver_features, d->drv_features_sel == 1, v);
		else if (v)
			d->driver_features_high = 1;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if ((q = virtio_sel_queue(d, 1, off)))
			q->size = v > VIRTQ_MAX_SIZE ? 0 : (uint16_t)v;
		break;
	case VIRTIO_MMIO_QUEUE_READY: virtio_queue_ready(d, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if ((q = virtio_sel_queue(d, 1, off)))
			set_half(&q->desc_gpa, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		if ((q = virtio_sel_queue(d, 1, off)))
			set_half(&q->avail_gpa, off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		if ((q = virtio_sel_queue(d, 1, off)))
			set_half(&q->used_gpa, off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* the ioeventfd normally takes these; one that reaches us
		 * (no KVM, or a value no datamatch covers) goes the same way */
		if (v < d->ops->nqueues)
			virtio_kick(d, v);
		else
			virtio_log(d, "notification for queue %u, which does not exist", v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK: d->isr &= ~v; break;
	case VIRTIO_MMIO_STATUS: virtio_status_write(d, v); break;
	case VIRTIO_MMIO_SHM_SEL: break;   /* no shared memory regions */
	default:
		virtio_log(d, "write to read-only or unknown register 0x%03llx ignored",
			   (unsigned long long)off);
	}
}

/* 4.2.2 / 4.2.3: a 32-bit read of register `off`. */
static uint32_t virtio_reg_read(struct virtio_dev *d, uint64_t off)
{
	uint64_t f;
	switch (off) {
	case VIRTIO_MMIO_MAGIC: return VIRTIO_MMIO_MAGIC_VALUE;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return d->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		f = virtio_offered(d);
		return d->dev_features_sel == 0 ? (uint32_t)f :
		       d->dev_features_sel == 1 ? (uint32_t)(f >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return d->queue_sel < d->ops->nqueues ? VIRTQ_MAX_SIZE : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return d->queue_sel < d->ops->nqueues ? (uint32_t)d->q[d->queue_sel].ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return d->isr;
	case VIRTIO_MMIO_STATUS: return d->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		return 0xffffffffu;       /* 4.2.2: "no such region" is a length of -1 */
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0;
	case VIRTIO_MMIO_CONFIG_GENERATION: return d->config_generation;
	default:
		virtio_log(d, "read of write-only or unknown register 0x%03llx", (unsigned long long)off);
		return 0;
	}
}

/* Config space: any width up to 8 inside the device's config_len. */
static void virtio_config_access(struct virtio_dev *d, uint32_t off, uint8_t *data,
				 unsigned len, int is_write)
{
	const struct virtio_dev_ops *o = d->ops;
	if (off >= o->config_len || len > o->config_len - off) {
		virtio_log(d, "%u-byte config %s at 0x%x beyond its %u bytes ignored", len,
			   is_write ? "write" : "read", off, o->config_len);
	} else if (is_write) {
		if (o->config_write)
			o->config_write(d, off, data, len);
		else
			virtio_log(d, "write to read-only config space ignored");
		return;
	} else if (o->config_read) {
		o->config_read(d, off, data, len);
		return;
	}
	if (!is_write)
		memset(data, 0, len);
}

/* bus_fn of the window; runs on a vCPU thread. */
static void virtio_mmio_access(void *dev, uint64_t off, uint8_t *data, unsigned len,
			       int is_write)
{
	struct virtio_dev *d = dev;
	pthread_mutex_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		virtio_config_access(d, (uint32_t)(off - VIRTIO_MMIO_CONFIG), data, len, is_write);
	} else if (len != 4 || off % 4) {
		virtio_log(d, "%u-byte %s at register 0x%03llx ignored (registers are 32-bit)", len,
			   is_write ? "write" : "read", (unsigned long long)off);
		if (!is_write)
			memset(data, 0, len);
	} else if (is_write) {
		uint32_t v = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
			     (uint32_t)data[3] << 24;
		virtio_reg_write(d, off, v);
	} else {
		uint32_t v = virtio_reg_read(d, off);
		for (int i = 0; i < 4; i++)
			data[i] = (uint8_t)(v >> (8 * i));
	}
	pthread_mutex_unlock(&d->lock);
}

/* api.rst 4.59 KVM_IOEVENTFD: a 4-byte write of q to QueueNotify signals
 * notify_fd[q] inside KVM. */
static int virtio_ioeventfd(struct virtio_dev *d, unsigned q, int deassign)
{
	struct kvm_ioeventfd io = {
		.datamatch = q,
		.addr = d->base + VIRTIO_MMIO_QUEUE_NOTIFY,
		.len = 4,
		.fd = d->notify_fd[q],
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0),
	};
	return ioctl(d->vm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

/* api.rst 4.75 KVM_IRQFD: a write to irq_fd pulses the GSI. */
static int virtio_irqfd(struct virtio_dev *d, int deassign)
{
	struct kvm_irqfd irq = {
		.fd = (uint32_t)d->irq_fd,
		.gsi = d->gsi,
		.flags = deassign ? KVM_IRQFD_FLAG_DEASSIGN : 0,
	};
	return ioctl(d->vm->vm_fd, KVM_IRQFD, &irq) < 0 ? -errno : 0;
}

/* Undo whatever of the fds exists; for a half-built device too. With no
 * VM fd (unit tests) nothing was assigned in KVM. */
static void virtio_release(struct virtio_dev *d)
{
	int kvm = d->vm->vm_fd >= 0;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (d->notify_fd[i] < 0)
			continue;
		if (d->loop)
			evloop_del(d->loop, d->notify_fd[i]);
		if (kvm)
			virtio_ioeventfd(d, i, 1);
		close(d->notify_fd[i]);
		d->notify_fd[i] = -1;
	}
	if (d->irq_fd >= 0) {
		if (kvm)
			virtio_irqfd(d, 1);
		close(d->irq_fd);
		d->irq_fd = -1;
	}
}

/* The fds of a new device: the irqfd, then per queue an eventfd that KVM
 * signals (ioeventfd) and the device loop watches. */
static int virtio_setup_fds(struct virtio_dev *d, struct err *e)
{
	int kvm = d->vm->vm_fd >= 0, r;
	d->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->irq_fd < 0)
		return err_sys(e, errno, "virtio-%s: eventfd", d->ops->name);
	if (kvm && (r = virtio_irqfd(d, 0)) < 0)
		return err_sys(e, -r, "virtio-%s: KVM_IRQFD for GSI %u", d->ops->name, d->gsi);
	for (unsigned i = 0; i < d->ops->nqueues; i++) {
		d->qref[i] = (struct virtio_qref){ d, i };
		d->notify_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->notify_fd[i] < 0)
			return err_sys(e, errno, "virtio-%s: eventfd", d->ops->name);
		if (kvm && (r = virtio_ioeventfd(d, i, 0)) < 0)
			return err_sys(e, -r, "virtio-%s: KVM_IOEVENTFD", d->ops->name);
		r = evloop_add(d->loop, d->notify_fd[i], EPOLLIN, virtio_notify_ready, &d->qref[i], e);
		if (r < 0)
			return r;
	}
	return 0;
}

int virtio_mmio_attach(struct vm *vm, struct evloop *loop, const struct virtio_dev_ops *ops,
		       void *priv, struct virtio_dev **out, struct err *e)
{
	*out = NULL;
	if (vm->nvirtio >= VIRTIO_MAX_DEVS)
		return err_exit(e, EXIT_USAGE, "virtio-%s: a VM has room for %d virtio devices",
				ops->name, VIRTIO_MAX_DEVS);
	if (ops->nqueues == 0 || ops->nqueues > VIRTIO_MAX_QUEUES || !ops->queue_notify ||
	    ops->config_len > VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG)
		return err_set(e, EINVAL, "virtio-%s: bad device description", ops->name);
	struct virtio_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return err_sys(e, ENOMEM, "virtio-%s", ops->name);
	d->ops = ops;
	d->priv = priv;
	d->vm = vm;
	d->loop = loop;
	pthread_mutex_init(&d->lock, NULL);
	d->slot = vm->nvirtio;
	d->base = GPA_VIRTIO_MMIO + d->slot * VIRTIO_MMIO_SIZE;
	d->gsi = virtio_gsis[d->slot];
	d->irq_fd = -1;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		d->notify_fd[i] = -1;
	d->log_budget = VIRTIO_LOG_LINES;
	int r = virtio_setup_fds(d, e);
	if (r == 0)
		r = bus_add(&vm->mmio, d->base, VIRTIO_MMIO_SIZE, virtio_mmio_access, d, ops->name, e);
	if (r < 0) {
		virtio_release(d);
		pthread_mutex_destroy(&d->lock);
		free(d);
		return r;
	}
	vm->virtio[vm->nvirtio++] = d;
	*out = d;
	return 0;
}

/* The VM is going away (its vCPUs and device loop have stopped): the
 * device drops its state, the fds go. The bus keeps a stale range until
 * bus_free, which runs right after. */
void virtio_mmio_free(struct virtio_dev *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	if (d->ops->reset)
		d->ops->reset(d);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&d->q[i]);
	pthread_mutex_unlock(&d->lock);
	virtio_release(d);
	pthread_mutex_destroy(&d->lock);
	free(d);
}
