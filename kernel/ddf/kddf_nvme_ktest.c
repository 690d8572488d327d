/*
 * Built-in test of the NVMe broker (kddf_nvme.c) against QEMU's NVMe device
 * (`-device nvme`, 1b36:0010), `capos.test=nvme-broker`:
 *
 *   the kernel's own code paths, driven by a kernel-side stand-in owner:
 *   enable, Identify (the kernel learns the LBA size from its own page and
 *   copies the data out), the allow-lists and length checks, a Read through
 *   a created I/O queue pair; then a hostile device, simulated by writing
 *   completion entries into the kernel-owned CQ (which only the device and
 *   the kernel can reach): a CQE naming a CID not in flight, one naming the
 *   wrong SQ, a full queue of bogus entries (consumed at most one queue's
 *   worth per pass, counted, nothing completed), then disable (every token
 *   stale) and teardown to a zero ledger with the free frames back.
 *
 * Markers: `capos: nvme-case NAME got=.. expect=.. ok=yes|no`.
 */
#include "ddf/kddf_int.h"
#include "arch/x86_64/x86.h"
#include "kernel.h"
#include "mm/pmm.h"
#include "time/time.h"

#define OWN	0xD0E0u		/* the stand-in driver */
#define DEPTH	16u

static bool all_ok;

static void
check(const char *name, int got, int want)
{
	kddf_case_err("nvme", name, got, want, &all_ok);
}

static void
check_n(const char *name, uint64_t got, uint64_t want)
{
	kddf_case_num("nvme", name, (int64_t)got, (int64_t)want, &all_ok);
}

struct sqe {
	uint8_t opc, flags;
	uint16_t cid;
	uint32_t nsid, cdw2, cdw3;
	uint64_t mptr, prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
} __attribute__((packed));

static uint32_t claim_idx;

static int
submit(uint16_t q, const struct sqe *s, ddf_handle data, uint32_t len, ddf_handle list,
    uint64_t *tok)
{
	return kddf_nvme_submit(OWN, claim_idx, q, s, sizeof *s, data, 0, len, list, 0, tok);
}

/* Collect a token, waiting (bounded) for the device; the status or a negative code. */
static int
wait_tok(uint64_t tok)
{
	uint16_t st;
	uint32_t dw0;
	uint64_t until = time_ns() + 2000000000ull;
	int e;
	while ((e = kddf_nvme_complete(OWN, claim_idx, tok, &st, &dw0)) == E_AGAIN &&
	    time_ns() < until)
		pause();
	return e ? e : st;
}

static uint8_t *
buf_kva(ddf_handle h)
{
	const struct ddf_buffer *b = ddf_buffer_get(kddf_ledger(), h);
	return b ? phys_to_virt(kddf_int_buf_addr(b->cookie, 0)) : NULL;
}

static void
poll(void)
{
	uint64_t fl = kddf_int_lock();
	kddf_nvme_poll(claim_idx);
	kddf_int_unlock(fl);
}

/* What a hostile device does: a completion entry at the CQ's head with the expected phase. */
static void
forge_cqe(ddf_handle cq, uint16_t qid, uint16_t cid, uint16_t sqid)
{
	uint16_t head;
	uint8_t phase;
	kddf_nvme_cq_head(claim_idx, qid, &head, &phase);
	volatile uint32_t *e = (volatile uint32_t *)(buf_kva(cq) + 16u * head);
	e[0] = 0xdeadbeef;
	e[1] = 0;
	e[2] = (uint32_t)sqid << 16;
	e[3] = (uint32_t)cid | (uint32_t)phase << 16;
}

static bool
ready(void)
{
	uint64_t until = time_ns() + 2000000000ull;
	while (!(kddf_nvme_csts(claim_idx) & 1u) && time_ns() < until)
		pause();
	return kddf_nvme_csts(claim_idx) & 1u;
}

/*
 * nvmeReap: the argument checks, a batch bounded by its max, every token
 * reported once and collected (nvmeComplete then calls it stale), nothing
 * reported twice. `data` is an idle 1-page window; I/O queue pair 1 is live.
 */
