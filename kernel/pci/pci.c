/*
 * PCI configuration access and enumeration (see pci.h). Runs once at boot on
 * the boot CPU before any driver, with interrupts off while a BAR is sized:
 * sizing writes all-ones to a live BAR, so decoding is switched off around it
 * (PCI 3.0 6.2.5.1) and restored after.
 */
#include "acpi/kacpi.h"
#include "arch/x86_64/x86.h"
#include "kernel.h"
#include "mm/vmm.h"
#include "pci/pci.h"
#include "sync/spinlock.h"

struct pci_state pci;
struct pci_func pci_funcs[PCI_MAX_FUNCS];
static volatile uint8_t *ecam;	/* bus ecam_bus_start at offset 0 */
static struct spinlock cf8_lock;

static uint32_t
legacy_read(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	if (off >= 256)
		return 0xFFFFFFFFu;
	uint64_t fl = spin_lock_irqsave(&cf8_lock);
	outl(0xCF8, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xFC));
	uint32_t v = inl(0xCFC);
	spin_unlock_irqrestore(&cf8_lock, fl);
	return v;
}

static void
legacy_write(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t v)
{
	if (off >= 256)
		return;
	uint64_t fl = spin_lock_irqsave(&cf8_lock);
	outl(0xCF8, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xFC));
	outl(0xCFC, v);
	spin_unlock_irqrestore(&cf8_lock, fl);
}

static volatile uint32_t *
ecam_addr(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	if (!pci.ecam || bus < pci.ecam_bus_start || bus > pci.ecam_bus_end || off >= 4096)
		return NULL;
	uint64_t o = (uint64_t)(bus - pci.ecam_bus_start) << 20 | dev << 15 | fn << 12 | (off & 0xFFC);
	return (volatile uint32_t *)(ecam + o);
}

uint32_t
pci_cfg_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	volatile uint32_t *p = ecam_addr(bus, dev, fn, off);
	return p ? *p : legacy_read(bus, dev, fn, off);
}

void
pci_cfg_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t v)
{
	volatile uint32_t *p = ecam_addr(bus, dev, fn, off);
	if (p)
		*p = v;
	else
		legacy_write(bus, dev, fn, off, v);
}

uint32_t
pci_read32(const struct pci_func *f, uint16_t off)
{
	return pci_cfg_read32(f->bus, f->dev, f->fn, off);
}

uint16_t
pci_read16(const struct pci_func *f, uint16_t off)
{
	return (uint16_t)(pci_read32(f, off & ~3) >> ((off & 2) * 8));
}

uint8_t
pci_read8(const struct pci_func *f, uint16_t off)
{
	return (uint8_t)(pci_read32(f, off & ~3) >> ((off & 3) * 8));
}

void
pci_write32(const struct pci_func *f, uint16_t off, uint32_t v)
{
	pci_cfg_write32(f->bus, f->dev, f->fn, off, v);
}

void
pci_write16(const struct pci_func *f, uint16_t off, uint16_t v)
{
	uint32_t w = pci_read32(f, off & ~3);
	unsigned sh = (off & 2) * 8;
	w = (w & ~(0xFFFFu << sh)) | (uint32_t)v << sh;
	pci_write32(f, off & ~3, w);
}

/* Size BAR i (and i+1 for a 64-bit BAR); returns how many BAR slots it used. */
static int
size_bar(struct pci_func *f, int i)
{
	uint16_t off = (uint16_t)(0x10 + 4 * i);
	uint32_t lo = pci_read32(f, off);
	struct pci_bar *b = &f->bar[i];

	if (lo & 1) {
		pci_write32(f, off, 0xFFFFFFFFu);
		uint32_t m = pci_read32(f, off) & 0xFFFFFFFCu;
		pci_write32(f, off, lo);
		if (m) {
			b->type = PCI_BAR_IO;
			b->base = lo & 0xFFFFFFFCu;
			b->size = (uint32_t)(~(m | 0xFFFF0000u) + 1) & 0xFFFF;
		}
		return 1;
	}
	bool is64 = ((lo >> 1) & 3) == 2;
	if (is64 && i == 5)
		return 1;	/* a 64-bit BAR cannot start in the last slot */
	uint32_t hi = is64 ? pci_read32(f, off + 4) : 0;
	pci_write32(f, off, 0xFFFFFFFFu);
	uint64_t m = pci_read32(f, off) & 0xFFFFFFF0u;
	if (is64) {
		pci_write32(f, off + 4, 0xFFFFFFFFu);
		m |= (uint64_t)pci_read32(f, off + 4) << 32;
		pci_write32(f, off + 4, hi);
	} else {
		m |= 0xFFFFFFFF00000000ull;
	}
	pci_write32(f, off, lo);
	if (m & 0xFFFFFFF0u || (is64 && m >> 32)) {
		b->type = is64 ? PCI_BAR_MEM64 : PCI_BAR_MEM32;
		b->prefetch = lo & 8;
		b->base = (lo & 0xFFFFFFF0u) | (uint64_t)hi << 32;
		b->size = ~m + 1;
	}
	return is64 ? 2 : 1;
}

