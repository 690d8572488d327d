/*
 * Hardware bring-up order (see hw.h) and why:
 *   ACPI first    - the MADT, MCFG, FADT and HPET drive everything after it
 *   LAPIC         - masks the PICs, so no legacy interrupt arrives unrouted
 *   I/O APICs     - every pin masked until someone claims a route
 *   route table   - the device vector pool's trap handlers
 *   PCI           - needs the MCFG for ECAM
 *   time          - calibrates against HPET/PIT, starts the tick; then sti
 */
#include "acpi/kacpi.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/apic_irq.h"
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/x86.h"
#include "boot/cmdline.h"
#include "boot/mb2.h"
#include "hw.h"
#include "kernel.h"
#include "pci/pci.h"
#include "time/time.h"

static bool irq_ok;

bool
hw_irq_ready(void)
{
	return irq_ok;
}

void
hw_init(void)
{
	acpi_init();
	bool no_x2 = cmdline_flag(boot_info.cmdline, "capos.no_x2apic");
	if (apic_init(no_x2) == 0) {
		int n = ioapic_init();
		irq_init();
		irq_ok = n > 0;
		if (n > 0)
			kprintf("capos: ioapic-ok count=%d pins=%u isos=%u\n", n,
				ioapic_get(0)->pins, acpi.madt.nisos);
		else
			kprintf("capos: ioapic-fail reason=\"no usable I/O APIC in the MADT\"\n");
	}
	pci_init();
	if (apic_ready() && time_init() == 0)
		sti();
}
