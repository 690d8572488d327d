/*
 * virtio PCI transport: capability parsing, the modern and legacy register
 * sets, status handshake and feature negotiation (virtio 1.x 3.1, 4.1).
 * Tested on the host against tests/host/drivers/vblk_model.c; the QEMU
 * devices it targets are virtio-blk-pci with and without disable-modern=on.
 */
#include "virtio.h"

#include "base/err.h"
#include "base/mem.h"
#include "virtio_reg.h"

#define VIO_RESET_TIMEOUT_US 1000000u   /* 1 s for status to read back 0 */
#define VIO_POLL_US 10u
#define VIO_CAP_WALK_MAX 48             /* (256 - 64) / 4 distinct positions */

/* ---- capability parsing ---- */

static uint32_t
le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int
parse_one(const uint8_t *cap, struct vio_caps *out)
{
	uint8_t type = cap[VIRTIO_PCI_CAP_CFG_TYPE], bar = cap[VIRTIO_PCI_CAP_BAR];
	uint32_t off = le32_at(cap + VIRTIO_PCI_CAP_OFFSET);
	uint32_t len = le32_at(cap + VIRTIO_PCI_CAP_LENGTH);
	struct vio_region *r;

	switch (type) {
	case VIRTIO_PCI_CAP_COMMON_CFG: r = &out->common; break;
	case VIRTIO_PCI_CAP_NOTIFY_CFG: r = &out->notify; break;
	case VIRTIO_PCI_CAP_ISR_CFG: r = &out->isr; break;
	case VIRTIO_PCI_CAP_DEVICE_CFG: r = &out->device; break;
	default: return 0;      /* PCI_CFG access and vendor types are not used */
	}
	if (r->present)
		return 0;       /* 4.1.4: the driver uses the first of each type */
	if (bar > 5)
		return 0;       /* 4.1.4.1: reserved BAR values are ignored */
	if ((uint64_t)off + len > 0xffffffffull)
		return E_CORRUPT;
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
		if (cap[VIRTIO_PCI_CAP_LEN] < VIRTIO_PCI_NOTIFY_CAP_SIZE)
			return E_CORRUPT;
		out->notify_mult = le32_at(cap + VIRTIO_PCI_NOTIFY_MULT);
	}
	r->present = 1;
	r->bar = bar;
	r->off = off;
	r->len = len;
	return 0;
}

int
vio_parse_caps(const uint8_t *cfg, size_t len, struct vio_caps *out)
{
	unsigned ptr, steps = 0;
	int err;

	memset(out, 0, sizeof(*out));
	if (len < 0x40 || !((cfg[PCI_CFG_STATUS] | cfg[PCI_CFG_STATUS + 1] << 8) & PCI_STATUS_CAP_LIST))
		return E_NOENT;
	ptr = cfg[PCI_CFG_CAP_PTR] & 0xfcu;
	while (ptr) {
		if (ptr < 0x40 || ptr + 2 > len || ++steps > VIO_CAP_WALK_MAX)
			return E_CORRUPT;
		if (cfg[ptr] == PCI_CAP_ID_VENDOR) {
			if (ptr + VIRTIO_PCI_CAP_SIZE > len || cfg[ptr + VIRTIO_PCI_CAP_LEN] < VIRTIO_PCI_CAP_SIZE ||
			    ptr + cfg[ptr + VIRTIO_PCI_CAP_LEN] > len)
				return E_CORRUPT;
			err = parse_one(cfg + ptr, out);
			if (err)
				return err;
		}
		ptr = cfg[ptr + 1] & 0xfcu;
	}
	if (!out->common.present || !out->notify.present || !out->isr.present)
		return E_NOENT;
	if (out->common.len < VIRTIO_COMMON_CFG_SIZE || out->notify.len < 2 || out->isr.len < 1)
		return E_CORRUPT;
	return 0;
}

/* ---- modern register access ---- */

static int
common_rd(struct vio_dev *d, uint32_t reg, unsigned w, uint32_t *v)
{
	return devenv_mmio_read(d->env, d->caps.common.bar, (uint64_t)d->caps.common.off + reg, w, v);
}

static int
common_wr(struct vio_dev *d, uint32_t reg, unsigned w, uint32_t v)
{
	return devenv_mmio_write(d->env, d->caps.common.bar, (uint64_t)d->caps.common.off + reg, w, v);
}

static int
m_get_status(struct vio_dev *d, uint8_t *status)
{
	uint32_t v;
	int err = common_rd(d, VIRTIO_COMMON_STATUS, 1, &v);

	*status = (uint8_t)v;
	return err;
}

static int
m_set_status(struct vio_dev *d, uint8_t status)
{
	return common_wr(d, VIRTIO_COMMON_STATUS, 1, status);
}

