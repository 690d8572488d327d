/*
 * Round-robin scheduling of single-threaded processes.
 *
 * Kernel code runs with interrupts off and holds the big kernel lock (bkl),
 * so a switch always happens at a known point: schedule() with the bkl
 * held, which switch_to() hands to the next thread; that thread returns from
 * its own schedule() call (or starts in proc_trampoline -> sched_tail) and
 * releases it when it leaves the kernel. Each CPU has an idle thread that
 * releases the lock, enables interrupts and halts until the next interrupt.
 *
 * The tick: timer_set_tick_handler() from the interrupt subsystem when it is
 * linked in (weak reference), else our own PIT + 8259 shim on IRQ0 (the
 * boot CPU only). A tick that interrupts ring 3 preempts the process.
 */
#include "sched/sched.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/x86.h"
#include "kernel.h"
#include "mm/heap.h"
#include "mm/vmm.h"
#include "proc/proc.h"
#include "smp/percpu.h"

struct spinlock bkl;
volatile uint64_t sched_ticks;
static struct proc *rq_head, *rq_tail;

/*
 * Direct hand-off (the IPC fast path, docs/scheduler.md): while a cap_enter
 * processes its submissions the CPU is "armed"; the first process that its
 * completions wake is then kept here, RUNNABLE but off the run queue, and
 * if the caller goes on to block it switches straight to that process
 * (switch_proc, no queue, no IPI). If the caller does not block, the
 * process goes to the run queue as usual (sched_handoff_flush). The state
 * is per CPU, in struct cpu (handoff_to, handoff_armed).
 */

void timer_set_tick_handler(void (*fn)(struct trap_frame *)) __attribute__((weak));
void lapic_send_ipi(uint32_t dest, uint8_t vector) __attribute__((weak));
void lapic_eoi(void) __attribute__((weak));

/*
 * Called with the bkl just after an entry from ring 3 (system call, tick,
 * reschedule IPI): a process that proc_kill marked while it ran here ends
 * now, holding nothing. Every way a running process leaves its CPU passes
 * one of these entries first, and the IPI reaches it in ring 3 otherwise.
 */
void
sched_kill_point(void)
{
	struct proc *p = this_cpu()->cur;
	if (p->kill_pending)
		proc_exit(p, EXIT_KILLED, 0);
}

/* Reschedule IPI: wakes an idle CPU, and makes a CPU running a process
 * that proc_kill marked enter the kernel (arch/x86_64/apic.h). */
#define SCHED_IPI_VECTOR VEC_RESCHED

struct proc *
sched_current(void)
{
	return this_cpu()->cur;
}

void
sched_add(struct proc *p)
{
	p->state = P_RUNNABLE;
	p->run_next = NULL;
	if (rq_tail)
		rq_tail->run_next = p;
	else
		rq_head = p;
	rq_tail = p;
	/* Wake one idle CPU (APs have no tick of their own). */
	struct cpu *me = this_cpu();
	for (uint32_t i = 0; i < ncpus && lapic_send_ipi; i++) {
		struct cpu *c = &cpus[i];
		if (c != me && c->idle && c->cur == c->idle) {
			lapic_send_ipi(c->apic_id, SCHED_IPI_VECTOR);
			break;
		}
	}
}

static struct proc *
rq_pop(void)
{
	struct proc *p = rq_head;
	if (p) {
		rq_head = p->run_next;
		if (!rq_head)
			rq_tail = NULL;
		p->run_next = NULL;
	}
	return p;
}

void
sched_remove(struct proc *p)
{
	for (uint32_t i = 0; i < ncpus; i++)
		if (cpus[i].handoff_to == p)
			cpus[i].handoff_to = NULL;
	struct proc **pp = &rq_head, *prev = NULL;
	while (*pp && *pp != p) {
		prev = *pp;
		pp = &(*pp)->run_next;
	}
	if (!*pp)
		return;
	*pp = p->run_next;
	if (rq_tail == p)
		rq_tail = prev;
	p->run_next = NULL;
}

void
sched_handoff_queue(void)
{
	struct proc *h = percpu_handoff_to();

	percpu_set_handoff_to(NULL);
	sched_add(h);
}

static void
switch_proc(struct proc *prev, struct proc *next)
{
	struct cpu *c = this_cpu();

	c->cur = next;
	next->state = P_RUNNING;
	next->cpu = (int)c->id;
	if (!next->is_idle) {
		percpu_set_kstack(c, next->kstack_top);
		if (read_cr3() != next->pml4)
			write_cr3(next->pml4);
		c->work++;
	}
	if (prev != next) {
		/* Eager FPU/SSE switch (docs/scheduler.md); a zombie's state is dead. */
		if (!prev->is_idle && prev->state != P_ZOMBIE)
			fpu_save(&prev->fpu);
		if (!next->is_idle)
			fpu_restore(&next->fpu);
		switch_to(&prev->ctx_rsp, next->ctx_rsp);
	}
}

