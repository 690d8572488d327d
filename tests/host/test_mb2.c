/*
 * Multiboot2 parser, memory-map sanitiser and command line: against the
 * boot information GRUB really passed (captured fixtures, see
 * fixtures/capture-mbi.py) and against hand-made hostile blobs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "boot/cmdline.h"
#include "boot/mb2.h"
#include "boot/memmap.h"

static struct mb2_info info;
static char err[128];

static size_t
load(const char *name, uint8_t *buf, size_t max)
{
	char path[256];
	snprintf(path, sizeof path, "../tests/host/fixtures/%s", name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, max, f);
	fclose(f);
	return n;
}

static void
test_captured_bios(void **state)
{
	static uint8_t buf[65536] __attribute__((aligned(8)));
	size_t n = load("mb2-bios.bin", buf, sizeof buf);

	assert_int_equal(mb2_parse(buf, n, &info, err, sizeof err), 0);
	assert_string_equal(info.cmdline, "capos.mbi_dump");
	assert_true(strstr(info.loader, "GRUB") != NULL);
	assert_true(info.has_mmap);
	assert_true(info.mmap_count >= 3);
	assert_false(info.efi);
	assert_int_equal(info.rsdp_rev, 1);
	assert_int_equal(memcmp(info.rsdp, "RSD PTR ", 8), 0);
	assert_int_equal(info.module_count, 1);
	assert_string_equal(info.modules[0].name, "kernel.sym");
	assert_true(info.modules[0].end > info.modules[0].start);

	struct mm_map m;
	mm_build(&m, info.mmap, info.mmap_count);
	assert_true(mm_total(&m) > 500ull << 20);	/* QEMU -m 512M */
	assert_int_equal(m.absurd, 0);
}

static void
test_captured_uefi(void **state)
{
	static uint8_t buf[65536] __attribute__((aligned(8)));
	size_t n = load("mb2-uefi.bin", buf, sizeof buf);

	assert_int_equal(mb2_parse(buf, n, &info, err, sizeof err), 0);
	assert_true(info.efi);
	assert_true(info.has_efi_mmap);
	assert_true(info.efi_mmap_count > 20);
	assert_int_equal(info.rsdp_rev, 2);

	/* The EFI map and the multiboot map must agree on usable memory within 2%. */
	struct mm_map a, b;
	mm_build(&a, info.mmap, info.mmap_count);
	mm_build(&b, info.efi_mmap, info.efi_mmap_count);
	uint64_t ta = mm_total(&a), tb = mm_total(&b);
	assert_true(ta > 400ull << 20);
	assert_true(ta > tb ? ta - tb < ta / 50 : tb - ta < tb / 50);
}

/* A builder for hand-made blobs. */
static uint8_t blob[16384] __attribute__((aligned(8)));
static uint32_t blen;

static void
begin(void)
{
	memset(blob, 0, sizeof blob);
	blen = 8;
}

static uint8_t *
tag(uint32_t type, uint32_t size)
{
	uint8_t *t = blob + blen;
	memcpy(t, &type, 4);
	memcpy(t + 4, &size, 4);
	blen += (size + 7) & ~7u;
	return t;
}

static void
finish(void)
{
	tag(0, 8);
	memcpy(blob, &blen, 4);
}

static void
test_truncated_and_bad_sizes(void **state)
{
	begin();
	finish();
	assert_int_equal(mb2_parse(blob, blen, &info, err, sizeof err), 0);
	assert_int_equal(mb2_parse(blob, 4, &info, err, sizeof err), E_CORRUPT);
	/* total_size larger than what is readable */
	assert_int_equal(mb2_parse(blob, blen - 1, &info, err, sizeof err), E_RANGE);
	/* total_size absurd */
	uint32_t huge = 0xFFFFFFF0u;
	memcpy(blob, &huge, 4);
	assert_int_equal(mb2_parse(blob, sizeof blob, &info, err, sizeof err), E_RANGE);

	/* A tag whose size runs past the end */
	begin();
	uint8_t *t = tag(1, 16);
	memcpy(t + 8, "abc", 4);
	uint32_t bad = 4000;
	memcpy(t + 4, &bad, 4);
	finish();
	assert_int_equal(mb2_parse(blob, blen, &info, err, sizeof err), E_CORRUPT);
	assert_non_null(strstr(err, "bad size"));

	/* A tag of size < 8 (would loop forever if trusted) */
	begin();
	t = tag(1, 16);
	uint32_t tiny = 4;
	memcpy(t + 4, &tiny, 4);
	finish();
	assert_int_equal(mb2_parse(blob, blen, &info, err, sizeof err), E_CORRUPT);

	/* No end tag */
	begin();
	t = tag(1, 16);
	memcpy(t + 8, "abcdefg", 8);
	memcpy(blob, &blen, 4);
	assert_int_equal(mb2_parse(blob, blen, &info, err, sizeof err), E_CORRUPT);
	assert_non_null(strstr(err, "no end tag"));
}

