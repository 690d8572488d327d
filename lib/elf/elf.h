/*
 * ELF64 validation for boot modules (System V gABI, AMD64 psABI).
 *
 * elf_parse() checks a whole image before anything is mapped and fills a
 * small plan of loadable segments; the kernel loader then only copies.
 * Pure and freestanding: no allocation, no kernel types, so the same code
 * runs under cmocka on the host (tests/host/test_elf.c).
 *
 * Rejected (each with its own error and message): short file, bad magic,
 * class other than ELFCLASS64, non-little-endian, version, type other than
 * ET_EXEC, machine other than EM_X86_64, program header table outside the
 * file or with a wrong entry size, too many PT_LOAD segments, filesz >
 * memsz, file range outside the module, address arithmetic that overflows,
 * a segment outside [user_lo, user_hi), unaligned or mismatched offsets,
 * overlapping segments (page-rounded), writable+executable segments, and an
 * entry point outside every executable segment.
 */
#ifndef CAPOS_ELF_H
#define CAPOS_ELF_H

#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_SEGMENTS 8

#define ELF_PT_LOAD	1
#define ELF_PF_X	1
#define ELF_PF_W	2
#define ELF_PF_R	4

struct elf64_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
} __attribute__((packed));
_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header");

struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
} __attribute__((packed));
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header");

struct elf_segment {
	uint64_t vaddr, memsz;	/* exact range in the address space */
	uint64_t offset, filesz;	/* bytes copied from the file; the rest is zero */
	uint32_t flags;		/* ELF_PF_* */
};

struct elf_image {
	uint64_t entry;
	uint32_t nseg;
	struct elf_segment seg[ELF_MAX_SEGMENTS];
};

/*
 * Validate `len` bytes at `buf` as an executable for the user range
 * [user_lo, user_hi). Returns 0 and fills *out, or a negative base/err.h
 * code with a short static reason in *why.
 */
int elf_parse(const void *buf, size_t len, uint64_t user_lo, uint64_t user_hi,
	      struct elf_image *out, const char **why);

#endif
