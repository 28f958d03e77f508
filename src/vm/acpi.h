/* acpi.h - the ACPI tables that describe a berth VM to its kernel. */
#ifndef BERTH_VM_ACPI_H
#define BERTH_VM_ACPI_H

#include <stddef.h>
#include <stdint.h>
#include "lib/err.h"

/* The SLP_TYP value the DSDT's \_S5 package gives for "soft off"; the PM1a
 * control register (dev/acpi_pm.c) powers off on SLP_EN with this type. */
#define ACPI_S5_SLP_TYP 5

/* A virtio-mmio device as the DSDT describes it (_HID LNRO0005). */
struct acpi_mmio_dev {
	uint64_t base;           /* below 4 GiB (Memory32Fixed) */
	uint32_t size;
	uint32_t gsi;            /* edge, active high */
};

/* Build RSDP, XSDT, FACS, FADT, DSDT and MADT into buf, which the guest will
 * see at guest-physical address gpa (RSDP first, at gpa). ncpus LAPIC
 * entries with APIC IDs 0..ncpus-1; one DSDT device per virtio window
 * (VR00, VR01, ... in \_SB). *used gets the bytes written. */
int acpi_build(uint8_t *buf, size_t cap, uint64_t gpa, unsigned ncpus,
	       const struct acpi_mmio_dev *virtio, unsigned nvirtio, size_t *used,
	       struct err *e);

/* The DSDT's AML body alone (what follows its 36-byte header): \_S5 and
 * the virtio devices. Returns 0, or -ENOSPC when cap is too small. */
int acpi_dsdt_aml(uint8_t *buf, size_t cap, const struct acpi_mmio_dev *virtio,
		  unsigned nvirtio, size_t *len);

/* ACPI 6.5 section 5.2.5.3 / 5.2.6: bytes sum to zero modulo 256. */
uint8_t acpi_checksum(const uint8_t *p, size_t len);

#endif
