/*
 * PCI and PCIe configuration space, enumeration and the kernel's registry of
 * functions (PCI Local Bus 3.0 ch. 6; PCIe Base 5.0 7.2.2 for ECAM).
 *
 * Config access uses ECAM (memory-mapped, from the ACPI MCFG) for every bus
 * an MCFG segment covers and the legacy 0xCF8/0xCFC ports otherwise; ECAM is
 * cross-checked against the ports on 00:00.0 at init and dropped if they
 * disagree. Enumeration scans every bus number 0..255 (bridges' secondary
 * buses included, as numbered by the firmware) and records each function's
 * BARs (decoded and sized), and MSI, MSI-X, PCIe and vendor-specific
 * capabilities.
 */
#ifndef CAPOS_PCI_H
#define CAPOS_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_MAX_FUNCS	256
#define PCI_MAX_VCAPS	8

#define PCI_CAP_MSI	0x05
#define PCI_CAP_VENDOR	0x09
#define PCI_CAP_PCIE	0x10
#define PCI_CAP_MSIX	0x11

#define PCI_CMD_IO	(1u << 0)
#define PCI_CMD_MEM	(1u << 1)
#define PCI_CMD_MASTER	(1u << 2)
#define PCI_CMD_INTX_OFF (1u << 10)

enum pci_bar_type { PCI_BAR_NONE = 0, PCI_BAR_MEM32, PCI_BAR_MEM64, PCI_BAR_IO };

struct pci_bar {
	uint64_t base;
	uint64_t size;
	uint8_t type;
	bool prefetch;
};

struct pci_func {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint8_t class, subclass, progif, rev;
	uint8_t header;		/* header type without the multi-function bit */
	uint8_t irq_pin, irq_line;
	uint8_t secondary, subordinate;	/* bridges */
	struct pci_bar bar[6];
	uint8_t cap_msi, cap_msix, cap_pcie;	/* config offsets, 0 when absent */
	uint8_t nvcaps;
	uint8_t vcap[PCI_MAX_VCAPS];		/* vendor-specific capability offsets */
	uint16_t msix_size;			/* table entries */
	uint8_t msix_bir, pba_bir;
	uint32_t msix_off, pba_off;
	uint8_t ncaps;
	bool caps_truncated;			/* capability list looped or ran off */
	volatile uint32_t *msix_table;		/* mapped on first MSI-X use */
	volatile uint8_t *bar_kva[6];		/* pci_map_bar's mapping, once per BAR */
};

struct pci_state {
	bool ecam;		/* ECAM in use for the MCFG's buses */
	uint8_t ecam_bus_start, ecam_bus_end;
	uint32_t nfuncs, dropped, buses_scanned, bridges;
};
extern struct pci_state pci;
extern struct pci_func pci_funcs[PCI_MAX_FUNCS];

void pci_init(void);
uint32_t pci_cfg_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off);
void pci_cfg_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t v);
uint16_t pci_read16(const struct pci_func *f, uint16_t off);
uint32_t pci_read32(const struct pci_func *f, uint16_t off);
uint8_t pci_read8(const struct pci_func *f, uint16_t off);
void pci_write16(const struct pci_func *f, uint16_t off, uint16_t v);
void pci_write32(const struct pci_func *f, uint16_t off, uint32_t v);

struct pci_func *pci_find(uint16_t vendor, uint16_t device, uint32_t nth);
struct pci_func *pci_find_bdf(uint8_t bus, uint8_t dev, uint8_t fn);
/*
 * The kernel's address of base+off in a memory BAR, mapped uncached; NULL
 * when the BAR is not memory, the range leaves it, or it lies past the first
 * PCI_BAR_KMAP_MAX bytes. The BAR (up to that bound) is mapped once, on
 * first use, and the mapping kept: callers on a request path (doorbells)
 * map nothing. It used to map a fresh window per call and never unmap it.
 */
#define PCI_BAR_KMAP_MAX (64ull << 20)
volatile void *pci_map_bar(struct pci_func *f, int bar, uint64_t off, uint64_t len);
const char *pci_class_name(uint8_t class, uint8_t subclass);

#endif
