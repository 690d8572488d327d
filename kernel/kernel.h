/*
 * Kernel-wide declarations: logging, panic, the higher-half address layout
 * and the boot-time facts other subsystems read.
 */
#ifndef CAPOS_KERNEL_H
#define CAPOS_KERNEL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/err.h"
#include "base/mem.h"

#define KERNEL_VMA	0xFFFFFFFF80000000ull
#define PHYSMAP_BASE	0xFFFF800000000000ull	/* all RAM, mapped 1:1 at this offset */
#define KSTACK_REGION	0xFFFFFE0000000000ull	/* kernel stacks, each with a guard page */
#define MMIO_REGION	0xFFFFFD0000000000ull	/* uncached device windows */
#define PAGE_SIZE	4096ull

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)	(((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))

static inline void *
phys_to_virt(uint64_t pa)
{
	return (void *)(uintptr_t)(PHYSMAP_BASE + pa);
}

static inline uint64_t
virt_to_phys(const void *va)
{
	uint64_t v = (uint64_t)(uintptr_t)va;
	return v >= KERNEL_VMA ? v - KERNEL_VMA : v - PHYSMAP_BASE;
}

/* log.c: everything goes to COM1 and to the in-memory log ring. */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);
/* Copy up to len bytes of the log ring, oldest first, starting at *cursor. */
size_t klog_read(uint64_t *cursor, char *buf, size_t len);

/* panic.c */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);
/* Leave QEMU through isa-debug-exit (port 0xf4): code 0 pass (exit 33), 1 fail (35). */
__attribute__((noreturn)) void qemu_exit(int fail);
void backtrace_from(uint64_t rbp);
void backtrace_print(uint64_t rip, uint64_t rbp);
/* Name addresses in backtraces from `nm -n` text (the kernel.sym module). */
void symbols_init(const char *text, size_t len);

/* serial.c */
void serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, size_t n);

/* boot_fault.c: test instrument that damages a copy of the boot information. */
const void *boot_fault_apply(const void *mbi, const char *kind);

/* Set once at boot. */
struct mb2_info;
extern struct mb2_info boot_info;
extern bool boot_nx;
extern const char *kernel_test;	/* capos.test=NAME, or NULL */

#endif
