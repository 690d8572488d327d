/*
 * The virtio split-ring format (kddf_virtio.h), shared by the legacy and the
 * modern PCI transport (virtio 1.x §2.7, §4.1). The ring is one DMA buffer
 * in the legacy layout (descriptor table at 0, available ring after it, used
 * ring at the next 4096-byte boundary): legacy devices require it, and the
 * modern transport is made to use the same layout so one parser serves both.
 *
 * What the driver can and cannot do:
 *  - it never maps the ring (kbuf.ring), so it cannot write a descriptor
 *    address or a fake used entry;
 *  - a descriptor is written here from (buffer pages + offset) after the
 *    ledger checked the window; chains are linked only between descriptors
 *    the ledger saw (lib/ddf: members deferred, the head publishes);
 *  - the used ring is device data: ids outside the queue or naming no live
 *    head are ignored, and one pass consumes at most one ring's worth;
 *  - modern: queue_desc/driver/device are written only by brokeredQueueBase,
 *    from one ring buffer at the offsets of that layout for the queue's
 *    current size; the size cannot change once brokered, the queue cannot be
 *    enabled before all three are brokered, and a device reset (status 0)
 *    forgets them all.
 */
#include "ddf/kddf_virtio.h"
#include "arch/x86_64/x86.h"
#include "kernel.h"
#include "pci/pci.h"

#define VQ_MAX		KDDF_VQ_MAX
#define VQ_SLOTS	KDDF_VQ_SLOTS
#define VDESC_F_NEXT	1u
#define VDESC_F_WRITE	2u
#define VCAP_VENDOR	0x09
#define VCAP_COMMON	1
#define VCAP_NOTIFY	2
#define VCAP_LEN	16u
#define VCAP_NOTIFY_LEN	20u
#define NOTIFY_RULES	4u	/* doorbells in a modern policy (queues 0..3) */
/* VIRTIO_F_RING_PACKED (bit 34, §6): the device would read the table as a packed ring,
 * whose availability bits are not what the kernel wrote; the kernel authors split rings. */
#define F_RING_PACKED_HI	(1u << (34 - 32))

enum { B_DESC = 1, B_DRIVER = 2, B_DEVICE = 4, B_ALL = 7 };

/* Per claim slot: where the modern common configuration is, what is brokered. */
struct kvmod {
	bool on;
	struct kvirtio_caps vc;
	uint8_t brokered[VQ_MAX];	/* B_* bits for each queue */
	uint16_t qsize[VQ_MAX];		/* queue size the addresses were brokered for */
	uint64_t ring[VQ_MAX];		/* the ring buffer they point into */
	uint32_t gfselect;		/* driver_feature_select last written */
};
static struct kvmod vmods[KDDF_NCLAIMS];

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
} __attribute__((packed));
_Static_assert(sizeof(struct vdesc) == 16, "virtq descriptor (§2.7.5)");

/* ---- ring layout (legacy §2.7.2, alignment 4096) ---- */

static uint64_t
used_off(uint16_t qs)
{
	return ALIGN_UP(16ull * qs + 6 + 2ull * qs, 4096);
}

static uint64_t
ring_bytes(uint16_t qs)
{
	return used_off(qs) + 6 + 8ull * qs;
}

static bool
is_virtio(const struct kdev *d)
{
	return d && (d->fmt == KDDF_FMT_VIRTIO_LEGACY || d->fmt == KDDF_FMT_VIRTIO_MODERN);
}

/* Whether `cookie` is the ring of any queue of any claim other than (ci, queue). */
static bool
ring_elsewhere(uint32_t ci, uint16_t queue, uint64_t cookie)
{
	for (uint32_t c = 0; c < KDDF_NCLAIMS; c++) {
		struct kdev *d = kddf_int_kdev(c);
		for (uint16_t q = 0; d && q < VQ_MAX; q++)
			if (d->q[q].ring == cookie && (c != ci || q != queue))
				return true;
	}
	for (uint16_t q = 0; q < VQ_MAX; q++)	/* modern: brokered, not yet attached */
		if (vmods[ci].brokered[q] && vmods[ci].ring[q] == cookie && q != queue)
			return true;
	return false;
}

