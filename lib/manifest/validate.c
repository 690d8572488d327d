/*
 * The boot manifest rules (docs/manifest.md), checked on the decoded model.
 *
 * Order of checks: the model's own shape (slices inside the arrays), the
 * header, each service, each export, each grant, binary names under the
 * ISO 9660 rule, device claims, and last the dependency graph, whose
 * topological order becomes the start order. The first failure is reported;
 * the model is left unchanged except start_order, which is only meaningful
 * when 0 is returned.
 */
#include "base/err.h"
#include "base/mem.h"
#include "manifest/mf_int.h"

#define NAME_RULE "1..63 bytes of A-Z a-z 0-9 . _ -, not starting with '.'"

static int
find_service(const struct mf_manifest *m, struct mf_str name)
{
	for (uint32_t i = 0; i < m->nservices; i++)
		if (mf_str_eq(m->services[i].name, name))
			return (int)i;
	return -1;
}

static const struct mf_export *
find_export(const struct mf_manifest *m, const struct mf_service *s, struct mf_str name)
{
	for (uint32_t i = 0; i < s->nexports; i++)
		if (mf_str_eq(m->exports[s->first_export + i].name, name))
			return &m->exports[s->first_export + i];
	return NULL;
}

static int
slices_overlap(uint32_t a, uint32_t na, uint32_t b, uint32_t nb)
{
	return na && nb && a < b + nb && b < a + na;
}

/* The model is a flat arena: every grant and export belongs to exactly one
 * service's slice. The decoder builds it that way; a hand-built model that
 * does not is refused before anything reads through it. */
static int
check_shape(const struct mf_manifest *m, struct mf_error *err)
{
	uint32_t grants = 0, exports = 0;

	if (m->nservices > MF_MAX_SERVICES || m->ngrants > MF_MAX_GRANTS ||
	    m->nexports > MF_MAX_EXPORTS)
		return mf_errf(err, E_CORRUPT, "manifest model: counts out of bounds");
	for (uint32_t i = 0; i < m->nservices; i++) {
		const struct mf_service *s = &m->services[i];
		if (s->first_grant > m->ngrants || s->ngrants > m->ngrants - s->first_grant ||
		    s->first_export > m->nexports ||
		    s->nexports > m->nexports - s->first_export)
			return mf_errf(err, E_CORRUPT, "manifest model: service %u slices out of bounds", i);
		for (uint32_t j = 0; j < i; j++) {
			const struct mf_service *t = &m->services[j];
			if (slices_overlap(s->first_grant, s->ngrants, t->first_grant, t->ngrants) ||
			    slices_overlap(s->first_export, s->nexports, t->first_export, t->nexports))
				return mf_errf(err, E_CORRUPT,
				    "manifest model: services %u and %u share entries", j, i);
		}
		grants += s->ngrants;
		exports += s->nexports;
	}
	if (grants != m->ngrants || exports != m->nexports)
		return mf_errf(err, E_CORRUPT, "manifest model: entries outside every service");
	return 0;
}

static int
check_header(const struct mf_manifest *m, struct mf_error *err)
{
	if (m->format_version != MF_FORMAT_VERSION)
		return mf_errf(err, E_NOTSUP, "manifest: formatVersion %u is not %u",
		    m->format_version, MF_FORMAT_VERSION);
	if (m->nservices == 0)
		return mf_errf(err, E_INVAL, "manifest: no services");
	return 0;
}

static int
bin_known(const struct mf_binset *bins, struct mf_str name)
{
	for (uint32_t i = 0; i < bins->count; i++)
		if (mf_str_eq(bins->names[i], name))
			return 1;
	return 0;
}

static int
check_service(const struct mf_manifest *m, uint32_t i, const struct mf_binset *bins,
    struct mf_error *err)
{
	const struct mf_service *s = &m->services[i];

