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
	/* ledger errors as schema DeviceError ordinals */
	assert_int_equal(ddf_device_error(E_STALE), DDF_DE_STALE);
	assert_int_equal(ddf_device_error(E_RANGE), DDF_DE_OUT_OF_RANGE);
	assert_int_equal(ddf_device_error(E_PERM), DDF_DE_NOT_PERMITTED);
	assert_int_equal(ddf_device_error(E_LIMIT), DDF_DE_BUDGET_EXHAUSTED);
	assert_int_equal(ddf_device_error(E_NOSPC), DDF_DE_BUDGET_EXHAUSTED);
	assert_int_equal(ddf_device_error(E_NOMEM), DDF_DE_BUDGET_EXHAUSTED);
	assert_int_equal(ddf_device_error(E_BUSY), DDF_DE_BUSY);
	assert_int_equal(ddf_device_error(E_AGAIN), DDF_DE_BUSY);
	assert_int_equal(ddf_device_error(E_DISCONNECTED), DDF_DE_REVOKED);
	assert_int_equal(ddf_device_error(E_INVAL), DDF_DE_INVALID);
	assert_int_equal(ddf_device_error(E_BADF), DDF_DE_INVALID);
	assert_int_equal(ddf_device_error(E_NOTSUP), DDF_DE_INVALID);
}

struct vq_case {
	const char *id;
	uint64_t ring_size, ring_off;
	uint32_t entries;
	uint64_t data_size, data_off;
	uint32_t len;
	uint16_t flags, next;
	int want;
};

static void
test_virtq_desc(void **state)
{
	static const struct vq_case cases[] = {
		{ "VQ01 first entry", P, 0, 256, P, 0, 512, 0, 0, 0 },
		{ "VQ02 last entry, chained, device-writable", P, 255 * 16, 256, P, 512, 512,
		  DDF_VIRTQ_F_NEXT | DDF_VIRTQ_F_WRITE, 255, 0 },
		{ "VQ03 size 32768", 32768 * 16, 0, 32768, P, 0, 1, 0, 0, 0 },
		{ "VQ04 size 0", P, 0, 0, P, 0, 1, 0, 0, E_INVAL },
		{ "VQ05 size not a power of two", P, 0, 100, P, 0, 1, 0, 0, E_INVAL },
		{ "VQ06 size over 32768", 65536u * 16, 0, 65536, P, 0, 1, 0, 0, E_INVAL },
		{ "VQ07 table larger than its buffer", P, 0, 512, P, 0, 1, 0, 0, E_RANGE },
		{ "VQ08 entry unaligned", P, 8, 256, P, 0, 1, 0, 0, E_INVAL },
		{ "VQ09 entry past the table", P, 256 * 16, 256, P, 0, 1, 0, 0, E_RANGE },
		{ "VQ10 indirect refused", P, 0, 256, P, 0, 16, DDF_VIRTQ_F_INDIRECT, 0, E_NOTSUP },
		{ "VQ11 unknown flag", P, 0, 256, P, 0, 16, 8, 0, E_INVAL },
		{ "VQ12 next out of the queue", P, 0, 256, P, 0, 16, DDF_VIRTQ_F_NEXT, 256, E_RANGE },
		{ "VQ13 data outside its buffer", P, 0, 256, P, P - 8, 16, 0, 0, E_RANGE },
		{ "VQ14 zero-length data", P, 0, 256, P, 0, 0, 0, 0, E_INVAL },
		{ "VQ15 data offset overflow", P, 0, 256, P, UINT64_MAX, 2, 0, 0, E_RANGE },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct vq_case *c = &cases[i];
		int got = ddf_virtq_desc_check(c->ring_size, c->ring_off, c->entries, c->data_size,
		    c->data_off, c->len, c->flags, c->next);
		if (got != c->want)
			fail_msg("%s: got %d want %d", c->id, got, c->want);
	}
}

struct prp_case {
	const char *id;
	uint64_t data_size, data_off;
	uint32_t len;
	uint64_t list_size, list_off;
	int want;
};

