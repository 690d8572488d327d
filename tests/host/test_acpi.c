/*
 * ACPI table parsers: against QEMU's real tables (fixtures/acpi/, captured
 * with capos.acpi_dump, see capture.py) and against hand-built hostile ones:
 * bad checksums, truncation, absurd lengths, zero-length and overrunning
 * sub-structures, bounds on every array. A mutation sweep over the real
 * tables (checksum repaired after each change) must never read out of
 * bounds (ASan) and never loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "acpi/acpi.h"
#include "base/err.h"

static char err[128];

static size_t
load(const char *name, uint8_t *buf, size_t max)
{
	char path[256];
	snprintf(path, sizeof path, "../tests/host/fixtures/acpi/%s", name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, max, f);
	fclose(f);
	return n;
}

static void
fix_sum(uint8_t *t, size_t len)
{
	t[9] = 0;
	t[9] = (uint8_t)(0x100 - acpi_sum(t, len));
}

/* A table with header + body; returns its length. */
static size_t
mk(uint8_t *t, const char *sig, const void *body, size_t blen)
{
	memset(t, 0, 36);
	memcpy(t, sig, 4);
	uint32_t len = (uint32_t)(36 + blen);
	memcpy(t + 4, &len, 4);
	t[8] = 1;
	memcpy(t + 10, "CAPOST", 6);
	memcpy(t + 36, body, blen);
	fix_sum(t, len);
	return len;
}

static void
test_real_q35(void **state)
{
	static uint8_t b[4096];
	struct acpi_madt m;
	struct acpi_mcfg mc;
	struct acpi_fadt f;
	struct acpi_hpet h;
	size_t n;

	n = load("q35-APIC.bin", b, sizeof b);
	assert_int_equal(acpi_madt_parse(b, n, &m, err, sizeof err), 0);
	assert_int_equal(m.ncpus, 1);
	assert_int_equal(m.cpus[0].apic_id, 0);
	assert_true(m.cpus[0].enabled);
	assert_int_equal(m.nioapics, 1);
	assert_int_equal(m.ioapics[0].addr, 0xFEC00000u);
	assert_int_equal(m.ioapics[0].gsi_base, 0);
	assert_int_equal(m.lapic_addr, 0xFEE00000u);
	assert_int_equal(m.nisos, 5);
	assert_int_equal(m.isos[0].source, 0);	/* the PIT: IRQ 0 -> GSI 2 */
	assert_int_equal(m.isos[0].gsi, 2);
	assert_int_equal(m.nnmis, 1);
	assert_int_equal(m.nnmis, 1);
	assert_int_equal(m.nmis[0].lint, 1);

	n = load("q35-MCFG.bin", b, sizeof b);
	assert_int_equal(acpi_mcfg_parse(b, n, &mc, err, sizeof err), 0);
	assert_int_equal(mc.count, 1);
	assert_int_equal(mc.seg[0].base, 0xB0000000u);
	assert_int_equal(mc.seg[0].bus_start, 0);
	assert_int_equal(mc.seg[0].bus_end, 255);

	n = load("q35-FACP.bin", b, sizeof b);
	assert_int_equal(acpi_fadt_parse(b, n, &f, err, sizeof err), 0);
	assert_true(f.reset_supported);
	assert_int_equal(f.reset_reg.space, ACPI_GAS_IO);
	assert_int_equal(f.reset_reg.address, 0xCF9);
	assert_int_equal(f.reset_value, 0x0F);	/* ICH9 RST_CNT: full reset */
	assert_int_equal(f.pm_tmr_port, 0x608);
	assert_int_equal(f.century, 0x32);
	assert_int_equal(f.sci_irq, 9);

	n = load("q35-HPET.bin", b, sizeof b);
	assert_int_equal(acpi_hpet_parse(b, n, &h, err, sizeof err), 0);
	assert_int_equal(h.base, 0xFED00000u);

	/* Wrong parser for the table: refused by signature. */
	assert_int_equal(acpi_madt_parse(b, n, &m, err, sizeof err), E_CORRUPT);
	assert_non_null(strstr(err, "expected APIC, found HPET"));
}

