/*
 * ACPI table parsers. Firmware tables are input like any other: a table is
 * trusted only after its length fits what the caller could read and its
 * checksum is zero, and every sub-structure is checked against the table's
 * length before it is read. Reads go through rd16/rd32/rd64 (byte copies),
 * so an unaligned table cannot fault and the parsers stay UB-free.
 */
#include <stdarg.h>

#include "acpi/acpi.h"
#include "base/err.h"
#include "base/mem.h"
#include "fmt/fmt.h"

#define HDR 36u

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static int
fail(int code, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		fmt_vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

uint8_t
acpi_sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + b[i]);
	return s;
}

int
acpi_rsdp_parse(const void *p, size_t len, struct acpi_rsdp_info *out, char *err, size_t errlen)
{
	const uint8_t *b = p;

	memset(out, 0, sizeof *out);
	if (len < 20)
		return fail(E_RANGE, err, errlen, "RSDP: %zu bytes, need 20", len);
	if (memcmp(b, "RSD PTR ", 8) != 0)
		return fail(E_CORRUPT, err, errlen, "RSDP: bad signature");
	if (acpi_sum(b, 20) != 0)
		return fail(E_CORRUPT, err, errlen, "RSDP: checksum of the first 20 bytes fails");
	out->revision = b[15];
	memcpy(out->oem, b + 9, 6);
	out->oem[6] = '\0';
	out->rsdt = rd32(b + 16);
	if (out->revision >= 2) {
		/* The 2.0 RSDP is 36 bytes; a larger claimed length cannot be
		 * checked from the loader's 36-byte copy, so the XSDT is not used. */
		if (len >= 36 && rd32(b + 20) == 36 && acpi_sum(b, 36) == 0)
			out->xsdt = rd64(b + 24);
	}
	if (!out->rsdt && !out->xsdt)
		return fail(E_CORRUPT, err, errlen, "RSDP: neither RSDT nor XSDT address");
	return 0;
}

