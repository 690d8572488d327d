/* The recording fake of struct ddf_ops (test_ddf_fake.h). */
#include <string.h>

#include "base/err.h"
#include "test_ddf_fake.h"

static void
rec(struct fake *f, uint8_t c)
{
	if (f->nlog < FAKE_LOG)
		f->log[f->nlog] = c;
	f->nlog++;
}

static int
take_fail(int *slot)
{
	int e = *slot;
	*slot = 0;
	return e;
}

static int
f_pci_get(void *ctx, uint32_t i, struct ddf_func *out)
{
	struct fake *f = ctx;
	if (i >= f->nfuncs)
		return E_NOENT;
	*out = f->funcs[i];
	return 0;
}

static uint64_t
f_now(void *ctx)
{
	return ++((struct fake *)ctx)->now;
}

static void
f_stop_bm(void *ctx, const struct ddf_claim *c)
{
	rec(ctx, FC_STOP_BM);
}

static void
f_enable_bm(void *ctx, const struct ddf_claim *c)
{
	rec(ctx, FC_ENABLE_BM);
}

static int
f_map(void *ctx, const struct ddf_claim *c, uint8_t bar, uint64_t off, uint64_t len, uint64_t *ck)
{
	struct fake *f = ctx;
	int e = take_fail(&f->fail_map);
	if (e)
		return e;
	rec(f, FC_MAP);
	f->live_maps++;
	*ck = ++f->next_cookie;
	return 0;
}

static void
f_unmap(void *ctx, const struct ddf_claim *c, uint64_t ck)
{
	struct fake *f = ctx;
	rec(f, FC_UNMAP);
	f->live_maps--;
}

static int
f_route(void *ctx, const struct ddf_claim *c, uint8_t kind, uint16_t index, uint64_t *ck)
{
	struct fake *f = ctx;
	int e = take_fail(&f->fail_route);
	if (e)
		return e;
	rec(f, FC_ROUTE);
	f->live_routes++;
	*ck = ++f->next_cookie;
	return 0;
}

static void
f_drop_route(void *ctx, const struct ddf_claim *c, uint64_t ck)
{
	struct fake *f = ctx;
	rec(f, FC_DROP_ROUTE);
	f->live_routes--;
}

static void
f_mask(void *ctx, uint64_t ck, int masked)
{
	rec(ctx, FC_MASK);
}

static void
f_eoi(void *ctx, uint64_t ck)
{
	struct fake *f = ctx;
	rec(f, FC_EOI);
	f->eois++;
}

static uint32_t
f_reg_read(void *ctx, const struct ddf_claim *c, uint8_t bar, uint64_t off, uint8_t width)
{
	struct fake *f = ctx;
	rec(f, FC_READ32);
	f->reads++;
	f->last_width = width;
	return (uint32_t)off ^ 0xa5a5a5a5u;
}

static void
f_reg_write(void *ctx, const struct ddf_claim *c, uint8_t bar, uint64_t off, uint8_t width,
    uint32_t v)
{
	struct fake *f = ctx;
	rec(f, FC_WRITE32);
	f->writes++;
	f->last_width = width;
	f->last_reg = ((uint64_t)bar << 56) | off;
}

static int
f_write_pfn(void *ctx, const struct ddf_claim *c, uint8_t bar, uint64_t off, uint64_t bck)
{
	struct fake *f = ctx;
	int e = take_fail(&f->fail_pfn);
	if (e)
		return e;
	rec(f, FC_WRITE_ADDR);
	f->last_addr_cookie = bck;
	f->last_addr_off = 0;
	return 0;
}

static void
f_write_addr(void *ctx, const struct ddf_claim *c, uint8_t bar, uint64_t off, uint64_t bck,
    uint64_t boff)
{
	struct fake *f = ctx;
	rec(f, FC_WRITE_ADDR);
	f->last_addr_cookie = bck;
	f->last_addr_off = boff;
}

static int
f_dma_alloc(void *ctx, const struct ddf_claim *c, uint64_t size, uint64_t *ck)
{
	struct fake *f = ctx;
	int e = take_fail(&f->fail_alloc);
	uint64_t pages = size / DDF_PAGE_SIZE;
	if (e)
		return e;
	if (pages > f->frames_free)
		return E_NOMEM;
	rec(f, FC_DMA_ALLOC);
	f->frames_free -= pages;
	f->live_bufs++;
	*ck = ++f->next_cookie;
	return 0;
}

static int
f_dma_map(void *ctx, const struct ddf_claim *c, uint64_t bck, uint64_t size, uint64_t *mck)
{
	struct fake *f = ctx;
	int e = take_fail(&f->fail_dma_map);
	if (e)
		return e;
	rec(f, FC_DMA_MAP);
	f->live_dma_maps++;
	*mck = ++f->next_cookie;
	return 0;
}

static void
f_dma_unmap(void *ctx, const struct ddf_claim *c, uint64_t mck)
{
	struct fake *f = ctx;
	rec(f, FC_DMA_UNMAP);
	f->live_dma_maps--;
}

