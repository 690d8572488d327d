/*
 * lib/manifest validator: every rule of docs/manifest.md, one case each.
 *
 * Each case starts from one good manifest (three services in reverse
 * dependency order, so the start order is computed, not copied), applies one
 * mutation, and expects an exact error code and a message naming the entry.
 * Cases have stable ids (MANIFEST0001...) to quote in reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "manifest/manifest.h"

static struct mf_manifest M;

/* ---- a small builder over the model ---- */

static struct mf_service *
svc(const char *name, const char *binary)
{
	struct mf_service *s = &M.services[M.nservices++];
	memset(s, 0, sizeof(*s));
	s->name = mf_cstr(name);
	s->binary = mf_cstr(binary);
	s->first_grant = M.ngrants;
	s->first_export = M.nexports;
	return s;
}

static struct mf_service *
last(void)
{
	return &M.services[M.nservices - 1];
}

static struct mf_grant *
grant(const char *name, unsigned source)
{
	struct mf_grant *g = &M.grants[M.ngrants++];
	memset(g, 0, sizeof(*g));
	g->name = mf_cstr(name);
	g->source = (uint8_t)source;
	last()->ngrants++;
	return g;
}

static struct mf_grant *
grant_pci(const char *name, unsigned source, uint8_t bus, uint8_t dev, uint8_t fn)
{
	struct mf_grant *g = grant(name, source);
	g->pci.kind = MF_PCI_ADDRESS;
	g->pci.bus = bus;
	g->pci.dev = dev;
	g->pci.fn = fn;
	return g;
}

static struct mf_grant *
grant_svc(const char *name, const char *service, const char *export_name)
{
	struct mf_grant *g = grant(name, MF_SRC_SERVICE);
	g->service = mf_cstr(service);
	g->export_name = mf_cstr(export_name);
	return g;
}

static struct mf_export *
export(const char *name, uint64_t iid)
{
	struct mf_export *e = &M.exports[M.nexports++];
	e->name = mf_cstr(name);
	e->interface_id = iid;
	last()->nexports++;
	return e;
}

static const struct mf_str BIN_NAMES[] = {
	{ "app", 3 }, { "store", 5 }, { "virtio-blk", 10 }, { "spare", 5 },
	{ "abcdefghijklmnopqrstuvwxyz01234", 31 }, { "abcdefghijklmnopqrstuvwxyz012345", 32 },
	{ "VIRTIO_BLK", 10 },
};
static const struct mf_binset BINS = { BIN_NAMES, sizeof(BIN_NAMES) / sizeof(BIN_NAMES[0]) };

/* app -> store -> blk, written in that (reverse start) order. */
static void
good(void)
{
	memset(&M, 0, sizeof(M));
	M.format_version = MF_FORMAT_VERSION;

	svc("app", "app");
	grant("console", MF_SRC_CONSOLE);
	grant("clock", MF_SRC_WALL_CLOCK);
	grant_svc("store", "store", "store");

	struct mf_service *s = svc("store", "store");
	s->restart = MF_RESTART_ON_FAILURE;
	s->max_restarts = 3;
	grant("console", MF_SRC_CONSOLE);
	grant_svc("disk", "blk", "block");
	export("store", 0xe941bf5a525b620cull);

	svc("blk", "virtio-blk");
	grant("console", MF_SRC_CONSOLE);
	grant_pci("mmio", MF_SRC_DEVICE_MMIO, 0, 4, 0);
	grant_pci("irq", MF_SRC_INTERRUPT, 0, 4, 0);
	grant_pci("dma", MF_SRC_DMA_POOL, 0, 4, 0)->dma_budget = 256 * 1024;
	export("block", 0);
}

static struct mf_service *
find(const char *name)
{
	for (uint32_t i = 0; i < M.nservices; i++)
		if (mf_str_eq(M.services[i].name, mf_cstr(name)))
			return &M.services[i];
	return NULL;
}

static struct mf_grant *
find_grant(const char *service, const char *name)
{
	struct mf_service *s = find(service);
	for (uint32_t i = 0; s && i < s->ngrants; i++)
		if (mf_str_eq(M.grants[s->first_grant + i].name, mf_cstr(name)))
			return &M.grants[s->first_grant + i];
	return NULL;
}

/* ---- mutations, one per rule ---- */