/*
 * A usable ring for (ci, queue) of `qs` entries: power of two, tracked, big
 * enough; never mapped (the driver could write device addresses), never the
 * data of a live descriptor (the device could write the table or the
 * available ring), never another queue's ring (two queues' descriptors in
 * one table would overwrite each other under the device).
 */
static int
ring_usable(uint32_t ci, uint16_t queue, uint64_t cookie, uint16_t qs)
{
	const struct kbuf *b = kddf_int_kbuf(cookie);
	if (!b || b->mapped)
		return E_PERM;
	if (!qs || qs > VQ_SLOTS || (qs & (qs - 1)) || ring_bytes(qs) > b->npages * PAGE_SIZE)
		return E_RANGE;
	if (kddf_int_buf_live(cookie) || ring_elsewhere(ci, queue, cookie))
		return E_BUSY;
	return 0;
}

static void
ring_attach(struct kdev *d, uint16_t queue, uint64_t cookie, uint16_t qs)
{
	struct kvq *q = &d->q[queue];
	memset(q, 0, sizeof *q);
	q->ring = cookie;
	q->size = qs;
	kddf_int_kbuf(cookie)->ring = true;
	/* a ring reused after a reset starts clean: the device reads idx 0 */
	memset(phys_to_virt(kddf_int_buf_addr(cookie, 0)), 0, ring_bytes(qs));
}

/* ---- capabilities (modern) ---- */

int
kvirtio_find_caps(struct pci_func *f, struct kvirtio_caps *out)
{
	bool common = false, notify = false;

	memset(out, 0, sizeof *out);
	/* f->vcap is the PCI layer's bounded walk (loops and overruns stop it). */
	for (uint32_t i = 0; i < f->nvcaps && i < PCI_MAX_VCAPS; i++) {
		uint8_t p = f->vcap[i];
		if (p < 0x40 || p > 256 - VCAP_LEN || pci_read8(f, p) != VCAP_VENDOR)
			continue;
		uint8_t len = pci_read8(f, p + 2), type = pci_read8(f, p + 3), bar = pci_read8(f, p + 4);
		uint32_t off = pci_read32(f, p + 8), rlen = pci_read32(f, p + 12);
		if (len < VCAP_LEN || bar >= 6 || f->bar[bar].type == PCI_BAR_IO || !f->bar[bar].type ||
		    (uint64_t)off + rlen > f->bar[bar].size)
			continue;	/* unusable: a later capability of the same type may serve */
		if (type == VCAP_COMMON && !common && rlen >= VIRTIO_MOD_COMMON_LEN) {
			out->cbar = bar, out->coff = off, out->clen = rlen;
			common = true;
		} else if (type == VCAP_NOTIFY && !notify && len >= VCAP_NOTIFY_LEN &&
		    p <= 256 - VCAP_NOTIFY_LEN && rlen >= 2) {
			out->nbar = bar, out->noff = off, out->nlen = rlen;
			out->nmult = pci_read32(f, p + 16);
			notify = true;
		}
	}
	return common && notify ? 0 : E_NOENT;
}

uint8_t
kvirtio_format(struct pci_func *f, uint8_t bar, struct kvirtio_caps *caps)
{
	if (!f || f->vendor != 0x1af4 || bar >= 6)
		return KDDF_FMT_NONE;
	/* Transitional ids (0x1000..0x103f) keep the legacy header in I/O BAR0. */
	if (bar == 0 && f->bar[0].type == PCI_BAR_IO && f->device >= 0x1000 && f->device <= 0x103f)
		return KDDF_FMT_VIRTIO_LEGACY;
	if (kvirtio_find_caps(f, caps) == 0 && caps->cbar == bar)
		return KDDF_FMT_VIRTIO_MODERN;
	return KDDF_FMT_NONE;
}

/* A 16-bit register of the (still unclaimed) common configuration, through the kernel's map. */
static volatile uint16_t *
common16(struct pci_func *f, const struct kvirtio_caps *vc, uint32_t reg)
{
	return (volatile uint16_t *)pci_map_bar(f, vc->cbar, (uint64_t)vc->coff + reg, 2);
}