	if (!mf_name_ok(s->name))
		return mf_errf(err, E_NAME, "service %u: bad name %q (" NAME_RULE ")", i, s->name);
	for (uint32_t j = 0; j < i; j++)
		if (mf_str_eq(m->services[j].name, s->name))
			return mf_errf(err, E_EXIST, "service %q: duplicate service name", s->name);
	if (!mf_name_ok(s->binary))
		return mf_errf(err, E_NAME, "service %q: bad binary name %q (" NAME_RULE ")",
		    s->name, s->binary);
	if (bins && !bin_known(bins, s->binary))
		return mf_errf(err, E_NOENT, "service %q: unknown binary %q", s->name, s->binary);
	if (s->ngrants > MF_MAX_SERVICE_GRANTS)
		return mf_errf(err, E_LIMIT, "service %q: %u grants, limit %u", s->name,
		    s->ngrants, MF_MAX_SERVICE_GRANTS);
	if (s->nexports > MF_MAX_SERVICE_EXPORTS)
		return mf_errf(err, E_LIMIT, "service %q: %u exports, limit %u", s->name,
		    s->nexports, MF_MAX_SERVICE_EXPORTS);
	/* Every grant and export becomes one entry of the service's bootstrap page:
	 * refuse here what the spawn would refuse (tooManyGrants) only at start. */
	if (s->ngrants + s->nexports > MF_MAX_SERVICE_CAPS)
		return mf_errf(err, E_LIMIT, "service %q: %u grants + %u exports = %u caps, "
		    "limit %u (the bootstrap page)", s->name, s->ngrants, s->nexports,
		    s->ngrants + s->nexports, MF_MAX_SERVICE_CAPS);
	if (s->restart > MF_RESTART_ALWAYS)
		return mf_errf(err, E_INVAL, "service %q: unknown restart policy %u", s->name,
		    (unsigned)s->restart);
	if (s->max_restarts > MF_MAX_RESTARTS)
		return mf_errf(err, E_LIMIT, "service %q: maxRestarts %u, limit %u", s->name,
		    s->max_restarts, MF_MAX_RESTARTS);
	if (s->restart == MF_RESTART_NEVER && s->max_restarts != 0)
		return mf_errf(err, E_INVAL, "service %q: maxRestarts %u with restart policy never",
		    s->name, s->max_restarts);
	if (s->restart != MF_RESTART_NEVER && s->max_restarts == 0)
		return mf_errf(err, E_INVAL, "service %q: restart policy without maxRestarts (1..%u)",
		    s->name, MF_MAX_RESTARTS);
	return 0;
}

static int
check_exports(const struct mf_manifest *m, const struct mf_service *s, struct mf_error *err)
{
	for (uint32_t i = 0; i < s->nexports; i++) {
		const struct mf_export *e = &m->exports[s->first_export + i];
		if (!mf_name_ok(e->name))
			return mf_errf(err, E_NAME, "service %q: export %u: bad name %q (" NAME_RULE ")",
			    s->name, i, e->name);
		for (uint32_t j = 0; j < i; j++)
			if (mf_str_eq(m->exports[s->first_export + j].name, e->name))
				return mf_errf(err, E_EXIST, "service %q: duplicate export %q",
				    s->name, e->name);
		/* Every capnp id has its top bit set; anything else is a typo. */
		if (e->interface_id != 0 && !(e->interface_id >> 63))
			return mf_errf(err, E_INVAL,
			    "service %q: export %q: interfaceId is not a capnp id (top bit clear)",
			    s->name, e->name);
	}
	return 0;
}

static int
check_pci(const struct mf_service *s, const struct mf_grant *g, struct mf_error *err)
{
	const struct mf_pci *p = &g->pci;

	switch (p->kind) {
	case MF_PCI_ADDRESS:
		if (p->dev > 31 || p->fn > 7)
			return mf_errf(err, E_RANGE,
			    "service %q: grant %q: PCI address device %u function %u out of range",
			    s->name, g->name, (unsigned)p->dev, (unsigned)p->fn);
		return 0;
	case MF_PCI_IDS:
		if (p->vendor == 0xffff || p->vendor == 0)
			return mf_errf(err, E_INVAL, "service %q: grant %q: invalid PCI vendor id %x",
			    s->name, g->name, (unsigned)p->vendor);
		return 0;
	case MF_PCI_UNSET:
		return mf_errf(err, E_INVAL, "service %q: grant %q: %s claim names no PCI device",
		    s->name, g->name, mf_source_name(g->source));
	default:
		return mf_errf(err, E_NOTSUP, "service %q: grant %q: unknown PCI identity kind",
		    s->name, g->name);
	}
}

