/*
 * Cross-CPU TLB shootdown.
 *
 * Who may hold stale translations. capOS does not use PCIDs and user
 * mappings are never global, so a CR3 load drops every user translation of
 * the previous address space: only a CPU whose CR3 is the address space now
 * can hold them. The scheduler records that CPU's choice in cpus[i].cur
 * (set before its CR3 load, sched.c switch_proc), so the targets are the
 * CPUs whose current process runs in pml4, plus idle CPUs and CPUs not yet
 * in the scheduler (their CR3 is whatever they loaded last). That record is
 * read after the page-table entry was changed and a full barrier: a CPU that
 * switches in later walks the new entry. Kernel-half addresses are shared by
 * every address space, so they go to every CPU.
 *
 * Why spinning CPUs answer. Kernel code runs with interrupts off and the
 * initiator usually holds the big kernel lock, so a target may sit in
 * spin_lock(&bkl) with interrupts off and never take the IPI: waiting for
 * it would deadlock. spin_lock therefore calls tlb_serve_pending while it
 * waits (sync/spinlock.h), which invalidates and answers from there, as the
 * BKL spin loop of Linux 2.0 did (check_smp_invalidate). The IPI it leaves
 * pending finds nothing to do later.
 *
 * One request at a time: tlb_lock serialises initiators (one that spins on
 * it answers the one holding it), and the request is published under a
 * sequence lock whose even value is its generation; each CPU records the
 * last generation it served, so a late or coalesced IPI is harmless.
 */
#include "smp/tlb.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/x86.h"
#include "kernel.h"
#include "mm/vmm.h"
#include "proc/proc.h"
#include "smp/percpu.h"
#include "sync/spinlock.h"
#include "time/time.h"

#define TLB_WAIT_MS	2000u	/* TCG can stall a vCPU for a while; a real answer takes microseconds */
#define MSR_GS_BASE	0xC0000101u
#define KERNEL_HALF	0xFFFF800000000000ull

static struct spinlock tlb_lock;
struct request {
	uint64_t pml4, va, npages;
	bool retire;		/* the tables are about to be freed: leave them */
};
/* The published request, a sequence lock: seq is odd while the initiator
 * writes it and even (the request's generation) once it is whole. A target
 * that was not asked may read it while the next initiator rewrites it. */
static struct request req;
static uint64_t req_seq;
static uint64_t served[MAX_CPUS];	/* last generation each CPU invalidated for */
static bool handler_on;
static struct tlb_stats stats;
volatile uint32_t tlb_pending;

static void
flush_local(const struct request *r)
{
	bool kernel = r->va >= KERNEL_HALF;

	if (!kernel && (read_cr3() & PTE_ADDR) != r->pml4)
		return;		/* not loaded here: the last CR3 load dropped it */
	if (r->retire) {
		/* Only a CPU that is not running the process gets here (an idle
		 * CPU that ran it last): the kernel tables serve it as well, and
		 * the load drops every user translation. */
		write_cr3(vmm_kernel_pml4());
		__atomic_add_fetch(&stats.retired, 1, __ATOMIC_RELAXED);
		return;
	}
	if (r->npages > TLB_FULL_FLUSH_PAGES) {
		if (kernel) {	/* global entries survive a CR3 load; a PGE toggle does not */
			uint64_t cr4 = read_cr4();
			write_cr4(cr4 & ~(1ull << 7));
			write_cr4(cr4);
		} else {
			write_cr3(read_cr3());
		}
		return;
	}
	for (uint64_t i = 0; i < r->npages; i++)
		invlpg(r->va + i * PAGE_SIZE);
}

/* Serve the published request on this CPU if not done yet, counting the
 * answer in *counter before it is published (the initiator reads the
 * counters as soon as it sees the answer). */
static void
serve(uint64_t *counter)
{
	uint32_t me = this_cpu()->id;
	struct request r;
	uint64_t g;

	if (me >= MAX_CPUS)
		return;
	for (;;) {
		g = __atomic_load_n(&req_seq, __ATOMIC_ACQUIRE);
		if (g & 1) {	/* being written, with interrupts off: briefly */
			pause();
			continue;
		}
		if (__atomic_load_n(&served[me], __ATOMIC_RELAXED) == g)
			return;
		r = *(volatile struct request *)&req;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&req_seq, __ATOMIC_RELAXED) == g)
			break;
	}
	flush_local(&r);
	if (r.npages > TLB_FULL_FLUSH_PAGES && !r.retire)
		__atomic_add_fetch(&stats.full_flushes, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&served[me], g, __ATOMIC_RELEASE);
}

