/*
 * panic(), backtraces and leaving QEMU.
 *
 * Backtraces follow the frame-pointer chain (the kernel is built with
 * -fno-omit-frame-pointer). Every frame pointer is checked to be aligned, in
 * the kernel half and mapped before it is read, so a corrupt stack ends the
 * trace instead of faulting inside the fault handler. Addresses are named
 * from the kernel.sym boot module (`nm -n` output) when it is present.
 */
#include "arch/x86_64/x86.h"
#include "boot/mb2.h"
#include "kernel.h"
#include "mm/vmm.h"

#define DEBUG_EXIT_PORT 0xF4
#define BT_MAX_FRAMES 16

static volatile int panicking;
static const char *sym_text;
static size_t sym_len;

void
symbols_init(const char *text, size_t len)
{
	sym_text = text;
	sym_len = len;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Find the symbol at or below addr: lines "ffffffff80201000 T name". */
static bool
symbol_for(uint64_t addr, const char **name, int *nlen, uint64_t *off)
{
	uint64_t best = 0;
	bool found = false;
	size_t i = 0;

	while (i < sym_len) {
		size_t line = i;
		uint64_t a = 0;
		int digits = 0;
		while (i < sym_len && hexval(sym_text[i]) >= 0 && digits < 16) {
			a = a << 4 | (uint64_t)hexval(sym_text[i++]);
			digits++;
		}
		size_t nstart = i + 3;	/* " T " */
		while (i < sym_len && sym_text[i] != '\n')
			i++;
		if (digits == 16 && nstart < i && a <= addr && a >= best) {
			best = a;
			*name = sym_text + nstart;
			*nlen = (int)(i - nstart);
			found = true;
		}
		i++;
		(void)line;
	}
	*off = addr - best;
	return found && *off < (1u << 20);
}

static void
print_frame(int n, uint64_t addr)
{
	const char *name = NULL;
	int nlen = 0;
	uint64_t off = 0;

	if (sym_text && symbol_for(addr, &name, &nlen, &off))
		kprintf("    #%d %016lx %.*s+0x%lx\n", n, addr, nlen, name, off);
	else
		kprintf("    #%d %016lx\n", n, addr);
}

static bool
readable(uint64_t va)
{
	return va >= PHYSMAP_BASE && va % 8 == 0 &&
	       (!vmm_ready() || (vmm_translate(vmm_kernel_pml4(), va) != ~0ull &&
				 vmm_translate(vmm_kernel_pml4(), va + 8) != ~0ull));
}

void
backtrace_print(uint64_t rip, uint64_t rbp)
{
	int n = 0;

	print_frame(n++, rip);
	while (n < BT_MAX_FRAMES && rbp && readable(rbp)) {
		uint64_t *fp = (uint64_t *)rbp;
		uint64_t ret = fp[1];
		if (ret < KERNEL_VMA)
			break;
		print_frame(n++, ret);
		if (fp[0] <= rbp)	/* stacks grow down: callers are higher */
			break;
		rbp = fp[0];
	}
}

void
backtrace_from(uint64_t rbp)
{
	uint64_t rip;

	__asm__ volatile("leaq 0(%%rip), %0" : "=r"(rip));
	backtrace_print(rip, rbp);
}

void
qemu_exit(int fail)
{
	cli();
	outb(DEBUG_EXIT_PORT, fail ? 0x11 : 0x10);
	for (;;)
		hlt();
}

void
panic(const char *f, ...)
{
	va_list ap;

	cli();
	if (__atomic_exchange_n(&panicking, 1, __ATOMIC_SEQ_CST)) {
		for (;;)
			hlt();
	}
	kprintf("capos: panic: ");
	va_start(ap, f);
	kvprintf(f, ap);
	va_end(ap);
	kprintf("\n  backtrace:\n");
	backtrace_from((uint64_t)__builtin_frame_address(0));
	kprintf("capos: halted\n");
	qemu_exit(1);
}
