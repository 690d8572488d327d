/*
 * TEST FIXTURE: host devenv.h; see fake_env.h. The brokered checks follow
 * the rules of the kernel's shared validators (lib/ddf: descriptor inside
 * its ring and buffer, NEXT|WRITE only, INDIRECT refused, PRP offset dword
 * aligned, PRP list page-aligned and one page) with the same error codes.
 */
#include "fake_env.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "../../../user/drivers/virtio/virtio_reg.h"
#include "../../../user/drivers/nvme/nvme_reg.h"

#define FAKE_MAX_BUFS 64
#define FAKE_DADDR_BASE (1ull << 43)
#define FAKE_DADDR_WIN (1ull << 32)
#define FAKE_IRQ_STEP_NS 1000000ull     /* a wait advances time in 1 ms steps */

struct fake_buf {
	uint8_t *mem;
	uint64_t size;
	uint32_t gen;
	int live;
	int ring;               /* never mapped: queue memory or a PRP list (NVMe) */
};

/* The NVMe broker (what kernel/ddf/kddf_nvme.c does over caps). */
#define FNV_NQ 4u
#define FNV_DEPTH 64u
#define FNV_NNS 16u
#define FNV_WAIT_NS 500000000ull        /* bounded register waits, as the kernel's */

struct fnv_cmd {
	uint32_t seq;           /* 0: free */
	int state;              /* 1 in flight, 2 done */
	uint8_t opc;
	uint16_t status;
	uint32_t dw0, nsid;
	uint16_t arg, qdepth;
	devenv_dma_t qmem, data;
	uint64_t data_off;
};

struct fnv_queue {
	int sq_live, cq_live, creating;
	devenv_dma_t sq, cq;
	uint16_t sq_depth, cq_depth, tail, head, inflight;
	uint8_t phase;
	struct fnv_cmd cmd[FNV_DEPTH];
};

struct fnv {
	int enabled;
	uint32_t seq, dstrd;
	struct { uint32_t nsid, lba; } ns[FNV_NNS];
	struct fnv_queue q[FNV_NQ];
};

struct devenv {
	const struct fake_dev_ops *ops;
	void *dev;
	uint8_t cfg[256];
	size_t cfg_len;
	uint64_t bar_len[6];
	uint64_t port_len;
	struct fake_buf bufs[FAKE_MAX_BUFS];
	uint64_t budget;
	uint64_t now_ns;
	uint64_t busy_looks;	/* devenv_busy_look calls (the crash test point counts them) */
	uint32_t irq_pending;
	int msix;
	int irq_revoked;
	int eoi_owed;
	struct fnv nv;
	struct fake_env_stats st;
};

struct devenv *
fake_env_new(const struct fake_dev_ops *ops, void *dev)
{
	struct devenv *env = calloc(1, sizeof(*env));

	env->ops = ops;
	env->dev = dev;
	env->budget = 16u << 20;
	return env;
}

void
fake_env_free(struct devenv *env)
{
	int i;

	for (i = 0; i < FAKE_MAX_BUFS; i++)
		free(env->bufs[i].mem);
	free(env);
}

void
fake_env_set_config(struct devenv *env, const uint8_t *cfg, size_t len)
{
	env->cfg_len = len > sizeof(env->cfg) ? sizeof(env->cfg) : len;
	memcpy(env->cfg, cfg, env->cfg_len);
}

void
fake_env_set_bar(struct devenv *env, unsigned bar, uint64_t len)
{
	env->bar_len[bar] = len;
}

void
fake_env_set_ports(struct devenv *env, uint64_t len)
{
	env->port_len = len;
}

void
fake_env_set_budget(struct devenv *env, uint64_t bytes)
{
	env->budget = bytes;
}

void
fake_env_set_msix(struct devenv *env, int msix)
{
	env->msix = msix;
}

void
fake_env_raise_irq(struct devenv *env)
{
	env->irq_pending++;
}

void
fake_env_revoke_irq(struct devenv *env, int revoked)
{
	env->irq_revoked = revoked;
}

uint64_t
fake_env_now(struct devenv *env)
{
	return env->now_ns;
}

