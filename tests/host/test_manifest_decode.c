/*
 * lib/manifest decoder: binary BootManifest -> model.
 *
 * Messages are built with the builders generated from schema/manifest.capnp
 * (the official tool's encoding is covered end to end by
 * test_manifest_tool). Cases: a full round trip of every field kind; framing
 * errors (garbage, truncation, trailing bytes, oversize); the model's
 * capacity limits; union members from a newer schema (must fail closed in
 * the validator); and a byte-mutation sweep that must never crash under
 * ASan/UBSan nor validate a manifest with an unknown source.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "capnp/capnp.h"
#include "manifest/manifest.h"
#include "schema/manifest.capnp.h"

static uint8_t arena[1 << 18] __attribute__((aligned(8)));
static uint8_t wire[1 << 18] __attribute__((aligned(8)));
static struct mf_manifest M;
static struct mf_error E;

static struct capnp_builder B;
static BootManifest_B root;

static void
begin(uint32_t nservices, struct capnp_blist *services)
{
	assert_int_equal(capnp_builder_init(&B, arena, sizeof(arena), 0), 0);
	assert_int_equal(BootManifest_init_root(&B, &root), 0);
	BootManifest_set_formatVersion(root, 1);
	assert_int_equal(BootManifest_init_services(root, nservices, services), 0);
}

static size_t
finish(void)
{
	int n = capnp_builder_write(&B, wire, sizeof(wire));
	assert_true(n > 0);
	return (size_t)n;
}

static void
set_service(const struct capnp_blist *l, uint32_t i, const char *name, const char *binary,
    uint32_t ngrants, struct capnp_blist *grants, Service_B *out)
{
	assert_int_equal(Service_blist_get(l, i, out), 0);
	assert_int_equal(Service_set_name(*out, name, strlen(name)), 0);
	assert_int_equal(Service_set_binary(*out, binary, strlen(binary)), 0);
	assert_int_equal(Service_init_grants(*out, ngrants, grants), 0);
}

static KernelSource_B
kernel_grant(const struct capnp_blist *grants, uint32_t i, const char *name)
{
	Grant_B g;
	KernelSource_B k;
	assert_int_equal(Grant_blist_get(grants, i, &g), 0);
	assert_int_equal(Grant_set_name(g, name, strlen(name)), 0);
	assert_int_equal(Grant_source_init_kernel(Grant_init_source(g), &k), 0);
	return k;
}

/* driver: console, mmio by address, irq by ids, dma, block device; exports
 * "nic". user: console + a grant of driver's export. */
static size_t
build_full(void)
{
	struct capnp_blist services, grants, exports;
	Service_B s;
	KernelSource_B k;
	DeviceMmioClaim_B mmio;
	InterruptClaim_B irq;
	DmaPoolClaim_B dma;
	PciIdentity_B id;
	PciAddress_B a;
	PciIds_B ids;
	Export_B e;
	Grant_B g;
	ServiceExportRef_B ref;

	begin(2, &services);
	set_service(&services, 0, "driver", "virtio-net", 5, &grants, &s);
	Service_set_restart(s, RestartPolicy_always);
	Service_set_maxRestarts(s, 7);
	KernelSource_set_console(kernel_grant(&grants, 0, "console"));

	k = kernel_grant(&grants, 1, "mmio");
	assert_int_equal(KernelSource_init_deviceMmio(k, &mmio), 0);
	DeviceMmioClaim_set_bar(mmio, 4);
	assert_int_equal(DeviceMmioClaim_init_device(mmio, &id), 0);
	assert_int_equal(PciIdentity_init_address(id, &a), 0);
	PciAddress_set_segment(a, 1);
	PciAddress_set_bus(a, 2);
	PciAddress_set_device(a, 3);
	PciAddress_set_function(a, 4);

	k = kernel_grant(&grants, 2, "irq");
	assert_int_equal(KernelSource_init_interrupt(k, &irq), 0);
	InterruptClaim_set_index(irq, 9);
	assert_int_equal(InterruptClaim_init_device(irq, &id), 0);
	assert_int_equal(PciIdentity_init_ids(id, &ids), 0);
	PciIds_set_vendor(ids, 0x1af4);
	PciIds_set_device(ids, 0x1041);
	PciIds_set_instance(ids, 1);

	k = kernel_grant(&grants, 3, "dma");
	assert_int_equal(KernelSource_init_dmaPool(k, &dma), 0);
	DmaPoolClaim_set_budgetBytes(dma, 1 << 20);
	assert_int_equal(DmaPoolClaim_init_device(dma, &id), 0);
	assert_int_equal(PciIdentity_init_ids(id, &ids), 0);
	PciIds_set_vendor(ids, 0x1af4);
	PciIds_set_device(ids, 0x1041);
	PciIds_set_instance(ids, 1);

	k = kernel_grant(&grants, 4, "audit");
	KernelSource_set_hardwareAuditLog(k);

	assert_int_equal(Service_init_exports(s, 1, &exports), 0);
	assert_int_equal(Export_blist_get(&exports, 0, &e), 0);
	assert_int_equal(Export_set_name(e, "nic", 3), 0);
	Export_set_interfaceId(e, 0xdf4c351192f129f1ull);

	set_service(&services, 1, "user", "app", 2, &grants, &s);
	KernelSource_set_console(kernel_grant(&grants, 0, "console"));
	assert_int_equal(Grant_blist_get(&grants, 1, &g), 0);
	assert_int_equal(Grant_set_name(g, "net", 3), 0);
	assert_int_equal(Grant_source_init_service(Grant_init_source(g), &ref), 0);
	assert_int_equal(ServiceExportRef_set_service(ref, "driver", 6), 0);
	assert_int_equal(ServiceExportRef_set_export(ref, "nic", 3), 0);
	return finish();
}

