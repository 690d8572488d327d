/*
 * TEST FIXTURE: an NVMe controller model over RAM-disk namespaces. It walks
 * the admin and I/O submission queues in fake_env DMA memory when a
 * doorbell is written (or on a tick, with `defer`), follows PRP1/PRP2 and
 * PRP lists page by page, and posts completions with the phase tag. Strict:
 * a malformed command is counted in `errors` (tests expect 0).
 */
#ifndef CAPOS_TESTS_NVME_MODEL_H
#define CAPOS_TESTS_NVME_MODEL_H

#include <stdint.h>

#include "fake_env.h"

#define NVME_MODEL_MAX_NS 4

struct nvme_model_q {
	uint64_t base;
	uint16_t size;
	uint16_t head;          /* SQ: next to fetch; CQ: driver's head */
	uint16_t tail;
	uint8_t phase;          /* CQ */
	int ien;                /* CQ */
	int live;
};

struct nvme_model_ns {
	uint64_t nsze;
	uint32_t lbads;
	uint16_t ms;            /* metadata size of the format (knob) */
	uint8_t *data;
};

struct nvme_model {
	struct devenv *env;
	uint64_t cap;
	uint32_t cc, csts, aqa;
	uint64_t asq, acq;
	struct nvme_model_q sq[2], cq[2];
	uint32_t nn;
	struct nvme_model_ns ns[NVME_MODEL_MAX_NS];
	uint8_t mdts;
	uint8_t sqes, cqes;
	/* fault knobs */
	int never_ready;        /* CSTS.RDY never rises */
	int fatal_after;        /* > 0: CFS after this many more I/O commands */
	int drop;               /* swallow this many completions */
	int bogus_cid;          /* next completion carries a CID never issued */
	int extra_bogus;        /* post a bogus entry before the next real one */
	int wrong_phase;        /* next completion is written with the old phase */
	int defer;              /* process on tick, not on the doorbell */
	int absent;             /* all registers read all-ones */
	int shutdown_stuck;     /* CSTS.SHST never reports done */
	int stuck_ready;        /* CSTS.RDY stays 1 after CC.EN is cleared */
	void (*mutate)(void *ctx, int what, uint8_t *buf, unsigned len);
	void *mutate_ctx;       /* fuzzing: rewrite identify data / CQEs */
	/* counters */
	uint32_t reads, writes, flushes, resets, errors, prp_lists, pending;
	uint32_t io_cmds, shutdowns;
	uint32_t csts_reads;
};

struct nvme_model *nvme_model_new(unsigned nns, const uint64_t *nsze, const uint32_t *lbads);
void nvme_model_free(struct nvme_model *m);
extern const struct fake_dev_ops nvme_model_ops;

#define NVME_MUT_ID_CTRL 1
#define NVME_MUT_ID_NS 2
#define NVME_MUT_CQE 3

#endif
