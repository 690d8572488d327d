/*
 * The device-manager ledger (docs/device-manager.md), as a pure state machine.
 *
 * One ledger is the single record of every claimed PCI function and of all
 * the authority hung off it: granted MMIO windows and their page-rounded user
 * mappings, interrupt routes, the DMA pool (budget and bytes), DMA buffers
 * and their states, per-queue ring depth, in-flight submissions and
 * completions, ownership generations and teardown state (SYSTEM.md
 * invariant 2). The kernel wraps it: every real effect (stop bus mastering,
 * map pages, program an MSI-X route, allocate and scrub bounce pages, author
 * a device-visible address) is a call through struct ddf_ops. The ledger
 * itself never sees a physical address: the kernel hands it opaque cookies.
 *
 * Every operation validates completely first and only then acts (seL4
 * decode/invoke). The only effects that may fail (map, route, allocate) run
 * after validation and before any ledger field changes, so a failure leaves
 * the ledger as it was. Refusals are appended to the audit log with their
 * reason; they change nothing else.
 *
 * No allocation: the caller provides every table (struct ddf_tables).
 * Not thread-safe: the kernel serialises calls (one device-manager lock).
 */
#ifndef CAPOS_DDF_DDF_H
#define CAPOS_DDF_DDF_H

#include <stddef.h>
#include <stdint.h>

#include "ddf/ddf_audit.h"
#include "ddf/ddf_validate.h"

#define DDF_MAX_BARS 6
#define DDF_MAX_RULES 16        /* selected-write / brokered-address rules per claim */
#define DDF_MAX_QUEUES 16       /* device queues per claim */
#define DDF_QUEUE_MAX_DEPTH 32768

/* ---- what the PCI layer reports about a function ---- */

enum ddf_bar_kind {
	DDF_BAR_NONE = 0,
	DDF_BAR_MEM = 1,
	DDF_BAR_IO = 2,          /* port window: never user-mapped, every access brokered */
};

struct ddf_bar {
	uint8_t kind;            /* enum ddf_bar_kind */
	uint64_t size;           /* bytes, from BAR sizing */
};

struct ddf_func {
	struct ddf_pci_addr addr;
	uint16_t vendor, device;
	struct ddf_bar bar[DDF_MAX_BARS];
};

/* How the manifest names a function. */
enum ddf_sel_kind {
	DDF_SEL_ADDR = 1,        /* segment:bus:device.function */
	DDF_SEL_IDS = 2,         /* vendor:device, the instance-th match in enumeration order */
};

struct ddf_selector {
	uint8_t kind;
	struct ddf_pci_addr addr;
	uint16_t vendor, device;
	uint16_t instance;
};

/* ---- per-claim policy, from the manifest ---- */

enum ddf_rule_kind {
	DDF_RULE_WRITE32 = 1,    /* the driver may write this register (e.g. a doorbell) */
	DDF_RULE_ADDR64 = 2,     /* the kernel may author a DMA address here (queue base) */
	DDF_RULE_PFN32 = 3,      /* the kernel may author (DMA address >> 12) here (legacy virtio) */
};
#define DDF_RULE_WRITE DDF_RULE_WRITE32

struct ddf_rule {
	uint8_t kind;            /* enum ddf_rule_kind */
	uint8_t bar;
	uint8_t align_log2;      /* ADDR64: required alignment of the buffer offset */
	uint32_t min_bytes;      /* ADDR64/PFN32: bytes the device uses from the address on */
	uint64_t offset;         /* register offset within the BAR */
	uint8_t width;           /* WRITE: register width 1, 2 or 4 (0 means 4) */
};

struct ddf_policy {
	uint32_t owner;          /* the driver process the claim is granted to (nonzero) */
	uint64_t dma_budget;     /* DMAPool byte budget; 0 = no pool */
	uint32_t max_inflight;   /* in-flight submissions allowed over all queues */
	uint8_t nrules;
	struct ddf_rule rules[DDF_MAX_RULES];
	char label[16];          /* write-policy label shown in info and `devices` */
};

/*
 * Descriptor flags the ledger understands: the split-virtqueue values
 * (virtio 1.x §2.7.5). NEXT chains to `next`; WRITE marks a buffer the
 * device writes (the used length is attributed to those). INDIRECT and
 * every other bit are refused: an indirect table would hold addresses the
 * driver wrote.
 */
