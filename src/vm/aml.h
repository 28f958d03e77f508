/* aml.h - a small writer of ACPI Machine Language (ACPI 6.5 chapter 20),
 * enough for the DSDT of a berth VM: names, integers, strings, packages,
 * buffers, scopes and devices. Packages nest: aml_pkg_begin returns a mark,
 * aml_pkg_end fills in the PkgLength once the contents are known. */
#ifndef BERTH_VM_AML_H
#define BERTH_VM_AML_H

#include <stddef.h>
#include <stdint.h>

/* 20.2.4: a PkgLength is 1 to 4 bytes and counts itself. */
#define AML_PKGLEN_MAX 0x0fffffffu

struct aml {
	uint8_t *buf;
	size_t len, cap;
	int overflow;        /* something did not fit: the output is unusable */
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/* 20.2.4 PkgLength for `body` bytes that follow it: writes 1-4 bytes to
 * out and returns their number (0 if too long for any encoding). */
unsigned aml_pkglen_encode(uint8_t out[4], size_t body);

/* Start a PkgLength-prefixed body (after its opcode); end it. */
size_t aml_pkg_begin(struct aml *a);
void aml_pkg_end(struct aml *a, size_t mark);

/* 20.2.2 NameSeg: exactly 4 characters. */
void aml_nameseg(struct aml *a, const char seg[4]);
/* 20.2.3 ComputationalData: the shortest integer encoding. */
void aml_integer(struct aml *a, uint64_t v);
/* 20.2.3 String: StringPrefix, ASCII, NUL. */
void aml_string(struct aml *a, const char *s);

/* 20.2.5.1 DefName: Name(seg, ...) - the value is written next. */
void aml_name(struct aml *a, const char seg[4]);
/* 20.2.5.1 DefScope (path: a NameString such as "\\_SB_") and 20.2.5.2
 * DefDevice: return the mark for aml_pkg_end. */
size_t aml_scope_begin(struct aml *a, const char *path);
size_t aml_device_begin(struct aml *a, const char seg[4]);
/* 20.2.5.4 DefPackage with nelem elements, written next; returns the
 * mark for aml_pkg_end. */
size_t aml_package_begin(struct aml *a, uint8_t nelem);
/* 20.2.5.4 DefBuffer with the given bytes. */
void aml_buffer(struct aml *a, const uint8_t *p, size_t n);

#endif
