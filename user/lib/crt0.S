/* Process entry: the kernel starts us with RDI = bootstrap page, RSI = ring
 * page (abi/ring.h), RSP 8 bytes below a 16-byte boundary as after a call. */
	.section .text.start, "ax"
	.global _start
_start:
	xorl %ebp, %ebp
	call rt_start
	ud2
	.section .note.GNU-stack, "", @progbits