static void
test_prp_check(void **state)
{
	static const struct prp_case cases[] = {
		{ "PRP01 one page", 4 * P, 0, 512, 0, 0, 1 },
		{ "PRP02 whole page", 4 * P, P, P, 0, 0, 1 },
		{ "PRP03 two pages by offset", 4 * P, P - 4, 8, 0, 0, 2 },
		{ "PRP04 two whole pages", 4 * P, 0, 2 * P, 0, 0, 2 },
		{ "PRP05 three pages need a list", 4 * P, 0, 3 * P, 0, 0, E_INVAL },
		{ "PRP06 three pages with a list", 4 * P, 0, 3 * P, P, 0, 3 },
		{ "PRP07 list unaligned", 4 * P, 0, 3 * P, 2 * P, 8, E_INVAL },
		{ "PRP08 list outside its buffer", 4 * P, 0, 3 * P, P, P, E_RANGE },
		{ "PRP09 513 pages: one list page", 513 * P, 0, 513 * P, P, 0, 513 },
		{ "PRP10 514 pages: would chain", 514 * P, 0, 514 * P, P, 0, E_TOOBIG },
		{ "PRP11 offset not dword aligned", 4 * P, 2, 8, 0, 0, E_INVAL },
		{ "PRP12 outside the data buffer", 4 * P, 3 * P, P + 4, P, 0, E_RANGE },
		{ "PRP13 zero length", 4 * P, 0, 0, 0, 0, E_INVAL },
		{ "PRP14 offset overflow", 4 * P, UINT64_MAX - 3, 8, 0, 0, E_RANGE },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct prp_case *c = &cases[i];
		int got = ddf_prp_check(c->data_size, c->data_off, c->len, c->list_size, c->list_off);
		if (got != c->want)
			fail_msg("%s: got %d want %d", c->id, got, c->want);
	}
}

/* Device addresses of a scattered buffer: page i at 0x100000 * (i + 1). */
static uint64_t
page_addr(void *ctx, uint64_t page)
{
	return 0x100000 * (page + 1);
}

static void
test_prp_fill(void **state)
{
	uint64_t list[DDF_PRP_LIST_MAX], p1, p2;

	/* one page, with an offset in PRP1 only */
	assert_int_equal(ddf_prp_fill(page_addr, NULL, P + 0x200, 512, list, 0xabc000, &p1, &p2), 0);
	assert_int_equal(p1, 0x200200);
	assert_int_equal(p2, 0);
	/* two pages: PRP2 is the second page */
	assert_int_equal(ddf_prp_fill(page_addr, NULL, P - 4, 8, list, 0xabc000, &p1, &p2), 0);
	assert_int_equal(p1, 0x100000 + P - 4);
	assert_int_equal(p2, 0x200000);
	/* four pages from an offset: PRP2 is the list, entries are pages 1..4 */
	memset(list, 0, sizeof list);
	assert_int_equal(ddf_prp_check(8 * P, 0x10, 3 * P + 0x100, P, 0), 4);
	assert_int_equal(ddf_prp_fill(page_addr, NULL, 0x10, 3 * P + 0x100, list, 0xabc000, &p1,
	    &p2), 3);
	assert_int_equal(p1, 0x100010);
	assert_int_equal(p2, 0xabc000);
	assert_int_equal(list[0], 0x200000);
	assert_int_equal(list[2], 0x400000);
	assert_int_equal(list[3], 0);   /* nothing past the last entry */
	/* the largest single-list transfer fills all 512 entries */
	assert_int_equal(ddf_prp_fill(page_addr, NULL, 0, 513 * P, list, 0xabc000, &p1, &p2), 512);
	assert_int_equal(list[511], 0x100000 * 513);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_desc_reg_depth_epoch),
		cmocka_unit_test(test_audit_ring),
		cmocka_unit_test(test_audit_format),
		cmocka_unit_test(test_virtq_desc),
		cmocka_unit_test(test_prp_check),
		cmocka_unit_test(test_prp_fill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
