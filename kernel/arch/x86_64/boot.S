/*
 * capOS entry: multiboot2 header, 32-bit protected-mode entry, switch to long
 * mode and jump to the higher-half kernel.
 *
 * GRUB 2 enters _start32 in 32-bit protected mode, paging off, with
 * EAX = 0x36d76289 and EBX = physical address of the boot information
 * (Multiboot2 spec 3.3). We map the first 4 GiB identity (so the boot
 * information and modules stay reachable until paging.c builds the real
 * tables) and the first 2 GiB again at KERNEL_VMA, with 2 MiB pages.
 *
 * A multiboot1 header (a.out kludge) is here too, only so that a loader
 * without multiboot2 (QEMU -kernel) reaches _start32: we then print a clear
 * message on COM1 and stop, rather than fault somewhere later.
 */
#define KERNEL_VMA	0xFFFFFFFF80000000
#define MB2_MAGIC	0xE85250D6
#define MB1_MAGIC	0x1BADB002
#define MB1_FLAGS	0x00010000
#define COM1		0x3F8
#define DEBUG_EXIT	0xF4

	.section .multiboot, "a"
	.align 8
mb2_header:
	.long MB2_MAGIC
	.long 0				/* architecture: i386 protected mode */
	.long mb2_header_end - mb2_header
	.long 0x100000000 - (MB2_MAGIC + (mb2_header_end - mb2_header))
	/* entry address tag: the physical entry point */
	.align 8
	.short 3, 0
	.long 12
	.long _start32
	/* end tag */
	.align 8
	.short 0, 0
	.long 8
mb2_header_end:

	.align 4
mb1_header:
	.long MB1_MAGIC
	.long MB1_FLAGS
	.long 0x100000000 - (MB1_MAGIC + MB1_FLAGS)
	.long mb1_header		/* header_addr */
	.long __load_start		/* load_addr */
	.long __load_end		/* load_end_addr */
	.long __bss_end_phys		/* bss_end_addr */
	.long _start32			/* entry_addr */

	.section .boot.text, "ax"
	.code32
	.global _start32
_start32:
	cli
	cld
	movl $boot32_stack_top, %esp
	movl %eax, %edi			/* magic */
	movl %ebx, %esi			/* boot information */
	cmpl $0x36d76289, %eax
	jne no_multiboot2

	/* Long mode present? (CPUID 0x80000001 EDX bit 29) */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	testl $(1 << 29), %edx
	jz no_long_mode
	xorl %ebx, %ebx
	testl $(1 << 20), %edx		/* NX */
	jz 1f
	movl $1, %ebx
	movl %ebx, boot_nx_supported
1:
	/* PD entries: four tables, 2048 x 2 MiB covering 0..4 GiB. */
	movl $boot_pd, %edx
	xorl %ecx, %ecx
2:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax			/* present, writable, 2 MiB */
	movl %eax, (%edx, %ecx, 8)
	movl %ecx, %eax
	shrl $11, %eax			/* high bits of the physical address */
	movl %eax, 4(%edx, %ecx, 8)
	incl %ecx
	cmpl $2048, %ecx
	jne 2b
	/* PDPT low: identity 0..4 GiB */
	movl $boot_pdpt_low, %edx
	xorl %ecx, %ecx
3:	movl %ecx, %eax
	shll $12, %eax
	addl $boot_pd, %eax
	orl $3, %eax
	movl %eax, (%edx, %ecx, 8)
	incl %ecx
	cmpl $4, %ecx
	jne 3b
	/* PDPT high: entries 510 and 511 map KERNEL_VMA -> 0..2 GiB */
	movl $boot_pd, %eax
	orl $3, %eax
	movl %eax, boot_pdpt_high + 510 * 8
	addl $4096, %eax
	movl %eax, boot_pdpt_high + 511 * 8
	/* PML4 */
	movl $boot_pdpt_low, %eax
	orl $3, %eax
	movl %eax, boot_pml4
	movl $boot_pdpt_high, %eax
	orl $3, %eax
	movl %eax, boot_pml4 + 511 * 8

	movl %cr4, %eax
	orl $(1 << 5), %eax		/* PAE */
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx		/* EFER */
	rdmsr
	orl $(1 << 8), %eax		/* LME */
	testl %ebx, %ebx
	jz 4f
	orl $(1 << 11), %eax		/* NXE */
