/*
 * Application processors. Not brought up in this build: INIT-SIPI-SIPI
 * needs the LAPIC (kernel/arch/x86_64/apic*, another subsystem), and the
 * scheduler would need a per-CPU tick to preempt on the APs. Returns 0 so
 * the boot marker says honestly how many CPUs schedule work.
 */
#include "smp/percpu.h"

uint32_t
smp_start_aps(void)
{
	return 0;
}
