/*
 * Scheduler: one global run queue under the big kernel lock, a per-CPU idle
 * thread that halts, preemption of ring-3 code on the timer tick, and
 * blocking waits with an optional deadline in ticks (docs/scheduler.md).
 */
#ifndef CAPOS_SCHED_H
#define CAPOS_SCHED_H

#include <stdint.h>
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
void sched_wake(struct proc *p);
void sched_remove(struct proc *p);	/* take off the run queue (and any hand-off) */
void sched_handoff_arm(void);		/* wakes from now on may be handed the CPU */
void sched_handoff_flush(void);		/* disarm; a pending hand-off goes to the queue */
void schedule(void);			/* pick another runnable (bkl held) */
void sched_start(void) __attribute__((noreturn));	/* boot CPU enters the loop */
void sched_tail(void);			/* first run of a new process */
struct proc *sched_current(void);
void sched_kill_point(void);		/* after a ring-3 entry: end a process proc_kill marked */

#endif
