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
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
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
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	movq 4 * 8(%rsp), %r11		/* rflags */
	andq $~0x30000, %r11		/* no RF/VM */
	orq $0x200, %r11		/* IF on in user mode */
	movq 2 * 8(%rsp), %rcx		/* rip */
	movq 5 * 8(%rsp), %rsp		/* user rsp; nothing may fault from here */
	swapgs
	sysretq
1:	jmp trap_return

	.section .note.GNU-stack, "", @progbits
