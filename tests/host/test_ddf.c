/*
 * Device-manager ledger tests (lib/ddf), cmocka. The kernel's effects are a
 * recording fake (test_ddf_fake.c) with a frame counter standing in for the
 * PMM. Each case has a stable id (DDFnn) and names the error it expects;
 * the issue 6 acceptance list is DDF02..DDF12 in ledger form. Every case
 * ends by checking that the ledger totals and the fake's free frames, live
 * mappings, routes and buffers are back at their starting values, and that
 * the recount in ddf_check_invariants agrees with the aggregates.
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
#include "ddf/ddf.h"
#include "test_ddf_fake.h"

#define NCLAIMS 4
#define NWIN 8
#define NROUTES 8
#define NBUFS 16
#define NSUBS 16
#define NSHARES 4
#define NAUDIT 512

#define OWNER 7
#define OTHER 9
#define BUDGET (64 * 1024)

/* virtio-pci modern on BAR4 (fake): notify doorbell at 0x3000, queue_desc at 0x20 */
#define REG_NOTIFY 0x3000
#define REG_QDESC 0x20

struct env {
	struct fake f;
	struct ddf_claim claims[NCLAIMS];
	struct ddf_window win[NWIN];
	struct ddf_route routes[NROUTES];
	struct ddf_buffer bufs[NBUFS];
	struct ddf_sub subs[NSUBS];
	struct ddf_share shares[NSHARES];
	struct ddf_audit_rec recs[NAUDIT];
	struct ddf_audit audit;
	struct ddf_ledger l;
};

struct snap {
	struct ddf_totals t;
	uint64_t frames;
	uint32_t maps, routes, dma_maps, bufs, share_maps;
};

static struct env *
env_new(void)
{
	struct env *e = calloc(1, sizeof *e);
	struct ddf_tables t = { e->claims, NCLAIMS, e->win, NWIN, e->routes, NROUTES,
		e->bufs, NBUFS, e->subs, NSUBS, e->shares, NSHARES };

	assert_non_null(e);
	fake_init(&e->f);
	ddf_audit_init(&e->audit, e->recs, NAUDIT);
	ddf_init(&e->l, &t, &fake_ops, &e->f, &e->audit);
	e->f.l = &e->l;
	return e;
}

static void
snap(struct env *e, struct snap *s)
{
	memset(s, 0, sizeof *s);
	ddf_totals(&e->l, &s->t);
	s->frames = e->f.frames_free;
	s->maps = e->f.live_maps;
	s->routes = e->f.live_routes;
	s->dma_maps = e->f.live_dma_maps;
	s->bufs = e->f.live_bufs;
	s->share_maps = e->f.live_share_maps;
}

/* Nothing leaked: totals and the fake's resources equal the snapshot. */
static void
assert_back_to(struct env *e, const struct snap *s0)
{
	struct snap s;

	snap(e, &s);
	assert_int_equal(ddf_check_invariants(&e->l), 0);
	assert_memory_equal(&s.t, &s0->t, sizeof s.t);
	assert_int_equal(s.frames, s0->frames);
	assert_int_equal(s.maps, s0->maps);
	assert_int_equal(s.routes, s0->routes);
	assert_int_equal(s.dma_maps, s0->dma_maps);
	assert_int_equal(s.bufs, s0->bufs);
	assert_int_equal(s.share_maps, s0->share_maps);
	assert_false(e->f.scrub_saw_bad_state);
}

static void
policy_virtio(struct ddf_policy *p, uint32_t owner)
{
	memset(p, 0, sizeof *p);
	p->owner = owner;
	p->dma_budget = BUDGET;
	p->max_inflight = 4;
	p->nrules = 2;
	p->rules[0] = (struct ddf_rule){ DDF_RULE_WRITE32, 4, 0, 0, REG_NOTIFY, 0 };
	p->rules[1] = (struct ddf_rule){ DDF_RULE_ADDR64, 4, 4, 256, REG_QDESC, 0 };
	strcpy(p->label, "virtio-notify");
}

static ddf_handle
claim_addr(struct env *e, uint8_t dev, uint32_t owner)
{
	struct ddf_selector sel = { .kind = DDF_SEL_ADDR, .addr = { 0, 0, dev, 0 } };
	struct ddf_policy p;
	ddf_handle h = 0;

	policy_virtio(&p, owner);
	assert_int_equal(ddf_claim(&e->l, &sel, &p, &h), 0);
	return h;
}

/* A driver's working set: one window mapped, one route, two buffers (one mapped), queue 0. */
struct drv {
	ddf_handle claim, win, route, buf[2];
	uint32_t map_gen;
};

static void
drv_setup(struct env *e, struct drv *d)
{
	uint64_t ck;
	uint32_t mg;

	d->claim = claim_addr(e, 4, OWNER);
	assert_int_equal(ddf_bus_master_enable(&e->l, OWNER, d->claim), 0);
	assert_int_equal(ddf_queue_configure(&e->l, OWNER, d->claim, 0, 8), 0);
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, d->claim, 4, 0, 0x4000, &d->win), 0);
	assert_int_equal(ddf_mmio_map(&e->l, OWNER, d->win, &ck, &d->map_gen), 0);
	assert_int_equal(ddf_irq_route(&e->l, OWNER, d->claim, DDF_IRQ_MSIX, 1, &d->route), 0);
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, d->claim, 4096, 2, &d->buf[0]), 0);
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, d->claim, 3 * 4096, 1, &d->buf[1]), 0);
	assert_int_equal(ddf_dma_map(&e->l, OWNER, d->buf[1], &ck, &mg), 0);
	assert_int_equal(ddf_check_invariants(&e->l), 0);
}

/*
 * The documented teardown order over the call log from `from`: stop bus
 * mastering first; every unmap before any route drop; every drop before
 * drain; drain before any scrub; nothing else after the first scrub.
 */
static void
assert_teardown_order(const struct fake *f, uint32_t from)
{
	int stop = fake_find(f, FC_STOP_BM, from);
	int drain = fake_find(f, FC_DRAIN, from);
	uint32_t n = f->nlog;
	int phase = 0;

	assert_true(n <= FAKE_LOG);
	assert_int_equal(stop, (int)from);
	assert_true(drain > stop);
	for (uint32_t i = from + 1; i < n; i++) {
		int p;
		switch (f->log[i]) {
		case FC_UNMAP: case FC_DMA_UNMAP: p = 1; break;
		case FC_DROP_ROUTE: p = 2; break;
		case FC_DRAIN: p = 3; break;
		case FC_SCRUB_FREE: case FC_SHARE_ORPHAN: p = 4; break;
		default: fail_msg("unexpected call %u in teardown at %u", f->log[i], i); return;
		}
		if (p < phase)
			fail_msg("teardown call %u at %u after phase %d", f->log[i], i, phase);
		phase = p;
	}
	assert_int_equal(fake_find(f, FC_DRAIN, (uint32_t)drain + 1), -1);  /* one drain */
}

static uint32_t
count_calls(const struct fake *f, uint8_t c, uint32_t from)
{
	uint32_t n = 0;
	for (uint32_t i = from; i < f->nlog && i < FAKE_LOG; i++)
		n += f->log[i] == c;
	return n;
}

/* ---- DDF01: claims ---- */

static void
test_claim(void **state)
{
	struct env *e = env_new();
	struct ddf_policy p;
	struct ddf_selector sel = { .kind = DDF_SEL_IDS, .vendor = 0x1af4, .device = 0x1042 };
	struct snap s0;
	ddf_handle h1, h2, h;

	snap(e, &s0);
	policy_virtio(&p, OWNER);
	/* vendor:device, instance 0 and 1 are 00:04.0 and 00:06.0 */
	assert_int_equal(ddf_claim(&e->l, &sel, &p, &h1), 0);
	assert_int_equal(ddf_claim_get(&e->l, h1)->fn.addr.device, 4);
	sel.instance = 1;
	assert_int_equal(ddf_claim(&e->l, &sel, &p, &h2), 0);
	assert_int_equal(ddf_claim_get(&e->l, h2)->fn.addr.device, 6);
	/* already claimed: by ids and by address */
	assert_int_equal(ddf_claim(&e->l, &sel, &p, &h), E_EXIST);
	struct ddf_selector at = { .kind = DDF_SEL_ADDR, .addr = { 0, 0, 4, 0 } };
	assert_int_equal(ddf_claim(&e->l, &at, &p, &h), E_EXIST);
	/* absent */
	sel.instance = 2;
	assert_int_equal(ddf_claim(&e->l, &sel, &p, &h), E_NOENT);
	at.addr.device = 9;
	assert_int_equal(ddf_claim(&e->l, &at, &p, &h), E_NOENT);
	struct ddf_selector ids = { .kind = DDF_SEL_IDS, .vendor = 0x8086, .device = 0x100e };
	assert_int_equal(ddf_claim(&e->l, &ids, &p, &h), E_NOENT);
	/* malformed */
	at.addr.device = 32;
	assert_int_equal(ddf_claim(&e->l, &at, &p, &h), E_INVAL);
	at.addr.device = 5;
	at.kind = 0;
	assert_int_equal(ddf_claim(&e->l, &at, &p, &h), E_INVAL);
	at.kind = DDF_SEL_ADDR;
	p.owner = 0;
	assert_int_equal(ddf_claim(&e->l, &at, &p, &h), E_INVAL);
	p.owner = OWNER;
	p.nrules = DDF_MAX_RULES + 1;
	assert_int_equal(ddf_claim(&e->l, &at, &p, &h), E_INVAL);
	/* rules must name a register inside an existing BAR of this function */
	policy_virtio(&p, OWNER);   /* rules on BAR4: NVMe at 00:05.0 has only BAR0 */
	assert_int_equal(ddf_claim(&e->l, &at, &p, &h), E_INVAL);
	p.nrules = 1;
	p.rules[0] = (struct ddf_rule){ DDF_RULE_WRITE32, 0, 0, 0, 0x4000, 0 };
	assert_int_equal(ddf_claim(&e->l, &at, &p, &h), E_RANGE);
	p.rules[0] = (struct ddf_rule){ DDF_RULE_WRITE32, 0, 0, 0, 0x1002, 0 };
	assert_int_equal(ddf_claim(&e->l, &at, &p, &h), E_INVAL);
	p.rules[0] = (struct ddf_rule){ 9, 0, 0, 0, 0x1000, 0 };
	assert_int_equal(ddf_claim(&e->l, &at, &p, &h), E_INVAL);
	p.rules[0] = (struct ddf_rule){ DDF_RULE_ADDR64, 0, 17, 0, 0x28, 0 };
	assert_int_equal(ddf_claim(&e->l, &at, &p, &h), E_INVAL);
	p.rules[0] = (struct ddf_rule){ DDF_RULE_ADDR64, 0, 12, 4096, 0x28, 0 };  /* NVMe ASQ */
	p.dma_budget = 100;
	assert_int_equal(ddf_claim(&e->l, &at, &p, &h), E_INVAL);   /* budget not whole pages */
	p.dma_budget = BUDGET;
	assert_int_equal(ddf_claim(&e->l, &at, &p, &h), 0);
	/* a fourth function does not exist; fill the table with a fake one */
	e->f.funcs[3] = e->f.funcs[1];
	e->f.funcs[3].addr.device = 7;
	e->f.funcs[4] = e->f.funcs[1];
	e->f.funcs[4].addr.device = 8;
	e->f.nfuncs = 5;
	at.addr.device = 7;
	assert_int_equal(ddf_claim(&e->l, &at, &p, &h2), 0);
	at.addr.device = 8;
	assert_int_equal(ddf_claim(&e->l, &at, &p, &h2), E_NOSPC);
	assert_int_equal(ddf_check_invariants(&e->l), 0);
	/* release all: back to zero, and the function can be claimed again */
	assert_int_equal(ddf_owner_gone(&e->l, OWNER, DDF_TD_RELEASE), 4);
	assert_back_to(e, &s0);
	assert_null(ddf_claim_get(&e->l, h1));
	at.addr.device = 4;
	assert_int_equal(ddf_claim(&e->l, &at, &p, &h), E_INVAL);   /* ADDR64 on an I/O BAR */
	policy_virtio(&p, OWNER);
	assert_int_equal(ddf_claim(&e->l, &at, &p, &h), 0);
	assert_int_not_equal(h, h1);   /* same slot, new generation */
	assert_int_equal(ddf_handle_index(h), ddf_handle_index(h1));
	assert_int_equal(ddf_teardown(&e->l, h1, DDF_TD_RELEASE), E_STALE);
	assert_int_equal(ddf_teardown(&e->l, h, 0), E_INVAL);
	assert_int_equal(ddf_teardown(&e->l, h, DDF_TD_RELEASE), 0);
	assert_int_equal(ddf_owner_gone(&e->l, 0, DDF_TD_EXIT), E_INVAL);
	assert_int_equal(ddf_owner_gone(&e->l, OWNER, DDF_TD_RESET), E_INVAL);
	assert_back_to(e, &s0);
	free(e);
}

