/* I/O APIC (82093AA datasheet; ACPI MADT for the list and the ISA overrides). */
#ifndef CAPOS_IOAPIC_H
#define CAPOS_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_MAX 8

struct ioapic_info {
	uint8_t id;
	uint32_t gsi_base;
	uint32_t pins;
	uint64_t phys;
};

/* Map every I/O APIC of the MADT and mask all pins. Returns how many work. */
int ioapic_init(void);
uint32_t ioapic_count(void);
const struct ioapic_info *ioapic_get(uint32_t i);
/* The GSI of an ISA IRQ, and its polarity/trigger, after the MADT overrides. */
uint32_t ioapic_isa_gsi(uint8_t irq, bool *active_low, bool *level);
/* The GSI of a PCI function's INTx line (config 0x3C), level/active low unless an override says. */
uint32_t ioapic_pci_gsi(uint8_t line, bool *active_low, bool *level);
/* Route gsi to vector on the CPU with APIC id dest (unmasked). E_NOENT if no I/O APIC has it. */
int ioapic_route(uint32_t gsi, uint8_t vector, uint32_t dest, bool active_low, bool level);
int ioapic_mask(uint32_t gsi, bool masked);
uint64_t ioapic_read_redir(uint32_t gsi);

#endif