static int
streq(struct mf_str s, const char *c)
{
	return mf_str_eq(s, mf_cstr(c));
}

static void
test_round_trip(void **state)
{
	size_t n = build_full();
	(void)state;

	assert_int_equal(mf_decode(wire, n, &M, &E), 0);
	assert_int_equal(M.format_version, 1);
	assert_int_equal(M.nservices, 2);
	assert_int_equal(M.ngrants, 7);
	assert_int_equal(M.nexports, 1);

	const struct mf_service *d = &M.services[0], *u = &M.services[1];
	assert_true(streq(d->name, "driver") && streq(d->binary, "virtio-net"));
	assert_int_equal(d->restart, MF_RESTART_ALWAYS);
	assert_int_equal(d->max_restarts, 7);
	assert_int_equal(d->ngrants, 5);
	assert_int_equal(d->nexports, 1);

	const struct mf_grant *g = &M.grants[d->first_grant];
	assert_int_equal(g[0].source, MF_SRC_CONSOLE);
	assert_int_equal(g[1].source, MF_SRC_DEVICE_MMIO);
	assert_int_equal(g[1].bar, 4);
	assert_int_equal(g[1].pci.kind, MF_PCI_ADDRESS);
	assert_int_equal(g[1].pci.segment, 1);
	assert_int_equal(g[1].pci.bus, 2);
	assert_int_equal(g[1].pci.dev, 3);
	assert_int_equal(g[1].pci.fn, 4);
	assert_int_equal(g[2].source, MF_SRC_INTERRUPT);
	assert_int_equal(g[2].irq_index, 9);
	assert_int_equal(g[2].irq_kind, MF_IRQ_MSIX);	/* kind absent: the default */
	assert_int_equal(g[2].pci.kind, MF_PCI_IDS);
	assert_int_equal(g[2].pci.vendor, 0x1af4);
	assert_int_equal(g[2].pci.device, 0x1041);
	assert_int_equal(g[2].pci.instance, 1);
	assert_int_equal(g[3].source, MF_SRC_DMA_POOL);
	assert_int_equal(g[3].dma_budget, 1 << 20);
	assert_int_equal(g[4].source, MF_SRC_HARDWARE_AUDIT_LOG);
	assert_true(streq(M.exports[d->first_export].name, "nic"));
	assert_int_equal(M.exports[d->first_export].interface_id, 0xdf4c351192f129f1ull);

	g = &M.grants[u->first_grant];
	assert_int_equal(g[1].source, MF_SRC_SERVICE);
	assert_true(streq(g[1].service, "driver") && streq(g[1].export_name, "nic"));

	assert_int_equal(mf_validate(&M, NULL, &E), 0);
	assert_int_equal(M.start_order[0], 0);
	assert_int_equal(M.start_order[1], 1);
}