/* ---- DDF02: stale DMA handle ---- */

static void
test_stale_dma_handle(void **state)
{
	struct env *e = env_new();
	struct snap s0;
	ddf_handle c, b, b2, tok;
	uint64_t ck;
	uint32_t mg;

	snap(e, &s0);
	c = claim_addr(e, 4, OWNER);
	assert_int_equal(ddf_queue_configure(&e->l, OWNER, c, 0, 4), 0);
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 4096, 0, &b), 0);
	assert_int_equal(ddf_dma_free(&e->l, OWNER, b), 0);
	/* every use of the freed handle is stale and changes nothing */
	struct snap s1;
	snap(e, &s1);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 0, 0, 0, 64, 0, &tok), E_STALE);
	assert_int_equal(ddf_dma_map(&e->l, OWNER, b, &ck, &mg), E_STALE);
	assert_int_equal(ddf_dma_free(&e->l, OWNER, b), E_STALE);
	assert_int_equal(ddf_dma_release(&e->l, OWNER, b), E_STALE);
	assert_null(ddf_buffer_get(&e->l, b));
	/* the slot is reused with a new generation; the old handle stays stale */
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 4096, 0, &b2), 0);
	assert_int_equal(ddf_handle_index(b2), ddf_handle_index(b));
	assert_int_equal(ddf_handle_gen(b2), ddf_handle_gen(b) + 1);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 0, 0, 0, 64, 0, &tok), E_STALE);
	/* forged: generation 0, wrong kind, index out of the table, another owner */
	assert_int_equal(ddf_dma_free(&e->l, OWNER, ddf_handle_make(DDF_K_BUFFER, 0, 0)), E_STALE);
	assert_int_equal(ddf_dma_free(&e->l, OWNER, ddf_handle_make(DDF_K_WINDOW,
	    ddf_handle_index(b2), ddf_handle_gen(b2))), E_BADF);
	assert_int_equal(ddf_dma_free(&e->l, OWNER, ddf_handle_make(DDF_K_BUFFER, NBUFS, 1)), E_BADF);
	assert_int_equal(ddf_dma_free(&e->l, OTHER, b2), E_PERM);
	assert_int_equal(ddf_dma_free(&e->l, OWNER, b2), 0);
	assert_int_equal(ddf_teardown(&e->l, c, DDF_TD_RELEASE), 0);
	/* after teardown every handle of the claim is stale */
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 4096, 0, &b), E_STALE);
	assert_back_to(e, &s0);
	free(e);
}

/* ---- DDF03: descriptor outside its buffer, ring depth ---- */

static void
test_descriptor_bounds(void **state)
{
	struct env *e = env_new();
	struct snap s0, s1;
	ddf_handle c, b, t[8];
	uint32_t bytes;

	snap(e, &s0);
	c = claim_addr(e, 4, OWNER);
	assert_int_equal(ddf_queue_configure(&e->l, OWNER, c, 0, 8), 0);
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 4096, 2, &b), 0);
	snap(e, &s1);
	uint32_t pub0 = count_calls(&e->f, FC_PUBLISH, 0);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 0, 0, 4000, 97, 0, &t[0]), E_RANGE);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 0, 0, 4096, 1, 0, &t[0]), E_RANGE);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 0, 0, UINT64_MAX, 2, 0, &t[0]), E_RANGE);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 0, 0, 0, 0, 0, &t[0]), E_INVAL);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 1, 0, 0, 64, 0, &t[0]), E_RANGE);  /* queue off */
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, DDF_MAX_QUEUES, 0, 0, 64, 0, &t[0]), E_RANGE);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 0, 8, 0, 64, 0, &t[0]), E_RANGE);  /* slot */
	assert_int_equal(count_calls(&e->f, FC_PUBLISH, 0), pub0);   /* nothing published */
	{
		struct snap s;
		snap(e, &s);
		assert_memory_equal(&s.t, &s1.t, sizeof s.t);
	}
	/* inside: the last byte exactly */
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 0, 0, 4095, 1, 0, &t[0]), 0);
	/* the same slot twice */
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 0, 0, 0, 64, 0, &t[1]), E_BUSY);
	/* ring depth budget (max_inflight 4) counts uncollected completions too */
	for (int i = 1; i < 4; i++)
		assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 0, (uint16_t)i, 0, 64, 0, &t[i]), 0);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 0, 4, 0, 64, 0, &t[4]), E_LIMIT);
	assert_int_equal(ddf_dma_device_done(&e->l, t[0], 1), 0);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 0, 4, 0, 64, 0, &t[4]), E_LIMIT);
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, b, t[0], &bytes), 0);
	assert_int_equal(bytes, 1);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 0, 4, 0, 64, 0, &t[4]), 0);
	/* queue reconfiguration refused while the queue holds descriptors */
	assert_int_equal(ddf_queue_configure(&e->l, OWNER, c, 0, 16), E_BUSY);
	assert_int_equal(ddf_queue_configure(&e->l, OWNER, c, 1, 3), E_INVAL);
	assert_int_equal(ddf_queue_configure(&e->l, OWNER, c, 1, 0), E_INVAL);
	assert_int_equal(ddf_queue_configure(&e->l, OWNER, c, 1, 65536), E_INVAL);
	assert_int_equal(ddf_queue_configure(&e->l, OWNER, c, DDF_MAX_QUEUES, 8), E_RANGE);
	assert_int_equal(ddf_queue_configure(&e->l, OTHER, c, 1, 8), E_PERM);
	assert_int_equal(ddf_queue_configure(&e->l, OWNER, c, 1, 32768), 0);
	assert_int_equal(ddf_check_invariants(&e->l), 0);
	for (int i = 1; i < 5; i++) {
		assert_int_equal(ddf_dma_complete(&e->l, OWNER, b, t[i], &bytes), E_AGAIN);
		assert_int_equal(ddf_dma_device_done(&e->l, t[i], 1u << 20), 0);
		assert_int_equal(ddf_dma_complete(&e->l, OWNER, b, t[i], &bytes), 0);
		assert_int_equal(bytes, 64);   /* the device's claim is clamped to the descriptor */
	}
	assert_int_equal(ddf_dma_free(&e->l, OWNER, b), 0);
	assert_int_equal(ddf_teardown(&e->l, c, DDF_TD_RELEASE), 0);
	assert_back_to(e, &s0);
	free(e);
}

/* ---- DDF04: double free; free while device-visible ---- */

static void
test_double_free(void **state)
{
	struct env *e = env_new();
	struct snap s0;
	struct drv d;
	ddf_handle tok;

	snap(e, &s0);
	drv_setup(e, &d);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, d.buf[0], 0, 0, 0, 512, 0, &tok), 0);
	assert_int_equal(ddf_dma_free(&e->l, OWNER, d.buf[0]), E_BUSY);   /* in flight */
	assert_int_equal(ddf_dma_device_done(&e->l, tok, 512), 0);
	assert_int_equal(ddf_buffer_get(&e->l, d.buf[0])->state, DDF_BUF_COMPLETING);
	assert_int_equal(ddf_dma_free(&e->l, OWNER, d.buf[0]), E_BUSY);   /* uncollected */
	uint32_t bytes;
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, d.buf[0], tok, &bytes), 0);
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, d.buf[0], tok, &bytes), E_STALE);
	/* a ring hold keeps the buffer device-visible */
	assert_int_equal(ddf_mmio_brokered_addr(&e->l, OWNER, d.win, REG_QDESC, d.buf[1], 0), 0);
	assert_int_equal(ddf_dma_free(&e->l, OWNER, d.buf[1]), E_BUSY);
	/* free, then free again */
	uint32_t f0 = count_calls(&e->f, FC_SCRUB_FREE, 0);
	assert_int_equal(ddf_dma_free(&e->l, OWNER, d.buf[0]), 0);
	assert_int_equal(ddf_dma_free(&e->l, OWNER, d.buf[0]), E_STALE);
	assert_int_equal(count_calls(&e->f, FC_SCRUB_FREE, 0), f0 + 1);
	assert_int_equal(ddf_check_invariants(&e->l), 0);
	assert_int_equal(ddf_teardown(&e->l, d.claim, DDF_TD_RELEASE), 0);
	assert_back_to(e, &s0);
	free(e);
}

/* ---- DDF05 + DDF07: revoke/reset race, stale completion after reset ---- */

static void
test_reset_race(void **state)
{
	struct env *e = env_new();
	struct snap s0, s1;
	struct drv d;
	ddf_handle t0, t1, b;
	uint32_t bytes;

	snap(e, &s0);
	drv_setup(e, &d);
	/* t0 completes on the device but is not collected; t1 is still in flight */
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, d.buf[0], 0, 0, 0, 512, 0, &t0), 0);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, d.buf[1], 0, 1, 4096, 512, 0, &t1), 0);
	assert_int_equal(ddf_dma_device_done(&e->l, t0, 512), 0);
	uint32_t from = e->f.nlog;
	assert_int_equal(ddf_teardown(&e->l, d.claim, DDF_TD_RESET), 0);
	assert_teardown_order(&e->f, from);
	/* the claim stays with its owner under a new generation, holding nothing */
	ddf_handle nc = ddf_handle_make(DDF_K_CLAIM, ddf_handle_index(d.claim),
	    ddf_handle_gen(d.claim) + 1);
	const struct ddf_claim *c = ddf_claim_get(&e->l, nc);
	assert_non_null(c);
	assert_int_equal(c->owner, OWNER);
	assert_int_equal(c->teardowns, 1);
	struct ddf_totals ct;
	assert_int_equal(ddf_claim_totals(&e->l, nc, &ct), 0);
	assert_int_equal(ct.buffers + ct.inflight + ct.completed + ct.windows + ct.routes, 0);
	assert_int_equal(ct.dma_used, 0);
	assert_null(ddf_claim_get(&e->l, d.claim));
	snap(e, &s1);
	/* the late completion of t1 and the late collection of t0: stale, nothing changes */
	assert_int_equal(ddf_dma_device_done(&e->l, t1, 512), E_STALE);
	assert_int_equal(ddf_dma_device_done(&e->l, t0, 512), E_STALE);
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, d.buf[0], t0, &bytes), E_STALE);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, d.buf[1], 0, 0, 0, 1, 0, &t0), E_STALE);
	assert_int_equal(ddf_mmio_write32(&e->l, OWNER, d.win, REG_NOTIFY, 0), E_STALE);
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, d.claim, 4096, 0, &b), E_STALE);
	{
		struct snap s;
		snap(e, &s);
		assert_memory_equal(&s.t, &s1.t, sizeof s.t);
	}
	/* a token slot reused after the reset does not resurrect the old token */
	assert_int_equal(ddf_queue_configure(&e->l, OWNER, nc, 0, 8), 0);
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, nc, 4096, 0, &b), 0);
	ddf_handle t2;
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 0, 0, 0, 8, 0, &t2), 0);
	assert_int_equal(ddf_handle_index(t2), ddf_handle_index(t0));
	assert_int_equal(ddf_dma_device_done(&e->l, t0, 8), E_STALE);
	assert_int_equal(ddf_dma_device_done(&e->l, t2, 8), 0);
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, b, t2, &bytes), 0);
	assert_int_equal(ddf_teardown(&e->l, nc, DDF_TD_RELEASE), 0);
	assert_back_to(e, &s0);
	free(e);
}