static int
m_get_features(struct vio_dev *d, uint64_t *f)
{
	uint32_t lo, hi;
	int err;

	if ((err = common_wr(d, VIRTIO_COMMON_DFSELECT, 4, 0)) || (err = common_rd(d, VIRTIO_COMMON_DF, 4, &lo)) ||
	    (err = common_wr(d, VIRTIO_COMMON_DFSELECT, 4, 1)) || (err = common_rd(d, VIRTIO_COMMON_DF, 4, &hi)))
		return err;
	*f = (uint64_t)hi << 32 | lo;
	return 0;
}

static int
m_set_features(struct vio_dev *d, uint64_t f)
{
	int err;

	if ((err = common_wr(d, VIRTIO_COMMON_GFSELECT, 4, 0)) || (err = common_wr(d, VIRTIO_COMMON_GF, 4, (uint32_t)f)) ||
	    (err = common_wr(d, VIRTIO_COMMON_GFSELECT, 4, 1)) ||
	    (err = common_wr(d, VIRTIO_COMMON_GF, 4, (uint32_t)(f >> 32))))
		return err;
	return 0;
}

static int
m_queue_max(struct vio_dev *d, uint16_t q, uint32_t *max)
{
	int err = common_wr(d, VIRTIO_COMMON_Q_SELECT, 2, q);

	return err ? err : common_rd(d, VIRTIO_COMMON_Q_SIZE, 2, max);
}

static int
m_queue_setup(struct vio_dev *d, struct virtq *vq)
{
	unsigned bar = d->caps.common.bar;
	uint64_t base = d->caps.common.off;
	int err;

	uint32_t vec = devenv_irq_is_msix(d->env) ? 0 : VIRTIO_MSI_NO_VECTOR, got;

	if ((err = common_wr(d, VIRTIO_COMMON_Q_SELECT, 2, vq->index)) ||
	    (err = common_wr(d, VIRTIO_COMMON_Q_SIZE, 2, vq->size)) ||
	    (err = common_wr(d, VIRTIO_COMMON_Q_MSIX, 2, vec)) ||
	    (err = common_rd(d, VIRTIO_COMMON_Q_MSIX, 2, &got)))
		return err;
	/* 4.1.5.1.2.1: a device that cannot map the vector reads back NO_VECTOR. */
	if (got != vec)
		return E_NOTSUP;
	/* Brokered: the environment writes the three ring addresses. */
	if ((err = devenv_mmio_set_addr(d->env, bar, base + VIRTIO_COMMON_Q_DESC, vq->mem.h, 0)) ||
	    (err = devenv_mmio_set_addr(d->env, bar, base + VIRTIO_COMMON_Q_DRIVER, vq->mem.h, vq->avail_off)) ||
	    (err = devenv_mmio_set_addr(d->env, bar, base + VIRTIO_COMMON_Q_DEVICE, vq->mem.h, vq->used_off)))
		return err;
	return common_wr(d, VIRTIO_COMMON_Q_ENABLE, 2, 1);
}

static int
m_notify(struct vio_dev *d, uint16_t q)
{
	uint32_t noff;
	uint64_t off;
	int err;

	if ((err = common_wr(d, VIRTIO_COMMON_Q_SELECT, 2, q)) || (err = common_rd(d, VIRTIO_COMMON_Q_NOFF, 2, &noff)))
		return err;
	off = (uint64_t)noff * d->caps.notify_mult;
	if (off + 2 > d->caps.notify.len)
		return E_RANGE; /* 4.1.4.4: the notify address must be inside the cap */
	return devenv_mmio_write(d->env, d->caps.notify.bar, d->caps.notify.off + off, 2, q);
}

static int
m_isr(struct vio_dev *d, uint8_t *isr)
{
	uint32_t v;
	int err = devenv_mmio_read(d->env, d->caps.isr.bar, d->caps.isr.off, 1, &v);

	*isr = (uint8_t)v;
	return err;
}

static int
m_cfg_read(struct vio_dev *d, uint32_t off, unsigned w, uint32_t *v)
{
	if (!d->caps.device.present || (uint64_t)off + w > d->caps.device.len)
		return E_RANGE;
	return devenv_mmio_read(d->env, d->caps.device.bar, (uint64_t)d->caps.device.off + off, w, v);
}

static int
m_cfg_gen(struct vio_dev *d, uint32_t *gen)
{
	return common_rd(d, VIRTIO_COMMON_CFGGEN, 1, gen);
}

static const struct vio_ops modern_ops = {
	m_get_status, m_set_status, m_get_features, m_set_features, m_queue_max,
	m_queue_setup, m_notify, m_isr, m_cfg_read, m_cfg_gen,
};

/* ---- legacy register access (through the brokered port window) ---- */

