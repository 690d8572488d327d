/*
 * A recording fake of the kernel's effects (struct ddf_ops) for the ledger
 * tests and the fuzzer: a PCI inventory, a frame counter standing in for
 * the PMM, and a log of every call in order so tests can assert the
 * teardown order. Injected failures exercise the fallible effects.
 */
#ifndef CAPOS_TEST_DDF_FAKE_H
#define CAPOS_TEST_DDF_FAKE_H

#include "ddf/ddf.h"

enum fake_call {
	FC_STOP_BM = 1, FC_ENABLE_BM, FC_MAP, FC_UNMAP, FC_ROUTE, FC_DROP_ROUTE, FC_MASK, FC_EOI,
	FC_READ32, FC_WRITE32, FC_WRITE_ADDR, FC_DMA_ALLOC, FC_DMA_MAP, FC_DMA_UNMAP, FC_PUBLISH,
	FC_DRAIN, FC_SCRUB_FREE, FC_SHARE_MAP, FC_SHARE_UNMAP, FC_SHARE_ORPHAN,
};

#define FAKE_LOG 512
#define FAKE_FUNCS 8
#define FAKE_AVAIL 64

struct fake {
	struct ddf_func funcs[FAKE_FUNCS];
	uint32_t nfuncs;
	uint8_t log[FAKE_LOG];
	uint32_t nlog;                /* calls made (log keeps the first FAKE_LOG) */
	uint64_t frames_free;         /* fake PMM: free 4 KiB frames */
	uint32_t live_maps, live_routes, live_dma_maps, live_bufs;
	uint32_t live_share_maps;     /* shares mapped into a holder */
	uint64_t orphaned_bytes;      /* share pages left to their holders */
	uint32_t last_share_holder;
	uint64_t next_cookie;
	int fail_map, fail_route, fail_alloc, fail_dma_map, fail_pfn, fail_share_map;  /* next call fails */
	uint8_t last_width;
	uint64_t last_reg;            /* bar << 56 | offset of the last register write */
	uint64_t last_addr_cookie, last_addr_off;            /* write_dma_addr arguments */
	uint32_t writes, reads, eois;
	uint64_t now;
	uint16_t avail[FAKE_AVAIL];   /* slots made available (chain heads), in order */
	uint32_t navail;
	/* scrub_free sees the buffer in SCRUBBING through the ledger */
	const struct ddf_ledger *l;
	int scrub_saw_bad_state;
	/* re-entry hooks: a kernel effect calling back into the ledger mid-teardown */
	void (*on_drain)(struct fake *f);
	void (*on_scrub)(struct fake *f, uint64_t buf_cookie);
	void *hook_arg;
};

extern const struct ddf_ops fake_ops;
void fake_init(struct fake *f);
/* Index of the first logged call equal to c at or after `from`, or -1. */
int fake_find(const struct fake *f, uint8_t c, uint32_t from);

#endif
