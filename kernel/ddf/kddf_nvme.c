/*
 * NVMe brokering (docs/device-manager.md, "NVMe brokering"): the kernel owns
 * the queue protocol of a claimed NVMe function (class 01:08:02).
 *
 * Submission queues hold device-visible addresses (PRPs) and completion
 * queues are what the kernel's accounting is parsed from, so both live in
 * DMA buffers the driver can never map (kbuf.ring). The driver hands the
 * kernel a 64-byte command and names its data as (DMABuffer, offset,
 * length): the kernel checks the opcode against the queue's allow-list,
 * checks the fields it depends on, writes CID, PSDT, MPTR and the PRPs
 * itself, copies the entry into the SQ and rings the SQ tail doorbell.
 * Completions are parsed here (MSI-X handler through poll_claim, and on
 * nvmeComplete); a CQE naming a CID that is not in flight is counted and
 * ignored, and no more than one queue's worth is consumed per pass.
 *
 * Every device-visible buffer is one ledger submission (lib/ddf), so free
 * and teardown accounting stay one ledger (invariant 2):
 *   ledger queue 2*qid     slot cid   the data window of a command
 *   ledger queue 2*qid+1   slot cid   the PRP list page of a command
 *   ledger queue KN_HOLDQ  slot 2*qid(+1)  SQ (CQ) memory while the queue lives
 * The CQE marks the first two done (ddf_dma_device_done); nvmeComplete
 * collects them. Queue memory is released when the queue is deleted or the
 * controller disabled.
 *
 * Identify data is read by the kernel (it learns each namespace's LBA size
 * from it, which bounds every Read/Write): the device writes it into a
 * kernel-owned page the driver never maps, the kernel parses that copy and
 * then copies it into the driver's buffer, so the driver cannot change what
 * the kernel learnt.
 *
 * Everything here runs under the kddf lock (kddf_int.h).
 */
#include "ddf/kddf_int.h"
#include "arch/x86_64/x86.h"
#include "kernel.h"
#include "mm/pmm.h"
#include "pci/pci.h"
#include "time/time.h"

/* Controller registers (NVMe Base 1.4 §3.1) and admin/I/O opcodes (§5, §6). */
#define NV_CAP		0x00
#define NV_CC		0x14
#define NV_CSTS		0x1c
#define NV_AQA		0x24
#define NV_ASQ		0x28
#define NV_ACQ		0x30
#define NV_DBS		0x1000
#define NV_CC_EN	1u
#define NV_CC_VALUE	(6u << 16 | 4u << 20)	/* IOSQES 64 B, IOCQES 16 B, CSS NVM, MPS 4 KiB, RR */
#define NV_CSTS_RDY	1u
#define NV_CSTS_CFS	2u
#define NV_CSTS_SHST	(3u << 2)
#define NV_CSTS_SHST_DONE (2u << 2)
#define NV_CC_SHN	(3u << 14)
#define NV_CC_SHN_NORMAL (1u << 14)

enum {
	ADM_DELETE_SQ = 0x00, ADM_CREATE_SQ = 0x01, ADM_DELETE_CQ = 0x04, ADM_CREATE_CQ = 0x05,
	ADM_IDENTIFY = 0x06, ADM_ABORT = 0x08, ADM_SET_FEATURES = 0x09, ADM_GET_FEATURES = 0x0a,
	IO_FLUSH = 0x00, IO_WRITE = 0x01, IO_READ = 0x02,
};
#define FEAT_NUM_QUEUES	0x07

#define KN_NQ		4u	/* admin + 3 I/O queue pairs (qid = CQ id = SQ id) */
#define KN_DEPTH	64u	/* entries per queue */
#define KN_NNS		16u	/* identified namespaces remembered */
#define KN_HOLDQ	15u	/* ledger pseudo-queue: queue memory holds */
#define KN_PAGE		4096u
#define KN_DISABLE_NS	500000000ull	/* bounded wait for CSTS.RDY = 0 */

_Static_assert(2u * KN_NQ <= KN_HOLDQ && KN_HOLDQ < DDF_MAX_QUEUES, "ledger queue map");

struct kn_sqe {
	uint8_t opc, flags;
	uint16_t cid;
	uint32_t nsid, cdw2, cdw3;
	uint64_t mptr, prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
} __attribute__((packed));
_Static_assert(sizeof(struct kn_sqe) == 64, "NVMe SQE");

struct kn_cqe {
	uint32_t dw0, dw1;
	uint16_t sqhd, sqid, cid, status;
} __attribute__((packed));
_Static_assert(sizeof(struct kn_cqe) == 16, "NVMe CQE");

enum { KN_FREE = 0, KN_INFLIGHT = 1, KN_DONE = 2 };

struct kn_hold {		/* one ledger submission: the buffer and its token */
	ddf_handle buf, tok;
};

struct kn_cmd {
	uint32_t seq;		/* names this use of the slot in the token; 0 = free */
	uint8_t state, opc;
	uint16_t status;	/* CQE DW3 31:17 */
	uint32_t dw0, len, nsid;
	struct kn_hold data, list;
	uint64_t data_cookie, data_off;	/* Identify: where the copy goes */
	uint16_t arg;		/* Create/Delete: the queue id named */
	struct kn_hold qmem;	/* Create: the queue memory */
	uint64_t qcookie;
	uint16_t qdepth;
};

