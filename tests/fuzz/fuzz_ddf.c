/*
 * libFuzzer: random operation sequences against the device-manager ledger
 * (lib/ddf) over the recording fake of the kernel's effects. Handles are
 * never forgotten, so stale, forged and cross-owner handles are replayed at
 * will. After every step:
 *   - a refused request (negative return) left every ledger table byte for
 *     byte as it was and called no effect (fail closed, validate-then-act);
 *   - ddf_check_invariants recounts all aggregates (no buffer in two states,
 *     one claim per function, budget and ring depth respected);
 *   - the fake's resources agree with the ledger (frames, mappings, routes);
 *   - a teardown called its effects in the documented order;
 *   - descriptor chains (members deferred, head publishes): only heads are
 *     made available, INDIRECT never, and ddf_check_invariants checks every
 *     link names a member of the same claim, queue and state.
 * At the end every owner exits and the ledger and the fake are back at zero.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "ddf/ddf.h"
#include "../host/test_ddf_fake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NC 3
#define NW 4
#define NR 4
#define NB 8
#define NS 8
#define NSH 4
#define NH 16

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t
u8(struct in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t
u16(struct in *in)
{
	uint16_t lo = u8(in);
	return (uint16_t)(lo | (u8(in) << 8));
}

static uint64_t
u64v(struct in *in)
{
	/* mostly small values, sometimes near the edges */
	uint8_t k = u8(in);
	switch (k & 3) {
	case 0: return u8(in);
	case 1: return (uint64_t)u16(in) << (k >> 4);   /* shift < 16 */
	case 2: return UINT64_MAX - u8(in);
	default: return (uint64_t)u16(in) * 4096;
	}
}

struct hset {
	ddf_handle h[NH];
	uint32_t n;
};

static void
keep(struct hset *s, ddf_handle h)
{
	s->h[s->n % NH] = h;
	s->n++;
}

static ddf_handle
pick(struct in *in, const struct hset *s)
{
	uint8_t k = u8(in);
	if (s->n == 0 || k == 0xff) {
		uint64_t gen = u8(in), kind = u8(in) % 7, idx = u8(in);
		return (gen << 32) | (kind << 24) | idx;   /* forged */
	}
	return s->h[k % (s->n < NH ? s->n : NH)];
}

/* Device address of a data page; aborts if asked for a page past the buffer. */
static uint64_t
prp_page(void *ctx, uint64_t page)
{
	uint64_t size = *(uint64_t *)ctx;
	if (page >= size / DDF_PAGE_SIZE + (size % DDF_PAGE_SIZE != 0))
		abort();
	return (page + 1) * DDF_PAGE_SIZE;
}

static void
check_order(const struct fake *f)
{
	int phase = 0;
	uint32_t n = f->nlog < FAKE_LOG ? f->nlog : FAKE_LOG;

	for (uint32_t i = 0; i < n; i++) {
		int p;
		switch (f->log[i]) {
		case FC_STOP_BM: p = 0; break;
		case FC_UNMAP: case FC_DMA_UNMAP: p = 1; break;
		case FC_DROP_ROUTE: p = 2; break;
		case FC_DRAIN: p = 3; break;
		case FC_SCRUB_FREE: case FC_SHARE_ORPHAN: p = 4; break;
		case FC_SHARE_UNMAP: p = 0; break;     /* a holder's exit, before its teardowns */
		default: abort();
		}
		/* owner_gone may run several teardowns back to back: each starts at stop */
		if ((i == 0 && p != 0) || (p < phase && p != 0))
			abort();
		phase = p;
	}
}

