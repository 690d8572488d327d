/*
 * Binary capnp BootManifest -> struct mf_manifest, through the accessors
 * generated from schema/manifest.capnp (build/gen/schema/manifest.capnp.h).
 *
 * The decoder only moves data and enforces the model's capacity; every rule
 * about the contents is mf_validate()'s. It refuses: bytes that are not one
 * well-formed capnp message (the runtime bounds-checks every pointer and
 * charges a traversal budget), trailing bytes after the message, a message
 * larger than MF_MAX_MANIFEST_BYTES, and more services, grants or exports
 * than the model holds. Union members this decoder does not know (a newer
 * schema) become MF_SRC_UNKNOWN / MF_PCI_UNKNOWN, which the validator
 * rejects: fail closed.
 */
#include "base/err.h"
#include "base/mem.h"
#include "capnp/capnp.h"
#include "manifest/mf_int.h"
#include "schema/manifest.capnp.h"

/* decode_kernel() maps KernelSource's union tag straight onto mf_source. */
_Static_assert((int)MF_SRC_CONSOLE == (int)KernelSource_which_console &&
    (int)MF_SRC_WALL_CLOCK == (int)KernelSource_which_wallClock &&
    (int)MF_SRC_ENTROPY == (int)KernelSource_which_entropy &&
    (int)MF_SRC_PROCESS_SPAWNER == (int)KernelSource_which_processSpawner &&
    (int)MF_SRC_DEVICE_MMIO == (int)KernelSource_which_deviceMmio &&
    (int)MF_SRC_INTERRUPT == (int)KernelSource_which_interrupt &&
    (int)MF_SRC_DMA_POOL == (int)KernelSource_which_dmaPool &&
    (int)MF_SRC_BLOCK_DEVICE == (int)KernelSource_which_blockDevice &&
    (int)MF_SRC_HARDWARE_AUDIT_LOG == (int)KernelSource_which_hardwareAuditLog,
    "mf_source must follow schema/manifest.capnp KernelSource");

/* A manifest is a few KiB; nothing it legitimately needs comes close. */
#define MF_TRAVERSAL_WORDS (MF_MAX_MANIFEST_BYTES / 8 * 4)
#define MF_NESTING 16

static int
text(int rc, const struct capnp_text *t, struct mf_str *out)
{
	if (rc < 0)
		return rc;
	out->p = t->str;
	out->len = t->len;
	return 0;
}

static int
decode_pci(PciIdentity_R id, struct mf_pci *p)
{
	PciAddress_R a;
	PciIds_R ids;
	int rc;

	switch (PciIdentity_which(id)) {
	case PciIdentity_which_unset:
		p->kind = MF_PCI_UNSET;
		return 0;
	case PciIdentity_which_address:
		if ((rc = PciIdentity_get_address(id, &a)) < 0)
			return rc;
		p->kind = MF_PCI_ADDRESS;
		p->segment = PciAddress_get_segment(a);
		p->bus = PciAddress_get_bus(a);
		p->dev = PciAddress_get_device(a);
		p->fn = PciAddress_get_function(a);
		return 0;
	case PciIdentity_which_ids:
		if ((rc = PciIdentity_get_ids(id, &ids)) < 0)
			return rc;
		p->kind = MF_PCI_IDS;
		p->vendor = PciIds_get_vendor(ids);
		p->device = PciIds_get_device(ids);
		p->instance = PciIds_get_instance(ids);
		return 0;
	default:
		p->kind = MF_PCI_UNKNOWN;
		return 0;
	}
}

static int
decode_kernel(KernelSource_R k, struct mf_grant *g)
{
	DeviceMmioClaim_R mmio;
	InterruptClaim_R irq;
	DmaPoolClaim_R dma;
	PciIdentity_R id;
	int rc;
	uint16_t which = KernelSource_which(k);

	/* KernelSource's union order is mf_source's order up to hardwareAuditLog. */
	if (which > KernelSource_which_hardwareAuditLog) {
		g->source = MF_SRC_UNKNOWN;
		return 0;
	}
	g->source = which == KernelSource_which_unset ? MF_SRC_KERNEL_UNSET : (uint8_t)which;
	switch (which) {
	case KernelSource_which_deviceMmio:
		if ((rc = KernelSource_get_deviceMmio(k, &mmio)) < 0 ||
		    (rc = DeviceMmioClaim_get_device(mmio, &id)) < 0)
			return rc;
		g->bar = DeviceMmioClaim_get_bar(mmio);
		return decode_pci(id, &g->pci);
	case KernelSource_which_interrupt:
		if ((rc = KernelSource_get_interrupt(k, &irq)) < 0 ||
		    (rc = InterruptClaim_get_device(irq, &id)) < 0)
			return rc;
		g->irq_index = InterruptClaim_get_index(irq);
		g->irq_kind = InterruptClaim_get_kind(irq);	/* validated, not trusted */
		return decode_pci(id, &g->pci);
	case KernelSource_which_dmaPool:
		if ((rc = KernelSource_get_dmaPool(k, &dma)) < 0 ||
		    (rc = DmaPoolClaim_get_device(dma, &id)) < 0)
			return rc;
		g->dma_budget = DmaPoolClaim_get_budgetBytes(dma);
		return decode_pci(id, &g->pci);
	case KernelSource_which_blockDevice:
		if ((rc = KernelSource_get_blockDevice(k, &id)) < 0)
			return rc;
		return decode_pci(id, &g->pci);
	default:
		return 0;
	}
}

