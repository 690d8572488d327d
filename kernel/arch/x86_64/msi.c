/*
 * MSI / MSI-X. Messages use physical destination mode to one CPU by APIC id;
 * ids above 255 would need interrupt remapping, which capOS does not use, so
 * they are refused. The MSI-X table is mapped uncached from its BAR on first
 * use; an entry is masked while it is rewritten so the device never sees a
 * half-written address/data pair (PCI 3.0 6.8.2.9).
 */
#include "arch/x86_64/msi.h"
#include "kernel.h"
#include "pci/pci.h"

#define MSI_CTRL_64BIT		(1u << 7)
#define MSI_CTRL_PVM		(1u << 8)	/* per-vector masking capable */
#define MSIX_CTRL_ENABLE	(1u << 15)
#define MSIX_CTRL_FMASK		(1u << 14)
#define MSIX_VCTRL_MASK		1u

uint64_t
msi_address(uint32_t dest)
{
	return 0xFEE00000ull | (uint64_t)(dest & 0xFF) << 12;
}

uint32_t
msi_data(uint8_t vector)
{
	return vector;	/* fixed delivery, edge */
}

int
msi_program(struct pci_func *f, uint8_t vector, uint32_t dest)
{
	uint8_t c = f->cap_msi;
	if (!c)
		return E_NOTSUP;
	if (dest > 255)
		return E_RANGE;
	uint16_t ctrl = pci_read16(f, c + 2);
	bool is64 = ctrl & MSI_CTRL_64BIT;
	uint64_t a = msi_address(dest);
	pci_write16(f, c + 2, ctrl & ~1u);
	pci_write32(f, c + 4, (uint32_t)a);
	if (is64) {
		pci_write32(f, c + 8, 0);
		pci_write16(f, c + 12, (uint16_t)msi_data(vector));
	} else {
		pci_write16(f, c + 8, (uint16_t)msi_data(vector));
	}
	if (ctrl & MSI_CTRL_PVM)	/* a previous owner may have left vector 0 masked */
		pci_write32(f, c + (is64 ? 0x10 : 0x0C), 0);
	pci_write16(f, 0x04, pci_read16(f, 0x04) | PCI_CMD_INTX_OFF);
	pci_write16(f, c + 2, (uint16_t)((ctrl & ~(7u << 4)) | 1u));	/* one message, enabled */
	return 0;
}

int
msi_disable(struct pci_func *f)
{
	if (!f->cap_msi)
		return E_NOTSUP;
	pci_write16(f, f->cap_msi + 2, pci_read16(f, f->cap_msi + 2) & ~1u);
	return 0;
}

/*
 * Mask or unmask the function's one MSI message: through the per-vector mask
 * bit when the capability offers it (PCI 3.0 6.8.1.3: control bit 8; mask
 * bits at +0x10 with 64-bit addresses, +0x0C without), else by clearing
 * MSI Enable. The latter drops a message raised meanwhile (there is no
 * pending bit), so a driver checks its device after acknowledging.
 */
int
msi_mask(struct pci_func *f, bool masked)
{
	uint8_t c = f->cap_msi;
	if (!c)
		return E_NOTSUP;
	uint16_t ctrl = pci_read16(f, c + 2);
	if (ctrl & MSI_CTRL_PVM) {
		uint8_t mb = c + ((ctrl & MSI_CTRL_64BIT) ? 0x10 : 0x0C);
		pci_write32(f, mb, masked ? 1u : 0u);
		return 0;
	}
	pci_write16(f, c + 2, (uint16_t)(masked ? ctrl & ~1u : ctrl | 1u));
	return 0;
}

static int
msix_table(struct pci_func *f)
{
	if (f->msix_table)
		return 0;
	volatile void *t = pci_map_bar(f, f->msix_bir, f->msix_off, (uint64_t)f->msix_size * 16);
	if (!t)
		return E_RANGE;
	f->msix_table = (volatile uint32_t *)t;
	return 0;
}

int
msix_program(struct pci_func *f, uint16_t index, uint8_t vector, uint32_t dest)
{
	if (!f->cap_msix)
		return E_NOTSUP;
	if (index >= f->msix_size || dest > 255)
		return E_RANGE;
	int r = msix_table(f);
	if (r)
		return r;
	volatile uint32_t *e = f->msix_table + index * 4;
	uint64_t a = msi_address(dest);
	e[3] = MSIX_VCTRL_MASK;
	e[0] = (uint32_t)a;
	e[1] = (uint32_t)(a >> 32);
	e[2] = msi_data(vector);
	e[3] = 0;
	uint16_t ctrl = pci_read16(f, f->cap_msix + 2);
	pci_write16(f, 0x04, pci_read16(f, 0x04) | PCI_CMD_INTX_OFF);
	pci_write16(f, f->cap_msix + 2, (uint16_t)((ctrl | MSIX_CTRL_ENABLE) & ~MSIX_CTRL_FMASK));
	return 0;
}

int
msix_disable(struct pci_func *f)
{
	if (!f->cap_msix)
		return E_NOTSUP;
	pci_write16(f, f->cap_msix + 2, pci_read16(f, f->cap_msix + 2) & ~MSIX_CTRL_ENABLE);
	return 0;
}

int
msix_mask(struct pci_func *f, uint16_t index)
{
	if (!f->cap_msix || index >= f->msix_size || msix_table(f))
		return E_RANGE;
	f->msix_table[index * 4 + 3] = MSIX_VCTRL_MASK;
	return 0;
}
