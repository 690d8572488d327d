/*
 * Cross-CPU TLB shootdown (docs/kernel.md "TLB shootdown").
 *
 * A CPU caches translations of the address space in its CR3. When a present
 * mapping is removed or changed, every other CPU that may have the address
 * space loaded is sent VEC_TLB_SHOOTDOWN and the caller waits until each has
 * invalidated, so that when tlb_shootdown returns no CPU can still reach the
 * old frame (which the caller may then scrub and free).
 */
#ifndef CAPOS_TLB_H
#define CAPOS_TLB_H

#include <stdint.h>

/* Above this many pages a target reloads CR3 (or toggles CR4.PGE for kernel
 * mappings) instead of issuing one invlpg per page. */
#define TLB_FULL_FLUSH_PAGES	32

struct tlb_stats {
	uint64_t shootdowns;	/* requests that had at least one remote target */
	uint64_t local_only;	/* requests with no other CPU to ask */
	uint64_t ipis;		/* VEC_TLB_SHOOTDOWN IPIs sent */
	uint64_t acks_irq;	/* answered from the IPI handler */
	uint64_t acks_spin;	/* answered while spinning on a lock (interrupts off) */
	uint64_t full_flushes;	/* CR3 reload / PGE toggle instead of invlpg */
	uint64_t max_wait_ns;	/* longest wait for every target to answer */
	uint64_t retired;	/* CPUs moved off a retired address space */
};

/* Invalidate [va, va + npages pages) of the address space rooted at pml4
 * (physical) on this CPU and on every other CPU that may have it loaded;
 * returns when all of them have. The page-table entries must already be
 * changed. Kernel-half addresses are invalidated on every CPU. Panics when a
 * CPU does not answer within TLB_WAIT_MS. */
void tlb_shootdown(uint64_t pml4, uint64_t va, uint64_t npages);
/* pml4's tables are about to be freed. A CPU can keep a dead process's
 * pml4 in CR3 after it stopped running it (the idle thread keeps the last
 * CR3), and switch_proc does not reload CR3 when the next process's pml4 is
 * the same frame reused: every CPU still holding pml4 moves to the kernel
 * tables, dropping its user translations, before this returns. */
void tlb_retire_space(uint64_t pml4);
void tlb_get_stats(struct tlb_stats *out);

/* Called by spin_lock while it waits (sync/spinlock.h): a CPU spinning with
 * interrupts off on a lock the initiator holds still answers. */
extern volatile uint32_t tlb_pending;
void tlb_serve_pending(void);

/* capos.test=tlb and tlb-noipi (kernel/smp/tlb_ktest.c). */
void tlb_ktest_run(const char *name);

#endif
