/*
 * The IOMMU probe (docs/iommu.md): looks at the remapping units the ACPI
 * DMAR (Intel VT-d) and IVRS (AMD-Vi) tables name, reads their identity
 * registers and decides whether each is usable. capOS has no remapping
 * backend yet, so the DMA backend stays kernel-owned bounce pages whatever
 * is found (invariant 3); the probe makes the boot marker say what is there.
 */
#ifndef CAPOS_IOMMU_PROBE_H
#define CAPOS_IOMMU_PROBE_H

#include <stdint.h>

enum iommu_state { IOMMU_ABSENT, IOMMU_PRESENT_UNUSED, IOMMU_UNUSABLE };

#define IOMMU_MAX_UNITS	16	/* DMAR + IVRS, ACPI_MAX_IOMMU each */

struct iommu_unit {
	char kind[8];		/* "vt-d" or "amd-vi" */
	uint64_t base;
	uint32_t ver;		/* VT-d VER_REG */
	uint64_t cap, ecap;	/* VT-d CAP/ECAP, AMD-Vi control/EFR */
	const char *reason;	/* NULL when usable */
};

struct iommu_probe {
	enum iommu_state state;
	uint32_t units, usable, rejected_tables, dropped;
	struct iommu_unit unit[IOMMU_MAX_UNITS];
	const char *reason;	/* why the backend is bounce pages */
};

/* Probe once (later calls return the first result). Prints one
 * `capos: iommu-unit` line per unit. */
const struct iommu_probe *iommu_probe(void);
const char *iommu_state_name(enum iommu_state s);
/* Probe and print `capos: dma-backend=bounce iommu=... units=N ...`. */
void iommu_print_backend(void);

#endif