static int
check_service_grant(const struct mf_manifest *m, uint32_t si, const struct mf_grant *g,
    struct mf_error *err)
{
	const struct mf_service *s = &m->services[si];
	int t;

	if (!mf_name_ok(g->service))
		return mf_errf(err, E_NAME, "service %q: grant %q: bad service name %q",
		    s->name, g->name, g->service);
	t = find_service(m, g->service);
	if (t < 0)
		return mf_errf(err, E_NOENT, "service %q: grant %q: unknown service %q",
		    s->name, g->name, g->service);
	if ((uint32_t)t == si)
		return mf_errf(err, E_LOOP, "service %q: grant %q: service depends on itself",
		    s->name, g->name);
	if (!find_export(m, &m->services[t], g->export_name))
		return mf_errf(err, E_NOENT, "service %q: grant %q: service %q has no export %q",
		    s->name, g->name, g->service, g->export_name);
	return 0;
}

static int
check_grant(const struct mf_manifest *m, uint32_t si, uint32_t k, struct mf_error *err)
{
	const struct mf_service *s = &m->services[si];
	const struct mf_grant *g = &m->grants[s->first_grant + k];

	if (!mf_name_ok(g->name))
		return mf_errf(err, E_NAME, "service %q: grant %u: bad cap name %q (" NAME_RULE ")",
		    s->name, k, g->name);
	for (uint32_t j = 0; j < k; j++)
		if (mf_str_eq(m->grants[s->first_grant + j].name, g->name))
			return mf_errf(err, E_EXIST, "service %q: duplicate grant %q", s->name, g->name);

	switch (g->source) {
	case MF_SRC_CONSOLE:
	case MF_SRC_WALL_CLOCK:
	case MF_SRC_ENTROPY:
	case MF_SRC_PROCESS_SPAWNER:
	case MF_SRC_HARDWARE_AUDIT_LOG:
		return 0;
	case MF_SRC_DEVICE_MMIO:
		if (g->bar > 5)
			return mf_errf(err, E_RANGE, "service %q: grant %q: BAR %u out of range 0..5",
			    s->name, g->name, (unsigned)g->bar);
		return check_pci(s, g, err);
	case MF_SRC_INTERRUPT:
		if (g->irq_index > 2047)
			return mf_errf(err, E_RANGE,
			    "service %q: grant %q: interrupt index %u out of range 0..2047",
			    s->name, g->name, (unsigned)g->irq_index);
		if (g->irq_kind > MF_IRQ_INTX)
			return mf_errf(err, E_INVAL,
			    "service %q: grant %q: unknown interrupt kind %u (msix, msi or intx)",
			    s->name, g->name, (unsigned)g->irq_kind);
		if (g->irq_kind != MF_IRQ_MSIX && g->irq_index != 0)
			return mf_errf(err, E_RANGE,
			    "service %q: grant %q: an %s route has one vector: index %u must be 0",
			    s->name, g->name, g->irq_kind == MF_IRQ_MSI ? "msi" : "intx",
			    (unsigned)g->irq_index);
		return check_pci(s, g, err);
	case MF_SRC_DMA_POOL:
		if (g->dma_budget == 0 || g->dma_budget > MF_MAX_DMA_BUDGET ||
		    g->dma_budget % MF_PAGE_SIZE)
			return mf_errf(err, E_RANGE,
			    "service %q: grant %q: DMA budget %U is not a multiple of %u in 1..%U bytes",
			    s->name, g->name, (unsigned long long)g->dma_budget, MF_PAGE_SIZE,
			    (unsigned long long)MF_MAX_DMA_BUDGET);
		return check_pci(s, g, err);
	case MF_SRC_BLOCK_DEVICE:
		return check_pci(s, g, err);
	case MF_SRC_SERVICE:
		return check_service_grant(m, si, g, err);
	case MF_SRC_UNSET:
		return mf_errf(err, E_INVAL,
		    "service %q: grant %q: no source (expected kernel or service; misspelled?)",
		    s->name, g->name);
	case MF_SRC_KERNEL_UNSET:
		return mf_errf(err, E_INVAL,
		    "service %q: grant %q: kernel source names no known source (misspelled?)",
		    s->name, g->name);
	default:
		return mf_errf(err, E_NOTSUP, "service %q: grant %q: unknown kernel source",
		    s->name, g->name);
	}
}

