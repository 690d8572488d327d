/*
 * TEST FIXTURE: virtio-blk device model; see vblk_model.h. Register layout:
 * modern BAR 4 = common @0x0000, ISR @0x1000, device config @0x2000,
 * notify @0x3000 (multiplier 4), like QEMU's virtio-blk-pci; legacy I/O
 * BAR of 0x40 ports.
 */
#include "vblk_model.h"

#include <stdlib.h>
#include <string.h>

#include "../../../user/drivers/virtio/virtio_reg.h"
#include "../../../user/drivers/virtio_blk/vblk_reg.h"

#define M_BAR 4u
#define M_COMMON 0x0000u
#define M_ISR 0x1000u
#define M_DEVICE 0x2000u
#define M_NOTIFY 0x3000u
#define M_BAR_LEN 0x4000u
#define M_NOTIFY_MULT 4u

static void
put_cap(uint8_t *cfg, unsigned at, unsigned next, unsigned type, uint32_t off, uint32_t len, unsigned clen)
{
	cfg[at] = PCI_CAP_ID_VENDOR;
	cfg[at + 1] = (uint8_t)next;
	cfg[at + 2] = (uint8_t)clen;
	cfg[at + 3] = (uint8_t)type;
	cfg[at + 4] = M_BAR;
	memcpy(cfg + at + 8, &off, 4);
	memcpy(cfg + at + 12, &len, 4);
}

struct vblk_model *
vblk_model_new(int legacy, uint64_t sectors, uint32_t blk_size)
{
	struct vblk_model *m = calloc(1, sizeof(*m));
	uint8_t cfg[256] = { 0 };
	uint32_t mult = M_NOTIFY_MULT;

	m->legacy = legacy;
	m->sectors = sectors;
	m->blk_size = blk_size;
	m->size_max = 1u << 20;
	m->disk = calloc(1, sectors * 512);
	m->qmax = legacy ? 256 : 1024;
	m->features = 1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_BLK_SIZE |
	    1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_SIZE_MAX;
	if (!legacy)
		m->features |= 1ull << VIRTIO_F_VERSION_1;
	m->env = fake_env_new(&vblk_model_ops, m);
	if (legacy) {
		fake_env_set_ports(m->env, 0x40);
	} else {
		cfg[0] = 0xf4; cfg[1] = 0x1a; cfg[2] = 0x42; cfg[3] = 0x10;
		cfg[PCI_CFG_STATUS] = PCI_STATUS_CAP_LIST;
		cfg[PCI_CFG_CAP_PTR] = 0x40;
		put_cap(cfg, 0x40, 0x50, VIRTIO_PCI_CAP_COMMON_CFG, M_COMMON, 0x1000, 16);
		put_cap(cfg, 0x50, 0x60, VIRTIO_PCI_CAP_ISR_CFG, M_ISR, 0x1000, 16);
		put_cap(cfg, 0x60, 0x70, VIRTIO_PCI_CAP_DEVICE_CFG, M_DEVICE, 0x1000, 16);
		put_cap(cfg, 0x70, 0x00, VIRTIO_PCI_CAP_NOTIFY_CFG, M_NOTIFY, 0x1000, 20);
		memcpy(cfg + 0x70 + 16, &mult, 4);
		fake_env_set_config(m->env, cfg, sizeof(cfg));
		fake_env_set_bar(m->env, M_BAR, M_BAR_LEN);
	}
	return m;
}

void
vblk_model_free(struct vblk_model *m)
{
	fake_env_free(m->env);
	free(m->disk);
	free(m);
}

static void
reset(struct vblk_model *m)
{
	m->status = 0;
	m->driver_features = 0;
	m->qsize = 0;
	m->qenable = 0;
	m->qdesc = m->qavail = m->qused = 0;
	m->last_avail = 0;
	m->isr = 0;
	m->pending = 0;
	m->resets++;
}

/* ---- request processing ---- */

static struct virtq_desc *
desc_at(struct vblk_model *m, uint16_t i)
{
	return fake_env_translate(m->env, m->qdesc + (uint64_t)i * 16, 16);
}