/* ---- DDF06: stale IRQ after reset; the interrupt protocol ---- */

static void
test_irq(void **state)
{
	struct env *e = env_new();
	struct snap s0;
	struct drv d;
	ddf_handle r2, r3;

	snap(e, &s0);
	drv_setup(e, &d);
	/* protocol: block, fire wakes, wait takes the coalesced count, EOI deferred to ack */
	assert_int_equal(ddf_irq_wait(&e->l, OWNER, d.route), 0);
	assert_int_equal(ddf_irq_wait(&e->l, OWNER, d.route), E_BUSY);   /* one waiter */
	assert_int_equal(ddf_irq_fire(&e->l, d.route), 1);
	assert_int_equal(ddf_irq_fire(&e->l, d.route), 0);
	assert_int_equal(ddf_irq_wait(&e->l, OWNER, d.route), 2);
	assert_int_equal(e->f.eois, 0);
	assert_int_equal(ddf_irq_wait(&e->l, OWNER, d.route), E_BUSY);   /* ack first */
	assert_int_equal(ddf_irq_ack(&e->l, OWNER, d.route), 0);
	assert_int_equal(e->f.eois, 1);
	assert_int_equal(ddf_irq_ack(&e->l, OWNER, d.route), E_INVAL);
	/* masked: recorded, nobody woken until unmasked and waited for */
	assert_int_equal(ddf_irq_mask(&e->l, OWNER, d.route, 1), 0);
	assert_int_equal(ddf_irq_wait(&e->l, OWNER, d.route), 0);
	assert_int_equal(ddf_irq_fire(&e->l, d.route), 0);
	assert_int_equal(ddf_irq_mask(&e->l, OWNER, d.route, 0), 1);   /* wakes the waiter */
	assert_int_equal(ddf_irq_fire(&e->l, d.route), 0);
	assert_int_equal(ddf_irq_wait(&e->l, OWNER, d.route), 2);
	assert_int_equal(ddf_irq_ack(&e->l, OWNER, d.route), 0);
	/* rejections: duplicate route, bad kind/index, other owner, wrong kind of handle */
	assert_int_equal(ddf_irq_route(&e->l, OWNER, d.claim, DDF_IRQ_MSIX, 1, &r2), E_EXIST);
	assert_int_equal(ddf_irq_route(&e->l, OWNER, d.claim, 3, 0, &r2), E_INVAL);
	assert_int_equal(ddf_irq_route(&e->l, OWNER, d.claim, DDF_IRQ_INTX, 4, &r2), E_INVAL);
	assert_int_equal(ddf_irq_route(&e->l, OWNER, d.claim, DDF_IRQ_MSI, 32, &r2), E_INVAL);
	assert_int_equal(ddf_irq_route(&e->l, OWNER, d.claim, DDF_IRQ_MSIX, 2048, &r2), E_INVAL);
	assert_int_equal(ddf_irq_route(&e->l, OTHER, d.claim, DDF_IRQ_MSIX, 2, &r2), E_PERM);
	assert_int_equal(ddf_irq_wait(&e->l, OTHER, d.route), E_PERM);
	assert_int_equal(ddf_irq_wait(&e->l, 0, d.route), E_PERM);   /* pid 0 is not the kernel */
	assert_int_equal(ddf_dma_free(&e->l, 0, d.buf[0]), E_PERM);
	assert_int_equal(ddf_mmio_write32(&e->l, 0, d.win, REG_NOTIFY, 1), E_PERM);
	assert_int_equal(ddf_irq_mask(&e->l, OWNER, d.route, 0), 0);   /* nothing pending */
	assert_int_equal(ddf_irq_wait(&e->l, OWNER, d.win), E_BADF);
	e->f.fail_route = E_NOSPC;   /* the kernel's vector allocator is full */
	assert_int_equal(ddf_irq_route(&e->l, OWNER, d.claim, DDF_IRQ_MSIX, 2, &r2), E_NOSPC);
	assert_int_equal(ddf_irq_route(&e->l, OWNER, d.claim, DDF_IRQ_MSIX, 2, &r2), 0);
	assert_int_equal(ddf_irq_release(&e->l, OWNER, r2), 0);
	assert_int_equal(ddf_irq_fire(&e->l, r2), E_STALE);
	assert_int_equal(ddf_irq_release(&e->l, OWNER, r2), E_STALE);
	/* reset with a blocked waiter: the late interrupt wakes nobody */
	assert_int_equal(ddf_irq_wait(&e->l, OWNER, d.route), 0);
	assert_int_equal(ddf_teardown(&e->l, d.claim, DDF_TD_RESET), 0);
	struct snap s1, s;
	snap(e, &s1);
	assert_int_equal(ddf_irq_fire(&e->l, d.route), E_STALE);
	assert_int_equal(ddf_irq_wait(&e->l, OWNER, d.route), E_STALE);
	assert_int_equal(ddf_irq_ack(&e->l, OWNER, d.route), E_STALE);
	snap(e, &s);
	assert_memory_equal(&s.t, &s1.t, sizeof s.t);
	/* the same vector routed again gets the same slot under a new generation */
	ddf_handle nc = ddf_handle_make(DDF_K_CLAIM, ddf_handle_index(d.claim),
	    ddf_handle_gen(d.claim) + 1);
	assert_int_equal(ddf_irq_route(&e->l, OWNER, nc, DDF_IRQ_MSIX, 1, &r3), 0);
	assert_int_equal(ddf_handle_index(r3), ddf_handle_index(d.route));
	assert_int_equal(ddf_irq_fire(&e->l, d.route), E_STALE);
	assert_int_equal(ddf_irq_fire(&e->l, r3), 0);
	assert_int_equal(e->l.t.routes[ddf_handle_index(r3)].pending, 1);
	assert_int_equal(ddf_teardown(&e->l, nc, DDF_TD_RELEASE), 0);
	assert_back_to(e, &s0);
	free(e);
}

/* ---- DDF08/DDF09: exit and crash with DMA in flight; one order for all four paths ---- */

static void
run_in_flight_teardown(uint8_t reason, uint8_t *log, uint32_t *nlog)
{
	struct env *e = env_new();
	struct snap s0;
	struct drv d;
	ddf_handle t0, t1, t2;

	snap(e, &s0);
	drv_setup(e, &d);
	assert_int_equal(ddf_mmio_brokered_addr(&e->l, OWNER, d.win, REG_QDESC, d.buf[1], 0), 0);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, d.buf[0], 0, 0, 0, 512, 0, &t0), 0);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, d.buf[1], 0, 1, 0, 4096, 0, &t1), 0);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, d.buf[1], 0, 2, 4096, 8192, 0, &t2), 0);
	assert_int_equal(ddf_dma_device_done(&e->l, t1, 4096), 0);
	assert_int_equal(ddf_irq_wait(&e->l, OWNER, d.route), 0);
	assert_int_equal(ddf_check_invariants(&e->l), 0);
	uint32_t from = e->f.nlog;
	if (reason == DDF_TD_EXIT || reason == DDF_TD_CRASH)
		assert_int_equal(ddf_owner_gone(&e->l, OWNER, reason), 1);
	else
		assert_int_equal(ddf_teardown(&e->l, d.claim, reason), 0);
	assert_teardown_order(&e->f, from);
	assert_int_equal(count_calls(&e->f, FC_UNMAP, from), 1);
	assert_int_equal(count_calls(&e->f, FC_DMA_UNMAP, from), 1);
	assert_int_equal(count_calls(&e->f, FC_DROP_ROUTE, from), 1);
	assert_int_equal(count_calls(&e->f, FC_SCRUB_FREE, from), 2);
	*nlog = e->f.nlog - from;
	memcpy(log, e->f.log + from, *nlog);
	/* stale everything */
	assert_int_equal(ddf_dma_device_done(&e->l, t0, 1), E_STALE);
	assert_int_equal(ddf_dma_device_done(&e->l, t2, 1), E_STALE);
	assert_int_equal(ddf_irq_fire(&e->l, d.route), E_STALE);
	assert_int_equal(ddf_mmio_unmap(&e->l, OWNER, d.win, d.map_gen), E_STALE);
	if (reason == DDF_TD_RESET) {
		ddf_handle nc = ddf_handle_make(DDF_K_CLAIM, ddf_handle_index(d.claim),
		    ddf_handle_gen(d.claim) + 1);
		assert_int_equal(ddf_teardown(&e->l, nc, DDF_TD_RELEASE), 0);
	}
	assert_back_to(e, &s0);
	/* the function is free again: a restarted driver can claim it */
	ddf_handle c2 = claim_addr(e, 4, OTHER);
	assert_int_equal(ddf_teardown(&e->l, c2, DDF_TD_RELEASE), 0);
	assert_back_to(e, &s0);
	free(e);
}

static void
test_teardown_same_path(void **state)
{
	static const uint8_t reasons[] = { DDF_TD_RELEASE, DDF_TD_EXIT, DDF_TD_CRASH, DDF_TD_RESET };
	uint8_t first[FAKE_LOG], log[FAKE_LOG];
	uint32_t nfirst = 0, n = 0;

	for (size_t i = 0; i < sizeof reasons; i++) {
		run_in_flight_teardown(reasons[i], i == 0 ? first : log, i == 0 ? &nfirst : &n);
		if (i > 0) {
			assert_int_equal(n, nfirst);
			assert_memory_equal(log, first, n);
		}
	}
}

/* ---- DDF10: write to a register not selected for writing; brokered addresses ---- */