static void
test_reap(ddf_handle data)
{
	struct kddf_nvme_done d[KDDF_NVME_REAP_MAX];
	struct sqe rd = { .opc = 0x02, .nsid = 1, .cdw12 = 7 };
	uint64_t tok[3], until = time_ns() + 2000000000ull;
	uint32_t seen = 0, bad = 0;
	int most = 0;
	uint16_t st;
	uint32_t dw0;

	check("reap-max-zero", kddf_nvme_reap(OWN, claim_idx, 1, 0, d), E_INVAL);
	check("reap-max-over-bound", kddf_nvme_reap(OWN, claim_idx, 1, KDDF_NVME_REAP_MAX + 1, d),
	    E_RANGE);
	check("reap-queue-out-of-range", kddf_nvme_reap(OWN, claim_idx, 4, 1, d), E_RANGE);
	check("reap-wrong-owner", kddf_nvme_reap(OWN + 1, claim_idx, 1, 1, d), E_PERM);
	check("reap-nothing-finished", kddf_nvme_reap(OWN, claim_idx, 1, KDDF_NVME_REAP_MAX, d), 0);
	/* three reads at once, reaped at most two at a time */
	check("reap-submit-3", submit(1, &rd, data, 4096, 0, &tok[0]), 0);
	check("reap-submit-3b", submit(1, &rd, data, 4096, 0, &tok[1]), 0);
	check("reap-submit-3c", submit(1, &rd, data, 4096, 0, &tok[2]), 0);
	for (uint64_t t = time_ns() + 200000000ull; time_ns() < t;)
		pause();	/* the device finishes all three meanwhile: the first batch is full */
	while (seen != 7u && time_ns() < until) {
		int n = kddf_nvme_reap(OWN, claim_idx, 1, 2, d);
		if (n < 0) {
			bad++;
			break;
		}
		most = n > most ? n : most;
		for (int i = 0; i < n; i++) {
			uint32_t j = d[i].token == tok[0] ? 0 : d[i].token == tok[1] ? 1 :
			    d[i].token == tok[2] ? 2 : 3;
			if (j == 3 || (seen & 1u << j) || d[i].status)
				bad++;	/* unknown, reported twice, or failed */
			else
				seen |= 1u << j;
		}
	}
	check_n("reap-every-token-once", seen, 7);
	check_n("reap-nothing-bad", bad, 0);
	check_n("reap-batch-bounded-by-max", most, 2);
	check("reap-collected", kddf_nvme_complete(OWN, claim_idx, tok[0], &st, &dw0), E_STALE);
	check("reap-empty-after", kddf_nvme_reap(OWN, claim_idx, 1, KDDF_NVME_REAP_MAX, d), 0);
	check("reap-admin-queue-empty", kddf_nvme_reap(OWN, claim_idx, 0, KDDF_NVME_REAP_MAX, d), 0);
}

