/*
 * TEST FIXTURE: NVMe controller model; see nvme_model.h. Registers per NVMe
 * 1.4 section 3.1 with CAP.DSTRD 0 (doorbell stride 4), MQES 255, TO 2.
 */
#include "nvme_model.h"

#include <stdlib.h>
#include <string.h>

#include "../../../user/drivers/nvme/nvme_reg.h"

#define MQES 255u

struct nvme_model *
nvme_model_new(unsigned nns, const uint64_t *nsze, const uint32_t *lbads)
{
	struct nvme_model *m = calloc(1, sizeof(*m));
	unsigned i;

	m->cap = MQES | 1ull << 16 | 2ull << 24 | 1ull << 37;   /* MQES, CQR, TO=1 s, CSS NVM */
	m->nn = nns;
	m->sqes = 0x66;
	m->cqes = 0x44;
	m->mdts = 6;            /* 256 KiB */
	for (i = 0; i < nns && i < NVME_MODEL_MAX_NS; i++) {
		m->ns[i].nsze = nsze[i];
		m->ns[i].lbads = lbads[i];
		m->ns[i].data = calloc(1, nsze[i] << lbads[i]);
	}
	m->env = fake_env_new(&nvme_model_ops, m);
	fake_env_set_bar(m->env, 0, 0x2000);
	return m;
}

void
nvme_model_free(struct nvme_model *m)
{
	unsigned i;

	for (i = 0; i < NVME_MODEL_MAX_NS; i++)
		free(m->ns[i].data);
	fake_env_free(m->env);
	free(m);
}

static void
controller_reset(struct nvme_model *m)
{
	memset(m->sq, 0, sizeof(m->sq));
	memset(m->cq, 0, sizeof(m->cq));
	m->csts = 0;
	m->pending = 0;
	m->resets++;
}

/* ---- PRP walking: move `len` bytes between buf and the PRP pages ---- */

static int
copy_page(struct nvme_model *m, uint64_t addr, uint8_t *buf, uint32_t n, int to_host)
{
	uint8_t *p = fake_env_translate(m->env, addr, n);

	if (!p) {
		m->errors++;
		return -1;
	}
	if (to_host)
		memcpy(p, buf, n);
	else
		memcpy(buf, p, n);
	return 0;
}

/* PRP1 may carry an offset; PRP2 is the second page of a two-page
 * transfer or points to a PRP list (one page, no chaining here). */
static int
prp_xfer(struct nvme_model *m, uint64_t prp1, uint64_t prp2, uint32_t len, uint8_t *buf, int to_host)
{
	uint32_t first = NVME_PAGE_SIZE - (uint32_t)(prp1 % NVME_PAGE_SIZE), rem, i, n;
	uint64_t *list;

	if (prp1 % 4) {
		m->errors++;
		return -1;
	}
	if (first > len)
		first = len;
	if (copy_page(m, prp1, buf, first, to_host))
		return -1;
	rem = len - first;
	if (rem == 0)
		return 0;
	if (rem <= NVME_PAGE_SIZE) {
		if (prp2 % NVME_PAGE_SIZE) {
			m->errors++;
			return -1;
		}
		return copy_page(m, prp2, buf + first, rem, to_host);
	}
	n = (rem + NVME_PAGE_SIZE - 1) / NVME_PAGE_SIZE;
	if (prp2 % 8 || n > NVME_PAGE_SIZE / 8 || !(list = fake_env_translate(m->env, prp2, n * 8ull))) {
		m->errors++;
		return -1;
	}
	m->prp_lists++;
	for (i = 0; i < n; i++) {
		uint32_t chunk = rem > NVME_PAGE_SIZE ? NVME_PAGE_SIZE : rem;

		if (list[i] % NVME_PAGE_SIZE) {
			m->errors++;
			return -1;
		}
		if (copy_page(m, list[i], buf + len - rem, chunk, to_host))
			return -1;
		rem -= chunk;
	}
	return 0;
}

/* ---- completion posting ---- */