int
acpi_table_check(const void *t, size_t avail, const char *sig, char *err, size_t errlen)
{
	const uint8_t *b = t;

	if (avail < HDR)
		return fail(E_RANGE, err, errlen, "table header truncated (%zu bytes readable)", avail);
	uint32_t len = rd32(b + 4);
	char s[5] = { (char)b[0], (char)b[1], (char)b[2], (char)b[3], 0 };
	for (int i = 0; i < 4; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			s[i] = '?';
	if (sig && memcmp(b, sig, 4) != 0)
		return fail(E_CORRUPT, err, errlen, "expected %s, found %s", sig, s);
	if (len < HDR)
		return fail(E_CORRUPT, err, errlen, "%s: length %u below the 36-byte header", s, len);
	if (len > ACPI_MAX_TABLE)
		return fail(E_TOOBIG, err, errlen, "%s: absurd length %u (limit %u)", s, len,
			    ACPI_MAX_TABLE);
	if (len > avail)
		return fail(E_RANGE, err, errlen, "%s: length %u past the %zu readable bytes", s, len,
			    avail);
	if (acpi_sum(b, len) != 0)
		return fail(E_CORRUPT, err, errlen, "%s: checksum fails (sum %#x)", s, acpi_sum(b, len));
	return 0;
}

int
acpi_sdt_entries(const void *t, size_t avail, bool xsdt, uint64_t *out, size_t max,
		 size_t *count, char *err, size_t errlen)
{
	const uint8_t *b = t;
	const char *sig = xsdt ? "XSDT" : "RSDT";
	size_t w = xsdt ? 8 : 4;

	int r = acpi_table_check(t, avail, sig, err, errlen);
	if (r)
		return r;
	uint32_t len = rd32(b + 4);
	if ((len - HDR) % w)
		return fail(E_CORRUPT, err, errlen, "%s: %u entry bytes not a multiple of %zu", sig,
			    len - HDR, w);
	size_t n = (len - HDR) / w;
	*count = 0;
	for (size_t i = 0; i < n && *count < max; i++) {
		uint64_t a = xsdt ? rd64(b + HDR + i * 8) : rd32(b + HDR + i * 4);
		if (a)
			out[(*count)++] = a;
	}
	return 0;
}

/* MADT entry minimum lengths by type (ACPI 6.5 5.2.12). */
static uint8_t
madt_min_len(uint8_t type)
{
	switch (type) {
	case 0: return 8;	/* Processor Local APIC */
	case 1: return 12;	/* I/O APIC */
	case 2: return 10;	/* Interrupt Source Override */
	case 3: return 8;	/* NMI Source */
	case 4: return 6;	/* Local APIC NMI */
	case 5: return 12;	/* Local APIC Address Override */
	case 9: return 16;	/* Processor Local x2APIC */
	case 10: return 12;	/* Local x2APIC NMI */
	default: return 2;
	}
}

static void
madt_entry(struct acpi_madt *m, const uint8_t *e)
{
	switch (e[0]) {
	case 0:
	case 9: {
		uint32_t flags = rd32(e + (e[0] == 0 ? 4 : 8));
		if (!(flags & 3))
			break;	/* neither enabled nor online-capable: not a CPU */
		if (m->ncpus == ACPI_MAX_CPUS) {
			m->cpus_dropped++;
			break;
		}
		struct acpi_cpu *c = &m->cpus[m->ncpus++];
		c->x2 = e[0] == 9;
		c->apic_id = c->x2 ? rd32(e + 4) : e[3];
		c->uid = c->x2 ? rd32(e + 12) : e[2];
		c->enabled = flags & 1;
		c->online_capable = flags & 2;
		break;
	}
	case 1:
		if (m->nioapics == ACPI_MAX_IOAPICS) {
			m->ioapics_dropped++;
			break;
		}
		m->ioapics[m->nioapics++] = (struct acpi_ioapic){ e[2], rd32(e + 4), rd32(e + 8) };
		break;
	case 2:
		if (m->nisos == ACPI_MAX_ISOS) {
			m->isos_dropped++;
			break;
		}
		m->isos[m->nisos++] = (struct acpi_iso){ e[2], e[3], rd32(e + 4), rd16(e + 8) };
		break;
	case 3:
		m->nmi_sources++;
		break;
	case 4:
	case 10:
		if (m->nnmis == ACPI_MAX_NMIS) {
			m->nmis_dropped++;
			break;
		}
		if (e[0] == 4)
			m->nmis[m->nnmis++] = (struct acpi_lapic_nmi){ e[2] == 0xFF ? 0xFFFFFFFFu : e[2],
								 rd16(e + 3), e[5] };
		else
			m->nmis[m->nnmis++] = (struct acpi_lapic_nmi){ rd32(e + 4), rd16(e + 2), e[8] };
		break;
	case 5:
		m->lapic_addr = rd64(e + 4);
		break;
	default:
		m->unknown++;
	}
}

int
acpi_madt_parse(const void *t, size_t avail, struct acpi_madt *m, char *err, size_t errlen)
{
	const uint8_t *b = t;

	memset(m, 0, sizeof *m);
	int r = acpi_table_check(t, avail, "APIC", err, errlen);
	if (r)
		return r;
	uint32_t len = rd32(b + 4);
	if (len < HDR + 8)
		return fail(E_CORRUPT, err, errlen, "APIC: length %u below 44", len);
	m->lapic_addr = rd32(b + HDR);
	m->flags = rd32(b + HDR + 4);
	/* First pass validates every entry, so a bad one rejects the whole table. */
	for (uint32_t off = HDR + 8; off < len;) {
		if (len - off < 2)
			return fail(E_CORRUPT, err, errlen, "APIC: entry header at %u truncated", off);
		uint8_t el = b[off + 1];
		if (el < madt_min_len(b[off]) || el > len - off)
			return fail(E_CORRUPT, err, errlen, "APIC: entry type %u at %u has length %u",
				    b[off], off, el);
		off += el;
	}
	for (uint32_t off = HDR + 8; off < len; off += b[off + 1])
		madt_entry(m, b + off);
	return 0;
}

int
acpi_mcfg_parse(const void *t, size_t avail, struct acpi_mcfg *m, char *err, size_t errlen)
{
	const uint8_t *b = t;

	memset(m, 0, sizeof *m);
	int r = acpi_table_check(t, avail, "MCFG", err, errlen);
	if (r)
		return r;
	uint32_t len = rd32(b + 4);
	if (len < HDR + 8 || (len - HDR - 8) % 16)
		return fail(E_CORRUPT, err, errlen, "MCFG: length %u is not 44 + 16*n", len);
	for (uint32_t off = HDR + 8; off < len; off += 16) {
		struct acpi_mcfg_seg s = { rd64(b + off), rd16(b + off + 8), b[off + 10], b[off + 11] };
		if (s.bus_start > s.bus_end || s.base % 4096 || s.base == 0)
			return fail(E_CORRUPT, err, errlen,
				    "MCFG: entry at %u: base %#llx buses %u-%u invalid", off,
				    (unsigned long long)s.base, s.bus_start, s.bus_end);
		if (m->count == ACPI_MAX_MCFG)
			m->dropped++;
		else
			m->seg[m->count++] = s;
	}
	return 0;
}

static struct acpi_gas
rd_gas(const uint8_t *p)
{
	struct acpi_gas g = { p[0], p[1], p[2], p[3], rd64(p + 4) };
	return g;
}

int
acpi_fadt_parse(const void *t, size_t avail, struct acpi_fadt *f, char *err, size_t errlen)
{
	const uint8_t *b = t;

	memset(f, 0, sizeof *f);
	int r = acpi_table_check(t, avail, "FACP", err, errlen);
	if (r)
		return r;
	uint32_t len = rd32(b + 4);
	if (len < 116)	/* ACPI 1.0 FADT ends after FLAGS (offset 112) */
		return fail(E_CORRUPT, err, errlen, "FACP: length %u below the 1.0 size 116", len);
	f->revision = b[8];
	f->sci_irq = rd16(b + 46);
	f->pm_tmr_port = rd32(b + 76);
	if (b[91] < 4)
		f->pm_tmr_port = 0;	/* PM_TMR_LEN must be 4 */
	f->century = b[108];
	f->boot_arch = rd16(b + 109);
	f->flags = rd32(b + 112);
	f->pm_tmr_32bit = f->flags & ACPI_FADT_TMR_VAL_EXT;
	if (len >= 129) {
		f->reset_reg = rd_gas(b + 116);
		f->reset_value = b[128];
		f->reset_supported = (f->flags & ACPI_FADT_RESET_REG_SUP) && f->reset_reg.address &&
				     (f->reset_reg.space == ACPI_GAS_IO ||
				      f->reset_reg.space == ACPI_GAS_MEM ||
				      f->reset_reg.space == ACPI_GAS_PCI);
	}
	/* X_PM_TMR_BLK (offset 208) when it names a port and the 32-bit field does not. */
	if (len >= 220 && !f->pm_tmr_port) {
		struct acpi_gas x = rd_gas(b + 208);
		if (x.space == ACPI_GAS_IO && x.address && x.address < 0x10000)
			f->pm_tmr_port = (uint32_t)x.address;
	}
	return 0;
}

int
acpi_hpet_parse(const void *t, size_t avail, struct acpi_hpet *h, char *err, size_t errlen)
{
	const uint8_t *b = t;

	memset(h, 0, sizeof *h);
	int r = acpi_table_check(t, avail, "HPET", err, errlen);
	if (r)
		return r;
	if (rd32(b + 4) < 56)
		return fail(E_CORRUPT, err, errlen, "HPET: length %u below 56", rd32(b + 4));
	struct acpi_gas g = rd_gas(b + 40);
	if (g.space != ACPI_GAS_MEM || g.address == 0 || g.address % 1024)
		return fail(E_CORRUPT, err, errlen, "HPET: base %#llx (space %u) is not a memory block",
			    (unsigned long long)g.address, g.space);
	h->base = g.address;
	h->block_id = rd32(b + 36);
	h->number = b[52];
	h->min_tick = rd16(b + 53);
	return 0;
}

/* Remapping structures of DMAR / IVHD blocks of IVRS: type, length at off2/len2. */
static int
iommu_walk(const uint8_t *b, uint32_t len, uint32_t start, bool dmar, struct acpi_iommu *out,
	   char *err, size_t errlen)
{
	const char *sig = dmar ? "DMAR" : "IVRS";

	for (uint32_t off = start; off < len;) {
		if (len - off < 4)
			return fail(E_CORRUPT, err, errlen, "%s: structure at %u truncated", sig, off);
		uint16_t type = dmar ? rd16(b + off) : b[off];
		uint16_t sl = rd16(b + off + 2);
		if (sl < 4 || sl > len - off)
			return fail(E_CORRUPT, err, errlen, "%s: structure at %u has length %u", sig, off,
				    sl);
		/* DMAR DRHD (type 0) and IVRS IVHD (types 0x10, 0x11, 0x40) carry a base at +8. */
		bool unit = dmar ? type == 0 : (type == 0x10 || type == 0x11 || type == 0x40);
		if (unit && sl >= 16) {
			if (out->units == ACPI_MAX_IOMMU)
				out->dropped++;
			else
				out->base[out->units++] = rd64(b + off + 8);
		}
		off += sl;
	}
	return 0;
}

int
acpi_dmar_parse(const void *t, size_t avail, struct acpi_iommu *out, char *err, size_t errlen)
{
	const uint8_t *b = t;

	memset(out, 0, sizeof *out);
	int r = acpi_table_check(t, avail, "DMAR", err, errlen);
	if (r)
		return r;
	if (rd32(b + 4) < 48)
		return fail(E_CORRUPT, err, errlen, "DMAR: length %u below 48", rd32(b + 4));
	out->host_addr_width = (uint8_t)(b[36] + 1);
	return iommu_walk(b, rd32(b + 4), 48, true, out, err, errlen);
}

int
acpi_ivrs_parse(const void *t, size_t avail, struct acpi_iommu *out, char *err, size_t errlen)
{
	const uint8_t *b = t;

	memset(out, 0, sizeof *out);
	int r = acpi_table_check(t, avail, "IVRS", err, errlen);
	if (r)
		return r;
	if (rd32(b + 4) < 48)
		return fail(E_CORRUPT, err, errlen, "IVRS: length %u below 48", rd32(b + 4));
	return iommu_walk(b, rd32(b + 4), 48, false, out, err, errlen);
}
