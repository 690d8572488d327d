/* Frame allocator core and the bounded formatter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "fmt/fmt.h"
#include "mm/frame.h"

static uint64_t bm[64];

static void
test_starts_all_used(void **state)
{
	struct frame_alloc fa;
	uint64_t f;

	frame_init(&fa, bm, 1000);
	assert_int_equal(fa.nfree, 0);
	assert_int_equal(frame_alloc_one(&fa, &f), E_NOMEM);
	assert_false(frame_is_free(&fa, 5));
}

static void
test_only_released_frames_are_handed_out(void **state)
{
	struct frame_alloc fa;
	uint64_t f;
	int seen = 0;

	frame_init(&fa, bm, 1000);
	frame_release_range(&fa, 100, 50);
	frame_release_range(&fa, 990, 100);	/* past the end: clipped */
	frame_reserve_range(&fa, 120, 5);
	assert_int_equal(fa.nfree, 45 + 10);
	while (frame_alloc_one(&fa, &f) == 0) {
		assert_true((f >= 100 && f < 120) || (f >= 125 && f < 150) || (f >= 990 && f < 1000));
		seen++;
	}
	assert_int_equal(seen, 55);
	assert_int_equal(fa.nfree, 0);
}

static void
test_free_checks(void **state)
{
	struct frame_alloc fa;
	uint64_t f;

	frame_init(&fa, bm, 1000);
	frame_release_range(&fa, 10, 1);
	assert_int_equal(frame_alloc_one(&fa, &f), 0);
	assert_int_equal(f, 10);
	assert_int_equal(frame_free(&fa, 10), 0);
	assert_int_equal(frame_free(&fa, 10), E_INVAL);	/* double free */
	assert_int_equal(frame_free(&fa, 1000), E_RANGE);
	assert_int_equal(fa.nfree, 1);
}

static void
test_contig(void **state)
{
	struct frame_alloc fa;
	uint64_t f;

	frame_init(&fa, bm, 1000);
	frame_release_range(&fa, 3, 5);	/* 3..7 */
	frame_release_range(&fa, 20, 40);	/* 20..59 */
	assert_int_equal(frame_alloc_contig(&fa, 8, 1, &f), 0);
	assert_int_equal(f, 20);
	assert_int_equal(frame_alloc_contig(&fa, 4, 16, &f), 0);
	assert_int_equal(f, 32);
	assert_int_equal(frame_alloc_contig(&fa, 100, 1, &f), E_NOMEM);
	assert_int_equal(frame_alloc_contig(&fa, 2, 3, &f), E_INVAL);
	assert_int_equal(frame_alloc_contig(&fa, 5, 1, &f), 0);
	assert_int_equal(f, 3);
}

static void
check(const char *expect, const char *fmt, ...)
{
	char a[128], b[128];
	va_list ap, ap2;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n1 = fmt_vsnprintf(a, sizeof a, fmt, ap);
	int n2 = vsnprintf(b, sizeof b, fmt, ap2);
	va_end(ap2);
	va_end(ap);
	assert_string_equal(a, b);
	assert_string_equal(a, expect);
	assert_int_equal(n1, n2);
}

static void
test_fmt_matches_libc(void **state)
{
	check("42 -7 0", "%d %i %u", 42, -7, 0u);
	check("ff FF 0xff 777", "%x %X %#x %o", 255u, 255u, 255u, 0777u);
	check("-9223372036854775808", "%lld", (long long)INT64_MIN);
	check("18446744073709551615", "%llu", (unsigned long long)UINT64_MAX);
	check("[   ab][ab   ][00042][  -42]", "[%5s][%-5s][%05d][%5d]", "ab", "ab", 42, -42);
	check("abc|x|%", "%.3s|%c|%%", "abcdef", 'x');
	check("0000ffffffff8020", "%016lx", 0xffffffff8020ul);
	check("5 255", "%zu %hhu", (size_t)5, 511);
}

static void
test_fmt_truncates(void **state)
{
	char buf[8];

	memset(buf, 'Z', sizeof buf);
	assert_int_equal(fmt_snprintf(buf, 5, "%s", "hello world"), 11);
	assert_string_equal(buf, "hell");
	assert_int_equal(buf[5], 'Z');	/* nothing written past the size */
	assert_int_equal(fmt_snprintf(buf, 0, "%d", 12345), 5);
	assert_int_equal(buf[0], 'h');
	assert_int_equal(fmt_snprintf(buf, sizeof buf, "%s", (char *)NULL), 6);
	assert_int_equal(fmt_snprintf(buf, sizeof buf, "ab%"), 2);	/* trailing % */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_starts_all_used),
		cmocka_unit_test(test_only_released_frames_are_handed_out),
		cmocka_unit_test(test_free_checks),
		cmocka_unit_test(test_contig),
		cmocka_unit_test(test_fmt_matches_libc),
		cmocka_unit_test(test_fmt_truncates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
