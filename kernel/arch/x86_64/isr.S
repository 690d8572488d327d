/*
 * Interrupt and exception entry stubs. Every vector gets a stub that pushes
 * a zero error code when the CPU does not push one, then the vector number,
 * and jumps to a common path that saves all general registers into a
 * struct trap_frame (cpu.h) and calls trap_dispatch(frame).
 */
	.text
	.code64

/* Vectors whose exceptions push an error code (SDM Vol. 3A, Table 6-1). */
#define HAS_ERR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

.macro stub v
	.align 16
isr_stub_\v:
	.if !HAS_ERR(\v)
	pushq $0
	.endif
	pushq $\v
	jmp trap_common
.endm

	.altmacro
.macro stubs from, to
	stub \from
	.if \to-\from
	stubs %(\from+1), \to
	.endif
.endm
	stubs 0, 63
	stubs 64, 127
	stubs 128, 191
	stubs 192, 255

trap_common:
	cld
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
	/* Came from user mode? Then switch to the kernel GS base. */
	testb $3, 18 * 8(%rsp)
	jz 1f
	swapgs
1:	movq %rsp, %rdi
	/* Make a frame-pointer link through the interrupted RIP for backtraces. */
	pushq 17 * 8(%rsp)
	pushq %rbp
	movq %rsp, %rbp
	call trap_dispatch
	addq $16, %rsp
	.global trap_return
trap_return:
	testb $3, 18 * 8(%rsp)
	jz 2f
	swapgs
2:	popq %r15
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
	addq $16, %rsp		/* vector, error code */
	iretq

	.section .rodata
	.align 8
	.global isr_stub_table
isr_stub_table:
.macro entry v
	.quad isr_stub_\v
.endm
.macro entries from, to
	entry \from
	.if \to-\from
	entries %(\from+1), \to
	.endif
.endm
	entries 0, 63
	entries 64, 127
	entries 128, 191
	entries 192, 255

	.section .note.GNU-stack, "", @progbits
