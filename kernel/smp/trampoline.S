/*
 * Application-processor start-up code (SDM Vol. 3A 8.4.4, 9.9): copied by
 * ap.c to a page below 1 MiB whose number is the STARTUP IPI vector. The AP
 * starts in real mode at CS = page << 8, IP = 0. The code is position
 * independent: the 16-bit part addresses the page through CS/DS, later
 * parts through EBX/RBX = the page's physical address. ap.c fills the
 * parameter block at the end (offsets TP_*), including the far pointers.
 */
#define TP_GDTR		(tp_gdtr - tramp_start)
#define TP_FAR32	(tp_far32 - tramp_start)
#define TP_FAR64	(tp_far64 - tramp_start)
#define TP_CR3		(tp_cr3 - tramp_start)
#define TP_EFER		(tp_efer - tramp_start)
#define TP_STACK	(tp_stack - tramp_start)
#define TP_ENTRY	(tp_entry - tramp_start)

	.section .rodata
	.code16
	.global tramp_start, tramp_end
	.balign 4096
tramp_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	movzwl %ax, %ebx
	shll $4, %ebx			/* ebx = physical base of this page */
	lgdtl TP_GDTR
	movl %cr0, %eax
	orl $1, %eax			/* PE */
	movl %eax, %cr0
	ljmpl *TP_FAR32

	.code32
tramp_pm32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $(1 << 5), %eax		/* PAE */
	movl %eax, %cr4
	movl TP_CR3(%ebx), %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx		/* EFER: LME (+ NXE when the kernel uses NX) */
	movl TP_EFER(%ebx), %eax
	xorl %edx, %edx
	wrmsr
	movl %cr0, %eax
	orl $0x80010000, %eax		/* PG, WP */
	movl %eax, %cr0
	ljmpl *TP_FAR64(%ebx)

	.code64
tramp_lm64:
	movq TP_STACK(%rbx), %rsp
	xorl %ebp, %ebp
	movq TP_ENTRY(%rbx), %rax
	jmpq *%rax

	.balign 8
tp_gdt:
	.quad 0
	.quad 0x00CF9A000000FFFF		/* 0x08: code32 */
	.quad 0x00CF92000000FFFF		/* 0x10: data32 */
	.quad 0x00AF9A000000FFFF		/* 0x18: code64 */
tp_gdtr:
	.word 4 * 8 - 1
	.long 0				/* base: filled in */
	.balign 8
tp_far32:
	.long 0				/* offset: filled in */
	.word 0x08
	.balign 8
tp_far64:
	.long 0
	.word 0x18
	.balign 8
tp_cr3:		.quad 0
tp_efer:	.quad 0
tp_stack:	.quad 0
tp_entry:	.quad 0
tramp_end:

	.global tramp_off_pm32, tramp_off_lm64, tramp_off_gdt, tramp_off_gdtr, tramp_off_far32
	.global tramp_off_far64, tramp_off_cr3, tramp_off_efer, tramp_off_stack, tramp_off_entry
	.balign 4
tramp_off_pm32:	.long tramp_pm32 - tramp_start
tramp_off_lm64:	.long tramp_lm64 - tramp_start
tramp_off_gdt:	.long tp_gdt - tramp_start
tramp_off_gdtr:	.long tp_gdtr - tramp_start
tramp_off_far32: .long tp_far32 - tramp_start
tramp_off_far64: .long tp_far64 - tramp_start
tramp_off_cr3:	.long tp_cr3 - tramp_start
tramp_off_efer:	.long tp_efer - tramp_start
tramp_off_stack: .long tp_stack - tramp_start
tramp_off_entry: .long tp_entry - tramp_start

	.section .note.GNU-stack, "", @progbits
