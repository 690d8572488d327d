/*
 * I/O APIC routing. Registers are reached through IOREGSEL/IOWIN; entry n of
 * the redirection table is registers 0x10+2n (low) and 0x11+2n (high). ISA
 * IRQs map to GSIs one to one unless the MADT has an Interrupt Source Override;
 * ISA's default is edge-triggered, active high (ACPI 6.5 5.2.12.5).
 */
#include "acpi/kacpi.h"
#include "arch/x86_64/ioapic.h"
#include "kernel.h"
#include "mm/vmm.h"
#include "sync/spinlock.h"

#define REDIR_MASKED	(1u << 16)
#define REDIR_LEVEL	(1u << 15)
#define REDIR_LOW	(1u << 13)

static struct {
	struct ioapic_info info;
	volatile uint32_t *regs;
} io[IOAPIC_MAX];
static uint32_t nio;
static struct spinlock io_lock;

static uint32_t
rd(uint32_t i, uint32_t reg)
{
	io[i].regs[0] = reg;
	return io[i].regs[4];
}

static void
wr(uint32_t i, uint32_t reg, uint32_t v)
{
	io[i].regs[0] = reg;
	io[i].regs[4] = v;
}

int
ioapic_init(void)
{
	for (uint32_t i = 0; i < acpi.madt.nioapics && nio < IOAPIC_MAX; i++) {
		struct acpi_ioapic *a = &acpi.madt.ioapics[i];
		volatile uint32_t *r = vmm_map_phys(a->addr, 0x20, VMM_RW | VMM_UC);
		if (!r)
			continue;
		io[nio].regs = r;
		uint32_t ver = rd(nio, 1);
		if (ver == 0xFFFFFFFFu) {
			kprintf("capos: ioapic-reject id=%u addr=%#x reason=\"no registers answer\"\n",
				a->id, a->addr);
			continue;
		}
		io[nio].info = (struct ioapic_info){ a->id, a->gsi_base, ((ver >> 16) & 0xFF) + 1,
						     a->addr };
		for (uint32_t p = 0; p < io[nio].info.pins; p++) {
			wr(nio, 0x10 + 2 * p, REDIR_MASKED);
			wr(nio, 0x11 + 2 * p, 0);
		}
		nio++;
	}
	return (int)nio;
}

uint32_t ioapic_count(void) { return nio; }

const struct ioapic_info *
ioapic_get(uint32_t i)
{
	return i < nio ? &io[i].info : NULL;
}

uint32_t
ioapic_isa_gsi(uint8_t irq, bool *active_low, bool *level)
{
	*active_low = false;
	*level = false;
	for (uint32_t i = 0; i < acpi.madt.nisos; i++) {
		struct acpi_iso *s = &acpi.madt.isos[i];
		if (s->bus != 0 || s->source != irq)
			continue;
		*active_low = (s->flags & 3) == 3;
		*level = ((s->flags >> 2) & 3) == 3;
		return s->gsi;
	}
	return irq;
}

/*
 * A PCI function's INTx line as the firmware left it in config 0x3C: an ISA
 * IRQ number (0..15) that the MADT may override, or a GSI. PCI INTx is
 * level-triggered, active low (PCI 3.0 2.2.6); an override's explicit
 * polarity/trigger wins (QEMU's say level, active high for 5, 9, 10, 11,
 * its I/O APIC input not being inverted), "conforms" keeps PCI's.
 */
uint32_t
ioapic_pci_gsi(uint8_t line, bool *active_low, bool *level)
{
	*active_low = true;
	*level = true;
	for (uint32_t i = 0; line < 16 && i < acpi.madt.nisos; i++) {
		struct acpi_iso *s = &acpi.madt.isos[i];
		if (s->bus != 0 || s->source != line)
			continue;
		if (s->flags & 3)
			*active_low = (s->flags & 3) == 3;
		if ((s->flags >> 2) & 3)
			*level = ((s->flags >> 2) & 3) == 3;
		return s->gsi;
	}
	return line;
}

static int
find(uint32_t gsi, uint32_t *pin)
{
	for (uint32_t i = 0; i < nio; i++)
		if (gsi >= io[i].info.gsi_base && gsi - io[i].info.gsi_base < io[i].info.pins) {
			*pin = gsi - io[i].info.gsi_base;
			return (int)i;
		}
	return E_NOENT;
}

int
ioapic_route(uint32_t gsi, uint8_t vector, uint32_t dest, bool active_low, bool level)
{
	uint32_t pin;
	int i = find(gsi, &pin);
	if (i < 0)
		return i;
	uint32_t lo = vector | (active_low ? REDIR_LOW : 0) | (level ? REDIR_LEVEL : 0);
	uint64_t fl = spin_lock_irqsave(&io_lock);
	wr((uint32_t)i, 0x10 + 2 * pin, REDIR_MASKED);
	wr((uint32_t)i, 0x11 + 2 * pin, dest << 24);
	wr((uint32_t)i, 0x10 + 2 * pin, lo);
	spin_unlock_irqrestore(&io_lock, fl);
	return 0;
}

int
ioapic_mask(uint32_t gsi, bool masked)
{
	uint32_t pin;
	int i = find(gsi, &pin);
	if (i < 0)
		return i;
	uint64_t fl = spin_lock_irqsave(&io_lock);
	uint32_t lo = rd((uint32_t)i, 0x10 + 2 * pin);
	wr((uint32_t)i, 0x10 + 2 * pin, masked ? lo | REDIR_MASKED : lo & ~REDIR_MASKED);
	spin_unlock_irqrestore(&io_lock, fl);
	return 0;
}

uint64_t
ioapic_read_redir(uint32_t gsi)
{
	uint32_t pin;
	int i = find(gsi, &pin);
	if (i < 0)
		return 0;
	uint64_t fl = spin_lock_irqsave(&io_lock);
	uint64_t v = rd((uint32_t)i, 0x10 + 2 * pin) | (uint64_t)rd((uint32_t)i, 0x11 + 2 * pin) << 32;
	spin_unlock_irqrestore(&io_lock, fl);
	return v;
}
