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
 *
 * A process that blocks in cap_enter gives its kernel stack up ("parks",
 * docs/scheduler.md): its whole user state is this frame, so it can be
 * resumed by returning from the frame (park_exit, the direct switch) or,
 * when the scheduler switches to it, through park_resume, which finishes
 * cap_enter on a fresh stack. So the frame holds rbx and r12-r15 too.
 */
#define USER_SS 0x1b	/* GDT_UDATA | 3 (cpu.h) */
#define USER_CS 0x23	/* GDT_UCODE | 3 */
/*
 * Leave through sysretq from the frame at RSP (bkl released; rbx and
 * r12-r15 already hold the frame's values), or through syscall_iret when
 * the frame is not sysret-safe: only an untouched, canonical user frame
 * takes sysretq. Expanded twice (the ordinary return, park_exit), so
 * neither pays a jump.
 */
.macro SYSCALL_EXIT
	movq 17 * 8(%rsp), %rcx		/* rip */
	movq $0x00007FFFFFFFF000, %rax
	cmpq %rax, %rcx
	jae syscall_iret
	cmpq $USER_CS, 18 * 8(%rsp)
	jne syscall_iret
	cmpq $USER_SS, 21 * 8(%rsp)
	jne syscall_iret
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
.endm

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
	 * The general registers but rcx/r11, which are the user's RIP/RFLAGS,
	 * already in the frame: their slots are filled only on the iretq path
	 * below. rbx and r12-r15 also survive the C call in their registers;
	 * they are stored for a process that parks.
	 */
	subq $15 * 8, %rsp
	movq %rax, 14 * 8(%rsp)
	movq %rbx, 13 * 8(%rsp)
	movq %rdx, 11 * 8(%rsp)
	movq %rsi, 10 * 8(%rsp)
	movq %rdi, 9 * 8(%rsp)
	movq %rbp, 8 * 8(%rsp)
	movq %r8, 7 * 8(%rsp)
	movq %r9, 6 * 8(%rsp)
	movq %r10, 5 * 8(%rsp)
	movq %r12, 3 * 8(%rsp)
	movq %r13, 2 * 8(%rsp)
	movq %r14, 1 * 8(%rsp)
	movq %r15, 0 * 8(%rsp)
	movq %rsp, %rdi
	xorl %ebp, %ebp
	testq %rax, %rax		/* SYS_CAP_ENTER: straight to the ring (cap/ring.c) */
	jz 3f
	call syscall_dispatch
	jmp 4f
3:	call cap_enter_syscall
	/* RSP = the frame, bkl released, rbx and r12-r15 hold the frame's values. */
4:	SYSCALL_EXIT

syscall_iret:	/* complete the frame for trap_return (no kernel stack bytes reach ring 3) */
	movq 19 * 8(%rsp), %rax
	movq %rax, 4 * 8(%rsp)		/* r11: the user's RFLAGS, as syscall left it */
	movq 17 * 8(%rsp), %rax
	movq %rax, 12 * 8(%rsp)		/* rcx: the user's RIP */
	jmp trap_return

	/*
	 * A parked process that a plain switch_to resumes: its park context
	 * (ring.c) makes switch_to return here with RSP = its frame. Finish
	 * cap_enter on this fresh stack (it releases the bkl), then leave.
	 */
	.global park_resume
park_resume:
	movq %rsp, %rdi
	call cap_enter_resume
	jmp 2f

	/*
	 * park_exit(tf): leave the kernel into the process whose frame is tf
	 * (the direct switch to a parked process, ring.c). Called on the
	 * previous process's kernel stack with the bkl held: the stack moves
	 * to tf first and the lock is released after, so no other CPU resumes
	 * the previous process on the stack we still stand on.
	 */
	.global park_exit
park_exit:
	movq %rdi, %rsp
	movl $0, bkl(%rip)		/* spin_unlock(&bkl): a release store on x86 */
2:	movq 13 * 8(%rsp), %rbx
	movq 3 * 8(%rsp), %r12
	movq 2 * 8(%rsp), %r13
	movq 1 * 8(%rsp), %r14
	movq 0 * 8(%rsp), %r15
	SYSCALL_EXIT

	.section .note.GNU-stack, "", @progbits