static uint8_t
execute(struct vblk_model *m, const struct virtio_blk_req_hdr *h, uint8_t *data, uint32_t dlen,
    int data_writable)
{
	uint64_t off;

	if (m->io_error) {
		m->io_error--;
		return VIRTIO_BLK_S_IOERR;
	}
	switch (h->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (dlen % 512 || h->sector > m->sectors || dlen / 512 > m->sectors - h->sector ||
		    (h->type == VIRTIO_BLK_T_IN) != data_writable || dlen > m->size_max ||
		    (h->sector * 512) % m->blk_size || dlen % m->blk_size) {
			m->errors++;
			return VIRTIO_BLK_S_IOERR;
		}
		off = h->sector * 512;
		if (h->type == VIRTIO_BLK_T_IN) {
			memcpy(data, m->disk + off, dlen);
			m->reads++;
		} else {
			memcpy(m->disk + off, data, dlen);
			m->writes++;
		}
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		m->flushes++;
		return VIRTIO_BLK_S_OK;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* One chain: header, optional data, status. Returns device-written bytes. */
static uint32_t
process_chain(struct vblk_model *m, uint16_t head)
{
	struct virtq_desc *d[3];
	struct virtio_blk_req_hdr hdr;
	uint8_t *status, *data = NULL;
	uint16_t i = head;
	unsigned n = 0;

	for (;;) {
		if (i >= m->qsize || n == 3 || !(d[n] = desc_at(m, i))) {
			m->errors++;
			return 0;
		}
		n++;
		if (!(d[n - 1]->flags & VIRTQ_DESC_F_NEXT))
			break;
		i = d[n - 1]->next;
	}
	if (n < 2 || d[0]->len != sizeof(hdr) || (d[0]->flags & VIRTQ_DESC_F_WRITE) ||
	    d[n - 1]->len != 1 || !(d[n - 1]->flags & VIRTQ_DESC_F_WRITE)) {
		m->errors++;
		return 0;
	}
	memcpy(&hdr, fake_env_translate(m->env, d[0]->addr, sizeof(hdr)), sizeof(hdr));
	status = fake_env_translate(m->env, d[n - 1]->addr, 1);
	if (n == 3 && !(data = fake_env_translate(m->env, d[1]->addr, d[1]->len))) {
		m->errors++;
		*status = VIRTIO_BLK_S_IOERR;
		return 1;
	}
	*status = execute(m, &hdr, data, n == 3 ? d[1]->len : 0,
	    n == 3 && (d[1]->flags & VIRTQ_DESC_F_WRITE));
	return 1 + ((n == 3 && hdr.type == VIRTIO_BLK_T_IN) ? d[1]->len : 0);
}

/* Out of order (knob `reverse`): the heads made available since the last
 * pass are served last first, as a device that finishes a later request
 * before an earlier one: the entries are swapped in place in the
 * available ring (the driver never reads a published entry back). */
static void
reverse_avail(struct vblk_model *m, struct virtq_avail_hdr *ah, uint16_t n)
{
	uint16_t *ring = (uint16_t *)(ah + 1), lo = m->last_avail, hi = ah->idx;

	while ((uint16_t)(hi - lo) > 1) {
		uint16_t t = ring[lo % n];

		hi--;
		ring[lo % n] = ring[hi % n];
		ring[hi % n] = t;
		lo++;
		m->reversed++;
	}
}

static void
process(struct vblk_model *m)
{
	struct virtq_avail_hdr *ah;
	struct virtq_used_hdr *uh;
	uint16_t n = m->qsize;

	if (!n || !(m->status & VIRTIO_STATUS_DRIVER_OK) || (!m->legacy && !m->qenable))
		return;
	ah = fake_env_translate(m->env, m->qavail, 4 + 2u * n);
	uh = fake_env_translate(m->env, m->qused, 4 + 8u * n);
	if (!ah || !uh) {
		m->errors++;
		return;
	}
	if (m->reverse)
		reverse_avail(m, ah, n);
	while (m->last_avail != ah->idx) {
		uint16_t head = ((uint16_t *)(ah + 1))[m->last_avail % n];
		struct virtq_used_elem *e = (struct virtq_used_elem *)(uh + 1) + (uh->idx % n);
		uint32_t len;

		m->last_avail++;
		if (m->drop) {
			m->drop--;
			continue;
		}
		len = process_chain(m, head);
		e->id = head;
		e->len = len;
		if (m->corrupt_used_id) {
			m->corrupt_used_id = 0;
			e->id = n + 7u;
		}
		if (m->mutate) {
			uint8_t step = 1;

			m->mutate(m->mutate_ctx, VBLK_MUT_USED, (uint8_t *)e, sizeof(*e));
			m->mutate(m->mutate_ctx, VBLK_MUT_USED, &step, 1);
			m->used_idx_jump += step - 1;
		}
		__atomic_thread_fence(__ATOMIC_RELEASE);
		uh->idx = (uint16_t)(uh->idx + 1 + m->used_idx_jump);
		m->used_idx_jump = 0;
		m->isr |= VIRTIO_ISR_QUEUE;
		if (!(ah->flags & VIRTQ_AVAIL_F_NO_INTERRUPT))
			fake_env_raise_irq(m->env);
	}
}

static void
notify(struct vblk_model *m)
{
	m->notifies++;
	if (m->defer)
		m->pending = 1;
	else
		process(m);
}

static void
tick(void *dev)
{
	struct vblk_model *m = dev;

	if (m->pending) {
		m->pending = 0;
		process(m);
	}
}

static void
set_status(struct vblk_model *m, uint8_t v)
{
	if (v == 0) {
		reset(m);
		if (m->stuck_reset)
			m->status = VIRTIO_STATUS_ACKNOWLEDGE;
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(m->status & VIRTIO_STATUS_FEATURES_OK)) {
		if (m->refuse_features_ok || (m->driver_features & ~m->features))
			v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	}
	m->status = v;
}

/* ---- device config (shared layout, 5.2.4) ---- */

static uint32_t
cfg_read(struct vblk_model *m, uint32_t off, unsigned w)
{
	uint8_t cfg[24] = { 0 };
	uint32_t v = 0, seg = 1;
	uint64_t cap = m->sectors;

	memcpy(cfg + VIRTIO_BLK_CFG_CAPACITY, &cap, 8);
	memcpy(cfg + VIRTIO_BLK_CFG_SIZE_MAX, &m->size_max, 4);
	memcpy(cfg + VIRTIO_BLK_CFG_SEG_MAX, &seg, 4);
	memcpy(cfg + VIRTIO_BLK_CFG_BLK_SIZE, &m->blk_size, 4);
	if (m->cfg_gen_flip) {
		m->cfg_gen_flip--;
		m->cfg_gen++;
	}
	if (m->mutate)
		m->mutate(m->mutate_ctx, VBLK_MUT_CFG, cfg, sizeof(cfg));
	if (off + w <= sizeof(cfg))
		memcpy(&v, cfg + off, w);
	return v;
}

/* ---- modern MMIO ---- */

static int
m_policy(void *dev, unsigned bar, uint64_t off, unsigned w)
{
	if (bar != M_BAR)
		return FAKE_RO;
	if (off >= M_NOTIFY && off < M_NOTIFY + 0x1000)
		return FAKE_RW;
	if (off >= M_COMMON + VIRTIO_COMMON_CFG_SIZE)
		return FAKE_RO;
	switch (off) {
	case VIRTIO_COMMON_Q_DESC:
	case VIRTIO_COMMON_Q_DRIVER:
	case VIRTIO_COMMON_Q_DEVICE:
		return w == 8 ? FAKE_ADDR : FAKE_RO;
	case VIRTIO_COMMON_DFSELECT:
	case VIRTIO_COMMON_GFSELECT:
	case VIRTIO_COMMON_GF:
		return w == 4 ? FAKE_RW : FAKE_RO;
	case VIRTIO_COMMON_STATUS:
		return w == 1 ? FAKE_RW : FAKE_RO;
	case VIRTIO_COMMON_MSIX:
	case VIRTIO_COMMON_Q_SELECT:
	case VIRTIO_COMMON_Q_SIZE:
	case VIRTIO_COMMON_Q_MSIX:
	case VIRTIO_COMMON_Q_ENABLE:
		return w == 2 ? FAKE_RW : FAKE_RO;
	default:
		return FAKE_RO;
	}
}

static int
m_read(void *dev, unsigned bar, uint64_t off, unsigned w, uint32_t *v)
{
	struct vblk_model *m = dev;

	*v = 0;
	if (bar != M_BAR)
		return 0;
	if (off >= M_DEVICE && off < M_DEVICE + 0x1000) {
		*v = cfg_read(m, (uint32_t)(off - M_DEVICE), w);
		return 0;
	}
	if (off == M_ISR) {
		*v = m->isr;
		m->isr = 0;     /* 4.1.4.5: reading ISR clears it */
		return 0;
	}
	switch (off) {
	case VIRTIO_COMMON_DF: *v = m->dfsel == 0 ? (uint32_t)m->features :
	    m->dfsel == 1 ? (uint32_t)(m->features >> 32) : 0; break;
	case VIRTIO_COMMON_NUMQ: *v = 1; break;
	case VIRTIO_COMMON_STATUS: *v = m->status; break;
	case VIRTIO_COMMON_CFGGEN: *v = m->cfg_gen; break;
	case VIRTIO_COMMON_Q_SELECT: *v = m->qsel; break;
	case VIRTIO_COMMON_Q_SIZE: *v = m->qsel ? 0 : (m->qsize ? m->qsize : (uint16_t)m->qmax); break;
	case VIRTIO_COMMON_Q_ENABLE: *v = m->qsel ? 0 : m->qenable; break;
	case VIRTIO_COMMON_Q_MSIX: *v = m->qsel ? VIRTIO_MSI_NO_VECTOR : m->qmsix; break;
	case VIRTIO_COMMON_Q_NOFF: *v = 0; break;
	default: break;
	}
	return 0;
}

static void
m_write(void *dev, unsigned bar, uint64_t off, unsigned w, uint32_t v)
{
	struct vblk_model *m = dev;

	if (off >= M_NOTIFY) {
		if (v == 0)
			notify(m);
		return;
	}
	switch (off) {
	case VIRTIO_COMMON_DFSELECT: m->dfsel = v; break;
	case VIRTIO_COMMON_GFSELECT: m->gfsel = v; break;
	case VIRTIO_COMMON_GF:
		if (m->gfsel < 2) {
			m->driver_features &= ~(0xffffffffull << (32 * m->gfsel));
			m->driver_features |= (uint64_t)v << (32 * m->gfsel);
		}
		break;
	case VIRTIO_COMMON_STATUS: set_status(m, (uint8_t)v); break;
	case VIRTIO_COMMON_Q_SELECT: m->qsel = (uint16_t)v; break;
	case VIRTIO_COMMON_Q_SIZE:
		if (m->qsel == 0) {
			if (v == 0 || v > (uint16_t)m->qmax || (v & (v - 1)))
				m->errors++;
			m->qsize = (uint16_t)v;
		}
		break;
	case VIRTIO_COMMON_Q_MSIX: m->qmsix = m->msix_refuse ? VIRTIO_MSI_NO_VECTOR : (uint16_t)v; break;
	case VIRTIO_COMMON_Q_ENABLE:
		if (m->qsel == 0) {
			if (!m->qdesc || !m->qavail || !m->qused)
				m->errors++;
			m->qenable = (uint16_t)v;
		}
		break;
	default: break;
	}
}

static void
m_addr(void *dev, unsigned bar, uint64_t off, uint64_t daddr)
{
	struct vblk_model *m = dev;

	if (m->qsel != 0)
		return;
	if (off == VIRTIO_COMMON_Q_DESC)
		m->qdesc = daddr;
	else if (off == VIRTIO_COMMON_Q_DRIVER)
		m->qavail = daddr;
	else if (off == VIRTIO_COMMON_Q_DEVICE)
		m->qused = daddr;
}

/* ---- legacy ports ---- */

static int
l_policy(void *dev, uint64_t off, unsigned w)
{
	switch (off) {
	case VIRTIO_LEGACY_GUEST_FEATURES: return w == 4 ? FAKE_RW : FAKE_RO;
	case VIRTIO_LEGACY_QUEUE_PFN: return w == 4 ? FAKE_ADDR : FAKE_RO;
	case VIRTIO_LEGACY_QUEUE_SEL:
	case VIRTIO_LEGACY_QUEUE_NOTIFY: return w == 2 ? FAKE_RW : FAKE_RO;
	case VIRTIO_LEGACY_STATUS: return w == 1 ? FAKE_RW : FAKE_RO;
	/* the MSI-X vectors, as the kernel's legacy policy (kddf_policy_virtio_legacy) */
	case VIRTIO_LEGACY_MSIX_CONFIG:
	case VIRTIO_LEGACY_MSIX_QUEUE: return w == 2 ? FAKE_RW : FAKE_RO;
	default: return FAKE_RO;
	}
}

static int
l_read(void *dev, uint64_t off, unsigned w, uint32_t *v)
{
	struct vblk_model *m = dev;

	/* 4.1.4.8: with MSI-X enabled two vector registers (20, 22) precede the config. */
	uint32_t cfg = devenv_irq_is_msix(m->env) ? VIRTIO_LEGACY_CONFIG_MSIX : VIRTIO_LEGACY_CONFIG;

	*v = 0;
	if (off >= cfg) {
		*v = cfg_read(m, (uint32_t)(off - cfg), w);
		return 0;
	}
	if (off == VIRTIO_LEGACY_MSIX_CONFIG) {
		*v = m->cfgmsix;
		return 0;
	}
	if (off == VIRTIO_LEGACY_MSIX_QUEUE) {
		*v = m->qsel ? VIRTIO_MSI_NO_VECTOR : m->qmsix;
		return 0;
	}
	switch (off) {
	case VIRTIO_LEGACY_HOST_FEATURES: *v = (uint32_t)m->features; break;
	case VIRTIO_LEGACY_GUEST_FEATURES: *v = (uint32_t)m->driver_features; break;
	case VIRTIO_LEGACY_QUEUE_NUM: *v = m->qsel ? 0 : (uint16_t)m->qmax; break;
	case VIRTIO_LEGACY_QUEUE_SEL: *v = m->qsel; break;
	case VIRTIO_LEGACY_STATUS: *v = m->status; break;
	case VIRTIO_LEGACY_ISR: *v = m->isr; m->isr = 0; break;
	case VIRTIO_LEGACY_QUEUE_PFN: *v = (uint32_t)(m->qdesc >> 12); break;
	default: break;
	}
	return 0;
}

static void
l_write(void *dev, uint64_t off, unsigned w, uint32_t v)
{
	struct vblk_model *m = dev;

	switch (off) {
	case VIRTIO_LEGACY_GUEST_FEATURES: m->driver_features = v; break;
	case VIRTIO_LEGACY_QUEUE_SEL: m->qsel = (uint16_t)v; break;
	case VIRTIO_LEGACY_QUEUE_NOTIFY: if (v == 0) notify(m); break;
	case VIRTIO_LEGACY_STATUS: set_status(m, (uint8_t)v); break;
	case VIRTIO_LEGACY_MSIX_CONFIG:
		if (devenv_irq_is_msix(m->env))
			m->cfgmsix = (uint16_t)v;
		break;
	case VIRTIO_LEGACY_MSIX_QUEUE:
		if (devenv_irq_is_msix(m->env) && m->qsel == 0)
			m->qmsix = m->msix_refuse ? VIRTIO_MSI_NO_VECTOR : (uint16_t)v;
		break;
	default: break;
	}
}

static void
l_pfn(void *dev, uint64_t off, uint32_t pfn)
{
	struct vblk_model *m = dev;
	uint16_t n = (uint16_t)m->qmax;
	uint64_t avail_end;

	if (m->qsel != 0)
		return;
	/* 2.7.2 legacy layout, derived by the device from the PFN alone. */
	m->qsize = n;
	m->qdesc = (uint64_t)pfn << 12;
	m->qavail = m->qdesc + 16u * (uint64_t)n;
	avail_end = m->qavail + 6 + 2u * (uint64_t)n;
	m->qused = (avail_end + 4095) & ~4095ull;
}

const struct fake_dev_ops vblk_model_ops = {
	m_read, m_write, m_policy, m_addr, l_read, l_write, l_policy, l_pfn, tick,
};
