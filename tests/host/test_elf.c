/*
 * lib/elf: the ELF64 validator. A small valid image is built in memory
 * (text r-x, data rw-), then each case damages one field and names the
 * error it expects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "elf/elf.h"

#define LO 0x400000ull
#define HI 0x800000000000ull
#define FILE_LEN 0x3000

static uint8_t img[FILE_LEN];

static struct elf64_ehdr *
eh(void)
{
	return (struct elf64_ehdr *)img;
}

static struct elf64_phdr *
ph(int i)
{
	return (struct elf64_phdr *)(img + 64 + i * 56);
}

static int
setup(void **state)
{
	memset(img, 0, sizeof img);
	struct elf64_ehdr *h = eh();
	memcpy(h->ident, "\x7f" "ELF", 4);
	h->ident[4] = 2;
	h->ident[5] = 1;
	h->ident[6] = 1;
	h->type = 2;
	h->machine = 62;
	h->version = 1;
	h->entry = LO + 0x1000;
	h->phoff = 64;
	h->ehsize = 64;
	h->phentsize = 56;
	h->phnum = 3;
	*ph(0) = (struct elf64_phdr){ .type = 1, .flags = ELF_PF_R | ELF_PF_X, .offset = 0x1000,
		.vaddr = LO + 0x1000, .filesz = 0x1000, .memsz = 0x1000, .align = 0x1000 };
	*ph(1) = (struct elf64_phdr){ .type = 1, .flags = ELF_PF_R | ELF_PF_W, .offset = 0x2000,
		.vaddr = LO + 0x2000, .filesz = 0x800, .memsz = 0x3000, .align = 0x1000 };
	*ph(2) = (struct elf64_phdr){ .type = 0x6474e551 /* GNU_STACK, ignored */ };
	return 0;
}

static int
parse(const char **why)
{
	struct elf_image im;
	return elf_parse(img, sizeof img, LO, HI, &im, why);
}

static void
valid_image_gives_plan(void **state)
{
	struct elf_image im;
	const char *why = NULL;
	assert_int_equal(elf_parse(img, sizeof img, LO, HI, &im, &why), 0);
	assert_int_equal(im.nseg, 2);
	assert_int_equal(im.entry, LO + 0x1000);
	assert_int_equal(im.seg[1].memsz, 0x3000);
	assert_int_equal(im.seg[1].filesz, 0x800);
	assert_int_equal(im.seg[0].flags, ELF_PF_R | ELF_PF_X);
}

#define EXPECT(err, text) do {						\
	const char *why = NULL;						\
	assert_int_equal(parse(&why), err);				\
	assert_non_null(why);						\
	assert_non_null(strstr(why, text));				\
} while (0)

