/* Internals shared by the ledger's source files (not for callers). */
#ifndef CAPOS_DDF_INT_H
#define CAPOS_DDF_INT_H

#include "ddf/ddf.h"

/* Append an event for claim c (may be NULL) to the audit log, if any. */
void ddf__audit(struct ddf_ledger *l, const struct ddf_claim *c, uint32_t owner, uint8_t event,
    uint32_t gen, uint64_t detail);
/* Record a refused request and return err unchanged. */
int ddf__reject(struct ddf_ledger *l, const struct ddf_claim *c, uint32_t owner, uint8_t op,
    int err);
/* Advance a generation; false when it is exhausted (the slot must retire). */
int ddf__bump(uint32_t *gen);

/*
 * Who presents a handle: a driver process id (uint32_t), or DDF__KERNEL for
 * the kernel's own paths (interrupt, completion, teardown, observation). It
 * is wider than a process id so no process can pass it; a driver calling
 * with process id 0 owns nothing (claims need a nonzero owner).
 */
#define DDF__KERNEL ((uint64_t)1 << 32)

/*
 * Decode a claim handle presented by `who`. E_BADF wrong kind or index, E_STALE old generation or
 * freed, E_BUSY inside teardown, E_PERM another owner's claim.
 */
int ddf__claim(struct ddf_ledger *l, ddf_handle h, uint64_t who, struct ddf_claim **out);
int ddf__window(struct ddf_ledger *l, ddf_handle h, uint64_t who, struct ddf_window **w,
    struct ddf_claim **c);
int ddf__route(struct ddf_ledger *l, ddf_handle h, uint64_t who, struct ddf_route **r,
    struct ddf_claim **c);
int ddf__buffer(struct ddf_ledger *l, ddf_handle h, uint64_t who, struct ddf_buffer **b,
    struct ddf_claim **c);

/* Register width a policy rule covers (WRITE: 1, 2 or 4; ADDR64: 8; PFN32: 4). */
uint8_t ddf__rule_width(const struct ddf_rule *r);
/* Recompute a live buffer's state from its counters. */
void ddf__buf_settle(struct ddf_buffer *b);
/* Buffer index buf of claim c is being freed: orphan its mapped shares, free them all. */
void ddf__shares_buffer_gone(struct ddf_ledger *l, struct ddf_claim *c, uint32_t buf);
/* Process holder ended: unmap every share mapped into it (they become CLOSED). */
void ddf__shares_holder_gone(struct ddf_ledger *l, uint32_t holder);
/* The kernel-internal teardown of claim slot ci (already validated ACTIVE). */
void ddf__teardown(struct ddf_ledger *l, uint32_t ci, uint8_t reason);

#endif