static void
test_real_pc(void **state)
{
	static uint8_t b[4096];
	struct acpi_madt m;
	struct acpi_fadt f;
	size_t n;

	n = load("pc-FACP.bin", b, sizeof b);
	assert_int_equal(acpi_fadt_parse(b, n, &f, err, sizeof err), 0);
	assert_int_equal(n, 116);		/* an ACPI 1.0 FADT: no reset register */
	assert_false(f.reset_supported);
	assert_int_equal(f.pm_tmr_port, 0x608);
	n = load("pc-APIC.bin", b, sizeof b);
	assert_int_equal(acpi_madt_parse(b, n, &m, err, sizeof err), 0);
	assert_int_equal(m.ncpus, 1);
	assert_int_equal(m.nioapics, 1);
	assert_true(m.flags & 1);
}

static void
mk_rsdp(uint8_t *r, int rev, uint32_t rsdt, uint64_t xsdt)
{
	memset(r, 0, 36);
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "CAPOS ", 6);
	r[15] = (uint8_t)rev;
	memcpy(r + 16, &rsdt, 4);
	uint32_t len = 36;
	memcpy(r + 20, &len, 4);
	memcpy(r + 24, &xsdt, 8);
	r[8] = (uint8_t)(0x100 - acpi_sum(r, 20));
	r[32] = (uint8_t)(0x100 - acpi_sum(r, 36));
}

static void
test_rsdp(void **state)
{
	uint8_t r[36];
	struct acpi_rsdp_info i;

	mk_rsdp(r, 0, 0x7FE0000, 0);
	assert_int_equal(acpi_rsdp_parse(r, 20, &i, err, sizeof err), 0);
	assert_int_equal(i.revision, 0);
	assert_int_equal(i.rsdt, 0x7FE0000);
	assert_int_equal(i.xsdt, 0);
	assert_string_equal(i.oem, "CAPOS ");

	mk_rsdp(r, 2, 0x7FE0000, 0x7FE1000);
	assert_int_equal(acpi_rsdp_parse(r, 36, &i, err, sizeof err), 0);
	assert_int_equal(i.xsdt, 0x7FE1000);

	/* Extended checksum broken: the XSDT is dropped, the RSDT kept. */
	r[33] ^= 1;
	assert_int_equal(acpi_rsdp_parse(r, 36, &i, err, sizeof err), 0);
	assert_int_equal(i.xsdt, 0);
	assert_int_equal(i.rsdt, 0x7FE0000);

	/* 1.0 checksum broken: refused. */
	mk_rsdp(r, 2, 0x7FE0000, 0x7FE1000);
	r[16] ^= 0x10;
	assert_int_equal(acpi_rsdp_parse(r, 36, &i, err, sizeof err), E_CORRUPT);
	assert_non_null(strstr(err, "checksum"));

	mk_rsdp(r, 0, 0x7FE0000, 0);
	r[0] = 'X';
	assert_int_equal(acpi_rsdp_parse(r, 36, &i, err, sizeof err), E_CORRUPT);
	assert_int_equal(acpi_rsdp_parse(r, 19, &i, err, sizeof err), E_RANGE);
	mk_rsdp(r, 0, 0, 0);
	assert_int_equal(acpi_rsdp_parse(r, 20, &i, err, sizeof err), E_CORRUPT);
}

