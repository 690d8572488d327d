/*
 * Vector pool and route lifecycle (lib/irq): exhaustion fails closed and
 * changes nothing, duplicates are refused, release frees the vector and
 * makes the handle stale, generations never repeat for a slot, forged
 * handles are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "irq/route.h"

static struct irq_pool pool;
static struct irq_routes rt;

static int
setup(void **state)
{
	irq_pool_init(&pool, 0x30, 0xDF);
	irq_routes_init(&rt);
	return 0;
}

static void
test_pool(void **state)
{
	struct irq_pool p;
	assert_int_equal(irq_pool_init(&p, 0x40, 0x3F), E_INVAL);
	assert_int_equal(irq_pool_init(&p, 0x40, 0x42), 0);
	assert_int_equal(irq_pool_alloc(&p), 0x40);
	assert_int_equal(irq_pool_reserve(&p, 0x42), 0);
	assert_int_equal(irq_pool_reserve(&p, 0x42), E_BUSY);
	assert_int_equal(irq_pool_reserve(&p, 0x43), E_RANGE);
	assert_int_equal(irq_pool_alloc(&p), 0x41);
	assert_int_equal(irq_pool_alloc(&p), E_NOSPC);
	assert_int_equal(p.exhausted, 1);
	assert_int_equal(irq_pool_free(&p, 0x41), 0);
	assert_int_equal(irq_pool_free(&p, 0x41), E_INVAL);	/* double free */
	assert_int_equal(irq_pool_free(&p, 0x10), E_RANGE);
	assert_int_equal(irq_pool_alloc(&p), 0x41);
}

static void
test_exhaustion(void **state)
{
	static irq_handle_t h[200];
	uint8_t v;
	uint32_t n = 0;
	int r;

	while ((r = irq_routes_claim(&rt, &pool, IRQ_KIND_MSIX, n, 1, &h[n], &v)) == 0)
		n++;
	assert_int_equal(r, E_NOSPC);
	assert_int_equal(n, 0xDF - 0x30 + 1);
	assert_int_equal(pool.nfree, 0);
	assert_int_equal(irq_routes_live(&rt), n);
	/* The refusal changed nothing: one release makes exactly one claim possible. */
	assert_int_equal(irq_routes_release(&rt, &pool, h[5]), 0);
	assert_int_equal(irq_routes_claim(&rt, &pool, IRQ_KIND_MSIX, 999, 1, &h[5], &v), 0);
	assert_int_equal(irq_routes_claim(&rt, &pool, IRQ_KIND_MSIX, 1000, 1, &h[199], &v), E_NOSPC);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(irq_routes_release(&rt, &pool, h[i]), 0);
	assert_int_equal(pool.nfree, n);
	assert_int_equal(irq_routes_live(&rt), 0);
}

static void
test_lifecycle(void **state)
{
	irq_handle_t a, b, c;
	uint8_t va, vb, vc;

	assert_int_equal(irq_routes_claim(&rt, &pool, IRQ_KIND_IOAPIC, 4, 1, &a, &va), 0);
	assert_int_equal(irq_routes_claim(&rt, &pool, IRQ_KIND_IOAPIC, 4, 2, &b, &vb), E_BUSY);
	assert_int_equal(irq_routes_claim(&rt, &pool, IRQ_KIND_MSI, 4, 2, &b, &vb), 0);
	assert_int_not_equal(va, vb);
	assert_int_equal(irq_routes_claim(&rt, &pool, IRQ_KIND_NONE, 5, 2, &c, &vc), E_INVAL);

	struct irq_route *r = irq_routes_get(&rt, a);
	assert_non_null(r);
	assert_int_equal(r->vector, va);
	irq_handle_t hv;
	assert_ptr_equal(irq_routes_by_vector(&rt, va, &hv), r);
	assert_int_equal(hv, a);

	assert_int_equal(irq_routes_release(&rt, &pool, a), 0);
	/* Stale: release again, get, and the vector no longer maps to a route. */
	assert_int_equal(irq_routes_release(&rt, &pool, a), E_STALE);
	assert_null(irq_routes_get(&rt, a));
	assert_null(irq_routes_by_vector(&rt, va, NULL));
	assert_true(rt.stale_refused >= 2);

	/* The slot is reused with a new generation; the old handle stays stale. */
	assert_int_equal(irq_routes_claim(&rt, &pool, IRQ_KIND_IOAPIC, 4, 1, &c, &vc), 0);
	assert_int_equal(c & 0xFFFF, a & 0xFFFF);
	assert_int_not_equal(c, a);
	assert_null(irq_routes_get(&rt, a));
	assert_non_null(irq_routes_get(&rt, c));

	/* Forged handles. */
	assert_null(irq_routes_get(&rt, 0));
	assert_null(irq_routes_get(&rt, (c & ~0xFFFFull) | IRQ_MAX_ROUTES));
	assert_null(irq_routes_get(&rt, c | 0x10000));
	assert_null(irq_routes_get(&rt, c + (1ull << 32)));	/* even generation: free */
}

static void
test_generation_retire(void **state)
{
	irq_handle_t h;
	uint8_t v;

	/* A slot whose generation is about to wrap is never reused. */
	rt.r[0].gen = UINT32_MAX - 1;
	assert_int_equal(irq_routes_claim(&rt, &pool, IRQ_KIND_MSI, 1, 1, &h, &v), 0);
	assert_int_equal(h & 0xFFFF, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool),
		cmocka_unit_test_setup(test_exhaustion, setup),
		cmocka_unit_test_setup(test_lifecycle, setup),
		cmocka_unit_test_setup(test_generation_retire, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
