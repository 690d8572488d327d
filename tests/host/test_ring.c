/*
 * lib/abi/ring.h: the ring ABI as documented in docs/kernel-abi.md. The
 * layout is shared by kernel and userspace; these checks pin every offset
 * so that a change to the header cannot silently change the ABI.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "abi/ring.h"

static void
sqe_layout(void **s)
{
	assert_int_equal(offsetof(struct ring_sqe, opcode), 0);
	assert_int_equal(offsetof(struct ring_sqe, flags), 1);
	assert_int_equal(offsetof(struct ring_sqe, method), 2);
	assert_int_equal(offsetof(struct ring_sqe, cap), 4);
	assert_int_equal(offsetof(struct ring_sqe, user_data), 8);
	assert_int_equal(offsetof(struct ring_sqe, params), 16);
	assert_int_equal(offsetof(struct ring_sqe, params_len), 24);
	assert_int_equal(offsetof(struct ring_sqe, result_len), 28);
	assert_int_equal(offsetof(struct ring_sqe, result), 32);
	assert_int_equal(offsetof(struct ring_sqe, xfer), 40);
	assert_int_equal(offsetof(struct ring_sqe, xfer_count), 48);
	assert_int_equal(offsetof(struct ring_sqe, token), 52);
	assert_int_equal(offsetof(struct ring_sqe, reserved), 56);
	assert_int_equal(sizeof(struct ring_sqe), 64);
}

static void
cqe_layout(void **s)
{
	assert_int_equal(offsetof(struct ring_cqe, user_data), 0);
	assert_int_equal(offsetof(struct ring_cqe, result), 8);
	assert_int_equal(offsetof(struct ring_cqe, detail), 12);
	assert_int_equal(offsetof(struct ring_cqe, len), 16);
	assert_int_equal(offsetof(struct ring_cqe, method), 20);
	assert_int_equal(offsetof(struct ring_cqe, ncaps), 22);
	assert_int_equal(offsetof(struct ring_cqe, token), 24);
	assert_int_equal(offsetof(struct ring_cqe, badge), 28);
	assert_int_equal(offsetof(struct ring_cqe, caps), 32);
	assert_int_equal(offsetof(struct ring_cqe, iids), 48);
	assert_int_equal(sizeof(struct ring_cqe), 80);
}

static void
page_layout(void **s)
{
	assert_int_equal(offsetof(struct ring_page, sq), 64);
	assert_int_equal(offsetof(struct ring_page, cq), 64 + 16 * 64);
	assert_true(sizeof(struct ring_page) <= 4096);
	/* free-running uint32 indices need power-of-two entry counts */
	assert_int_equal(RING_SQ_ENTRIES & (RING_SQ_ENTRIES - 1), 0);
	assert_int_equal(RING_CQ_ENTRIES & (RING_CQ_ENTRIES - 1), 0);
	assert_true(sizeof(struct bootstrap_page) <= 4096);
}

static void
capid_encoding(void **s)
{
	capid_t c = CAPID_MAKE(17, 3);
	assert_int_equal(CAPID_SLOT(c), 17);
	assert_int_equal(CAPID_GEN(c), 3);
	assert_int_equal(CAPID_MAKE(0xFFFF, 0xFFFF), 0xFFFFFFFFu);
}

static void
error_codes_distinct(void **s)
{
	int codes[] = { RING_E_INVALID_REQUEST, RING_E_INVALID_PARAMS, RING_E_INVALID_RESULT,
			RING_E_INVOKE_FAILED, RING_E_UNSUPPORTED, RING_E_EXCEPTION };
	for (unsigned i = 0; i < 6; i++) {
		assert_true(codes[i] < 0);
		for (unsigned j = i + 1; j < 6; j++)
			assert_int_not_equal(codes[i], codes[j]);
	}
}

static void
xfer_mode_encoding(void **s)
{
	uint32_t m = RING_XFER_MINT_BADGE(0x123456);
	assert_int_equal(m, 0x12345602u);
	assert_int_equal(RING_XFER_MODE(m), RING_XFER_MINT);
	assert_int_equal(RING_XFER_BADGE(m), 0x123456);
	assert_int_equal(RING_XFER_BADGE(RING_XFER_MINT_BADGE(RING_BADGE_MAX)), RING_BADGE_MAX);
	/* COPY and MOVE are their plain values: no badge bits */
	assert_int_equal(RING_XFER_MODE(RING_XFER_COPY), RING_XFER_COPY);
	assert_int_equal(RING_XFER_BADGE(RING_XFER_MOVE), 0);
}

static void
user_layout(void **s)
{
	/* ring, bootstrap and stack lie above every ELF segment, in the low half */
	assert_true(USER_CEIL <= RING_USER_VA);
	assert_true(RING_USER_VA + 4096 == BOOTSTRAP_USER_VA);
	assert_true(BOOTSTRAP_USER_VA + 4096 <= USER_STACK_TOP - (USER_STACK_PAGES + 1) * 4096ull);
	assert_true(USER_STACK_TOP < 0x0000800000000000ull);
	assert_true(USER_HEAP_VA >= USER_FLOOR && USER_HEAP_VA + USER_HEAP_PAGES * 4096ull <= USER_CEIL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sqe_layout), cmocka_unit_test(cqe_layout),
		cmocka_unit_test(page_layout), cmocka_unit_test(capid_encoding),
		cmocka_unit_test(error_codes_distinct), cmocka_unit_test(xfer_mode_encoding),
		cmocka_unit_test(user_layout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