void
kvirtio_policy_modern(struct pci_func *f, struct kvirtio_caps *vc,
    struct ddf_policy *pol, uint32_t owner, uint64_t budget, uint32_t max_inflight)
{
	static const struct { uint32_t off; uint8_t width; } w[] = {
		{ VIRTIO_MOD_DFSELECT, 4 }, { VIRTIO_MOD_GFSELECT, 4 }, { VIRTIO_MOD_GF, 4 },
		{ VIRTIO_MOD_MSIX, 2 }, { VIRTIO_MOD_STATUS, 1 }, { VIRTIO_MOD_Q_SELECT, 2 },
		{ VIRTIO_MOD_Q_SIZE, 2 }, { VIRTIO_MOD_Q_MSIX, 2 }, { VIRTIO_MOD_Q_ENABLE, 2 },
	};
	static const struct { uint32_t off; uint8_t align; } a[] = {
		{ VIRTIO_MOD_Q_DESC, 4 }, { VIRTIO_MOD_Q_DRIVER, 1 }, { VIRTIO_MOD_Q_DEVICE, 2 },
	};
	memset(pol, 0, sizeof *pol);
	pol->owner = owner;
	pol->dma_budget = budget;
	pol->max_inflight = max_inflight;
	for (uint32_t i = 0; i < sizeof w / sizeof w[0]; i++)
		pol->rules[pol->nrules++] = (struct ddf_rule){ .kind = DDF_RULE_WRITE32,
		    .bar = vc->cbar, .offset = vc->coff + w[i].off, .width = w[i].width };
	for (uint32_t i = 0; i < sizeof a / sizeof a[0]; i++)
		pol->rules[pol->nrules++] = (struct ddf_rule){ .kind = DDF_RULE_ADDR64,
		    .bar = vc->cbar, .offset = vc->coff + a[i].off, .align_log2 = a[i].align,
		    .min_bytes = 16 };
	/* One doorbell per queue (0..3) at notify + queue_notify_off * multiplier (§4.1.4.4). */
	volatile uint16_t *numq = common16(f, vc, VIRTIO_MOD_NUMQ);
	volatile uint16_t *sel = common16(f, vc, VIRTIO_MOD_Q_SELECT);
	volatile uint16_t *noff = common16(f, vc, VIRTIO_MOD_Q_NOFF);
	uint32_t nq = numq ? *numq : 0;
	for (uint32_t q = 0; sel && noff && q < nq && q < NOTIFY_RULES; q++) {
		*sel = (uint16_t)q;
		uint64_t off = (uint64_t)*noff * vc->nmult;
		if (off + 2 > vc->nlen)
			continue;	/* outside the notify region: no doorbell for that queue */
		vc->qnotify |= (uint8_t)(1u << q);
		vc->qnoff[q] = (uint32_t)off;
		bool dup = false;
		for (uint32_t r = 0; r < pol->nrules; r++)
			dup |= pol->rules[r].bar == vc->nbar && pol->rules[r].offset == vc->noff + off;
		if (!dup)
			pol->rules[pol->nrules++] = (struct ddf_rule){ .kind = DDF_RULE_WRITE32,
			    .bar = vc->nbar, .offset = vc->noff + off, .width = 2 };
	}
	if (sel)
		*sel = 0;
	memcpy(pol->label, "virtio-modern", 14);
}

void
kddf_policy_virtio_legacy(struct ddf_policy *pol, uint32_t owner, uint64_t budget,
    uint32_t max_inflight)
{
	static const struct { uint64_t off; uint8_t width; } w[] = {
		{ VIRTIO_LEG_GUEST_FEATURES, 4 }, { VIRTIO_LEG_QUEUE_SEL, 2 },
		{ VIRTIO_LEG_QUEUE_NOTIFY, 2 }, { VIRTIO_LEG_STATUS, 1 },
		{ VIRTIO_LEG_MSIX_CONFIG, 2 }, { VIRTIO_LEG_MSIX_QUEUE, 2 },
	};
	memset(pol, 0, sizeof *pol);
	pol->owner = owner;
	pol->dma_budget = budget;
	pol->max_inflight = max_inflight;
	for (uint32_t i = 0; i < sizeof w / sizeof w[0]; i++)
		pol->rules[pol->nrules++] = (struct ddf_rule){ .kind = DDF_RULE_WRITE32, .bar = 0,
		    .offset = w[i].off, .width = w[i].width };
	pol->rules[pol->nrules++] = (struct ddf_rule){ .kind = DDF_RULE_PFN32, .bar = 0,
	    .offset = VIRTIO_LEG_QUEUE_PFN, .min_bytes = 2 * PAGE_SIZE };
	memcpy(pol->label, "virtio-legacy", 14);
}

