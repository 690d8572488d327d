/*
 * System call setup and dispatch. Exactly two calls exist (abi/ring.h):
 * cap_enter(min_complete, timeout_ns) and exit(code). Everything else is an
 * opcode on the ring or a method on a cap.
 *
 * MSRs: STAR selects kernel CS/SS for syscall and user CS/SS for sysret
 * (cpu.h lays the GDT out for that), LSTAR is syscall_entry, SFMASK clears
 * IF, DF, TF and AC on entry. SMEP and SMAP are enabled when CPUID has
 * them; the kernel never dereferences user addresses (uaccess.c copies
 * through the physmap after checking the process's VMAs), so SMAP needs no
 * stac/clac windows.
 */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/x86.h"
#include "kernel.h"
#include "proc/proc.h"
#include "sched/sched.h"
#include "smp/percpu.h"

#define MSR_STAR	0xC0000081u
#define MSR_LSTAR	0xC0000082u
#define MSR_SFMASK	0xC0000084u
#define EFER_SCE	(1u << 0)

extern char syscall_entry[];
bool cpu_has_smep, cpu_has_smap;

void syscall_dispatch(struct trap_frame *tf);
void syscall_cpu_init(void);

void
syscall_cpu_init(void)
{
	uint32_t a, b, c, d;

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, (uint64_t)GDT_KCODE << 32 | (uint64_t)(GDT_UDATA - 8) << 48);
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_SFMASK, (1u << 9) | (1u << 10) | (1u << 8) | (1u << 18));
	cpuid(0, 0, &a, &b, &c, &d);
	if (a >= 7) {
		cpuid(7, 0, &a, &b, &c, &d);
		cpu_has_smep = b & (1u << 7);
		cpu_has_smap = b & (1u << 20);
	}
	uint64_t cr4 = read_cr4();
	if (cpu_has_smep)
		cr4 |= CR4_SMEP;
	if (cpu_has_smap)
		cr4 |= CR4_SMAP;
	write_cr4(cr4);
	fpu_cpu_init();	/* ring 3 may use x87 and SSE: switch_proc saves them */
}

/* Every system call but cap_enter, which syscall.S sends to cap_enter_syscall (cap/ring.c). */
void
syscall_dispatch(struct trap_frame *tf)
{
	struct proc *p = sched_syscall_enter();
	switch (tf->rax) {
	case SYS_EXIT:
		proc_exit(p, EXIT_CODE, (int32_t)tf->rdi);
	default:
		tf->rax = (uint64_t)(int64_t)E_NOTSUP;
		break;
	}
	spin_unlock(&bkl);
}