/* Binaries become files under /boot/bins/: their ISO 9660 forms must fit and
 * be distinct (docs/manifest.md, "ISO name rule"). */
static int
check_iso_names(const struct mf_manifest *m, struct mf_error *err)
{
	struct mf_str bins[MF_MAX_SERVICES];
	uint32_t n = mf_binaries(m, bins);
	char a[MF_MAX_NAME], b[MF_MAX_NAME];

	for (uint32_t i = 0; i < n; i++) {
		uint32_t la = mf_iso_name(bins[i], a, sizeof(a));
		if (la > MF_ISO_MAX)
			return mf_errf(err, E_NAME,
			    "binary %q: ISO 9660 name is %u characters, limit %u", bins[i], la,
			    MF_ISO_MAX);
		for (uint32_t j = 0; j < i; j++) {
			uint32_t lb = mf_iso_name(bins[j], b, sizeof(b));
			if (la == lb && memcmp(a, b, la) == 0) {
				struct mf_str form = { a, la };
				return mf_errf(err, E_EXIST,
				    "binary %q: ISO 9660 name %q collides with binary %q", bins[i],
				    form, bins[j]);
			}
		}
	}
	return 0;
}

static int
is_device_source(unsigned src)
{
	return src == MF_SRC_DEVICE_MMIO || src == MF_SRC_INTERRUPT || src == MF_SRC_DMA_POOL ||
	    src == MF_SRC_BLOCK_DEVICE;
}

static int
pci_eq(const struct mf_pci *a, const struct mf_pci *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == MF_PCI_ADDRESS)
		return a->segment == b->segment && a->bus == b->bus && a->dev == b->dev &&
		    a->fn == b->fn;
	return a->vendor == b->vendor && a->device == b->device && a->instance == b->instance;
}

static uint32_t
owner_of(const struct mf_manifest *m, uint32_t grant)
{
	for (uint32_t i = 0; i < m->nservices; i++)
		if (grant >= m->services[i].first_grant &&
		    grant - m->services[i].first_grant < m->services[i].ngrants)
			return i;
	return 0;
}

/* One PCI function belongs to one driver: claims on one identity by two
 * services, or the same claim twice, are refused here rather than by the
 * kernel at boot. Identities written in different forms (address vs ids)
 * cannot be compared before enumeration; the kernel arbitrates those. */
static int
check_device_claims(const struct mf_manifest *m, struct mf_error *err)
{
	for (uint32_t i = 0; i < m->ngrants; i++) {
		const struct mf_grant *a = &m->grants[i];
		if (!is_device_source(a->source))
			continue;
		for (uint32_t j = 0; j < i; j++) {
			const struct mf_grant *b = &m->grants[j];
			if (!is_device_source(b->source) || !pci_eq(&a->pci, &b->pci))
				continue;
			uint32_t sa = owner_of(m, i), sb = owner_of(m, j);
			if (sa != sb)
				return mf_errf(err, E_BUSY,
				    "service %q: grant %q: PCI device already claimed by service %q (grant %q)",
				    m->services[sa].name, a->name, m->services[sb].name, b->name);
			if (a->source == b->source &&
			    (a->source != MF_SRC_DEVICE_MMIO || a->bar == b->bar) &&
			    (a->source != MF_SRC_INTERRUPT || a->irq_index == b->irq_index ||
			     a->irq_kind != MF_IRQ_MSIX || b->irq_kind != MF_IRQ_MSIX))
				return mf_errf(err, E_EXIST,
				    "service %q: grant %q: same %s claim as grant %q",
				    m->services[sa].name, a->name, mf_source_name(a->source), b->name);
		}
	}
	return 0;
}

