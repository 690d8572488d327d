/*
 * Per-CPU descriptor tables. Every CPU, the boot CPU included, gets its own
 * GDT copy with its own TSS (RSP0 for ring-3 entry and the IST stacks), so
 * the boot-time tables in arch/x86_64/cpu.c are only used until
 * percpu_init runs. Selector values are those of cpu.h: the syscall/sysret
 * layout (STAR) depends on them.
 */
#include "smp/percpu.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/x86.h"
#include "kernel.h"
#include "mm/vmm.h"

#define MSR_GS_BASE		0xC0000101u
#define MSR_KERNEL_GS_BASE	0xC0000102u

struct cpu cpus[MAX_CPUS];
uint32_t ncpus = 1;

struct tss64 {
	uint32_t rsvd0;
	uint64_t rsp[3];
	uint64_t rsvd1;
	uint64_t ist[7];
	uint64_t rsvd2;
	uint16_t rsvd3;
	uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss64) == 104, "TSS layout (SDM 3A 8.7)");
_Static_assert(__builtin_offsetof(struct tss64, rsp) == TSS_RSP0_OFFSET, "percpu_set_kstack");

void
percpu_init(struct cpu *c, uint32_t id)
{
	struct tss64 *t = (struct tss64 *)c->tss;

	c->self = c;
	c->id = id;
	memset(t, 0, sizeof *t);
	t->iomap_base = sizeof *t;	/* no I/O bitmap: no port access from ring 3 */
	t->ist[IST_DOUBLE_FAULT - 1] = kstack_alloc();
	t->ist[IST_NMI - 1] = kstack_alloc();
	t->ist[IST_MCE - 1] = kstack_alloc();
	gdt_install(c->gdt, t, sizeof *t);
	wrmsr(MSR_GS_BASE, (uint64_t)c);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}