static void
test_unterminated_strings(void **state)
{
	begin();
	uint8_t *t = tag(MB2_TAG_CMDLINE, 16);
	memcpy(t + 8, "ABCDEFGH", 8);	/* no NUL inside the tag */
	finish();
	assert_int_equal(mb2_parse(blob, blen, &info, err, sizeof err), E_CORRUPT);

	begin();
	t = tag(MB2_TAG_MODULE, 24);
	uint32_t s = 0x400000, e = 0x300000;	/* end before start */
	memcpy(t + 8, &s, 4);
	memcpy(t + 12, &e, 4);
	finish();
	assert_int_equal(mb2_parse(blob, blen, &info, err, sizeof err), E_CORRUPT);
}

/* One more module than MB2_MAX_MODULES: the first MB2_MAX_MODULES are kept,
 * in order, and the extra one is counted as dropped, not written anywhere. */
static void
test_module_limit(void **state)
{
	begin();
	for (uint32_t i = 0; i <= MB2_MAX_MODULES; i++) {
		uint8_t *t = tag(MB2_TAG_MODULE, 24);
		uint32_t s = 0x400000 + i * 0x1000, e = s + 0x1000;
		memcpy(t + 8, &s, 4);
		memcpy(t + 12, &e, 4);
		snprintf((char *)t + 16, 8, "m%u", i);
	}
	finish();
	assert_int_equal(mb2_parse(blob, blen, &info, err, sizeof err), 0);
	assert_int_equal(info.module_count, MB2_MAX_MODULES);
	assert_int_equal(info.modules_dropped, 1);
	assert_string_equal(info.modules[0].name, "m0");
	assert_int_equal(info.modules[MB2_MAX_MODULES - 1].start, 0x400000 + (MB2_MAX_MODULES - 1) * 0x1000);
}

static void
test_mmap_entry_size_and_limits(void **state)
{
	begin();
	uint8_t *t = tag(MB2_TAG_MMAP, 16 + 24);
	uint32_t esz = 12;	/* smaller than an entry */
	memcpy(t + 8, &esz, 4);
	finish();
	assert_int_equal(mb2_parse(blob, blen, &info, err, sizeof err), E_CORRUPT);

	/* More entries than MB2_MAX_MMAP: counted as dropped, never written past the array. */
	static uint8_t big[16 + 24 * 300 + 64] __attribute__((aligned(8)));
	uint32_t total = 8 + 16 + 24 * 300 + 8;
	memset(big, 0, sizeof big);
	memcpy(big, &total, 4);
	uint32_t type = MB2_TAG_MMAP, size = 16 + 24 * 300;
	memcpy(big + 8, &type, 4);
	memcpy(big + 12, &size, 4);
	esz = 24;
	memcpy(big + 16, &esz, 4);
	uint32_t end_size = 8;
	memcpy(big + 8 + size + 4, &end_size, 4);	/* end tag */
	assert_int_equal(mb2_parse(big, sizeof big, &info, err, sizeof err), 0);
	assert_int_equal(info.mmap_count, MB2_MAX_MMAP);
	assert_int_equal(info.mmap_dropped, 300 - MB2_MAX_MMAP);
}

static void
test_rsdp_prefers_v2(void **state)
{
	begin();
	uint8_t *t = tag(MB2_TAG_ACPI_NEW, 8 + 36);
	memcpy(t + 8, "RSD PTR ", 8);
	t[8 + 15] = 2;
	t = tag(MB2_TAG_ACPI_OLD, 8 + 20);
	memcpy(t + 8, "RSD PTR ", 8);
	finish();
	assert_int_equal(mb2_parse(blob, blen, &info, err, sizeof err), 0);
	assert_int_equal(info.rsdp_rev, 2);
	assert_int_equal(info.rsdp_len, 36);

	begin();
	t = tag(MB2_TAG_ACPI_NEW, 8 + 20);	/* too short for an XSDP */
	finish();
	assert_int_equal(mb2_parse(blob, blen, &info, err, sizeof err), E_CORRUPT);
}