/* Does service si still wait for a dependency not yet placed? Returns the
 * dependency's index or -1. */
static int
pending_dep(const struct mf_manifest *m, uint32_t si, const uint8_t *placed)
{
	const struct mf_service *s = &m->services[si];
	for (uint32_t k = 0; k < s->ngrants; k++) {
		const struct mf_grant *g = &m->grants[s->first_grant + k];
		if (g->source != MF_SRC_SERVICE)
			continue;
		int t = find_service(m, g->service);
		if (t >= 0 && !placed[t])
			return t;
	}
	return -1;
}

/* Kahn-style: repeatedly place every service whose dependencies are placed.
 * If some remain, each waits on another remaining one, so walking "waits on"
 * from any of them must revisit a service: that walk names the cycle. */
static int
order_services(struct mf_manifest *m, struct mf_error *err)
{
	uint8_t placed[MF_MAX_SERVICES] = { 0 };
	uint32_t n = 0, progress = 1;

	while (n < m->nservices && progress) {
		progress = 0;
		for (uint32_t i = 0; i < m->nservices; i++) {
			if (placed[i] || pending_dep(m, i, placed) >= 0)
				continue;
			placed[i] = 1;
			m->start_order[n++] = i;
			progress = 1;
		}
	}
	if (n == m->nservices)
		return 0;

	uint32_t start = 0;
	while (placed[start])
		start++;
	/* Walk nservices steps to be sure to be inside the cycle. */
	uint32_t cur = start;
	for (uint32_t i = 0; i < m->nservices; i++)
		cur = (uint32_t)pending_dep(m, cur, placed);
	uint32_t head = cur;

	struct mf_error tmp;
	mf_errf(&tmp, 0, "dependency cycle: %q", m->services[head].name);
	do {
		cur = (uint32_t)pending_dep(m, cur, placed);
		struct mf_error next;
		mf_errf(&next, 0, "%s -> %q", tmp.msg, m->services[cur].name);
		tmp = next;
	} while (cur != head);
	return mf_errf(err, E_LOOP, "%s", tmp.msg);
}

int
mf_validate(struct mf_manifest *m, const struct mf_binset *bins, struct mf_error *err)
{
	int rc;

	err->code = 0;
	err->msg[0] = '\0';
	if ((rc = check_shape(m, err)) < 0 || (rc = check_header(m, err)) < 0)
		return rc;
	for (uint32_t i = 0; i < m->nservices; i++)
		if ((rc = check_service(m, i, bins, err)) < 0 ||
		    (rc = check_exports(m, &m->services[i], err)) < 0)
			return rc;
	for (uint32_t i = 0; i < m->nservices; i++)
		for (uint32_t k = 0; k < m->services[i].ngrants; k++)
			if ((rc = check_grant(m, i, k, err)) < 0)
				return rc;
	if ((rc = check_iso_names(m, err)) < 0 || (rc = check_device_claims(m, err)) < 0)
		return rc;
	return order_services(m, err);
}

uint32_t
mf_binaries(const struct mf_manifest *m, struct mf_str *out)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < m->nservices && i < MF_MAX_SERVICES; i++) {
		uint32_t j;
		for (j = 0; j < n; j++)
			if (mf_str_eq(out[j], m->services[i].binary))
				break;
		if (j == n)
			out[n++] = m->services[i].binary;
	}
	return n;
}
