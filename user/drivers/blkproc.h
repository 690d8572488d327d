/*
 * BlockDevice (schema/block.capnp) served by a driver process over raw
 * endpoints: the capnp glue around the blkserv core (blkserv.h). docs/drivers.md
 * "BlockDevice over endpoints".
 *
 * blkproc_handle is pure (no runtime, host-tested and fuzzed): it decodes one
 * request, has blkserv check it completely, calls the driver, and encodes the
 * BlockReadResult / BlockResult / BlockInfo answer. blkproc_serve (the
 * runtime loop, blkproc_serve.c) keeps one RECV posted per export and
 * answers requests one at a time in arrival order.
 *
 * Message bound: BlockInfo.maxTransferBlocks is clamped to what one message
 * carries (BLKPROC_MAX_DATA); a request or answer message is at most
 * BLKPROC_MSG_MAX bytes with its framing, within the ring's RING_MAX_MSG.
 * A larger transfer is several calls.
 */
#ifndef CAPOS_DRIVERS_BLKPROC_H
#define CAPOS_DRIVERS_BLKPROC_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/ring.h"
#include "capnp/capnp.h"
#include "blkserv.h"

#define BLKPROC_MAX_EXPORTS 4u
#define BLKPROC_MAX_DATA (128u * 1024u) /* payload bytes per message (read or write) */
#define BLKPROC_MSG_MAX (BLKPROC_MAX_DATA + 4096u)     /* one message with its framing */
_Static_assert(BLKPROC_MSG_MAX <= RING_MAX_MSG, "a BlockDevice message fits one ring message");
/* A readBlocks answer's data starts this many bytes into its message (the
 * segment table, the root pointer, the results struct, the union struct and
 * its list pointer): a driver that wants the data page-aligned in its DMA
 * memory places the message buffer at (page - BLKPROC_READ_DATA_OFF). */
#define BLKPROC_READ_DATA_OFF 40u

/*
 * Message buffers. Each export (blkproc_serve) and each slot
 * (blkproc_serve_async) has one buffer of BLKPROC_MSG_MAX bytes, 8-aligned:
 * the request is received into it and its answer is built in it, in place.
 * A write's io.buf points at the data inside the received request; a read's
 * io.buf is the answer's Data field (buf + BLKPROC_READ_DATA_OFF), which the
 * answer is sent from as it stands. A driver that gives blkproc buffers in
 * its DMA memory (blkproc_serve_bufs, slot.buf) lets the device read a
 * write's data and write a read's data there: no copy between messages and
 * DMA memory. Without, blkproc uses its own (ordinary) memory.
 */
struct blkproc_export {
	const char *name;               /* raw endpoint bootstrap name ("disk", "disk2") */
	struct blkserv *srv;
};

/* What the driver must do for a request that passed every check. */
enum blkproc_io_op { BLKPROC_IO_NONE = 0, BLKPROC_IO_READ, BLKPROC_IO_WRITE, BLKPROC_IO_FLUSH };

struct blkproc_io {
	enum blkproc_io_op op;
	uint64_t lba;
	uint32_t count;
	void *buf;              /* read: count x blockSize bytes to fill; write: the data */
};

/*
 * Windows (BlockDevice.openWindow, docs/drivers.md "Windows"): a driver
 * reserves an area of its DMA memory; each window is a page-aligned part of
 * it shared with one client (a DmaWindow) together with a session cap, the
 * export's endpoint minted with a badge naming the window: (index + 1) |
 * generation << 8. readAt/writeAt arriving with that badge move data
 * between the device and the window; the driver never touches the data.
 */
#define BLKPROC_WINDOWS 8u
#define BLKPROC_AREA_BYTES (1024u * 1024u)      /* a driver's area: windows of up to 1 MiB */

