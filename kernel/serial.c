/*
 * 16550 UART on COM1 (0x3F8), 115200 8N1, polled transmit. Receive is left to
 * the diagnostics console. If no UART answers the loopback probe, output is
 * dropped rather than spinning forever on a line status that never clears.
 */
#include "arch/x86_64/x86.h"
#include "kernel.h"

#define COM1 0x3F8
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_THRE 0x20

static bool uart_ok;

void
serial_init(void)
{
	outb(COM1 + UART_IER, 0x00);
	outb(COM1 + UART_LCR, 0x80);	/* DLAB: divisor follows */
	outb(COM1 + 0, 0x01);		/* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + UART_LCR, 0x03);	/* 8N1 */
	outb(COM1 + UART_FCR, 0xC7);	/* FIFO on, cleared, 14-byte threshold */
	outb(COM1 + UART_MCR, 0x1E);	/* loopback for the probe */
	outb(COM1 + UART_THR, 0xAE);
	uart_ok = inb(COM1 + UART_THR) == 0xAE;
	outb(COM1 + UART_MCR, 0x0B);	/* DTR, RTS, OUT2; loopback off */
}

void
serial_putc(char c)
{
	if (!uart_ok)
		return;
	for (int spin = 0; !(inb(COM1 + UART_LSR) & LSR_THRE); spin++)
		if (spin > 1000000)
			return;
	outb(COM1 + UART_THR, (uint8_t)c);
}

void
serial_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
}