struct kn_queue {
	uint8_t sq_live, cq_live, creating;
	uint64_t sq_cookie, cq_cookie;
	struct kn_hold sq_mem, cq_mem;
	uint16_t sq_depth, cq_depth, sq_tail, cq_head, inflight;
	uint8_t phase;
	struct kn_cmd cmd[KN_DEPTH];
};

struct kddf_nvme {
	uint32_t claim, owner;
	uint8_t enabled;
	uint32_t dstrd, seq, bogus;
	uint64_t id_pa;		/* the kernel's Identify page, 0 until enable */
	uint8_t id_busy;
	struct { uint32_t nsid, lba; } ns[KN_NNS];
	struct kn_queue q[KN_NQ];
};

static struct kddf_nvme nvs[KDDF_NCLAIMS];

static struct ddf_ledger *
ledger(void)
{
	return kddf_ledger();
}

static uint32_t
reg32(struct kddf_nvme *n, uint64_t off)
{
	return kddf_int_reg_read(n->claim, 0, off, 4);
}

static void
wreg32(struct kddf_nvme *n, uint64_t off, uint32_t v)
{
	kddf_int_reg_write(n->claim, 0, off, 4, v);
}

static void *
buf_kva(uint64_t cookie, uint64_t off)
{
	return phys_to_virt(kddf_int_buf_addr(cookie, off));
}

struct kddf_nvme *
kddf_nvme_attach(uint32_t claim_index, uint32_t owner)
{
	struct kddf_nvme *n = &nvs[claim_index];
	memset(n, 0, sizeof *n);
	n->claim = claim_index;
	n->owner = owner;
	return n;
}

static struct kddf_nvme *
nvme_of(uint32_t claim_index)
{
	struct kdev *d = kddf_int_kdev(claim_index);
	return d && d->fmt == KDDF_FMT_NVME && d->nvme ? d->nvme : NULL;
}

/* Is the function a selector names an NVMe controller (class 01:08:02)? */
bool
kddf_nvme_selects(const struct ddf_selector *sel)
{
	const struct pci_func *f = NULL;
	if (sel->kind == DDF_SEL_ADDR && sel->addr.segment == 0)
		f = pci_find_bdf(sel->addr.bus, sel->addr.device, sel->addr.function);
	else if (sel->kind == DDF_SEL_IDS)
		f = pci_find(sel->vendor, sel->device, sel->instance);
	return f && f->class == 0x01 && f->subclass == 0x08 && f->progif == 0x02;
}

/* No register is writable by the driver: CC, AQA, ASQ, ACQ and every doorbell are the kernel's. */
void
kddf_policy_nvme(struct ddf_policy *pol, uint32_t owner, uint64_t budget)
{
	memset(pol, 0, sizeof *pol);
	pol->owner = owner;
	pol->dma_budget = budget;
	pol->max_inflight = 2u * KN_NQ * KN_DEPTH;
	memcpy(pol->label, "nvme-brokered", 14);
}

/*
 * A refused NVMe call goes into the device manager's audit log like the
 * ledger's own refusals (event rejected, detail = the ddf_op: DMA_SUBMIT for
 * nvmeSubmit, BROKERED for the controller enable). Queue-full (E_AGAIN) is
 * flow control, not a refusal. The log is a bounded ring.
 */
static int
audit_reject(uint32_t ci, uint32_t owner, uint8_t op, int err)
{
	const struct ddf_claim *c = ddf_claim_get(ledger(), kddf_claim_handle(ci));
	struct ddf_audit_rec r;
	if (err == E_AGAIN || !ledger()->audit)
		return err;
	memset(&r, 0, sizeof r);
	r.time_ns = time_stamp_ns();	/* as every audit record (kddf.c op_now_ns) */
	r.detail = op;
	r.owner = owner;
	r.event = DDF_EV_REJECTED;
	r.reason = (int8_t)err;
	if (c) {
		r.generation = c->gen;
		r.addr = c->fn.addr;
	}
	ddf_audit_append(ledger()->audit, &r);
	return err;
}

/* ---- ledger holds ---- */

static int
hold(struct kddf_nvme *n, ddf_handle buf, uint16_t lq, uint16_t slot, uint64_t off, uint32_t len,
    struct kn_hold *h)
{
	int e = ddf_dma_submit(ledger(), n->owner, buf, lq, slot, off, len, 0, &h->tok);
	if (!e)
		h->buf = buf;
	return e;
}

/* The device is done with the window (bytes moved), and the kernel collects it at once. */
static void
hold_done(struct kddf_nvme *n, struct kn_hold *h, uint32_t bytes)
{
	if (h->tok)
		(void)ddf_dma_device_done(ledger(), h->tok, bytes);
}

