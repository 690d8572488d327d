/*
 * Per-CPU data, reached through GS (docs/scheduler.md). In kernel mode
 * MSR_GS_BASE points at this CPU's struct cpu; user mode runs with the
 * user's GS base, and every entry from ring 3 (syscall.S, isr.S) does
 * swapgs first. The first fields are read by syscall.S at fixed offsets.
 */
#ifndef CAPOS_PERCPU_H
#define CAPOS_PERCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_CPUS 8

struct proc;

struct cpu {
	struct cpu *self;		/* %gs:0 */
	uint64_t kstack_top;		/* %gs:8: syscall entry stack (current process) */
	uint64_t user_rsp;		/* %gs:16: scratch during syscall entry */
	struct proc *cur;		/* %gs:24 */
	uint32_t id;			/* index in cpus[] */
	uint32_t apic_id;
	struct proc *idle;
	uint64_t ticks;
	uint64_t work;			/* user time slices this CPU ran (SMP evidence) */
	struct proc *handoff_to;	/* sched.c: the direct hand-off (docs/scheduler.md) */
	bool handoff_armed;
	uint64_t gdt[7];
	uint8_t tss[104] __attribute__((aligned(16)));
};

extern struct cpu cpus[MAX_CPUS];
extern uint32_t ncpus;

static inline struct cpu *
this_cpu(void)
{
	struct cpu *c;
	__asm__ volatile("movq %%gs:0, %0" : "=r"(c));
	return c;
}

/*
 * This CPU's hand-off fields through GS, one instruction each (the IPC
 * path touches them several times per system call; sched/sched.h).
 */
static inline struct proc *
percpu_handoff_to(void)
{
	struct proc *p;
	__asm__ volatile("movq %%gs:%c1, %0" : "=r"(p) : "i"(offsetof(struct cpu, handoff_to)) : "memory");
	return p;
}

static inline void
percpu_set_handoff_to(struct proc *p)
{
	__asm__ volatile("movq %0, %%gs:%c1" : : "r"(p), "i"(offsetof(struct cpu, handoff_to)) : "memory");
}

static inline bool
percpu_handoff_armed(void)
{
	uint8_t v;
	__asm__ volatile("movb %%gs:%c1, %0" : "=q"(v) : "i"(offsetof(struct cpu, handoff_armed)) : "memory");
	return v;
}

static inline void
percpu_set_handoff_armed(bool v)
{
	__asm__ volatile("movb %0, %%gs:%c1" : : "qi"((uint8_t)v), "i"(offsetof(struct cpu, handoff_armed))
			 : "memory");
}

/* Load this CPU's own GDT and TSS (IST stacks included) and point GS at it. */
void percpu_init(struct cpu *c, uint32_t id);
#define TSS_RSP0_OFFSET 4		/* struct tss64 (percpu.c): after rsvd0 */

/* Set the ring-0 stack used on interrupts and syscalls from ring 3 (inline: every switch). */
static inline void
percpu_set_kstack(struct cpu *c, uint64_t top)
{
	__builtin_memcpy(c->tss + TSS_RSP0_OFFSET, &top, sizeof top);
	c->kstack_top = top;
}
/* Start the application processors (smp/ap.c); returns how many came up. */
uint32_t smp_start_aps(void);

#endif
