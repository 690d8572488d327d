/*
 * Scheduler: one global run queue under the big kernel lock, a per-CPU idle
 * thread that halts, preemption of ring-3 code on the timer tick, and
 * blocking waits with an optional deadline in ticks (docs/scheduler.md).
 */
#ifndef CAPOS_SCHED_H
#define CAPOS_SCHED_H

#include <stdbool.h>
#include <stdint.h>
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

/*
 * Direct hand-off (sched.c, docs/scheduler.md): armed while a cap_enter
 * processes submissions. Inline because every cap_enter arms and flushes.
 */
extern struct proc *sched_handoff_to[MAX_CPUS];
extern bool sched_handoff_armed[MAX_CPUS];
void sched_handoff_queue(uint32_t cpu);	/* the pending hand-off of cpu goes to the run queue */

/* Wakes from now on may be handed the CPU. */
static inline void
sched_handoff_arm(void)
{
	sched_handoff_armed[this_cpu()->id] = true;
}

/* Disarm; a pending hand-off goes to the queue. */
/*
 * Make a blocked process runnable: the pending hand-off while armed (the
 * first one woken), else the run queue. Inline: each IPC wakes one.
 */
static inline void
sched_wake(struct proc *p)
{
	if (p->state != P_BLOCKED)
		return;
	uint32_t id = this_cpu()->id;
	if (sched_handoff_armed[id] && !sched_handoff_to[id]) {
		p->state = P_RUNNABLE;
		sched_handoff_to[id] = p;
		return;
	}
	sched_add(p);
}

static inline void
sched_handoff_flush(void)
{
	uint32_t id = this_cpu()->id;

	sched_handoff_armed[id] = false;
	if (sched_handoff_to[id])
		sched_handoff_queue(id);
}

#endif