void
fake_env_stats(struct devenv *env, struct fake_env_stats *out)
{
	int i;

	env->st.live_buffers = 0;
	env->st.used_bytes = 0;
	for (i = 0; i < FAKE_MAX_BUFS; i++) {
		if (env->bufs[i].live) {
			env->st.live_buffers++;
			env->st.used_bytes += env->bufs[i].size;
		}
	}
	*out = env->st;
}

/* ---- handles and device addresses (private to the environment) ---- */

static struct fake_buf *
lookup(struct devenv *env, devenv_dma_t h, unsigned *idx)
{
	uint32_t i = (uint32_t)(h & 0xffffffffu);
	struct fake_buf *b;

	if (i == 0 || i > FAKE_MAX_BUFS)
		return NULL;
	b = &env->bufs[i - 1];
	if (!b->live || b->gen != (uint32_t)(h >> 32))
		return NULL;
	if (idx)
		*idx = i - 1;
	return b;
}

static int
window(struct devenv *env, devenv_dma_t h, uint64_t off, uint64_t len, uint64_t *daddr)
{
	unsigned i;
	struct fake_buf *b = lookup(env, h, &i);

	if (!b || off > b->size || len > b->size - off) {
		env->st.refused_brokered++;
		return b ? E_RANGE : E_STALE;
	}
	*daddr = FAKE_DADDR_BASE + (uint64_t)i * FAKE_DADDR_WIN + off;
	return 0;
}

void *
fake_env_translate(struct devenv *env, uint64_t daddr, uint64_t len)
{
	uint64_t i, off;
	struct fake_buf *b;

	if (daddr < FAKE_DADDR_BASE)
		goto bad;
	i = (daddr - FAKE_DADDR_BASE) / FAKE_DADDR_WIN;
	off = (daddr - FAKE_DADDR_BASE) % FAKE_DADDR_WIN;
	if (i >= FAKE_MAX_BUFS)
		goto bad;
	b = &env->bufs[i];
	if (!b->live || off > b->size || len > b->size - off)
		goto bad;
	return b->mem + off;
bad:
	env->st.bad_dma++;
	return NULL;
}

/* ---- devenv.h ---- */

int
devenv_pci_config(struct devenv *env, uint8_t *buf, size_t len)
{
	size_t n = len < env->cfg_len ? len : env->cfg_len;

	if (n == 0)
		return E_NOENT;
	memcpy(buf, env->cfg, n);
	return (int)n;
}

static int
mmio_check(struct devenv *env, unsigned bar, uint64_t off, unsigned w)
{
	if (bar > 5 || !env->ops->mmio_read)
		return E_RANGE;
	if ((w != 1 && w != 2 && w != 4) || off % w)
		return E_INVAL;
	if (off > env->bar_len[bar] || w > env->bar_len[bar] - off)
		return E_RANGE;
	return 0;
}

int
devenv_mmio_read(struct devenv *env, unsigned bar, uint64_t off, unsigned w, uint32_t *val)
{
	int err = mmio_check(env, bar, off, w);

	if (err)
		return err;
	return env->ops->mmio_read(env->dev, bar, off, w, val);
}

int
devenv_mmio_write(struct devenv *env, unsigned bar, uint64_t off, unsigned w, uint32_t val)
{
	int err = mmio_check(env, bar, off, w);

	if (err)
		return err;
	if (env->ops->mmio_policy(env->dev, bar, off, w) != FAKE_RW) {
		env->st.refused_writes++;
		return E_PERM;
	}
	env->ops->mmio_write(env->dev, bar, off, w, val);
	return 0;
}

int
devenv_mmio_set_addr(struct devenv *env, unsigned bar, uint64_t off, devenv_dma_t buf,
    uint64_t buf_off)
{
	uint64_t daddr;
	int err = mmio_check(env, bar, off, 4);

	if (err || off % 8 || env->ops->mmio_policy(env->dev, bar, off, 8) != FAKE_ADDR) {
		env->st.refused_writes++;
		return err ? err : E_PERM;
	}
	if ((err = window(env, buf, buf_off, 1, &daddr)))
		return err;
	env->ops->mmio_addr(env->dev, bar, off, daddr);
	env->st.addr_writes++;
	return 0;
}

