/* Small types shared by the ledger, the validators and the audit log. */
#ifndef CAPOS_DDF_TYPES_H
#define CAPOS_DDF_TYPES_H

#include <stdint.h>

/* A PCI function by position (schema/types.capnp PciAddress). */
struct ddf_pci_addr {
	uint16_t segment;
	uint8_t bus;
	uint8_t device;     /* 0..31 */
	uint8_t function;   /* 0..7 */
};

#define DDF_PAGE_SIZE 4096u

#endif