static void
hold_release(struct kddf_nvme *n, struct kn_hold *h)
{
	uint32_t bytes;
	if (!h->tok)
		return;
	(void)ddf_dma_device_done(ledger(), h->tok, 0);	/* E_STALE when already done: fine */
	(void)ddf_dma_complete(ledger(), n->owner, h->buf, h->tok, &bytes);
	h->tok = h->buf = 0;
}

/* ---- namespaces the kernel has seen identified ---- */

static uint32_t
ns_lba(struct kddf_nvme *n, uint32_t nsid)
{
	for (uint32_t i = 0; i < KN_NNS; i++)
		if (nsid && n->ns[i].nsid == nsid)
			return n->ns[i].lba;
	return 0;
}

static void
ns_learn(struct kddf_nvme *n, uint32_t nsid, uint32_t lba)
{
	uint32_t slot = KN_NNS;
	for (uint32_t i = 0; i < KN_NNS; i++) {
		if (n->ns[i].nsid == nsid) {
			slot = i;
			break;
		}
		if (!n->ns[i].nsid && slot == KN_NNS)
			slot = i;
	}
	if (slot == KN_NNS)
		return;		/* table full: the namespace stays unusable (fail closed) */
	n->ns[slot].nsid = lba ? nsid : 0;
	n->ns[slot].lba = lba;
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * The LBA data size of an Identify Namespace page (§5.15.2.2), or 0 when the
 * namespace is inactive or formatted in a way the kernel does not broker
 * (metadata, format index >= 16, data size outside 512..4096).
 */
static uint32_t
id_ns_lba(const uint8_t *id)
{
	uint32_t flbas = id[26], nlbaf = id[25], idx = flbas & 0xf, lbaf, lbads;
	if (!(le32(id) | le32(id + 4)) || ((flbas >> 5) & 3u) || idx > nlbaf)
		return 0;
	lbaf = le32(id + 128 + 4 * idx);
	lbads = (lbaf >> 16) & 0xff;
	if ((lbaf & 0xffff) || lbads < 9 || lbads > 12)
		return 0;
	return 1u << lbads;
}

/* ---- controller enable and disable ---- */

/* ledger_live: release the holds; false inside teardown, which clears the ledger itself. */
static void
queue_forget(struct kddf_nvme *n, struct kn_queue *q, bool ledger_live)
{
	for (uint32_t i = 0; i < KN_DEPTH && ledger_live; i++) {
		struct kn_cmd *k = &q->cmd[i];
		hold_release(n, &k->data);
		hold_release(n, &k->list);
		hold_release(n, &k->qmem);
	}
	if (ledger_live) {
		hold_release(n, &q->sq_mem);
		hold_release(n, &q->cq_mem);
	}
	memset(q, 0, sizeof *q);
}

/*
 * CC.EN = 0 and a bounded wait for CSTS.RDY = 0 (§3.1.5: the controller
 * stops processing and forgets its queues), then every queue and command is
 * forgotten and its ledger holds released. Outstanding tokens go stale.
 * Returns E_TIMEOUT when RDY did not drop: the caller must then stop bus
 * mastering (teardown) before any page is reused.
 */
/* Normal shutdown (§7.6.2): CC.SHN = 01, bounded wait for CSTS.SHST = 10. */
static int
shutdown_locked(struct kddf_nvme *n)
{
	uint32_t cc = reg32(n, NV_CC);
	if (cc == 0xffffffffu || !(cc & NV_CC_EN))
		return E_BUSY;
	wreg32(n, NV_CC, (cc & ~NV_CC_SHN) | NV_CC_SHN_NORMAL);
	uint64_t until = time_ns() + KN_DISABLE_NS;
	for (uint32_t st; ((st = reg32(n, NV_CSTS)) & NV_CSTS_SHST) != NV_CSTS_SHST_DONE;) {
		if (st == 0xffffffffu || (st & NV_CSTS_CFS) || time_ns() >= until)
			return E_BUSY;
		pause();
	}
	return 0;
}

static int
disable_locked(struct kddf_nvme *n, bool ledger_live)
{
	int e = 0;
	uint32_t cc = reg32(n, NV_CC);
	if (cc != 0xffffffffu)
		wreg32(n, NV_CC, cc & ~(NV_CC_EN | NV_CC_SHN));
	uint64_t until = time_ns() + KN_DISABLE_NS;
	while ((reg32(n, NV_CSTS) & NV_CSTS_RDY) && reg32(n, NV_CSTS) != 0xffffffffu) {
		if (time_ns() >= until) {
			e = E_TIMEOUT;
			break;
		}
		pause();
	}
	for (uint32_t i = 0; i < KN_NQ; i++)
		queue_forget(n, &n->q[i], ledger_live);
	n->enabled = 0;
	n->id_busy = 0;
	memset(n->ns, 0, sizeof n->ns);	/* re-identified after every enable */
	return e;
}

/* Teardown (kddf.c op_drain): bus mastering is already off. */
void
kddf_nvme_drain(uint32_t claim_index)
{
	struct kddf_nvme *n = nvme_of(claim_index);
	if (!n)
		return;
	(void)disable_locked(n, false);
	if (n->id_pa) {
		memset(phys_to_virt(n->id_pa), 0, KN_PAGE);
		pmm_free(n->id_pa);
		n->id_pa = 0;
	}
}

/*
 * A buffer the kernel makes a ring of: this claim's, never user-mapped, and
 * never mappable after. A buffer keeps one role for its life: queue memory
 * (an SQ or CQ) or PRP lists. A list page inside an SQ would let the
 * kernel's own PRP writes turn into commands, so the roles never mix; and
 * queue memory is taken by one queue at a time (E_BUSY while it is held).
 */
enum { ROLE_NONE = 0, ROLE_QUEUE = 1, ROLE_LIST = 2 };

static int
ring_buffer(struct kddf_nvme *n, ddf_handle buf, uint64_t need, uint8_t role, uint64_t *cookie)
{
	const struct ddf_buffer *b = ddf_buffer_get(ledger(), buf);
	struct kbuf *kb;
	if (!b || b->claim != n->claim)
		return E_STALE;
	if (b->size < need)
		return E_RANGE;
	if (!(kb = kddf_int_kbuf(b->cookie)))
		return E_STALE;
	if (kb->mapped || b->user_mapped || (kb->nvme_role && kb->nvme_role != role))
		return E_PERM;		/* the driver could rewrite what the kernel authors */
	if (role == ROLE_QUEUE && (b->submitted || b->done))
		return E_BUSY;		/* another queue's memory */
	kb->ring = true;
	kb->nvme_role = role;
	*cookie = b->cookie;
	return 0;
}

static int
enable_locked(uint32_t owner, uint32_t ci, uint16_t depth, ddf_handle sqb, ddf_handle cqb)
{
	uint64_t sqc, cqc;
	struct kddf_nvme *n = nvme_of(ci);
	int e;

	if (!n || n->owner != owner || !kddf_claim_handle(ci))
		return E_PERM;		/* the buffers must be this claim's too (ring_buffer) */
	if (depth < 2 || depth > KN_DEPTH)
		return E_RANGE;
	uint64_t cap = reg32(n, NV_CAP) | (uint64_t)reg32(n, NV_CAP + 4) << 32;
	if (cap == ~0ull || depth > (cap & 0xffff) + 1 || !((cap >> 37) & 1) || ((cap >> 48) & 0xf))
		return E_NOTSUP;	/* MQES, CSS NVM, MPSMIN 4 KiB */
	if (sqb == cqb)
		return E_INVAL;
	/* Disable first: it releases the holds of the queues this enable replaces. */
	if (disable_locked(n, true))
		return E_TIMEOUT;
	if ((e = ring_buffer(n, sqb, (uint64_t)depth * 64, ROLE_QUEUE, &sqc)) ||
	    (e = ring_buffer(n, cqb, (uint64_t)depth * 16, ROLE_QUEUE, &cqc)))
		return e;
	if (!n->id_pa && pmm_alloc_contig(1, &n->id_pa) < 0) {
		n->id_pa = 0;
		return E_NOMEM;
	}
	ddf_handle ch = kddf_claim_handle(ci);
	for (uint16_t lq = 0; lq < 2; lq++)
		if ((e = ddf_queue_configure(ledger(), owner, ch, lq, depth)))
			return e;
	if ((e = ddf_queue_configure(ledger(), owner, ch, KN_HOLDQ, 2 * KN_NQ)))
		return e;
	struct kn_queue *q = &n->q[0];
	if ((e = hold(n, sqb, KN_HOLDQ, 0, 0, depth * 64u, &q->sq_mem)))
		return e;
	if ((e = hold(n, cqb, KN_HOLDQ, 1, 0, depth * 16u, &q->cq_mem))) {
		hold_release(n, &q->sq_mem);
		return e;
	}
	if (!ddf_claim_get(ledger(), ch)->bus_master)
		(void)ddf_bus_master_enable(ledger(), owner, ch);
	memset(buf_kva(sqc, 0), 0, depth * 64u);
	memset(buf_kva(cqc, 0), 0, depth * 16u);
	q->sq_cookie = sqc;
	q->cq_cookie = cqc;
	q->sq_depth = q->cq_depth = depth;
	q->phase = 1;
	q->sq_live = q->cq_live = 1;
	n->dstrd = 4u << ((cap >> 32) & 0xf);
	uint64_t asq = kddf_int_buf_addr(sqc, 0), acq = kddf_int_buf_addr(cqc, 0);
	wreg32(n, NV_AQA, (uint32_t)(depth - 1) << 16 | (uint32_t)(depth - 1));
	wreg32(n, NV_ASQ, (uint32_t)asq);
	wreg32(n, NV_ASQ + 4, (uint32_t)(asq >> 32));
	wreg32(n, NV_ACQ, (uint32_t)acq);
	wreg32(n, NV_ACQ + 4, (uint32_t)(acq >> 32));
	wreg32(n, NV_CC, NV_CC_VALUE);
	wreg32(n, NV_CC, NV_CC_VALUE | NV_CC_EN);
	n->enabled = 1;
	return 0;
}

int
kddf_nvme_enable(uint32_t owner, uint32_t claim_index, uint16_t depth, ddf_handle sq,
    ddf_handle cq)
{
	uint64_t fl = kddf_int_lock();
	int e = enable_locked(owner, claim_index, depth, sq, cq);
	if (e)
		(void)audit_reject(claim_index, owner, DDF_OP_BROKERED, e);
	kddf_int_unlock(fl);
	return e;
}

static int
disable_call_locked(uint32_t owner, uint32_t ci, bool shutdown)
{
	struct kddf_nvme *n = nvme_of(ci);
	if (!n || n->owner != owner || !kddf_claim_handle(ci))
		return E_PERM;
	int sh = shutdown && n->enabled ? shutdown_locked(n) : 0;
	if (disable_locked(n, true) == 0)
		return sh;
	/* RDY stuck: only stopping bus mastering makes the queue pages safe. */
	(void)ddf_teardown(ledger(), kddf_claim_handle(ci), DDF_TD_RESET);
	return E_DISCONNECTED;
}

int
kddf_nvme_disable(uint32_t owner, uint32_t claim_index, bool shutdown)
{
	uint64_t fl = kddf_int_lock();
	int e = disable_call_locked(owner, claim_index, shutdown);
	kddf_int_unlock(fl);
	return e;
}

/* ---- completions ---- */

static void
create_done(struct kddf_nvme *n, struct kn_cmd *k, int ok)
{
	struct kn_queue *t = &n->q[k->arg];
	bool cq = k->opc == ADM_CREATE_CQ;
	t->creating = 0;
	if (!ok) {
		hold_release(n, &k->qmem);
		return;
	}
	if (cq) {
		t->cq_mem = k->qmem;
		t->cq_cookie = k->qcookie;
		t->cq_depth = k->qdepth;
		t->cq_head = 0;
		t->phase = 1;
		t->cq_live = 1;
	} else {
		t->sq_mem = k->qmem;
		t->sq_cookie = k->qcookie;
		t->sq_depth = k->qdepth;
		t->sq_tail = 0;
		t->sq_live = 1;
		ddf_handle ch = kddf_claim_handle(n->claim);
		(void)ddf_queue_configure(ledger(), n->owner, ch, (uint16_t)(2 * k->arg), k->qdepth);
		(void)ddf_queue_configure(ledger(), n->owner, ch, (uint16_t)(2 * k->arg + 1), k->qdepth);
	}
	k->qmem = (struct kn_hold){ 0, 0 };
}

static void
delete_done(struct kddf_nvme *n, struct kn_cmd *k, int ok)
{
	struct kn_queue *t = &n->q[k->arg];
	if (!ok)
		return;
	if (k->opc == ADM_DELETE_SQ) {
		hold_release(n, &t->sq_mem);
		t->sq_live = 0;
	} else {
		hold_release(n, &t->cq_mem);
		t->cq_live = 0;
	}
}

/* What a command's completion means to the kernel, beyond finishing its holds. */
static void
cmd_done(struct kddf_nvme *n, uint16_t qid, struct kn_cmd *k)
{
	int ok = k->status == 0;
	hold_done(n, &k->data, ok ? k->len : 0);
	hold_done(n, &k->list, ok ? k->len : 0);
	if (qid != 0)
		return;
	switch (k->opc) {
	case ADM_IDENTIFY:
		n->id_busy = 0;
		if (!ok)
			break;
		if (k->nsid)	/* CNS 0: what the kernel bounds Read/Write by */
			ns_learn(n, k->nsid, id_ns_lba(phys_to_virt(n->id_pa)));
		memcpy(buf_kva(k->data_cookie, k->data_off), phys_to_virt(n->id_pa), KN_PAGE);
		break;
	case ADM_CREATE_CQ: case ADM_CREATE_SQ: create_done(n, k, ok); break;
	case ADM_DELETE_CQ: case ADM_DELETE_SQ: delete_done(n, k, ok); break;
	default: break;
	}
}

static void
poll_cq(struct kddf_nvme *n, uint16_t qid)
{
	struct kn_queue *q = &n->q[qid];
	uint32_t consumed = 0;
	if (!q->cq_live)
		return;
	/* A hostile or confused device: never more than one queue's worth per pass. */
	for (; consumed < q->cq_depth; consumed++) {
		volatile struct kn_cqe *e = (volatile struct kn_cqe *)buf_kva(q->cq_cookie,
		    (uint64_t)q->cq_head * 16);
		uint16_t st = e->status;
		if ((st & 1u) != q->phase)
			break;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);	/* the phase before the entry */
		uint16_t cid = e->cid, sqid = e->sqid;
		uint32_t dw0 = e->dw0;
		if (++q->cq_head == q->cq_depth) {
			q->cq_head = 0;
			q->phase ^= 1;
		}
		/* Each CQ serves the SQ of the same id (enforced at Create I/O SQ). */
		struct kn_cmd *k = cid < KN_DEPTH ? &n->q[qid].cmd[cid] : NULL;
		if (sqid != qid || !k || k->state != KN_INFLIGHT) {
			n->bogus++;
			continue;
		}
		k->status = st >> 1;
		k->dw0 = dw0;
		k->state = KN_DONE;
		q->inflight--;
		cmd_done(n, qid, k);
	}
	if (consumed)
		wreg32(n, NV_DBS + (2u * qid + 1u) * n->dstrd, q->cq_head);
}