static int
port_check(struct devenv *env, uint64_t off, unsigned w)
{
	if (!env->ops->port_read)
		return E_RANGE;
	if ((w != 1 && w != 2 && w != 4) || off % w)
		return E_INVAL;
	if (off > env->port_len || w > env->port_len - off)
		return E_RANGE;
	return 0;
}

int
devenv_port_read(struct devenv *env, uint64_t off, unsigned w, uint32_t *val)
{
	int err = port_check(env, off, w);

	return err ? err : env->ops->port_read(env->dev, off, w, val);
}

int
devenv_port_write(struct devenv *env, uint64_t off, unsigned w, uint32_t val)
{
	int err = port_check(env, off, w);

	if (err)
		return err;
	if (env->ops->port_policy(env->dev, off, w) != FAKE_RW) {
		env->st.refused_writes++;
		return E_PERM;
	}
	env->ops->port_write(env->dev, off, w, val);
	return 0;
}

int
devenv_port_set_pfn(struct devenv *env, uint64_t off, devenv_dma_t buf)
{
	uint64_t daddr;
	int err = port_check(env, off, 4);

	if (err || env->ops->port_policy(env->dev, off, 4) != FAKE_ADDR) {
		env->st.refused_writes++;
		return err ? err : E_PERM;
	}
	if ((err = window(env, buf, 0, 1, &daddr)))
		return err;
	if (daddr % DEVENV_PAGE_SIZE || (daddr >> VIRTIO_LEGACY_PFN_SHIFT) > 0xffffffffull)
		return E_RANGE;
	env->ops->port_pfn(env->dev, off, (uint32_t)(daddr >> VIRTIO_LEGACY_PFN_SHIFT));
	env->st.addr_writes++;
	return 0;
}

int
devenv_dma_alloc(struct devenv *env, uint64_t bytes, enum devenv_dma_dir dir, struct devenv_dma *out)
{
	uint64_t size = (bytes + DEVENV_PAGE_SIZE - 1) & ~(uint64_t)(DEVENV_PAGE_SIZE - 1);
	struct fake_env_stats st;
	int i;

	if (bytes == 0 || bytes > (1ull << 30) || dir > DEVENV_DMA_BIDIRECTIONAL)
		return E_INVAL;
	fake_env_stats(env, &st);
	if (st.used_bytes + size > env->budget)
		return E_NOMEM;
	for (i = 0; i < FAKE_MAX_BUFS; i++)
		if (!env->bufs[i].live)
			break;
	if (i == FAKE_MAX_BUFS)
		return E_NOMEM;
	free(env->bufs[i].mem);
	env->bufs[i].mem = aligned_alloc(DEVENV_PAGE_SIZE, size);
	if (!env->bufs[i].mem)
		return E_NOMEM;
	memset(env->bufs[i].mem, 0, size);      /* zeroed when allocated */
	env->bufs[i].size = size;
	env->bufs[i].gen++;
	env->bufs[i].live = 1;
	env->bufs[i].ring = 0;
	out->cpu = env->bufs[i].mem;
	out->size = size;
	out->h = (uint64_t)env->bufs[i].gen << 32 | (uint64_t)(i + 1);
	return 0;
}

int
devenv_dma_free(struct devenv *env, struct devenv_dma *buf)
{
	struct fake_buf *b = lookup(env, buf->h, NULL);

	if (!b)
		return E_STALE;
	memset(b->mem, 0xa5, b->size);  /* scrubbed before release */
	b->live = 0;
	b->gen++;                       /* stale from now on */
	buf->h = 0;
	buf->cpu = NULL;
	return 0;
}

