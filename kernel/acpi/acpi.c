/*
 * ACPI discovery (ACPI 6.5 5.2). The RSDP comes from the multiboot2 tag copy
 * in boot_info (tag 14 for 1.0, tag 15 for 2.0+); the XSDT is used when the
 * RSDP is 2.0+ and its extended checksum holds, else the RSDT. Each table is
 * mapped through the kernel's device window area (tables may sit outside the
 * RAM the physmap covers), its header read first so that an absurd length is
 * refused before anything that large is mapped.
 */
#include "acpi/acpi.h"
#include "boot/cmdline.h"
#include "boot/mb2.h"
#include "kernel.h"
#include "acpi/kacpi.h"
#include "fmt/fmt.h"
#include "mm/vmm.h"

struct acpi_state acpi;

/* Map a table header, then the table; NULL with a message when it cannot be. */
static const void *
map_table(uint64_t pa, uint32_t *len, char *err, size_t errlen)
{
	const struct acpi_hdr *h = vmm_map_phys(pa, sizeof *h, VMM_RO);
	if (!h) {
		fmt_snprintf(err, errlen, "header at %#lx cannot be mapped", pa);
		return NULL;
	}
	uint32_t l = h->length;
	if (l < sizeof *h || l > ACPI_MAX_TABLE) {
		acpi_table_check(h, sizeof *h, NULL, err, errlen);
		return NULL;
	}
	const void *t = vmm_map_phys(pa, l, VMM_RO);
	if (!t)
		fmt_snprintf(err, errlen, "%u bytes at %#lx cannot be mapped", l, pa);
	*len = l;
	return t;
}

static void
reject(struct acpi_table_rec *rec, const char *why)
{
	acpi.rejected++;
	kprintf("capos: acpi-reject table=%s pa=%#lx reason=\"%s\"\n", rec->sig, rec->pa, why);
}

static void
parse_one(struct acpi_table_rec *rec, const void *t)
{
	char err[128];
	int r = 0;
	const char *s = rec->sig;

	if (!strcmp(s, "APIC") && !acpi.has_madt) {
		if (!(r = acpi_madt_parse(t, rec->length, &acpi.madt, err, sizeof err)))
			acpi.has_madt = true;
	} else if (!strcmp(s, "MCFG") && !acpi.has_mcfg) {
		if (!(r = acpi_mcfg_parse(t, rec->length, &acpi.mcfg, err, sizeof err)))
			acpi.has_mcfg = true;
	} else if (!strcmp(s, "FACP") && !acpi.has_fadt) {
		if (!(r = acpi_fadt_parse(t, rec->length, &acpi.fadt, err, sizeof err)))
			acpi.has_fadt = true;
	} else if (!strcmp(s, "HPET") && !acpi.has_hpet) {
		if (!(r = acpi_hpet_parse(t, rec->length, &acpi.hpet, err, sizeof err)))
			acpi.has_hpet = true;
	} else if (!strcmp(s, "DMAR") && !acpi.has_dmar) {
		if (!(r = acpi_dmar_parse(t, rec->length, &acpi.dmar, err, sizeof err)))
			acpi.has_dmar = true;
	} else if (!strcmp(s, "IVRS") && !acpi.has_ivrs) {
		if (!(r = acpi_ivrs_parse(t, rec->length, &acpi.ivrs, err, sizeof err)))
			acpi.has_ivrs = true;
	} else {
		return;
	}
	if (r) {
		rec->ok = false;
		reject(rec, err);
	} else {
		rec->used = true;
	}
}

/*
 * capos.acpi_dump: print a validated table as hex, 32 bytes a line, at most
 * 16 KiB per table. Used to capture QEMU's real tables as host-test fixtures
 * (tests/host/fixtures/acpi/capture.py); bounded, as every console dump must be.
 */
static void
dump(const struct acpi_table_rec *rec, const void *t)
{
	const uint8_t *p = t;
	uint32_t total = rec->length < 16384 ? rec->length : 16384;

	for (uint32_t off = 0; off < total; off += 32) {
		char hex[65];
		uint32_t n = total - off < 32 ? total - off : 32;
		for (uint32_t i = 0; i < n; i++) {
			hex[2 * i] = "0123456789abcdef"[p[off + i] >> 4];
			hex[2 * i + 1] = "0123456789abcdef"[p[off + i] & 15];
		}
		hex[2 * n] = '\0';
		kprintf("capos: acpi-dump %s %05x %s\n", rec->sig, off, hex);
	}
}

