/*
 * Multiboot2 boot information parser (Multiboot2 spec 1.0, section 3.6).
 *
 * The boot information structure comes from the loader and is not trusted:
 * every tag size, entry size and string is checked against the structure's
 * own total_size and against the bytes the caller says are readable. The
 * parser copies what capOS keeps (strings, map entries, module ranges) into
 * bounded arrays in struct mb2_info, so nothing later points into loader
 * memory. Entries past a bound are counted in *_dropped, never written.
 */
#ifndef CAPOS_BOOT_MB2_H
#define CAPOS_BOOT_MB2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MB2_BOOTLOADER_MAGIC	0x36d76289u

#define MB2_TAG_END		0
#define MB2_TAG_CMDLINE		1
#define MB2_TAG_LOADER_NAME	2
#define MB2_TAG_MODULE		3
#define MB2_TAG_BASIC_MEMINFO	4
#define MB2_TAG_BOOTDEV		5
#define MB2_TAG_MMAP		6
#define MB2_TAG_FRAMEBUFFER	8
#define MB2_TAG_EFI32		11
#define MB2_TAG_EFI64		12
#define MB2_TAG_ACPI_OLD	14
#define MB2_TAG_ACPI_NEW	15
#define MB2_TAG_EFI_MMAP	17
#define MB2_TAG_EFI_BS		18
#define MB2_TAG_LOAD_BASE	21

/* Memory types of the mmap tag (spec 3.6.8); EFI types are mapped onto these. */
#define MB2_MEM_USABLE		1
#define MB2_MEM_RESERVED	2
#define MB2_MEM_ACPI		3
#define MB2_MEM_NVS		4
#define MB2_MEM_BAD		5

#define MB2_MAX_MMAP		256
#define MB2_MAX_MODULES		256
#define MB2_CMDLINE_MAX		512
#define MB2_NAME_MAX		64
#define MB2_MAX_TOTAL_SIZE	(1u << 20)	/* larger info blocks are refused */

struct mb2_mmap_entry {
	uint64_t base;
	uint64_t len;
	uint32_t type;
};

struct mb2_module {
	uint32_t start;
	uint32_t end;		/* exclusive */
	char name[MB2_NAME_MAX];	/* the module command line, truncated */
};

struct mb2_info {
	uint32_t total_size;
	uint32_t ntags;
	uint32_t unknown_tags;

	bool has_cmdline;
	char cmdline[MB2_CMDLINE_MAX];
	char loader[MB2_NAME_MAX];

	bool has_meminfo;
	uint32_t mem_lower_kib, mem_upper_kib;

	bool has_mmap;
	uint32_t mmap_count, mmap_dropped;
	struct mb2_mmap_entry mmap[MB2_MAX_MMAP];

	bool has_efi_mmap;
	uint32_t efi_mmap_count, efi_mmap_dropped;
	struct mb2_mmap_entry efi_mmap[MB2_MAX_MMAP];

	uint32_t module_count, modules_dropped;
	struct mb2_module modules[MB2_MAX_MODULES];

	uint8_t rsdp_rev;	/* 0 none, 1 ACPI 1.0 RSDP, 2 ACPI 2.0+ XSDP */
	uint8_t rsdp_len;
	uint8_t rsdp[36];

	bool has_fb;
	uint64_t fb_addr;
	uint32_t fb_pitch, fb_width, fb_height;
	uint8_t fb_bpp, fb_type;

	bool efi;		/* an EFI system table or EFI memory map was passed */
	uint64_t efi_systab;
	bool efi_bs_active;	/* loader left boot services running (tag 18) */

	bool has_load_base;
	uint32_t load_base;
};

/*
 * Parse the boot information at `mbi`, of which `readable` bytes may be
 * read. Returns 0, or E_CORRUPT/E_TOOBIG/E_RANGE with a message in err.
 */
int mb2_parse(const void *mbi, size_t readable, struct mb2_info *out,
	      char *err, size_t errlen);

/* Map a UEFI memory type (UEFI 2.x, EFI_MEMORY_TYPE) onto MB2_MEM_*. */
uint32_t mb2_efi_type(uint32_t efi_type);

#endif