static void m_none(void) {}
static void m_version(void) { M.format_version = 2; }
static void m_no_services(void) { memset(&M, 0, sizeof(M)); M.format_version = 1; }
static void m_unknown_binary(void) { find("app")->binary = mf_cstr("ghost"); }
static void m_duplicate_service(void) { find("app")->name = mf_cstr("blk"); }
static void m_unknown_service(void) { find_grant("app", "store")->service = mf_cstr("stor"); }
static void m_unknown_export(void) { find_grant("app", "store")->export_name = mf_cstr("kv"); }
static void m_unset_source(void) { find_grant("app", "clock")->source = MF_SRC_UNSET; }
static void m_kernel_unset(void) { find_grant("app", "clock")->source = MF_SRC_KERNEL_UNSET; }
static void m_unknown_source(void) { find_grant("app", "clock")->source = MF_SRC_UNKNOWN; }
static void m_self(void) { find_grant("store", "disk")->service = mf_cstr("store"); }

static void
m_self_export(void)
{
	struct mf_grant *g = find_grant("store", "disk");
	g->service = mf_cstr("store");
	g->export_name = mf_cstr("store");
}

static void
m_cycle(void)
{
	/* blk now also uses app's export: app -> store -> blk -> app. */
	struct mf_service *app = find("app");
	struct mf_grant *g = find_grant("blk", "console");
	app->nexports = 1;
	app->first_export = M.nexports;
	M.exports[M.nexports].name = mf_cstr("hook");
	M.exports[M.nexports++].interface_id = 0;
	g->source = MF_SRC_SERVICE;
	g->service = mf_cstr("app");
	g->export_name = mf_cstr("hook");
}

static void m_iso_long(void) { find("app")->binary = mf_cstr("abcdefghijklmnopqrstuvwxyz012345"); }
static void m_iso_31(void) { find("app")->binary = mf_cstr("abcdefghijklmnopqrstuvwxyz01234"); }
static void m_iso_collide(void) { find("app")->binary = mf_cstr("VIRTIO_BLK"); }
static void m_bad_service_name(void) { find("app")->name = mf_cstr("a/b"); }
static void m_empty_service_name(void) { find("app")->name = mf_cstr(""); }
static void m_dot_service_name(void) { find("app")->name = mf_cstr(".app"); }

static void
m_long_service_name(void)
{
	find("app")->name = mf_cstr("a123456789b123456789c123456789d123456789e123456789f123456789abcd");
}

static void m_bad_binary_name(void) { find("app")->binary = mf_cstr("../app"); }
static void m_bad_grant_name(void) { find_grant("app", "clock")->name = mf_cstr("clo ck"); }
static void m_dup_grant(void) { find_grant("app", "clock")->name = mf_cstr("console"); }
static void m_bad_export_name(void) { M.exports[find("blk")->first_export].name = mf_cstr("blo\nck"); }

static void
m_dup_export(void)
{
	struct mf_service *s = find("blk");
	/* blk's exports are the last ones in the array: append a second "block". */
	M.exports[M.nexports].name = mf_cstr("block");
	M.exports[M.nexports++].interface_id = 0;
	s->nexports++;
}

static void m_export_iid(void) { M.exports[find("store")->first_export].interface_id = 0x1234; }

static void
m_too_many_grants(void)
{
	static char names[MF_MAX_SERVICE_GRANTS][8];
	struct mf_service *s = find("blk");
	/* blk is the last service: its grants are the last in the array. */
	for (uint32_t i = s->ngrants; i <= MF_MAX_SERVICE_GRANTS; i++) {
		snprintf(names[i % MF_MAX_SERVICE_GRANTS], 8, "g%u", i);
		grant(names[i % MF_MAX_SERVICE_GRANTS], MF_SRC_ENTROPY);
	}
}

/* blk: 29 grants + 4 exports = 33 caps, each limit alone respected. */
static void
m_too_many_caps(void)
{
	static char names[MF_MAX_SERVICE_CAPS][8];
	struct mf_service *s = find("blk");
	uint32_t i = s->ngrants;
	for (; i < MF_MAX_SERVICE_CAPS - 3; i++) {
		snprintf(names[i], 8, "g%u", i);
		grant(names[i], MF_SRC_ENTROPY);
	}
	export("block1", 0);
	export("block2", 0);
	export("block3", 0);
}

/* The same with 28 grants: exactly the bootstrap page, accepted. */
static void
m_caps_at_limit_ok(void)
{
	m_too_many_caps();
	M.ngrants--;
	find("blk")->ngrants--;
}

