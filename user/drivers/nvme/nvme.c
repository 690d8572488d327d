/*
 * NVMe driver core: controller reset and enable, the admin queue, IDENTIFY,
 * one I/O queue pair, READ/WRITE/FLUSH with PRPs, completion by phase tag
 * (polling or interrupt), timeouts and controller-fatal recovery. NVMe Base
 * Specification 1.4 (sections in nvme_reg.h). Tested on the host against
 * tests/host/drivers/nvme_model.c; the QEMU device is `-device nvme`.
 *
 * Brokered queues (devenv.h, docs/device-manager.md "NVMe brokering"): the
 * environment owns the submission and completion queues, CIDs, PRPs,
 * doorbells and the controller configuration; it checks every completion
 * entry before it completes anything. The driver builds commands, names
 * data as (handle, offset), collects (status, DW0) per token and reads
 * CAP/CSTS. Device data is hostile: every Identify field used is validated.
 */
#include "nvme.h"

#include "base/err.h"
#include "base/mem.h"

#define NVME_POLL_MIN_US 1u
#define NVME_POLL_MAX_US 1000u
#define NVME_STATE_INIT 3       /* bring-up in progress: admin commands allowed, no recovery */
#define NVME_SPIN_MAX 4096u     /* collects per command before an interrupt wait, at most */
#define NVME_CSTS_EVERY_NS 1000000ull   /* spinning: CSTS read at most once a millisecond */

static int ns_read(void *drv, uint64_t lba, uint32_t count, void *buf);
static int ns_write(void *drv, uint64_t lba, uint32_t count, const void *buf);
static int ns_flush(void *drv);
static const struct blkserv_ops nvme_srv_ops = { ns_read, ns_write, ns_flush };

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* ---- pure validators ---- */

