/*
 * Hardware bring-up after the heap: ACPI tables, the local APIC (and the
 * PICs masked), I/O APICs, the interrupt route table, PCI enumeration, and
 * the clocks with the periodic LAPIC tick. hw_init returns with interrupts
 * enabled on the boot CPU. Each step prints its own `capos:` marker only
 * once it has really happened; a step that fails says so and the rest go on
 * where they can.
 */
#ifndef CAPOS_HW_H
#define CAPOS_HW_H

#include <stdbool.h>

void hw_init(void);
bool hw_irq_ready(void);	/* LAPIC + I/O APIC + route table are up */

/* kernel/hw_ktest.c: hardware self-tests (capos.test=NAME); returns only when NAME is not one. */
void hw_ktest_run(const char *name);

/* kernel/diag/diag.c: the COM1 diagnostics console (capos.mode=diag); never returns. */
__attribute__((noreturn)) void diag_run(void);

#endif