/* The MSI-X handler and every nvmeComplete: parse every live CQ of the claim. */
void
kddf_nvme_poll(uint32_t claim_index)
{
	struct kddf_nvme *n = nvme_of(claim_index);
	if (!n || !n->enabled)
		return;
	for (uint16_t qid = 0; qid < KN_NQ; qid++)
		poll_cq(n, qid);
}

static int
complete_locked(uint32_t owner, uint32_t ci, uint64_t token, uint16_t *status, uint32_t *dw0)
{
	struct kddf_nvme *n = nvme_of(ci);
	uint32_t seq = (uint32_t)(token >> 32);
	uint16_t qid = (uint16_t)(token >> 16), cid = (uint16_t)token;
	if (!n || n->owner != owner)
		return E_PERM;
	kddf_nvme_poll(ci);
	if (qid >= KN_NQ || cid >= KN_DEPTH || !seq || n->q[qid].cmd[cid].seq != seq)
		return E_STALE;		/* never issued, already collected, or forgotten by a reset */
	struct kn_cmd *k = &n->q[qid].cmd[cid];
	if (k->state == KN_INFLIGHT)
		return E_AGAIN;
	*status = k->status;
	*dw0 = k->dw0;
	hold_release(n, &k->data);
	hold_release(n, &k->list);
	memset(k, 0, sizeof *k);
	return 0;
}