static void
expect_decode(const void *buf, size_t len, int code, const char *msg)
{
	int rc = mf_decode(buf, len, &M, &E);
	if (rc != code || strstr(E.msg, msg) == NULL)
		fail_msg("rc %d (%s) want %d, message \"%s\" lacks \"%s\"", rc, err_name(rc), code,
		    E.msg, msg);
}

static void
test_garbage(void **state)
{
	static const uint8_t junk[16] = { 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4 };
	(void)state;
	assert_true(mf_decode(junk, sizeof(junk), &M, &E) < 0);
	assert_non_null(strstr(E.msg, "manifest: not a capnp message"));
	assert_true(mf_decode(junk, 0, &M, &E) < 0);
	assert_non_null(strstr(E.msg, "manifest: not a capnp message"));
}

static void
test_truncated(void **state)
{
	size_t n = build_full();
	(void)state;
	for (size_t cut = 8; cut < n; cut += 8) {
		int rc = mf_decode(wire, n - cut, &M, &E);
		assert_true(rc < 0);
		assert_non_null(strstr(E.msg, "manifest:"));
	}
}

static void
test_trailing(void **state)
{
	size_t n = build_full();
	(void)state;
	memset(wire + n, 0, 8);
	expect_decode(wire, n + 8, E_CORRUPT, "manifest: 8 trailing bytes after the message");
}

static void
test_too_big(void **state)
{
	(void)state;
	expect_decode(wire, MF_MAX_MANIFEST_BYTES + 8, E_TOOBIG, "manifest: 65544 bytes, limit 65536");
}

static void
test_too_many_services(void **state)
{
	struct capnp_blist services, grants;
	Service_B s;
	char name[16];
	(void)state;
	begin(MF_MAX_SERVICES + 1, &services);
	for (uint32_t i = 0; i <= MF_MAX_SERVICES; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		set_service(&services, i, name, "app", 0, &grants, &s);
	}
	size_t n = finish();
	expect_decode(wire, n, E_LIMIT, "manifest: 65 services, limit 64");
}

static void
test_too_many_service_grants(void **state)
{
	struct capnp_blist services, grants;
	Service_B s;
	(void)state;
	begin(1, &services);
	set_service(&services, 0, "big", "app", MF_MAX_SERVICE_GRANTS + 1, &grants, &s);
	size_t n = finish();
	expect_decode(wire, n, E_LIMIT, "service \"big\": 33 grants, limit 32");
}

static void
test_too_many_grants_total(void **state)
{
	struct capnp_blist services, grants;
	Service_B s;
	char name[16];
	uint32_t count = MF_MAX_GRANTS / MF_MAX_SERVICE_GRANTS + 1;
	(void)state;
	begin(count, &services);
	for (uint32_t i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		set_service(&services, i, name, "app", MF_MAX_SERVICE_GRANTS, &grants, &s);
	}
	size_t n = finish();
	expect_decode(wire, n, E_LIMIT, "service \"s16\": more than 512 grants in the manifest");
}

static void
test_too_many_exports(void **state)
{
	struct capnp_blist services, grants, exports;
	Service_B s;
	(void)state;
	begin(1, &services);
	set_service(&services, 0, "wide", "app", 0, &grants, &s);
	assert_int_equal(Service_init_exports(s, MF_MAX_SERVICE_EXPORTS + 1, &exports), 0);
	size_t n = finish();
	expect_decode(wire, n, E_LIMIT, "service \"wide\": 17 exports, limit 16");
}

