/*
 * Pure DDF validators (lib/ddf/ddf_validate.h) and the audit ring
 * (lib/ddf/ddf_audit.h): every accept and every rejection path by table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "ddf/ddf_audit.h"
#include "ddf/ddf_validate.h"

#define P DDF_PAGE_SIZE

struct win_case { const char *id; uint64_t bar, off, len; int want; uint64_t rlen; };

static void
test_window(void **state)
{
	static const struct win_case cases[] = {
		{ "WIN01 whole bar", 0x4000, 0, 0x4000, 0, 0x4000 },
		{ "WIN02 rounded up", 0x4000, 0x1000, 4, 0, P },
		{ "WIN03 last page", 0x4000, 0x3000, 0x1000, 0, P },
		{ "WIN04 zero length", 0x4000, 0, 0, E_INVAL, 0 },
		{ "WIN05 unaligned offset", 0x4000, 0x10, 4, E_INVAL, 0 },
		{ "WIN06 past end", 0x4000, 0x3000, 0x1001, E_RANGE, 0 },
		{ "WIN07 offset past bar", 0x4000, 0x5000, 1, E_RANGE, 0 },
		{ "WIN08 offset at end", 0x4000, 0x4000, 1, E_RANGE, 0 },
		{ "WIN09 length overflow", 0x4000, 0, UINT64_MAX, E_RANGE, 0 },
		{ "WIN10 sub-page bar", 0x40, 0, 4, E_RANGE, 0 },
		{ "WIN11 huge offset", UINT64_MAX, UINT64_MAX & ~(uint64_t)(P - 1), P, E_RANGE, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t r = 0;
		int got = ddf_window_check(cases[i].bar, cases[i].off, cases[i].len, &r);
		if (got != cases[i].want)
			fail_msg("%s: got %d want %d", cases[i].id, got, cases[i].want);
		if (got == 0)
			assert_int_equal(r, cases[i].rlen);
	}
}

static void
test_desc_reg_depth_epoch(void **state)
{
	/* descriptor bounds */
	assert_int_equal(ddf_desc_check(P, 0, P), 0);
	assert_int_equal(ddf_desc_check(P, P - 1, 1), 0);
	assert_int_equal(ddf_desc_check(P, 0, 0), E_INVAL);
	assert_int_equal(ddf_desc_check(P, P, 1), E_RANGE);
	assert_int_equal(ddf_desc_check(P, 1, P), E_RANGE);
	assert_int_equal(ddf_desc_check(P, UINT64_MAX, 2), E_RANGE);
	assert_int_equal(ddf_desc_check(UINT64_MAX, UINT64_MAX - 1, 2), E_RANGE);
	/* register access */
	assert_int_equal(ddf_reg_check(P, 0, 4), 0);
	assert_int_equal(ddf_reg_check(P, P - 4, 4), 0);
	assert_int_equal(ddf_reg_check(P, P, 4), E_RANGE);
	assert_int_equal(ddf_reg_check(P, P - 4, 8), E_INVAL);   /* misaligned for 8 */
	assert_int_equal(ddf_reg_check(P, 2, 4), E_INVAL);
	assert_int_equal(ddf_reg_check(P, 0, 3), E_INVAL);
	assert_int_equal(ddf_reg_check(4, UINT64_MAX - 3, 4), E_RANGE);
	/* ring depth */
	assert_int_equal(ddf_depth_check(1, 32768), 0);
	assert_int_equal(ddf_depth_check(32768, 32768), 0);
	assert_int_equal(ddf_depth_check(0, 32768), E_INVAL);
	assert_int_equal(ddf_depth_check(3, 32768), E_INVAL);
	assert_int_equal(ddf_depth_check(65536, 32768), E_INVAL);
	/* epochs */
	assert_int_equal(ddf_epoch_check(5, 5), 0);
	assert_int_equal(ddf_epoch_check(4, 5), E_STALE);
	assert_int_equal(ddf_epoch_check(0, 0), E_STALE);
	/* brokered address arguments */
	assert_int_equal(ddf_brokered_check(2 * P, P, P, 12), 0);
	assert_int_equal(ddf_brokered_check(2 * P, 16, 16, 4), 0);
	assert_int_equal(ddf_brokered_check(2 * P, 8, 16, 4), E_INVAL);   /* alignment */
	assert_int_equal(ddf_brokered_check(2 * P, P, P + 1, 0), E_RANGE);
	assert_int_equal(ddf_brokered_check(2 * P, 2 * P, 0, 0), E_RANGE);
	assert_int_equal(ddf_brokered_check(2 * P, 0, 0, 64), E_INVAL);
	/* page rounding */
	uint64_t r;
	assert_int_equal(ddf_page_round(1, &r), 0);
	assert_int_equal(r, P);
	assert_int_equal(ddf_page_round(0, &r), E_INVAL);
	assert_int_equal(ddf_page_round(UINT64_MAX - 10, &r), E_RANGE);
	/* PCI addresses */
	struct ddf_pci_addr a = { 0, 0, 31, 7 }, b = { 0, 0, 32, 0 }, c = { 0, 0, 0, 8 };
	assert_true(ddf_pci_addr_valid(&a));
	assert_false(ddf_pci_addr_valid(&b));
	assert_false(ddf_pci_addr_valid(&c));
	assert_true(ddf_pci_addr_eq(&a, &a));
	assert_false(ddf_pci_addr_eq(&a, &b));
}