static void
f_publish(void *ctx, const struct ddf_claim *c, uint16_t q, uint16_t slot, uint64_t bck,
    uint64_t off, uint32_t len, uint16_t flags, uint16_t next, int deferred)
{
	struct fake *f = ctx;
	rec(f, FC_PUBLISH);
	if (!deferred) {
		if (f->navail < FAKE_AVAIL)
			f->avail[f->navail] = slot;
		f->navail++;
	}
}

static void
f_drain(void *ctx, const struct ddf_claim *c)
{
	struct fake *f = ctx;
	rec(f, FC_DRAIN);
	if (f->on_drain)
		f->on_drain(f);
}

static void
f_scrub_free(void *ctx, const struct ddf_claim *c, uint64_t bck, uint64_t size)
{
	struct fake *f = ctx;
	rec(f, FC_SCRUB_FREE);
	f->frames_free += size / DDF_PAGE_SIZE;
	f->live_bufs--;
	if (f->on_scrub)
		f->on_scrub(f, bck);
	/* Quiesce precedes free: bus mastering is off or this buffer was idle. */
	if (f->l != NULL) {
		for (uint32_t i = 0; i < f->l->t.nbuffers; i++) {
			const struct ddf_buffer *b = &f->l->t.buffers[i];
			if (b->cookie == bck && b->state != DDF_BUF_FREE &&
			    (b->state != DDF_BUF_SCRUBBING || b->submitted || b->ring_holds ||
			     b->user_mapped))
				f->scrub_saw_bad_state = 1;
		}
	}
}

static int
f_share_map(void *ctx, const struct ddf_claim *c, uint64_t bck, uint64_t off, uint64_t len,
    uint32_t holder, uint64_t *ck)
{
	struct fake *f = ctx;
	int e = take_fail(&f->fail_share_map);
	if (e)
		return e;
	rec(f, FC_SHARE_MAP);
	f->live_share_maps++;
	f->last_share_holder = holder;
	*ck = ++f->next_cookie;
	return 0;
}

static void
f_share_unmap(void *ctx, uint64_t ck)
{
	struct fake *f = ctx;
	rec(f, FC_SHARE_UNMAP);
	f->live_share_maps--;
}

static void
f_share_orphan(void *ctx, uint64_t ck)
{
	struct fake *f = ctx;
	rec(f, FC_SHARE_ORPHAN);
	f->live_share_maps--;
	/* the fake keeps no page runs: record the bytes the ledger says left the pool */
	for (uint32_t i = 0; f->l && i < f->l->t.nshares; i++)
		if (f->l->t.shares[i].state == DDF_SHARE_MAPPED && f->l->t.shares[i].cookie == ck)
			f->orphaned_bytes += f->l->t.shares[i].length;
}

const struct ddf_ops fake_ops = {
	.pci_get = f_pci_get, .now_ns = f_now,
	.stop_bus_master = f_stop_bm, .enable_bus_master = f_enable_bm,
	.map = f_map, .unmap = f_unmap, .route = f_route, .drop_route = f_drop_route,
	.mask = f_mask, .eoi = f_eoi, .reg_read = f_reg_read, .reg_write = f_reg_write,
	.write_dma_addr = f_write_addr, .write_dma_pfn = f_write_pfn, .dma_alloc = f_dma_alloc, .dma_map = f_dma_map,
	.dma_unmap = f_dma_unmap, .publish = f_publish, .drain = f_drain,
	.scrub_free = f_scrub_free, .share_map = f_share_map, .share_unmap = f_share_unmap,
	.share_orphan = f_share_orphan,
};

void
fake_init(struct fake *f)
{
	memset(f, 0, sizeof *f);
	f->frames_free = 1024;
	/* 0000:00:04.0 virtio-blk modern: BAR4 16 KiB MMIO */
	f->funcs[0].addr = (struct ddf_pci_addr){ 0, 0, 4, 0 };
	f->funcs[0].vendor = 0x1af4;
	f->funcs[0].device = 0x1042;
	f->funcs[0].bar[0] = (struct ddf_bar){ DDF_BAR_IO, 0x40 };
	f->funcs[0].bar[4] = (struct ddf_bar){ DDF_BAR_MEM, 0x4000 };
	/* 0000:00:05.0 NVMe: BAR0 16 KiB MMIO */
	f->funcs[1].addr = (struct ddf_pci_addr){ 0, 0, 5, 0 };
	f->funcs[1].vendor = 0x1b36;
	f->funcs[1].device = 0x0010;
	f->funcs[1].bar[0] = (struct ddf_bar){ DDF_BAR_MEM, 0x4000 };
	/* 0000:00:06.0 a second virtio-blk */
	f->funcs[2] = f->funcs[0];
	f->funcs[2].addr = (struct ddf_pci_addr){ 0, 0, 6, 0 };
	f->nfuncs = 3;
}

int
fake_find(const struct fake *f, uint8_t c, uint32_t from)
{
	uint32_t n = f->nlog < FAKE_LOG ? f->nlog : FAKE_LOG;
	for (uint32_t i = from; i < n; i++)
		if (f->log[i] == c)
			return (int)i;
	return -1;
}