int
kddf_nvme_complete(uint32_t owner, uint32_t claim_index, uint64_t token, uint16_t *status,
    uint32_t *dw0)
{
	uint64_t fl = kddf_int_lock();
	int e = complete_locked(owner, claim_index, token, status, dw0);
	kddf_int_unlock(fl);
	return e;
}

/*
 * nvmeReap: every finished command of queue qid, collected as
 * complete_locked collects one token, at most max (the caller sized max to
 * what its reply can carry, so nothing collected is lost). Commands a
 * disable forgot are gone from q->cmd and never reported.
 */
_Static_assert(KDDF_NVME_REAP_MAX >= KN_DEPTH, "one reap can empty a queue");

static int
reap_locked(uint32_t owner, uint32_t ci, uint16_t qid, uint32_t max, struct kddf_nvme_done *out)
{
	struct kddf_nvme *n = nvme_of(ci);
	uint32_t got = 0;
	if (!n || n->owner != owner)
		return E_PERM;
	if (max == 0)
		return E_INVAL;
	if (qid >= KN_NQ || max > KDDF_NVME_REAP_MAX)
		return E_RANGE;
	if (!n->enabled)
		return E_BUSY;
	kddf_nvme_poll(ci);
	struct kn_queue *q = &n->q[qid];
	for (uint16_t cid = 0; cid < KN_DEPTH && got < max; cid++) {
		struct kn_cmd *k = &q->cmd[cid];
		if (k->state != KN_DONE)
			continue;
		out[got++] = (struct kddf_nvme_done){ (uint64_t)k->seq << 32 |
		    (uint64_t)qid << 16 | cid, k->dw0, k->status };
		hold_release(n, &k->data);
		hold_release(n, &k->list);
		memset(k, 0, sizeof *k);
	}
	return (int)got;
}

