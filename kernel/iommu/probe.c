/*
 * IOMMU probe (docs/iommu.md).
 *
 * kernel/acpi has already validated and parsed the DMAR (Intel VT-d 8.1)
 * and IVRS (AMD-Vi 5.2) tables and kept each remapping unit's register base.
 * Here each unit is checked as hardware: its base must be page aligned,
 * outside RAM and below 2^52, it is mapped uncached and its identity
 * registers are read: VT-d VER, CAP and ECAP (every field the probe relies
 * on is range-checked: a reserved ND, no supported AGAW, fault-recording or
 * IOTLB registers outside the register page), AMD-Vi control and extended
 * features. A unit that reads all-ones (nothing decodes the address) or
 * zero, or fails a check, is unusable; so is a DMAR/IVRS the ACPI walk
 * rejected. Nothing is written to any unit.
 *
 * The decision does not depend on the result: capOS has no remapping
 * backend, so DMA stays on kernel-owned bounce pages (invariant 3); the
 * marker says whether that is because there is no IOMMU, an unusable one,
 * or a usable one the kernel does not drive.
 */
#include "iommu/probe.h"
#include "acpi/kacpi.h"
#include "iommu/vtd_reg.h"
#include "kernel.h"
#include "mm/pmm.h"
#include "mm/vmm.h"

#define PHYS_LIMIT	(1ull << 52)

static struct iommu_probe result;
static bool probed;

static bool
in_ram(uint64_t pa, uint64_t len)
{
	const struct mm_map *ram = pmm_ram_map();

	for (uint32_t i = 0; i < ram->n; i++)
		if (pa < ram->r[i].end && pa + len > ram->r[i].base)
			return true;
	return false;
}

/* Checks on the address alone, before anything is mapped. */
static const char *
base_check(uint64_t base, uint64_t align)
{
	if (base == 0)
		return "base-zero";
	if (base % align)
		return "base-unaligned";
	if (base >= PHYS_LIMIT - VTD_REG_PAGE)
		return "base-out-of-range";
	if (in_ram(base, VTD_REG_PAGE))
		return "base-in-ram";
	for (uint32_t i = 0; i < result.units; i++)
		if (result.unit[i].base == base)
			return "duplicate-base";
	return NULL;
}

static uint32_t
rd32(const volatile uint8_t *r, uint32_t off)
{
	return *(const volatile uint32_t *)(r + off);
}

static uint64_t
rd64(const volatile uint8_t *r, uint32_t off)
{
	return *(const volatile uint64_t *)(r + off);
}

static const char *
vtd_check(struct iommu_unit *u, const volatile uint8_t *r)
{
	u->ver = rd32(r, VTD_VER);
	u->cap = rd64(r, VTD_CAP);
	u->ecap = rd64(r, VTD_ECAP);
	if (u->ver == 0xFFFFFFFFu || u->cap == ~0ull || u->ecap == ~0ull)
		return "reads-all-ones";
	if (u->ver == 0 && u->cap == 0)
		return "reads-zero";
	if (u->ver & VTD_VER_RSVD)
		return "ver-reserved-bits-set";
	if (VTD_VER_MAJOR(u->ver) == 0)
		return "ver-major-zero";
	if (VTD_CAP_ND(u->cap) == 7)
		return "cap-nd-reserved";
	if (VTD_CAP_SAGAW(u->cap) == 0)
		return "cap-no-agaw";
	if (VTD_CAP_FRO(u->cap) + VTD_CAP_NFR(u->cap) * VTD_FAULT_REC_SIZE > VTD_REG_PAGE)
		return "cap-fault-registers-outside-page";
	if (VTD_ECAP_IRO(u->ecap) + VTD_IOTLB_REGS_SIZE > VTD_REG_PAGE)
		return "ecap-iotlb-outside-page";
	return NULL;
}

static const char *
amdvi_check(struct iommu_unit *u, const volatile uint8_t *r)
{
	u->cap = rd64(r, AMDVI_CONTROL);
	u->ecap = rd64(r, AMDVI_EFR);
	if (u->cap == ~0ull || u->ecap == ~0ull)
		return "reads-all-ones";
	return NULL;
}

static void
probe_unit(const char *kind, uint64_t base)
{
	bool vtd = kind[0] == 'v';
	struct iommu_unit *u = &result.unit[result.units];

	memset(u, 0, sizeof *u);
	memcpy(u->kind, kind, strlen(kind) + 1);
	u->reason = base_check(base, PAGE_SIZE);
	u->base = base;
	result.units++;
	if (!u->reason) {
		const volatile uint8_t *r = vmm_map_phys(base, VTD_REG_PAGE, VMM_UC);
		if (!r)
			u->reason = "no-window";
		else
			u->reason = vtd ? vtd_check(u, r) : amdvi_check(u, r);
	}
	if (!u->reason)
		result.usable++;
	kprintf("capos: iommu-unit n=%u kind=%s base=%#lx", result.units - 1, kind, base);
	if (vtd && u->ver)
		kprintf(" ver=%u.%u", VTD_VER_MAJOR(u->ver), VTD_VER_MINOR(u->ver));
	kprintf(" %s=%#lx %s=%#lx result=%s%s%s\n", vtd ? "cap" : "control", u->cap,
		vtd ? "ecap" : "efr", u->ecap, u->reason ? "unusable" : "usable",
		u->reason ? " reason=" : "", u->reason ? u->reason : "");
}

static void
probe_table(const char *kind, bool has, const struct acpi_iommu *t)
{
	if (!has)
		return;
	result.dropped += t->dropped;
	for (uint32_t i = 0; i < t->units && result.units < IOMMU_MAX_UNITS; i++)
		probe_unit(kind, t->base[i]);
}

const struct iommu_probe *
iommu_probe(void)
{
	if (probed)
		return &result;
	probed = true;
	for (uint32_t i = 0; i < acpi.ntables && i < ACPI_MAX_TABLES; i++) {
		const struct acpi_table_rec *t = &acpi.tables[i];
		if (!t->ok && (!memcmp(t->sig, "DMAR", 4) || !memcmp(t->sig, "IVRS", 4)))
			result.rejected_tables++;
	}
	probe_table("vt-d", acpi.has_dmar, &acpi.dmar);
	probe_table("amd-vi", acpi.has_ivrs, &acpi.ivrs);
	if (result.usable) {
		result.state = IOMMU_PRESENT_UNUSED;
		result.reason = "no-remapping-backend";
	} else if (result.units || result.rejected_tables) {
		result.state = IOMMU_UNUSABLE;
		result.reason = result.units ? "no-usable-unit" : "table-rejected";
	} else {
		result.state = IOMMU_ABSENT;
		result.reason = "no-dmar-or-ivrs";
	}
	return &result;
}

const char *
iommu_state_name(enum iommu_state s)
{
	switch (s) {
	case IOMMU_PRESENT_UNUSED: return "present-unused";
	case IOMMU_UNUSABLE: return "unusable";
	default: return "absent";
	}
}

void
iommu_print_backend(void)
{
	const struct iommu_probe *p = iommu_probe();

	kprintf("capos: dma-backend=bounce iommu=%s units=%u usable=%u rejected_tables=%u "
		"reason=%s device_addresses=kernel-authored\n", iommu_state_name(p->state), p->units,
		p->usable, p->rejected_tables, p->reason);
}
