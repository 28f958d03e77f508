/* aml.c - ACPI Machine Language writer (ACPI 6.5 chapter 20): the
 * encodings berth's DSDT needs, each function one grammar rule. Writes
 * past the buffer set `overflow` instead of writing. */
#include "vm/aml.h"

#include <string.h>

#define AML_ZERO_OP    0x00
#define AML_ONE_OP     0x01
#define AML_NAME_OP    0x08
#define AML_BYTE_PFX   0x0a
#define AML_WORD_PFX   0x0b
#define AML_DWORD_PFX  0x0c
#define AML_STRING_PFX 0x0d
#define AML_QWORD_PFX  0x0e
#define AML_SCOPE_OP   0x10
#define AML_PACKAGE_OP 0x12
#define AML_BUFFER_OP  0x11
#define AML_EXT_PFX    0x5b
#define AML_DEVICE_OP  0x82     /* after AML_EXT_PFX */

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	a->buf = buf;
	a->len = 0;
	a->cap = cap;
	a->overflow = 0;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = 1;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* 20.2.4: the value counts the PkgLength bytes too. One byte holds up to
 * 63 in bits 0-5; otherwise bits 7-6 of the lead byte give the number of
 * bytes that follow (1-3), bits 3-0 the low nibble, each following byte
 * the next 8 bits, bits 5-4 stay zero. */
unsigned aml_pkglen_encode(uint8_t out[4], size_t body)
{
	static const size_t limit[5] = { 0, 0x3f, 0xfff, 0xfffff, AML_PKGLEN_MAX };
	for (unsigned n = 1; n <= 4; n++) {
		if (body > limit[n] - n)
			continue;
		size_t total = body + n;
		if (n == 1) {
			out[0] = (uint8_t)total;
			return 1;
		}
		out[0] = (uint8_t)((n - 1) << 6 | (total & 0x0f));
		for (unsigned i = 1; i < n; i++)
			out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
		return n;
	}
	return 0;
}

size_t aml_pkg_begin(struct aml *a)
{
	return a->len;
}

/* Move the body up to make room for its PkgLength, then write it. */
void aml_pkg_end(struct aml *a, size_t mark)
{
	if (a->overflow)
		return;
	uint8_t enc[4];
	size_t body = a->len - mark;
	unsigned n = aml_pkglen_encode(enc, body);
	if (n == 0 || n > a->cap - a->len) {
		a->overflow = 1;
		return;
	}
	memmove(a->buf + mark + n, a->buf + mark, body);
	memcpy(a->buf + mark, enc, n);
	a->len += n;
}

void aml_nameseg(struct aml *a, const char seg[4])
{
	aml_bytes(a, seg, 4);
}

void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t b[9];
	size_t n;
	if (v == 0 || v == 1) {
		aml_byte(a, v ? AML_ONE_OP : AML_ZERO_OP);
		return;
	}
	if (v <= 0xff) {
		b[0] = AML_BYTE_PFX;
		n = 1;
	} else if (v <= 0xffff) {
		b[0] = AML_WORD_PFX;
		n = 2;
	} else if (v <= 0xffffffffu) {
		b[0] = AML_DWORD_PFX;
		n = 4;
	} else {
		b[0] = AML_QWORD_PFX;
		n = 8;
	}
	for (size_t i = 0; i < n; i++)
		b[1 + i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, 1 + n);
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING_PFX);
	aml_bytes(a, s, strlen(s) + 1);
}

void aml_name(struct aml *a, const char seg[4])
{
	aml_byte(a, AML_NAME_OP);
	aml_nameseg(a, seg);
}

size_t aml_scope_begin(struct aml *a, const char *path)
{
	aml_byte(a, AML_SCOPE_OP);
	size_t mark = aml_pkg_begin(a);
	aml_bytes(a, path, strlen(path));
	return mark;
}

size_t aml_device_begin(struct aml *a, const char seg[4])
{
	aml_byte(a, AML_EXT_PFX);
	aml_byte(a, AML_DEVICE_OP);
	size_t mark = aml_pkg_begin(a);
	aml_nameseg(a, seg);
	return mark;
}

size_t aml_package_begin(struct aml *a, uint8_t nelem)
{
	aml_byte(a, AML_PACKAGE_OP);
	size_t mark = aml_pkg_begin(a);
	aml_byte(a, nelem);
	return mark;
}

void aml_buffer(struct aml *a, const uint8_t *p, size_t n)
{
	aml_byte(a, AML_BUFFER_OP);
	size_t mark = aml_pkg_begin(a);
	aml_integer(a, n);
	aml_bytes(a, p, n);
	aml_pkg_end(a, mark);
}
