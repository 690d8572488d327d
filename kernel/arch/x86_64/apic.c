/*
 * Local APIC and 8259 PIC (see apic.h for the vector map). The PICs are
 * remapped to 0x20-0x2F before being masked, so a spurious IRQ 7/15 that a
 * PIC can still raise lands on a vector we own instead of on an exception.
 */
#include "acpi/kacpi.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/x86.h"
#include "kernel.h"
#include "mm/vmm.h"

#define MSR_APIC_BASE		0x1B
#define APIC_BASE_ENABLE	(1u << 11)
#define APIC_BASE_X2		(1u << 10)
#define CPUID1_ECX_X2APIC	(1u << 21)

struct apic_stats apic_stats;
static volatile uint32_t *lapic_mmio;
static uint64_t lapic_phys;
static bool x2mode, x2offered, ready;

uint32_t
lapic_read(uint32_t reg)
{
	if (x2mode)
		return (uint32_t)rdmsr(0x800 + (reg >> 4));
	return lapic_mmio[reg / 4];
}

void
lapic_write(uint32_t reg, uint32_t v)
{
	if (x2mode)
		wrmsr(0x800 + (reg >> 4), v);
	else
		lapic_mmio[reg / 4] = v;
}

bool apic_ready(void) { return ready; }
bool apic_x2(void) { return x2mode; }
bool apic_x2_offered(void) { return x2offered; }
uint64_t apic_base_phys(void) { return lapic_phys; }

uint32_t
lapic_id(void)
{
	if (!ready)
		return 0;
	return x2mode ? lapic_read(LAPIC_ID) : lapic_read(LAPIC_ID) >> 24;
}

void
lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

static void
icr_send(uint32_t dest, uint32_t lo)
{
	if (x2mode) {
		wrmsr(0x830, (uint64_t)dest << 32 | lo);
		return;
	}
	/* ICR_HI then ICR_LO must not be split by an interrupt that sends its own IPI. */
	uint64_t fl = read_rflags();
	cli();
	lapic_write(LAPIC_ICR_HI, dest << 24);
	lapic_write(LAPIC_ICR_LO, lo);
	for (int spin = 0; lapic_read(LAPIC_ICR_LO) & (1u << 12); spin++)
		if (spin > 1000000)
			break;	/* delivery status stuck: give up rather than hang */
	if (fl & (1u << 9))
		sti();
}

void
lapic_send_ipi(uint32_t dest, uint8_t vector)
{
	icr_send(dest, vector);
}

void
lapic_send_self_ipi(uint8_t vector)
{
	if (x2mode)
		wrmsr(0x800 + (LAPIC_SELF_IPI >> 4), vector);
	else
		icr_send(0, (1u << 18) | vector);	/* destination shorthand: self */
}

void
lapic_send_init(uint32_t dest)
{
	icr_send(dest, (5u << 8) | (1u << 14));		/* INIT, level assert */
}

void
lapic_send_startup(uint32_t dest, uint8_t page)
{
	icr_send(dest, (6u << 8) | (1u << 14) | page);	/* STARTUP */
}

static void
spurious(struct trap_frame *tf, void *arg)
{
	apic_stats.spurious++;	/* no EOI for the spurious vector (SDM 11.9) */
}

static void
pic_spurious(struct trap_frame *tf, void *arg)
{
	apic_stats.pic_spurious++;
}

static void
self_ipi(struct trap_frame *tf, void *arg)
{
	apic_stats.self_ipis++;
	lapic_eoi();
}

/* Remap both 8259s to 0x20-0x2F (ICW1-4), then mask every line. */
static void
pic_disable(void)
{
	outb(0x20, 0x11);
	outb(0xA0, 0x11);
	outb(0x21, VEC_PIC_BASE);
	outb(0xA1, VEC_PIC_BASE + 8);
	outb(0x21, 4);
	outb(0xA1, 2);
	outb(0x21, 1);
	outb(0xA1, 1);
	outb(0x21, 0xFF);
	outb(0xA1, 0xFF);
}

/* LINT0/LINT1 as the MADT's Local APIC NMI structures say (default: LINT1 = NMI). */
static void
program_lints(void)
{
	uint32_t me = lapic_id();
	bool any = false;

	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	for (uint32_t i = 0; i < acpi.madt.nnmis; i++) {
		struct acpi_lapic_nmi *n = &acpi.madt.nmis[i];
		bool mine = n->uid == 0xFFFFFFFFu;
		for (uint32_t c = 0; c < acpi.madt.ncpus && !mine; c++)
			mine = acpi.madt.cpus[c].uid == n->uid && acpi.madt.cpus[c].apic_id == me;
		if (!mine || n->lint > 1)
			continue;
		uint32_t v = LVT_NMI;
		if ((n->flags & 3) == 3)
			v |= LVT_ACTIVE_LOW;
		if (((n->flags >> 2) & 3) == 3)
			v |= LVT_LEVEL;
		lapic_write(n->lint ? LAPIC_LVT_LINT1 : LAPIC_LVT_LINT0, v);
		any = true;
	}
	if (!any)
		lapic_write(LAPIC_LVT_LINT1, LVT_NMI);
}

static void
lapic_enable_here(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE;
	wrmsr(MSR_APIC_BASE, base);
	if (x2mode)
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_X2);
	lapic_write(LAPIC_TPR, 0);
	if (!x2mode) {
		lapic_write(LAPIC_DFR, 0xFFFFFFFFu);	/* flat model */
		lapic_write(LAPIC_LDR, 0x01000000u);
	}
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERR, LVT_MASKED);
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_ESR, 0);
	program_lints();
	lapic_eoi();
}

void
lapic_init_ap(void)
{
	lapic_enable_here();
}

int
apic_init(bool no_x2apic)
{
	uint32_t a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	if (!(d & (1u << 9))) {
		kprintf("capos: apic-fail reason=\"CPUID reports no local APIC\"\n");
		return E_NOTSUP;
	}
	x2offered = c & CPUID1_ECX_X2APIC;
	pic_disable();
	lapic_phys = rdmsr(MSR_APIC_BASE) & 0x000FFFFFFFFFF000ull;
	if (acpi.has_madt && acpi.madt.lapic_addr && acpi.madt.lapic_addr != lapic_phys)
		kprintf("capos: apic-warning MADT LAPIC address %#lx differs from the MSR %#lx; "
			"using the MSR\n", acpi.madt.lapic_addr, lapic_phys);
	x2mode = x2offered && !no_x2apic;
	if (!x2mode) {
		lapic_mmio = vmm_map_phys(lapic_phys, 4096, VMM_RW | VMM_UC);
		if (!lapic_mmio)
			return E_NOMEM;
	}
	trap_register(VEC_SPURIOUS, spurious, NULL);
	trap_register(VEC_PIC_BASE + 7, pic_spurious, NULL);
	trap_register(VEC_PIC_BASE + 15, pic_spurious, NULL);
	trap_register(VEC_SELF_IPI, self_ipi, NULL);
	lapic_enable_here();
	ready = true;
	kprintf("capos: apic-ok mode=%s x2apic_cpuid=%s lapic_id=%u lapic_ver=%#x base=%#lx "
		"pic=masked\n", x2mode ? "x2apic" : "xapic", x2offered ? "yes" : "no", lapic_id(),
		lapic_read(LAPIC_VER) & 0xFF, lapic_phys);
	return 0;
}