void
kvirtio_claimed(uint32_t ci, const struct kvirtio_caps *vc)
{
	struct kvmod *m = &vmods[ci];
	memset(m, 0, sizeof *m);
	if (vc) {
		m->on = true;
		m->vc = *vc;
	}
}

/* ---- register writes ---- */

/* The common-configuration register a modern write names, or -1. */
static int
common_reg(uint32_t ci, uint8_t bar, uint64_t off)
{
	const struct kvmod *m = &vmods[ci];
	if (!m->on || bar != m->vc.cbar || off < m->vc.coff || off >= m->vc.coff + VIRTIO_MOD_COMMON_LEN)
		return -1;
	return (int)(off - m->vc.coff);
}

static uint16_t
common_read16(uint32_t ci, uint32_t reg)
{
	const struct kvmod *m = &vmods[ci];
	return (uint16_t)kddf_int_reg_read(ci, m->vc.cbar, m->vc.coff + reg, 2);
}

int
kvirtio_write_check(uint32_t ci, uint8_t bar, uint64_t off, uint8_t width, uint32_t v)
{
	struct kdev *d = kddf_int_kdev(ci);
	const struct kvmod *m = &vmods[ci];
	int reg = common_reg(ci, bar, off);
	uint16_t q = d ? d->qsel : VQ_MAX;

	if (!d || d->fmt != KDDF_FMT_VIRTIO_MODERN || reg < 0)
		return 0;
	if (reg == VIRTIO_MOD_Q_SIZE && q < VQ_MAX && m->brokered[q])
		return E_BUSY;		/* the ring was sized for the brokered addresses */
	if (reg == VIRTIO_MOD_GF && m->gfselect == 1 && (v & F_RING_PACKED_HI))
		return E_PERM;		/* only the split ring format is authored */
	if (reg == VIRTIO_MOD_Q_ENABLE && v) {
		/* Only a queue whose three addresses the kernel wrote, for this size. */
		if (q >= VQ_MAX || m->brokered[q] != B_ALL ||
		    common_read16(ci, VIRTIO_MOD_Q_SIZE) != m->qsize[q] || !d->q[q].ring)
			return E_PERM;
	}
	return 0;
}

void
kvirtio_written(uint32_t ci, uint8_t bar, uint64_t off, uint8_t width, uint32_t v)
{
	struct kdev *d = kddf_int_kdev(ci);
	struct kvmod *m = &vmods[ci];
	int reg = common_reg(ci, bar, off);

	if (!is_virtio(d))
		return;
	if (d->fmt == KDDF_FMT_VIRTIO_LEGACY && bar == 0 && off == VIRTIO_LEG_QUEUE_SEL)
		d->qsel = (uint16_t)v;
	if (reg == VIRTIO_MOD_Q_SELECT)
		d->qsel = (uint16_t)v;
	if (reg == VIRTIO_MOD_GFSELECT)
		m->gfselect = v;
	if (reg == VIRTIO_MOD_STATUS && (v & 0xff) == 0) {
		/* Device reset: it forgot the queue addresses; nothing is brokered any more. */
		memset(m->brokered, 0, sizeof m->brokered);
		memset(m->qsize, 0, sizeof m->qsize);
	}
}

/* ---- rings ---- */

int
kvirtio_legacy_ring(uint32_t ci, uint64_t ring_cookie)
{
	struct kdev *d = kddf_int_kdev(ci);
	int e;

	if (!d || d->fmt != KDDF_FMT_VIRTIO_LEGACY)
		return 0;	/* not a virtio ring (the ledger's own checks apply) */
	if (d->qsel >= VQ_MAX)
		return E_PERM;
	uint16_t qs = (uint16_t)kddf_int_reg_read(ci, 0, VIRTIO_LEG_QUEUE_SIZE, 2);
	if ((e = ring_usable(ci, d->qsel, ring_cookie, qs)) < 0)
		return e;
	if (kddf_int_queue_live(ci, d->qsel))
		return E_BUSY;	/* descriptors of the old ring are still live */
	ring_attach(d, d->qsel, ring_cookie, qs);
	return 0;
}