static void
post(struct nvme_model *m, unsigned qid, uint16_t cid, uint16_t sqhd, uint16_t status)
{
	struct nvme_model_q *cq = &m->cq[qid];
	struct nvme_cqe e = { 0 }, *slot;
	uint8_t phase = cq->phase;

	if (m->drop) {
		m->drop--;
		return;
	}
	if ((uint16_t)((cq->tail + 1) % cq->size) == cq->head) {
		m->errors++;    /* CQ overflow: the driver did not advance its head */
		return;
	}
	if (m->extra_bogus) {
		m->extra_bogus = 0;
		post(m, qid, (uint16_t)(cid + 1000), sqhd, 0);
	}
	e.sqhd = sqhd;
	e.sqid = (uint16_t)qid;
	e.cid = cid;
	if (m->bogus_cid) {
		m->bogus_cid = 0;
		e.cid = (uint16_t)(cid + 1000);
	}
	if (m->wrong_phase) {
		m->wrong_phase = 0;
		phase ^= 1;
	}
	e.status = (uint16_t)(status << 1 | phase);
	if (m->mutate)
		m->mutate(m->mutate_ctx, NVME_MUT_CQE, (uint8_t *)&e, sizeof(e));
	if (!(slot = fake_env_translate(m->env, cq->base + (uint64_t)cq->tail * 16, 16))) {
		m->errors++;
		return;
	}
	/* Entry body first, then the dword holding the phase tag. */
	memcpy(slot, &e, 12);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy((uint8_t *)slot + 12, (uint8_t *)&e + 12, 4);
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase ^= 1;
	}
	if (qid == 0 || cq->ien)
		fake_env_raise_irq(m->env);
}

/* ---- commands ---- */

static uint16_t
identify(struct nvme_model *m, const struct nvme_sqe *c)
{
	uint8_t id[4096] = { 0 };
	uint32_t cns = c->cdw10 & 0xff, lbaf;
	const char *mn = "capOS NVMe model (test fixture)";

	if (cns == NVME_CNS_CTRL) {
		id[0] = 0x36; id[1] = 0x1b;
		memset(id + NVME_IDC_SN, ' ', 20);
		memset(id + NVME_IDC_MN, ' ', 40);
		memcpy(id + NVME_IDC_MN, mn, strlen(mn));
		id[NVME_IDC_MDTS] = m->mdts;
		id[NVME_IDC_SQES] = m->sqes;
		id[NVME_IDC_CQES] = m->cqes;
		memcpy(id + NVME_IDC_NN, &m->nn, 4);
		id[NVME_IDC_VWC] = 1;
		if (m->mutate)
			m->mutate(m->mutate_ctx, NVME_MUT_ID_CTRL, id, sizeof(id));
	} else if (cns == NVME_CNS_NS) {
		if (c->nsid == 0 || c->nsid > m->nn)
			return NVME_SC_INVALID_FIELD;
		if (c->nsid <= NVME_MODEL_MAX_NS) {
			struct nvme_model_ns *ns = &m->ns[c->nsid - 1];

			memcpy(id + NVME_IDN_NSZE, &ns->nsze, 8);
			memcpy(id + NVME_IDN_NCAP, &ns->nsze, 8);
			id[NVME_IDN_NLBAF] = 0;
			id[NVME_IDN_FLBAS] = 0;
			lbaf = ns->lbads << 16 | ns->ms;
			memcpy(id + NVME_IDN_LBAF, &lbaf, 4);
		}
		if (m->mutate)
			m->mutate(m->mutate_ctx, NVME_MUT_ID_NS, id, sizeof(id));
	} else {
		return NVME_SC_INVALID_FIELD;
	}
	if (prp_xfer(m, c->prp1, c->prp2, sizeof(id), id, 1))
		return 0x04;    /* data transfer error */
	return 0;
}