/* A union member from a newer schema: raw discriminant past the known ones. */
static void
test_unknown_union_members(void **state)
{
	struct capnp_blist services, grants;
	Service_B s;
	Grant_B g;
	KernelSource_B k;
	DeviceMmioClaim_B mmio;
	PciIdentity_B id;
	(void)state;

	begin(1, &services);
	set_service(&services, 0, "svc", "app", 3, &grants, &s);
	k = kernel_grant(&grants, 0, "future");
	capnp_set_u16(&k.s, 0, 42);                       /* KernelSource discriminant */
	assert_int_equal(Grant_blist_get(&grants, 1, &g), 0);
	assert_int_equal(Grant_set_name(g, "other", 5), 0);
	capnp_set_u16(&g.s, 0, 7);                        /* Grant.source discriminant */
	k = kernel_grant(&grants, 2, "mmio");
	assert_int_equal(KernelSource_init_deviceMmio(k, &mmio), 0);
	assert_int_equal(DeviceMmioClaim_init_device(mmio, &id), 0);
	capnp_set_u16(&id.s, 0, 9);                       /* PciIdentity discriminant */
	size_t n = finish();

	assert_int_equal(mf_decode(wire, n, &M, &E), 0);
	assert_int_equal(M.grants[0].source, MF_SRC_UNKNOWN);
	assert_int_equal(M.grants[1].source, MF_SRC_UNKNOWN);
	assert_int_equal(M.grants[2].pci.kind, MF_PCI_UNKNOWN);
	assert_int_equal(mf_validate(&M, NULL, &E), E_NOTSUP);
	assert_string_equal(E.msg, "service \"svc\": grant \"future\": unknown kernel source");
}

/* InterruptClaim.kind: intx decodes; a kind from a newer schema is refused. */
static void
test_interrupt_kind(void **state)
{
	static const struct { uint16_t kind; int rc; const char *msg; } cases[] = {
		{ MF_IRQ_INTX, 0, NULL },
		{ MF_IRQ_MSI, 0, NULL },
		{ 3, E_INVAL, "service \"svc\": grant \"irq\": unknown interrupt kind 3 (msix, msi or intx)" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct capnp_blist services, grants;
		Service_B s;
		KernelSource_B k;
		InterruptClaim_B irq;
		PciIdentity_B id;
		PciIds_B ids;

		begin(1, &services);
		set_service(&services, 0, "svc", "app", 1, &grants, &s);
		k = kernel_grant(&grants, 0, "irq");
		assert_int_equal(KernelSource_init_interrupt(k, &irq), 0);
		capnp_set_u16(&irq.s, 2, cases[i].kind);	/* raw: past the known enumerants too */
		assert_int_equal(InterruptClaim_init_device(irq, &id), 0);
		assert_int_equal(PciIdentity_init_ids(id, &ids), 0);
		PciIds_set_vendor(ids, 0x1af4);
		PciIds_set_device(ids, 0x1001);
		size_t n = finish();

		assert_int_equal(mf_decode(wire, n, &M, &E), 0);
		assert_int_equal(M.grants[0].irq_kind, cases[i].kind);
		assert_int_equal(mf_validate(&M, NULL, &E), cases[i].rc);
		if (cases[i].msg)
			assert_string_equal(E.msg, cases[i].msg);
	}
}

/* Every byte replaced by a few values: decode + validate must stay within
 * bounds (the sanitizers watch) and never accept an unknown source. */
static void
test_mutation_sweep(void **state)
{
	static uint8_t copy[1 << 12];
	size_t n = build_full();
	uint32_t accepted = 0, rejected = 0;
	(void)state;

	assert_true(n <= sizeof(copy));
	for (size_t i = 0; i < n; i++) {
		const uint8_t vals[4] = { 0x00, 0xff, (uint8_t)(wire[i] ^ 0x80), (uint8_t)(wire[i] + 1) };
		for (int v = 0; v < 4; v++) {
			memcpy(copy, wire, n);
			copy[i] = vals[v];
			if (mf_decode(copy, n, &M, &E) < 0 || mf_validate(&M, NULL, &E) < 0) {
				rejected++;
				assert_true(E.code < 0 && E.msg[0] != '\0');
				continue;
			}
			accepted++;
			for (uint32_t k = 0; k < M.ngrants; k++) {
				assert_true(M.grants[k].source != MF_SRC_UNKNOWN &&
				    M.grants[k].source != MF_SRC_UNSET &&
				    M.grants[k].source != MF_SRC_KERNEL_UNSET);
			}
		}
	}
	assert_true(rejected > 0);
	print_message("mutation sweep: %u accepted, %u rejected\n", accepted, rejected);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_too_many_services),
		cmocka_unit_test(test_too_many_service_grants),
		cmocka_unit_test(test_too_many_grants_total),
		cmocka_unit_test(test_too_many_exports),
		cmocka_unit_test(test_unknown_union_members),
		cmocka_unit_test(test_interrupt_kind),
		cmocka_unit_test(test_mutation_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