static int
l_get_status(struct vio_dev *d, uint8_t *status)
{
	uint32_t v;
	int err = devenv_port_read(d->env, VIRTIO_LEGACY_STATUS, 1, &v);

	*status = (uint8_t)v;
	return err;
}

static int
l_set_status(struct vio_dev *d, uint8_t status)
{
	return devenv_port_write(d->env, VIRTIO_LEGACY_STATUS, 1, status);
}

static int
l_get_features(struct vio_dev *d, uint64_t *f)
{
	uint32_t v;
	int err = devenv_port_read(d->env, VIRTIO_LEGACY_HOST_FEATURES, 4, &v);

	*f = v;
	return err;
}

static int
l_set_features(struct vio_dev *d, uint64_t f)
{
	return devenv_port_write(d->env, VIRTIO_LEGACY_GUEST_FEATURES, 4, (uint32_t)f);
}

static int
l_queue_max(struct vio_dev *d, uint16_t q, uint32_t *max)
{
	int err = devenv_port_write(d->env, VIRTIO_LEGACY_QUEUE_SEL, 2, q);

	return err ? err : devenv_port_read(d->env, VIRTIO_LEGACY_QUEUE_NUM, 2, max);
}

/* 4.1.4.8 with MSI-X enabled: no config-change vector, vector 0 for the
 * selected queue; a device that cannot map it reads back NO_VECTOR. */
static int
l_queue_vector(struct vio_dev *d)
{
	uint32_t got;
	int err;

	if (!devenv_irq_is_msix(d->env))
		return 0;
	if ((err = devenv_port_write(d->env, VIRTIO_LEGACY_MSIX_CONFIG, 2, VIRTIO_MSI_NO_VECTOR)) ||
	    (err = devenv_port_write(d->env, VIRTIO_LEGACY_MSIX_QUEUE, 2, 0)) ||
	    (err = devenv_port_read(d->env, VIRTIO_LEGACY_MSIX_QUEUE, 2, &got)))
		return err;
	return got == 0 ? 0 : E_NOTSUP;
}

static int
l_queue_setup(struct vio_dev *d, struct virtq *vq)
{
	int err = devenv_port_write(d->env, VIRTIO_LEGACY_QUEUE_SEL, 2, vq->index);

	if (!err)
		err = l_queue_vector(d);
	/* Brokered: the environment writes the ring's page frame number. */
	return err ? err : devenv_port_set_pfn(d->env, VIRTIO_LEGACY_QUEUE_PFN, vq->mem.h);
}

static int
l_notify(struct vio_dev *d, uint16_t q)
{
	return devenv_port_write(d->env, VIRTIO_LEGACY_QUEUE_NOTIFY, 2, q);
}

static int
l_isr(struct vio_dev *d, uint8_t *isr)
{
	uint32_t v;
	int err = devenv_port_read(d->env, VIRTIO_LEGACY_ISR, 1, &v);

	*isr = (uint8_t)v;
	return err;
}

static int
l_cfg_read(struct vio_dev *d, uint32_t off, unsigned w, uint32_t *v)
{
	/* 4.1.4.8: with MSI-X enabled on the function (an Interrupt route claims a
	 * vector) two vector registers follow the header and the config moves by 4. */
	uint32_t base = devenv_irq_is_msix(d->env) ? VIRTIO_LEGACY_CONFIG_MSIX : VIRTIO_LEGACY_CONFIG;

	if (off > 0xff || off + w > 0x100)
		return E_RANGE;
	return devenv_port_read(d->env, base + off, w, v);
}

static int
l_cfg_gen(struct vio_dev *d, uint32_t *gen)
{
	*gen = 0;       /* legacy has no generation counter */
	return 0;
}

static const struct vio_ops legacy_ops = {
	l_get_status, l_set_status, l_get_features, l_set_features, l_queue_max,
	l_queue_setup, l_notify, l_isr, l_cfg_read, l_cfg_gen,
};

/* ---- transport-independent steps ---- */

int
vio_probe_modern(struct vio_dev *d, struct devenv *env)
{
	uint8_t cfg[256];
	int n, err;

	memset(d, 0, sizeof(*d));
	d->env = env;
	d->reset_timeout_us = VIO_RESET_TIMEOUT_US;
	n = devenv_pci_config(env, cfg, sizeof(cfg));
	if (n < 0)
		return n;
	if ((uint8_t)cfg[0] != (VIRTIO_PCI_VENDOR & 0xff) || cfg[1] != (VIRTIO_PCI_VENDOR >> 8))
		return E_NOTSUP;
	err = vio_parse_caps(cfg, (size_t)n, &d->caps);
	if (err)
		return err;
	d->ops = &modern_ops;
	d->modern = 1;
	return 0;
}