static int
decode_grant(Grant_R gr, struct mf_grant *g)
{
	struct capnp_text t;
	Grant_source_R src = Grant_get_source(gr);
	KernelSource_R k;
	ServiceExportRef_R ref;
	int rc;

	memset(g, 0, sizeof(*g));
	if ((rc = text(Grant_get_name(gr, &t), &t, &g->name)) < 0)
		return rc;
	switch (Grant_source_which(src)) {
	case Grant_source_which_unset:
		g->source = MF_SRC_UNSET;
		return 0;
	case Grant_source_which_kernel:
		if ((rc = Grant_source_get_kernel(src, &k)) < 0)
			return rc;
		return decode_kernel(k, g);
	case Grant_source_which_service:
		g->source = MF_SRC_SERVICE;
		if ((rc = Grant_source_get_service(src, &ref)) < 0 ||
		    (rc = text(ServiceExportRef_get_service(ref, &t), &t, &g->service)) < 0 ||
		    (rc = text(ServiceExportRef_get_export(ref, &t), &t, &g->export_name)) < 0)
			return rc;
		return 0;
	default:
		g->source = MF_SRC_UNKNOWN;
		return 0;
	}
}

static int
decode_service(struct mf_manifest *m, uint32_t i, Service_R sr, struct mf_error *err)
{
	struct mf_service *s = &m->services[i];
	struct capnp_text t;
	struct capnp_list grants, exports;
	int rc;

	if ((rc = text(Service_get_name(sr, &t), &t, &s->name)) < 0)
		return mf_errf(err, rc, "service %u: malformed name", i);
	if ((rc = text(Service_get_binary(sr, &t), &t, &s->binary)) < 0)
		return mf_errf(err, rc, "service %q: malformed binary name", s->name);
	s->restart = Service_get_restart(sr);
	s->max_restarts = Service_get_maxRestarts(sr);

	if ((rc = Service_get_grants(sr, &grants)) < 0)
		return mf_errf(err, rc, "service %q: malformed grant list", s->name);
	if (grants.count > MF_MAX_SERVICE_GRANTS)
		return mf_errf(err, E_LIMIT, "service %q: %u grants, limit %u", s->name,
		    grants.count, MF_MAX_SERVICE_GRANTS);
	if (grants.count > MF_MAX_GRANTS - m->ngrants)
		return mf_errf(err, E_LIMIT, "service %q: more than %u grants in the manifest",
		    s->name, MF_MAX_GRANTS);
	s->first_grant = m->ngrants;
	for (uint32_t k = 0; k < grants.count; k++) {
		Grant_R gr;
		if ((rc = Grant_list_get(&grants, k, &gr)) < 0 ||
		    (rc = decode_grant(gr, &m->grants[m->ngrants])) < 0)
			return mf_errf(err, rc, "service %q: grant %u: malformed (%s)", s->name, k,
			    err_name(rc));
		m->ngrants++;
		s->ngrants++;
	}

	if ((rc = Service_get_exports(sr, &exports)) < 0)
		return mf_errf(err, rc, "service %q: malformed export list", s->name);
	if (exports.count > MF_MAX_SERVICE_EXPORTS)
		return mf_errf(err, E_LIMIT, "service %q: %u exports, limit %u", s->name,
		    exports.count, MF_MAX_SERVICE_EXPORTS);
	if (exports.count > MF_MAX_EXPORTS - m->nexports)
		return mf_errf(err, E_LIMIT, "service %q: more than %u exports in the manifest",
		    s->name, MF_MAX_EXPORTS);
	s->first_export = m->nexports;
	for (uint32_t k = 0; k < exports.count; k++) {
		Export_R er;
		struct mf_export *e = &m->exports[m->nexports];
		if ((rc = Export_list_get(&exports, k, &er)) < 0 ||
		    (rc = text(Export_get_name(er, &t), &t, &e->name)) < 0)
			return mf_errf(err, rc, "service %q: export %u: malformed (%s)", s->name, k,
			    err_name(rc));
		e->interface_id = Export_get_interfaceId(er);
		m->nexports++;
		s->nexports++;
	}
	return 0;
}

int
mf_decode(const void *buf, size_t len, struct mf_manifest *out, struct mf_error *err)
{
	struct capnp_msg msg;
	BootManifest_R root;
	struct capnp_list services;
	int rc;

	memset(out, 0, sizeof(*out));
	err->code = 0;
	err->msg[0] = '\0';
	if (len > MF_MAX_MANIFEST_BYTES)
		return mf_errf(err, E_TOOBIG, "manifest: %U bytes, limit %u",
		    (unsigned long long)len, MF_MAX_MANIFEST_BYTES);
	rc = capnp_msg_init(&msg, buf, len);
	if (rc < 0)
		return mf_errf(err, rc, "manifest: not a capnp message (%s)", err_name(rc));
	if ((size_t)rc != len)
		return mf_errf(err, E_CORRUPT, "manifest: %U trailing bytes after the message",
		    (unsigned long long)(len - (size_t)rc));
	capnp_msg_set_limits(&msg, MF_TRAVERSAL_WORDS, MF_NESTING);
	if ((rc = BootManifest_root(&msg, &root)) < 0)
		return mf_errf(err, rc, "manifest: bad root (%s)", err_name(rc));
	out->format_version = BootManifest_get_formatVersion(root);
	if ((rc = BootManifest_get_services(root, &services)) < 0)
		return mf_errf(err, rc, "manifest: malformed service list (%s)", err_name(rc));
	if (services.count > MF_MAX_SERVICES)
		return mf_errf(err, E_LIMIT, "manifest: %u services, limit %u", services.count,
		    MF_MAX_SERVICES);
	for (uint32_t i = 0; i < services.count; i++) {
		Service_R sr;
		if ((rc = Service_list_get(&services, i, &sr)) < 0)
			return mf_errf(err, rc, "service %u: malformed (%s)", i, err_name(rc));
		if ((rc = decode_service(out, i, sr, err)) < 0)
			return rc;
		out->nservices++;
	}
	return 0;
}