static void m_restart_unknown(void) { find("store")->restart = 3; }
static void m_restart_bound(void) { find("store")->max_restarts = MF_MAX_RESTARTS + 1; }
static void m_restart_never(void) { find("store")->restart = MF_RESTART_NEVER; }
static void m_restart_zero(void) { find("store")->max_restarts = 0; }
static void m_pci_unset(void) { find_grant("blk", "mmio")->pci.kind = MF_PCI_UNSET; }
static void m_pci_unknown(void) { find_grant("blk", "mmio")->pci.kind = MF_PCI_UNKNOWN; }
static void m_pci_dev(void) { find_grant("blk", "irq")->pci.dev = 32; }
static void m_pci_fn(void) { find_grant("blk", "irq")->pci.fn = 8; }

static void
m_pci_vendor(void)
{
	struct mf_grant *g = find_grant("blk", "mmio");
	g->pci.kind = MF_PCI_IDS;
	g->pci.vendor = 0xffff;
	g->pci.device = 0x1001;
}

static void m_bar(void) { find_grant("blk", "mmio")->bar = 6; }
static void m_irq_index(void) { find_grant("blk", "irq")->irq_index = 2048; }
static void m_irq_kind(void) { find_grant("blk", "irq")->irq_kind = MF_IRQ_INTX + 1; }

static void
m_irq_intx_index(void)
{
	struct mf_grant *g = find_grant("blk", "irq");
	g->irq_kind = MF_IRQ_INTX;
	g->irq_index = 1;
}

static void
m_irq_intx_ok(void)
{
	struct mf_grant *g = find_grant("blk", "irq");
	g->irq_kind = MF_IRQ_INTX;
	g->irq_index = 0;
}

/* A second Interrupt grant on blk's function ("console" turned into one). */
static struct mf_grant *
second_irq(uint8_t kind, uint16_t index)
{
	struct mf_grant *g = find_grant("blk", "console");
	g->source = MF_SRC_INTERRUPT;
	g->pci = find_grant("blk", "irq")->pci;
	g->irq_kind = kind;
	g->irq_index = index;
	return g;
}

static void m_irq_msix_and_intx(void) { second_irq(MF_IRQ_INTX, 0); }
static void m_irq_msix_and_msi(void) { second_irq(MF_IRQ_MSI, 0); }
static void m_irq_two_msix_ok(void) { second_irq(MF_IRQ_MSIX, 1); }

static void m_dma_zero(void) { find_grant("blk", "dma")->dma_budget = 0; }
static void m_dma_unaligned(void) { find_grant("blk", "dma")->dma_budget = 4097; }
static void m_dma_big(void) { find_grant("blk", "dma")->dma_budget = MF_MAX_DMA_BUDGET + 4096; }

static void
m_claim_two_services(void)
{
	struct mf_grant *g = find_grant("store", "console");
	g->source = MF_SRC_BLOCK_DEVICE;
	g->pci = find_grant("blk", "mmio")->pci;
}

static void
m_claim_twice(void)
{
	struct mf_grant *g = find_grant("blk", "console");
	g->source = MF_SRC_INTERRUPT;
	g->pci = find_grant("blk", "irq")->pci;
}

static void
m_claim_other_bar_ok(void)
{
	struct mf_grant *g = find_grant("blk", "console");
	g->source = MF_SRC_DEVICE_MMIO;
	g->pci = find_grant("blk", "mmio")->pci;
	g->bar = 2;
}

static void m_shape(void) { find("blk")->ngrants = MF_MAX_GRANTS; }
static void m_shape_overlap(void) { find("store")->first_grant = 0; }
static void m_shape_orphan(void) { M.ngrants++; }

struct vcase {
	const char *id;
	void (*mutate)(void);
	int code;
	const char *msg;      /* exact message, or NULL for success */
};

