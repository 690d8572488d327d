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
 * Message bound: a ring message is at most RING_MAX_MSG (64 KiB) including
 * its framing, so BlockInfo.maxTransferBlocks is clamped to what one message
 * carries (BLKPROC_MAX_DATA, 60 KiB); a larger transfer is several calls.
 */
#ifndef CAPOS_DRIVERS_BLKPROC_H
#define CAPOS_DRIVERS_BLKPROC_H

#include <stdint.h>

#include "blkserv.h"

#define BLKPROC_MAX_EXPORTS 4u
#define BLKPROC_MAX_DATA (60u * 1024u)  /* payload bytes per message (read or write) */

struct blkproc_export {
	const char *name;               /* raw endpoint bootstrap name ("disk", "disk2") */
	struct blkserv *srv;
};

/* Clamp srv's maxTransferBlocks to one message (call once before serving). */
void blkproc_prepare(struct blkserv *srv);

/*
 * One request: `method` with its params message params[0..plen). Writes the
 * framed result message into res (capacity *rlen, set to its length) and
 * returns 0, or returns ExceptionType + 1 for a call that is not a
 * BlockDevice call at all (unknown method: unimplemented; a params message
 * that does not decode: invalidArgument). Every domain failure (bounds,
 * length, read-only, I/O) is a BlockError in the result union.
 */
int blkproc_handle(struct blkserv *srv, uint16_t method, const void *params, uint32_t plen,
    void *res, uint32_t *rlen);

/*
 * Serve the exports until every endpoint is gone (returns E_DISCONNECTED)
 * or a ring error (< 0). Prints `blk: serving NAME blocks=N bs=B` per export.
 */
int blkproc_serve(struct blkproc_export *e, unsigned n);

/*
 * Refuse a disk that carries a capOS boot image: an ISO 9660 primary volume
 * descriptor at byte 32768 whose volume id starts with BLKPROC_BOOT_VOLID
 * (scripts/mkimage.sh stamps it). E_PERM for such a disk, 0 for another
 * disk (also one too small to hold the descriptor), the read error else.
 */
#define BLKPROC_BOOT_VOLID "CAPOS_BOOT"
int blkproc_check_disk(struct blkserv *srv);

#endif
