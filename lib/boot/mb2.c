/*
 * Multiboot2 boot information parser. See mb2.h for the trust model.
 * Layout reference: Multiboot2 Specification version 2.0, section 3.6.
 */
#include "base/err.h"
#include "base/mem.h"
#include "boot/mb2.h"
#include "fmt/fmt.h"

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t
rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Copy a NUL-terminated string of at most `avail` bytes, truncating to dst. */
static int
copy_str(char *dst, size_t dstlen, const uint8_t *src, size_t avail)
{
	size_t n = 0;

	while (n < avail && src[n])
		n++;
	if (n == avail)
		return E_CORRUPT;	/* no terminator inside the tag */
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

uint32_t
mb2_efi_type(uint32_t t)
{
	switch (t) {
	case 1: case 2:		/* loader code/data */
	case 3: case 4:		/* boot services code/data: free after ExitBootServices */
	case 7:			/* conventional */
		return MB2_MEM_USABLE;
	case 9: return MB2_MEM_ACPI;
	case 10: return MB2_MEM_NVS;
	case 8: return MB2_MEM_BAD;
	}
	return MB2_MEM_RESERVED;
}

static int
parse_mmap(const uint8_t *t, uint32_t size, struct mb2_info *o)
{
	if (size < 16)
		return E_CORRUPT;
	uint32_t esz = rd32(t + 8);
	if (esz < 24 || esz > 4096 || esz % 8)
		return E_CORRUPT;
	o->has_mmap = true;
	for (uint32_t off = 16; off + esz <= size; off += esz) {
		if (o->mmap_count == MB2_MAX_MMAP) {
			o->mmap_dropped++;
			continue;
		}
		struct mb2_mmap_entry *e = &o->mmap[o->mmap_count++];
		e->base = rd64(t + off);
		e->len = rd64(t + off + 8);
		e->type = rd32(t + off + 16);
	}
	return 0;
}

static int
parse_efi_mmap(const uint8_t *t, uint32_t size, struct mb2_info *o)
{
	if (size < 16)
		return E_CORRUPT;
	uint32_t dsz = rd32(t + 8);
	if (dsz < 40 || dsz > 4096)
		return E_CORRUPT;
	o->has_efi_mmap = true;
	o->efi = true;
	for (uint32_t off = 16; off + dsz <= size; off += dsz) {
		if (o->efi_mmap_count == MB2_MAX_MMAP) {
			o->efi_mmap_dropped++;
			continue;
		}
		/* EFI_MEMORY_DESCRIPTOR: u32 type, pad, u64 phys, u64 virt, u64 pages, u64 attr */
		uint64_t pages = rd64(t + off + 24);
		struct mb2_mmap_entry *e = &o->efi_mmap[o->efi_mmap_count++];
		e->type = mb2_efi_type(rd32(t + off));
		e->base = rd64(t + off + 8);
		e->len = pages > (UINT64_MAX >> 12) ? UINT64_MAX : pages << 12;
	}
	return 0;
}

static int
parse_module(const uint8_t *t, uint32_t size, struct mb2_info *o)
{
	if (size < 17)
		return E_CORRUPT;
	if (o->module_count == MB2_MAX_MODULES) {
		o->modules_dropped++;
		return 0;
	}
	struct mb2_module *m = &o->modules[o->module_count];
	m->start = rd32(t + 8);
	m->end = rd32(t + 12);
	if (m->end < m->start)
		return E_CORRUPT;
	int r = copy_str(m->name, sizeof m->name, t + 16, size - 16);
	if (r)
		return r;
	o->module_count++;
	return 0;
}

static int
parse_fb(const uint8_t *t, uint32_t size, struct mb2_info *o)
{
	if (size < 31)
		return E_CORRUPT;
	o->has_fb = true;
	o->fb_addr = rd64(t + 8);
	o->fb_pitch = rd32(t + 16);
	o->fb_width = rd32(t + 20);
	o->fb_height = rd32(t + 24);
	o->fb_bpp = t[28];
	o->fb_type = t[29];
	return 0;
}

static int
parse_rsdp(const uint8_t *t, uint32_t size, uint8_t rev, struct mb2_info *o)
{
	uint32_t len = size - 8;
	uint32_t need = rev == 1 ? 20 : 36;

	if (len < need)
		return E_CORRUPT;
	/* Prefer the ACPI 2.0 copy when the loader gives both. */
	if (o->rsdp_rev >= rev)
		return 0;
	memcpy(o->rsdp, t + 8, need);
	o->rsdp_len = (uint8_t)need;
	o->rsdp_rev = rev;
	return 0;
}

static int
parse_tag(uint32_t type, const uint8_t *t, uint32_t size, struct mb2_info *o)
{
	switch (type) {
	case MB2_TAG_CMDLINE:
		o->has_cmdline = true;
		return copy_str(o->cmdline, sizeof o->cmdline, t + 8, size - 8);
	case MB2_TAG_LOADER_NAME:
		return copy_str(o->loader, sizeof o->loader, t + 8, size - 8);
	case MB2_TAG_MODULE:
		return parse_module(t, size, o);
	case MB2_TAG_BASIC_MEMINFO:
		if (size < 16)
			return E_CORRUPT;
		o->has_meminfo = true;
		o->mem_lower_kib = rd32(t + 8);
		o->mem_upper_kib = rd32(t + 12);
		return 0;
	case MB2_TAG_MMAP:
		return parse_mmap(t, size, o);
	case MB2_TAG_FRAMEBUFFER:
		return parse_fb(t, size, o);
	case MB2_TAG_EFI32:
		if (size < 12)
			return E_CORRUPT;
		o->efi = true;
		o->efi_systab = rd32(t + 8);
		return 0;
	case MB2_TAG_EFI64:
		if (size < 16)
			return E_CORRUPT;
		o->efi = true;
		o->efi_systab = rd64(t + 8);
		return 0;
	case MB2_TAG_ACPI_OLD:
		return parse_rsdp(t, size, 1, o);
	case MB2_TAG_ACPI_NEW:
		return parse_rsdp(t, size, 2, o);
	case MB2_TAG_EFI_MMAP:
		return parse_efi_mmap(t, size, o);
	case MB2_TAG_EFI_BS:
		o->efi_bs_active = true;
		return 0;
	case MB2_TAG_LOAD_BASE:
		if (size < 12)
			return E_CORRUPT;
		o->has_load_base = true;
		o->load_base = rd32(t + 8);
		return 0;
	}
	o->unknown_tags++;
	return 0;
}

int
mb2_parse(const void *mbi, size_t readable, struct mb2_info *o, char *err,
	  size_t errlen)
{
	const uint8_t *p = mbi;

	memset(o, 0, sizeof *o);
	if (readable < 8) {
		fmt_snprintf(err, errlen, "boot information truncated (%zu bytes readable)", readable);
		return E_CORRUPT;
	}
	uint32_t total = rd32(p);
	if (total < 16 || total > MB2_MAX_TOTAL_SIZE || total > readable) {
		fmt_snprintf(err, errlen, "boot information total_size %u out of range", total);
		return E_RANGE;
	}
	o->total_size = total;
	uint32_t off = 8;
	for (;;) {
		if (off + 8 > total) {
			fmt_snprintf(err, errlen, "no end tag within total_size %u", total);
			return E_CORRUPT;
		}
		uint32_t type = rd32(p + off) & 0xffff;
		uint32_t size = rd32(p + off + 4);
		if (size < 8 || size > total - off) {
			fmt_snprintf(err, errlen, "tag %u at offset %u has bad size %u", type, off, size);
			return E_CORRUPT;
		}
		o->ntags++;
		if (type == MB2_TAG_END)
			return 0;
		int r = parse_tag(type, p + off, size, o);
		if (r) {
			fmt_snprintf(err, errlen, "tag %u at offset %u is malformed (size %u)", type, off, size);
			return r;
		}
		off += (size + 7) & ~7u;
	}
}
