/*
 * FPU/SSE register state of user processes (docs/scheduler.md, "FPU and
 * SSE state"). The kernel itself is built with -mno-mmx -mno-sse
 * -mno-sse2 -mno-80387 and never touches these registers, so a process's
 * state only has to be saved and restored when the CPU switches processes.
 */
#ifndef CAPOS_FPU_H
#define CAPOS_FPU_H

#include <stdint.h>

/* The fxsave64 image (Intel SDM Vol. 1, 10.5.1): 512 bytes, 16-byte
 * aligned by the architecture; 64 here, as xsave would need. */
struct fpu_state {
	uint8_t b[512];
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct fpu_state) == 512, "fxsave area");

#define FPU_FCW_DEFAULT		0x037Fu		/* FNINIT: all x87 exceptions masked, 64-bit precision */
#define FPU_MXCSR_DEFAULT	0x1F80u		/* all SSE exceptions masked, round to nearest */

/* Per CPU: enable x87 and SSE for ring 3 (CR0.MP/NE, CR4.OSFXSR/OSXMMEXCPT); the
 * first call also records the clean initial state. */
void fpu_cpu_init(void);
/* The state a new process starts with: FNINIT and the default MXCSR, registers zero. */
void fpu_init_state(struct fpu_state *s);

static inline void
fpu_save(struct fpu_state *s)
{
	__asm__ volatile("fxsave64 %0" : "=m"(*s) : : "memory");
}

static inline void
fpu_restore(const struct fpu_state *s)
{
	__asm__ volatile("fxrstor64 %0" : : "m"(*s) : "memory");
}

#endif
