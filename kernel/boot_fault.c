/*
 * Boot-information fault injection, for the system tests of bad loader
 * input. `capos.mbi_fault=KIND` makes the kernel copy the loader's boot
 * information and damage the copy before parsing it for real:
 *
 *   no-mmap         drop the mmap and EFI mmap tags (meminfo remains)
 *   no-memory-info  drop the mmap, EFI mmap and basic meminfo tags
 *   overlap-mmap    add a reserved entry inside the largest usable range and
 *                   a usable entry that overlaps another usable one
 *   absurd-mmap     add entries that overflow, lie above 64 TiB, or are empty
 *   module-overlap  move module 0 on top of the kernel image
 *
 * This is a test instrument and says so on the console whenever it acts.
 */
#include "boot/mb2.h"
#include "kernel.h"

extern char __load_start[];

#define COPY_MAX (64 * 1024)
static uint8_t copy[COPY_MAX] __attribute__((aligned(8)));
uint64_t fault_reserved_base, fault_reserved_len;	/* read by the pmm self-test */

static uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void
wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void
put_entry(uint8_t *p, uint64_t base, uint64_t len, uint32_t type)
{
	memcpy(p, &base, 8);
	memcpy(p + 8, &len, 8);
	wr32(p + 16, type);
	wr32(p + 20, 0);
}

/* Append entries to an mmap tag copied at `t`; returns bytes added. */
static uint32_t
extend_mmap(uint8_t *t, uint32_t size, const char *kind)
{
	uint32_t esz = rd32(t + 8);
	uint64_t best_base = 0, best_len = 0;

	if (esz != 24)
		return 0;
	for (uint32_t off = 16; off + esz <= size; off += esz) {
		uint64_t b, l;
		memcpy(&b, t + off, 8);
		memcpy(&l, t + off + 8, 8);
		if (rd32(t + off + 16) == MB2_MEM_USABLE && l > best_len) {
			best_base = b;
			best_len = l;
		}
	}
	uint8_t *p = t + size;
	if (strcmp(kind, "overlap-mmap") == 0) {
		fault_reserved_base = ALIGN_UP(best_base + best_len / 2, PAGE_SIZE);
		fault_reserved_len = 1ull << 20;
		put_entry(p, fault_reserved_base, fault_reserved_len, MB2_MEM_RESERVED);
		put_entry(p + 24, best_base, 2ull << 20, MB2_MEM_USABLE);
		return 48;
	}
	put_entry(p, 0xFFFFFFFFFFFFF000ull, 0x10000, MB2_MEM_USABLE);
	put_entry(p + 24, 1ull << 60, 1ull << 40, MB2_MEM_USABLE);
	put_entry(p + 48, 1ull << 20, 0, MB2_MEM_USABLE);
	return 72;
}

const void *
boot_fault_apply(const void *mbi, const char *kind)
{
	const uint8_t *src = mbi;
	uint32_t total = rd32(src);
	uint32_t in = 8, out = 8;

	if (total > COPY_MAX - 256) {
		kprintf("capos: mbi_fault=%s not applied: boot information too large\n", kind);
		return mbi;
	}
	kprintf("capos: TEST INSTRUMENT: damaging the boot information (%s)\n", kind);
	while (in + 8 <= total) {
		uint32_t type = rd32(src + in) & 0xffff, size = rd32(src + in + 4);
		if (size < 8 || size > total - in)
			break;
		uint32_t adv = (size + 7) & ~7u;
		uint8_t *t = copy + out;
		memcpy(t, src + in, size);
		if ((type == MB2_TAG_MMAP || type == MB2_TAG_EFI_MMAP) &&
		    (strcmp(kind, "no-mmap") == 0 || strcmp(kind, "no-memory-info") == 0))
			wr32(t, 0xfff0);	/* an unknown tag: skipped */
		if (type == MB2_TAG_BASIC_MEMINFO && strcmp(kind, "no-memory-info") == 0)
			wr32(t, 0xfff0);
		if (type == MB2_TAG_MMAP &&
		    (strcmp(kind, "overlap-mmap") == 0 || strcmp(kind, "absurd-mmap") == 0)) {
			size += extend_mmap(t, size, kind);
			wr32(t + 4, size);
		}
		if (type == MB2_TAG_MODULE && strcmp(kind, "module-overlap") == 0 && in != 0) {
			uint32_t k = (uint32_t)(uintptr_t)__load_start;
			wr32(t + 8, k + 0x1000);
			wr32(t + 12, k + 0x3000);
			kind = "module-overlap-done";
		}
		out += (size + 7) & ~7u;
		in += adv;
		if (type == MB2_TAG_END)
			break;
	}
	wr32(copy, out);
	wr32(copy + 4, 0);
	return copy;
}
