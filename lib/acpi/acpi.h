/*
 * ACPI table parsers (ACPI 6.5 spec, chapter 5.2), freestanding and pure:
 * each parser takes a buffer and the number of bytes the caller could read,
 * validates signature, length and checksum before it looks at one field,
 * checks every sub-structure against the table's own length, and copies
 * what capOS keeps into bounded arrays. Entries past a bound are counted in
 * *_dropped. Nothing here maps memory; kernel/acpi/ does that.
 *
 * Errors: E_CORRUPT (bad checksum, signature or structure), E_RANGE (a length
 * points past what is readable), E_TOOBIG (a length above ACPI_MAX_TABLE),
 * with a one-line reason in err.
 */
#ifndef CAPOS_ACPI_ACPI_H
#define CAPOS_ACPI_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_TABLE		(1u << 20)	/* larger tables are refused */
#define ACPI_MAX_TABLES		64
#define ACPI_MAX_CPUS		64
#define ACPI_MAX_IOAPICS	8
#define ACPI_MAX_ISOS		24
#define ACPI_MAX_NMIS		16
#define ACPI_MAX_MCFG		8
#define ACPI_MAX_IOMMU		8

/* Wire layouts (ACPI 6.5 5.2.5.3, 5.2.6, 5.2.3.2). */
struct acpi_rsdp {
	char sig[8];
	uint8_t checksum;
	char oem[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t xchecksum;
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP layout");

struct acpi_hdr {
	char sig[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem[6];
	char oem_table[8];
	uint32_t oem_rev;
	uint32_t creator;
	uint32_t creator_rev;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_hdr) == 36, "SDT header layout");

struct acpi_gas {
	uint8_t space;		/* 0 memory, 1 system I/O, 2 PCI config */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS layout");

#define ACPI_GAS_MEM	0
#define ACPI_GAS_IO	1
#define ACPI_GAS_PCI	2

struct acpi_rsdp_info {
	uint8_t revision;	/* 0 for ACPI 1.0, 2+ for 2.0+ */
	char oem[7];
	uint32_t rsdt;
	uint64_t xsdt;		/* 0 when absent or its checksum failed */
};

struct acpi_cpu {
	uint32_t apic_id;
	uint32_t uid;
	bool enabled;
	bool online_capable;
	bool x2;		/* from a Processor Local x2APIC structure */
};

struct acpi_ioapic {
	uint8_t id;
	uint32_t addr;
	uint32_t gsi_base;
};

struct acpi_iso {
	uint8_t bus, source;
	uint32_t gsi;
	uint16_t flags;		/* MPS INTI flags: polarity bits 1:0, trigger 3:2 */
};

struct acpi_lapic_nmi {
	uint32_t uid;		/* 0xFF / 0xFFFFFFFF: all processors */
	uint16_t flags;
	uint8_t lint;
};

struct acpi_madt {
	uint64_t lapic_addr;	/* after any address override */
	uint32_t flags;		/* bit 0 PCAT_COMPAT: dual 8259s present */
	uint32_t ncpus, cpus_dropped;
	struct acpi_cpu cpus[ACPI_MAX_CPUS];
	uint32_t nioapics, ioapics_dropped;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	uint32_t nisos, isos_dropped;
	struct acpi_iso isos[ACPI_MAX_ISOS];
	uint32_t nnmis, nmis_dropped;
	struct acpi_lapic_nmi nmis[ACPI_MAX_NMIS];
	uint32_t nmi_sources;	/* NMI Source structures (counted) */
	uint32_t unknown;	/* entries of types not parsed */
};

struct acpi_mcfg_seg {
	uint64_t base;
	uint16_t segment;
	uint8_t bus_start, bus_end;
};

struct acpi_mcfg {
	uint32_t count, dropped;
	struct acpi_mcfg_seg seg[ACPI_MAX_MCFG];
};

struct acpi_fadt {
	uint8_t revision;
	uint32_t flags;
	bool reset_supported;	/* flags bit 10 and a reset register given */
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint32_t pm_tmr_port;	/* 0 when absent */
	bool pm_tmr_32bit;	/* flags bit 8 TMR_VAL_EXT */
	uint8_t century;	/* CMOS index of the century, 0 when absent */
	uint16_t boot_arch;	/* IA-PC boot architecture flags */
	uint16_t sci_irq;
};
#define ACPI_FADT_TMR_VAL_EXT	(1u << 8)
#define ACPI_FADT_RESET_REG_SUP	(1u << 10)
#define ACPI_BOOT_ARCH_8042	(1u << 1)

struct acpi_hpet {
	uint64_t base;		/* memory space only */
	uint32_t block_id;
	uint8_t number;
	uint16_t min_tick;
};

/* DMAR (Intel VT-d 8.1) and IVRS (AMD IOMMU 5.2): recorded, not used. */
struct acpi_iommu {
	uint32_t units, dropped;
	uint64_t base[ACPI_MAX_IOMMU];
	uint8_t host_addr_width;	/* DMAR only */
};

/* Sum of bytes modulo 256. */
uint8_t acpi_sum(const void *p, size_t n);

/* The RSDP as passed by the loader (len bytes). Both revisions; a 2.0+ RSDP
 * whose extended checksum fails keeps its RSDT and drops the XSDT. */
int acpi_rsdp_parse(const void *p, size_t len, struct acpi_rsdp_info *out,
		    char *err, size_t errlen);

/* Header checks shared by every table: length in [36, avail] and <=
 * ACPI_MAX_TABLE, checksum zero, signature sig when sig is not NULL. */
int acpi_table_check(const void *t, size_t avail, const char *sig, char *err, size_t errlen);

/* Entries of an RSDT (4-byte) or XSDT (8-byte); the table is checked first. */
int acpi_sdt_entries(const void *t, size_t avail, bool xsdt, uint64_t *out, size_t max,
		     size_t *count, char *err, size_t errlen);

int acpi_madt_parse(const void *t, size_t avail, struct acpi_madt *out, char *err, size_t errlen);
int acpi_mcfg_parse(const void *t, size_t avail, struct acpi_mcfg *out, char *err, size_t errlen);
int acpi_fadt_parse(const void *t, size_t avail, struct acpi_fadt *out, char *err, size_t errlen);
int acpi_hpet_parse(const void *t, size_t avail, struct acpi_hpet *out, char *err, size_t errlen);
int acpi_dmar_parse(const void *t, size_t avail, struct acpi_iommu *out, char *err, size_t errlen);
int acpi_ivrs_parse(const void *t, size_t avail, struct acpi_iommu *out, char *err, size_t errlen);

#endif
