/*
 * Scheduler: one global run queue under the big kernel lock, a per-CPU idle
 * thread that halts, preemption of ring-3 code on the timer tick, and
 * blocking waits with an optional deadline in ticks (docs/scheduler.md).
 */
#ifndef CAPOS_SCHED_H
#define CAPOS_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/x86.h"
#include "proc/proc.h"
#include "smp/percpu.h"
#include "sync/spinlock.h"

struct proc;
struct trap_frame;

#define SCHED_HZ 100u
#define NS_PER_TICK (1000000000ull / SCHED_HZ)

/* The big kernel lock: held by whichever CPU runs kernel code on behalf of
 * a process or the scheduler. Taken on every entry from ring 3. */
extern struct spinlock bkl;
extern volatile uint64_t sched_ticks;	/* global tick count */

void sched_init(void);			/* boot CPU: idle thread, timer */
void sched_ap_enter(void) __attribute__((noreturn));	/* an AP joins */
void sched_add(struct proc *p);		/* make runnable (bkl held) */
void sched_block(void);			/* current blocks until sched_wake (bkl held) */
void sched_remove(struct proc *p);	/* take off the run queue (and any hand-off) */
void schedule(void);			/* pick another runnable (bkl held) */
void sched_start(void) __attribute__((noreturn));	/* boot CPU enters the loop */
void sched_tail(void);			/* first run of a new process */
struct proc *sched_current(void);
void sched_kill_point(void);		/* after a ring-3 entry: end a process proc_kill marked */
void switch_to(uint64_t *save_rsp, uint64_t new_rsp);	/* switch.S */

/* A system call enters the kernel: the bkl, then a kill marked while it ran in ring 3. */
static inline struct proc *
sched_syscall_enter(void)
{
	spin_lock(&bkl);
	struct proc *p = this_cpu()->cur;
	if (p->kill_pending)
		sched_kill_point();	/* killed from another CPU while in ring 3 */
	return p;
}

/*
 * Direct hand-off (sched.c, docs/scheduler.md): armed while a cap_enter
 * processes submissions. Inline because every cap_enter arms and flushes.
 */
void sched_handoff_queue(void);	/* this CPU's pending hand-off goes to the run queue */

/* Wakes from now on may be handed the CPU. */
static inline void
sched_handoff_arm(void)
{
	percpu_set_handoff_armed(true);
}

/*
 * Make a blocked process runnable: the pending hand-off while armed (the
 * first one woken), else the run queue. Inline: each IPC wakes one.
 */
static inline void
sched_wake_blocked(struct proc *p)	/* p is P_BLOCKED */
{
	if (percpu_handoff_armed() && !percpu_handoff_to()) {
		p->state = P_RUNNABLE;
		percpu_set_handoff_to(p);
		return;
	}
	sched_add(p);
}

static inline void
sched_wake(struct proc *p)
{
	if (p->state == P_BLOCKED)
		sched_wake_blocked(p);
}

/* Disarm; a pending hand-off goes to the queue. */
static inline void
sched_handoff_flush(void)
{
	percpu_set_handoff_armed(false);
	if (percpu_handoff_to())
		sched_handoff_queue();
}

/*
 * What switch_proc (sched.c) does between two processes, neither idle nor
 * a zombie, but the kernel stack: the parked IPC switch (cap/ring.c) leaves
 * into next's ring 3 from its frame instead. Inline: every IPC switch.
 */
static inline void
sched_switch_procs(struct cpu *c, struct proc *prev, struct proc *next)
{
	c->cur = next;
	next->state = P_RUNNING;
	next->cpu = (int)c->id;
	percpu_set_kstack(c, next->kstack_top);
	if (read_cr3() != next->pml4)
		write_cr3(next->pml4);
	c->work++;
	fpu_save(&prev->fpu);	/* eager FPU/SSE switch (docs/scheduler.md) */
	fpu_restore(&next->fpu);
}

#endif