#define DDF_DESC_F_NEXT 1u
#define DDF_DESC_F_WRITE 2u

/*
 * One descriptor as a driver submits it. A chain is built members first,
 * each with deferred = 1 (written into the table, not made available), then
 * the head with deferred = 0: the head publishes the whole chain once every
 * link names a live, deferred, unpublished descriptor of the same claim and
 * queue, with no cycle and at most the queue depth of links.
 */
struct ddf_desc {
	uint16_t queue, slot;
	uint64_t off;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
	uint8_t deferred;
};

/* ---- handles: (kind, index, generation), never 0 ---- */

typedef uint64_t ddf_handle;

enum ddf_kind {
	DDF_K_CLAIM = 1,
	DDF_K_WINDOW = 2,        /* DeviceMmio: one granted BAR window */
	DDF_K_ROUTE = 3,         /* Interrupt */
	DDF_K_BUFFER = 4,        /* DMABuffer */
	DDF_K_TOKEN = 5,         /* one in-flight submission */
	DDF_K_SHARE = 6,         /* DmaWindow: part of a buffer shared with another process */
};

static inline ddf_handle
ddf_handle_make(uint8_t kind, uint32_t index, uint32_t gen)
{
	return ((uint64_t)gen << 32) | ((uint64_t)kind << 24) | (index & 0xffffffu);
}
static inline uint8_t ddf_handle_kind(ddf_handle h) { return (uint8_t)(h >> 24); }
static inline uint32_t ddf_handle_index(ddf_handle h) { return (uint32_t)(h & 0xffffffu); }
static inline uint32_t ddf_handle_gen(ddf_handle h) { return (uint32_t)(h >> 32); }

/* ---- states ---- */

enum ddf_claim_state {
	DDF_CLAIM_FREE = 0,
	DDF_CLAIM_ACTIVE = 1,
	DDF_CLAIM_TEARDOWN = 2,  /* inside ddf_teardown: every driver request is refused */
	DDF_CLAIM_RETIRED = 3,   /* generation exhausted: the slot is never reused */
};

enum ddf_win_state { DDF_WIN_FREE = 0, DDF_WIN_GRANTED = 1, DDF_WIN_MAPPED = 2, DDF_WIN_RETIRED = 3 };
enum ddf_route_state { DDF_ROUTE_FREE = 0, DDF_ROUTE_LIVE = 1, DDF_ROUTE_RETIRED = 2 };

enum ddf_buf_state {
	DDF_BUF_FREE = 0,
	DDF_BUF_ALLOCATED = 1,   /* pinned, zeroed, not device-visible */
	DDF_BUF_INFLIGHT = 2,    /* device-visible: a submission or a ring hold is live */
	DDF_BUF_COMPLETING = 3,  /* device done, completions not yet collected by the driver */
	DDF_BUF_SCRUBBING = 4,   /* being scrubbed; never handed out in this state */
	DDF_BUF_RETIRED = 5,
};

/*
 * A share (DmaWindow): a page-aligned range of one mapped buffer that its
 * owner lets one other process map (docs/device-manager.md "Shared
 * windows"). OPEN: made, not mapped yet; MAPPED: in the holder's address
 * space; CLOSED: unmapped again (never mapped a second time).
 */
enum ddf_share_state {
	DDF_SHARE_FREE = 0, DDF_SHARE_OPEN = 1, DDF_SHARE_MAPPED = 2, DDF_SHARE_CLOSED = 3,
	DDF_SHARE_RETIRED = 4,
};

enum ddf_sub_state { DDF_SUB_FREE = 0, DDF_SUB_SUBMITTED = 1, DDF_SUB_DONE = 2, DDF_SUB_RETIRED = 3 };

enum ddf_teardown_reason {
	DDF_TD_RELEASE = 1,      /* the claim's caps were released */
	DDF_TD_EXIT = 2,         /* the driver exited */
	DDF_TD_CRASH = 3,        /* the driver faulted */
	DDF_TD_RESET = 4,        /* device reset: the claim stays with its owner, new generation */
};