int
devenv_virtq_desc(struct devenv *env, devenv_dma_t ring, uint64_t ring_off, uint16_t entries,
    devenv_dma_t data, uint64_t data_off, uint32_t len, uint16_t flags, uint16_t next)
{
	uint64_t rd, dd;
	struct virtq_desc d;
	struct fake_buf *r;
	int err;

	if (flags & VIRTQ_DESC_F_INDIRECT) {
		env->st.refused_brokered++;
		return E_NOTSUP;        /* an indirect table would hold driver-written addresses */
	}
	if (entries == 0 || (flags & ~(VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE)) || len == 0 ||
	    ring_off % sizeof(d) || ring_off / sizeof(d) >= entries || next >= entries) {
		env->st.refused_brokered++;
		return E_INVAL;
	}
	if ((err = window(env, ring, 0, (uint64_t)entries * sizeof(d), &rd)) ||
	    (err = window(env, data, data_off, len, &dd)))
		return err;
	r = lookup(env, ring, NULL);
	d.addr = dd;
	d.len = len;
	d.flags = flags;
	d.next = next;
	memcpy(r->mem + ring_off, &d, sizeof(d));
	env->st.addr_writes++;
	return 0;
}

/* ---- NVMe, brokered: the environment owns the queues (as kddf_nvme.c) ---- */

static uint32_t
fnv_rd(struct devenv *env, uint64_t off)
{
	uint32_t v = 0xffffffffu;

	(void)env->ops->mmio_read(env->dev, 0, off, 4, &v);
	return v;
}

static void
fnv_wr(struct devenv *env, uint64_t off, uint32_t v)
{
	env->ops->mmio_write(env->dev, 0, off, 4, v);
}

/* Poll CSTS until (csts & mask) == want, advancing virtual time; 0 or E_TIMEOUT. */
static int
fnv_wait(struct devenv *env, uint32_t mask, uint32_t want)
{
	uint64_t until = env->now_ns + FNV_WAIT_NS;
	uint32_t v;

	while (((v = fnv_rd(env, NVME_REG_CSTS)) & mask) != want) {
		if (v == NVME_CSTS_ABSENT || env->now_ns >= until)
			return E_TIMEOUT;
		devenv_delay_us(env, 1000);
	}
	return 0;
}

int
devenv_nvme_queue_alloc(struct devenv *env, uint64_t bytes, devenv_dma_t *h)
{
	struct devenv_dma d;
	int err = devenv_dma_alloc(env, bytes, DEVENV_DMA_BIDIRECTIONAL, &d);

	if (err)
		return err;
	lookup(env, d.h, NULL)->ring = 1;
	*h = d.h;
	return 0;
}

/* A buffer the environment makes a ring of: live, allocated as never mapped. */
static struct fake_buf *
fnv_ring(struct devenv *env, devenv_dma_t h, uint64_t need)
{
	struct fake_buf *b = lookup(env, h, NULL);

	if (!b || !b->ring || b->size < need) {
		env->st.refused_brokered++;
		return NULL;
	}
	return b;
}

static uint64_t
fnv_daddr(struct devenv *env, devenv_dma_t h, uint64_t off)
{
	uint64_t d = 0;

	(void)window(env, h, off, 1, &d);
	return d;
}

int
devenv_nvme_disable(struct devenv *env, int shutdown)
{
	uint32_t cc = fnv_rd(env, NVME_REG_CC);
	int err = 0;

	if (shutdown && cc != NVME_CSTS_ABSENT && (cc & NVME_CC_EN)) {
		fnv_wr(env, NVME_REG_CC, (cc & ~NVME_CC_SHN_MASK) | NVME_CC_SHN_NORMAL);
		if (fnv_wait(env, NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_DONE))
			err = E_BUSY;
		cc = fnv_rd(env, NVME_REG_CC);
	}
	if (cc != NVME_CSTS_ABSENT)
		fnv_wr(env, NVME_REG_CC, cc & ~(NVME_CC_EN | NVME_CC_SHN_MASK));
	if (fnv_rd(env, NVME_REG_CSTS) != NVME_CSTS_ABSENT && fnv_wait(env, NVME_CSTS_RDY, 0))
		err = E_TIMEOUT;        /* the kernel would reset the claim here */
	memset(&env->nv, 0, sizeof(env->nv));
	return err;
}