static const struct vcase vcases[] = {
	{ "MANIFEST0001 good manifest", m_none, 0, NULL },
	{ "MANIFEST0002 format version", m_version, E_NOTSUP, "manifest: formatVersion 2 is not 1" },
	{ "MANIFEST0003 no services", m_no_services, E_INVAL, "manifest: no services" },
	{ "MANIFEST0004 unknown binary", m_unknown_binary, E_NOENT,
	    "service \"app\": unknown binary \"ghost\"" },
	{ "MANIFEST0005 duplicate service", m_duplicate_service, E_EXIST,
	    "service \"blk\": duplicate service name" },
	{ "MANIFEST0006 grant from unknown service", m_unknown_service, E_NOENT,
	    "service \"app\": grant \"store\": unknown service \"stor\"" },
	{ "MANIFEST0007 grant of unknown export", m_unknown_export, E_NOENT,
	    "service \"app\": grant \"store\": service \"store\" has no export \"kv\"" },
	{ "MANIFEST0008 grant without source", m_unset_source, E_INVAL,
	    "service \"app\": grant \"clock\": no source (expected kernel or service; misspelled?)" },
	{ "MANIFEST0044 kernel source without member", m_kernel_unset, E_INVAL,
	    "service \"app\": grant \"clock\": kernel source names no known source (misspelled?)" },
	{ "MANIFEST0009 unknown kernel source", m_unknown_source, E_NOTSUP,
	    "service \"app\": grant \"clock\": unknown kernel source" },
	{ "MANIFEST0010 self dependency (unknown export)", m_self, E_LOOP,
	    "service \"store\": grant \"disk\": service depends on itself" },
	{ "MANIFEST0011 self dependency", m_self_export, E_LOOP,
	    "service \"store\": grant \"disk\": service depends on itself" },
	{ "MANIFEST0012 dependency cycle", m_cycle, E_LOOP,
	    "dependency cycle: \"app\" -> \"store\" -> \"blk\" -> \"app\"" },
	{ "MANIFEST0013 ISO name longer than 31", m_iso_long, E_NAME,
	    "binary \"abcdefghijklmnopqrstuvwxyz012345\": ISO 9660 name is 32 characters, limit 31" },
	{ "MANIFEST0014 ISO name of 31 is fine", m_iso_31, 0, NULL },
	{ "MANIFEST0015 ISO name collision", m_iso_collide, E_EXIST,
	    "binary \"virtio-blk\": ISO 9660 name \"VIRTIO_BLK\" collides with binary \"VIRTIO_BLK\"" },
	{ "MANIFEST0016 service name with slash", m_bad_service_name, E_NAME,
	    "service 0: bad name \"a/b\" (1..63 bytes of A-Z a-z 0-9 . _ -, not starting with '.')" },
	{ "MANIFEST0017 empty service name", m_empty_service_name, E_NAME,
	    "service 0: bad name \"\" (1..63 bytes of A-Z a-z 0-9 . _ -, not starting with '.')" },
	{ "MANIFEST0018 service name starting with dot", m_dot_service_name, E_NAME,
	    "service 0: bad name \".app\" (1..63 bytes of A-Z a-z 0-9 . _ -, not starting with '.')" },
	{ "MANIFEST0019 service name of 64 bytes", m_long_service_name, E_NAME,
	    "service 0: bad name \"a123456789b123456789c123456789d123456789e123456789f123456789abcd\" (1..63 bytes of A-Z a-z 0-9 . _ -, not starting with '.')" },
	{ "MANIFEST0020 binary name with path", m_bad_binary_name, E_NAME,
	    "service \"app\": bad binary name \"../app\" (1..63 bytes of A-Z a-z 0-9 . _ -, not starting with '.')" },
	{ "MANIFEST0021 bad cap name", m_bad_grant_name, E_NAME,
	    "service \"app\": grant 1: bad cap name \"clo ck\" (1..63 bytes of A-Z a-z 0-9 . _ -, not starting with '.')" },
	{ "MANIFEST0022 duplicate grant", m_dup_grant, E_EXIST,
	    "service \"app\": duplicate grant \"console\"" },
	{ "MANIFEST0023 bad export name", m_bad_export_name, E_NAME,
	    "service \"blk\": export 0: bad name \"blo?ck\" (1..63 bytes of A-Z a-z 0-9 . _ -, not starting with '.')" },
	{ "MANIFEST0024 duplicate export", m_dup_export, E_EXIST,
	    "service \"blk\": duplicate export \"block\"" },
	{ "MANIFEST0025 export interface id not a capnp id", m_export_iid, E_INVAL,
	    "service \"store\": export \"store\": interfaceId is not a capnp id (top bit clear)" },
	{ "MANIFEST0026 too many grants", m_too_many_grants, E_LIMIT,
	    "service \"blk\": 33 grants, limit 32" },
	{ "MANIFEST0054 grants + exports over the bootstrap page", m_too_many_caps, E_LIMIT,
	    "service \"blk\": 29 grants + 4 exports = 33 caps, limit 32 (the bootstrap page)" },
	{ "MANIFEST0055 grants + exports at the bootstrap page", m_caps_at_limit_ok, 0, NULL },
	{ "MANIFEST0027 unknown restart policy", m_restart_unknown, E_INVAL,
	    "service \"store\": unknown restart policy 3" },
	{ "MANIFEST0028 maxRestarts over bound", m_restart_bound, E_LIMIT,
	    "service \"store\": maxRestarts 101, limit 100" },
	{ "MANIFEST0029 maxRestarts with never", m_restart_never, E_INVAL,
	    "service \"store\": maxRestarts 3 with restart policy never" },
	{ "MANIFEST0047 restart policy without maxRestarts", m_restart_zero, E_INVAL,
	    "service \"store\": restart policy without maxRestarts (1..100)" },
	{ "MANIFEST0030 device claim without PCI identity", m_pci_unset, E_INVAL,
	    "service \"blk\": grant \"mmio\": deviceMmio claim names no PCI device" },
	{ "MANIFEST0031 unknown PCI identity kind", m_pci_unknown, E_NOTSUP,
	    "service \"blk\": grant \"mmio\": unknown PCI identity kind" },
	{ "MANIFEST0032 PCI device number", m_pci_dev, E_RANGE,
	    "service \"blk\": grant \"irq\": PCI address device 32 function 0 out of range" },
	{ "MANIFEST0033 PCI function number", m_pci_fn, E_RANGE,
	    "service \"blk\": grant \"irq\": PCI address device 4 function 8 out of range" },
	{ "MANIFEST0034 PCI vendor ffff", m_pci_vendor, E_INVAL,
	    "service \"blk\": grant \"mmio\": invalid PCI vendor id ffff" },
	{ "MANIFEST0035 BAR out of range", m_bar, E_RANGE,
	    "service \"blk\": grant \"mmio\": BAR 6 out of range 0..5" },
	{ "MANIFEST0036 interrupt index out of range", m_irq_index, E_RANGE,
	    "service \"blk\": grant \"irq\": interrupt index 2048 out of range 0..2047" },
	{ "MANIFEST0048 unknown interrupt kind", m_irq_kind, E_INVAL,
	    "service \"blk\": grant \"irq\": unknown interrupt kind 3 (msix, msi or intx)" },
	{ "MANIFEST0049 intx route with an index", m_irq_intx_index, E_RANGE,
	    "service \"blk\": grant \"irq\": an intx route has one vector: index 1 must be 0" },
	{ "MANIFEST0050 intx route", m_irq_intx_ok, 0, NULL },
	{ "MANIFEST0051 msix and intx on one function", m_irq_msix_and_intx, E_EXIST,
	    "service \"blk\": grant \"irq\": same interrupt claim as grant \"console\"" },
	{ "MANIFEST0052 msix and msi on one function", m_irq_msix_and_msi, E_EXIST,
	    "service \"blk\": grant \"irq\": same interrupt claim as grant \"console\"" },
	{ "MANIFEST0053 two MSI-X indexes of one function", m_irq_two_msix_ok, 0, NULL },
	{ "MANIFEST0037 DMA budget zero", m_dma_zero, E_RANGE,
	    "service \"blk\": grant \"dma\": DMA budget 0 is not a multiple of 4096 in 1..67108864 bytes" },
	{ "MANIFEST0038 DMA budget unaligned", m_dma_unaligned, E_RANGE,
	    "service \"blk\": grant \"dma\": DMA budget 4097 is not a multiple of 4096 in 1..67108864 bytes" },
	{ "MANIFEST0039 DMA budget too large", m_dma_big, E_RANGE,
	    "service \"blk\": grant \"dma\": DMA budget 67112960 is not a multiple of 4096 in 1..67108864 bytes" },
	{ "MANIFEST0040 device claimed by two services", m_claim_two_services, E_BUSY,
	    "service \"blk\": grant \"mmio\": PCI device already claimed by service \"store\" (grant \"console\")" },
	{ "MANIFEST0041 same claim twice", m_claim_twice, E_EXIST,
	    "service \"blk\": grant \"irq\": same interrupt claim as grant \"console\"" },
	{ "MANIFEST0042 second BAR of one device is fine", m_claim_other_bar_ok, 0, NULL },
	{ "MANIFEST0043 model slices out of bounds", m_shape, E_CORRUPT,
	    "manifest model: service 2 slices out of bounds" },
	{ "MANIFEST0045 model slices overlap", m_shape_overlap, E_CORRUPT,
	    "manifest model: services 0 and 1 share entries" },
	{ "MANIFEST0046 model entry outside every service", m_shape_orphan, E_CORRUPT,
	    "manifest model: entries outside every service" },
};