enum ddf_irq_kind { DDF_IRQ_MSIX = 0, DDF_IRQ_MSI = 1, DDF_IRQ_INTX = 2 };

/* ---- ledger records (the caller allocates the arrays) ---- */

struct ddf_claim {
	uint8_t state;
	uint32_t gen;
	uint32_t owner;
	struct ddf_func fn;
	struct ddf_policy pol;
	uint8_t bus_master;              /* bus mastering enabled through the broker */
	uint16_t qdepth[DDF_MAX_QUEUES]; /* 0 = queue not configured */
	/* aggregates; equal to what the object tables say (ddf_check_invariants) */
	uint32_t windows, mapped, routes, buffers, buf_mapped, inflight, completed, ring_holds;
	uint64_t mapped_bytes, dma_used;
	uint32_t shares, share_mapped;   /* live share records; those mapped by their holder */
	uint32_t rule_buf[DDF_MAX_RULES];/* ADDR64 rule -> buffer index + 1 it points at; 0 none */
	uint32_t teardowns;              /* how many times teardown ran on this slot */
};

struct ddf_window {
	uint8_t state;
	uint32_t gen;                    /* handle generation */
	uint32_t map_gen;                /* mapping generation, bumped by unmap/teardown */
	uint32_t claim;
	uint8_t bar;
	uint64_t offset, length;         /* page-rounded, inside the BAR */
	uint64_t cookie;                 /* kernel's mapping record */
};

struct ddf_route {
	uint8_t state;
	uint32_t gen;
	uint32_t claim;
	uint8_t kind;                    /* enum ddf_irq_kind */
	uint16_t index;
	uint8_t masked;
	uint8_t waiting;                 /* a waiter is blocked */
	uint8_t eoi_pending;             /* delivered, acknowledge not yet seen */
	uint32_t pending;                /* fired, not yet taken by wait */
	uint64_t cookie;
};

struct ddf_buffer {
	uint8_t state;
	uint32_t gen;
	uint32_t claim;
	uint8_t direction;
	uint8_t user_mapped;
	uint32_t map_gen;
	uint64_t size;                   /* page-rounded */
	uint32_t submitted, done, ring_holds;
	uint64_t cookie;                 /* kernel's page-run record; never a physical address */
	uint64_t map_cookie;
};

struct ddf_share {
	uint8_t state;
	uint32_t gen;
	uint32_t claim;
	uint32_t buf;                    /* buffer index (the buffer is live while the share is) */
	uint64_t offset, length;         /* page-aligned, inside the buffer */
	uint32_t holder;                 /* MAPPED: the process it is mapped into */
	uint64_t cookie;                 /* MAPPED: the kernel's mapping record */
};

struct ddf_sub {
	uint8_t state;
	uint32_t gen;
	uint32_t claim;
	uint32_t buf;
	uint16_t queue, slot;
	uint64_t offset;
	uint32_t length;
	uint32_t bytes;                  /* reported by the device */
	uint16_t flags;                  /* DDF_DESC_F_* as submitted */
	uint16_t next;                   /* slot of the next chain member (flags NEXT) */
	uint8_t deferred;                /* written into the table, not made available yet */
	uint8_t member;                  /* published as a non-head chain member */
	uint32_t link;                   /* published chain: next member's sub index + 1, 0 = end */
};

struct ddf_tables {
	struct ddf_claim *claims; uint32_t nclaims;
	struct ddf_window *windows; uint32_t nwindows;
	struct ddf_route *routes; uint32_t nroutes;
	struct ddf_buffer *buffers; uint32_t nbuffers;
	struct ddf_sub *subs; uint32_t nsubs;
	struct ddf_share *shares; uint32_t nshares;     /* may be 0: no shares */
};

/*
 * Effects the kernel implements. Calls that return int may fail (nonzero
 * negative); the ledger calls them only after validation and before
 * changing itself. Void calls cannot fail. `c` is the claim record,
 * read-only to the callee.
 */
struct ddf_ops {
	/* enumerate PCI functions: fill *out for i, E_NOENT past the end */
	int (*pci_get)(void *ctx, uint32_t i, struct ddf_func *out);
	uint64_t (*now_ns)(void *ctx);

