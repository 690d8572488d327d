/*
 * NVMe driver core (brokered, no IOMMU). One admin queue pair and one I/O
 * queue pair, one command in flight per queue, every address written by the
 * environment (devenv.h): ASQ/ACQ through devenv_mmio_set_addr, PRP entries
 * and PRP lists through devenv_nvme_sqe. Data moves through one bounce DMA
 * buffer the driver copies into and out of.
 *
 * State machine: DOWN -> (reset, admin queues, enable, identify, I/O
 * queues) -> LIVE. A timeout, a controller fatal status (CSTS.CFS) or a
 * device that reads all-ones fails the request and takes the controller
 * through reset back to LIVE; if that fails it is DEAD and every request
 * fails with E_IO (no hang).
 */
#ifndef CAPOS_DRIVERS_NVME_H
#define CAPOS_DRIVERS_NVME_H

#include <stdint.h>

#include "../blkserv.h"
#include "../devenv.h"
#include "nvme_reg.h"

#define NVME_MAX_NS 8u                  /* namespaces served */
#define NVME_ADMIN_DEPTH 16u
#define NVME_IO_DEPTH 64u               /* capped by CAP.MQES + 1 */
#define NVME_MAX_XFER (256u * 1024u)    /* per command, capped by MDTS */
#define NVME_CMD_TIMEOUT_NS 5000000000ull

enum nvme_state { NVME_DOWN = 0, NVME_LIVE = 1, NVME_DEAD = 2 };
enum nvme_completion { NVME_POLL = 0, NVME_IRQ = 1 };

struct nvme_queue {
	struct devenv_dma sq, cq;
	uint16_t qid;
	uint16_t depth;
	uint16_t sq_tail;
	uint16_t cq_head;
	uint16_t next_cid;
	uint8_t phase;
	uint64_t outstanding;           /* bit per CID (depth <= 64) */
	uint16_t inflight;
};

struct nvme_ns {
	uint32_t nsid;
	uint64_t nsze;                  /* blocks */
	uint32_t lba_size;
	struct blkserv srv;
	struct nvme_ctrl *ctrl;
};

struct nvme_ctrl {
	struct devenv *env;
	enum nvme_state state;
	enum nvme_completion completion;
	uint64_t cap;
	uint32_t dstrd_bytes;           /* doorbell stride */
	uint64_t ready_timeout_ns;      /* CAP.TO */
	uint64_t cmd_timeout_ns;
	uint32_t max_xfer;              /* bytes per command */
	struct nvme_queue aq, ioq;
	struct devenv_dma data;         /* bounce buffer, NVME_MAX_XFER */
	struct devenv_dma prp_list;     /* one page */
	uint32_t nn;                    /* Identify NN */
	uint32_t nns;                   /* active namespaces served */
	struct nvme_ns ns[NVME_MAX_NS];
	char model[41];
	uint32_t resets, timeouts, fatals, bogus_cqe;
	int last_status;                /* last CQE status field (decoded by nvme_status_err) */
	int shutdown_err;               /* result of the CC.SHN shutdown in nvme_fini */
};

/* Bring the controller up (reset, admin queue, identify, I/O queue pair). */
int nvme_init(struct nvme_ctrl *c, struct devenv *env, enum nvme_completion mode);
/* Normal shutdown (CC.SHN, bounded by CAP.TO) when LIVE, then disable and
 * free every buffer. */
void nvme_fini(struct nvme_ctrl *c);
/* Controller reset, re-check of the served namespaces (changed -> E_CORRUPT)
 * and re-creation of the I/O queues; LIVE again on success, else DEAD. */
int nvme_reset(struct nvme_ctrl *c);

int nvme_read(struct nvme_ctrl *c, uint32_t ns, uint64_t lba, uint32_t count, void *buf);
int nvme_write(struct nvme_ctrl *c, uint32_t ns, uint64_t lba, uint32_t count, const void *buf);
int nvme_flush(struct nvme_ctrl *c, uint32_t ns);

/* Pure validators (host-tested, fuzzed). */
/* 0 and NN, MDTS (log2 of 4 KiB units, 0 = no limit), model text;
 * E_NOTSUP when 64/16-byte queue entries are not supported. */
int nvme_parse_id_ctrl(const uint8_t *id, uint32_t *nn, uint32_t *mdts_log, char model[41]);
/* 0 and the size and LBA size for a usable namespace; E_NOENT when inactive
 * (NSZE 0); E_NOTSUP for metadata formats; E_CORRUPT for bad fields. */
int nvme_parse_id_ns(const uint8_t *id, uint64_t *nsze, uint32_t *lba_size);
/* 0 for success; E_RANGE (LBA out of range), E_INVAL (invalid field or
 * opcode), E_IO otherwise. */
int nvme_status_err(uint16_t status);

#endif