void
schedule(void)
{
	struct cpu *c = this_cpu();
	struct proc *prev = c->cur;

	/* A cap_enter that leaves without blocking or returning (its process
	 * ended inside it) must not strand the process it woke. */
	if (percpu_handoff_armed() || percpu_handoff_to())
		sched_handoff_flush();
	struct proc *next = rq_pop();

	if (proc_reap_list)
		proc_reap();	/* dead processes' kernel stacks (proc.c) */

	if (prev->state == P_RUNNING && !prev->is_idle) {
		if (!next) {
			prev->state = P_RUNNING;
			return;		/* nothing else to run: keep going */
		}
		sched_add(prev);
	}
	if (!next)
		next = c->idle;
	switch_proc(prev, next);
}

void
sched_block(void)
{
	struct cpu *c = this_cpu();
	struct proc *p = c->cur, *h = percpu_handoff_to();

	p->state = P_BLOCKED;
	percpu_set_handoff_armed(false);
	if (h) {	/* hand the CPU to the process we just woke */
		percpu_set_handoff_to(NULL);
		switch_proc(p, h);
		return;
	}
	schedule();
}

void
sched_tail(void)
{
	spin_unlock(&bkl);
}

/* Idle: halt with the lock released until there is something to run. */
static void __attribute__((noreturn))
idle_loop(void)
{
	for (;;) {
		if (rq_head) {
			schedule();
			continue;
		}
		spin_unlock(&bkl);
		__asm__ volatile("sti; hlt; cli" ::: "memory");
		spin_lock(&bkl);
	}
}

static void
tick(struct trap_frame *tf)
{
	struct cpu *c = this_cpu();

	c->ticks++;
	if (c->id == 0)
		__atomic_add_fetch(&sched_ticks, 1, __ATOMIC_RELAXED);
	/* Interrupts are only ever on in ring 3 and in the idle loop's hlt,
	 * neither of which holds the lock. */
	spin_lock(&bkl);
	if (c->id == 0)
		kobjs_tick(sched_ticks);
	if (tf->cs & 3) {
		sched_kill_point();
		schedule();	/* preempt ring 3; the idle loop re-checks the queue itself */
	}
	spin_unlock(&bkl);
}

/* ---- PIT + 8259 shim (until the LAPIC timer is linked in) ---- */

static void
pit_irq(struct trap_frame *tf, void *arg)
{
	outb(0x20, 0x20);	/* EOI to the master 8259 */
	tick(tf);
}

static void
spurious_irq(struct trap_frame *tf, void *arg)
{
}

static void
pit_start(void)
{
	/* Remap the 8259s to vectors 32..47 and mask everything but IRQ0. */
	outb(0x20, 0x11); outb(0xA0, 0x11);
	outb(0x21, 32); outb(0xA1, 40);
	outb(0x21, 4); outb(0xA1, 2);
	outb(0x21, 1); outb(0xA1, 1);
	outb(0x21, 0xFE); outb(0xA1, 0xFF);
	uint16_t div = (uint16_t)(1193182u / SCHED_HZ);
	outb(0x43, 0x34);	/* channel 0, lo/hi, rate generator */
	outb(0x40, div & 0xFF);
	outb(0x40, div >> 8);
	trap_register(39, spurious_irq, NULL);
	trap_register(32, pit_irq, NULL);
}

static void
resched_ipi(struct trap_frame *tf, void *arg)
{
	if (lapic_eoi)
		lapic_eoi();
	if (!(tf->cs & 3))
		return;		/* the idle loop looks at the queue itself */
	spin_lock(&bkl);
	sched_kill_point();
	schedule();
	spin_unlock(&bkl);
}

static struct proc *
idle_create(struct cpu *c)
{
	struct proc *p = kmalloc(sizeof *p);
	if (!p)
		panic("no memory for the idle thread");
	p->is_idle = true;
	p->state = P_RUNNING;
	p->pid = 0;
	memcpy(p->name, "idle", 5);
	p->kstack_top = 0;	/* runs on the CPU's boot stack */
	c->idle = p;
	c->cur = p;
	return p;
}

void
sched_init(void)
{
	idle_create(&cpus[0]);
	trap_register(SCHED_IPI_VECTOR, resched_ipi, NULL);
	if (timer_set_tick_handler)
		timer_set_tick_handler(tick);
	else
		pit_start();
}

void
sched_start(void)
{
	spin_lock(&bkl);
	idle_loop();
}

void
sched_ap_enter(void)
{
	idle_create(this_cpu());
	spin_lock(&bkl);
	idle_loop();
}