struct blkproc_window {
	uint32_t off, bytes;            /* in the area, page multiples */
	uint16_t gen;                   /* bumped at each reuse of the slot (never 0) */
	uint8_t live, ex;               /* ex: the export it was opened on */
	capid_t cap;                    /* the driver's copy of its DmaWindow */
};

struct blkproc_area {
	uint8_t *cpu;                   /* the area in the driver (page-aligned) */
	uint32_t bytes;                 /* 0: no windows (openWindow refused) */
	/* runtime: share [off, off + len) of the area as a DmaWindow cap */
	int (*share)(void *drv, uint32_t off, uint32_t len, capid_t *out);
	void *drv;
	struct blkproc_window w[BLKPROC_WINDOWS];
	uint32_t opened, reclaimed;     /* windows, ever */
};

/* One request and its answer being built (in the caller's result buffer):
 * in the asynchronous mode one per request in flight. The serving loop sets
 * area, badge and ex before blkproc_begin (no area: no windows). */
struct blkproc_req {
	struct capnp_builder bld;
	struct blkproc_io io;
	uint16_t method;
	const struct blkproc_area *area;
	uint32_t badge;                 /* of the cap the call came through */
	uint8_t ex;                     /* the export it came in on */
};

/* Where [offset, offset + bytes) of the window a request's badge names
 * lies in the driver: E_NOENT no live window of this export (noWindow),
 * E_RANGE not wholly inside it. */
int blkproc_window_buf(const struct blkproc_area *a, uint32_t badge, uint8_t ex, uint32_t offset,
    uint64_t bytes, void **buf);
/* A free place for a window of `bytes` (page multiple, nonzero): its slot
 * and offset in the area; E_INVAL for a size the area can never hold,
 * E_NOSPC when no slot or no gap is free now. */
int blkproc_window_place(const struct blkproc_area *a, uint32_t bytes, unsigned *slot,
    uint32_t *off);
/* Whether a request begun in slot[0..nslots) and not finished has its data in
 * window i (the device may still write there: the window is not reclaimed). */
struct blkproc_slot;
bool blkproc_window_busy(const struct blkproc_area *a, unsigned i,
    const struct blkproc_slot *slot, unsigned nslots);
/* The badge of live window slot i. */
uint32_t blkproc_window_badge(const struct blkproc_area *a, unsigned i);
/* openWindow's answer in res: err 0 (caps: memory 0, session 1; `bytes`)
 * or the BlockError for err (E_INVAL badLength, else noWindow). */
int blkproc_window_answer(struct blkproc_req *q, int err, uint32_t bytes, void *res,
    uint32_t *rlen);

/* Clamp srv's maxTransferBlocks to one message (call once before serving). */
void blkproc_prepare(struct blkserv *srv);
/* Clamp it further to `bytes` per request (a driver's per-request room). */
void blkproc_clamp(struct blkserv *srv, uint32_t bytes);

/*
 * One request: `method` with its params message params[0..plen). Builds the
 * framed result message in res (8-aligned, capacity *rlen, set to its
 * length; res may be params itself, see "Message buffers") and
 * returns 0, or returns ExceptionType + 1 for a call that is not a
 * BlockDevice call at all (unknown method: unimplemented; a params message
 * that does not decode: invalidArgument). Every domain failure (bounds,
 * length, read-only, I/O) is a BlockError in the result union.
 */
int blkproc_handle(struct blkserv *srv, uint16_t method, const void *params, uint32_t plen,
    void *res, uint32_t *rlen);

/*
 * The same request in two steps (asynchronous serving). blkproc_begin
 * decodes and checks it exactly as blkproc_handle does; it returns an
 * exception (ExceptionType + 1) or 0 with the answer already in res (info,
 * and every request a check refused), or BLKPROC_PENDING with q->io naming
 * what the driver must do. q, res (a read's answer and data buffer) and
 * the params (a write's data) must stay untouched until
 * blkproc_finish(q, err, res, rlen) with the same res, which completes the
 * answer for the driver's result err (0 or a negative code, mapped as
 * blkserv_block_error does) in res and returns as blkproc_handle does
 * (E_INVAL: nothing pending, or a read finished in another buffer).
 */