4:	wrmsr
	movl %cr0, %eax
	orl $0x80010001, %eax		/* PG | WP | PE */
	movl %eax, %cr0
	lgdt boot_gdt_ptr
	ljmp $0x08, $start64

no_long_mode:
	movl $msg_no_lm, %ebx
	jmp fatal32
no_multiboot2:
	movl $msg_no_mb2, %ebx
	/* fall through */
/* Print the string at EBX and the value in EDI in hex on COM1, then stop. */
fatal32:
	movw $COM1 + 1, %dx
	xorb %al, %al
	outb %al, %dx			/* no interrupts */
	movw $COM1 + 3, %dx
	movb $0x80, %al
	outb %al, %dx			/* DLAB */
	movw $COM1, %dx
	movb $1, %al
	outb %al, %dx			/* divisor 1: 115200 */
	movw $COM1 + 1, %dx
	xorb %al, %al
	outb %al, %dx
	movw $COM1 + 3, %dx
	movb $3, %al
	outb %al, %dx			/* 8N1 */
1:	movb (%ebx), %al
	testb %al, %al
	jz 2f
	call putc32
	incl %ebx
	jmp 1b
2:	movl $8, %ecx
3:	roll $4, %edi
	movl %edi, %eax
	andl $0xf, %eax
	movb hexdigits(%eax), %al
	call putc32
	loop 3b
	movl $msg_tail, %ebx
4:	movb (%ebx), %al
	testb %al, %al
	jz 5f
	call putc32
	incl %ebx
	jmp 4b
5:	movw $DEBUG_EXIT, %dx
	movb $0x11, %al			/* isa-debug-exit: failure (QEMU exit 35) */
	outb %al, %dx
6:	hlt
	jmp 6b

putc32:
	pushl %eax
	movw $COM1 + 5, %dx
7:	inb %dx, %al
	testb $0x20, %al
	jz 7b
	popl %eax
	movw $COM1, %dx
	outb %al, %dx
	ret

	.code64
start64:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	movl %edi, %r12d		/* zero-extends: upper halves are undefined after the switch */
	movl %esi, %r13d
	/* Zero the kernel .bss (a multiboot1 loader might not have). */
	movabsq $__bss_start, %rdi
	movabsq $__bss_end, %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	rep stosb
	movabsq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	movq %r12, %rdi
	movq %r13, %rsi
	movabsq $kmain, %rax
	call *%rax
8:	cli
	hlt
	jmp 8b

	.section .boot.data, "aw"
	.align 8
boot_gdt:
	.quad 0
	.quad 0x00AF9A000000FFFF	/* 0x08: 64-bit code */
	.quad 0x00CF92000000FFFF	/* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
	.short boot_gdt_end - boot_gdt - 1
	.long boot_gdt
	.global boot_nx_supported
boot_nx_supported:
	.long 0
hexdigits:
	.ascii "0123456789abcdef"
msg_no_mb2:
	.asciz "\r\ncapos: fatal: not started by a multiboot2 loader; capOS must be booted by GRUB 2 (multiboot2). eax=0x"
msg_no_lm:
	.asciz "\r\ncapos: fatal: this CPU has no 64-bit long mode; capOS needs x86_64. eax=0x"
msg_tail:
	.asciz "\r\ncapos: halted\r\n"

	.section .boot.bss, "aw", @nobits
	.align 4096
	.global boot_pml4
boot_pml4:	.skip 4096
boot_pdpt_low:	.skip 4096
boot_pdpt_high:	.skip 4096
boot_pd:	.skip 4 * 4096
boot32_stack:	.skip 1024
boot32_stack_top:

	.section .bss
	.align 16
	.global boot_stack, boot_stack_top
boot_stack:	.skip 16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
