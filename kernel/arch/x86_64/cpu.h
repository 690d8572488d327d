/* Descriptor tables, the trap frame and the exception path. */
#ifndef CAPOS_CPU_H
#define CAPOS_CPU_H

#include <stddef.h>
#include <stdint.h>

#define GDT_KCODE	0x08
#define GDT_KDATA	0x10
#define GDT_UDATA	0x18	/* | 3 in selectors; sysret loads SS = STAR[63:48] + 8 */
#define GDT_UCODE	0x20	/* | 3; sysret loads CS = STAR[63:48] + 16 */
#define GDT_TSS		0x28

#define IST_DOUBLE_FAULT 1
#define IST_NMI		2
#define IST_MCE		3

/* Layout pushed by isr.S; keep in sync. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap frame layout");

/* Fill, load and activate a GDT whose TSS descriptor points at tss (cpu.c). */
void gdt_install(uint64_t gdt[7], const void *tss, size_t tss_size);

/* Load the GDT, TSS and IDT on the boot CPU (before memory management). */
void cpu_early_init(void);
/* Give the double-fault, NMI and machine-check vectors their own guarded stacks. */
void cpu_init_ist(void);

/*
 * Interrupt vectors >= 32 go to the handler registered here (the interrupt
 * subsystem); returns E_BUSY when the vector already has one.
 */
typedef void (*irq_handler_t)(struct trap_frame *tf, void *arg);
int trap_register(uint8_t vector, irq_handler_t h, void *arg);
void trap_unregister(uint8_t vector);

/* A kernel test that expects an exception sets this; the handler then reports pass. */
extern volatile int ktest_expect_vector;

/* Set by the process subsystem: handles exceptions raised in ring 3. */
extern void (*user_fault_hook)(struct trap_frame *tf);

void trap_dump(const struct trap_frame *tf);

#endif
