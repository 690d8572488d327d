/*
 * ELF64 validator: every field read from the image is checked before it is
 * used, all arithmetic is done with explicit overflow checks, and the result
 * is a plan (struct elf_image) the loader can execute without further
 * decisions. See elf.h for the list of rejected forms.
 */
#include "elf/elf.h"
#include "base/err.h"
#include "base/mem.h"

#define PAGE 4096ull

static int
fail(const char **why, const char *msg, int err)
{
	if (why)
		*why = msg;
	return err;
}

static int
check_header(const struct elf64_ehdr *h, size_t len, const char **why)
{
	static const uint8_t magic[4] = { 0x7f, 'E', 'L', 'F' };

	if (memcmp(h->ident, magic, 4) != 0)
		return fail(why, "bad magic", E_CORRUPT);
	if (h->ident[4] != 2)
		return fail(why, "not ELFCLASS64", E_NOTSUP);
	if (h->ident[5] != 1)
		return fail(why, "not little-endian", E_NOTSUP);
	if (h->ident[6] != 1 || h->version != 1)
		return fail(why, "bad ELF version", E_CORRUPT);
	if (h->type != 2)
		return fail(why, "not ET_EXEC", E_NOTSUP);
	if (h->machine != 62)
		return fail(why, "machine is not x86_64", E_NOTSUP);
	if (h->phentsize != sizeof(struct elf64_phdr))
		return fail(why, "bad program header size", E_CORRUPT);
	if (h->phnum == 0)
		return fail(why, "no program headers", E_CORRUPT);
	uint64_t tab = (uint64_t)h->phnum * sizeof(struct elf64_phdr);
	if (h->phoff > len || tab > len - h->phoff)
		return fail(why, "program headers outside the file", E_RANGE);
	return 0;
}

static int
check_segment(const struct elf64_phdr *p, size_t len, uint64_t lo, uint64_t hi,
	      const char **why)
{
	if (p->filesz > p->memsz)
		return fail(why, "filesz > memsz", E_CORRUPT);
	if (p->memsz == 0)
		return fail(why, "empty PT_LOAD segment", E_CORRUPT);
	if (p->offset > len || p->filesz > len - p->offset)
		return fail(why, "segment beyond the end of the module", E_RANGE);
	if (p->vaddr + p->memsz < p->vaddr || p->vaddr + p->memsz > UINT64_MAX - PAGE)
		return fail(why, "segment address overflows", E_RANGE);
	if (p->vaddr < lo || p->vaddr + p->memsz > hi)
		return fail(why, "segment outside user space", E_RANGE);
	if ((p->vaddr & (PAGE - 1)) != (p->offset & (PAGE - 1)))
		return fail(why, "segment offset and address disagree mod page", E_CORRUPT);
	if ((p->flags & ELF_PF_W) && (p->flags & ELF_PF_X))
		return fail(why, "writable and executable segment", E_PERM);
	return 0;
}

static int
overlaps(const struct elf_segment *a, const struct elf_segment *b)
{
	uint64_t a0 = a->vaddr & ~(PAGE - 1), a1 = (a->vaddr + a->memsz + PAGE - 1) & ~(PAGE - 1);
	uint64_t b0 = b->vaddr & ~(PAGE - 1), b1 = (b->vaddr + b->memsz + PAGE - 1) & ~(PAGE - 1);

	return a0 < b1 && b0 < a1;
}

int
elf_parse(const void *buf, size_t len, uint64_t lo, uint64_t hi, struct elf_image *out,
	  const char **why)
{
	struct elf64_ehdr h;
	int r;

	if (!buf || !out || lo >= hi)
		return fail(why, "bad arguments", E_INVAL);
	if (len < sizeof h)
		return fail(why, "file shorter than the ELF header", E_CORRUPT);
	memcpy(&h, buf, sizeof h);	/* the module need not be aligned */
	if ((r = check_header(&h, len, why)) < 0)
		return r;

	memset(out, 0, sizeof *out);
	for (uint32_t i = 0; i < h.phnum; i++) {
		struct elf64_phdr p;
		memcpy(&p, (const uint8_t *)buf + h.phoff + i * sizeof p, sizeof p);
		if (p.type != ELF_PT_LOAD)
			continue;
		if (out->nseg == ELF_MAX_SEGMENTS)
			return fail(why, "too many PT_LOAD segments", E_LIMIT);
		if ((r = check_segment(&p, len, lo, hi, why)) < 0)
			return r;
		struct elf_segment *s = &out->seg[out->nseg];
		s->vaddr = p.vaddr;
		s->memsz = p.memsz;
		s->offset = p.offset;
		s->filesz = p.filesz;
		s->flags = p.flags & (ELF_PF_R | ELF_PF_W | ELF_PF_X);
		for (uint32_t j = 0; j < out->nseg; j++)
			if (overlaps(s, &out->seg[j]))
				return fail(why, "overlapping segments", E_CORRUPT);
		out->nseg++;
	}
	if (out->nseg == 0)
		return fail(why, "no PT_LOAD segment", E_CORRUPT);
	for (uint32_t i = 0; i < out->nseg; i++) {
		const struct elf_segment *s = &out->seg[i];
		if ((s->flags & ELF_PF_X) && h.entry >= s->vaddr && h.entry < s->vaddr + s->memsz) {
			out->entry = h.entry;
			return 0;
		}
	}
	return fail(why, "entry point outside every executable segment", E_CORRUPT);
}