int
nvme_parse_id_ctrl(const uint8_t *id, uint32_t *nn, uint32_t *mdts_log, char model[41])
{
	uint8_t sqes = id[NVME_IDC_SQES], cqes = id[NVME_IDC_CQES];
	int i, end = 0;

	/* 5.15.2.1: SQES/CQES give the required (3:0) and maximum (7:4)
	 * entry sizes; ours are 64 and 16 bytes. */
	if ((sqes & 0xf) > NVME_SQES_LOG || (sqes >> 4) < NVME_SQES_LOG ||
	    (cqes & 0xf) > NVME_CQES_LOG || (cqes >> 4) < NVME_CQES_LOG)
		return E_NOTSUP;
	*nn = le32(id + NVME_IDC_NN);
	*mdts_log = id[NVME_IDC_MDTS];
	for (i = 0; i < 40; i++) {
		uint8_t ch = id[NVME_IDC_MN + i];

		model[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
		if (ch != ' ')
			end = i + 1;
	}
	model[end] = 0;
	return 0;
}

int
nvme_parse_id_ns(const uint8_t *id, uint64_t *nsze, uint32_t *lba_size)
{
	uint64_t size = le64(id + NVME_IDN_NSZE), ncap = le64(id + NVME_IDN_NCAP);
	uint32_t nlbaf = id[NVME_IDN_NLBAF], flbas = id[NVME_IDN_FLBAS], idx, lbaf, lbads;

	if (size == 0)
		return E_NOENT;         /* inactive namespace */
	if (ncap > size)
		return E_CORRUPT;
	if ((flbas >> 5) & 3u)
		return E_NOTSUP;        /* format index >= 16 (NVMe 2.0) */
	idx = NVME_IDN_FLBAS_IDX(flbas);
	if (idx > nlbaf)
		return E_CORRUPT;
	lbaf = le32(id + NVME_IDN_LBAF + 4 * idx);
	if (NVME_IDN_LBAF_MS(lbaf) != 0)
		return E_NOTSUP;        /* metadata formats are not served */
	lbads = NVME_IDN_LBAF_LBADS(lbaf);
	if (lbads < 9 || lbads > 12)
		return E_NOTSUP;        /* BlockDevice serves 512..4096-byte blocks */
	if (size > (UINT64_MAX >> lbads))
		return E_CORRUPT;
	*nsze = size;
	*lba_size = 1u << lbads;
	return 0;
}

int
nvme_status_err(uint16_t status)
{
	uint32_t sct = NVME_STATUS_SCT(status), sc = NVME_STATUS_SC(status);

	if (sct == NVME_SCT_GENERIC) {
		switch (sc) {
		case NVME_SC_SUCCESS: return 0;
		case NVME_SC_LBA_RANGE: return E_RANGE;
		case NVME_SC_INVALID_OPCODE:
		case NVME_SC_INVALID_FIELD: return E_INVAL;
		default: break;
		}
	}
	return E_IO;
}

/* ---- registers ---- */

static int
rd32(struct nvme_ctrl *c, uint32_t off, uint32_t *v)
{
	return devenv_mmio_read(c->env, 0, off, 4, v);
}

static void
handle_free(struct nvme_ctrl *c, devenv_dma_t *h)
{
	struct devenv_dma d = { 0, 0, *h };

	if (*h)
		devenv_dma_free(c->env, &d);
	*h = 0;
}

static void
backoff(struct nvme_ctrl *c, uint32_t *us)
{
	devenv_delay_us(c->env, *us);
	if (*us < NVME_POLL_MAX_US)
		*us *= 2;
}

/* Wait for CSTS.RDY == want within CAP.TO. Fatal status while enabling,
 * or an all-ones read (device gone), fails at once. */
static int
wait_ready(struct nvme_ctrl *c, uint32_t want)
{
	uint64_t deadline = devenv_now_ns(c->env) + c->ready_timeout_ns;
	uint32_t csts, us = NVME_POLL_MIN_US;
	int err;

	for (;;) {
		if ((err = rd32(c, NVME_REG_CSTS, &csts)))
			return err;
		if (csts == NVME_CSTS_ABSENT)
			return E_IO;
		if (want && (csts & NVME_CSTS_CFS))
			return E_IO;
		if ((csts & NVME_CSTS_RDY) == want)
			return 0;
		if (devenv_now_ns(c->env) >= deadline)
			return E_TIMEOUT;
		backoff(c, &us);
	}
}

/* 3.1.5: clearing EN resets the controller; the environment waits for RDY to
 * drop (bounded) and forgets every queue, and so does the driver. */
static int
disable(struct nvme_ctrl *c)
{
	int err = devenv_nvme_disable(c->env, 0);

	if (err == E_TIMEOUT)
		c->claim_resets++;      /* devenv.h: the kernel reset the claim */
	c->aq.inflight = 0;
	c->ioq.inflight = 0;
	return err ? err : wait_ready(c, 0);
}

static int
queue_alloc(struct nvme_ctrl *c, struct nvme_queue *q, uint16_t qid, uint16_t depth)
{
	int err;

	q->qid = qid;
	q->depth = depth;
	q->inflight = 0;
	if ((err = devenv_nvme_queue_alloc(c->env, (uint64_t)depth * NVME_SQE_SIZE, &q->sq)))
		return err;
	if ((err = devenv_nvme_queue_alloc(c->env, (uint64_t)depth * NVME_CQE_SIZE, &q->cq))) {
		handle_free(c, &q->sq);
		return err;
	}
	return 0;
}

static void
queue_free(struct nvme_ctrl *c, struct nvme_queue *q)
{
	handle_free(c, &q->cq);
	handle_free(c, &q->sq);
}

static int
enable(struct nvme_ctrl *c)
{
	int err;

	/* Brokered: the environment writes AQA, ASQ, ACQ and CC (its entry
	 * sizes, 4 KiB pages, NVM command set), then sets CC.EN. */
	if ((err = devenv_nvme_enable(c->env, c->aq.depth, c->aq.sq, c->aq.cq)))
		return err;
	return wait_ready(c, 1);
}

/* ---- completion ---- */

/* Finish asynchronous slot `slot` with `err` (a read's data is already in
 * its buffer: the device wrote it there). */
static void
async_finish(struct nvme_ctrl *c, uint16_t slot, int err)
{
	struct nvme_req *r = c->as.req[slot];

	r->status = err;
	r->done = 1;
	c->as.req[slot] = 0;
	c->as.completed++;
}

/* Every outstanding asynchronous request fails with `err` (before a reset:
 * the controller is about to forget them). */
static void
async_fail_all(struct nvme_ctrl *c, int err)
{
	uint16_t s;

	for (s = 0; s < c->as.slots; s++)
		if (c->as.req[s])
			async_finish(c, s, err);
}

/* The raw CQE status field (phase bit 0) of a brokered status (DW3 31:17). */
static uint16_t
raw_status(uint16_t status)
{
	return (uint16_t)(status << 1);
}

static void recover(struct nvme_ctrl *c);

/* The asynchronous slot whose command has `token`, or slots when none. */
static uint16_t
async_slot(const struct nvme_ctrl *c, uint64_t token)
{
	uint16_t s;

	for (s = 0; s < c->as.slots; s++)
		if (c->as.req[s] && c->as.token[s] == token)
			break;
	return s;
}

/*
 * Collect every finished command of q in one environment call (nvmeReap):
 * asynchronous slots finish here; the completion of `want` (a synchronous
 * command's token, 0 for none) goes to *status. 1 when `want` came, 0 when
 * not yet, or the environment's error. A token that names nothing
 * outstanding is counted and dropped. An error means the environment no
 * longer knows the queue (a disable or reset behind the driver): every
 * outstanding asynchronous request fails with E_IO.
 */
static int
reap(struct nvme_ctrl *c, struct nvme_queue *q, uint64_t want, uint16_t *status)
{
	struct devenv_nvme_done d[DEVENV_NVME_REAP_MAX];
	int n = devenv_nvme_reap(c->env, q->qid, d, DEVENV_NVME_REAP_MAX), i, got = 0;
	uint16_t s;

	c->reaps++;
	if (n < 0) {
		async_fail_all(c, E_IO);
		return n;
	}
	for (i = 0; i < n; i++) {
		if (want && d[i].token == want) {
			*status = d[i].status;
			got = 1;
		} else if (q == &c->ioq && (s = async_slot(c, d[i].token)) < c->as.slots) {
			async_finish(c, s, nvme_status_err(raw_status(d[i].status)));
		} else {
			c->stray++;
			continue;
		}
		q->inflight--;
	}
	return got;
}

/* Collect every finished asynchronous slot; an environment that forgot the
 * queue fails them all and the controller is reset. */
static void
async_collect(struct nvme_ctrl *c)
{
	uint16_t unused;

	if (reap(c, &c->ioq, 0, &unused) < 0)
		recover(c);
}

/*
 * A fatal or vanished controller (CSTS.CFS, or all-ones)? Before a wait the
 * register is always read; while the driver spins collecting (no wait) at
 * most once per NVME_CSTS_EVERY_NS: each read is an MMIO exit, which under
 * QEMU takes the device model's lock that its completion work needs too.
 */
static int
controller_failed(struct nvme_ctrl *c, int waiting)
{
	uint64_t now = devenv_now_ns(c->env);
	uint32_t csts;

	if (!waiting && now < c->csts_next_ns)
		return 0;
	c->csts_next_ns = now + NVME_CSTS_EVERY_NS;
	return rd32(c, NVME_REG_CSTS, &csts) || csts == NVME_CSTS_ABSENT ||
	    (csts & NVME_CSTS_CFS);
}

static void
recover(struct nvme_ctrl *c)
{
	if (c->state == NVME_LIVE)
		(void)nvme_reset(c);
}

static int
submit_wait(struct nvme_ctrl *c, struct nvme_queue *q, struct nvme_sqe *cmd,
    const struct devenv_prp *prp)
{
	uint64_t deadline, now, token, spin_until;
	uint32_t us = NVME_POLL_MIN_US, spins = 0;
	uint16_t status;
	int err, r, owe_ack = 0, spinning;

	if (c->state == NVME_DEAD)
		return E_IO;
	if (c->state != NVME_LIVE && c->state != NVME_STATE_INIT)
		return E_BUSY;
	/* A full SQ holds depth - 1 entries (4.1.2). */
	if (q->inflight >= q->depth - 1u)
		return E_AGAIN;
	if ((err = devenv_nvme_submit(c->env, q->qid, cmd, prp, &token)))
		return err;     /* refused before anything became visible */
	q->inflight++;
	now = devenv_now_ns(c->env);
	deadline = now + c->cmd_timeout_ns;
	spin_until = now + c->irq_spin_ns;
	for (;;) {
		r = reap(c, q, token, &status);
		/* Acknowledge (EOI) only after the environment consumed the
		 * completions (and moved the CQ head doorbell): a level-
		 * triggered line stays asserted until then. */
		if (owe_ack) {
			(void)devenv_irq_ack(c->env);
			owe_ack = 0;
		}
		if (r == 1) {
			c->last_status = raw_status(status);
			return nvme_status_err(raw_status(status));
		}
		if (r < 0) {            /* the environment forgot the queue: a reset */
			recover(c);
			return E_IO;
		}
		now = devenv_now_ns(c->env);
		spinning = c->completion == NVME_IRQ && now < spin_until && spins < NVME_SPIN_MAX;
		if (controller_failed(c, !spinning)) {
			c->fatals++;
			recover(c);
			return E_IO;
		}
		if (now >= deadline)
			break;
		if (spinning) {
			/* A fast device finishes within microseconds; a parked
			 * interrupt wait is woken on a scheduler tick. Bounded in
			 * count too: a clock that only waits advance stands still. */
			spins++;
		} else if (c->completion == NVME_IRQ) {
			r = devenv_irq_wait(c->env, deadline - now);
			if (r > 0)
				owe_ack = 1;
			else if (r < 0) {
				recover(c);
				return r;
			}
		} else {
			backoff(c, &us);
		}
	}
	c->timeouts++;
	/* The command may still be in the controller: only a reset makes
	 * its buffers safe to reuse. */
	recover(c);
	return E_TIMEOUT;
}

/* ---- admin commands ---- */

static int
admin(struct nvme_ctrl *c, struct nvme_sqe *cmd, const struct devenv_prp *prp)
{
	return submit_wait(c, &c->aq, cmd, prp);
}

static int
identify(struct nvme_ctrl *c, uint32_t nsid, uint32_t cns)
{
	struct nvme_sqe cmd = { .opc = NVME_ADM_IDENTIFY, .nsid = nsid, .cdw10 = cns };
	struct devenv_prp prp = { c->data.h, 0, NVME_IDENTIFY_SIZE, 0, 0 };

	memset(c->data.cpu, 0, NVME_IDENTIFY_SIZE);
	return admin(c, &cmd, &prp);
}

static int
create_io_queues(struct nvme_ctrl *c)
{
	struct nvme_queue *q = &c->ioq;
	uint32_t qsize = (uint32_t)(q->depth - 1u) << 16 | q->qid;
	struct nvme_sqe cq = { .opc = NVME_ADM_CREATE_CQ, .cdw10 = qsize,
	    .cdw11 = NVME_CQ_PC | (c->completion == NVME_IRQ ? NVME_CQ_IEN : 0) };
	struct nvme_sqe sq = { .opc = NVME_ADM_CREATE_SQ, .cdw10 = qsize,
	    .cdw11 = NVME_SQ_PC | (uint32_t)q->qid << 16 };
	struct devenv_prp cprp = { q->cq, 0, (uint32_t)q->depth * NVME_CQE_SIZE, 0, 0 };
	struct devenv_prp sprp = { q->sq, 0, (uint32_t)q->depth * NVME_SQE_SIZE, 0, 0 };
	int err;

	q->inflight = 0;
	if ((err = admin(c, &cq, &cprp)))
		return err;
	return admin(c, &sq, &sprp);
}

static int
identify_all(struct nvme_ctrl *c)
{
	uint32_t mdts, nsid, lim;
	uint64_t mdts_bytes;
	int err;

	if ((err = identify(c, 0, NVME_CNS_CTRL)))
		return err;
	if ((err = nvme_parse_id_ctrl(c->data.cpu, &c->nn, &mdts, c->model)))
		return err;
	c->max_xfer = NVME_MAX_XFER;
	if (mdts) {     /* 5.15.2.1: 2^MDTS units of CAP.MPSMIN (4 KiB here) */
		mdts_bytes = mdts >= 20 ? ~0ull : (uint64_t)NVME_PAGE_SIZE << mdts;
		if (mdts_bytes < c->max_xfer)
			c->max_xfer = (uint32_t)mdts_bytes;
	}
	c->nns = 0;
	lim = c->nn < NVME_MAX_NS ? c->nn : NVME_MAX_NS;
	for (nsid = 1; nsid <= lim; nsid++) {
		struct nvme_ns *ns = &c->ns[c->nns];

		if ((err = identify(c, nsid, NVME_CNS_NS)))
			return err;
		err = nvme_parse_id_ns(c->data.cpu, &ns->nsze, &ns->lba_size);
		if (err == E_NOENT || err == E_NOTSUP)
			continue;       /* inactive or a format we do not serve */
		if (err)
			return err;
		if (ns->lba_size > c->max_xfer)
			continue;
		ns->nsid = nsid;
		ns->ctrl = c;
		c->nns++;
	}
	return 0;
}

/* After a recovery reset the namespaces served must be the ones identified
 * at init: a namespace that changed size or format behind the driver would
 * make every bounds check wrong, so the controller fails closed instead. */
static int
identify_recheck(struct nvme_ctrl *c)
{
	uint64_t nsze;
	uint32_t i, bs;
	int err;

	for (i = 0; i < c->nns; i++) {
		if ((err = identify(c, c->ns[i].nsid, NVME_CNS_NS)))
			return err;
		if ((err = nvme_parse_id_ns(c->data.cpu, &nsze, &bs)))
			return err == E_NOENT ? E_CORRUPT : err;
		if (nsze != c->ns[i].nsze || bs != c->ns[i].lba_size)
			return E_CORRUPT;
	}
	return 0;
}

/* Reset, enable, identify (or re-check), create the I/O queue pair. */
static int
bring_up(struct nvme_ctrl *c, int first)
{
	int err;

	c->state = NVME_STATE_INIT;
	if ((err = disable(c)))
		return err;
	if ((err = enable(c)))
		return err;
	if ((err = first ? identify_all(c) : identify_recheck(c)))
		return err;
	if ((err = create_io_queues(c)))
		return err;
	c->state = NVME_LIVE;
	return 0;
}

static int
read_cap(struct nvme_ctrl *c)
{
	uint32_t lo, hi, to;
	int err;

	if ((err = rd32(c, NVME_REG_CAP, &lo)) || (err = rd32(c, NVME_REG_CAP + 4, &hi)))
		return err;
	if (lo == 0xffffffffu && hi == 0xffffffffu)
		return E_IO;
	c->cap = (uint64_t)hi << 32 | lo;
	if (!NVME_CAP_CSS_NVM(c->cap) || NVME_CAP_MPSMIN(c->cap) != 0 || NVME_CAP_MQES(c->cap) < 1)
		return E_NOTSUP;
	to = NVME_CAP_TO(c->cap);
	c->ready_timeout_ns = (uint64_t)(to ? to : 1) * 500000000ull;
	return 0;
}

int
nvme_init(struct nvme_ctrl *c, struct devenv *env, enum nvme_completion mode)
{
	uint32_t i, maxq;
	int err;

	memset(c, 0, sizeof(*c));
	c->env = env;
	c->completion = mode;
	c->cmd_timeout_ns = NVME_CMD_TIMEOUT_NS;
	if ((err = read_cap(c)))
		return err;
	maxq = NVME_CAP_MQES(c->cap) + 1u;
	if ((err = queue_alloc(c, &c->aq, 0, (uint16_t)(maxq < NVME_ADMIN_DEPTH ? maxq : NVME_ADMIN_DEPTH))))
		return err;
	if ((err = queue_alloc(c, &c->ioq, 1, (uint16_t)(maxq < NVME_IO_DEPTH ? maxq : NVME_IO_DEPTH))))
		goto free_aq;
	if ((err = devenv_dma_alloc(env, NVME_MAX_XFER, DEVENV_DMA_BIDIRECTIONAL, &c->data)))
		goto free_ioq;
	if ((err = devenv_nvme_queue_alloc(env, NVME_PAGE_SIZE, &c->prp_list)))
		goto free_data;
	if ((err = bring_up(c, 1)))
		goto disable;
	for (i = 0; i < c->nns; i++) {
		struct blkserv_info info = { c->ns[i].lba_size, c->ns[i].nsze,
		    c->max_xfer / c->ns[i].lba_size, 0, c->model };

		if ((err = blkserv_init(&c->ns[i].srv, &nvme_srv_ops, &c->ns[i], &info)))
			goto disable;
	}
	return 0;
disable:
	(void)disable(c);       /* the controller must stop before its memory goes */
	c->state = NVME_DOWN;
	handle_free(c, &c->prp_list);
free_data:
	devenv_dma_free(env, &c->data);
free_ioq:
	queue_free(c, &c->ioq);
free_aq:
	queue_free(c, &c->aq);
	return err;
}

/* Normal shutdown (3.1.5 CC.SHN, 3.1.6 CSTS.SHST), by the environment:
 * the controller commits its volatile write cache before it reports done. */
void
nvme_fini(struct nvme_ctrl *c)
{
	int live = c->state == NVME_LIVE, err = devenv_nvme_disable(c->env, live);

	c->shutdown_err = !live ? 0 : err == E_BUSY ? E_TIMEOUT : err;
	c->aq.inflight = c->ioq.inflight = 0;
	async_fail_all(c, E_IO);        /* after the disable: no DMA into the slots */
	c->state = NVME_DOWN;
	handle_free(c, &c->as.lists);
	if (c->as.mem.h)
		devenv_dma_free(c->env, &c->as.mem);
	c->as.slots = 0;
	handle_free(c, &c->prp_list);
	if (c->data.h)
		devenv_dma_free(c->env, &c->data);
	queue_free(c, &c->ioq);
	queue_free(c, &c->aq);
}

int
nvme_reset(struct nvme_ctrl *c)
{
	int err;

	c->resets++;
	async_fail_all(c, E_IO);
	if ((err = bring_up(c, 0))) {
		(void)disable(c);
		c->state = NVME_DEAD;
		return err;
	}
	return 0;
}

/* ---- I/O ---- */

static int
rw_check(struct nvme_ctrl *c, uint32_t nsi, uint64_t lba, uint32_t count, uint32_t max)
{
	struct nvme_ns *ns;
	uint64_t bytes;

	if (nsi >= c->nns)
		return E_NOENT;
	ns = &c->ns[nsi];
	bytes = (uint64_t)count * ns->lba_size;
	if (count == 0 || count > 0x10000u || bytes > max)
		return E_INVAL;
	if (lba >= ns->nsze || count > ns->nsze - lba)
		return E_RANGE;
	return 0;
}

static int
rw(struct nvme_ctrl *c, uint32_t nsi, uint8_t opc, uint64_t lba, uint32_t count)
{
	struct nvme_ns *ns;
	struct nvme_sqe cmd = { .opc = opc };
	struct devenv_prp prp = { c->data.h, 0, 0, 0, 0 };
	uint64_t bytes;
	int err;

	if ((err = rw_check(c, nsi, lba, count, c->max_xfer)))
		return err;
	ns = &c->ns[nsi];
	bytes = (uint64_t)count * ns->lba_size;
	prp.len = (uint32_t)bytes;
	if (bytes > 2u * NVME_PAGE_SIZE)
		prp.list = c->prp_list;         /* the environment writes the list */
	cmd.nsid = ns->nsid;
	cmd.cdw10 = (uint32_t)lba;
	cmd.cdw11 = (uint32_t)(lba >> 32);
	cmd.cdw12 = count - 1u;                 /* 0's based NLB */
	return submit_wait(c, &c->ioq, &cmd, &prp);
}

int
nvme_read(struct nvme_ctrl *c, uint32_t nsi, uint64_t lba, uint32_t count, void *buf)
{
	int err = rw(c, nsi, NVME_CMD_READ, lba, count);

	if (err)
		return err;
	memcpy(buf, c->data.cpu, (size_t)count * c->ns[nsi].lba_size);
	return 0;
}

int
nvme_write(struct nvme_ctrl *c, uint32_t nsi, uint64_t lba, uint32_t count, const void *buf)
{
	if (nsi >= c->nns)
		return E_NOENT;
	if (count == 0 || (uint64_t)count * c->ns[nsi].lba_size > c->max_xfer)
		return E_INVAL;
	memcpy(c->data.cpu, buf, (size_t)count * c->ns[nsi].lba_size);
	return rw(c, nsi, NVME_CMD_WRITE, lba, count);
}

int
nvme_flush(struct nvme_ctrl *c, uint32_t nsi)
{
	struct nvme_sqe cmd = { .opc = NVME_CMD_FLUSH };

	if (nsi >= c->nns)
		return E_NOENT;
	cmd.nsid = c->ns[nsi].nsid;
	return submit_wait(c, &c->ioq, &cmd, 0);
}

/* ---- asynchronous I/O ---- */

int
nvme_async_init(struct nvme_ctrl *c, uint16_t slots, uint64_t mem_bytes)
{
	int err;

	if (c->state != NVME_LIVE)
		return E_BUSY;
	if (c->as.slots || slots == 0 || slots > NVME_ASYNC_MAX || slots + 2u > c->ioq.depth ||
	    mem_bytes == 0)
		return E_INVAL;
	if ((err = devenv_dma_alloc(c->env, mem_bytes, DEVENV_DMA_BIDIRECTIONAL, &c->as.mem)))
		return err;
	if ((err = devenv_nvme_queue_alloc(c->env, (uint64_t)slots * NVME_PAGE_SIZE, &c->as.lists))) {
		devenv_dma_free(c->env, &c->as.mem);
		return err;
	}
	c->as.slots = slots;
	return 0;
}

uint32_t
nvme_async_pending(const struct nvme_ctrl *c)
{
	uint32_t s, n = 0;

	for (s = 0; s < c->as.slots; s++)
		n += c->as.req[s] != 0;
	return n;
}

/*
 * The offset of r's data in the async region: E_INVAL unless the whole
 * window [buf, buf + bytes) lies inside it. Compared as integers, so a
 * pointer from anywhere else is refused, never formed into one past it.
 * (The kernel checks the window again against the buffer, and dword
 * alignment, before it writes any PRP.)
 */
static int
async_data_off(const struct nvme_ctrl *c, const struct nvme_req *r, uint32_t bytes, uint64_t *off)
{
	uintptr_t base = (uintptr_t)c->as.mem.cpu, p = (uintptr_t)r->buf;

	if (p < base || p - base > c->as.mem.size || bytes > c->as.mem.size - (p - base) ||
	    (p - base) % 4)
		return E_INVAL;
	*off = p - base;
	return 0;
}

int
nvme_submit(struct nvme_ctrl *c, struct nvme_req *r)
{
	struct nvme_sqe cmd = { .opc = r->opc };
	struct devenv_prp prp = { 0, 0, 0, 0, 0 };
	struct nvme_queue *q = &c->ioq;
	uint32_t bytes = 0;
	uint64_t off = 0;
	uint16_t s;
	int err;

	if (c->state == NVME_DEAD)
		return E_IO;
	if (c->state != NVME_LIVE || c->as.slots == 0)
		return E_BUSY;
	if (r->opc == NVME_CMD_FLUSH) {
		if (r->ns >= c->nns)
			return E_NOENT;
	} else if (r->opc == NVME_CMD_READ || r->opc == NVME_CMD_WRITE) {
		if ((err = rw_check(c, r->ns, r->lba, r->count, NVME_SLOT_XFER < c->max_xfer ?
		    NVME_SLOT_XFER : c->max_xfer)))
			return err;
		bytes = r->count * c->ns[r->ns].lba_size;
		if ((err = async_data_off(c, r, bytes, &off)))
			return err;
	} else {
		return E_INVAL;
	}
	for (s = 0; s < c->as.slots; s++)
		if (!c->as.req[s])
			break;
	if (s == c->as.slots || q->inflight >= q->depth - 1u)
		return E_AGAIN;
	/* The pages the window touches (an unaligned 128 KiB write: 33, a
	 * 32-entry list) decide whether PRP2 is a list. */
	if (bytes) {
		uint64_t pages = (off % NVME_PAGE_SIZE + bytes + NVME_PAGE_SIZE - 1) / NVME_PAGE_SIZE;

		prp = (struct devenv_prp){ c->as.mem.h, off, bytes, pages > 2 ? c->as.lists : 0,
		    (uint64_t)s * NVME_PAGE_SIZE };
	}
	cmd.nsid = c->ns[r->ns].nsid;
	cmd.cdw10 = (uint32_t)r->lba;
	cmd.cdw11 = (uint32_t)(r->lba >> 32);
	cmd.cdw12 = bytes ? r->count - 1u : 0;
	if ((err = devenv_nvme_submit(c->env, q->qid, &cmd, bytes ? &prp : 0, &c->as.token[s])))
		return err;
	r->done = 0;
	r->status = 0;
	c->as.req[s] = r;
	c->as.deadline[s] = devenv_now_ns(c->env) + c->cmd_timeout_ns;
	q->inflight++;
	return 0;
}

/* Fail everything outstanding with `err` and reset. */
static void
async_abort(struct nvme_ctrl *c, int err)
{
	async_fail_all(c, err);
	recover(c);
}

int
nvme_poll(struct nvme_ctrl *c, uint64_t timeout_ns)
{
	uint64_t until = devenv_now_ns(c->env) + timeout_ns, now, oldest;
	uint32_t us = NVME_POLL_MIN_US, before = c->as.completed;
	int r, owe_ack = 0;
	uint16_t s;

	for (;;) {
		if (nvme_async_pending(c))
			devenv_busy_look(c->env);
		async_collect(c);
		if (owe_ack) {
			(void)devenv_irq_ack(c->env);
			owe_ack = 0;
		}
		if (c->as.completed != before)
			return (int)(c->as.completed - before);
		if (!nvme_async_pending(c))
			return 0;
		if (controller_failed(c, timeout_ns != 0)) {
			c->fatals++;
			async_abort(c, E_IO);
			return (int)(c->as.completed - before);
		}
		now = devenv_now_ns(c->env);
		for (s = 0, oldest = ~0ull; s < c->as.slots; s++)
			if (c->as.req[s] && c->as.deadline[s] < oldest)
				oldest = c->as.deadline[s];
		if (now >= oldest) {
			c->timeouts++;
			async_abort(c, E_TIMEOUT);
			return (int)(c->as.completed - before);
		}
		if (now >= until)
			return 0;
		if (c->completion == NVME_IRQ) {
			r = devenv_irq_wait(c->env, (until < oldest ? until : oldest) - now);
			if (r > 0)
				owe_ack = 1;
			else if (r < 0) {
				async_abort(c, r);
				return (int)(c->as.completed - before);
			}
		} else {
			backoff(c, &us);
		}
	}
}

static int
ns_read(void *drv, uint64_t lba, uint32_t count, void *buf)
{
	struct nvme_ns *ns = drv;

	return nvme_read(ns->ctrl, (uint32_t)(ns - ns->ctrl->ns), lba, count, buf);
}

static int
ns_write(void *drv, uint64_t lba, uint32_t count, const void *buf)
{
	struct nvme_ns *ns = drv;

	return nvme_write(ns->ctrl, (uint32_t)(ns - ns->ctrl->ns), lba, count, buf);
}

static int
ns_flush(void *drv)
{
	struct nvme_ns *ns = drv;

	return nvme_flush(ns->ctrl, (uint32_t)(ns - ns->ctrl->ns));
}