static uint16_t
admin_cmd(struct nvme_model *m, const struct nvme_sqe *c)
{
	uint16_t qid = (uint16_t)c->cdw10, qsize = (uint16_t)((c->cdw10 >> 16) + 1);

	switch (c->opc) {
	case NVME_ADM_IDENTIFY:
		return identify(m, c);
	case NVME_ADM_CREATE_CQ:
		if (qid != 1 || qsize < 2 || qsize > MQES + 1 || !(c->cdw11 & NVME_CQ_PC) || m->cq[1].live) {
			m->errors++;
			return NVME_SC_INVALID_FIELD;
		}
		if (!fake_env_translate(m->env, c->prp1, qsize * 16ull)) {
			m->errors++;
			return NVME_SC_INVALID_FIELD;
		}
		m->cq[1] = (struct nvme_model_q){ c->prp1, qsize, 0, 0, 1, !!(c->cdw11 & NVME_CQ_IEN), 1 };
		return 0;
	case NVME_ADM_CREATE_SQ:
		if (qid != 1 || qsize < 2 || qsize > MQES + 1 || (c->cdw11 >> 16) != 1 || !m->cq[1].live ||
		    m->sq[1].live || !fake_env_translate(m->env, c->prp1, qsize * 64ull)) {
			m->errors++;
			return NVME_SC_INVALID_FIELD;
		}
		m->sq[1] = (struct nvme_model_q){ c->prp1, qsize, 0, 0, 0, 0, 1 };
		return 0;
	case NVME_ADM_DELETE_SQ:
		m->sq[1].live = 0;
		return 0;
	case NVME_ADM_DELETE_CQ:
		m->cq[1].live = 0;
		return 0;
	default:
		return NVME_SC_INVALID_OPCODE;
	}
}

/* Returns the status, or -1: no completion (fatal status raised). */
static int
io_cmd(struct nvme_model *m, const struct nvme_sqe *c)
{
	struct nvme_model_ns *ns;
	uint64_t slba = (uint64_t)c->cdw11 << 32 | c->cdw10;
	uint32_t nlb = (c->cdw12 & 0xffff) + 1, len;

	m->io_cmds++;
	if (m->fatal_after && --m->fatal_after == 0) {
		m->csts |= NVME_CSTS_CFS;
		return -1;
	}
	if (c->nsid == 0 || c->nsid > m->nn || c->nsid > NVME_MODEL_MAX_NS)
		return 0x0b;    /* invalid namespace */
	ns = &m->ns[c->nsid - 1];
	switch (c->opc) {
	case NVME_CMD_FLUSH:
		m->flushes++;
		return 0;
	case NVME_CMD_READ:
	case NVME_CMD_WRITE:
		if (slba >= ns->nsze || nlb > ns->nsze - slba)
			return NVME_SC_LBA_RANGE;
		len = nlb << ns->lbads;
		if (m->mdts && len > (NVME_PAGE_SIZE << m->mdts)) {
			m->errors++;
			return NVME_SC_INVALID_FIELD;
		}
		if (prp_xfer(m, c->prp1, c->prp2, len, ns->data + (slba << ns->lbads), c->opc == NVME_CMD_READ))
			return 0x04;
		if (c->opc == NVME_CMD_READ)
			m->reads++;
		else
			m->writes++;
		return 0;
	default:
		return NVME_SC_INVALID_OPCODE;
	}
}

static void
process_sq(struct nvme_model *m, unsigned qid)
{
	struct nvme_model_q *sq = &m->sq[qid];

	while (sq->live && sq->head != sq->tail && !(m->csts & NVME_CSTS_CFS)) {
		struct nvme_sqe c;
		struct nvme_sqe *p = fake_env_translate(m->env, sq->base + (uint64_t)sq->head * 64, 64);
		int st;

		sq->head = (uint16_t)((sq->head + 1) % sq->size);
		if (!p) {
			m->errors++;
			continue;
		}
		memcpy(&c, p, sizeof(c));
		st = qid == 0 ? admin_cmd(m, &c) : io_cmd(m, &c);
		if (st >= 0)
			post(m, qid, c.cid, sq->head, (uint16_t)st);
	}
}

static void
process(struct nvme_model *m)
{
	if (!(m->csts & NVME_CSTS_RDY))
		return;
	process_sq(m, 0);
	process_sq(m, 1);
}

static void
tick(void *dev)
{
	struct nvme_model *m = dev;

	if (m->pending) {
		m->pending = 0;
		process(m);
	}
}

/* ---- registers ---- */

/* Brokered NVMe: the driver may write no register at all (CC, AQA, ASQ,
 * ACQ and the doorbells are the environment's, as they are the kernel's). */
