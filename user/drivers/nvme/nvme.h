/*
 * NVMe driver core (brokered, no IOMMU). One admin queue pair and one I/O
 * queue pair. The environment (devenv.h; over caps: the kernel's NVMe
 * broker) owns the queue protocol: the driver builds 64-byte commands and
 * names data as (DMA handle, offset); the environment writes CID, PRPs,
 * queue entries, doorbells and CC/AQA/ASQ/ACQ, parses completions and hands
 * back (token, status, DW0) for every finished command of a queue in one
 * call (devenv_nvme_reap). The driver writes no register. Synchronous
 * commands move data through one bounce DMA buffer the driver copies into
 * and out of; asynchronous requests name their data inside the caller's
 * DMA region (nvme_async_init) and are never copied.
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
/* Per command, capped by MDTS. The kernel maps a driver's DMA buffers into
 * one 32 MiB range (KDDF_USER_PAGES, 8192 pages, BAR 0's 4 included): this
 * synchronous bounce buffer (32 pages), the driver process's 14 async
 * message buffers (463 pages, main.c) and its window area (256 pages) take
 * 751 of them. */
#define NVME_MAX_XFER (128u * 1024u)
#define NVME_CMD_TIMEOUT_NS 5000000000ull

enum nvme_state { NVME_DOWN = 0, NVME_LIVE = 1, NVME_DEAD = 2 };
enum nvme_completion { NVME_POLL = 0, NVME_IRQ = 1 };

struct nvme_queue {
	devenv_dma_t sq, cq;            /* queue memory: never mapped, the environment's */
	uint16_t qid;
	uint16_t depth;
	uint16_t inflight;              /* submitted, not yet collected */
};

struct nvme_ns {
	uint32_t nsid;
	uint64_t nsze;                  /* blocks */
	uint32_t lba_size;
	struct blkserv srv;
	struct nvme_ctrl *ctrl;
};

/*
 * Asynchronous I/O (queue depth > 1): up to `slots` requests outstanding on
 * the I/O queue, each with its PRP-list page and the token of its command.
 * A request's data is not copied: its buffer must lie inside the one DMA
 * region the caller asked nvme_async_init for (`as.mem`; the driver process
 * puts its BlockDevice message buffers there), dword-aligned (PRP1 may
 * carry an offset; the kernel writes the PRPs and the list). Synchronous
 * commands can be outstanding at the same time; every wait also collects
 * finished slots.
 */
#define NVME_ASYNC_MAX 32u
#define NVME_SLOT_XFER (128u * 1024u)   /* data per request, at most (>= BLKPROC_MAX_DATA, checked in main.c) */

struct nvme_req {
	uint32_t ns;            /* index into ctrl->ns */
	uint8_t opc;            /* NVME_CMD_READ / WRITE / FLUSH */
	uint64_t lba;
	uint32_t count;
	void *buf;              /* write: source; read: destination (async: inside as.mem) */
	int status;             /* once done: 0 or a negative code */
	int done;
};

struct nvme_async {
	uint16_t slots;         /* 0: asynchronous I/O not enabled */
	struct devenv_dma mem;  /* the requests' data lives here (the caller's layout) */
	devenv_dma_t lists;     /* slots x one PRP-list page (never mapped) */
	struct nvme_req *req[NVME_ASYNC_MAX];
	uint64_t token[NVME_ASYNC_MAX];
	uint64_t deadline[NVME_ASYNC_MAX];
	uint32_t completed;     /* finished by the last reaps */
};

struct nvme_ctrl {
	struct devenv *env;
	enum nvme_state state;
	enum nvme_completion completion;
	uint64_t cap;
	uint64_t ready_timeout_ns;      /* CAP.TO */
	uint64_t cmd_timeout_ns;
	uint64_t irq_spin_ns;           /* IRQ mode: keep collecting this long before waiting (0: wait at once) */
	uint32_t max_xfer;              /* bytes per command */
	struct nvme_queue aq, ioq;
	struct devenv_dma data;         /* bounce buffer, NVME_MAX_XFER */
	devenv_dma_t prp_list;          /* one page, never mapped: the environment writes it */
	uint32_t nn;                    /* Identify NN */
	uint32_t nns;                   /* active namespaces served */
	struct nvme_ns ns[NVME_MAX_NS];
	char model[41];
	uint32_t resets, timeouts, fatals;
	uint32_t claim_resets;          /* disables whose RDY never dropped: the environment
					 * reset the claim, every DMA buffer is revoked */
	uint64_t csts_next_ns;          /* spinning: next CSTS check (controller_failed) */
	uint32_t reaps;                 /* devenv_nvme_reap calls (one per collection pass) */
	uint32_t stray;                 /* reaped tokens that named nothing outstanding (dropped) */
	int last_status;                /* last CQE status field (decoded by nvme_status_err) */
	int shutdown_err;               /* result of the normal shutdown in nvme_fini */
	struct nvme_async as;
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

/* Enable asynchronous I/O with `slots` (1..NVME_ASYNC_MAX, at most the I/O
 * queue depth - 2) slots and `mem_bytes` (> 0) of mapped DMA memory for the
 * requests' data, at c->as.mem.cpu; the caller lays its buffers out in it. */
int nvme_async_init(struct nvme_ctrl *c, uint16_t slots, uint64_t mem_bytes);
/* Queue one request; E_AGAIN when every slot is busy. Checked like the
 * synchronous calls (E_NOENT, E_INVAL, E_RANGE; E_INVAL too for data not
 * wholly inside as.mem or not dword-aligned); on success the request is in
 * flight until a poll (or any synchronous wait) finishes it: check `done`;
 * the device reads or writes r->buf meanwhile. On an error return the
 * request is not in flight. */
int nvme_submit(struct nvme_ctrl *c, struct nvme_req *r);
/* Reap completions, waiting up to timeout_ns for at least one. Returns the
 * number of requests finished during the call (each has done = 1 and its
 * status), 0 when none finished in time or none is outstanding. A request past its deadline or a fatal controller
 * finishes every outstanding request with an error (E_TIMEOUT / E_IO) and
 * resets the controller; that is reported as a count, not an error. */
int nvme_poll(struct nvme_ctrl *c, uint64_t timeout_ns);
uint32_t nvme_async_pending(const struct nvme_ctrl *c);

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
