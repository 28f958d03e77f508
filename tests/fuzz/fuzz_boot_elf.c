/* fuzz_boot_elf.c - libFuzzer target for the ELF vmlinux parser and loader
 * (src/vm/boot_elf.c). The input is the file; RAM for its segments is
 * 1 MiB + 256 KiB (elf_parse's ram_end), inside a 32 MiB guest memory
 * from mem_alloc, so a bad bound shows as an ASan report or an abort.
 * An accepted file must load, and what elf_parse promised must hold:
 * segments between 1 MiB and ram_end, not overlapping, the entry inside
 * one segment's file bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/boot_elf.h"
#include "vm/layout.h"
#include "vm/memory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_END (GPA_KERNEL + (256u << 10))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so reading past the end is caught */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct elf_kernel k;
	struct err e = {0};
	if (elf_parse(buf, size, RAM_END, &k, &e) < 0) {
		if (!e.msg[0])
			abort();
		free(buf);
		return 0;
	}
	int entry_ok = 0;
	for (unsigned i = 0; i < k.nseg; i++) {
		const struct elf_segment *s = &k.seg[i];
		if (s->paddr < GPA_KERNEL || s->memsz > RAM_END - s->paddr || s->filesz > s->memsz ||
		    s->offset > size || s->filesz > size - s->offset)
			abort();
		for (unsigned j = 0; j < i; j++)
			if (s->paddr < k.seg[j].paddr + k.seg[j].memsz &&
			    k.seg[j].paddr < s->paddr + s->memsz)
				abort();
		entry_ok |= k.entry >= s->paddr && k.entry - s->paddr < s->filesz;
	}
	if (!entry_ok || k.nseg == 0 || k.start < GPA_KERNEL || k.end > RAM_END)
		abort();

	struct guest_mem m;
	if (mem_alloc(&m, MEM_MIN, &e) == 0) {
		if (elf_load(&m, buf, size, &k, &e) < 0)
			abort();
		uint64_t gpa;
		if (vmlinux_place_initrd(&k, NULL, RAM_END + (64u << 10), 4096, &gpa, &e) == 0 &&
		    (gpa < k.end || gpa + 4096 > RAM_END + (64u << 10)))
			abort();
		mem_free(&m);
	}
	free(buf);
	return 0;
}
