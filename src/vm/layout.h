/* layout.h - where things live in a berth guest's physical address space.
 *
 * One place for every fixed guest address, so a reader can see the whole map:
 *
 *   0x0000_0500  GDT used for the 64-bit kernel entry      (longmode.c)
 *   0x0000_0520  empty IDT
 *   0x0000_7000  boot_params, the "zero page"             (boot_params.c)
 *   0x0000_8ff0  initial stack (the kernel sets its own)
 *   0x0000_9000  PML4, 0xa000 PDPT, 0xb000-0xefff PDs: identity map of 4 GiB
 *   0x0002_0000  kernel command line
 *   0x0009_fc00  end of low RAM (EBDA and the ISA hole above are not RAM)
 *   0x000e_0000  ACPI tables: RSDP first, where Linux's BIOS-area scan finds it
 *   0x0010_0000  protected-mode kernel (the 64-bit entry is 0x200 into it)
 *   ...          RAM up to min(memory, 3 GiB); the initrd sits at its top
 *   0xc000_0000  32-bit MMIO hole: virtio-mmio windows from 0xd0000000
 *                (4 KiB each), IOAPIC 0xfec00000, LAPIC 0xfee00000,
 *                KVM's TSS pages at 0xfffbc000 (identity map) and 0xfffbd000
 *   0x1_0000_0000  the rest of RAM when memory > 3 GiB
 */
#ifndef BERTH_VM_LAYOUT_H
#define BERTH_VM_LAYOUT_H

#define GPA_GDT          0x500ull
#define GPA_IDT          0x520ull
#define GPA_ZERO_PAGE    0x7000ull
#define GPA_BOOT_STACK   0x8ff0ull
#define GPA_PML4         0x9000ull
#define GPA_PDPT         0xa000ull
#define GPA_PD           0xb000ull      /* four pages: 0xb000..0xefff */
#define GPA_CMDLINE      0x20000ull
#define CMDLINE_MAX      0x10000ull     /* room reserved at GPA_CMDLINE */
#define GPA_EBDA         0x9fc00ull     /* low RAM ends here */
#define GPA_ACPI         0xe0000ull
#define ACPI_MAX         0x20000ull     /* 0xe0000..0xfffff */
#define GPA_KERNEL       0x100000ull

#define GPA_MMIO_HOLE    0xc0000000ull
#define GPA_4G           0x100000000ull
#define GPA_IOAPIC       0xfec00000ull
#define GPA_LAPIC        0xfee00000ull
#define GPA_KVM_IDMAP    0xfffbc000ull  /* KVM_SET_IDENTITY_MAP_ADDR: one page */
#define GPA_KVM_TSS      0xfffbd000ull  /* KVM_SET_TSS_ADDR: three pages */
#define GPA_VIRTIO_MMIO  0xd0000000ull  /* first virtio-mmio window */
#define VIRTIO_MMIO_SIZE 0x1000ull      /* one window per device */
#define VIRTIO_MAX_DEVS  16

/* Interrupt line of virtio window i: IOAPIC pins 16-23, then the ISA lines
 * no legacy device uses (edge, active high, as the DSDT's _CRS says). */
#define VIRTIO_GSIS { 16, 17, 18, 19, 20, 21, 22, 23, 5, 6, 7, 10, 11, 12, 14, 15 }

/* I/O ports */
#define PORT_COM1        0x3f8
#define IRQ_COM1         4
#define PORT_I8042_DATA  0x60
#define PORT_I8042_CMD   0x64
#define PORT_RTC         0x70           /* index 0x70, data 0x71 */
#define PORT_ACPI_PM     0x600          /* PM1a_EVT 0x600, PM1a_CNT 0x604 */
#define IRQ_ACPI_SCI     9

#endif