int
devenv_nvme_enable(struct devenv *env, uint16_t depth, devenv_dma_t asq, devenv_dma_t acq)
{
	struct fake_buf *sq = fnv_ring(env, asq, (uint64_t)depth * NVME_SQE_SIZE);
	struct fake_buf *cq = fnv_ring(env, acq, (uint64_t)depth * NVME_CQE_SIZE);
	uint64_t cap = fnv_rd(env, NVME_REG_CAP) | (uint64_t)fnv_rd(env, NVME_REG_CAP + 4) << 32;
	uint32_t cc = NVME_CC_CSS_NVM | NVME_CC_AMS_RR | NVME_SQES_LOG << NVME_CC_IOSQES_SHIFT |
	    NVME_CQES_LOG << NVME_CC_IOCQES_SHIFT;
	int err;

	if (!sq || !cq || asq == acq)
		return E_INVAL;
	if (depth < 2 || depth > FNV_DEPTH)
		return E_RANGE;
	if (cap == ~0ull || depth > NVME_CAP_MQES(cap) + 1u || !NVME_CAP_CSS_NVM(cap) ||
	    NVME_CAP_MPSMIN(cap))
		return E_NOTSUP;
	if ((err = devenv_nvme_disable(env, 0)))
		return err;
	memset(sq->mem, 0, sq->size);
	memset(cq->mem, 0, cq->size);
	env->nv.q[0] = (struct fnv_queue){ .sq_live = 1, .cq_live = 1, .sq = asq, .cq = acq,
	    .sq_depth = depth, .cq_depth = depth, .phase = 1 };
	env->nv.dstrd = 4u << NVME_CAP_DSTRD(cap);
	fnv_wr(env, NVME_REG_AQA, NVME_AQA(depth, depth));
	env->ops->mmio_addr(env->dev, 0, NVME_REG_ASQ, fnv_daddr(env, asq, 0));
	env->ops->mmio_addr(env->dev, 0, NVME_REG_ACQ, fnv_daddr(env, acq, 0));
	env->st.addr_writes += 2;
	fnv_wr(env, NVME_REG_CC, cc);
	fnv_wr(env, NVME_REG_CC, cc | NVME_CC_EN);
	env->nv.enabled = 1;
	return 0;
}

static uint32_t
fnv_lba(struct devenv *env, uint32_t nsid)
{
	uint32_t i;

	for (i = 0; i < FNV_NNS; i++)
		if (nsid && env->nv.ns[i].nsid == nsid)
			return env->nv.ns[i].lba;
	return 0;
}

/* Identify Namespace: the LBA data size the environment bounds Read/Write by (0: refused). */
static void
fnv_learn(struct devenv *env, uint32_t nsid, const uint8_t *id)
{
	uint32_t flbas = id[NVME_IDN_FLBAS], idx = NVME_IDN_FLBAS_IDX(flbas), lbaf, lbads, i, lba = 0;
	uint64_t nsze;

	memcpy(&nsze, id + NVME_IDN_NSZE, 8);
	memcpy(&lbaf, id + NVME_IDN_LBAF + 4 * idx, 4);
	lbads = NVME_IDN_LBAF_LBADS(lbaf);
	if (nsze && !((flbas >> 5) & 3u) && idx <= id[NVME_IDN_NLBAF] && !NVME_IDN_LBAF_MS(lbaf) &&
	    lbads >= 9 && lbads <= 12)
		lba = 1u << lbads;
	for (i = 0; i < FNV_NNS; i++)
		if (env->nv.ns[i].nsid == nsid || !env->nv.ns[i].nsid)
			break;
	if (i < FNV_NNS) {
		env->nv.ns[i].nsid = lba ? nsid : 0;
		env->nv.ns[i].lba = lba;
	}
}

