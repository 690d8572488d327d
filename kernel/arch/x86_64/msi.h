/* MSI and MSI-X programming (PCI Local Bus 3.0 6.8; Intel SDM Vol. 3A 11.11 for the message format). */
#ifndef CAPOS_MSI_H
#define CAPOS_MSI_H

#include <stdbool.h>
#include <stdint.h>

struct pci_func;

/* Address/data for a fixed, edge-triggered interrupt on vector at APIC id dest. */
uint64_t msi_address(uint32_t dest);
uint32_t msi_data(uint8_t vector);
/* Program the MSI capability (one message) and enable it; disables INTx. */
int msi_program(struct pci_func *f, uint8_t vector, uint32_t dest);
int msi_disable(struct pci_func *f);
/* Mask/unmask the one MSI message (per-vector mask bit, else MSI Enable). */
int msi_mask(struct pci_func *f, bool masked);
/* Program MSI-X table entry index, unmask it, and enable MSI-X on the function. */
int msix_program(struct pci_func *f, uint16_t index, uint8_t vector, uint32_t dest);
/* Clear MSI-X Enable (releasing entries only masks them). */
int msix_disable(struct pci_func *f);
/* Mask entry index (the table entry keeps its address/data until reprogrammed). */
int msix_mask(struct pci_func *f, uint16_t index);

#endif
