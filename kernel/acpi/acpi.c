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
#include "mm/heap.h"
#include "mm/vmm.h"

struct acpi_state acpi;

/*
 * Map a table header, then the table; NULL with a message when it cannot be.
 * *len is the length the header claims, sig (5 bytes) its printable signature.
 */
static const void *
map_table(uint64_t pa, char *sig, uint32_t *len, char *err, size_t errlen)
{
	const struct acpi_hdr *h = vmm_map_phys(pa, sizeof *h, VMM_RO);

	*len = 0;
	if (sig)
		memcpy(sig, "????", 5);
	if (!h) {
		fmt_snprintf(err, errlen, "header at %#lx cannot be mapped", pa);
		return NULL;
	}
	for (int i = 0; sig && i < 4; i++)
		sig[i] = h->sig[i] >= 0x20 && h->sig[i] < 0x7f ? h->sig[i] : '?';
	uint32_t l = h->length;
	*len = l;
	if (l < sizeof *h || l > ACPI_MAX_TABLE) {
		acpi_table_check(h, sizeof *h, NULL, err, errlen);
		return NULL;
	}
	const void *t = vmm_map_phys(pa, l, VMM_RO);
	if (!t)
		fmt_snprintf(err, errlen, "%u bytes at %#lx cannot be mapped", l, pa);
	return t;
}

static void
reject(struct acpi_table_rec *rec, const char *why)
{
	acpi.rejected++;
	kprintf("capos: acpi-reject table=%s pa=%#lx reason=\"%s\"\n", rec->sig, rec->pa, why);
}

/*
 * Parse every instance of a known table, so a hostile duplicate is rejected
 * with a message too; the first valid instance is the one used.
 */
static void
parse_one(struct acpi_table_rec *rec, const void *t)
{
	static union {
		struct acpi_madt madt;
		struct acpi_mcfg mcfg;
		struct acpi_fadt fadt;
		struct acpi_hpet hpet;
		struct acpi_iommu iommu;
	} tmp;
	static const struct {
		const char *sig;
		size_t off_has, off_val, size;
	} kinds[] = {
		{ "APIC", offsetof(struct acpi_state, has_madt), offsetof(struct acpi_state, madt),
		  sizeof(struct acpi_madt) },
		{ "MCFG", offsetof(struct acpi_state, has_mcfg), offsetof(struct acpi_state, mcfg),
		  sizeof(struct acpi_mcfg) },
		{ "FACP", offsetof(struct acpi_state, has_fadt), offsetof(struct acpi_state, fadt),
		  sizeof(struct acpi_fadt) },
		{ "HPET", offsetof(struct acpi_state, has_hpet), offsetof(struct acpi_state, hpet),
		  sizeof(struct acpi_hpet) },
		{ "DMAR", offsetof(struct acpi_state, has_dmar), offsetof(struct acpi_state, dmar),
		  sizeof(struct acpi_iommu) },
		{ "IVRS", offsetof(struct acpi_state, has_ivrs), offsetof(struct acpi_state, ivrs),
		  sizeof(struct acpi_iommu) },
	};
	char err[128];
	int r;
	size_t k;

	for (k = 0; k < ARRAY_SIZE(kinds); k++)
		if (!memcmp(rec->sig, kinds[k].sig, 4))
			break;
	if (k == ARRAY_SIZE(kinds))
		return;
	switch (k) {
	case 0: r = acpi_madt_parse(t, rec->length, &tmp.madt, err, sizeof err); break;
	case 1: r = acpi_mcfg_parse(t, rec->length, &tmp.mcfg, err, sizeof err); break;
	case 2: r = acpi_fadt_parse(t, rec->length, &tmp.fadt, err, sizeof err); break;
	case 3: r = acpi_hpet_parse(t, rec->length, &tmp.hpet, err, sizeof err); break;
	case 4: r = acpi_dmar_parse(t, rec->length, &tmp.iommu, err, sizeof err); break;
	default: r = acpi_ivrs_parse(t, rec->length, &tmp.iommu, err, sizeof err); break;
	}
	if (r) {
		rec->ok = false;
		reject(rec, err);
		return;
	}
	bool *has = (bool *)((char *)&acpi + kinds[k].off_has);
	if (*has) {
		kprintf("capos: acpi-warning table=%s pa=%#lx duplicate ignored\n", rec->sig, rec->pa);
		return;
	}
	memcpy((char *)&acpi + kinds[k].off_val, &tmp, kinds[k].size);
	*has = true;
	rec->used = true;
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

/*
 * capos.acpi_fault=SIG:checksum|huge|truncated[,...]: a test instrument. QEMU's
 * -acpitable repairs the header length and checksum of an injected table, so
 * header-level damage is applied here, to a heap copy of table SIG, before
 * the same validation runs: `huge` claims 2 GiB, `truncated` claims 64 bytes
 * more than can be read. Announced with acpi-fault-injected.
 */
static const void *
inject_fault(const struct acpi_table_rec *rec, const void *t, uint32_t len)
{
	char f[128];
	const char *kind = NULL;

	if (cmdline_get(boot_info.cmdline, "capos.acpi_fault", f, sizeof f) != 1)
		return t;
	/* A comma-separated list of SIG:kind. */
	for (char *p = f; *p;) {
		char *e = p;
		while (*e && *e != ',')
			e++;
		bool last = !*e;
		*e = 0;
		if (e - p > 5 && p[4] == ':' && !memcmp(p, rec->sig, 4))
			kind = p + 5;
		if (last)
			break;
		p = e + 1;
	}
	if (!kind)
		return t;
	struct acpi_hdr *c = kmalloc(len);
	if (!c)
		return t;
	memcpy(c, t, len);
	if (!strcmp(kind, "checksum"))
		c->checksum ^= 0x55;
	else if (!strcmp(kind, "huge"))
		c->length = 0x7FFFFFF0u;
	else if (!strcmp(kind, "truncated"))
		c->length = len + 64;
	else {
		kfree(c);
		return t;
	}
	kprintf("capos: acpi-fault-injected table=%s kind=%s\n", rec->sig, kind);
	return c;	/* kept for the rest of this (test) boot */
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
	const void *t = map_table(pa, rec->sig, &len, err, sizeof err);
	rec->length = len;
	if (!t) {
		reject(rec, err);
		return;
	}
	t = inject_fault(rec, t, len);
	if (acpi_table_check(t, len, NULL, err, sizeof err)) {
		reject(rec, err);
		return;
	}
	rec->ok = true;
	if (cmdline_flag(boot_info.cmdline, "capos.acpi_dump"))
		dump(rec, t);
	parse_one(rec, t);
}

/* Each call maps the table afresh (the window area is a bump allocator): call once, keep it. */
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
	const void *t = map_table(root, NULL, &len, err, sizeof err);
	int r = t ? acpi_sdt_entries(t, len, x, entries, ARRAY_SIZE(entries), &n, err, sizeof err)
		  : E_CORRUPT;
	if (r && x && acpi.rsdp.rsdt) {
		kprintf("capos: acpi-reject table=XSDT pa=%#lx reason=\"%s\"; trying the RSDT\n",
			root, err);
		x = false;
		root = acpi.rsdp.rsdt;
		t = map_table(root, NULL, &len, err, sizeof err);
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