/* The allow-lists and field checks of kddf_nvme.c, on the fixture's buffers. */
static int
fnv_check(struct devenv *env, uint16_t qid, const struct nvme_sqe *s, const struct devenv_prp *p)
{
	struct fnv *nv = &env->nv;
	uint16_t tq = (uint16_t)s->cdw10, qsize = (uint16_t)((s->cdw10 >> 16) + 1);
	devenv_dma_t data = p ? p->data : 0;

	if (s->flags & 0x3)
		return E_INVAL;
	if (qid) {
		uint32_t lba = fnv_lba(env, s->nsid);

		if (!lba)
			return E_PERM;
		if (s->opc == NVME_CMD_FLUSH)
			return data ? E_INVAL : 0;
		if (s->opc != NVME_CMD_READ && s->opc != NVME_CMD_WRITE)
			return E_PERM;
		if (s->cdw12 & ~(0xffffu | 3u << 30))
			return E_INVAL;
		return data && (uint64_t)((s->cdw12 & 0xffff) + 1) * lba == p->len ? 0 : E_RANGE;
	}
	switch (s->opc) {
	case NVME_ADM_IDENTIFY:
		if ((s->cdw10 & ~0xffu) || (s->cdw10 & 0xff) > 2 ||
		    ((s->cdw10 & 0xff) == 0 && (!s->nsid || s->nsid == ~0u)))
			return E_INVAL;
		return data && p->len == NVME_IDENTIFY_SIZE && !p->list ? 0 : E_INVAL;
	case NVME_ADM_CREATE_CQ:
	case NVME_ADM_CREATE_SQ:
		if (tq == 0 || tq >= FNV_NQ || nv->q[tq].creating || qsize < 2 || qsize > FNV_DEPTH ||
		    !(s->cdw11 & 1u))
			return E_INVAL;
		if (s->opc == NVME_ADM_CREATE_CQ ? nv->q[tq].cq_live :
		    nv->q[tq].sq_live || !nv->q[tq].cq_live || (s->cdw11 >> 16) != tq)
			return E_INVAL;
		if (!data || p->data_off || p->list ||
		    p->len != (uint32_t)qsize * (s->opc == NVME_ADM_CREATE_CQ ? 16u : 64u) ||
		    !fnv_ring(env, data, p->len))
			return E_INVAL;
		return 0;
	}
	return E_PERM;  /* Format NVM, firmware, security, ...: never (the tests use none else) */
}

/* PRP1/PRP2 and the list, as ddf_prp_check/ddf_prp_fill do in the kernel. */
static int
fnv_prp(struct devenv *env, const struct devenv_prp *prp, struct nvme_sqe *cmd)
{
	uint64_t first, ld, pages, i, page0;
	int err;

	if (prp->len == 0 || prp->data_off % 4) {
		env->st.refused_brokered++;
		return E_INVAL;
	}
	if ((err = window(env, prp->data, prp->data_off, prp->len, &first)))
		return err;
	page0 = first & ~(uint64_t)(DEVENV_PAGE_SIZE - 1);
	pages = (first - page0 + prp->len + DEVENV_PAGE_SIZE - 1) / DEVENV_PAGE_SIZE;
	cmd->prp1 = first;
	if (pages == 2) {
		cmd->prp2 = page0 + DEVENV_PAGE_SIZE;
	} else if (pages > 2) {
		uint64_t *list;

		if (pages - 1 > DEVENV_PAGE_SIZE / 8) {
			env->st.refused_brokered++;
			return E_TOOBIG;
		}
		if (!prp->list || prp->list_off % DEVENV_PAGE_SIZE) {
			env->st.refused_brokered++;
			return E_INVAL;
		}
		if (!fnv_ring(env, prp->list, prp->list_off + (pages - 1) * 8))
			return E_PERM;  /* a mapped list could be rewritten by the driver */
		if ((err = window(env, prp->list, prp->list_off, (pages - 1) * 8, &ld)))
			return err;
		list = (uint64_t *)fake_env_translate(env, ld, (pages - 1) * 8);
		for (i = 1; i < pages; i++)
			list[i - 1] = page0 + i * DEVENV_PAGE_SIZE;
		cmd->prp2 = ld;
	}
	return 0;
}