void
tlb_serve_pending(void)
{
	/* GS is this CPU's struct cpu only after percpu_init; an AP spinning
	 * before that has nothing cached that a request could concern. */
	if (rdmsr(MSR_GS_BASE))
		serve(&stats.acks_spin);
}

static void
tlb_irq(struct trap_frame *tf, void *arg)
{
	serve(&stats.acks_irq);
	lapic_eoi();
}

/* May CPU c hold translations of pml4? (see the top of the file) */
static bool
may_have_loaded(const struct cpu *c, uint64_t pml4, uint64_t va)
{
	const struct proc *p = __atomic_load_n(&c->cur, __ATOMIC_ACQUIRE);

	return va >= KERNEL_HALF || !p || p->is_idle || p->pml4 == pml4;
}

static void
wait_for(uint32_t cpu, uint64_t g, uint64_t t0)
{
	for (uint64_t spin = 0; __atomic_load_n(&served[cpu], __ATOMIC_ACQUIRE) != g; spin++) {
		pause();
		if (spin % 1024)
			continue;
		uint64_t now = time_ns();
		if (now && now - t0 > TLB_WAIT_MS * 1000000ull)
			panic("TLB shootdown: cpu %u (apic id %u) did not invalidate %#lx (+%lu pages) "
			      "of address space %#lx within %u ms", cpu, cpus[cpu].apic_id, req.va,
			      req.npages, req.pml4, TLB_WAIT_MS);
	}
}

static void
shoot(uint64_t pml4, uint64_t va, uint64_t npages, bool retire)
{
	const struct request r = { pml4, va, npages, retire };

	flush_local(&r);
	if (ncpus < 2 || !apic_ready())
		return;

	uint64_t fl = spin_lock_irqsave(&tlb_lock);	/* full barrier after the PTE store */
	uint32_t me = this_cpu()->id, n = ncpus;
	uint32_t targets = 0;
	for (uint32_t i = 0; i < n; i++)
		if (i != me && may_have_loaded(&cpus[i], pml4, va))
			targets |= 1u << i;
	if (!targets) {
		stats.local_only++;
		spin_unlock_irqrestore(&tlb_lock, fl);
		return;
	}
	if (!handler_on && trap_register(VEC_TLB_SHOOTDOWN, tlb_irq, NULL) == 0)
		handler_on = true;
	if (!handler_on)
		panic("TLB shootdown: vector %#x is taken", VEC_TLB_SHOOTDOWN);

	uint64_t g = req_seq + 2;
	__atomic_store_n(&req_seq, g - 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);	/* odd is seen before the fields change */
	*(volatile struct request *)&req = r;
	__atomic_store_n(&req_seq, g, __ATOMIC_RELEASE);
	__atomic_store_n(&served[me], g, __ATOMIC_RELEASE);
	__atomic_store_n(&tlb_pending, 1, __ATOMIC_SEQ_CST);
	for (uint32_t i = 0; i < n; i++)
		if (targets & (1u << i)) {
			lapic_send_ipi(cpus[i].apic_id, VEC_TLB_SHOOTDOWN);
			stats.ipis++;
		}
	uint64_t t0 = time_ns();
	for (uint32_t i = 0; i < n; i++)
		if (targets & (1u << i))
			wait_for(i, g, t0);
	uint64_t waited = time_ns() - t0;
	if (waited > stats.max_wait_ns)
		stats.max_wait_ns = waited;
	stats.shootdowns++;
	__atomic_store_n(&tlb_pending, 0, __ATOMIC_RELEASE);
	spin_unlock_irqrestore(&tlb_lock, fl);
}

void
tlb_shootdown(uint64_t pml4, uint64_t va, uint64_t npages)
{
	shoot(pml4, va, npages, false);
}

void
tlb_retire_space(uint64_t pml4)
{
	shoot(pml4, 0, 0, true);
}

void
tlb_get_stats(struct tlb_stats *out)
{
	uint64_t fl = spin_lock_irqsave(&tlb_lock);
	*out = stats;
	spin_unlock_irqrestore(&tlb_lock, fl);
}