static void
test_selected_write(void **state)
{
	struct env *e = env_new();
	struct snap s0;
	struct drv d;
	ddf_handle w2, other, ob;
	uint32_t v;

	snap(e, &s0);
	drv_setup(e, &d);
	uint32_t w0 = e->f.writes;
	assert_int_equal(ddf_mmio_write32(&e->l, OWNER, d.win, REG_NOTIFY, 1), 0);
	assert_int_equal(e->f.writes, w0 + 1);
	assert_int_equal(ddf_mmio_write32(&e->l, OWNER, d.win, REG_NOTIFY + 4, 1), E_PERM);
	assert_int_equal(ddf_mmio_write32(&e->l, OWNER, d.win, 0x14, 0x0f), E_PERM);  /* status */
	assert_int_equal(ddf_mmio_write32(&e->l, OWNER, d.win, REG_QDESC, 0), E_PERM); /* addr reg */
	assert_int_equal(ddf_mmio_write32(&e->l, OWNER, d.win, REG_NOTIFY + 2, 1), E_INVAL);
	assert_int_equal(ddf_mmio_write32(&e->l, OWNER, d.win, 0x4000, 1), E_RANGE);
	assert_int_equal(ddf_mmio_write32(&e->l, OTHER, d.win, REG_NOTIFY, 1), E_PERM);
	assert_int_equal(e->f.writes, w0 + 1);   /* no refused write reached the device */
	/* the rule names an absolute BAR offset: a window starting at 0x3000 reaches it at 0 */
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, d.claim, 4, 0x3000, 0x1000, &w2), 0);
	assert_int_equal(ddf_mmio_write32(&e->l, OWNER, w2, 0, 1), 0);
	assert_int_equal(ddf_mmio_write32(&e->l, OWNER, w2, REG_NOTIFY, 1), E_RANGE);
	/* reads: anywhere inside the window, aligned */
	assert_int_equal(ddf_mmio_read32(&e->l, OWNER, d.win, 0x14, &v), 0);
	assert_int_equal(v, 0x14 ^ 0xa5a5a5a5u);
	assert_int_equal(ddf_mmio_read32(&e->l, OWNER, w2, 0x10, &v), 0);
	assert_int_equal(v, 0x3010 ^ 0xa5a5a5a5u);
	assert_int_equal(ddf_mmio_read32(&e->l, OWNER, d.win, 0x3ffe, &v), E_INVAL);
	assert_int_equal(ddf_mmio_read32(&e->l, OWNER, w2, 0x1000, &v), E_RANGE);
	/* brokered address: only on an ADDR64 register, from the caller's own buffer */
	assert_int_equal(ddf_mmio_brokered_addr(&e->l, OWNER, d.win, REG_NOTIFY, d.buf[0], 0), E_PERM);
	assert_int_equal(ddf_mmio_brokered_addr(&e->l, OWNER, d.win, REG_QDESC + 4, d.buf[0], 0),
	    E_INVAL);
	assert_int_equal(ddf_mmio_brokered_addr(&e->l, OWNER, d.win, REG_QDESC, d.buf[0], 8), E_INVAL);
	assert_int_equal(ddf_mmio_brokered_addr(&e->l, OWNER, d.win, REG_QDESC, d.buf[0], 4096 - 16),
	    E_RANGE);   /* 256 bytes needed from there */
	assert_int_equal(ddf_mmio_brokered_addr(&e->l, OWNER, d.win, REG_QDESC, d.win, 0), E_BADF);
	other = claim_addr(e, 6, OTHER);
	assert_int_equal(ddf_dma_alloc(&e->l, OTHER, other, 4096, 0, &ob), 0);
	assert_int_equal(ddf_mmio_brokered_addr(&e->l, OWNER, d.win, REG_QDESC, ob, 0), E_PERM);
	assert_int_equal(count_calls(&e->f, FC_WRITE_ADDR, 0), 0);
	assert_int_equal(ddf_mmio_brokered_addr(&e->l, OWNER, d.win, REG_QDESC, d.buf[0], 16), 0);
	assert_int_equal(e->f.last_addr_off, 16);
	assert_int_equal(e->f.last_addr_cookie, e->l.t.buffers[ddf_handle_index(d.buf[0])].cookie);
	assert_int_equal(ddf_buffer_get(&e->l, d.buf[0])->state, DDF_BUF_INFLIGHT);
	/* reprogramming the register moves the hold */
	assert_int_equal(ddf_mmio_brokered_addr(&e->l, OWNER, d.win, REG_QDESC, d.buf[1], 0), 0);
	assert_int_equal(ddf_buffer_get(&e->l, d.buf[0])->state, DDF_BUF_ALLOCATED);
	assert_int_equal(ddf_buffer_get(&e->l, d.buf[1])->state, DDF_BUF_INFLIGHT);
	assert_int_equal(ddf_claim_get(&e->l, d.claim)->ring_holds, 1);
	assert_int_equal(ddf_check_invariants(&e->l), 0);
	assert_int_equal(ddf_owner_gone(&e->l, OWNER, DDF_TD_EXIT), 1);
	assert_int_equal(ddf_owner_gone(&e->l, OTHER, DDF_TD_EXIT), 1);
	assert_back_to(e, &s0);
	free(e);
}

/* ---- DDF11: map of a BAR window the driver does not own ---- */

static void
test_window_not_owned(void **state)
{
	struct env *e = env_new();
	struct snap s0, s1, s;
	ddf_handle c, o, w, w2;
	uint64_t ck;
	uint32_t mg, mg2;

	snap(e, &s0);
	c = claim_addr(e, 4, OWNER);
	o = claim_addr(e, 6, OTHER);
	snap(e, &s1);
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, o, 4, 0, 0x1000, &w), E_PERM);  /* not ours */
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, c, 4, 0x3000, 0x1001, &w), E_RANGE);
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, c, 4, 0x4000, 0x1000, &w), E_RANGE);
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, c, 4, 0x800, 0x100, &w), E_INVAL);
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, c, 4, 0, 0, &w), E_INVAL);
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, c, 2, 0, 0x1000, &w), E_RANGE);  /* no BAR2 */
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, c, 6, 0, 0x1000, &w), E_RANGE);
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, c, 0, 0, 0x41, &w), E_RANGE);  /* I/O BAR */
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, ddf_handle_make(DDF_K_CLAIM, 3, 1), 4, 0,
	    0x1000, &w), E_STALE);
	snap(e, &s);
	assert_memory_equal(&s.t, &s1.t, sizeof s.t);
	assert_int_equal(count_calls(&e->f, FC_MAP, 0), 0);
	/* a page-rounded window: 5 bytes at 0x2000 is one page */
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, c, 4, 0x2000, 5, &w), 0);
	assert_int_equal(ddf_mmio_map(&e->l, OTHER, w, &ck, &mg), E_PERM);
	e->f.fail_map = E_NOMEM;
	assert_int_equal(ddf_mmio_map(&e->l, OWNER, w, &ck, &mg), E_NOMEM);
	assert_int_equal(ddf_claim_get(&e->l, c)->mapped, 0);
	assert_int_equal(ddf_mmio_map(&e->l, OWNER, w, &ck, &mg), 0);
	assert_int_equal(ddf_claim_get(&e->l, c)->mapped_bytes, 4096);
	assert_int_equal(ddf_mmio_map(&e->l, OWNER, w, &ck, &mg2), E_BUSY);
	assert_int_equal(ddf_mmio_unmap(&e->l, OWNER, w, mg + 1), E_STALE);
	assert_int_equal(ddf_mmio_unmap(&e->l, OWNER, w, mg), 0);
	assert_int_equal(ddf_mmio_unmap(&e->l, OWNER, w, mg), E_BADF);   /* not mapped */
	assert_int_equal(ddf_mmio_map(&e->l, OWNER, w, &ck, &mg2), 0);
	assert_int_equal(mg2, mg + 1);
	assert_int_equal(ddf_mmio_unmap(&e->l, OWNER, w, mg), E_STALE);  /* old mapping gen */
	/* release unmaps; the handle is stale afterwards */
	assert_int_equal(ddf_mmio_release(&e->l, OWNER, w), 0);
	assert_int_equal(ddf_mmio_map(&e->l, OWNER, w, &ck, &mg), E_STALE);
	assert_int_equal(ddf_mmio_release(&e->l, OWNER, w), E_STALE);
	/* window table full */
	for (int i = 0; i < NWIN; i++)
		assert_int_equal(ddf_mmio_grant(&e->l, OWNER, c, 4, 0, 0x1000, &w2), 0);
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, c, 4, 0, 0x1000, &w2), E_NOSPC);
	assert_int_equal(ddf_check_invariants(&e->l), 0);
	assert_int_equal(ddf_teardown(&e->l, c, DDF_TD_RELEASE), 0);
	assert_int_equal(ddf_teardown(&e->l, o, DDF_TD_RELEASE), 0);
	assert_back_to(e, &s0);
	free(e);
}

/* ---- DDF12: over-budget pool ---- */

static void
test_over_budget(void **state)
{
	struct env *e = env_new();
	struct snap s0, s1, s;
	struct ddf_policy p;
	struct ddf_selector sel = { .kind = DDF_SEL_ADDR, .addr = { 0, 0, 5, 0 } };
	ddf_handle c, nopool, b[NBUFS + 1], x;

	snap(e, &s0);
	c = claim_addr(e, 4, OWNER);
	memset(&p, 0, sizeof p);
	p.owner = OWNER;
	assert_int_equal(ddf_claim(&e->l, &sel, &p, &nopool), 0);
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, nopool, 4096, 0, &x), E_PERM);  /* no pool */
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 60 * 1024, 0, &b[0]), 0);
	snap(e, &s1);
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 4097, 0, &x), E_LIMIT);  /* rounds to 8 KiB */
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, UINT64_MAX, 0, &x), E_RANGE);
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 0, 0, &x), E_INVAL);
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 4096, 3, &x), E_INVAL);
	assert_int_equal(ddf_dma_alloc(&e->l, OTHER, c, 4096, 0, &x), E_PERM);
	e->f.fail_alloc = E_NOMEM;   /* the PMM is out of frames */
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 4096, 0, &x), E_NOMEM);
	snap(e, &s);
	assert_memory_equal(&s.t, &s1.t, sizeof s.t);
	assert_int_equal(s.frames, s1.frames);
	/* exactly the budget */
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 4096, 0, &b[1]), 0);
	assert_int_equal(ddf_claim_get(&e->l, c)->dma_used, BUDGET);
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 1, 0, &x), E_LIMIT);
	/* a mapping failure leaves the buffer unmapped */
	uint64_t ck;
	uint32_t mg;
	e->f.fail_dma_map = E_NOMEM;
	assert_int_equal(ddf_dma_map(&e->l, OWNER, b[1], &ck, &mg), E_NOMEM);
	assert_int_equal(ddf_dma_map(&e->l, OWNER, b[1], &ck, &mg), 0);
	assert_int_equal(ddf_dma_map(&e->l, OWNER, b[1], &ck, &mg), E_BUSY);
	assert_int_equal(ddf_dma_free(&e->l, OWNER, b[0]), 0);
	assert_int_equal(ddf_dma_free(&e->l, OWNER, b[1]), 0);   /* unmaps, scrubs */
	/* buffer table full: half from another claim, so the budget is not what stops it */
	ddf_handle c2 = claim_addr(e, 6, OWNER);
	for (int i = 0; i < NBUFS; i++)
		assert_int_equal(ddf_dma_alloc(&e->l, OWNER, i & 1 ? c2 : c, 4096, 0, &b[i]), 0);
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 4096, 0, &x), E_NOSPC);
	assert_int_equal(ddf_check_invariants(&e->l), 0);
	assert_int_equal(ddf_owner_gone(&e->l, OWNER, DDF_TD_CRASH), 3);
	assert_back_to(e, &s0);
	free(e);
}

/* ---- DDF13: releasing one DMABuffer cap ---- */

static void
test_buffer_release(void **state)
{
	struct env *e = env_new();
	struct snap s0;
	struct drv d;
	ddf_handle t;

	snap(e, &s0);
	drv_setup(e, &d);
	/* idle: just the free path, nothing else is touched */
	uint32_t from = e->f.nlog;
	assert_int_equal(ddf_dma_release(&e->l, OWNER, d.buf[1]), 0);
	assert_int_equal(e->f.nlog - from, 2);
	assert_int_equal(e->f.log[from], FC_DMA_UNMAP);
	assert_int_equal(e->f.log[from + 1], FC_SCRUB_FREE);
	/* device-visible: the function is reset (bus mastering stops first) */
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, d.buf[0], 0, 0, 0, 8, 0, &t), 0);
	from = e->f.nlog;
	assert_int_equal(ddf_dma_release(&e->l, OWNER, d.buf[0]), 0);
	assert_teardown_order(&e->f, from);
	assert_null(ddf_claim_get(&e->l, d.claim));
	assert_int_equal(ddf_dma_device_done(&e->l, t, 8), E_STALE);
	assert_int_equal(ddf_owner_gone(&e->l, OWNER, DDF_TD_EXIT), 1);
	assert_back_to(e, &s0);
	free(e);
}

/* ---- DDF14: the audit log and the console formatting ---- */