static void
test_audit_ring(void **state)
{
	struct ddf_audit_rec recs[4], out[8], r;
	struct ddf_audit a;
	uint64_t next, dropped;
	int n;

	ddf_audit_init(&a, recs, 4);
	n = ddf_audit_read(&a, 0, out, 8, &next, &dropped);
	assert_int_equal(n, 0);
	assert_int_equal(next, 0);
	memset(&r, 0, sizeof r);
	for (int i = 0; i < 6; i++) {
		r.event = DDF_EV_DMA_ALLOC;
		r.detail = (uint64_t)i;
		assert_int_equal(ddf_audit_append(&a, &r), (uint64_t)i);
	}
	/* 0 and 1 were overwritten */
	assert_int_equal(ddf_audit_oldest(&a), 2);
	n = ddf_audit_read(&a, 0, out, 3, &next, &dropped);
	assert_int_equal(n, 3);
	assert_int_equal(dropped, 2);
	assert_int_equal(out[0].seq, 2);
	assert_int_equal(out[2].detail, 4);
	assert_int_equal(next, 5);
	n = ddf_audit_read(&a, next, out, 8, &next, &dropped);
	assert_int_equal(n, 1);
	assert_int_equal(dropped, 0);
	assert_int_equal(out[0].seq, 5);
	assert_int_equal(next, 6);
	n = ddf_audit_read(&a, next, out, 8, &next, &dropped);
	assert_int_equal(n, 0);
	assert_int_equal(next, 6);
	assert_int_equal(ddf_audit_read(&a, 7, out, 8, &next, &dropped), E_RANGE);
	/* max 0 reads nothing and keeps the cursor */
	assert_int_equal(ddf_audit_read(&a, 3, out, 0, &next, &dropped), 0);
	assert_int_equal(next, 3);
}

static void
test_audit_format(void **state)
{
	struct ddf_audit_rec r;
	char buf[160];

	memset(&r, 0, sizeof r);
	r.seq = 7;
	r.time_ns = 100;
	r.addr = (struct ddf_pci_addr){ 0, 0, 4, 0 };
	r.owner = 3;
	r.event = DDF_EV_DMA_ALLOC;
	r.generation = 2;
	r.detail = 8192;
	ddf_fmt_audit(&r, buf, sizeof buf);
	assert_string_equal(buf, "#7 t=100 0000:00:04.0 owner=3 dma-alloc gen=2 detail=8192\n");
	r.event = DDF_EV_REJECTED;
	r.detail = DDF_OP_WRITE32;
	r.reason = E_PERM;
	ddf_fmt_audit(&r, buf, sizeof buf);
	assert_string_equal(buf,
	    "#7 t=100 0000:00:04.0 owner=3 rejected op=write32 reason=permission gen=2\n");
	/* bounded: a short buffer is cut, the full length is returned */
	int n = ddf_fmt_audit(&r, buf, 10);
	assert_int_equal(strlen(buf), 9);
	assert_true(n > 10);
	assert_string_equal(ddf_event_name(200), "unknown");
	assert_string_equal(ddf_op_name(200), "unknown");
	for (uint8_t e = 0; e < DDF_EV_COUNT; e++)
		assert_string_not_equal(ddf_event_name(e), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_desc_reg_depth_epoch),
		cmocka_unit_test(test_audit_ring),
		cmocka_unit_test(test_audit_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
