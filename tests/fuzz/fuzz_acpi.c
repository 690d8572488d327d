/*
 * libFuzzer: every ACPI table parser on arbitrary bytes. The first byte
 * picks whether the checksum is repaired first (so the fuzzer reaches the
 * structure walkers instead of stopping at the checksum), and the signature
 * is forced to the parser's own half the time for the same reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/acpi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sigs[] = { "APIC", "MCFG", "FACP", "HPET", "DMAR", "IVRS",
					    "RSDT", "XSDT" };
	static struct acpi_madt m;
	struct acpi_mcfg mc;
	struct acpi_fadt f;
	struct acpi_hpet h;
	struct acpi_iommu io;
	struct acpi_rsdp_info ri;
	uint64_t e[16];
	size_t n;
	char err[128];

	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	uint8_t *t = malloc(size ? size : 1);	/* exact size: ASan catches over-reads */
	memcpy(t, data, size);
	if (size >= 36) {
		if (mode & 0x80)
			memcpy(t, sigs[mode & 7], 4);
		if (mode & 0x40) {
			uint32_t len = (uint32_t)size;
			memcpy(t + 4, &len, 4);
		}
		if (mode & 0x20) {
			t[9] = 0;
			t[9] = (uint8_t)(0x100 - acpi_sum(t, size));
		}
	}
	acpi_rsdp_parse(t, size, &ri, err, sizeof err);
	acpi_sdt_entries(t, size, false, e, 16, &n, err, sizeof err);
	acpi_sdt_entries(t, size, true, e, 16, &n, err, sizeof err);
	acpi_madt_parse(t, size, &m, err, sizeof err);
	acpi_mcfg_parse(t, size, &mc, err, sizeof err);
	acpi_fadt_parse(t, size, &f, err, sizeof err);
	acpi_hpet_parse(t, size, &h, err, sizeof err);
	acpi_dmar_parse(t, size, &io, err, sizeof err);
	acpi_ivrs_parse(t, size, &io, err, sizeof err);
	free(t);
	return 0;
}