int
devenv_nvme_submit(struct devenv *env, uint16_t qid, const void *sqe, const struct devenv_prp *prp,
    uint64_t *token)
{
	struct fnv *nv = &env->nv;
	struct nvme_sqe cmd;
	struct fnv_queue *q;
	struct fnv_cmd *k;
	uint16_t cid;
	int err;

	memcpy(&cmd, sqe, sizeof(cmd));
	if (prp && !prp->data)
		prp = 0;
	if (!nv->enabled || qid >= FNV_NQ || !nv->q[qid].sq_live)
		return E_BUSY;
	q = &nv->q[qid];
	if ((err = fnv_check(env, qid, &cmd, prp))) {
		env->st.refused_brokered++;
		return err;
	}
	if (q->inflight + 1u >= q->sq_depth)
		return E_AGAIN;
	for (cid = 0; cid < q->sq_depth && q->cmd[cid].seq; cid++)
		;
	if (cid == q->sq_depth)
		return E_AGAIN;
	cmd.flags = 0;
	cmd.cid = cid;
	cmd.mptr = cmd.prp1 = cmd.prp2 = 0;
	if (prp && (cmd.opc == NVME_ADM_CREATE_CQ || cmd.opc == NVME_ADM_CREATE_SQ) && !qid) {
		/* old entries with a set phase tag would read as new completions */
		memset(lookup(env, prp->data, NULL)->mem, 0, prp->len);
		cmd.prp1 = fnv_daddr(env, prp->data, 0);
	}
	else if (prp && (err = fnv_prp(env, prp, &cmd)))
		return err;
	k = &q->cmd[cid];
	*k = (struct fnv_cmd){ .seq = ++nv->seq ? nv->seq : ++nv->seq, .state = 1, .opc = cmd.opc,
	    .arg = (uint16_t)cmd.cdw10, .qdepth = (uint16_t)((cmd.cdw10 >> 16) + 1),
	    .qmem = prp ? prp->data : 0, .data = prp ? prp->data : 0,
	    .data_off = prp ? prp->data_off : 0,
	    .nsid = !qid && cmd.opc == NVME_ADM_IDENTIFY && (cmd.cdw10 & 0xff) == 0 ? cmd.nsid : 0 };
	if (!qid && (cmd.opc == NVME_ADM_CREATE_CQ || cmd.opc == NVME_ADM_CREATE_SQ))
		nv->q[k->arg].creating = 1;
	q->inflight++;
	memcpy(lookup(env, q->sq, NULL)->mem + (size_t)q->tail * NVME_SQE_SIZE, &cmd, sizeof(cmd));
	q->tail = (uint16_t)((q->tail + 1) % q->sq_depth);
	env->st.addr_writes++;
	fnv_wr(env, NVME_REG_DBS + 2u * qid * nv->dstrd, q->tail);
	*token = (uint64_t)k->seq << 32 | (uint64_t)qid << 16 | cid;
	return 0;
}

static void
fnv_cmd_done(struct devenv *env, uint16_t qid, struct fnv_cmd *k)
{
	struct fnv_queue *t = &env->nv.q[k->arg < FNV_NQ ? k->arg : 0];
	uint8_t *id;

	if (qid)
		return;
	if (k->opc == NVME_ADM_IDENTIFY && k->nsid && !k->status &&
	    (id = fake_env_translate(env, fnv_daddr(env, k->data, k->data_off), NVME_IDENTIFY_SIZE)))
		fnv_learn(env, k->nsid, id);
	if (k->opc != NVME_ADM_CREATE_CQ && k->opc != NVME_ADM_CREATE_SQ)
		return;
	t->creating = 0;
	if (k->status)
		return;
	if (k->opc == NVME_ADM_CREATE_CQ) {
		t->cq = k->qmem;
		t->cq_depth = k->qdepth;
		t->head = 0;
		t->phase = 1;
		t->cq_live = 1;
	} else {
		t->sq = k->qmem;
		t->sq_depth = k->qdepth;
		t->tail = 0;
		t->sq_live = 1;
	}
}

