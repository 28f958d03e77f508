/* acpi.c - ACPI tables for a VM without PCI: enough for the stock Debian
 * kernels (no MP-table parser in the cloud kernel) to find every vCPU, the
 * IOAPIC and the legacy IRQ routing (MADT), the power-management I/O block
 * and SCI (FADT), and the \_S5 sleep type used to power off (DSDT).
 * Reference: ACPI 6.5 chapter 5.2 (5.2.5 RSDP, 5.2.8 XSDT, 5.2.9 FADT,
 * 5.2.10 FACS, 5.2.11.1 DSDT, 5.2.12 MADT) and chapter 20 (AML encoding).
 * The tables are written with explicit little-endian stores at the offsets
 * the spec lists, so no struct packing or host endianness is involved.
 * The DSDT's AML is written by aml.c's small encoder (one function per
 * grammar rule), so the build needs no iasl; the virtio-mmio devices get
 * LNRO0005 nodes, which Linux's virtio_mmio driver binds to. */
#include "vm/acpi.h"

#include <stdio.h>
#include <string.h>

#include "vm/aml.h"
#include "vm/layout.h"

#define SDT_HEADER 36

static void put8(uint8_t *p, size_t off, uint8_t v) { p[off] = v; }
static void put16(uint8_t *p, size_t off, uint16_t v) { p[off] = (uint8_t)v; p[off + 1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, size_t off, uint32_t v) { put16(p, off, (uint16_t)v); put16(p, off + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, size_t off, uint64_t v) { put32(p, off, (uint32_t)v); put32(p, off + 4, (uint32_t)(v >> 32)); }

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum;
}

/* 5.2.6 System Description Table Header; the checksum is set by sdt_seal. */
static void sdt_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t, 4, len);
	put8(t, 8, rev);
	memcpy(t + 10, "BERTH ", 6);        /* OEMID */
	memcpy(t + 16, "BERTHVM ", 8);      /* OEM Table ID */
	put32(t, 24, 1);                    /* OEM Revision */
	memcpy(t + 28, "BRTH", 4);          /* Creator ID */
	put32(t, 32, 1);                    /* Creator Revision */
}

static void sdt_seal(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = (uint8_t)(0x100 - acpi_checksum(t, len));
}

/* 5.2.3.2 Generic Address Structure, for a block in I/O space. */
static void gas_io(uint8_t *p, size_t off, uint8_t bits, uint8_t access, uint64_t port)
{
	put8(p, off, 1);            /* Address Space ID: System I/O */
	put8(p, off + 1, bits);     /* Register Bit Width */
	put8(p, off + 2, 0);        /* Register Bit Offset */
	put8(p, off + 3, access);   /* Access Size: 1 byte, 2 word, 3 dword */
	put64(p, off + 4, port);
}

/* 6.4.3.4 Memory32Fixed, 6.4.3.6 Extended Interrupt (consumer, edge,
 * active high, exclusive, one GSI) and 6.4.2.9 End Tag: a virtio window's
 * _CRS resource template. Returns its length. */
static size_t virtio_crs(uint8_t *p, const struct acpi_mmio_dev *d)
{
	put8(p, 0, 0x86);                  /* Memory32Fixed */
	put16(p, 1, 9);                    /*   length of what follows */
	put8(p, 3, 1);                     /*   read/write */
	put32(p, 4, (uint32_t)d->base);
	put32(p, 8, d->size);
	put8(p, 12, 0x89);                 /* Extended Interrupt */
	put16(p, 13, 6);                   /*   length of what follows */
	put8(p, 15, 0x03);                 /*   consumer | edge; high, exclusive */
	put8(p, 16, 1);                    /*   one interrupt */
	put32(p, 17, d->gsi);
	put8(p, 21, 0x79);                 /* End Tag */
	put8(p, 22, 0);                    /*   checksum 0: not checked */
	return 23;
}

/* 20.2.5.2 DefDevice: Device(VRnn) { Name(_HID, "LNRO0005") Name(_UID, n)
 * Name(_CRS, ResourceTemplate() { ... }) }. */
