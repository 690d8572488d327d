/*
 * The kernel's view of the ACPI tables: found once at boot from the RSDP the
 * loader passed, each table mapped, validated and parsed by lib/acpi, and the
 * results kept here. A table that fails validation is rejected alone, with a
 * `capos: acpi-reject` line; boot continues without it.
 */
#ifndef CAPOS_KACPI_H
#define CAPOS_KACPI_H

#include <stdbool.h>
#include <stdint.h>
#include "acpi/acpi.h"

struct acpi_table_rec {
	char sig[5];
	uint64_t pa;
	uint32_t length;
	bool ok;		/* validated */
	bool used;		/* parsed into acpi_state */
};

struct acpi_state {
	bool present;		/* an RSDP was accepted */
	struct acpi_rsdp_info rsdp;
	bool via_xsdt;
	uint32_t ntables, rejected;
	struct acpi_table_rec tables[ACPI_MAX_TABLES];
	bool has_madt, has_mcfg, has_fadt, has_hpet, has_dmar, has_ivrs;
	struct acpi_madt madt;
	struct acpi_mcfg mcfg;
	struct acpi_fadt fadt;
	struct acpi_hpet hpet;
	struct acpi_iommu dmar, ivrs;
};

extern struct acpi_state acpi;

/* Find and parse the tables; prints acpi-ok (or acpi-none). Never panics on bad tables. */
void acpi_init(void);
/* Map a validated table by signature (first instance); NULL when absent or rejected. */
const void *acpi_find(const char *sig, uint32_t *len);

#endif