	void (*stop_bus_master)(void *ctx, const struct ddf_claim *c);
	void (*enable_bus_master)(void *ctx, const struct ddf_claim *c);
	int (*map)(void *ctx, const struct ddf_claim *c, uint8_t bar, uint64_t off, uint64_t len,
	    uint64_t *cookie);                         /* read-only user mapping */
	void (*unmap)(void *ctx, const struct ddf_claim *c, uint64_t cookie);
	int (*route)(void *ctx, const struct ddf_claim *c, uint8_t kind, uint16_t index,
	    uint64_t *cookie);
	void (*drop_route)(void *ctx, const struct ddf_claim *c, uint64_t cookie);
	void (*mask)(void *ctx, uint64_t route_cookie, int masked);
	void (*eoi)(void *ctx, uint64_t route_cookie); /* deferred EOI */
	/* a register of a memory BAR (MMIO) or an I/O BAR (port), width 1, 2 or 4 */
	uint32_t (*reg_read)(void *ctx, const struct ddf_claim *c, uint8_t bar, uint64_t off,
	    uint8_t width);
	void (*reg_write)(void *ctx, const struct ddf_claim *c, uint8_t bar, uint64_t off,
	    uint8_t width, uint32_t value);
	/* write the device-visible address of (buffer pages + buf_off) into a 64-bit register */
	void (*write_dma_addr)(void *ctx, const struct ddf_claim *c, uint8_t bar, uint64_t off,
	    uint64_t buf_cookie, uint64_t buf_off);
	/* write (device-visible address of the buffer) >> 12 into a 32-bit register; fails
	 * (E_RANGE) when the address does not fit 44 bits, and then writes nothing */
	int (*write_dma_pfn)(void *ctx, const struct ddf_claim *c, uint8_t bar, uint64_t off,
	    uint64_t buf_cookie);
	int (*dma_alloc)(void *ctx, const struct ddf_claim *c, uint64_t size, uint64_t *cookie);
	int (*dma_map)(void *ctx, const struct ddf_claim *c, uint64_t buf_cookie, uint64_t size,
	    uint64_t *map_cookie);
	void (*dma_unmap)(void *ctx, const struct ddf_claim *c, uint64_t map_cookie);
	/* write the device-visible descriptor for (buffer + off, len, flags, next) into queue
	 * slot; unless `deferred`, then make the slot available to the device (a head) */
	void (*publish)(void *ctx, const struct ddf_claim *c, uint16_t queue, uint16_t slot,
	    uint64_t buf_cookie, uint64_t off, uint32_t len, uint16_t flags, uint16_t next,
	    int deferred);
	/* bus mastering is off: wait until the function cannot touch memory any more */
	void (*drain)(void *ctx, const struct ddf_claim *c);
	void (*scrub_free)(void *ctx, const struct ddf_claim *c, uint64_t buf_cookie, uint64_t size);
	/* map buffer pages [off, off + len) read-write into process `holder` */
	int (*share_map)(void *ctx, const struct ddf_claim *c, uint64_t buf_cookie, uint64_t off,
	    uint64_t len, uint32_t holder, uint64_t *cookie);
	void (*share_unmap)(void *ctx, uint64_t cookie);
	/* the buffer is being freed while the share is mapped: leave the pages mapped in the
	 * holder as the holder's own memory (scrub_free of the buffer then skips them) */
	void (*share_orphan)(void *ctx, uint64_t cookie);
};

struct ddf_totals {
	uint32_t claims, windows, mapped, routes, buffers, buf_mapped, inflight, completed, ring_holds;
	uint32_t shares, share_mapped;
	uint64_t mapped_bytes, dma_used, dma_budget;
};

struct ddf_ledger {
	struct ddf_tables t;
	const struct ddf_ops *ops;
	void *ctx;
	struct ddf_audit *audit;         /* may be NULL */
	uint32_t sub_hwm;                /* subs at or past it were never used: all FREE */
};

void ddf_init(struct ddf_ledger *l, const struct ddf_tables *t, const struct ddf_ops *ops,
    void *ctx, struct ddf_audit *audit);

/*
 * Driver-facing operations take `owner`, the calling process id, and refuse
 * (E_PERM) objects of another process: defence in depth behind the cap
 * check. Claims require a nonzero owner, so owner 0 owns nothing.
 */

