/*
 * Spinlocks. Kernel code that can run with interrupts on takes locks with
 * the irqsave form so an interrupt handler on the same CPU cannot deadlock
 * on a lock its own CPU holds. Lock order is documented in docs/kernel.md.
 */
#ifndef CAPOS_SPINLOCK_H
#define CAPOS_SPINLOCK_H

#include <stdint.h>

/* smp/tlb.c: a CPU waiting here with interrupts off still answers a TLB
 * shootdown, or an initiator holding this lock would wait for it forever. */
extern volatile uint32_t tlb_pending;
void tlb_serve_pending(void);

struct spinlock {
	volatile uint32_t locked;
};

static inline void
spin_lock(struct spinlock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED)) {
			if (__atomic_load_n(&tlb_pending, __ATOMIC_RELAXED))
				tlb_serve_pending();
			__asm__ volatile("pause");
		}
}

static inline void
spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

static inline uint64_t
spin_lock_irqsave(struct spinlock *l)
{
	uint64_t flags;

	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
	spin_lock(l);
	return flags;
}

static inline void
spin_unlock_irqrestore(struct spinlock *l, uint64_t flags)
{
	spin_unlock(l);
	if (flags & (1u << 9))
		__asm__ volatile("sti" ::: "memory");
}

#endif