static int
policy(void *dev, unsigned bar, uint64_t off, unsigned w)
{
	return FAKE_RO;
}

static int
reg_read(void *dev, unsigned bar, uint64_t off, unsigned w, uint32_t *v)
{
	struct nvme_model *m = dev;

	*v = 0;
	if (m->absent) {
		*v = 0xffffffffu;
		return 0;
	}
	switch (off) {
	case NVME_REG_CAP: *v = (uint32_t)m->cap; break;
	case NVME_REG_CAP + 4: *v = (uint32_t)(m->cap >> 32); break;
	case NVME_REG_VS: *v = 0x10400; break;
	case NVME_REG_CC: *v = m->cc; break;
	case NVME_REG_CSTS: *v = m->csts; m->csts_reads++; break;
	case NVME_REG_AQA: *v = m->aqa; break;
	default: break;
	}
	return 0;
}

static void
enable(struct nvme_model *m)
{
	uint16_t asqs = (uint16_t)((m->aqa & 0xfff) + 1), acqs = (uint16_t)(((m->aqa >> 16) & 0xfff) + 1);

	if (m->never_ready)
		return;
	if (!m->asq || !m->acq || asqs < 2 || acqs < 2 || ((m->cc >> 16) & 0xf) != 6 || ((m->cc >> 20) & 0xf) != 4 ||
	    !fake_env_translate(m->env, m->asq, asqs * 64ull) || !fake_env_translate(m->env, m->acq, acqs * 16ull)) {
		m->errors++;
		m->csts |= NVME_CSTS_CFS;
		return;
	}
	m->sq[0] = (struct nvme_model_q){ m->asq, asqs, 0, 0, 0, 0, 1 };
	m->cq[0] = (struct nvme_model_q){ m->acq, acqs, 0, 0, 1, 1, 1 };
	m->csts = NVME_CSTS_RDY;
}

static void
reg_write(void *dev, unsigned bar, uint64_t off, unsigned w, uint32_t v)
{
	struct nvme_model *m = dev;
	unsigned qid, is_cq;

	if (off == NVME_REG_CC) {
		uint32_t old = m->cc;

		m->cc = v;
		if ((v & NVME_CC_SHN_MASK) && !(old & NVME_CC_SHN_MASK) && (v & NVME_CC_EN)) {
			m->shutdowns++;
			m->flushes++;   /* a shutdown commits the write cache */
			if (!m->shutdown_stuck)
				m->csts = (m->csts & ~NVME_CSTS_SHST_MASK) | NVME_CSTS_SHST_DONE;
		}
		if ((old & NVME_CC_EN) && !(v & NVME_CC_EN)) {
			controller_reset(m);
			if (m->stuck_ready)
				m->csts |= NVME_CSTS_RDY;       /* RDY never drops */
		}
		else if (!(old & NVME_CC_EN) && (v & NVME_CC_EN))
			enable(m);
		return;
	}
	if (off == NVME_REG_AQA) {
		m->aqa = v;
		return;
	}
	if (off < NVME_REG_DBS)
		return;
	qid = (unsigned)((off - NVME_REG_DBS) / 8);
	is_cq = (unsigned)((off - NVME_REG_DBS) / 4) & 1;
	if (qid > 1)
		return;
	if (is_cq) {
		if (!m->cq[qid].live || v >= m->cq[qid].size)
			m->errors++;
		else
			m->cq[qid].head = (uint16_t)v;
		return;
	}
	if (!m->sq[qid].live || v >= m->sq[qid].size) {
		m->errors++;
		return;
	}
	m->sq[qid].tail = (uint16_t)v;
	if (m->defer)
		m->pending = 1;
	else
		process(m);
}

static void
reg_addr(void *dev, unsigned bar, uint64_t off, uint64_t daddr)
{
	struct nvme_model *m = dev;

	if (off == NVME_REG_ASQ)
		m->asq = daddr;
	else if (off == NVME_REG_ACQ)
		m->acq = daddr;
}

const struct fake_dev_ops nvme_model_ops = {
	reg_read, reg_write, policy, reg_addr, NULL, NULL, NULL, NULL, tick,
};