static void
test_audit_and_devices(void **state)
{
	struct env *e = env_new();
	struct ddf_audit_rec out[64];
	uint64_t next, dropped;
	struct drv d;
	ddf_handle t;
	char buf[512];
	int n;

	assert_int_equal(ddf_fmt_devices(&e->l, buf, sizeof buf) > 0, 1);
	assert_string_equal(buf, "no claimed devices\n");
	drv_setup(e, &d);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, d.buf[0], 0, 3, 0, 8, 0, &t), 0);
	assert_int_equal(ddf_mmio_write32(&e->l, OWNER, d.win, 0x14, 0), E_PERM);
	n = ddf_fmt_devices(&e->l, buf, sizeof buf);
	assert_int_equal((size_t)n, strlen(buf));
	assert_string_equal(buf,
	    "0000:00:04.0 1af4:1042 owner=7 gen=1 active bm=1 windows=1 mapped=1 irqs=1 bufs=2 "
	    "dma=16384/65536 inflight=1 done=0 rings=0 policy=virtio-notify\n");
	/* a short buffer: cut, terminated, full length returned */
	assert_int_equal(ddf_fmt_devices(&e->l, buf, 20), n);
	assert_int_equal(strlen(buf), 19);
	assert_int_equal(ddf_owner_gone(&e->l, OWNER, DDF_TD_CRASH), 1);

	static const uint8_t want[] = {
		DDF_EV_CLAIM, DDF_EV_GRANT, DDF_EV_MMIO_MAP, DDF_EV_IRQ_ROUTE, DDF_EV_DMA_ALLOC,
		DDF_EV_DMA_ALLOC, DDF_EV_SUBMIT, DDF_EV_REJECTED, DDF_EV_MMIO_UNMAP, DDF_EV_IRQ_DROP,
		DDF_EV_DMA_FREE, DDF_EV_DMA_FREE, DDF_EV_TEARDOWN, DDF_EV_RELEASE,
	};
	n = ddf_audit_read(&e->audit, 0, out, 64, &next, &dropped);
	assert_int_equal(n, (int)sizeof want);
	assert_int_equal(dropped, 0);
	for (int i = 0; i < n; i++) {
		assert_int_equal(out[i].seq, (uint64_t)i);
		if (out[i].event != want[i])
			fail_msg("audit %d: %s, want %s", i, ddf_event_name(out[i].event),
			    ddf_event_name(want[i]));
		assert_int_equal(out[i].addr.device, 4);
		if (i > 0)
			assert_true(out[i].time_ns > out[i - 1].time_ns);
	}
	assert_int_equal(out[7].reason, E_PERM);
	assert_int_equal(out[7].detail, DDF_OP_WRITE32);
	assert_int_equal(out[12].detail, DDF_TD_CRASH);
	ddf_fmt_audit(&out[7], buf, sizeof buf);
	assert_non_null(strstr(buf, "rejected op=write32 reason=permission"));
	/* stale events after teardown are recorded as rejections too */
	assert_int_equal(ddf_dma_device_done(&e->l, t, 8), E_STALE);
	n = ddf_audit_read(&e->audit, next, out, 64, &next, &dropped);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].event, DDF_EV_REJECTED);
	assert_int_equal(out[0].reason, E_STALE);
	assert_int_equal(out[0].detail, DDF_OP_DMA_DONE);
	free(e);
}

/* ---- DDF15: completion protocol details ---- */

static void
test_completion(void **state)
{
	struct env *e = env_new();
	struct snap s0;
	struct drv d;
	ddf_handle t0, t1;
	uint32_t bytes;

	snap(e, &s0);
	drv_setup(e, &d);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, d.buf[0], 0, 0, 0, 100, 0, &t0), 0);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, d.buf[1], 0, 1, 0, 100, 0, &t1), 0);
	/* the token must be collected through its own buffer */
	assert_int_equal(ddf_dma_device_done(&e->l, t0, 50), 0);
	assert_int_equal(ddf_dma_device_done(&e->l, t0, 50), E_STALE);     /* done twice */
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, d.buf[1], t0, &bytes), E_PERM);
	assert_int_equal(ddf_dma_complete(&e->l, OTHER, d.buf[0], t0, &bytes), E_PERM);
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, d.buf[0], d.buf[0], &bytes), E_BADF);
	assert_int_equal(ddf_dma_device_done(&e->l, d.buf[0], 1), E_BADF);
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, d.buf[0], t0, &bytes), 0);
	assert_int_equal(bytes, 50);
	assert_int_equal(ddf_buffer_get(&e->l, d.buf[0])->state, DDF_BUF_ALLOCATED);
	assert_int_equal(ddf_buffer_get(&e->l, d.buf[1])->state, DDF_BUF_INFLIGHT);
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, d.buf[1], t1, &bytes), E_AGAIN);
	assert_int_equal(ddf_dma_device_done(&e->l, t1, 0), 0);
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, d.buf[1], t1, &bytes), 0);
	assert_int_equal(bytes, 0);
	assert_int_equal(ddf_bus_master_enable(&e->l, OTHER, d.claim), E_PERM);
	assert_int_equal(ddf_check_invariants(&e->l), 0);
	assert_int_equal(ddf_teardown(&e->l, d.claim, DDF_TD_RELEASE), 0);
	assert_back_to(e, &s0);
	free(e);
}

/* ---- DDF16: requests that re-enter the ledger from inside teardown or scrub ---- */

struct reentry {
	struct env *e;
	struct drv *d;
	ddf_handle tok;
	int ran;
};

static void
reenter_drain(struct fake *f)
{
	struct reentry *r = f->hook_arg;
	struct env *e = r->e;
	ddf_handle h;
	uint64_t ck;
	uint32_t mg;
	struct ddf_selector sel = { .kind = DDF_SEL_ADDR, .addr = { 0, 0, 4, 0 } };
	struct ddf_policy p;

	policy_virtio(&p, OTHER);
	/* the claim is mid-teardown: every request is refused, nothing changes */
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, r->d->claim, 4096, 0, &h), E_BUSY);
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, r->d->claim, 4, 0, 4096, &h), E_BUSY);
	assert_int_equal(ddf_mmio_map(&e->l, OWNER, r->d->win, &ck, &mg), E_BUSY);
	assert_int_equal(ddf_irq_wait(&e->l, OWNER, r->d->route), E_BUSY);
	assert_int_equal(ddf_dma_map(&e->l, OWNER, r->d->buf[0], &ck, &mg), E_BUSY);
	assert_int_equal(ddf_teardown(&e->l, r->d->claim, DDF_TD_RESET), E_BUSY);
	assert_int_equal(ddf_claim(&e->l, &sel, &p, &h), E_EXIST);
	assert_null(ddf_claim_get(&e->l, r->d->claim));
	/* an interrupt or a completion racing the drain is stale */
	assert_int_equal(ddf_irq_fire(&e->l, r->d->route), E_STALE);
	assert_int_equal(ddf_dma_device_done(&e->l, r->tok, 8), E_STALE);
	r->ran++;
}

static void
reenter_scrub(struct fake *f, uint64_t cookie)
{
	struct reentry *r = f->hook_arg;
	struct env *e = r->e;
	ddf_handle t;
	uint64_t ck;
	uint32_t mg;

	/* buf[0] is being scrubbed: it cannot be mapped, submitted or freed again */
	assert_int_equal(ddf_dma_map(&e->l, OWNER, r->d->buf[0], &ck, &mg), E_BUSY);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, r->d->buf[0], 0, 0, 0, 8, 0, &t), E_BUSY);
	assert_int_equal(ddf_dma_free(&e->l, OWNER, r->d->buf[0]), E_BUSY);
	r->ran++;
}

static void
test_reentry(void **state)
{
	struct env *e = env_new();
	struct snap s0;
	struct drv d;
	struct reentry r = { e, &d, 0, 0 };

	snap(e, &s0);
	drv_setup(e, &d);
	e->f.hook_arg = &r;
	e->f.on_scrub = reenter_scrub;
	assert_int_equal(ddf_dma_free(&e->l, OWNER, d.buf[0]), 0);
	assert_int_equal(r.ran, 1);
	e->f.on_scrub = NULL;
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, d.claim, 4096, 0, &d.buf[0]), 0);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, d.buf[0], 0, 0, 0, 8, 0, &r.tok), 0);
	e->f.on_drain = reenter_drain;
	assert_int_equal(ddf_owner_gone(&e->l, OWNER, DDF_TD_CRASH), 1);
	assert_int_equal(r.ran, 2);
	e->f.on_drain = NULL;
	assert_back_to(e, &s0);
	free(e);
}

/* ---- DDF17: generation exhaustion retires a slot instead of wrapping ---- */

static void
test_generation_exhaustion(void **state)
{
	struct env *e = env_new();
	struct snap s0;
	ddf_handle c, w, b, t;
	uint64_t ck;
	uint32_t mg, bytes;

	snap(e, &s0);
	c = claim_addr(e, 4, OWNER);
	assert_int_equal(ddf_queue_configure(&e->l, OWNER, c, 0, 8), 0);
	/* a window whose mapping generation is exhausted cannot be mapped */
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, c, 4, 0, 4096, &w), 0);
	e->win[ddf_handle_index(w)].map_gen = UINT32_MAX;
	assert_int_equal(ddf_mmio_map(&e->l, OWNER, w, &ck, &mg), E_LIMIT);
	assert_int_equal(ddf_mmio_release(&e->l, OWNER, w), 0);
	/* a token slot at the last generation retires when collected */
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 4096, 0, &b), 0);
	e->subs[0].gen = UINT32_MAX;
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 0, 0, 0, 8, 0, &t), 0);
	assert_int_equal(ddf_handle_gen(t), UINT32_MAX);
	assert_int_equal(ddf_dma_device_done(&e->l, t, 8), 0);
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, b, t, &bytes), 0);
	assert_int_equal(e->subs[0].state, DDF_SUB_RETIRED);
	assert_int_equal(ddf_dma_device_done(&e->l, t, 8), E_STALE);
	/* the next submission takes another slot */
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 0, 0, 0, 8, 0, &t), 0);
	assert_int_equal(ddf_handle_index(t), 1);
	/* a buffer slot at the last generation retires when freed; the handle stays stale */
	uint32_t bi = ddf_handle_index(b);
	assert_int_equal(ddf_dma_device_done(&e->l, t, 8), 0);
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, b, t, &bytes), 0);
	e->bufs[bi].gen = UINT32_MAX;
	b = ddf_handle_make(DDF_K_BUFFER, bi, UINT32_MAX);
	assert_int_equal(ddf_dma_free(&e->l, OWNER, b), 0);
	assert_int_equal(e->bufs[bi].state, DDF_BUF_RETIRED);
	assert_int_equal(ddf_dma_free(&e->l, OWNER, b), E_STALE);
	assert_null(ddf_buffer_get(&e->l, b));
	/* a token slot at the last generation cancelled by teardown retires too */
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 4096, 0, &b), 0);
	e->subs[1].gen = UINT32_MAX;
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b, 0, 0, 0, 8, 0, &t), 0);
	assert_int_equal(ddf_handle_index(t), 1);
	/* a claim slot at the last generation retires at teardown */
	uint32_t ci = ddf_handle_index(c);
	e->claims[ci].gen = UINT32_MAX;
	c = ddf_handle_make(DDF_K_CLAIM, ci, UINT32_MAX);
	assert_int_equal(ddf_teardown(&e->l, c, DDF_TD_RESET), 0);
	assert_int_equal(e->claims[ci].state, DDF_CLAIM_RETIRED);
	assert_int_equal(e->subs[1].state, DDF_SUB_RETIRED);
	assert_int_equal(ddf_dma_device_done(&e->l, t, 8), E_STALE);
	assert_int_equal(ddf_teardown(&e->l, c, DDF_TD_RELEASE), E_STALE);
	assert_back_to(e, &s0);
	/* the function is claimable again, from another slot */
	ddf_handle c2 = claim_addr(e, 4, OWNER);
	assert_int_not_equal(ddf_handle_index(c2), ci);
	assert_int_equal(ddf_teardown(&e->l, c2, DDF_TD_RELEASE), 0);
	assert_back_to(e, &s0);
	free(e);
}

/* ---- DDF18: forged handles and full tables on every entry point ---- */