int
kddf_nvme_reap(uint32_t owner, uint32_t claim_index, uint16_t qid, uint32_t max,
    struct kddf_nvme_done *out)
{
	uint64_t fl = kddf_int_lock();
	int e = reap_locked(owner, claim_index, qid, max, out);
	kddf_int_unlock(fl);
	return e;
}

/* ---- submission: check everything, then act ---- */

struct kn_req {
	uint16_t qid;
	struct kn_sqe sqe;
	ddf_handle data, list;
	uint64_t off, list_off;
	uint32_t len;
};

/* Create/Delete I/O queue fields (§5.3, §5.4, §5.5, §5.6). */
static int
check_queue_cmd(struct kddf_nvme *n, const struct kn_req *r, uint64_t *qcookie, uint16_t *qdepth)
{
	const struct kn_sqe *s = &r->sqe;
	uint16_t qid = (uint16_t)s->cdw10, qsize = (uint16_t)((s->cdw10 >> 16) + 1);
	if (qid == 0 || qid >= KN_NQ)
		return E_RANGE;
	struct kn_queue *t = &n->q[qid];
	switch (s->opc) {
	case ADM_CREATE_CQ:
		if (t->cq_live || t->creating || qsize < 2 || qsize > KN_DEPTH || !(s->cdw11 & 1u) ||
		    (s->cdw11 & ~0xffff0003u) || (s->cdw11 >> 16) >= 16u)
			return E_INVAL;	/* physically contiguous, IEN allowed, vector < 16 */
		break;
	case ADM_CREATE_SQ:
		if (t->sq_live || t->creating || !t->cq_live || qsize < 2 || qsize > KN_DEPTH ||
		    !(s->cdw11 & 1u) || (s->cdw11 >> 16) != qid || s->cdw12)
			return E_INVAL;	/* one SQ per CQ of the same id */
		break;
	case ADM_DELETE_SQ:
		if (!t->sq_live || t->inflight || r->data)
			return E_BUSY;
		return 0;
	case ADM_DELETE_CQ:
		if (!t->cq_live || t->sq_live || r->data)
			return E_BUSY;
		return 0;
	}
	uint32_t esz = s->opc == ADM_CREATE_CQ ? 16u : 64u;
	if (!r->data || r->off != 0 || r->len != (uint32_t)qsize * esz || r->list)
		return E_INVAL;
	*qdepth = qsize;
	return ring_buffer(n, r->data, r->len, ROLE_QUEUE, qcookie);
}