static void
read_bars(struct pci_func *f)
{
	int nbars = f->header == 0 ? 6 : f->header == 1 ? 2 : 0;
	uint16_t cmd = pci_read16(f, 0x04);

	if (!nbars)
		return;
	uint64_t fl = read_rflags();
	cli();
	pci_write16(f, 0x04, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
	for (int i = 0; i < nbars;)
		i += size_bar(f, i);
	pci_write16(f, 0x04, cmd);
	if (fl & (1u << 9))
		sti();
}

static void
read_caps(struct pci_func *f)
{
	if (!(pci_read16(f, 0x06) & (1u << 4)))
		return;
	uint8_t p = pci_read8(f, f->header == 2 ? 0x14 : 0x34) & 0xFC;
	/* At most 48 capabilities fit in 192 bytes: more means a loop. */
	for (int n = 0; p; n++) {
		if (n == 48 || p < 0x40) {
			f->caps_truncated = true;
			return;
		}
		uint8_t id = pci_read8(f, p);
		f->ncaps++;
		switch (id) {
		case PCI_CAP_MSI: f->cap_msi = p; break;
		case PCI_CAP_PCIE: f->cap_pcie = p; break;
		case PCI_CAP_MSIX: {
			f->cap_msix = p;
			f->msix_size = (uint16_t)((pci_read16(f, p + 2) & 0x7FF) + 1);
			uint32_t t = pci_read32(f, p + 4), b = pci_read32(f, p + 8);
			f->msix_bir = t & 7;
			f->msix_off = t & ~7u;
			f->pba_bir = b & 7;
			f->pba_off = b & ~7u;
			break;
		}
		case PCI_CAP_VENDOR:
			if (f->nvcaps < PCI_MAX_VCAPS)
				f->vcap[f->nvcaps++] = p;
			break;
		}
		p = pci_read8(f, p + 1) & 0xFC;
	}
}

static void
add_func(uint8_t bus, uint8_t dev, uint8_t fn, uint32_t id)
{
	if (pci.nfuncs == PCI_MAX_FUNCS) {
		pci.dropped++;
		return;
	}
	struct pci_func *f = &pci_funcs[pci.nfuncs++];
	f->bus = bus;
	f->dev = dev;
	f->fn = fn;
	f->vendor = id & 0xFFFF;
	f->device = id >> 16;
	uint32_t cls = pci_read32(f, 0x08);
	f->rev = cls & 0xFF;
	f->progif = (cls >> 8) & 0xFF;
	f->subclass = (cls >> 16) & 0xFF;
	f->class = cls >> 24;
	f->header = pci_read8(f, 0x0E) & 0x7F;
	f->irq_line = pci_read8(f, 0x3C);
	f->irq_pin = pci_read8(f, 0x3D);
	if (f->header == 1) {
		f->secondary = pci_read8(f, 0x19);
		f->subordinate = pci_read8(f, 0x1A);
		pci.bridges++;
	}
	read_bars(f);
	read_caps(f);
}

static void
scan_bus(uint8_t bus)
{
	for (uint8_t dev = 0; dev < 32; dev++) {
		uint32_t id = pci_cfg_read32(bus, dev, 0, 0);
		if ((id & 0xFFFF) == 0xFFFF || (id & 0xFFFF) == 0)
			continue;
		add_func(bus, dev, 0, id);
		if (!(pci_cfg_read32(bus, dev, 0, 0x0C) & 0x00800000u))
			continue;
		for (uint8_t fn = 1; fn < 8; fn++) {
			id = pci_cfg_read32(bus, dev, fn, 0);
			if ((id & 0xFFFF) != 0xFFFF && (id & 0xFFFF) != 0)
				add_func(bus, dev, fn, id);
		}
	}
	pci.buses_scanned++;
}

/* ECAM for segment 0 from the MCFG, kept only if it agrees with the ports. */
static void
ecam_setup(void)
{
	if (!acpi.has_mcfg)
		return;
	for (uint32_t i = 0; i < acpi.mcfg.count; i++) {
		struct acpi_mcfg_seg *s = &acpi.mcfg.seg[i];
		if (s->segment != 0)
			continue;
		uint64_t len = ((uint64_t)(s->bus_end - s->bus_start) + 1) << 20;
		ecam = vmm_map_phys(s->base, len, VMM_RW | VMM_UC);
		if (!ecam) {
			kprintf("capos: pci-warning ECAM window %#lx+%#lx cannot be mapped; "
				"using ports\n", s->base, len);
			return;
		}
		pci.ecam_bus_start = s->bus_start;
		pci.ecam_bus_end = s->bus_end;
		pci.ecam = true;
		uint32_t via_ecam = pci_cfg_read32(0, 0, 0, 0), via_port = legacy_read(0, 0, 0, 0);
		if (pci.ecam_bus_start == 0 && via_ecam != via_port) {
			kprintf("capos: pci-warning ECAM reads %#x at 00:00.0, ports read %#x; "
				"falling back to ports\n", via_ecam, via_port);
			pci.ecam = false;
		}
		return;
	}
}

void
pci_init(void)
{
	ecam_setup();
	for (unsigned bus = 0; bus < 256; bus++)
		scan_bus((uint8_t)bus);
	kprintf("capos: pci-ok functions=%u buses_scanned=%u bridges=%u access=%s dropped=%u\n",
		pci.nfuncs, pci.buses_scanned, pci.bridges, pci.ecam ? "ecam" : "legacy",
		pci.dropped);
	for (uint32_t i = 0; i < pci.nfuncs; i++) {
		struct pci_func *f = &pci_funcs[i];
		kprintf("capos: pci-fn %02x:%02x.%x vendor=%04x device=%04x class=%02x%02x%02x "
			"msi=%s msix=%u pcie=%s vcaps=%u\n", f->bus, f->dev, f->fn, f->vendor,
			f->device, f->class, f->subclass, f->progif, f->cap_msi ? "yes" : "no",
			f->cap_msix ? f->msix_size : 0, f->cap_pcie ? "yes" : "no", f->nvcaps);
	}
}

struct pci_func *
pci_find(uint16_t vendor, uint16_t device, uint32_t nth)
{
	for (uint32_t i = 0; i < pci.nfuncs; i++)
		if (pci_funcs[i].vendor == vendor && pci_funcs[i].device == device && nth-- == 0)
			return &pci_funcs[i];
	return NULL;
}

struct pci_func *
pci_find_bdf(uint8_t bus, uint8_t dev, uint8_t fn)
{
	for (uint32_t i = 0; i < pci.nfuncs; i++)
		if (pci_funcs[i].bus == bus && pci_funcs[i].dev == dev && pci_funcs[i].fn == fn)
			return &pci_funcs[i];
	return NULL;
}

volatile void *
pci_map_bar(struct pci_func *f, int bar, uint64_t off, uint64_t len)
{
	if (bar < 0 || bar > 5)
		return NULL;
	const struct pci_bar *b = &f->bar[bar];
	uint64_t size = b->size < PCI_BAR_KMAP_MAX ? b->size : PCI_BAR_KMAP_MAX;
	if ((b->type != PCI_BAR_MEM32 && b->type != PCI_BAR_MEM64) || !b->base || !len ||
	    off >= size || len > size - off)
		return NULL;
	volatile uint8_t *m = __atomic_load_n(&f->bar_kva[bar], __ATOMIC_ACQUIRE);
	if (!m) {
		volatile uint8_t *n = vmm_map_phys(b->base, size, VMM_RW | VMM_UC), *none = NULL;
		if (!n)
			return NULL;
		/* Two CPUs mapping at once: the loser's window stays unused (once per BAR). */
		if (!__atomic_compare_exchange_n(&f->bar_kva[bar], &none, n, false, __ATOMIC_ACQ_REL,
		    __ATOMIC_ACQUIRE))
			n = none;
		m = n;
	}
	return m + off;
}

const char *
pci_class_name(uint8_t class, uint8_t sub)
{
	switch (class) {
	case 0x01:
		return sub == 0x08 ? "nvme" : sub == 0x06 ? "sata" : sub == 0x01 ? "ide" : "storage";
	case 0x02: return "network";
	case 0x03: return "display";
	case 0x06:
		return sub == 0x00 ? "host-bridge" : sub == 0x01 ? "isa-bridge" :
		       sub == 0x04 ? "pci-bridge" : "bridge";
	case 0x0C: return sub == 0x03 ? "usb" : sub == 0x05 ? "smbus" : "serial-bus";
	case 0x00: return "unclassified";
	case 0xFF: return "vendor";
	default: return sub == 0x80 && class == 0x08 ? "system" : "other";
	}
}