static void
test_forged_and_full(void **state)
{
	struct env *e = env_new();
	struct snap s0;
	struct drv d;
	ddf_handle h, t[NSUBS + 1];
	uint32_t v;
	struct ddf_totals tot;

	snap(e, &s0);
	drv_setup(e, &d);
	ddf_handle bad_claim = ddf_handle_make(DDF_K_CLAIM, NCLAIMS, 1);
	ddf_handle bad_win = ddf_handle_make(DDF_K_WINDOW, NWIN, 1);
	ddf_handle bad_route = ddf_handle_make(DDF_K_ROUTE, 0, 0);
	assert_int_equal(ddf_bus_master_enable(&e->l, OWNER, bad_claim), E_BADF);
	assert_int_equal(ddf_teardown(&e->l, d.win, DDF_TD_RESET), E_BADF);
	assert_int_equal(ddf_mmio_read32(&e->l, OWNER, bad_win, 0, &v), E_BADF);
	assert_int_equal(ddf_mmio_write32(&e->l, OWNER, d.buf[0], 0, 0), E_BADF);
	assert_int_equal(ddf_mmio_brokered_addr(&e->l, OWNER, bad_win, REG_QDESC, d.buf[0], 0), E_BADF);
	assert_int_equal(ddf_irq_mask(&e->l, OWNER, bad_route, 1), E_STALE);
	assert_int_equal(ddf_irq_ack(&e->l, OWNER, ddf_handle_make(DDF_K_ROUTE, NROUTES, 1)), E_BADF);
	assert_int_equal(ddf_dma_device_done(&e->l, ddf_handle_make(DDF_K_TOKEN, NSUBS, 1), 0), E_BADF);
	assert_int_equal(ddf_claim_totals(&e->l, bad_claim, &tot), E_STALE);
	assert_int_equal(ddf_claim_totals(&e->l, d.claim, &tot), 0);
	assert_int_equal(tot.buffers, 2);
	/* a buffer of the caller's other claim cannot be a queue base for this one */
	ddf_handle c2 = claim_addr(e, 6, OWNER), b2;
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c2, 4096, 0, &b2), 0);
	assert_int_equal(ddf_mmio_brokered_addr(&e->l, OWNER, d.win, REG_QDESC, b2, 0), E_PERM);
	/* a token of another buffer of the same claim is not this buffer's */
	assert_int_equal(ddf_queue_configure(&e->l, OWNER, c2, 0, 32), 0);
	/* route table full */
	for (int i = 1; i < NROUTES; i++)
		assert_int_equal(ddf_irq_route(&e->l, OWNER, c2, DDF_IRQ_MSIX, (uint16_t)i, &h), 0);
	assert_int_equal(ddf_irq_route(&e->l, OWNER, c2, DDF_IRQ_MSIX, 99, &h), E_NOSPC);
	/* submission table full (c2 allows 4 in flight, d.claim 4: 8 < NSUBS, so raise it) */
	e->claims[ddf_handle_index(c2)].pol.max_inflight = 64;
	for (int i = 0; i < NSUBS; i++)
		assert_int_equal(ddf_dma_submit(&e->l, OWNER, b2, 0, (uint16_t)i, 0, 8, 0, &t[i]), 0);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, b2, 0, NSUBS, 0, 8, 0, &t[NSUBS]), E_NOSPC);
	assert_int_equal(ddf_check_invariants(&e->l), 0);
	assert_string_equal(ddf_buf_state_name(DDF_BUF_INFLIGHT), "in-flight");
	/* a ledger without an audit log works the same */
	e->l.audit = NULL;
	assert_int_equal(ddf_mmio_write32(&e->l, OWNER, d.win, 0x14, 0), E_PERM);
	e->l.audit = &e->audit;
	assert_string_equal(ddf_buf_state_name(99), "unknown");
	assert_int_equal(ddf_owner_gone(&e->l, OWNER, DDF_TD_EXIT), 2);
	assert_back_to(e, &s0);
	free(e);
}

/*
 * ---- DDF19: defensive checks the invariants exclude ----
 * White-box: corrupt the tables the way a bug would, check the ledger
 * refuses to act on them and ddf_check_invariants reports it, then restore.
 */
static void
test_corruption_detected(void **state)
{
	struct env *e = env_new();
	struct drv d;
	ddf_handle t;
	uint64_t ck;
	uint32_t mg;

	drv_setup(e, &d);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, d.buf[0], 0, 0, 0, 8, 0, &t), 0);
	struct ddf_claim *c = &e->claims[ddf_handle_index(d.claim)];
	struct ddf_window *w = &e->win[ddf_handle_index(d.win)];
	struct ddf_buffer *b = &e->bufs[ddf_handle_index(d.buf[0])];
	struct ddf_sub *s = &e->subs[ddf_handle_index(t)];
	assert_int_equal(ddf_check_invariants(&e->l), 0);

	/* objects hanging off a dead claim: refused, and reported */
	c->state = DDF_CLAIM_FREE;
	assert_int_equal(ddf_mmio_map(&e->l, OWNER, d.win, &ck, &mg), E_STALE);
	assert_int_equal(ddf_dma_device_done(&e->l, t, 1), E_STALE);
	assert_int_equal(ddf_check_invariants(&e->l), E_CORRUPT);
	c->state = DDF_CLAIM_TEARDOWN;
	assert_int_equal(ddf_check_invariants(&e->l), E_CORRUPT);
	c->state = DDF_CLAIM_ACTIVE;
	w->claim = NCLAIMS;
	assert_int_equal(ddf_mmio_unmap(&e->l, OWNER, d.win, d.map_gen), E_BADF);
	assert_int_equal(ddf_check_invariants(&e->l), E_CORRUPT);
	w->claim = ddf_handle_index(d.claim);
	assert_int_equal(ddf_check_invariants(&e->l), 0);

#define CORRUPT(field, bad) do { \
		__typeof__(field) saved_ = (field); \
		(field) = (bad); \
		assert_int_equal(ddf_check_invariants(&e->l), E_CORRUPT); \
		(field) = saved_; \
		assert_int_equal(ddf_check_invariants(&e->l), 0); \
	} while (0)

	CORRUPT(c->windows, 2);
	CORRUPT(c->mapped, 0);
	CORRUPT(c->mapped_bytes, 1);
	CORRUPT(c->routes, 0);
	CORRUPT(c->buffers, 3);
	CORRUPT(c->buf_mapped, 0);
	CORRUPT(c->dma_used, 0);
	CORRUPT(c->inflight, 0);
	CORRUPT(c->completed, 1);
	CORRUPT(c->ring_holds, 1);
	CORRUPT(c->pol.dma_budget, 4096);          /* more used than budgeted */
	CORRUPT(c->pol.max_inflight, 0);           /* more in flight than allowed */
	CORRUPT(w->length, 0x5000);                /* window past the BAR */
	CORRUPT(w->length, 100);                   /* not page rounded */
	CORRUPT(w->bar, DDF_MAX_BARS);
	CORRUPT(b->state, DDF_BUF_ALLOCATED);      /* in flight but says idle */
	CORRUPT(b->state, DDF_BUF_SCRUBBING);      /* scrubbing between calls */
	CORRUPT(b->submitted, 2);
	CORRUPT(b->done, 1);
	CORRUPT(b->size, 100);
	CORRUPT(b->claim, NCLAIMS);
	CORRUPT(s->buf, NBUFS);
	CORRUPT(s->buf, ddf_handle_index(d.buf[1]));  /* buffer counters disagree */
	CORRUPT(s->length, 8192);                  /* descriptor outside its buffer */
	CORRUPT(s->bytes, 9);
	CORRUPT(s->claim, NCLAIMS);
	struct ddf_route *r = &e->routes[ddf_handle_index(d.route)];
	r->eoi_pending = 1;
	CORRUPT(r->waiting, 1);                    /* waiting and owing an EOI at once */
	r->eoi_pending = 0;
	CORRUPT(r->claim, NCLAIMS);
	/* a freed buffer with submissions still pointing at it */
	CORRUPT(b->state, DDF_BUF_FREE);
	/* a free claim with aggregates left over */
	struct ddf_claim *spare = &e->claims[NCLAIMS - 1];
	CORRUPT(spare->dma_used, 4096);
	/* one function claimed twice */
	spare->state = DDF_CLAIM_ACTIVE;
	spare->fn = c->fn;
	spare->pol = c->pol;
	assert_int_equal(ddf_check_invariants(&e->l), E_CORRUPT);
	spare->state = DDF_CLAIM_FREE;
	assert_int_equal(ddf_check_invariants(&e->l), 0);
#undef CORRUPT
	free(e);
}

/*
 * ---- DDF20: legacy virtio port window, register widths, brokered queue PFN ----
 * virtio 1.x §4.1.4.8 legacy header on the I/O BAR: HOST_FEATURES 0 (4),
 * GUEST_FEATURES 4 (4), QUEUE_PFN 8 (4), QUEUE_NUM 12 (2), QUEUE_SEL 14 (2),
 * QUEUE_NOTIFY 16 (2), STATUS 18 (1), ISR 19 (1).
 */
