/*
 * The syscall instruction's entry (LSTAR). On entry: RCX = user RIP,
 * R11 = user RFLAGS, RSP = user stack, IF cleared by SFMASK. We swapgs,
 * switch to the current process's kernel stack (%gs:8), and build a
 * struct trap_frame (cpu.h) exactly as isr.S does, with vector 0x100, so
 * fault and exit paths see one frame layout.
 *
 * Return: sysretq when the saved RIP is a canonical low-half address and
 * CS/SS are the user selectors; otherwise (or after the frame was changed)
 * through trap_return's iretq. The check matters: sysretq with a
 * non-canonical RCX raises #GP in ring 0 on Intel CPUs with the user's RSP
 * already loaded (the "sysret hazard").
 */
#define USER_SS 0x1b	/* GDT_UDATA | 3 (cpu.h) */
#define USER_CS 0x23	/* GDT_UCODE | 3 */
	.text
	.code64
	.global syscall_entry
syscall_entry:
	swapgs
	movq %rsp, %gs:16
	movq %gs:8, %rsp
	pushq $USER_SS
	pushq %gs:16
	pushq %r11
	pushq $USER_CS
	pushq %rcx
	pushq $0		/* error */
	pushq $0x100		/* vector: syscall */
	/*
	 * The general registers: only those C may clobber (and rbp, which we
	 * clear for backtraces) are stored; rbx and r12-r15 survive the C call
	 * in their registers, and rcx/r11 are the user's RIP/RFLAGS, already
	 * in the frame. Their slots are filled only on the iretq path below.
	 */
	subq $15 * 8, %rsp
	movq %rax, 14 * 8(%rsp)
	movq %rdx, 11 * 8(%rsp)
	movq %rsi, 10 * 8(%rsp)
	movq %rdi, 9 * 8(%rsp)
	movq %rbp, 8 * 8(%rsp)
	movq %r8, 7 * 8(%rsp)
	movq %r9, 6 * 8(%rsp)
	movq %r10, 5 * 8(%rsp)
	movq %rsp, %rdi
	xorl %ebp, %ebp
	call syscall_dispatch
	/* Fast path only for an untouched, canonical user frame. */
	movq 17 * 8(%rsp), %rcx		/* rip */
	movq $0x00007FFFFFFFF000, %rax
	cmpq %rax, %rcx
	jae 1f
	cmpq $USER_CS, 18 * 8(%rsp)
	jne 1f
	cmpq $USER_SS, 21 * 8(%rsp)
	jne 1f
	movq 14 * 8(%rsp), %rax
	movq 11 * 8(%rsp), %rdx
	movq 10 * 8(%rsp), %rsi
	movq 9 * 8(%rsp), %rdi
	movq 8 * 8(%rsp), %rbp
	movq 7 * 8(%rsp), %r8
	movq 6 * 8(%rsp), %r9
	movq 5 * 8(%rsp), %r10
	movq 19 * 8(%rsp), %r11		/* rflags */
	andq $~0x30000, %r11		/* no RF/VM */
	orq $0x200, %r11		/* IF on in user mode */
	movq 20 * 8(%rsp), %rsp		/* user rsp; nothing may fault from here */
	swapgs
	sysretq
1:	/* complete the frame for trap_return (no kernel stack bytes reach ring 3) */
	movq %r15, 0 * 8(%rsp)
	movq %r14, 1 * 8(%rsp)
	movq %r13, 2 * 8(%rsp)
	movq %r12, 3 * 8(%rsp)
	movq 19 * 8(%rsp), %rax
	movq %rax, 4 * 8(%rsp)		/* r11: the user's RFLAGS, as syscall left it */
	movq 17 * 8(%rsp), %rax
	movq %rax, 12 * 8(%rsp)		/* rcx: the user's RIP */
	movq %rbx, 13 * 8(%rsp)
	jmp trap_return

	.section .note.GNU-stack, "", @progbits