static int
base_bit(int reg)
{
	return reg == VIRTIO_MOD_Q_DESC ? B_DESC : reg == VIRTIO_MOD_Q_DRIVER ? B_DRIVER :
	    reg == VIRTIO_MOD_Q_DEVICE ? B_DEVICE : 0;
}

int
kvirtio_base_check(uint32_t ci, uint8_t bar, uint64_t off, uint64_t ring_cookie,
    uint64_t buf_off)
{
	struct kdev *d = kddf_int_kdev(ci);
	const struct kvmod *m = &vmods[ci];
	int reg = common_reg(ci, bar, off), bit = base_bit(reg), e;

	if (!d || d->fmt != KDDF_FMT_VIRTIO_MODERN)
		return 0;	/* not a virtio ring (the ledger's own checks apply) */
	uint16_t q = d->qsel;
	if (!bit || q >= VQ_MAX)
		return E_PERM;
	if (common_read16(ci, VIRTIO_MOD_Q_ENABLE))
		return E_BUSY;	/* §4.1.4.3.2: addresses of an enabled queue do not change */
	uint16_t qs = common_read16(ci, VIRTIO_MOD_Q_SIZE);
	if ((e = ring_usable(ci, q, ring_cookie, qs)) < 0)
		return e;
	uint64_t want = bit == B_DESC ? 0 : bit == B_DRIVER ? 16ull * qs : used_off(qs);
	if (buf_off != want)
		return E_INVAL;	/* one ring, one layout: the kernel parses it */
	if (m->brokered[q] && (m->ring[q] != ring_cookie || m->qsize[q] != qs))
		return E_INVAL;	/* all three from the same ring and size */
	if (kddf_int_queue_live(ci, q))
		return E_BUSY;	/* descriptors of the old ring are still live */
	return 0;
}

void
kvirtio_base_done(uint32_t ci, uint8_t bar, uint64_t off, uint64_t ring_cookie,
    int *queue_ready, uint16_t *queue, uint16_t *size)
{
	struct kdev *d = kddf_int_kdev(ci);
	struct kvmod *m = &vmods[ci];
	int bit = base_bit(common_reg(ci, bar, off));

	*queue_ready = 0;
	if (!d || d->fmt != KDDF_FMT_VIRTIO_MODERN || !bit || d->qsel >= VQ_MAX)
		return;
	uint16_t q = d->qsel;
	m->ring[q] = ring_cookie;
	m->qsize[q] = common_read16(ci, VIRTIO_MOD_Q_SIZE);
	m->brokered[q] |= (uint8_t)bit;
	kddf_int_kbuf(ring_cookie)->ring = true;	/* never mappable from now on */
	if (m->brokered[q] != B_ALL)
		return;
	ring_attach(d, q, ring_cookie, m->qsize[q]);
	*queue_ready = 1;
	*queue = q;
	*size = m->qsize[q];
}

int
kvirtio_submit_check(uint32_t ci, uint16_t queue, uint16_t slot, uint16_t flags, uint16_t next)
{
	struct kdev *d = kddf_int_kdev(ci);
	if (!is_virtio(d) || queue >= VQ_MAX || !d->q[queue].ring || slot >= d->q[queue].size)
		return E_INVAL;
	/* The ledger bounds `next` by its queue depth; the table written is this ring's. */
	if ((flags & VDESC_F_NEXT) && next >= d->q[queue].size)
		return E_INVAL;
	if (flags & ~(VDESC_F_NEXT | VDESC_F_WRITE))
		return E_INVAL;	/* INDIRECT: a table would hold driver-written addresses */
	return 0;
}

