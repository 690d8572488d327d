/*
 * The floor for `make bench-boot`: a bare multiboot2 kernel that prints one
 * line on COM1 and halts. Booting it measures firmware + GRUB alone; capOS's
 * own boot time is the difference.
 */
	.section .text
	.code32
	.align 8
mb2_header:
	.long 0xE85250D6
	.long 0
	.long mb2_end - mb2_header
	.long 0x100000000 - (0xE85250D6 + (mb2_end - mb2_header))
	.align 8
	.short 0, 0
	.long 8
mb2_end:

	.global _start
_start:
	movl $msg, %esi
1:	movb (%esi), %al
	testb %al, %al
	jz 3f
	movw $0x3FD, %dx
2:	inb %dx, %al
	testb $0x20, %al
	jz 2b
	movb (%esi), %al
	movw $0x3F8, %dx
	outb %al, %dx
	incl %esi
	jmp 1b
3:	cli
	hlt
	jmp 3b
msg:
	.asciz "bare: boot-ok\r\n"

	.section .note.GNU-stack, "", @progbits