static int
check_admin(struct kddf_nvme *n, const struct kn_req *r, uint64_t *qcookie, uint16_t *qdepth)
{
	const struct kn_sqe *s = &r->sqe;
	switch (s->opc) {
	case ADM_IDENTIFY: {
		uint32_t cns = s->cdw10 & 0xff;
		if (s->cdw10 & ~0xffu || cns > 2 || (cns == 0 && (!s->nsid || s->nsid == ~0u)))
			return E_INVAL;		/* CNS 0 namespace, 1 controller, 2 active list */
		if (!r->data || r->len != KN_PAGE || r->list)
			return E_INVAL;
		return n->id_busy ? E_BUSY : 0;
	}
	case ADM_SET_FEATURES:
	case ADM_GET_FEATURES:
		if ((s->cdw10 & 0xff) != FEAT_NUM_QUEUES || (s->cdw10 >> 8) || r->data)
			return E_PERM;		/* only Number of Queues; no save, no data */
		return 0;
	case ADM_ABORT:
		return r->data ? E_INVAL : 0;
	case ADM_CREATE_CQ: case ADM_CREATE_SQ: case ADM_DELETE_CQ: case ADM_DELETE_SQ:
		return check_queue_cmd(n, r, qcookie, qdepth);
	}
	return E_PERM;	/* Format NVM, firmware, security, vendor ... : never */
}

static int
check_io(struct kddf_nvme *n, const struct kn_req *r)
{
	const struct kn_sqe *s = &r->sqe;
	uint32_t lba = ns_lba(n, s->nsid);
	if (!lba)
		return E_PERM;		/* a namespace the kernel has not seen identified */
	switch (s->opc) {
	case IO_FLUSH:
		return r->data ? E_INVAL : 0;
	case IO_READ:
	case IO_WRITE:
		if (s->cdw12 & ~(0xffffu | 3u << 30))
			return E_INVAL;	/* NLB, FUA, LR only: no protection information */
		if (!r->data || (uint64_t)((s->cdw12 & 0xffff) + 1) * lba != r->len)
			return E_RANGE;	/* the device moves exactly the window */
		return 0;
	}
	return E_PERM;
}

static uint64_t
page_addr(void *ctx, uint64_t page)
{
	return kddf_int_buf_addr(*(uint64_t *)ctx, page * KN_PAGE);
}