static void
test_port_window_and_widths(void **state)
{
	struct env *e = env_new();
	struct snap s0, s1, s;
	struct ddf_selector sel = { .kind = DDF_SEL_ADDR, .addr = { 0, 0, 4, 0 } };
	struct ddf_policy p;
	ddf_handle c, w, w2, small, ring, ring2;
	uint64_t ck;
	uint32_t mg, v;

	snap(e, &s0);
	memset(&p, 0, sizeof p);
	p.owner = OWNER;
	p.dma_budget = BUDGET;
	p.max_inflight = 4;
	p.nrules = 7;
	p.rules[0] = (struct ddf_rule){ DDF_RULE_WRITE, 0, 0, 0, 4, 4 };
	p.rules[1] = (struct ddf_rule){ DDF_RULE_WRITE, 0, 0, 0, 14, 2 };
	p.rules[2] = (struct ddf_rule){ DDF_RULE_WRITE, 0, 0, 0, 16, 2 };
	p.rules[3] = (struct ddf_rule){ DDF_RULE_WRITE, 0, 0, 0, 18, 1 };
	p.rules[4] = (struct ddf_rule){ DDF_RULE_PFN32, 0, 0, 8192, 8, 0 };
	p.rules[5] = (struct ddf_rule){ DDF_RULE_WRITE, 4, 0, 0, 0x14, 1 };   /* modern status */
	p.rules[6] = (struct ddf_rule){ DDF_RULE_WRITE, 4, 0, 0, 0x16, 8 };
	assert_int_equal(ddf_claim(&e->l, &sel, &p, &c), E_INVAL);   /* an 8-byte write rule */
	p.rules[6] = (struct ddf_rule){ DDF_RULE_WRITE, 0, 0, 0, 0x3f, 2 };
	assert_int_equal(ddf_claim(&e->l, &sel, &p, &c), E_INVAL);   /* misaligned */
	p.nrules = 6;
	assert_int_equal(ddf_claim(&e->l, &sel, &p, &c), 0);
	/* the port window: exact bounds inside the I/O BAR, never mapped */
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, c, 0, 0x20, 0x21, &w), E_RANGE);
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, c, 0, 0, 0, &w), E_INVAL);
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, c, 0, 0, 0x40, &w), 0);
	assert_int_equal(ddf_mmio_map(&e->l, OWNER, w, &ck, &mg), E_NOTSUP);
	assert_int_equal(count_calls(&e->f, FC_MAP, 0), 0);
	/* reads at any width inside the window */
	assert_int_equal(ddf_mmio_read(&e->l, OWNER, w, 19, 1, &v), 0);
	assert_int_equal(e->f.last_width, 1);
	assert_int_equal(ddf_mmio_read(&e->l, OWNER, w, 12, 2, &v), 0);
	assert_int_equal(e->f.last_width, 2);
	assert_int_equal(ddf_mmio_read(&e->l, OWNER, w, 0x3e, 4, &v), E_INVAL);
	assert_int_equal(ddf_mmio_read(&e->l, OWNER, w, 0x40, 1, &v), E_RANGE);
	assert_int_equal(ddf_mmio_read(&e->l, OWNER, w, 0, 3, &v), E_INVAL);
	assert_int_equal(ddf_mmio_read(&e->l, OWNER, w, 0, 8, &v), E_INVAL);
	/* writes: the listed register at its listed width only */
	uint32_t w0 = e->f.writes;
	assert_int_equal(ddf_mmio_write(&e->l, OWNER, w, 18, 1, 0x0f), 0);
	assert_int_equal(e->f.last_reg, 18);
	assert_int_equal(ddf_mmio_write(&e->l, OWNER, w, 14, 2, 0), 0);
	assert_int_equal(ddf_mmio_write(&e->l, OWNER, w, 18, 2, 0x0f), E_PERM);   /* wider */
	assert_int_equal(ddf_mmio_write(&e->l, OWNER, w, 16, 4, 0), E_PERM);
	assert_int_equal(ddf_mmio_write(&e->l, OWNER, w, 12, 2, 0), E_PERM);      /* QUEUE_NUM */
	assert_int_equal(ddf_mmio_write(&e->l, OWNER, w, 8, 4, 0x1234), E_PERM);  /* PFN: brokered */
	assert_int_equal(ddf_mmio_write(&e->l, OWNER, w, 0, 8, 0), E_INVAL);
	assert_int_equal(e->f.writes, w0 + 2);
	/* the modern status byte on BAR4 */
	assert_int_equal(ddf_mmio_grant(&e->l, OWNER, c, 4, 0, 0x1000, &w2), 0);
	assert_int_equal(ddf_mmio_write(&e->l, OWNER, w2, 0x14, 1, 1), 0);
	assert_int_equal(ddf_mmio_write32(&e->l, OWNER, w2, 0x14, 1), E_PERM);  /* clobbers 0x15.. */
	/* brokered queue PFN: the ring starts at the buffer's first page and must fit */
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 4096, 2, &small), 0);
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 8192, 2, &ring), 0);
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 8192, 2, &ring2), 0);
	assert_int_equal(ddf_mmio_brokered_pfn(&e->l, OWNER, w, 8, small), E_RANGE);
	assert_int_equal(ddf_mmio_brokered_pfn(&e->l, OWNER, w, 4, ring), E_PERM);   /* not PFN */
	assert_int_equal(ddf_mmio_brokered_pfn(&e->l, OWNER, w, 10, ring), E_INVAL);
	assert_int_equal(ddf_mmio_brokered_pfn(&e->l, OTHER, w, 8, ring), E_PERM);
	assert_int_equal(ddf_mmio_brokered_addr(&e->l, OWNER, w, 8, ring, 0), E_PERM);  /* no address rule */
	snap(e, &s1);
	e->f.fail_pfn = E_RANGE;   /* the kernel finds the frame above 44 bits */
	assert_int_equal(ddf_mmio_brokered_pfn(&e->l, OWNER, w, 8, ring), E_RANGE);
	snap(e, &s);
	assert_memory_equal(&s.t, &s1.t, sizeof s.t);
	assert_int_equal(ddf_mmio_brokered_pfn(&e->l, OWNER, w, 8, ring), 0);
	assert_int_equal(e->f.last_addr_cookie, e->bufs[ddf_handle_index(ring)].cookie);
	assert_int_equal(ddf_buffer_get(&e->l, ring)->state, DDF_BUF_INFLIGHT);
	assert_int_equal(ddf_dma_free(&e->l, OWNER, ring), E_BUSY);
	assert_int_equal(ddf_mmio_brokered_pfn(&e->l, OWNER, w, 8, ring2), 0);   /* moves the hold */
	assert_int_equal(ddf_buffer_get(&e->l, ring)->state, DDF_BUF_ALLOCATED);
	assert_int_equal(ddf_claim_get(&e->l, c)->ring_holds, 1);
	assert_int_equal(ddf_check_invariants(&e->l), 0);
	/* a port window is never mapped: corrupting one into MAPPED is caught */
	e->win[ddf_handle_index(w)].state = DDF_WIN_MAPPED;
	assert_int_equal(ddf_check_invariants(&e->l), E_CORRUPT);
	e->win[ddf_handle_index(w)].state = DDF_WIN_GRANTED;
	uint32_t from = e->f.nlog;
	assert_int_equal(ddf_owner_gone(&e->l, OWNER, DDF_TD_CRASH), 1);
	assert_teardown_order(&e->f, from);
	assert_back_to(e, &s0);
	free(e);
}

/* ---- DDF21: virtq descriptor chains (members deferred, head publishes) ---- */

static ddf_handle
claim_chains(struct env *e)
{
	struct ddf_selector sel = { .kind = DDF_SEL_ADDR, .addr = { 0, 0, 4, 0 } };
	struct ddf_policy p;
	ddf_handle c = 0;

	policy_virtio(&p, OWNER);
	p.max_inflight = 12;
	assert_int_equal(ddf_claim(&e->l, &sel, &p, &c), 0);
	assert_int_equal(ddf_queue_configure(&e->l, OWNER, c, 0, 8), 0);
	assert_int_equal(ddf_queue_configure(&e->l, OWNER, c, 1, 8), 0);
	return c;
}

static int
submit_d(struct env *e, ddf_handle b, uint16_t q, uint16_t slot, uint32_t len, uint16_t flags,
    uint16_t next, uint8_t deferred, ddf_handle *tok)
{
	const struct ddf_desc d = { q, slot, 0, len, flags, next, deferred };
	return ddf_dma_submit_desc(&e->l, OWNER, b, &d, tok);
}

#define NX DDF_DESC_F_NEXT
#define WR DDF_DESC_F_WRITE

static void
test_chains(void **state)
{
	struct env *e = env_new();
	struct snap s0, s1;
	ddf_handle c, hb, db, sb, other, th, td, ts, tx, ty;
	uint32_t bytes;

	snap(e, &s0);
	c = claim_chains(e);
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 4096, 0, &hb), 0);
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 8192, 1, &db), 0);
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c, 4096, 1, &sb), 0);
	/* A virtio-blk read: header (device reads) -> data (writes) -> status (writes). */
	assert_int_equal(submit_d(e, sb, 0, 2, 1, WR, 0, 1, &ts), 0);
	assert_int_equal(submit_d(e, db, 0, 1, 8192, NX | WR, 2, 1, &td), 0);
	assert_int_equal(e->f.navail, 0);            /* members are not available */
	snap(e, &s1);
	/* Refused heads change nothing and publish nothing. */
	uint32_t pub = count_calls(&e->f, FC_PUBLISH, 0);
	assert_int_equal(submit_d(e, hb, 0, 0, 16, NX | 4, 1, 0, &th), E_INVAL);   /* INDIRECT */
	assert_int_equal(submit_d(e, hb, 0, 0, 16, NX, 3, 0, &th), E_INVAL);       /* no member at 3 */
	assert_int_equal(submit_d(e, hb, 1, 0, 16, NX, 1, 0, &th), E_INVAL);       /* other queue */
	assert_int_equal(submit_d(e, hb, 0, 0, 16, NX, 8, 0, &th), E_RANGE);       /* next outside */
	assert_int_equal(submit_d(e, hb, 0, 0, 16, NX, 0, 0, &th), E_RANGE);       /* to itself */
	assert_int_equal(submit_d(e, hb, 0, 0, 16, 0, 5, 0, &th), E_INVAL);        /* next without NEXT */
	assert_int_equal(submit_d(e, hb, 0, 1, 16, 0, 0, 0, &th), E_BUSY);         /* slot of a member */
	assert_int_equal(count_calls(&e->f, FC_PUBLISH, 0), pub);
	{
		struct snap s;
		snap(e, &s);
		assert_memory_equal(&s.t, &s1.t, sizeof s.t);
	}
	/* The head publishes the chain: only the head's slot becomes available. */
	assert_int_equal(submit_d(e, hb, 0, 0, 16, NX, 1, 0, &th), 0);
	assert_int_equal(e->f.navail, 1);
	assert_int_equal(e->f.avail[0], 0);
	assert_int_equal(ddf_check_invariants(&e->l), 0);
	/* Published: a second head cannot take the members again. */
	assert_int_equal(submit_d(e, hb, 0, 3, 16, NX, 1, 0, &tx), E_INVAL);
	/* Members are collected with their head, and only the head completes. */
	assert_int_equal(ddf_dma_device_done(&e->l, td, 512), E_STALE);
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, db, td, &bytes), E_INVAL);
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, hb, th, &bytes), E_AGAIN);
	/* The device reports more than the writable 8193 bytes: each is clamped. */
	assert_int_equal(ddf_dma_device_done(&e->l, th, 100000), 0);
	assert_int_equal(ddf_buffer_get(&e->l, db)->state, DDF_BUF_COMPLETING);
	assert_int_equal(e->subs[ddf_handle_index(th)].bytes, 0);      /* device-readable */
	assert_int_equal(e->subs[ddf_handle_index(td)].bytes, 8192);
	assert_int_equal(e->subs[ddf_handle_index(ts)].bytes, 1);
	assert_int_equal(ddf_dma_device_done(&e->l, th, 1), E_STALE);  /* twice */
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, hb, th, &bytes), 0);
	assert_int_equal(bytes, 8193);
	assert_int_equal(ddf_buffer_get(&e->l, db)->state, DDF_BUF_ALLOCATED);
	assert_int_equal(ddf_buffer_get(&e->l, sb)->state, DDF_BUF_ALLOCATED);
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, sb, ts, &bytes), E_STALE);
	/* A short report goes to the first writable members in order. */
	assert_int_equal(submit_d(e, sb, 0, 2, 1, WR, 0, 1, &ts), 0);
	assert_int_equal(submit_d(e, db, 0, 1, 8192, NX | WR, 2, 1, &td), 0);
	assert_int_equal(submit_d(e, hb, 0, 0, 16, NX, 1, 0, &th), 0);
	assert_int_equal(ddf_dma_device_done(&e->l, th, 600), 0);
	assert_int_equal(e->subs[ddf_handle_index(td)].bytes, 600);
	assert_int_equal(e->subs[ddf_handle_index(ts)].bytes, 0);
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, hb, th, &bytes), 0);
	assert_int_equal(bytes, 600);
	/* A cycle among deferred members never publishes: 1 -> 2 -> 1. */
	assert_int_equal(submit_d(e, db, 0, 1, 16, NX, 2, 1, &tx), 0);
	assert_int_equal(submit_d(e, sb, 0, 2, 16, NX, 1, 1, &ty), 0);
	assert_int_equal(submit_d(e, hb, 0, 0, 16, NX, 1, 0, &th), E_INVAL);
	/* Deferred members can be retracted (never made available): 0 bytes. */
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, db, tx, &bytes), 0);
	assert_int_equal(bytes, 0);
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, sb, ty, &bytes), 0);
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, sb, ty, &bytes), E_STALE);
	assert_int_equal(ddf_check_invariants(&e->l), 0);
	/* A chain of another claim's member is refused (it is not this claim's). */
	{
		struct ddf_selector sel = { .kind = DDF_SEL_ADDR, .addr = { 0, 0, 5, 0 } };
		struct ddf_policy p;
		ddf_handle c2, t2;
		policy_virtio(&p, OWNER);
		p.nrules = 0;                        /* function 5 (NVMe) has no BAR 4 */
		assert_int_equal(ddf_claim(&e->l, &sel, &p, &c2), 0);
		assert_int_equal(ddf_queue_configure(&e->l, OWNER, c2, 0, 8), 0);
		assert_int_equal(ddf_dma_alloc(&e->l, OWNER, c2, 4096, 0, &other), 0);
		assert_int_equal(submit_d(e, other, 0, 1, 16, 0, 0, 1, &t2), 0);
		assert_int_equal(submit_d(e, hb, 0, 0, 16, NX, 1, 0, &th), E_INVAL);
		assert_int_equal(ddf_teardown(&e->l, c2, DDF_TD_RELEASE), 0);
	}
	/* Teardown with a published chain in flight and a deferred member left over. */
	assert_int_equal(submit_d(e, sb, 0, 2, 1, WR, 0, 1, &ts), 0);
	assert_int_equal(submit_d(e, hb, 0, 0, 16, NX, 2, 0, &th), 0);
	assert_int_equal(submit_d(e, db, 1, 5, 64, 0, 0, 1, &tx), 0);
	uint32_t from = e->f.nlog;
	assert_int_equal(ddf_teardown(&e->l, c, DDF_TD_RESET), 0);
	assert_teardown_order(&e->f, from);
	assert_int_equal(ddf_dma_device_done(&e->l, th, 1), E_STALE);
	assert_int_equal(ddf_dma_complete(&e->l, OWNER, db, tx, &bytes), E_STALE);
	assert_int_equal(ddf_owner_gone(&e->l, OWNER, DDF_TD_EXIT), 1);
	assert_back_to(e, &s0);
	free(e);
}