static void bad_magic(void **s) { img[1] = 'X'; EXPECT(E_CORRUPT, "magic"); }
static void bad_class(void **s) { img[4] = 1; EXPECT(E_NOTSUP, "ELFCLASS64"); }
static void big_endian(void **s) { img[5] = 2; EXPECT(E_NOTSUP, "little"); }
static void bad_machine(void **s) { eh()->machine = 3; EXPECT(E_NOTSUP, "x86_64"); }
static void not_exec(void **s) { eh()->type = 3; EXPECT(E_NOTSUP, "ET_EXEC"); }
static void bad_phentsize(void **s) { eh()->phentsize = 32; EXPECT(E_CORRUPT, "header size"); }
static void phdrs_beyond_file(void **s) { eh()->phoff = FILE_LEN - 10; EXPECT(E_RANGE, "outside the file"); }
static void phoff_overflow(void **s) { eh()->phoff = UINT64_MAX - 8; EXPECT(E_RANGE, "outside the file"); }
static void filesz_gt_memsz(void **s) { ph(1)->filesz = 0x4000; EXPECT(E_CORRUPT, "filesz > memsz"); }
static void segment_beyond_module(void **s) { ph(1)->filesz = 0x1800; EXPECT(E_RANGE, "beyond the end"); }
static void offset_overflow(void **s) { ph(1)->offset = UINT64_MAX - 0x100; EXPECT(E_RANGE, "beyond the end"); }
static void vaddr_overflow(void **s)
{
	ph(1)->vaddr = UINT64_MAX - 0xfff;
	ph(1)->offset = 0;
	EXPECT(E_RANGE, "overflow");
}
static void into_kernel_half(void **s)
{
	ph(1)->vaddr = 0xFFFF800000002000ull;
	EXPECT(E_RANGE, "outside user space");
}
static void below_user_floor(void **s)
{
	ph(0)->vaddr = 0x1000;
	eh()->entry = 0x1000;
	EXPECT(E_RANGE, "outside user space");
}
static void straddles_top(void **s)
{
	ph(1)->vaddr = HI - 0x1000;
	EXPECT(E_RANGE, "outside user space");
}
static void overlapping(void **s) { ph(1)->vaddr = LO + 0x1000; ph(1)->offset = 0x2000; EXPECT(E_CORRUPT, "overlapping"); }
static void overlap_same_page(void **s)
{
	/* Different bytes, same page: the two would need different permissions. */
	ph(1)->vaddr = LO + 0x1800;
	ph(1)->offset = 0x2800;
	ph(1)->filesz = 0x100;
	ph(0)->filesz = ph(0)->memsz = 0x800;
	EXPECT(E_CORRUPT, "overlapping");
}
static void misaligned(void **s) { ph(1)->vaddr = LO + 0x2010; EXPECT(E_CORRUPT, "mod page"); }
static void wx_segment(void **s) { ph(1)->flags = ELF_PF_W | ELF_PF_X; EXPECT(E_PERM, "writable and executable"); }
static void entry_outside(void **s) { eh()->entry = LO + 0x2000; EXPECT(E_CORRUPT, "entry"); }
static void no_load(void **s) { ph(0)->type = 0; ph(1)->type = 0; EXPECT(E_CORRUPT, "no PT_LOAD"); }
static void empty_segment(void **s) { ph(1)->memsz = 0; ph(1)->filesz = 0; EXPECT(E_CORRUPT, "empty"); }
static void too_many(void **s)
{
	eh()->phnum = 12;
	for (int i = 0; i < 12; i++)
		*ph(i) = (struct elf64_phdr){ .type = 1, .flags = ELF_PF_R | ELF_PF_X,
			.offset = 0, .vaddr = LO + 0x10000 * (uint64_t)i, .filesz = 0x100, .memsz = 0x100 };
	eh()->entry = LO;
	EXPECT(E_LIMIT, "too many");
}
static void short_file(void **s)
{
	const char *why = NULL;
	struct elf_image im;
	assert_int_equal(elf_parse(img, 40, LO, HI, &im, &why), E_CORRUPT);
	assert_non_null(strstr(why, "shorter"));
}

/* Every single-byte change of the headers either parses to a plan inside
 * the user range or fails; never anything else (ASan/UBSan watch the reads). */
static void header_byte_sweep(void **s)
{
	for (int off = 0; off < 64 + 3 * 56; off++) {
		for (int v = 0; v < 256; v += 51) {
			setup(NULL);
			img[off] = (uint8_t)v;
			struct elf_image im;
			const char *why = NULL;
			int r = elf_parse(img, sizeof img, LO, HI, &im, &why);
			if (r == 0) {
				for (uint32_t i = 0; i < im.nseg; i++) {
					assert_true(im.seg[i].vaddr >= LO);
					assert_true(im.seg[i].vaddr + im.seg[i].memsz <= HI);
					assert_true(im.seg[i].offset + im.seg[i].filesz <= sizeof img);
					assert_true(im.seg[i].filesz <= im.seg[i].memsz);
				}
			} else {
				assert_true(r < 0);
				assert_non_null(why);
			}
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(valid_image_gives_plan, setup),
		cmocka_unit_test_setup(bad_magic, setup),
		cmocka_unit_test_setup(bad_class, setup),
		cmocka_unit_test_setup(big_endian, setup),
		cmocka_unit_test_setup(bad_machine, setup),
		cmocka_unit_test_setup(not_exec, setup),
		cmocka_unit_test_setup(bad_phentsize, setup),
		cmocka_unit_test_setup(phdrs_beyond_file, setup),
		cmocka_unit_test_setup(phoff_overflow, setup),
		cmocka_unit_test_setup(filesz_gt_memsz, setup),
		cmocka_unit_test_setup(segment_beyond_module, setup),
		cmocka_unit_test_setup(offset_overflow, setup),
		cmocka_unit_test_setup(vaddr_overflow, setup),
		cmocka_unit_test_setup(into_kernel_half, setup),
		cmocka_unit_test_setup(below_user_floor, setup),
		cmocka_unit_test_setup(straddles_top, setup),
		cmocka_unit_test_setup(overlapping, setup),
		cmocka_unit_test_setup(overlap_same_page, setup),
		cmocka_unit_test_setup(misaligned, setup),
		cmocka_unit_test_setup(wx_segment, setup),
		cmocka_unit_test_setup(entry_outside, setup),
		cmocka_unit_test_setup(no_load, setup),
		cmocka_unit_test_setup(empty_segment, setup),
		cmocka_unit_test_setup(too_many, setup),
		cmocka_unit_test_setup(short_file, setup),
		cmocka_unit_test(header_byte_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