static int
submit_locked(uint32_t owner, uint32_t ci, const struct kn_req *r, uint64_t *token)
{
	struct kddf_nvme *n = nvme_of(ci);
	uint64_t qcookie = 0, dcookie = 0, lcookie = 0;
	uint16_t qdepth = 0, cid;
	int e;

	if (!n || n->owner != owner)
		return E_PERM;
	if (!n->enabled || r->qid >= KN_NQ || !n->q[r->qid].sq_live)
		return E_BUSY;
	struct kn_queue *q = &n->q[r->qid];
	if (r->sqe.flags & 0x03)
		return E_INVAL;		/* fused operations */
	if ((e = r->qid ? check_io(n, r) : check_admin(n, r, &qcookie, &qdepth)))
		return e;
	const struct ddf_buffer *db = r->data ? ddf_buffer_get(ledger(), r->data) : NULL;
	const struct ddf_buffer *lb = r->list ? ddf_buffer_get(ledger(), r->list) : NULL;
	if ((r->data && (!db || db->claim != ci)) || (r->list && (!lb || lb->claim != ci)))
		return E_STALE;
	bool queue_mem = qdepth != 0, ident = !r->qid && r->sqe.opc == ADM_IDENTIFY;
	if (db && !queue_mem) {
		int pages = ddf_prp_check(db->size, r->off, r->len, lb ? lb->size : 0, r->list_off);
		if (pages < 0)
			return pages;
		if (pages <= 2 && r->list)
			return E_INVAL;
		if (pages > 2 && (e = ring_buffer(n, r->list, r->list_off + 8ull * (pages - 1),
		    ROLE_LIST, &lcookie)))
			return e;	/* the list holds addresses: never user-mapped */
		struct kbuf *dk = kddf_int_kbuf(db->cookie);
		if (!dk || dk->ring)
			return E_PERM;	/* data (or Identify's copy) into queue memory or a list */
		dcookie = db->cookie;
	}
	if (q->inflight + 1u >= q->sq_depth)
		return E_AGAIN;		/* a full SQ holds depth - 1 entries (§4.1.2) */
	for (cid = 0; cid < q->sq_depth && q->cmd[cid].state != KN_FREE; cid++)
		;
	if (cid == q->sq_depth)
		return E_AGAIN;		/* every slot holds a command not yet collected */
	struct kn_cmd *k = &q->cmd[cid];
	memset(k, 0, sizeof *k);
	/* The ledger records every device-visible window before the device can see it. */
	if (queue_mem)
		e = hold(n, r->data, KN_HOLDQ, (uint16_t)(2 * (r->sqe.cdw10 & 0xffff) +
		    (r->sqe.opc == ADM_CREATE_CQ)), 0, r->len, &k->qmem);
	else if (db)
		e = hold(n, r->data, (uint16_t)(2 * r->qid), cid, r->off, r->len, &k->data);
	if (!e && lcookie)
		e = hold(n, r->list, (uint16_t)(2 * r->qid + 1), cid, r->list_off, KN_PAGE -
		    (uint32_t)(r->list_off % KN_PAGE), &k->list);
	if (e) {
		hold_release(n, &k->qmem);
		hold_release(n, &k->data);
		memset(k, 0, sizeof *k);
		return e;
	}
	/* Act: the entry as the device will see it. */
	struct kn_sqe s = r->sqe;
	s.flags = 0;		/* FUSE 0, PSDT 0: PRPs */
	s.cid = cid;
	s.mptr = 0;
	s.prp1 = s.prp2 = 0;
	if (queue_mem) {
		/* Old entries with a set phase tag would read as new completions. */
		memset(buf_kva(qcookie, 0), 0, r->len);
		s.prp1 = kddf_int_buf_addr(qcookie, 0);
		k->qcookie = qcookie;
		k->qdepth = qdepth;
		n->q[r->sqe.cdw10 & 0xffff].creating = 1;
	} else if (ident) {
		s.prp1 = n->id_pa;	/* the kernel's page; copied to the driver's on completion */
		k->data_cookie = dcookie;
		k->data_off = r->off;
		k->nsid = (r->sqe.cdw10 & 0xff) == 0 ? r->sqe.nsid : 0;
		n->id_busy = 1;
	} else if (db) {
		uint64_t *list = lcookie ? buf_kva(lcookie, r->list_off) : NULL, p1, p2;
		(void)ddf_prp_fill(page_addr, &dcookie, r->off, r->len, list,
		    lcookie ? kddf_int_buf_addr(lcookie, r->list_off) : 0, &p1, &p2);
		s.prp1 = p1;
		s.prp2 = p2;
	}
	k->arg = (uint16_t)r->sqe.cdw10;
	k->opc = s.opc;
	k->len = r->len;
	k->seq = ++n->seq ? n->seq : ++n->seq;
	k->state = KN_INFLIGHT;
	q->inflight++;
	memcpy(buf_kva(q->sq_cookie, (uint64_t)q->sq_tail * 64), &s, sizeof s);
	q->sq_tail = (uint16_t)((q->sq_tail + 1) % q->sq_depth);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* the entry before the doorbell */
	wreg32(n, NV_DBS + 2u * r->qid * n->dstrd, q->sq_tail);
	*token = (uint64_t)k->seq << 32 | (uint64_t)r->qid << 16 | cid;
	return 0;
}

int
kddf_nvme_submit(uint32_t owner, uint32_t claim_index, uint16_t qid, const void *cmd,
    uint32_t cmd_len, ddf_handle data, uint64_t off, uint32_t len, ddf_handle list,
    uint64_t list_off, uint64_t *token)
{
	struct kn_req r = { .qid = qid, .data = data, .list = list, .off = off,
		.list_off = list_off, .len = len };
	if (cmd_len != sizeof r.sqe)
		return E_INVAL;
	memcpy(&r.sqe, cmd, sizeof r.sqe);
	if (!data && (len || off))
		return E_INVAL;
	uint64_t fl = kddf_int_lock();
	int e = submit_locked(owner, claim_index, &r, token);
	if (e)
		(void)audit_reject(claim_index, owner, DDF_OP_DMA_SUBMIT, e);
	kddf_int_unlock(fl);
	return e;
}

void
kddf_nvme_cq_head(uint32_t claim_index, uint16_t qid, uint16_t *head, uint8_t *phase)
{
	uint64_t fl = kddf_int_lock();
	struct kddf_nvme *n = nvme_of(claim_index);
	*head = n && qid < KN_NQ ? n->q[qid].cq_head : 0;
	*phase = n && qid < KN_NQ ? n->q[qid].phase : 0;
	kddf_int_unlock(fl);
}

uint32_t
kddf_nvme_csts(uint32_t claim_index)
{
	uint64_t fl = kddf_int_lock();
	struct kddf_nvme *n = nvme_of(claim_index);
	uint32_t v = n ? reg32(n, NV_CSTS) : ~0u;
	kddf_int_unlock(fl);
	return v;
}

/* Counters for the `devices` line and tests. */
uint32_t
kddf_nvme_bogus(uint32_t claim_index)
{
	struct kddf_nvme *n = nvme_of(claim_index);
	return n ? n->bogus : 0;
}
