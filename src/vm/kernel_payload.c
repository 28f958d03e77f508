/* kernel_payload.c - find and decompress the vmlinux inside a bzImage.
 * References: Documentation/arch/x86/boot.rst, "Details of Header Fields"
 * (payload_offset, payload_length: protocol 2.08+); the kernel's build:
 * arch/x86/boot/compressed/Makefile appends the uncompressed size as a
 * little-endian 32-bit word after the compressed stream ("size_append"),
 * whatever the format; lib/decompress_unlz4.c for the LZ4 legacy frame
 * (magic 0x184c2102, then [le32 compressed size][block] ..., each block
 * at most 8 MiB uncompressed, a repeated magic starts a concatenated
 * frame). The xz, zstd and gzip streams are decoded by liblzma, libzstd
 * and zlib; LZ4 blocks by liblz4.
 *
 * The whole bzImage is untrusted: every offset is checked against the
 * protected-mode code, the output never exceeds the trailer's size nor the
 * caller's cap, and the output must come out exactly that long. */
#include "vm/kernel_payload.h"

#include <limits.h>
#include <lz4.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define HDR_PAYLOAD_OFFSET 0x248
#define HDR_PAYLOAD_LENGTH 0x24c

#define LZ4_LEGACY_MAGIC   0x184c2102u
#define LZ4_LEGACY_BLOCK   (8u << 20)   /* uncompressed bytes per block, at most */

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

const char *kernel_payload_name(int format)
{
	switch (format) {
	case PAYLOAD_GZIP: return "gzip";
	case PAYLOAD_XZ: return "xz";
	case PAYLOAD_LZ4: return "lz4";
	case PAYLOAD_ZSTD: return "zstd";
	case PAYLOAD_BZIP2: return "bzip2";
	case PAYLOAD_LZMA: return "lzma";
	case PAYLOAD_LZO: return "lzo";
	default: return "unknown";
	}
}

/* The magic numbers the kernel's build uses (usr/Kconfig and
 * lib/decompress.c's compressed_formats table). */
static int payload_format(const uint8_t *p, size_t n)
{
	static const struct {
		uint8_t magic[6];
		size_t len;
		int format;
	} fmts[] = {
		{ { 0x1f, 0x8b }, 2, PAYLOAD_GZIP },
		{ { 0xfd, '7', 'z', 'X', 'Z', 0x00 }, 6, PAYLOAD_XZ },
		{ { 0x02, 0x21, 0x4c, 0x18 }, 4, PAYLOAD_LZ4 },
		{ { 0x28, 0xb5, 0x2f, 0xfd }, 4, PAYLOAD_ZSTD },
		{ { 'B', 'Z', 'h' }, 3, PAYLOAD_BZIP2 },
		{ { 0x5d, 0x00, 0x00 }, 3, PAYLOAD_LZMA },
		{ { 0x89, 'L', 'Z', 'O' }, 4, PAYLOAD_LZO },
	};
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
		if (n >= fmts[i].len && memcmp(p, fmts[i].magic, fmts[i].len) == 0)
			return fmts[i].format;
	return PAYLOAD_UNKNOWN;
}

/* boot.rst "Details of Header Fields: payload_offset, payload_length". */
int kernel_payload_find(const struct bzimage *bz, const uint8_t **payload, size_t *len,
			int *format, struct err *e)
{
	if (bz->hdr_end < HDR_PAYLOAD_LENGTH + 4 || bz->kernel_off > bz->len ||
	    bz->kernel_len > bz->len - bz->kernel_off)
		return err_set(e, ENOEXEC, "bad bzImage: no payload fields in the setup header");
	uint32_t off = rd32(bz->buf + HDR_PAYLOAD_OFFSET);
	uint32_t n = rd32(bz->buf + HDR_PAYLOAD_LENGTH);
	if (off > bz->kernel_len || n > bz->kernel_len - off)
		return err_set(e, ENOEXEC,
			       "bad bzImage: payload at %u, %u bytes, lies outside the %zu-byte protected-mode code",
			       off, n, bz->kernel_len);
	if (n < 8)
		return err_set(e, ENOEXEC, "bad bzImage: the compressed kernel is only %u bytes", n);
	*payload = bz->buf + bz->kernel_off + off;
	*len = n;
	*format = payload_format(*payload, n);
	return 0;
}

/* xz: one .xz stream (liblzma), CRC32 check and the x86 BCJ filter in the
 * kernel's case; stream padding after it is allowed. liblzma allocates the
 * dictionary the stream declares (32 MiB for the kernel's, 64 MiB at most
 * with xz -9), bounded by memlimit; only what the output fills is touched. */
static int unxz(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, size_t *done,
		struct err *e)
{
	lzma_stream s = LZMA_STREAM_INIT;
	uint64_t memlimit = (64u << 20) + (out_len < (128u << 20) ? out_len : (128u << 20));
	lzma_ret r = lzma_stream_decoder(&s, memlimit, LZMA_CONCATENATED);
	if (r != LZMA_OK)
		return err_set(e, ENOMEM, "xz: cannot start the decoder (liblzma error %d)", (int)r);
	s.next_in = in;
	s.avail_in = in_len;
	s.next_out = out;
	s.avail_out = out_len;
	do
		r = lzma_code(&s, LZMA_FINISH);
	while (r == LZMA_OK);
	*done = (size_t)s.total_out;
	size_t left = s.avail_out;
	lzma_end(&s);
	switch (r) {
	case LZMA_STREAM_END:
		return 0;
	case LZMA_BUF_ERROR:
		if (left)
			return err_set(e, EBADMSG, "xz: the stream is truncated");
		return err_set(e, EBADMSG, "xz: the stream holds more than the %zu bytes its size trailer says",
			       out_len);
	case LZMA_MEMLIMIT_ERROR:
	case LZMA_MEM_ERROR:
		return err_set(e, ENOMEM, "xz: the stream needs more than %llu MiB to decode",
			       (unsigned long long)(memlimit >> 20));
	default:
		return err_set(e, EBADMSG, "xz: corrupt stream (liblzma error %d)", (int)r);
	}
}