static void
test_table_check(void **state)
{
	static uint8_t t[256];
	uint8_t body[8] = { 1, 2, 3, 4 };
	size_t n = mk(t, "WAET", body, sizeof body);

	assert_int_equal(acpi_table_check(t, n, "WAET", err, sizeof err), 0);
	assert_int_equal(acpi_table_check(t, n, NULL, err, sizeof err), 0);
	/* Truncated: fewer bytes readable than the length claims. */
	assert_int_equal(acpi_table_check(t, n - 1, NULL, err, sizeof err), E_RANGE);
	assert_int_equal(acpi_table_check(t, 20, NULL, err, sizeof err), E_RANGE);
	/* Bad checksum. */
	t[40] ^= 0xFF;
	assert_int_equal(acpi_table_check(t, n, NULL, err, sizeof err), E_CORRUPT);
	assert_non_null(strstr(err, "checksum"));
	t[40] ^= 0xFF;
	/* Absurd and too-small lengths. */
	uint32_t big = 0xFFFFFFF0u;
	memcpy(t + 4, &big, 4);
	assert_int_equal(acpi_table_check(t, sizeof t, NULL, err, sizeof err), E_TOOBIG);
	assert_non_null(strstr(err, "absurd length"));
	uint32_t small = 12;
	memcpy(t + 4, &small, 4);
	assert_int_equal(acpi_table_check(t, sizeof t, NULL, err, sizeof err), E_CORRUPT);
	/* Non-printable signature is shown safely. */
	n = mk(t, "\x01\x02\x03\x04", body, sizeof body);
	assert_int_equal(acpi_table_check(t, n, "APIC", err, sizeof err), E_CORRUPT);
	assert_non_null(strstr(err, "????"));
}

