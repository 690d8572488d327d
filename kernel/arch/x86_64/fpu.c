/*
 * FPU/SSE state: eager save and restore on every process switch
 * (sched.c's switch_proc), with fxsave64/fxrstor64. Why eager and why
 * fxsave rather than xsave: docs/scheduler.md, "FPU and SSE state".
 */
#include "arch/x86_64/fpu.h"
#include <stdbool.h>
#include "arch/x86_64/x86.h"

#define CR0_MP		(1u << 1)	/* WAIT/FWAIT honour TS */
#define CR0_EM		(1u << 2)	/* set: x87 instructions trap (#NM) */
#define CR0_TS		(1u << 3)	/* set: the next FPU/SSE instruction traps (#NM) */
#define CR0_NE		(1u << 5)	/* x87 errors raise #MF, not the legacy IRQ 13 */
#define CR4_OSFXSR	(1u << 9)	/* SSE instructions and fxsave/fxrstor allowed */
#define CR4_OSXMMEXCPT	(1u << 10)	/* unmasked SSE exceptions raise #XM, not #UD */

static struct fpu_state fpu_clean;
static bool fpu_clean_ready;

void
fpu_cpu_init(void)
{
	write_cr0((read_cr0() & ~(uint64_t)(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	if (!fpu_clean_ready) {
		uint32_t mxcsr = FPU_MXCSR_DEFAULT;
		__asm__ volatile("fninit\n\tldmxcsr %1\n\tfxsave64 %0"
				 : "=m"(fpu_clean) : "m"(mxcsr) : "memory");
		fpu_clean_ready = true;
	}
}

void
fpu_init_state(struct fpu_state *s)
{
	*s = fpu_clean;
}