static void
fnv_poll_cq(struct devenv *env, uint16_t qid)
{
	struct fnv_queue *q = &env->nv.q[qid];
	struct fake_buf *b = lookup(env, q->cq, NULL);
	uint32_t n;

	if (!q->cq_live || !b)
		return;
	for (n = 0; n < q->cq_depth; n++) {
		struct nvme_cqe e;
		struct fnv_cmd *k;

		memcpy(&e, b->mem + (size_t)q->head * NVME_CQE_SIZE, sizeof(e));
		if ((e.status & NVME_STATUS_P) != q->phase)
			break;
		if (++q->head == q->cq_depth) {
			q->head = 0;
			q->phase ^= 1;
		}
		k = e.cid < FNV_DEPTH ? &q->cmd[e.cid] : NULL;
		if (e.sqid != qid || !k || k->state != 1) {
			env->st.bogus_cqe++;
			continue;
		}
		k->status = e.status >> 1;
		k->dw0 = e.dw0;
		k->state = 2;
		q->inflight--;
		fnv_cmd_done(env, qid, k);
	}
	if (n)
		fnv_wr(env, NVME_REG_DBS + (2u * qid + 1u) * env->nv.dstrd, q->head);
}

int
devenv_nvme_complete(struct devenv *env, uint64_t token, uint16_t *status, uint32_t *dw0)
{
	uint32_t seq = (uint32_t)(token >> 32);
	uint16_t qid = (uint16_t)(token >> 16), cid = (uint16_t)token, i;
	struct fnv_cmd *k;

	env->st.nvme_completes++;
	for (i = 0; env->nv.enabled && i < FNV_NQ; i++)
		fnv_poll_cq(env, i);
	if (qid >= FNV_NQ || cid >= FNV_DEPTH || !seq || env->nv.q[qid].cmd[cid].seq != seq)
		return E_STALE;
	k = &env->nv.q[qid].cmd[cid];
	if (k->state == 1)
		return E_AGAIN;
	*status = k->status;
	*dw0 = k->dw0;
	memset(k, 0, sizeof(*k));
	return 0;
}

int
devenv_nvme_reap(struct devenv *env, uint16_t qid, struct devenv_nvme_done *out, unsigned max)
{
	unsigned got = 0;
	uint16_t i;

	if (max == 0)
		return E_INVAL;
	if (qid >= FNV_NQ || max > DEVENV_NVME_REAP_MAX)
		return E_RANGE;
	if (!env->nv.enabled)
		return E_BUSY;
	env->st.nvme_reaps++;
	for (i = 0; i < FNV_NQ; i++)
		fnv_poll_cq(env, i);
	for (i = 0; i < FNV_DEPTH && got < max; i++) {
		struct fnv_cmd *k = &env->nv.q[qid].cmd[i];

		if (k->state != 2)
			continue;
		out[got++] = (struct devenv_nvme_done){ (uint64_t)k->seq << 32 | (uint64_t)qid << 16 | i,
			k->dw0, k->status };
		memset(k, 0, sizeof(*k));
	}
	return (int)got;
}

int
devenv_irq_wait(struct devenv *env, uint64_t timeout_ns)
{
	uint64_t deadline = env->now_ns + (timeout_ns ? timeout_ns : 10000000000ull);
	int n;

	env->st.irq_waits++;
	if (env->eoi_owed) {
		/* Deferred EOI (issue 6): a second wait before acknowledge is
		 * refused, as the ledger refuses it. */
		env->st.irq_protocol_errors++;
		return E_BUSY;
	}
	while (!env->irq_pending && !env->irq_revoked && env->now_ns < deadline) {
		env->now_ns += FAKE_IRQ_STEP_NS;
		if (env->ops->tick)
			env->ops->tick(env->dev);
	}
	if (env->irq_revoked)
		return E_STALE;
	n = (int)env->irq_pending;
	env->irq_pending = 0;
	if (n > 0)
		env->eoi_owed = 1;
	return n;
}

int
devenv_irq_ack(struct devenv *env)
{
	env->st.irq_acks++;
	if (!env->eoi_owed) {
		env->st.irq_protocol_errors++;
		return E_INVAL;
	}
	env->eoi_owed = 0;
	return 0;
}

int
devenv_irq_is_msix(struct devenv *env)
{
	return env->msix;
}

uint64_t
devenv_now_ns(struct devenv *env)
{
	return env->now_ns;
}

void
devenv_busy_look(struct devenv *env)
{
	env->busy_looks++;
}

void
devenv_delay_us(struct devenv *env, uint32_t us)
{
	env->now_ns += (uint64_t)us * 1000u;
	if (env->ops->tick)
		env->ops->tick(env->dev);
}