static bool
test_broker(void)
{
	struct ddf_selector sel = { .kind = DDF_SEL_IDS, .vendor = 0x1b36, .device = 0x0010 };
	struct ddf_policy pol;
	struct ddf_totals t0, t;
	uint64_t fr0, fr, tok;
	ddf_handle claim, asq, acq, data, list, iocq, iosq;

	all_ok = true;
	kddf_print_ledger("nvme-start", &t0, &fr0);
	check("selects-nvme-class", kddf_nvme_selects(&sel) ? 0 : E_NOENT, 0);
	kddf_policy_nvme(&pol, OWN, 1u << 20);
	check("claim", kddf_claim(&sel, &pol, KDDF_FMT_NVME, &claim), 0);
	claim_idx = ddf_handle_index(claim);
	check("alloc", kddf_dma_alloc(OWN, claim, 4096, 2, &asq) | kddf_dma_alloc(OWN, claim, 4096, 2,
	    &acq) | kddf_dma_alloc(OWN, claim, 4096, 2, &data) | kddf_dma_alloc(OWN, claim, 4096, 2,
	    &list) | kddf_dma_alloc(OWN, claim, 4096, 2, &iocq) | kddf_dma_alloc(OWN, claim, 4096, 2,
	    &iosq), 0);
	check("enable-depth-1", kddf_nvme_enable(OWN, claim_idx, 1, asq, acq), E_RANGE);
	check("enable-same-buffer", kddf_nvme_enable(OWN, claim_idx, DEPTH, asq, asq), E_INVAL);
	check("enable", kddf_nvme_enable(OWN, claim_idx, DEPTH, asq, acq), 0);
	check("ready", ready() ? 0 : E_TIMEOUT, 0);

	struct sqe idc = { .opc = 0x06, .cdw10 = 1 }, idn = { .opc = 0x06, .nsid = 1, .cdw10 = 0 };
	check("identify-ctrl", submit(0, &idc, data, 4096, 0, &tok), 0);
	check("identify-ctrl-done", wait_tok(tok), 0);
	check_n("identify-copied-vid", buf_kva(data)[0] | buf_kva(data)[1] << 8, 0x1b36);
	struct sqe rd = { .opc = 0x02, .nsid = 1, .cdw12 = 7 };
	check("io-before-queue-created", submit(1, &rd, data, 4096, 0, &tok), E_BUSY);
	check("identify-ns", submit(0, &idn, data, 4096, 0, &tok), 0);
	check("identify-ns-done", wait_tok(tok), 0);

	/* allow-lists: nothing of these reaches the device */
	struct sqe fmt = { .opc = 0x80, .nsid = 1 }, fw = { .opc = 0x11 };
	struct sqe feat = { .opc = 0x09, .cdw10 = 0x06 };	/* volatile write cache */
	struct sqe fused = { .opc = 0x06, .flags = 1, .cdw10 = 1 };
	struct ddf_audit_rec rec;
	uint64_t cursor = kddf_ledger()->audit->next, next, dropped;
	check("refuse-format-nvm", submit(0, &fmt, 0, 0, 0, &tok), E_PERM);
	check_n("refusal-audited", kddf_audit_read(cursor, &rec, 1, &next, &dropped) == 1 &&
	    rec.event == DDF_EV_REJECTED && rec.detail == DDF_OP_DMA_SUBMIT && rec.reason == E_PERM &&
	    rec.owner == OWN, 1);
	check("refuse-firmware", submit(0, &fw, 0, 0, 0, &tok), E_PERM);
	check("refuse-set-features-vwc", submit(0, &feat, 0, 0, 0, &tok), E_PERM);
	check("refuse-fused", submit(0, &fused, data, 4096, 0, &tok), E_INVAL);
	struct sqe cq = { .opc = 0x05, .cdw10 = (DEPTH - 1) << 16 | 1, .cdw11 = 3 };
	struct sqe sq = { .opc = 0x01, .cdw10 = (DEPTH - 1) << 16 | 1, .cdw11 = 1u << 16 | 1 };
	check("create-sq-before-cq", submit(0, &sq, iosq, DEPTH * 64, 0, &tok), E_INVAL);
	check("create-cq", submit(0, &cq, iocq, DEPTH * 16, 0, &tok), 0);
	check("create-cq-done", wait_tok(tok), 0);
	check("create-sq", submit(0, &sq, iosq, DEPTH * 64, 0, &tok), 0);
	check("create-sq-done", wait_tok(tok), 0);
	rd.nsid = 2;
	check("read-unidentified-ns", submit(1, &rd, data, 4096, 0, &tok), E_PERM);
	rd.nsid = 1;
	check("read-length-mismatch", submit(1, &rd, data, 2048, 0, &tok), E_RANGE);
	check("read-into-queue-memory", submit(1, &rd, iosq, 4096, 0, &tok), E_PERM);
	struct sqe rd3 = { .opc = 0x02, .nsid = 1, .cdw12 = 23 };	/* 3 pages: a list */
	ddf_handle big;
	check("alloc-big", kddf_dma_alloc(OWN, claim, 3 * 4096, 2, &big), 0);
	check("list-is-queue-memory", kddf_nvme_submit(OWN, claim_idx, 1, &rd3, sizeof rd3, big, 0,
	    3 * 4096, iosq, 0, &tok), E_PERM);
	check("read-with-list", kddf_nvme_submit(OWN, claim_idx, 1, &rd3, sizeof rd3, big, 0,
	    3 * 4096, list, 0, &tok), 0);
	check("read-with-list-done", wait_tok(tok), 0);
	struct sqe cq2 = { .opc = 0x05, .cdw10 = (DEPTH - 1) << 16 | 2, .cdw11 = 1 };
	check("list-as-queue-memory", submit(0, &cq2, list, DEPTH * 16, 0, &tok), E_PERM);
	check("live-queue-memory-again", submit(0, &cq2, iocq, DEPTH * 16, 0, &tok), E_BUSY);
	check("read", submit(1, &rd, data, 4096, 0, &tok), 0);
	check("read-done", wait_tok(tok), 0);
	check("collected-twice", wait_tok(tok), E_STALE);
	test_reap(data);

	/* a hostile device: entries the kernel must not act on */
	uint32_t b0 = kddf_nvme_bogus(claim_idx);
	forge_cqe(iocq, 1, 40, 1);	/* a CID not in flight, at the slot the device writes next */
	poll();
	check_n("bogus-cid-counted", kddf_nvme_bogus(claim_idx) - b0, 1);
	/* the device's next real entry lands behind the kernel's head now: lost, not misread */
	check("read2", submit(1, &rd, data, 4096, 0, &tok), 0);
	forge_cqe(iocq, 1, (uint16_t)tok, 3);	/* the in-flight CID, but another SQ */
	poll();
	check_n("wrong-sqid-counted", kddf_nvme_bogus(claim_idx) - b0, 2);
	uint16_t st;
	uint32_t dw0;
	check("wrong-sqid-not-completed", kddf_nvme_complete(OWN, claim_idx, tok, &st, &dw0), E_AGAIN);
	uint32_t b1 = kddf_nvme_bogus(claim_idx);
	volatile uint32_t *cqm = (volatile uint32_t *)buf_kva(iocq);
	uint16_t head;
	uint8_t phase;
	kddf_nvme_cq_head(claim_idx, 1, &head, &phase);
	for (uint32_t i = 0; i < DEPTH; i++) {	/* a whole queue of bogus entries, wrap included */
		uint32_t slot = (head + i) % DEPTH;
		uint8_t ph = head + i >= DEPTH ? phase ^ 1 : phase;
		cqm[slot * 4 + 2] = 1u << 16;
		cqm[slot * 4 + 3] = 50u | (uint32_t)ph << 16;
	}
	poll();
	check_n("flood-bounded-one-queue", kddf_nvme_bogus(claim_idx) - b1, DEPTH);
	check("flood-completed-nothing", kddf_nvme_complete(OWN, claim_idx, tok, &st, &dw0), E_AGAIN);

	/* Get/Set Features: Number of Queues only */
	struct sqe getnq = { .opc = 0x0a, .cdw10 = 0x07 }, getarb = { .opc = 0x0a, .cdw10 = 0x01 };
	check("get-features-queues", submit(0, &getnq, 0, 0, 0, &tok), 0);
	check("get-features-queues-done", wait_tok(tok), 0);
	check("refuse-get-features-arbitration", submit(0, &getarb, 0, 0, 0, &tok), E_PERM);
	/* Delete I/O queues: the SQ first (refused while a command is in flight
	 * on it), then the CQ; their memory is no longer device-visible after */
	ddf_handle cq3, sq3;
	struct sqe cq3c = { .opc = 0x05, .cdw10 = (DEPTH - 1) << 16 | 3, .cdw11 = 1 };
	struct sqe sq3c = { .opc = 0x01, .cdw10 = (DEPTH - 1) << 16 | 3, .cdw11 = 3u << 16 | 1 };
	struct sqe delsq = { .opc = 0x00, .cdw10 = 3 }, delcq = { .opc = 0x04, .cdw10 = 3 };
	check("alloc-q3", kddf_dma_alloc(OWN, claim, 4096, 2, &cq3) | kddf_dma_alloc(OWN, claim, 4096,
	    2, &sq3), 0);
	check("create-cq3", submit(0, &cq3c, cq3, DEPTH * 16, 0, &tok), 0);
	check("create-cq3-done", wait_tok(tok), 0);
	check("create-sq3", submit(0, &sq3c, sq3, DEPTH * 64, 0, &tok), 0);
	check("create-sq3-done", wait_tok(tok), 0);
	check("free-live-queue-memory", kddf_dma_free(OWN, sq3), E_BUSY);
	check("delete-cq-before-sq", submit(0, &delcq, 0, 0, 0, &tok), E_BUSY);
	check("delete-sq3", submit(0, &delsq, 0, 0, 0, &tok), 0);
	check("delete-sq3-done", wait_tok(tok), 0);
	check("delete-cq3", submit(0, &delcq, 0, 0, 0, &tok), 0);
	check("delete-cq3-done", wait_tok(tok), 0);
	check("free-deleted-queue-memory", kddf_dma_free(OWN, sq3) | kddf_dma_free(OWN, cq3), 0);
	check("io-on-deleted-queue", submit(3, &rd, data, 4096, 0, &tok), E_BUSY);

	/* disable: everything forgotten, tokens stale, holds released */
	uint64_t rtok;
	struct kddf_nvme_done rd1[1];
	check("read-before-disable", submit(1, &rd, data, 4096, 0, &rtok), 0);
	check("disable", kddf_nvme_disable(OWN, claim_idx, false), 0);
	check("stale-after-disable", wait_tok(tok), E_STALE);
	check("reap-after-disable", kddf_nvme_reap(OWN, claim_idx, 1, 1, rd1), E_BUSY);
	check("free-after-disable", kddf_dma_free(OWN, iocq), 0);
	check("submit-after-disable", submit(1, &rd, data, 4096, 0, &tok), E_BUSY);

	/* DeviceMmio.reset: the ordered teardown with reason reset (drain clears
	 * CC.EN); the claim stays, every buffer and token is gone, and the
	 * controller comes back with new buffers */
	ddf_handle win, nclaim, asq2, acq2, data2;
	check("grant-bar0", kddf_mmio_grant(OWN, claim, 0, 0, 0x4000, &win), 0);
	check("enable-again", kddf_nvme_enable(OWN, claim_idx, DEPTH, asq, acq), 0);
	check("ready-again", ready() ? 0 : E_TIMEOUT, 0);
	check("reap-forgotten-never-reported", kddf_nvme_reap(OWN, claim_idx, 1, 1, rd1), 0);
	check("stale-token-after-enable", wait_tok(rtok), E_STALE);
	check("identify-before-reset", submit(0, &idc, data, 4096, 0, &tok), 0);
	check("device-reset", kddf_mmio_reset(OWN, win, &nclaim), 0);
	check("stale-after-reset", wait_tok(tok), E_STALE);
	check("old-buffer-stale", kddf_dma_free(OWN, data), E_STALE);
	check_n("controller-disabled", kddf_nvme_csts(claim_idx) & 1u, 0);
	check("alloc-after-reset", kddf_dma_alloc(OWN, nclaim, 4096, 2, &asq2) |
	    kddf_dma_alloc(OWN, nclaim, 4096, 2, &acq2) | kddf_dma_alloc(OWN, nclaim, 4096, 2, &data2), 0);
	check("enable-after-reset", kddf_nvme_enable(OWN, claim_idx, DEPTH, asq2, acq2), 0);
	check("ready-after-reset", ready() ? 0 : E_TIMEOUT, 0);
	check("identify-after-reset", submit(0, &idc, data2, 4096, 0, &tok), 0);
	check("identify-after-reset-done", wait_tok(tok), 0);
	claim = nclaim;

	check("teardown", kddf_teardown(claim, DDF_TD_RELEASE), 0);
	kddf_print_ledger("nvme-end", &t, &fr);
	check_n("ledger-claims", t.claims, t0.claims);
	check_n("ledger-buffers", t.buffers, t0.buffers);
	check_n("ledger-inflight", t.inflight + t.completed + t.ring_holds, 0);
	check_n("free-frames-back", fr >= fr0 ? 0 : fr0 - fr, 0);
	return all_ok;
}

void
kddf_nvme_ktest_run(const char *name)
{
	if (strcmp(name, "nvme-broker"))
		return;
	bool ok = test_broker();
	kprintf("capos: test %s result=%s\n", name, ok ? "pass" : "fail");
	qemu_exit(!ok);
}