static void
test_sdt(void **state)
{
	static uint8_t t[256];
	uint64_t e[8], xe[3] = { 0x1000, 0, 0x3000 };
	uint32_t re[3] = { 0x1000, 0x2000, 0x3000 };
	size_t n = 0, len;

	len = mk(t, "RSDT", re, sizeof re);
	assert_int_equal(acpi_sdt_entries(t, len, false, e, 8, &n, err, sizeof err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(e[2], 0x3000);
	/* Bounded output. */
	assert_int_equal(acpi_sdt_entries(t, len, false, e, 2, &n, err, sizeof err), 0);
	assert_int_equal(n, 2);
	len = mk(t, "XSDT", xe, sizeof xe);
	assert_int_equal(acpi_sdt_entries(t, len, true, e, 8, &n, err, sizeof err), 0);
	assert_int_equal(n, 2);	/* null entries skipped */
	/* An XSDT whose entry bytes are not a multiple of 8. */
	len = mk(t, "XSDT", xe, 12);
	assert_int_equal(acpi_sdt_entries(t, len, true, e, 8, &n, err, sizeof err), E_CORRUPT);
	/* RSDT parsed as XSDT: signature refused. */
	len = mk(t, "RSDT", re, sizeof re);
	assert_int_equal(acpi_sdt_entries(t, len, true, e, 8, &n, err, sizeof err), E_CORRUPT);
}

static size_t
madt(uint8_t *t, const uint8_t *entries, size_t elen)
{
	static uint8_t body[2048];
	uint32_t lapic = 0xFEE00000u, flags = 1;
	memcpy(body, &lapic, 4);
	memcpy(body + 4, &flags, 4);
	memcpy(body + 8, entries, elen);
	return mk(t, "APIC", body, 8 + elen);
}

static void
test_madt_hostile(void **state)
{
	static uint8_t t[4096], e[2048];
	struct acpi_madt m;
	size_t n;

	/* Zero-length entry: must be refused, not looped on. */
	uint8_t zero[] = { 0, 0, 0, 0, 0, 0, 0, 0 };
	n = madt(t, zero, sizeof zero);
	assert_int_equal(acpi_madt_parse(t, n, &m, err, sizeof err), E_CORRUPT);
	/* An I/O APIC entry shorter than its type needs. */
	uint8_t shortio[] = { 1, 8, 0, 0, 0, 0, 0xC0, 0xFE };
	n = madt(t, shortio, sizeof shortio);
	assert_int_equal(acpi_madt_parse(t, n, &m, err, sizeof err), E_CORRUPT);
	/* An entry running past the table. */
	uint8_t over[] = { 0, 20, 0, 0, 1, 0, 0, 0 };
	n = madt(t, over, sizeof over);
	assert_int_equal(acpi_madt_parse(t, n, &m, err, sizeof err), E_CORRUPT);
	/* A trailing single byte. */
	uint8_t trail[] = { 0, 8, 0, 0, 1, 0, 0, 0, 9 };
	n = madt(t, trail, sizeof trail);
	assert_int_equal(acpi_madt_parse(t, n, &m, err, sizeof err), E_CORRUPT);

	/* 70 processors: 64 kept, 6 counted; disabled ones skipped; x2APIC and override. */
	size_t off = 0;
	for (int i = 0; i < 70; i++) {
		uint8_t c[8] = { 0, 8, (uint8_t)i, (uint8_t)i, 1, 0, 0, 0 };
		memcpy(e + off, c, 8);
		off += 8;
	}
	uint8_t dis[8] = { 0, 8, 99, 99, 0, 0, 0, 0 };
	memcpy(e + off, dis, 8);
	off += 8;
	uint8_t x2[16] = { 9, 16, 0, 0, 0x00, 0x01, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0 };
	memcpy(e + off, x2, 16);
	off += 16;
	uint8_t ovr[12] = { 5, 12, 0, 0, 0, 0, 0xD0, 0xFE, 0, 0, 0, 0 };
	memcpy(e + off, ovr, 12);
	off += 12;
	uint8_t unk[4] = { 0x7F, 4, 0, 0 };
	memcpy(e + off, unk, 4);
	off += 4;
	n = madt(t, e, off);
	assert_int_equal(acpi_madt_parse(t, n, &m, err, sizeof err), 0);
	assert_int_equal(m.ncpus, 64);
	assert_int_equal(m.cpus_dropped, 7);	/* 6 legacy + the x2APIC one */
	assert_int_equal(m.lapic_addr, 0xFED00000u);
	assert_int_equal(m.unknown, 1);

	off = 0;
	memcpy(e + off, x2, 16);
	off += 16;
	uint8_t x2nmi[12] = { 10, 12, 5, 0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0 };
	memcpy(e + off, x2nmi, 12);
	off += 12;
	n = madt(t, e, off);
	assert_int_equal(acpi_madt_parse(t, n, &m, err, sizeof err), 0);
	assert_int_equal(m.ncpus, 1);
	assert_true(m.cpus[0].x2);
	assert_int_equal(m.cpus[0].apic_id, 256);
	assert_int_equal(m.cpus[0].uid, 7);
	assert_int_equal(m.nmis[0].uid, 0xFFFFFFFFu);
	assert_int_equal(m.nmis[0].lint, 1);
}

static void
test_mcfg_fadt_hpet_hostile(void **state)
{
	static uint8_t t[512], body[256];
	struct acpi_mcfg mc;
	struct acpi_fadt f;
	struct acpi_hpet h;
	size_t n;

	memset(body, 0, sizeof body);
	uint64_t base = 0xB0000000u;
	memcpy(body + 8, &base, 8);
	body[18] = 10;	/* start bus above end bus */
	body[19] = 2;
	n = mk(t, "MCFG", body, 24);
	assert_int_equal(acpi_mcfg_parse(t, n, &mc, err, sizeof err), E_CORRUPT);
	n = mk(t, "MCFG", body, 20);	/* not 8 + 16n */
	assert_int_equal(acpi_mcfg_parse(t, n, &mc, err, sizeof err), E_CORRUPT);
	body[18] = 0;
	body[19] = 255;
	n = mk(t, "MCFG", body, 24);
	assert_int_equal(acpi_mcfg_parse(t, n, &mc, err, sizeof err), 0);

	memset(body, 0, sizeof body);
	n = mk(t, "FACP", body, 40);	/* 76 bytes: below the 1.0 size */
	assert_int_equal(acpi_fadt_parse(t, n, &f, err, sizeof err), E_CORRUPT);

	memset(body, 0, sizeof body);
	body[4] = 1;	/* HPET in I/O space: refused */
	n = mk(t, "HPET", body, 20);
	assert_int_equal(acpi_hpet_parse(t, n, &h, err, sizeof err), E_CORRUPT);
	n = mk(t, "HPET", body, 10);
	assert_int_equal(acpi_hpet_parse(t, n, &h, err, sizeof err), E_CORRUPT);
}

static void
test_dmar_ivrs(void **state)
{
	static uint8_t t[512], body[256];
	struct acpi_iommu io;
	size_t n;

	memset(body, 0, sizeof body);
	body[0] = 38;	/* host address width - 1 */
	/* DRHD at 48: type 0, length 16, base 0xFED90000 */
	body[12] = 0;
	body[14] = 16;
	uint64_t base = 0xFED90000u;
	memcpy(body + 12 + 8, &base, 8);
	n = mk(t, "DMAR", body, 12 + 16);
	assert_int_equal(acpi_dmar_parse(t, n, &io, err, sizeof err), 0);
	assert_int_equal(io.units, 1);
	assert_int_equal(io.base[0], 0xFED90000u);
	assert_int_equal(io.host_addr_width, 39);
	body[14] = 0;	/* zero-length structure */
	n = mk(t, "DMAR", body, 12 + 16);
	assert_int_equal(acpi_dmar_parse(t, n, &io, err, sizeof err), E_CORRUPT);
	body[14] = 200;	/* past the end */
	n = mk(t, "DMAR", body, 12 + 16);
	assert_int_equal(acpi_dmar_parse(t, n, &io, err, sizeof err), E_CORRUPT);

	memset(body, 0, sizeof body);
	body[12] = 0x11;
	body[14] = 24;
	memcpy(body + 12 + 8, &base, 8);
	n = mk(t, "IVRS", body, 12 + 24);
	assert_int_equal(acpi_ivrs_parse(t, n, &io, err, sizeof err), 0);
	assert_int_equal(io.units, 1);
	n = mk(t, "IVRS", body, 12 + 2);	/* structure header truncated */
	assert_int_equal(acpi_ivrs_parse(t, n, &io, err, sizeof err), E_CORRUPT);
}

/* Flip each byte of each real table (checksum repaired) and run every parser. */
static void
test_mutation_sweep(void **state)
{
	static const char *const names[] = { "q35-APIC.bin", "q35-FACP.bin", "q35-MCFG.bin",
					     "q35-HPET.bin", "pc-APIC.bin", "pc-FACP.bin" };
	static uint8_t orig[4096];
	struct acpi_madt m;
	struct acpi_mcfg mc;
	struct acpi_fadt f;
	struct acpi_hpet h;
	struct acpi_iommu io;
	unsigned accepted = 0, runs = 0;

	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		size_t n = load(names[k], orig, sizeof orig);
		for (size_t i = 0; i < n; i++)
			for (int v = 0; v < 3; v++) {
				uint8_t *t = malloc(n);	/* exact size: ASan sees over-reads */
				memcpy(t, orig, n);
				t[i] = v == 0 ? (uint8_t)~t[i] : v == 1 ? 0 : 0xFF;
				if (i != 9)
					fix_sum(t, n);
				accepted += acpi_madt_parse(t, n, &m, err, sizeof err) == 0;
				accepted += acpi_mcfg_parse(t, n, &mc, err, sizeof err) == 0;
				accepted += acpi_fadt_parse(t, n, &f, err, sizeof err) == 0;
				accepted += acpi_hpet_parse(t, n, &h, err, sizeof err) == 0;
				accepted += acpi_dmar_parse(t, n, &io, err, sizeof err) == 0;
				accepted += acpi_ivrs_parse(t, n, &io, err, sizeof err) == 0;
				runs++;
				free(t);
			}
	}
	assert_true(runs > 1000);
	assert_true(accepted > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_q35),
		cmocka_unit_test(test_real_pc),
		cmocka_unit_test(test_rsdp),
		cmocka_unit_test(test_table_check),
		cmocka_unit_test(test_sdt),
		cmocka_unit_test(test_madt_hostile),
		cmocka_unit_test(test_mcfg_fadt_hpet_hostile),
		cmocka_unit_test(test_dmar_ivrs),
		cmocka_unit_test(test_mutation_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
