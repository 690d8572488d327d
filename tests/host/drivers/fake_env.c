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
	uint32_t irq_pending;
	int msix;
	int irq_revoked;
	int eoi_owed;
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

int
devenv_nvme_sqe(struct devenv *env, devenv_dma_t sq, uint64_t sq_off, const void *sqe,
    const struct devenv_prp *prp)
{
	struct nvme_sqe cmd;
	uint64_t sd, first, ld, pages, i, page0;
	struct fake_buf *s;
	int err;

	if (sq_off % NVME_SQE_SIZE) {
		env->st.refused_brokered++;
		return E_INVAL;
	}
	if ((err = window(env, sq, sq_off, NVME_SQE_SIZE, &sd)))
		return err;
	memcpy(&cmd, sqe, sizeof(cmd));
	cmd.prp1 = cmd.prp2 = 0;
	cmd.flags &= 0x3;               /* PSDT 0: PRPs, never SGLs */
	if (prp && prp->data) {
		if (prp->len == 0 || prp->data_off % 4) {
			env->st.refused_brokered++;
			return E_INVAL;
		}
		if ((err = window(env, prp->data, prp->data_off, prp->len, &first)))
			return err;
		page0 = first & ~(uint64_t)(DEVENV_PAGE_SIZE - 1);
		pages = (first - page0 + prp->len + DEVENV_PAGE_SIZE - 1) / DEVENV_PAGE_SIZE;
		cmd.prp1 = first;
		if (pages == 2) {
			cmd.prp2 = page0 + DEVENV_PAGE_SIZE;
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
			if ((err = window(env, prp->list, prp->list_off, (pages - 1) * 8, &ld)))
				return err;
			list = (uint64_t *)fake_env_translate(env, ld, (pages - 1) * 8);
			for (i = 1; i < pages; i++)
				list[i - 1] = page0 + i * DEVENV_PAGE_SIZE;
			cmd.prp2 = ld;
		}
	}
	s = lookup(env, sq, NULL);
	memcpy(s->mem + sq_off, &cmd, sizeof(cmd));
	env->st.addr_writes++;
	return 0;
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
devenv_delay_us(struct devenv *env, uint32_t us)
{
	env->now_ns += (uint64_t)us * 1000u;
	if (env->ops->tick)
		env->ops->tick(env->dev);
}