/* The function a selector names (what ddf_claim would claim); E_NOENT when absent. */
int ddf_find_func(struct ddf_ledger *l, const struct ddf_selector *sel, struct ddf_func *out);
/* Claims (manifest grant). Out: the claim handle. */
int ddf_claim(struct ddf_ledger *l, const struct ddf_selector *sel, const struct ddf_policy *pol,
    ddf_handle *out);
/* Release, exit, crash or reset: the one ordered teardown path. */
int ddf_teardown(struct ddf_ledger *l, ddf_handle claim, uint8_t reason);
/* Process `owner` ended (exit or crash): tear down every claim it holds. Returns the count. */
int ddf_owner_gone(struct ddf_ledger *l, uint32_t owner, uint8_t reason);
int ddf_bus_master_enable(struct ddf_ledger *l, uint32_t owner, ddf_handle claim);
int ddf_queue_configure(struct ddf_ledger *l, uint32_t owner, ddf_handle claim, uint16_t queue,
    uint32_t depth);

/*
 * DeviceMmio. A window of a memory BAR is page aligned and page rounded and
 * may be mapped; a window of an I/O BAR (legacy virtio) is exact, is never
 * mapped, and is reached only through the brokered reads and writes.
 */
int ddf_mmio_grant(struct ddf_ledger *l, uint32_t owner, ddf_handle claim, uint8_t bar,
    uint64_t off, uint64_t len, ddf_handle *out);
int ddf_mmio_map(struct ddf_ledger *l, uint32_t owner, ddf_handle win, uint64_t *cookie,
    uint32_t *map_gen);
int ddf_mmio_unmap(struct ddf_ledger *l, uint32_t owner, ddf_handle win, uint32_t map_gen);
int ddf_mmio_release(struct ddf_ledger *l, uint32_t owner, ddf_handle win);
int ddf_mmio_read(struct ddf_ledger *l, uint32_t owner, ddf_handle win, uint64_t off,
    uint8_t width, uint32_t *value);
int ddf_mmio_write(struct ddf_ledger *l, uint32_t owner, ddf_handle win, uint64_t off,
    uint8_t width, uint32_t value);
int ddf_mmio_read32(struct ddf_ledger *l, uint32_t owner, ddf_handle win, uint64_t off,
    uint32_t *value);
int ddf_mmio_write32(struct ddf_ledger *l, uint32_t owner, ddf_handle win, uint64_t off,
    uint32_t value);
int ddf_mmio_brokered_addr(struct ddf_ledger *l, uint32_t owner, ddf_handle win, uint64_t off,
    ddf_handle buf, uint64_t buf_off);
/* Legacy virtio queue PFN: the kernel writes the buffer's page frame number. */
int ddf_mmio_brokered_pfn(struct ddf_ledger *l, uint32_t owner, ddf_handle win, uint64_t off,
    ddf_handle buf);

/* Interrupt */
int ddf_irq_route(struct ddf_ledger *l, uint32_t owner, ddf_handle claim, uint8_t kind,
    uint16_t index, ddf_handle *out);
/* From the interrupt path. Returns 1: wake the waiter; 0: recorded; E_STALE: ignored. */
int ddf_irq_fire(struct ddf_ledger *l, ddf_handle route);
/* Returns the coalesced count (> 0, EOI now pending) or 0: block (waiter recorded). */
int ddf_irq_wait(struct ddf_ledger *l, uint32_t owner, ddf_handle route);
int ddf_irq_ack(struct ddf_ledger *l, uint32_t owner, ddf_handle route);
/* Returns 1 when unmasking finds interrupts pending and a waiter blocked: wake it. */
int ddf_irq_mask(struct ddf_ledger *l, uint32_t owner, ddf_handle route, int masked);
int ddf_irq_release(struct ddf_ledger *l, uint32_t owner, ddf_handle route);

/* DMAPool / DMABuffer */
int ddf_dma_alloc(struct ddf_ledger *l, uint32_t owner, ddf_handle claim, uint64_t size,
    uint8_t direction, ddf_handle *out);
int ddf_dma_map(struct ddf_ledger *l, uint32_t owner, ddf_handle buf, uint64_t *map_cookie,
    uint32_t *map_gen);