int
vio_probe_legacy(struct vio_dev *d, struct devenv *env)
{
	memset(d, 0, sizeof(*d));
	d->env = env;
	d->reset_timeout_us = VIO_RESET_TIMEOUT_US;
	d->ops = &legacy_ops;
	d->modern = 0;
	return 0;
}

int
vio_reset(struct vio_dev *d)
{
	uint64_t deadline = devenv_now_ns(d->env) + (uint64_t)d->reset_timeout_us * 1000u;
	uint8_t st;
	int err = d->ops->set_status(d, 0);

	if (err)
		return err;
	/* 4.1.4.3.2: after writing 0 the driver waits for 0 to read back
	 * before reinitialising; a device that never gets there is dead. */
	for (;;) {
		if ((err = d->ops->get_status(d, &st)))
			return err;
		if (st == 0)
			return 0;
		if (devenv_now_ns(d->env) >= deadline)
			return E_TIMEOUT;
		devenv_delay_us(d->env, VIO_POLL_US);
	}
}

void
vio_fail(struct vio_dev *d)
{
	uint8_t st = 0;

	if (d->ops->get_status(d, &st) == 0)
		(void)d->ops->set_status(d, st | VIRTIO_STATUS_FAILED);
}

int
vio_negotiate(struct vio_dev *d, uint64_t required, uint64_t optional)
{
	uint64_t offered, want;
	uint8_t st;
	int err;

	if (d->modern)
		required |= 1ull << VIRTIO_F_VERSION_1;
	else if ((required | optional) >> 32)
		return E_INVAL;         /* legacy has 32 feature bits */
	if ((err = vio_reset(d)))
		return err;
	if ((err = d->ops->set_status(d, VIRTIO_STATUS_ACKNOWLEDGE)) ||
	    (err = d->ops->set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER)) ||
	    (err = d->ops->get_features(d, &offered)))
		goto fail;
	if ((offered & required) != required) {
		err = E_NOTSUP;
		goto fail;
	}
	want = offered & (required | optional);
	if ((err = d->ops->set_features(d, want)))
		goto fail;
	d->features = want;
	if (!d->modern)
		return 0;       /* legacy has no FEATURES_OK handshake */
	if ((err = d->ops->set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	    VIRTIO_STATUS_FEATURES_OK)) || (err = d->ops->get_status(d, &st)))
		goto fail;
	/* 3.1.1 step 6: the device may refuse the subset; re-read to know. */
	if (!(st & VIRTIO_STATUS_FEATURES_OK)) {
		err = E_NOTSUP;
		goto fail;
	}
	return 0;
fail:
	vio_fail(d);
	return err;
}

int
vio_queue_setup(struct vio_dev *d, struct virtq *vq, uint16_t q, uint16_t want)
{
	uint32_t max;
	uint16_t size;
	int err;

	if ((err = d->ops->queue_max(d, q, &max)))
		return err;
	if ((err = virtq_check_size(max)))
		return err;
	size = (uint16_t)max;
	if (d->modern) {        /* 4.1.4.3.2: the driver may pick a smaller size */
		while (want && size > want)
			size >>= 1;
	}
	if (vq->mem.h && vq->size == size && vq->index == q) {
		virtq_reset(vq);
	} else {
		virtq_fini(vq);
		if ((err = virtq_init(vq, d->env, q, size)))
			return err;
	}
	return d->ops->queue_setup(d, vq);
}

int
vio_driver_ok(struct vio_dev *d)
{
	uint8_t st;
	int err = d->ops->get_status(d, &st);

	if (err)
		return err;
	return d->ops->set_status(d, st | VIRTIO_STATUS_DRIVER_OK);
}

int
vio_notify(struct vio_dev *d, uint16_t q)
{
	return d->ops->notify(d, q);
}

int
vio_cfg_read(struct vio_dev *d, uint32_t off, unsigned w, uint32_t *v)
{
	return d->ops->cfg_read(d, off, w, v);
}

int
vio_cfg_read64(struct vio_dev *d, uint32_t off, uint64_t *val)
{
	uint32_t g0, g1, lo, hi;
	int tries, err;

	/* 4.1.4.3.1: a multi-word field is consistent only when the config
	 * generation did not move across the reads. */
	for (tries = 0; tries < 16; tries++) {
		if ((err = d->ops->cfg_gen(d, &g0)) || (err = vio_cfg_read(d, off, 4, &lo)) ||
		    (err = vio_cfg_read(d, off + 4, 4, &hi)) || (err = d->ops->cfg_gen(d, &g1)))
			return err;
		if (g0 == g1) {
			*val = (uint64_t)hi << 32 | lo;
			return 0;
		}
	}
	return E_AGAIN;
}