static void
add_table(uint64_t pa)
{
	char err[128];
	uint32_t len = 0;

	if (acpi.ntables == ACPI_MAX_TABLES) {
		kprintf("capos: acpi-reject pa=%#lx reason=\"more than %u tables\"\n", pa,
			ACPI_MAX_TABLES);
		acpi.rejected++;
		return;
	}
	struct acpi_table_rec *rec = &acpi.tables[acpi.ntables++];
	rec->pa = pa;
	memcpy(rec->sig, "????", 5);
	const void *t = map_table(pa, &len, err, sizeof err);
	if (t || len)
		rec->length = len;
	const struct acpi_hdr *h = vmm_map_phys(pa, 4, VMM_RO);
	if (h)
		for (int i = 0; i < 4; i++)
			rec->sig[i] = h->sig[i] >= 0x20 && h->sig[i] < 0x7f ? h->sig[i] : '?';
	if (!t) {
		reject(rec, err);
		return;
	}
	if (acpi_table_check(t, len, NULL, err, sizeof err)) {
		reject(rec, err);
		return;
	}
	rec->ok = true;
	if (cmdline_flag(boot_info.cmdline, "capos.acpi_dump"))
		dump(rec, t);
	parse_one(rec, t);
}

const void *
acpi_find(const char *sig, uint32_t *len)
{
	for (uint32_t i = 0; i < acpi.ntables; i++) {
		struct acpi_table_rec *r = &acpi.tables[i];
		if (r->ok && !memcmp(r->sig, sig, 4)) {
			*len = r->length;
			return vmm_map_phys(r->pa, r->length, VMM_RO);
		}
	}
	return NULL;
}

void
acpi_init(void)
{
	char err[128];
	uint64_t entries[ACPI_MAX_TABLES];
	size_t n = 0;

	if (!boot_info.rsdp_rev) {
		kprintf("capos: acpi-none reason=\"the loader passed no RSDP\"\n");
		return;
	}
	if (acpi_rsdp_parse(boot_info.rsdp, boot_info.rsdp_len, &acpi.rsdp, err, sizeof err)) {
		kprintf("capos: acpi-none reason=\"%s\"\n", err);
		return;
	}
	if (acpi.rsdp.revision >= 2 && !acpi.rsdp.xsdt)
		kprintf("capos: acpi-warning XSDT unusable (RSDP 2.0 extended checksum or length); "
			"using the RSDT\n");
	uint32_t len = 0;
	bool x = acpi.rsdp.xsdt != 0;
	uint64_t root = x ? acpi.rsdp.xsdt : acpi.rsdp.rsdt;
	const void *t = map_table(root, &len, err, sizeof err);
	int r = t ? acpi_sdt_entries(t, len, x, entries, ARRAY_SIZE(entries), &n, err, sizeof err)
		  : E_CORRUPT;
	if (r && x && acpi.rsdp.rsdt) {
		kprintf("capos: acpi-reject table=XSDT pa=%#lx reason=\"%s\"; trying the RSDT\n",
			root, err);
		x = false;
		root = acpi.rsdp.rsdt;
		t = map_table(root, &len, err, sizeof err);
		r = t ? acpi_sdt_entries(t, len, false, entries, ARRAY_SIZE(entries), &n, err,
					  sizeof err) : E_CORRUPT;
	}
	if (r) {
		kprintf("capos: acpi-none reason=\"%s: %s\"\n", x ? "XSDT" : "RSDT", err);
		return;
	}
	acpi.present = true;
	acpi.via_xsdt = x;
	for (size_t i = 0; i < n; i++)
		add_table(entries[i]);
	kprintf("capos: acpi-ok rsdp=v%u root=%s tables=%u rejected=%u madt_cpus=%u ioapics=%u "
		"isos=%u nmis=%u mcfg=%s fadt=%s hpet=%s dmar=%s ivrs=%s\n",
		acpi.rsdp.revision >= 2 ? 2 : 1, x ? "xsdt" : "rsdt", acpi.ntables, acpi.rejected,
		acpi.madt.ncpus, acpi.madt.nioapics, acpi.madt.nisos, acpi.madt.nnmis,
		acpi.has_mcfg ? "yes" : "no", acpi.has_fadt ? "yes" : "no",
		acpi.has_hpet ? "yes" : "no", acpi.has_dmar ? "yes" : "no",
		acpi.has_ivrs ? "yes" : "no");
}