static void
check(const struct ddf_ledger *l, const struct fake *f, uint64_t frames0)
{
	struct ddf_totals t;

	if (ddf_check_invariants(l) != 0)
		abort();
	ddf_totals(l, &t);
	if (f->live_bufs != t.buffers || f->frames_free + t.dma_used / DDF_PAGE_SIZE != frames0 ||
	    f->live_maps != t.mapped || f->live_routes != t.routes ||
	    f->live_dma_maps != t.buf_mapped || f->live_share_maps != t.share_mapped ||
	    f->scrub_saw_bad_state) {
		fprintf(stderr, "check: bufs %u/%u frames %lu+%lu/%lu maps %u/%u routes %u/%u dma_maps %u/%u "
		    "shares %u/%u bad %d\n", f->live_bufs, t.buffers, (unsigned long)f->frames_free,
		    (unsigned long)(t.dma_used / DDF_PAGE_SIZE), (unsigned long)frames0, f->live_maps,
		    t.mapped, f->live_routes, t.routes, f->live_dma_maps, t.buf_mapped,
		    f->live_share_maps, t.share_mapped, f->scrub_saw_bad_state);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fake f;
	static struct ddf_claim claims[NC];
	static struct ddf_window win[NW];
	static struct ddf_route routes[NR];
	static struct ddf_buffer bufs[NB];
	static struct ddf_sub subs[NS];
	static struct ddf_share shares[NSH];
	static struct ddf_audit_rec recs[64];
	static struct ddf_audit audit;
	static struct ddf_ledger l;
	struct ddf_tables tab = { claims, NC, win, NW, routes, NR, bufs, NB, subs, NS, shares, NSH };
	static struct {
		struct ddf_claim claims[NC];
		struct ddf_window win[NW];
		struct ddf_route routes[NR];
		struct ddf_buffer bufs[NB];
		struct ddf_sub subs[NS];
		struct ddf_share shares[NSH];
	} snap;
	struct hset hc = { 0 }, hw = { 0 }, hr = { 0 }, hb = { 0 }, ht = { 0 }, hs = { 0 };
	struct in in = { data, size };
	uint64_t frames0, ck;
	uint32_t mg, bytes, v;
	ddf_handle h;

	fake_init(&f);
	f.frames_free = 40;   /* small: the fake PMM can run out */
	frames0 = f.frames_free;
	ddf_audit_init(&audit, recs, 64);
	ddf_init(&l, &tab, &fake_ops, &f, &audit);
	f.l = &l;

	for (int step = 0; step < 256 && in.n > 0; step++) {
		uint8_t op = u8(&in);
		uint8_t ob = u8(&in);
		uint32_t owner = ob == 0xfe ? 0 : 1 + (ob & 1);   /* pid 0 owns nothing */
		int td = 0, rc = 0;

		/* Fail closed: a refused request must leave the ledger byte-for-byte as it was. */
		memcpy(&snap.claims, claims, sizeof claims);
		memcpy(&snap.win, win, sizeof win);
		memcpy(&snap.routes, routes, sizeof routes);
		memcpy(&snap.bufs, bufs, sizeof bufs);
		memcpy(&snap.subs, subs, sizeof subs);
		memcpy(&snap.shares, shares, sizeof shares);
		f.nlog = 0;

		switch (op % 29) {
		case 0: {
			struct ddf_selector sel = { 0 };
			struct ddf_policy p = { 0 };
			uint8_t k = u8(&in);
			sel.kind = (uint8_t)(1 + (k & 1));
			sel.addr = (struct ddf_pci_addr){ 0, 0, (uint8_t)(4 + (k >> 1) % 4), 0 };
			sel.vendor = k & 8 ? 0x1b36 : 0x1af4;
			sel.device = k & 8 ? 0x0010 : 0x1042;
			sel.instance = (k >> 4) & 1;
			p.owner = owner;
			p.dma_budget = (uint64_t)(u8(&in) % 24) * DDF_PAGE_SIZE;
			p.max_inflight = u8(&in) % 6;
			p.nrules = u8(&in) % 3;
			for (int i = 0; i < p.nrules; i++) {
				p.rules[i].kind = (uint8_t)(1 + u8(&in) % 3);
				p.rules[i].bar = u8(&in) % 6;
				p.rules[i].align_log2 = u8(&in) % 13;
				p.rules[i].min_bytes = u16(&in);
				p.rules[i].offset = (uint64_t)(u8(&in) % 16) * 8;
				p.rules[i].offset += 0x3000 * (u8(&in) & 1);
				p.rules[i].width = u8(&in) % 5;
			}
			if ((rc = ddf_claim(&l, &sel, &p, &h)) == 0)
				keep(&hc, h);
			break;
		}
		case 1: {
			ddf_handle c = pick(&in, &hc);
			uint8_t why = u8(&in) % 6;
			f.nlog = 0;
			rc = ddf_teardown(&l, c, why);
			td = 1;
			break;
		}
		case 2:
			f.nlog = 0;
			rc = ddf_owner_gone(&l, owner, (uint8_t)(1 + u8(&in) % 3));
			td = 1;
			break;
		case 3:
			rc = ddf_bus_master_enable(&l, owner, pick(&in, &hc));
			break;
		case 4: {
			/* arguments are read into locals first: C leaves argument order open */
			ddf_handle c = pick(&in, &hc);
			uint16_t q = u8(&in) % 18;
			uint32_t depth = 1u << (u8(&in) % 17);
			rc = ddf_queue_configure(&l, owner, c, q, depth);
			break;
		}
		case 5: {
			ddf_handle c = pick(&in, &hc);
			uint8_t bar = u8(&in) % 7;
			uint64_t off = u64v(&in);
			uint64_t len = u64v(&in);
			if ((rc = ddf_mmio_grant(&l, owner, c, bar, off, len, &h)) == 0)
				keep(&hw, h);
			break;
		}
		case 6:
			f.fail_map = (u8(&in) & 7) == 0 ? E_NOMEM : 0;
			rc = ddf_mmio_map(&l, owner, pick(&in, &hw), &ck, &mg);
			f.fail_map = 0;
			break;
		case 7: {
			ddf_handle w = pick(&in, &hw);
			rc = ddf_mmio_unmap(&l, owner, w, u8(&in) % 4);
			break;
		}
		case 8:
			rc = ddf_mmio_release(&l, owner, pick(&in, &hw));
			break;
		case 9: {
			ddf_handle w = pick(&in, &hw);
			uint64_t off = u64v(&in);
			rc = ddf_mmio_read(&l, owner, w, off, u8(&in) % 9, &v);
			break;
		}
		case 10: {
			ddf_handle w = pick(&in, &hw);
			uint64_t off = u64v(&in);
			rc = ddf_mmio_write(&l, owner, w, off, u8(&in) % 9, 0);
			break;
		}
		case 11: {
			ddf_handle w = pick(&in, &hw);
			uint64_t off = u64v(&in);
			ddf_handle b = pick(&in, &hb);
			uint64_t boff = u64v(&in);
			rc = ddf_mmio_brokered_addr(&l, owner, w, off, b, boff);
			break;
		}
		case 12: {
			f.fail_route = (u8(&in) & 7) == 0 ? E_NOSPC : 0;
			ddf_handle c = pick(&in, &hc);
			uint8_t kind = u8(&in) % 4;
			uint16_t index = u8(&in) % 40;
			if ((rc = ddf_irq_route(&l, owner, c, kind, index, &h)) == 0)
				keep(&hr, h);
			f.fail_route = 0;
			break;
		}
		case 13: {
			uint8_t k = u8(&in);
			ddf_handle r = pick(&in, &hr);
			if (k % 4 == 0)
				rc = ddf_irq_fire(&l, r);
			else if (k % 4 == 1)
				rc = ddf_irq_wait(&l, owner, r);
			else if (k % 4 == 2)
				rc = ddf_irq_ack(&l, owner, r);
			else
				rc = ddf_irq_mask(&l, owner, r, k & 4);
			break;
		}
		case 14:
			rc = ddf_irq_release(&l, owner, pick(&in, &hr));
			break;
		case 15: {
			f.fail_alloc = (u8(&in) & 7) == 0 ? E_NOMEM : 0;
			ddf_handle c = pick(&in, &hc);
			uint64_t sz = u64v(&in);
			uint8_t dir = u8(&in) % 4;
			if ((rc = ddf_dma_alloc(&l, owner, c, sz, dir, &h)) == 0)
				keep(&hb, h);
			f.fail_alloc = 0;
			break;
		}
		case 16:
			f.fail_dma_map = (u8(&in) & 7) == 0 ? E_NOMEM : 0;
			rc = ddf_dma_map(&l, owner, pick(&in, &hb), &ck, &mg);
			f.fail_dma_map = 0;
			break;
		case 17:
			rc = ddf_dma_free(&l, owner, pick(&in, &hb));
			break;
		case 18: {
			ddf_handle b = pick(&in, &hb);
			const struct ddf_buffer *bp = ddf_buffer_get(&l, b);
			int busy = bp != NULL && bp->state != DDF_BUF_ALLOCATED;
			f.nlog = 0;
			if ((rc = ddf_dma_release(&l, owner, b)) == 0 && busy)
				td = 1;
			break;
		}
		case 19: {
			ddf_handle b = pick(&in, &hb);
			uint16_t q = u8(&in) % 17;
			uint16_t s = u16(&in) % 40;
			uint64_t off = u64v(&in);
			uint32_t len = (uint32_t)u64v(&in);
			/* chains: random NEXT/WRITE/INDIRECT flags, links and deferral */
			uint8_t k = u8(&in);
			struct ddf_desc d = { q, s, off, len, (uint16_t)(k & 7), (uint16_t)(u8(&in) % 40),
				(uint8_t)((k >> 3) & 1) };
			uint32_t avail0 = f.navail;
			if ((rc = ddf_dma_submit_desc(&l, owner, b, &d, &h)) == 0) {
				keep(&ht, h);
				/* only a head is made available; INDIRECT is never accepted */
				if (f.navail != avail0 + !d.deferred || (d.flags & 4))
					abort();
			}
			break;
		}
		case 20: {
			ddf_handle t = pick(&in, &ht);
			rc = ddf_dma_device_done(&l, t, u16(&in));
			break;
		}
		case 21: {
			ddf_handle b = pick(&in, &hb);
			ddf_handle t = pick(&in, &ht);
			rc = ddf_dma_complete(&l, owner, b, t, &bytes);
			break;
		}
		case 24: {
			f.fail_pfn = (u8(&in) & 7) == 0 ? E_RANGE : 0;
			ddf_handle w = pick(&in, &hw);
			uint64_t off = u64v(&in);
			rc = ddf_mmio_brokered_pfn(&l, owner, w, off, pick(&in, &hb));
			f.fail_pfn = 0;
			break;
		}
		case 25: {      /* a share of a buffer: page-aligned offsets mostly */
			ddf_handle b = pick(&in, &hb);
			uint64_t off = (uint64_t)(u8(&in) % 8) * DDF_PAGE_SIZE + (u8(&in) == 7);
			uint64_t len = (uint64_t)(u8(&in) % 8) * DDF_PAGE_SIZE;
			if ((rc = ddf_dma_share(&l, owner, b, off, len, &h)) == 0)
				keep(&hs, h);
			break;
		}
		case 26: {      /* mapped by a holder: pids 1..3 (3 owns no claim) */
			f.fail_share_map = (u8(&in) & 7) == 0 ? E_NOMEM : 0;
			uint32_t holder = ob == 0xfe ? 0 : 1 + ob % 3;
			rc = ddf_share_map(&l, holder, pick(&in, &hs), &ck);
			f.fail_share_map = 0;
			break;
		}
		case 27:
			rc = ddf_share_unmap(&l, ob == 0xfe ? 0 : 1 + ob % 3, pick(&in, &hs));
			break;
		case 28:
			/* the cap's release: the kernel's, never refused with a change */
			rc = ddf_share_release(&l, pick(&in, &hs));
			break;
		case 22: {
			/* brokered virtio descriptor: accepted means every byte is inside */
			uint64_t rsz = u64v(&in), roff = u64v(&in);
			uint32_t n = 1u << (u8(&in) % 17);
			uint64_t dsz = u64v(&in), doff = u64v(&in);
			uint32_t len = (uint32_t)u64v(&in);
			uint16_t fl = u8(&in) % 8, nx = u16(&in);
			if (ddf_virtq_desc_check(rsz, roff, n, dsz, doff, len, fl, nx) == 0 &&
			    (roff + 16 > rsz || (uint64_t)n * 16 > rsz || len == 0 || doff > dsz ||
			     len > dsz - doff || nx >= n || (fl & DDF_VIRTQ_F_INDIRECT)))
				abort();
			break;
		}
		case 23: {
			/* PRPs: accepted transfers materialise inside the buffer and the list */
			static uint64_t list[DDF_PRP_LIST_MAX + 1];
			uint64_t dsz = u64v(&in), doff = u64v(&in), lsz = u64v(&in), loff = u64v(&in);
			uint32_t len = (uint32_t)u64v(&in);
			uint64_t p1, p2;
			int pages = ddf_prp_check(dsz, doff, len, lsz, loff);
			if (pages <= 0)
				break;
			list[DDF_PRP_LIST_MAX] = 0x5a5a;
			int n = ddf_prp_fill(prp_page, &dsz, doff, len, list, 0xabc000, &p1, &p2);
			if (doff % 4 || len > dsz - doff || n != (pages > 2 ? pages - 1 : 0) ||
			    (pages > 2 && (lsz == 0 || loff % DDF_PAGE_SIZE ||
			     (uint64_t)n * 8 > lsz - loff)) ||
			    list[DDF_PRP_LIST_MAX] != 0x5a5a || p1 % 4)
				abort();
			break;
		}
		}
		if (rc < 0 && (memcmp(&snap.claims, claims, sizeof claims) != 0 ||
		    memcmp(&snap.win, win, sizeof win) != 0 ||
		    memcmp(&snap.routes, routes, sizeof routes) != 0 ||
		    memcmp(&snap.bufs, bufs, sizeof bufs) != 0 ||
		    memcmp(&snap.subs, subs, sizeof subs) != 0 ||
		    memcmp(&snap.shares, shares, sizeof shares) != 0 || f.nlog != 0))
			abort();
		if (td)
			check_order(&f);
		f.nlog = 0;
		check(&l, &f, frames0);
	}
	/* every driver goes away; a reset claim is then released by its owner's exit */
	ddf_owner_gone(&l, 3, DDF_TD_EXIT);    /* a holder that owns no claim */
	ddf_owner_gone(&l, 1, DDF_TD_EXIT);
	ddf_owner_gone(&l, 2, DDF_TD_CRASH);
	struct ddf_totals t, zero;
	ddf_totals(&l, &t);
	memset(&zero, 0, sizeof zero);
	check(&l, &f, frames0);
	if (memcmp(&t, &zero, sizeof t) != 0 || f.frames_free != frames0 || f.live_maps ||
	    f.live_routes || f.live_dma_maps || f.live_bufs || f.live_share_maps)
		abort();
	return 0;
}
