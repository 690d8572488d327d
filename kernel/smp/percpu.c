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

void
percpu_init(struct cpu *c, uint32_t id)
{
	struct tss64 *t = (struct tss64 *)c->tss;
	uint64_t base = (uint64_t)t, limit = sizeof *t - 1;

	c->self = c;
	c->id = id;
	memset(t, 0, sizeof *t);
	t->iomap_base = sizeof *t;	/* no I/O bitmap: no port access from ring 3 */
	t->ist[IST_DOUBLE_FAULT - 1] = kstack_alloc();
	t->ist[IST_NMI - 1] = kstack_alloc();
	t->ist[IST_MCE - 1] = kstack_alloc();
	c->gdt[0] = 0;
	c->gdt[1] = 0x00AF9A000000FFFFull;	/* kernel code */
	c->gdt[2] = 0x00CF92000000FFFFull;	/* kernel data */
	c->gdt[3] = 0x00CFF2000000FFFFull;	/* user data */
	c->gdt[4] = 0x00AFFA000000FFFFull;	/* user code */
	c->gdt[5] = (limit & 0xFFFF) | (base & 0xFFFFFF) << 16 | 0x89ull << 40 |
		    ((limit >> 16) & 0xF) << 48 | ((base >> 24) & 0xFF) << 56;
	c->gdt[6] = base >> 32;
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) g = { sizeof c->gdt - 1, (uint64_t)c->gdt };
	/* Reload CS and the data segments: an AP arrives with the trampoline's
	 * selectors, which mean something else in this GDT. */
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w2, %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\t"
			 : : "m"(g), "i"(GDT_KCODE), "i"(GDT_KDATA) : "rax", "memory");
	__asm__ volatile("ltr %w0" : : "r"(GDT_TSS));
	wrmsr(MSR_GS_BASE, (uint64_t)c);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}

void
percpu_set_kstack(struct cpu *c, uint64_t top)
{
	((struct tss64 *)c->tss)->rsp[0] = top;
	c->kstack_top = top;
}