/* gzip (RFC 1952) through zlib; windowBits 16 + 15 accepts gzip only. */
static int ungzip(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, size_t *done,
		  struct err *e)
{
	if (in_len > UINT_MAX || out_len > UINT_MAX)
		return err_set(e, EFBIG, "gzip: stream too large");
	z_stream s;
	memset(&s, 0, sizeof(s));
	if (inflateInit2(&s, 16 + 15) != Z_OK)
		return err_set(e, ENOMEM, "gzip: cannot start the decoder");
	s.next_in = (Bytef *)in;
	s.avail_in = (uInt)in_len;
	s.next_out = out;
	s.avail_out = (uInt)out_len;
	int r = inflate(&s, Z_FINISH);
	*done = (size_t)s.total_out;
	uInt left = s.avail_out;
	const char *msg = s.msg;      /* zlib's messages are static strings */
	inflateEnd(&s);
	if (r == Z_STREAM_END)
		return 0;
	if (r == Z_BUF_ERROR && left == 0)
		return err_set(e, EBADMSG, "gzip: the stream holds more than the %zu bytes its size trailer says",
			       out_len);
	if (r == Z_BUF_ERROR)
		return err_set(e, EBADMSG, "gzip: the stream is truncated");
	return err_set(e, EBADMSG, "gzip: corrupt stream (%s)", msg ? msg : "zlib error");
}

/* zstd: one or more frames (RFC 8878) decoded in one call into out. */
static int unzstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, size_t *done,
		  struct err *e)
{
	size_t r = ZSTD_decompress(out, out_len, in, in_len);
	if (ZSTD_isError(r))
		return err_set(e, EBADMSG, "zstd: %s", ZSTD_getErrorName(r));
	*done = r;
	return 0;
}

/* LZ4 legacy frame, as lib/decompress_unlz4.c reads it. */
static int unlz4(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, size_t *done,
		 struct err *e)
{
	size_t pos = 4, o = 0;       /* the caller checked the magic */
	unsigned block = 0;
	*done = 0;
	while (pos < in_len) {
		if (in_len - pos < 4)
			return err_set(e, EBADMSG, "lz4: %zu stray bytes at the end of the stream",
				       in_len - pos);
		uint32_t n = rd32(in + pos);
		pos += 4;
		if (n == LZ4_LEGACY_MAGIC)         /* a concatenated frame starts */
			continue;
		if (n == 0 || n > in_len - pos || n > (uint32_t)LZ4_compressBound(LZ4_LEGACY_BLOCK))
			return err_set(e, EBADMSG,
				       "lz4: block %u claims %u bytes, but %zu remain in the stream",
				       block, n, in_len - pos);
		size_t room = out_len - o;
		if (room > LZ4_LEGACY_BLOCK)
			room = LZ4_LEGACY_BLOCK;
		int got = LZ4_decompress_safe((const char *)in + pos, (char *)out + o, (int)n, (int)room);
		if (got < 0 && room == 0)
			return err_set(e, EBADMSG, "lz4: block %u is beyond the %zu bytes the size trailer says",
				       block, out_len);
		if (got < 0)
			return err_set(e, EBADMSG, "lz4: block %u is corrupt (or holds more than the size trailer says)",
				       block);
		o += (size_t)got;
		pos += n;
		*done = o;
		block++;
	}
	return 0;
}

int kernel_payload_decompress(const struct bzimage *bz, size_t max_out, uint8_t **out,
			      size_t *out_len, struct err *e)
{
	*out = NULL;
	*out_len = 0;
	const uint8_t *p;
	size_t n;
	int fmt;
	int r = kernel_payload_find(bz, &p, &n, &fmt, e);
	if (r < 0)
		return r;
	if (fmt != PAYLOAD_GZIP && fmt != PAYLOAD_XZ && fmt != PAYLOAD_LZ4 && fmt != PAYLOAD_ZSTD)
		return err_set(e, ENOTSUP, "kernel compressed with %s: berth decompresses gzip, xz, lz4 and zstd",
			       kernel_payload_name(fmt));
	if (max_out > KERNEL_PAYLOAD_MAX)
		max_out = KERNEL_PAYLOAD_MAX;
	size_t want = rd32(p + n - 4);
	n -= 4;                          /* the stream, without its size trailer */
	if (want == 0 || want > max_out)
		return err_set(e, EFBIG, "%s kernel: its size trailer says %zu bytes uncompressed; berth takes 1 to %zu",
			       kernel_payload_name(fmt), want, max_out);
	uint8_t *buf = malloc(want);
	if (!buf)
		return err_sys(e, ENOMEM, "%zu bytes for the uncompressed kernel", want);
	size_t got = 0;
	switch (fmt) {
	case PAYLOAD_GZIP: r = ungzip(p, n, buf, want, &got, e); break;
	case PAYLOAD_XZ: r = unxz(p, n, buf, want, &got, e); break;
	case PAYLOAD_LZ4: r = unlz4(p, n, buf, want, &got, e); break;
	default: r = unzstd(p, n, buf, want, &got, e); break;
	}
	if (r == 0 && got != want)
		r = err_set(e, EBADMSG, "%s: the stream gives %zu bytes, its size trailer says %zu",
			    kernel_payload_name(fmt), got, want);
	if (r < 0) {
		free(buf);
		return err_wrap(e, "decompress kernel");
	}
	*out = buf;
	*out_len = want;
	return 0;
}