static void
test_vcase(void **state)
{
	const struct vcase *c = *state;
	struct mf_error err;
	int rc;

	good();
	c->mutate();
	rc = mf_validate(&M, &BINS, &err);
	if (rc != c->code || (c->msg && strcmp(err.msg, c->msg) != 0))
		fail_msg("%s: rc %d (%s) want %d, message:\n  got  %s\n  want %s", c->id, rc,
		    err_name(rc), c->code, err.msg, c->msg ? c->msg : "(none)");
	assert_int_equal(err.code, c->code);
}

static void
test_start_order(void **state)
{
	struct mf_error err;
	(void)state;
	good();
	assert_int_equal(mf_validate(&M, &BINS, &err), 0);
	/* blk before store before app, whatever the written order. */
	assert_true(mf_str_eq(M.services[M.start_order[0]].name, mf_cstr("blk")));
	assert_true(mf_str_eq(M.services[M.start_order[1]].name, mf_cstr("store")));
	assert_true(mf_str_eq(M.services[M.start_order[2]].name, mf_cstr("app")));
}

static void
test_no_binset(void **state)
{
	struct mf_error err;
	(void)state;
	good();
	m_unknown_binary();
	assert_int_equal(mf_validate(&M, NULL, &err), 0);
}

static void
test_binaries(void **state)
{
	struct mf_str out[MF_MAX_SERVICES];
	(void)state;
	good();
	find("blk")->binary = mf_cstr("app"); /* shared binary listed once */
	assert_int_equal(mf_binaries(&M, out), 2);
	assert_true(mf_str_eq(out[0], mf_cstr("app")));
	assert_true(mf_str_eq(out[1], mf_cstr("store")));
}

