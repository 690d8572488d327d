/* Built-in kernel tests, selected with capos.test=NAME (see docs/testing.md). */
#ifndef CAPOS_KTEST_H
#define CAPOS_KTEST_H

/* Runs the named test and leaves QEMU with its verdict; never returns. */
__attribute__((noreturn)) void ktest_run(const char *name);

#endif
