/*
 * Kernel command line: space-separated words, each `key=value` or `flag`.
 * Values cannot contain spaces. Lookups never write past the caller's buffer.
 */
#ifndef CAPOS_BOOT_CMDLINE_H
#define CAPOS_BOOT_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

/* 1 and the value copied when `key=` is present (last one wins), 0 when
 * absent, E_TOOBIG when the value does not fit in vallen (val untouched). */
int cmdline_get(const char *cmdline, const char *key, char *val, size_t vallen);
/* A bare word `flag`, or `flag=1|yes|on`. */
bool cmdline_flag(const char *cmdline, const char *flag);

#endif