#define BLKPROC_PENDING 0x10000
#define BLKPROC_OPEN_WINDOW 0x10001     /* openWindow: q->io.count is the page-rounded size */
int blkproc_begin(struct blkproc_req *q, struct blkserv *srv, uint16_t method, const void *params,
    uint32_t plen, void *res, uint32_t *rlen);
int blkproc_finish(struct blkproc_req *q, int err, void *res, uint32_t *rlen);

/*
 * Serve the exports until every endpoint is gone (returns E_DISCONNECTED)
 * or a ring error (< 0). Prints `blk: serving NAME blocks=N bs=B` per export.
 * blkproc_serve_bufs: export i's message buffer is bufs[i] (BLKPROC_MSG_MAX
 * bytes, 8-aligned; E_INVAL else); blkproc_serve uses its own.
 */
int blkproc_serve(struct blkproc_export *e, unsigned n);
int blkproc_serve_bufs(struct blkproc_export *e, unsigned n, uint8_t *const *bufs);

/*
 * Asynchronous serving (queue depth > 1): up to nslots requests received
 * at once, each handed to the driver as soon as it passed the checks and
 * answered as its completion arrives, in any order. Slot i serves export
 * i % n; its RECV is posted again once its answer is returned. The caller
 * provides the slots; a slot's message buffer is slot.buf if set (e.g. in
 * DMA memory), else its own `in`. At most BLKPROC_ASYNC_MAX: each slot
 * holds a posted RECV and, until reaped, a RETURN's completion, within the
 * kernel's 32 operations per process. slot.max_bytes, when set, is the
 * data one request in that slot may carry (the driver's room for it); each
 * export's maxTransferBlocks is clamped to the least set one (0: no further
 * clamp than the driver's own maxTransferBlocks and BLKPROC_MAX_DATA).
 */
#define BLKPROC_ASYNC_MAX 14u
_Static_assert(BLKPROC_WINDOWS < 255u, "a window slot fits the badge's low byte");

struct blkproc_slot {
	uint8_t *buf;                   /* BLKPROC_MSG_MAX bytes, 8-aligned, or NULL: `in` */
	uint32_t max_bytes;             /* 0: BLKPROC_MAX_DATA */
	uint8_t in[BLKPROC_MSG_MAX] __attribute__((aligned(8)));
	struct blkproc_req req;
	uint32_t token;         /* of the call in service */
	uint8_t ex, state;
	int err;
};

struct blkproc_async_ops {
	/* Start tag's io on srv: 0 (in flight until poll reports tag), E_AGAIN
	 * (nothing started; offered again after a completion), or an error
	 * (nothing started; the request fails with it). */
	int (*submit)(void *drv, struct blkserv *srv, unsigned tag, const struct blkproc_io *io);
	/* Finished requests: up to max (tag, result) pairs; may wait for one
	 * when `wait` is set (nothing else to do). Returns the count. */
	int (*poll)(void *drv, int wait, unsigned *tags, int *errs, unsigned max);
};

/* area: the driver's window area (NULL: openWindow answers noWindow). */
int blkproc_serve_async(struct blkproc_export *e, unsigned n, struct blkproc_slot *slot,
    unsigned nslots, const struct blkproc_async_ops *ops, void *drv, struct blkproc_area *area);

/*
 * Refuse a disk that carries a capOS boot image: an ISO 9660 primary volume
 * descriptor at byte 32768 whose volume id starts with BLKPROC_BOOT_VOLID
 * (scripts/mkimage.sh stamps it). E_PERM for such a disk, 0 for another
 * disk (also one too small to hold the descriptor), the read error else.
 */
#define BLKPROC_BOOT_VOLID "CAPOS_BOOT"
int blkproc_check_disk(struct blkserv *srv);

#endif