/*
 * ---- DDF22: the submit scan is bounded by a high-water mark ----
 * Submits take the lowest free entry, so with at most k in flight the
 * entries used (and scanned) stay below k however long it runs; a table
 * filled to the end still reports E_NOSPC, a freed middle entry is reused,
 * and a used entry at or past the mark is reported as corruption.
 */
static void
test_submit_scan_bounded(void **state)
{
	struct env *e = env_new();
	struct snap s0;
	struct drv d;
	ddf_handle t[3];
	uint32_t bytes;

	snap(e, &s0);
	drv_setup(e, &d);
	for (int round = 0; round < 500; round++) {
		for (int i = 0; i < 3; i++)
			assert_int_equal(ddf_dma_submit(&e->l, OWNER, d.buf[0], 0, (uint16_t)i, 0, 8, 0,
			    &t[i]), 0);
		for (int i = 2; i >= 0; i--) {          /* answered out of order */
			int k = (i + round) % 3;
			assert_int_equal(ddf_dma_device_done(&e->l, t[k], 8), 0);
			assert_int_equal(ddf_dma_complete(&e->l, OWNER, d.buf[0], t[k], &bytes), 0);
		}
	}
	assert_int_equal(e->l.sub_hwm, 3);
	for (uint32_t i = 3; i < NSUBS; i++)
		assert_int_equal(e->subs[i].state, DDF_SUB_FREE);
	assert_int_equal(ddf_check_invariants(&e->l), 0);
	/* a used entry past the mark is what a lost update would leave */
	e->subs[5].state = DDF_SUB_SUBMITTED;
	assert_int_equal(ddf_check_invariants(&e->l), E_CORRUPT);
	e->subs[5].state = DDF_SUB_FREE;
	assert_int_equal(ddf_check_invariants(&e->l), 0);
	assert_int_equal(ddf_teardown(&e->l, d.claim, DDF_TD_RELEASE), 0);
	assert_back_to(e, &s0);
	free(e);
}

/* ---- DDF23: shares (DmaWindow) of a mapped buffer with another process ---- */

#define HOLDER 11

static void
test_shares(void **state)
{
	struct env *e = env_new();
	struct snap s0;
	struct drv d;
	ddf_handle sh, sh2, sh3, t;
	uint64_t ck;
	struct ddf_totals tt;

	snap(e, &s0);
	drv_setup(e, &d);               /* buf[1]: 3 pages, mapped; buf[0]: 1 page, not mapped */
	/* refused: unmapped buffer, unaligned, empty, past the end, another owner's buffer */
	assert_int_equal(ddf_dma_share(&e->l, OWNER, d.buf[0], 0, 4096, &sh), E_PERM);
	assert_int_equal(ddf_dma_share(&e->l, OWNER, d.buf[1], 100, 4096, &sh), E_INVAL);
	assert_int_equal(ddf_dma_share(&e->l, OWNER, d.buf[1], 0, 0, &sh), E_INVAL);
	assert_int_equal(ddf_dma_share(&e->l, OWNER, d.buf[1], 4096, 3 * 4096, &sh), E_RANGE);
	assert_int_equal(ddf_dma_share(&e->l, OWNER, d.buf[1], UINT64_MAX & ~4095ull, 4096, &sh),
	    E_RANGE);
	assert_int_equal(ddf_dma_share(&e->l, OTHER, d.buf[1], 0, 4096, &sh), E_PERM);
	ddf_totals(&e->l, &tt);
	assert_int_equal(tt.shares, 0);
	/* a share: mapped once by its holder, unmapped only by it, never mapped again */
	assert_int_equal(ddf_dma_share(&e->l, OWNER, d.buf[1], 4096, 2 * 4096, &sh), 0);
	assert_int_equal(ddf_share_map(&e->l, 0, sh, &ck), E_PERM);
	assert_int_equal(ddf_share_map(&e->l, HOLDER, sh, &ck), 0);
	assert_int_equal(e->f.last_share_holder, HOLDER);
	assert_int_equal(ddf_share_map(&e->l, OTHER, sh, &ck), E_BUSY);     /* a second holder */
	assert_int_equal(ddf_share_unmap(&e->l, OTHER, sh), E_PERM);
	ddf_totals(&e->l, &tt);
	assert_int_equal(tt.shares, 1);
	assert_int_equal(tt.share_mapped, 1);
	assert_int_equal(ddf_check_invariants(&e->l), 0);
	assert_int_equal(ddf_share_unmap(&e->l, HOLDER, sh), 0);
	assert_int_equal(ddf_check_invariants(&e->l), 0);      /* closed: no holder */
	assert_int_equal(ddf_share_unmap(&e->l, HOLDER, sh), E_INVAL);
	assert_int_equal(ddf_share_map(&e->l, HOLDER, sh, &ck), E_STALE);   /* closed */
	assert_int_equal(ddf_share_release(&e->l, sh), 0);
	assert_int_equal(ddf_share_release(&e->l, sh), E_STALE);
	assert_null(ddf_share_get(&e->l, sh));
	assert_int_equal(ddf_share_map(&e->l, HOLDER, sh, &ck), E_STALE);
	assert_int_equal(ddf_share_map(&e->l, HOLDER, d.buf[1], &ck), E_BADF);  /* not a share */
	/* a failing kernel mapping changes nothing */
	assert_int_equal(ddf_dma_share(&e->l, OWNER, d.buf[1], 0, 4096, &sh), 0);
	e->f.fail_share_map = E_NOMEM;
	assert_int_equal(ddf_share_map(&e->l, HOLDER, sh, &ck), E_NOMEM);
	assert_int_equal(ddf_share_get(&e->l, sh)->state, DDF_SHARE_OPEN);
	/* the holder exits: its mapping goes, the share is closed, the driver unaffected */
	assert_int_equal(ddf_share_map(&e->l, HOLDER, sh, &ck), 0);
	assert_int_equal(ddf_owner_gone(&e->l, HOLDER, DDF_TD_EXIT), 0);
	assert_int_equal(e->f.live_share_maps, 0);
	assert_int_equal(ddf_share_get(&e->l, sh)->state, DDF_SHARE_CLOSED);
	assert_non_null(ddf_claim_get(&e->l, d.claim));
	/* the buffer freed while a share is mapped: the holder keeps those pages */
	assert_int_equal(ddf_dma_share(&e->l, OWNER, d.buf[1], 0, 3 * 4096, &sh2), 0);
	assert_int_equal(ddf_share_map(&e->l, HOLDER, sh2, &ck), 0);
	assert_int_equal(ddf_dma_free(&e->l, OWNER, d.buf[1]), 0);
	assert_int_equal(e->f.orphaned_bytes, 3 * 4096);
	assert_int_equal(e->f.live_share_maps, 0);
	assert_null(ddf_share_get(&e->l, sh));          /* the closed one went with the buffer */
	assert_null(ddf_share_get(&e->l, sh2));
	assert_int_equal(ddf_share_unmap(&e->l, HOLDER, sh2), E_STALE);
	assert_int_equal(ddf_check_invariants(&e->l), 0);
	/* the driver crashes with I/O in flight and a share mapped: the ordered teardown
	 * (bus mastering off first, orphan with the scrub), the ledger back to zero */
	assert_int_equal(ddf_dma_alloc(&e->l, OWNER, d.claim, 2 * 4096, 2, &d.buf[1]), 0);
	assert_int_equal(ddf_dma_map(&e->l, OWNER, d.buf[1], &ck, &d.map_gen), 0);
	assert_int_equal(ddf_dma_share(&e->l, OWNER, d.buf[1], 4096, 4096, &sh3), 0);
	assert_int_equal(ddf_share_map(&e->l, HOLDER, sh3, &ck), 0);
	assert_int_equal(ddf_dma_submit(&e->l, OWNER, d.buf[1], 0, 0, 4096, 512, 0, &t), 0);
	uint32_t from = e->f.nlog;
	assert_int_equal(ddf_owner_gone(&e->l, OWNER, DDF_TD_CRASH), 1);
	assert_teardown_order(&e->f, from);
	int orphan = fake_find(&e->f, FC_SHARE_ORPHAN, from);
	assert_true(orphan > fake_find(&e->f, FC_DRAIN, from));
	assert_int_equal(e->f.orphaned_bytes, 4 * 4096);
	assert_null(ddf_share_get(&e->l, sh3));
	assert_int_equal(ddf_share_map(&e->l, HOLDER, sh3, &ck), E_STALE);
	assert_back_to(e, &s0);
	free(e);
}

/* A table without shares (nshares 0) refuses them. */
static void
test_shares_absent(void **state)
{
	struct env *e = env_new();
	struct drv d;
	ddf_handle sh;

	e->l.t.nshares = 0;
	drv_setup(e, &d);
	assert_int_equal(ddf_dma_share(&e->l, OWNER, d.buf[1], 0, 4096, &sh), E_NOSPC);
	assert_int_equal(ddf_owner_gone(&e->l, OWNER, DDF_TD_EXIT), 1);
	free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claim),               /* DDF01 absent / already claimed */
		cmocka_unit_test(test_stale_dma_handle),    /* DDF02 */
		cmocka_unit_test(test_descriptor_bounds),   /* DDF03 */
		cmocka_unit_test(test_double_free),         /* DDF04 */
		cmocka_unit_test(test_reset_race),          /* DDF05, DDF07 */
		cmocka_unit_test(test_irq),                 /* DDF06 */
		cmocka_unit_test(test_teardown_same_path),  /* DDF08, DDF09 exit/crash in flight */
		cmocka_unit_test(test_selected_write),      /* DDF10 */
		cmocka_unit_test(test_window_not_owned),    /* DDF11 */
		cmocka_unit_test(test_over_budget),         /* DDF12 */
		cmocka_unit_test(test_buffer_release),      /* DDF13 */
		cmocka_unit_test(test_audit_and_devices),   /* DDF14 */
		cmocka_unit_test(test_completion),          /* DDF15 */
		cmocka_unit_test(test_reentry),             /* DDF16 */
		cmocka_unit_test(test_generation_exhaustion), /* DDF17 */
		cmocka_unit_test(test_forged_and_full),     /* DDF18 */
		cmocka_unit_test(test_corruption_detected), /* DDF19 */
		cmocka_unit_test(test_port_window_and_widths), /* DDF20 */
		cmocka_unit_test(test_chains),              /* DDF21 */
		cmocka_unit_test(test_submit_scan_bounded), /* DDF22 */
		cmocka_unit_test(test_shares),              /* DDF23 */
		cmocka_unit_test(test_shares_absent),       /* DDF23 */
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