static void
test_memmap_policy(void **state)
{
	struct mb2_mmap_entry e[] = {
		{ 0x0, 0x9fc00, MB2_MEM_USABLE },
		{ 0x100000, 0x7ff00000, MB2_MEM_USABLE },
		{ 0x100000, 0x200000, MB2_MEM_USABLE },		/* overlapping usable: merged */
		{ 0x10000000, 0x100000, MB2_MEM_RESERVED },	/* reserved inside usable: cut */
		{ 0x20000000, 0x1000, MB2_MEM_ACPI },
		{ 0xFFFFFFFFFFFFF000ull, 0x10000, MB2_MEM_USABLE },	/* overflows */
		{ 1ull << 60, 1ull << 20, MB2_MEM_USABLE },		/* beyond 64 TiB */
		{ 0x300000, 0, MB2_MEM_USABLE },			/* empty */
		{ 0x5000, 0x800, MB2_MEM_RESERVED },			/* partial page: whole page removed */
	};
	struct mm_map m;

	mm_build(&m, e, sizeof e / sizeof e[0]);
	assert_int_equal(m.absurd, 3);
	assert_int_equal(m.overlaps, 3);
	/* [0,0x5000) [0x6000,0x9f000) [0x100000,0x10000000) [0x10100000,0x20000000) [0x20001000,0x80000000) */
	assert_int_equal(m.n, 5);
	assert_int_equal(m.r[0].end, 0x5000);
	assert_int_equal(m.r[1].base, 0x6000);
	assert_int_equal(m.r[1].end, 0x9f000);	/* 0x9fc00 rounded down */
	assert_int_equal(m.r[2].end, 0x10000000);
	assert_int_equal(m.r[3].base, 0x10100000);
	assert_int_equal(m.r[4].base, 0x20001000);
	assert_int_equal(mm_top(&m), 0x80000000);
	for (uint32_t i = 0; i + 1 < m.n; i++)
		assert_true(m.r[i].end < m.r[i + 1].base);

	mm_remove(&m, 0x200000, 0x300001);	/* rounds outward */
	assert_int_equal(m.n, 6);
	assert_int_equal(m.r[2].end, 0x200000);
	assert_int_equal(m.r[3].base, 0x301000);
}

static void
test_memmap_overflowing_output(void **state)
{
	/* 400 separate usable pages: only MM_MAX_RANGES kept, the rest counted. */
	static struct mb2_mmap_entry e[400];
	for (int i = 0; i < 400; i++)
		e[i] = (struct mb2_mmap_entry){ (uint64_t)i * 0x10000, 0x1000 * (1 + i % 3), MB2_MEM_USABLE };
	struct mm_map m;
	mm_build(&m, e, 400);
	assert_int_equal(m.n, MM_MAX_RANGES);
	assert_true(m.dropped >= 400 - MM_MAX_RANGES);
	for (uint32_t i = 0; i + 1 < m.n; i++)
		assert_true(m.r[i].end <= m.r[i + 1].base);
}

static void
test_cmdline(void **state)
{
	char v[16];
	const char *c = "quiet capos.test=pmm  capos.mode=diag capos.test=heap x=";

	assert_int_equal(cmdline_get(c, "capos.test", v, sizeof v), 1);
	assert_string_equal(v, "heap");	/* last wins */
	assert_int_equal(cmdline_get(c, "capos.mode", v, sizeof v), 1);
	assert_string_equal(v, "diag");
	assert_int_equal(cmdline_get(c, "capos.none", v, sizeof v), 0);
	assert_int_equal(cmdline_get(c, "x", v, sizeof v), 1);
	assert_string_equal(v, "");
	assert_int_equal(cmdline_get(c, "capos.mode", v, 4), E_TOOBIG);
	assert_true(cmdline_flag(c, "quiet"));
	assert_false(cmdline_flag(c, "capos"));
	assert_true(cmdline_flag("a=yes", "a"));
	assert_false(cmdline_flag("a=no", "a"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captured_bios),
		cmocka_unit_test(test_captured_uefi),
		cmocka_unit_test(test_truncated_and_bad_sizes),
		cmocka_unit_test(test_unterminated_strings),
		cmocka_unit_test(test_mmap_entry_size_and_limits),
		cmocka_unit_test(test_module_limit),
		cmocka_unit_test(test_rsdp_prefers_v2),
		cmocka_unit_test(test_memmap_policy),
		cmocka_unit_test(test_memmap_overflowing_output),
		cmocka_unit_test(test_cmdline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