static void
test_iso_name(void **state)
{
	static const struct { const char *in, *out; } t[] = {
		{ "net-stack.v2", "NET_STACK_V2" }, { "ABC_09", "ABC_09" }, { "a", "A" },
		{ "x\xc3\xa9", "X__" }, { "z.Z-z_", "Z_Z_Z_" },
	};
	char buf[64];
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint32_t n = mf_iso_name(mf_cstr(t[i].in), buf, sizeof(buf));
		assert_int_equal(n, strlen(t[i].out));
		assert_memory_equal(buf, t[i].out, n);
	}
}

static void
test_name_ok(void **state)
{
	(void)state;
	assert_true(mf_name_ok(mf_cstr("virtio-blk")));
	assert_true(mf_name_ok(mf_cstr("a.b_c-D9")));
	assert_false(mf_name_ok(mf_cstr("")));
	assert_false(mf_name_ok(mf_cstr(".hidden")));
	assert_false(mf_name_ok(mf_cstr("a/b")));
	assert_false(mf_name_ok(mf_cstr("a b")));
	struct mf_str nul = { "a\0b", 3 };
	assert_false(mf_name_ok(nul));
	char n63[64];
	memset(n63, 'x', 63);
	n63[63] = 0;
	assert_true(mf_name_ok(mf_cstr(n63)));
	struct mf_str n64 = { "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 64 };
	assert_false(mf_name_ok(n64));
}

static void
test_message_truncated(void **state)
{
	struct mf_error err;
	char big[MF_MAX_NAME + 1], other[MF_MAX_NAME + 1];
	(void)state;
	good();
	/* The longest possible names still give a NUL-terminated, bounded message. */
	memset(big, 'q', MF_MAX_NAME);
	big[MF_MAX_NAME] = 0;
	memset(other, 'r', MF_MAX_NAME);
	other[MF_MAX_NAME] = 0;
	find("app")->name = mf_cstr(big);
	find_grant(big, "store")->name = mf_cstr(big);
	find_grant(big, big)->service = mf_cstr(other);
	assert_int_equal(mf_validate(&M, &BINS, &err), E_NOENT);
	assert_true(strlen(err.msg) < MF_MSG_MAX);
}

int
main(void)
{
	struct CMUnitTest tests[sizeof(vcases) / sizeof(vcases[0]) + 8];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_vcase, (void *)&vcases[i]);
		tests[n++].name = vcases[i].id;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_start_order);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_no_binset);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_binaries);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_iso_name);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_name_ok);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_message_truncated);
	return _cmocka_run_group_tests("manifest", tests, n, NULL, NULL);
}