void
kvirtio_publish(uint32_t ci, uint16_t queue, uint16_t slot, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next, int deferred)
{
	struct kdev *d = kddf_int_kdev(ci);
	if (!is_virtio(d))
		return;
	struct kvq *q = &d->q[queue];	/* kvirtio_submit_check checked queue, slot, ring */
	uint8_t *ring = phys_to_virt(kddf_int_buf_addr(q->ring, 0));
	struct vdesc *desc = (struct vdesc *)ring;
	volatile uint16_t *avail = (volatile uint16_t *)(ring + 16ull * q->size);
	desc[slot] = (struct vdesc){ addr, len, flags & (VDESC_F_NEXT | VDESC_F_WRITE),
		(flags & VDESC_F_NEXT) ? next : 0 };
	if (deferred)
		return;		/* a chain member: written, made available by its head */
	avail[2 + q->avail_idx % q->size] = slot;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* descriptors before the index (§2.7.13) */
	avail[1] = ++q->avail_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int
kvirtio_notify(uint32_t ci, uint16_t queue, bool ring)
{
	struct kdev *d = kddf_int_kdev(ci);
	const struct kvmod *m = &vmods[ci];
	if (!is_virtio(d) || queue >= VQ_MAX || !d->q[queue].ring)
		return E_INVAL;
	bool modern = d->fmt == KDDF_FMT_VIRTIO_MODERN;
	if (modern && (queue >= NOTIFY_RULES || !(m->vc.qnotify & (1u << queue))))
		return E_NOTSUP;
	if (!ring)
		return 0;
	/* The descriptors and the available index are written (kvirtio_publish fenced). */
	if (modern)
		kddf_int_reg_write(ci, m->vc.nbar, (uint64_t)m->vc.noff + m->vc.qnoff[queue], 2, queue);
	else
		kddf_int_reg_write(ci, 0, VIRTIO_LEG_QUEUE_NOTIFY, 2, queue);
	return 0;
}

void
kvirtio_head_token(uint32_t ci, uint16_t queue, uint16_t slot, ddf_handle token)
{
	struct kdev *d = kddf_int_kdev(ci);
	if (is_virtio(d) && queue < VQ_MAX && slot < VQ_SLOTS)
		d->q[queue].tok[slot] = token;
}

void
kvirtio_poll(uint32_t ci)
{
	struct kdev *d = kddf_int_kdev(ci);
	if (!is_virtio(d))
		return;
	for (uint32_t qi = 0; qi < VQ_MAX; qi++) {
		struct kvq *q = &d->q[qi];
		if (!q->ring)
			continue;
		uint8_t *ring = phys_to_virt(kddf_int_buf_addr(q->ring, 0));
		volatile uint16_t *used = (volatile uint16_t *)(ring + used_off(q->size));
		uint16_t idx = used[1];
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		/* A hostile or confused device: never walk more than one ring's worth. */
		for (uint32_t n = 0; q->used_seen != idx && n < q->size; n++, q->used_seen++) {
			volatile uint32_t *e = (volatile uint32_t *)(used + 2) + 2u * (q->used_seen % q->size);
			uint32_t id = e[0], len = e[1];
			if (id >= q->size || !q->tok[id])
				continue;	/* stale or bogus id: wakes nobody, counts nothing */
			(void)ddf_dma_device_done(kddf_ledger(), q->tok[id], len);
			q->tok[id] = 0;
		}
	}
}

void
kvirtio_drain(uint32_t ci)
{
	struct kdev *d = kddf_int_kdev(ci);
	struct kvmod *m = &vmods[ci];
	if (!is_virtio(d))
		return;
	/* Device reset: it forgets every queue address before the ring pages are freed. */
	if (d->fmt == KDDF_FMT_VIRTIO_LEGACY) {
		kddf_int_reg_write(ci, 0, VIRTIO_LEG_STATUS, 1, 0);
		(void)kddf_int_reg_read(ci, 0, VIRTIO_LEG_STATUS, 1);
	} else {
		kddf_int_reg_write(ci, m->vc.cbar, m->vc.coff + VIRTIO_MOD_STATUS, 1, 0);
		/* §4.1.4.3.2: the reset is complete when status reads back 0 (bounded) */
		for (int i = 0; i < 100000 &&
		    kddf_int_reg_read(ci, m->vc.cbar, m->vc.coff + VIRTIO_MOD_STATUS, 1); i++)
			pause();
	}
	memset(m->brokered, 0, sizeof m->brokered);
	memset(m->qsize, 0, sizeof m->qsize);
	memset(m->ring, 0, sizeof m->ring);
	for (uint32_t q = 0; q < VQ_MAX; q++)
		memset(&d->q[q], 0, sizeof d->q[q]);
	d->qsel = 0;		/* the reset device selects queue 0 */
}