int ddf_dma_free(struct ddf_ledger *l, uint32_t owner, ddf_handle buf);
/* Cap release of a DMABuffer: free when idle; when device-visible, reset the device. */
int ddf_dma_release(struct ddf_ledger *l, uint32_t owner, ddf_handle buf);
/* A lone descriptor (a head without NEXT): ddf_dma_submit_desc with next 0, not deferred. */
int ddf_dma_submit(struct ddf_ledger *l, uint32_t owner, ddf_handle buf, uint16_t queue,
    uint16_t slot, uint64_t off, uint32_t len, uint16_t flags, ddf_handle *token);
/* A chain member (deferred) or a head (struct ddf_desc). Out: the descriptor's token. */
int ddf_dma_submit_desc(struct ddf_ledger *l, uint32_t owner, ddf_handle buf,
    const struct ddf_desc *d, ddf_handle *token);
/*
 * From the kernel's completion path (used ring / CQ entry parsed), naming a
 * head's token: every descriptor of its chain is done. A lone descriptor is
 * credited min(bytes, length); in a chain the bytes go to the WRITE members
 * in chain order, each at most its length. E_STALE: ignored.
 */
int ddf_dma_device_done(struct ddf_ledger *l, ddf_handle token, uint32_t bytes);
/*
 * The driver collects a completion: 0 and *bytes, or E_AGAIN while the
 * device is busy. A head's token collects its whole chain (*bytes is the
 * sum credited); a published member's token is refused (E_INVAL); a
 * deferred (unpublished) member's token retracts it (*bytes = 0).
 */
int ddf_dma_complete(struct ddf_ledger *l, uint32_t owner, ddf_handle buf, ddf_handle token,
    uint32_t *bytes);

/*
 * DmaWindow (shares). ddf_dma_share: the owner shares [off, off + len) of a
 * buffer it has mapped (page-aligned, nonempty, inside; E_INVAL/E_RANGE
 * else, E_PERM for an unmapped buffer, E_NOSPC when the table is full).
 * The other calls take the presenting process as `holder`: whoever holds
 * the cap may map it, once (E_BUSY while mapped, E_STALE once closed);
 * unmap only by its holder (E_PERM). A buffer freed (free, release, reset,
 * teardown) frees its shares; a mapped one is orphaned first (ops), so the
 * holder never loses the pages it sees. ddf_share_release: the cap is gone.
 * ddf_owner_gone also unmaps every share the process held.
 */
int ddf_dma_share(struct ddf_ledger *l, uint32_t owner, ddf_handle buf, uint64_t off,
    uint64_t len, ddf_handle *out);
int ddf_share_map(struct ddf_ledger *l, uint32_t holder, ddf_handle share, uint64_t *cookie);
int ddf_share_unmap(struct ddf_ledger *l, uint32_t holder, ddf_handle share);
int ddf_share_release(struct ddf_ledger *l, ddf_handle share);
/* The live share record `share` names, or NULL (freed, stale, malformed). */
const struct ddf_share *ddf_share_get(const struct ddf_ledger *l, ddf_handle share);

/* Observation */
void ddf_totals(const struct ddf_ledger *l, struct ddf_totals *out);
int ddf_claim_totals(const struct ddf_ledger *l, ddf_handle claim, struct ddf_totals *out);
const struct ddf_claim *ddf_claim_get(const struct ddf_ledger *l, ddf_handle claim);
const struct ddf_buffer *ddf_buffer_get(const struct ddf_ledger *l, ddf_handle buf);
/* The claim of a window, route, buffer or claim handle `owner` presents (decode errors as
 * any request: E_BADF, E_STALE, E_BUSY, E_PERM); for info and the kernel's format checks. */
int ddf_object_claim(const struct ddf_ledger *l, uint32_t owner, ddf_handle h, ddf_handle *claim);
/* Recount every aggregate from the object tables: 0 when consistent, E_CORRUPT otherwise. */
int ddf_check_invariants(const struct ddf_ledger *l);

/* Diagnostics console `devices`: one line per live claim. Returns bytes (snprintf rules). */
int ddf_fmt_devices(const struct ddf_ledger *l, char *buf, size_t size);
const char *ddf_buf_state_name(uint8_t state);

#endif