static void virtio_device_aml(struct aml *a, unsigned i, const struct acpi_mmio_dev *d)
{
	char seg[5];
	uint8_t crs[32];
	snprintf(seg, sizeof(seg), "VR%02X", i & 0xff);
	size_t dev = aml_device_begin(a, seg);
	aml_name(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_name(a, "_UID");
	aml_integer(a, i);
	aml_name(a, "_CRS");
	aml_buffer(a, crs, virtio_crs(crs, d));
	aml_pkg_end(a, dev);
}

/* DSDT body (20.2 AML grammar). COM1, the RTC and the i8042 sit at their
 * legacy addresses, which Linux probes without ACPI help; the DSDT holds
 * the \_S5 sleep package (7.4.2), which Linux's acpi_power_off reads
 * before writing SLP_TYP|SLP_EN, and the virtio-mmio devices in \_SB. */
int acpi_dsdt_aml(uint8_t *buf, size_t cap, const struct acpi_mmio_dev *virtio,
		  unsigned nvirtio, size_t *len)
{
	struct aml a;
	aml_init(&a, buf, cap);
	aml_name(&a, "_S5_");
	size_t pkg = aml_package_begin(&a, 4);
	aml_integer(&a, ACPI_S5_SLP_TYP);  /* SLP_TYPa */
	aml_integer(&a, ACPI_S5_SLP_TYP);  /* SLP_TYPb */
	aml_integer(&a, 0);                /* reserved */
	aml_integer(&a, 0);
	aml_pkg_end(&a, pkg);
	if (nvirtio) {
		size_t sb = aml_scope_begin(&a, "\\_SB_");
		for (unsigned i = 0; i < nvirtio; i++)
			virtio_device_aml(&a, i, &virtio[i]);
		aml_pkg_end(&a, sb);
	}
	*len = a.len;
	return a.overflow ? -ENOSPC : 0;
}

/* 5.2.12 MADT: LAPIC address and PCAT_COMPAT (the 8259s exist, KVM emulates
 * them), one Processor Local APIC per vCPU, the IOAPIC at GSI 0, and the
 * ISA overrides every PC has: IRQ0 (PIT) is wired to GSI 2, and the SCI
 * (IRQ 9) is level-triggered, active high. Returns the table length. */
static size_t madt_build(uint8_t *t, unsigned ncpus)
{
	size_t off = SDT_HEADER;
	put32(t, off, (uint32_t)GPA_LAPIC);
	put32(t, off + 4, 1);                     /* Flags: PCAT_COMPAT */
	off += 8;
	for (unsigned i = 0; i < ncpus; i++) {    /* 5.2.12.2 Processor Local APIC */
		put8(t, off, 0);
		put8(t, off + 1, 8);
		put8(t, off + 2, (uint8_t)i);     /* ACPI Processor UID */
		put8(t, off + 3, (uint8_t)i);     /* APIC ID = vCPU index */
		put32(t, off + 4, 1);             /* Enabled */
		off += 8;
	}
	put8(t, off, 1);                          /* 5.2.12.3 I/O APIC */
	put8(t, off + 1, 12);
	put8(t, off + 2, 0);                      /* I/O APIC ID */
	put8(t, off + 3, 0);
	put32(t, off + 4, (uint32_t)GPA_IOAPIC);
	put32(t, off + 8, 0);                     /* Global System Interrupt Base */
	off += 12;
	static const struct { uint8_t irq; uint32_t gsi; uint16_t flags; } iso[] = {
		{ 0, 2, 0x0000 },                 /* PIT: conforms to the bus (edge, high) */
		{ IRQ_ACPI_SCI, IRQ_ACPI_SCI, 0x000d }, /* SCI: active high, level */
	};
	for (size_t i = 0; i < sizeof(iso) / sizeof(iso[0]); i++) { /* 5.2.12.5 */
		put8(t, off, 2);
		put8(t, off + 1, 10);
		put8(t, off + 2, 0);                  /* Bus: ISA */
		put8(t, off + 3, iso[i].irq);
		put32(t, off + 4, iso[i].gsi);
		put16(t, off + 8, iso[i].flags);
		off += 10;
	}
	put8(t, off, 4);                          /* 5.2.12.7 Local APIC NMI */
	put8(t, off + 1, 6);
	put8(t, off + 2, 0xff);                   /* all processors */
	put16(t, off + 3, 0);                     /* flags: conforms to the bus */
	put8(t, off + 5, 1);                      /* LINT1 */
	off += 6;
	sdt_header(t, "APIC", (uint32_t)off, 4);
	sdt_seal(t, (uint32_t)off);
	return off;
}

/* 5.2.9 FADT (revision 6, 276 bytes): not hardware-reduced, so the PM1a
 * event and control blocks live in I/O space at PORT_ACPI_PM; no PM timer
 * (optional since ACPI 5.0A: the guest has kvm-clock and the TSC, and
 * Linux would otherwise spend boot time verifying the timer's rate and
 * keep a clocksource that exits to the VMM on every read); no SMI command
 * port (the machine is always in ACPI mode); no 8042 (so Linux skips
 * probing it; reset via port 0x64 still works); no VGA; CMOS RTC present.
 * The FACS is given once, by its 64-bit address (5.2.9: FIRMWARE_CTRL
 * must be zero when X_FIRMWARE_CTRL is set). */
static size_t fadt_build(uint8_t *t, uint64_t facs, uint64_t dsdt)
{
	const size_t len = 276;
	put32(t, 36, 0);                          /* FIRMWARE_CTRL: see X_FIRMWARE_CTRL */
	put32(t, 40, (uint32_t)dsdt);             /* DSDT */
	put8(t, 45, 0);                           /* Preferred_PM_Profile: unspecified */
	put16(t, 46, IRQ_ACPI_SCI);               /* SCI_INT */
	put32(t, 48, 0);                          /* SMI_CMD: none, ACPI mode is fixed */
	put32(t, 56, PORT_ACPI_PM);               /* PM1a_EVT_BLK */
	put32(t, 64, PORT_ACPI_PM + 4);           /* PM1a_CNT_BLK */
	put8(t, 88, 4);                           /* PM1_EVT_LEN */
	put8(t, 89, 2);                           /* PM1_CNT_LEN */
	put16(t, 96, 101);                        /* P_LVL2_LAT > 100: no C2 */
	put16(t, 98, 1001);                       /* P_LVL3_LAT > 1000: no C3 */
	put8(t, 108, 0x32);                       /* CENTURY: CMOS index */
	put16(t, 109, 1 << 2);                    /* IAPC_BOOT_ARCH: VGA Not Present */
	put32(t, 112, (1u << 0) |                 /* WBINVD */
		      (1u << 2) |                 /* PROC_C1 */
		      /* PWR_BUTTON (bit 4) clear: the power button is the fixed
		       * feature of PM1 (dev/acpi_pm.c), Linux's LNXPWRBN */
		      (1u << 5));                 /* SLP_BUTTON: not a fixed feature */
	put8(t, 131, 0);                          /* FADT Minor Version */
	put64(t, 132, facs);                      /* X_FIRMWARE_CTRL */
	put64(t, 140, dsdt);                      /* X_DSDT */
	gas_io(t, 148, 32, 2, PORT_ACPI_PM);      /* X_PM1a_EVT_BLK */
	gas_io(t, 172, 16, 2, PORT_ACPI_PM + 4);  /* X_PM1a_CNT_BLK */
	memcpy(t + 268, "BERTHVMM", 8);           /* Hypervisor Vendor Identity */
	sdt_header(t, "FACP", len, 6);
	sdt_seal(t, len);
	return len;
}

/* 5.2.10 FACS: no checksum; must be 64-byte aligned. */
static size_t facs_build(uint8_t *t)
{
	memcpy(t, "FACS", 4);
	put32(t, 4, 64);
	put8(t, 32, 2);                           /* Version */
	return 64;
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int acpi_build(uint8_t *buf, size_t cap, uint64_t gpa, unsigned ncpus,
	       const struct acpi_mmio_dev *virtio, unsigned nvirtio, size_t *used,
	       struct err *e)
{
	if (ncpus == 0 || ncpus > 254)
		return err_set(e, EINVAL, "ACPI: %u vCPUs; xAPIC IDs allow 1 to 254", ncpus);
	/* offsets inside buf; RSDP first so it sits on the 16-byte boundary Linux scans */
	const size_t rsdp = 0, facs = 64, xsdt = 128, fadt = xsdt + 64;
	const size_t dsdt = align_up(fadt + 276, 16);
	if (dsdt + SDT_HEADER > cap)
		return err_set(e, ENOSPC, "ACPI tables do not fit in %zu bytes", cap);
	memset(buf, 0, cap);
	size_t aml_len;
	if (acpi_dsdt_aml(buf + dsdt + SDT_HEADER, cap - dsdt - SDT_HEADER, virtio, nvirtio,
			  &aml_len) < 0)
		return err_set(e, ENOSPC, "ACPI DSDT for %u virtio devices does not fit in %zu bytes",
			       nvirtio, cap);
	const size_t dsdt_len = SDT_HEADER + aml_len;
	const size_t madt = align_up(dsdt + dsdt_len, 16);
	const size_t madt_max = SDT_HEADER + 8 + 8 * (size_t)ncpus + 12 + 2 * 10 + 6;
	if (madt + madt_max > cap)
		return err_set(e, ENOSPC, "ACPI tables for %u vCPUs do not fit in %zu bytes", ncpus, cap);

	facs_build(buf + facs);

	sdt_header(buf + dsdt, "DSDT", (uint32_t)dsdt_len, 2);
	sdt_seal(buf + dsdt, (uint32_t)dsdt_len);

	fadt_build(buf + fadt, gpa + facs, gpa + dsdt);
	size_t madt_len = madt_build(buf + madt, ncpus);

	/* 5.2.8 XSDT: 64-bit pointers to FADT and MADT */
	const uint32_t xsdt_len = SDT_HEADER + 2 * 8;
	put64(buf + xsdt, SDT_HEADER, gpa + fadt);
	put64(buf + xsdt, SDT_HEADER + 8, gpa + madt);
	sdt_header(buf + xsdt, "XSDT", xsdt_len, 1);
	sdt_seal(buf + xsdt, xsdt_len);

	/* 5.2.5.3 RSDP, revision 2: checksum over the first 20 bytes, extended
	 * checksum over all 36. No RSDT: ACPI 2.0+ readers use the XSDT. */
	uint8_t *r = buf + rsdp;
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "BERTH ", 6);
	put8(r, 15, 2);
	put32(r, 16, 0);
	put32(r, 20, 36);
	put64(r, 24, gpa + xsdt);
	r[8] = (uint8_t)(0x100 - acpi_checksum(r, 20));
	r[32] = (uint8_t)(0x100 - acpi_checksum(r, 36));

	*used = madt + madt_len;
	return 0;
}
