/*
 * Bounded formatted output for freestanding code: the kernel log, the
 * userspace runtime and host tests share it. Supports %d %i %u %x %X %o %p
 * %s %c %% with flags '-', '0', '#', width, precision for %s, and the length
 * modifiers hh h l ll z. Output always stops at the buffer size; the return
 * value is the length the full output would have had (C99 snprintf rules).
 */
#ifndef CAPOS_FMT_FMT_H
#define CAPOS_FMT_FMT_H

#include <stdarg.h>
#include <stddef.h>

int fmt_vsnprintf(char *buf, size_t size, const char *f, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *f, ...)
	__attribute__((format(printf, 3, 4)));

#endif
