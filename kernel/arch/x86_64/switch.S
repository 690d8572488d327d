/*
 * Kernel context switch. switch_to(&old->ctx_rsp, new_rsp) saves the
 * callee-saved registers on the current kernel stack, stores RSP, loads the
 * other thread's RSP and returns on its stack. A new process's stack is
 * prepared by proc.c so that the first `ret` lands in proc_trampoline with a
 * struct trap_frame above it.
 */
	.text
	.code64
	.global switch_to
switch_to:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

	/* First run of a process: drop the big lock, then leave through iretq. */
	.global proc_trampoline
proc_trampoline:
	call sched_tail
	jmp trap_return

	.section .note.GNU-stack, "", @progbits
