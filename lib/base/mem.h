/*
 * Memory primitives for freestanding code. The kernel and the userspace
 * runtime each provide these four symbols; host builds get them from libc.
 * Libraries under lib/ include this header instead of <string.h>.
 */
#ifndef CAPOS_BASE_MEM_H
#define CAPOS_BASE_MEM_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

#endif
