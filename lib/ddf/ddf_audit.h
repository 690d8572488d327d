/*
 * HardwareAuditLog (schema/device.capnp): a bounded ring of fixed-size
 * records with a monotonically increasing sequence number. When the ring is
 * full the oldest record is overwritten; a reader holding a cursor learns how
 * many records it missed. Snapshots are cursorable: read from cursor N, get
 * the next cursor. The caller provides the record array.
 */
#ifndef CAPOS_DDF_AUDIT_H
#define CAPOS_DDF_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "ddf/ddf_types.h"

/* Values equal schema/device.capnp AuditEvent ordinals. */
enum ddf_event {
	DDF_EV_CLAIM = 0,
	DDF_EV_RELEASE = 1,
	DDF_EV_MMIO_MAP = 2,
	DDF_EV_MMIO_UNMAP = 3,
	DDF_EV_IRQ_ROUTE = 4,
	DDF_EV_IRQ_DROP = 5,
	DDF_EV_DMA_ALLOC = 6,
	DDF_EV_DMA_FREE = 7,
	DDF_EV_RESET = 8,
	DDF_EV_TEARDOWN = 9,
	DDF_EV_REJECTED = 10,
	DDF_EV_GRANT = 11,       /* an MMIO window granted */
	DDF_EV_SUBMIT = 12,
	DDF_EV_COMPLETE = 13,
	DDF_EV_SHARE_MAP = 14,   /* a DmaWindow mapped into its holder (detail: holder pid) */
	DDF_EV_SHARE_ORPHAN = 15,/* a mapped DmaWindow's pages left to its holder (detail: bytes) */
	DDF_EV_COUNT = 16,
};

/* What a rejected request was (the `detail` of a DDF_EV_REJECTED record). */
enum ddf_op {
	DDF_OP_CLAIM = 1, DDF_OP_TEARDOWN, DDF_OP_BUSMASTER, DDF_OP_QUEUE,
	DDF_OP_MMIO_GRANT, DDF_OP_MMIO_MAP, DDF_OP_MMIO_UNMAP, DDF_OP_MMIO_RELEASE,
	DDF_OP_READ32, DDF_OP_WRITE32, DDF_OP_BROKERED,
	DDF_OP_IRQ_ROUTE, DDF_OP_IRQ_FIRE, DDF_OP_IRQ_WAIT, DDF_OP_IRQ_ACK, DDF_OP_IRQ_MASK,
	DDF_OP_IRQ_RELEASE,
	DDF_OP_DMA_ALLOC, DDF_OP_DMA_MAP, DDF_OP_DMA_FREE, DDF_OP_DMA_SUBMIT, DDF_OP_DMA_DONE,
	DDF_OP_DMA_COMPLETE, DDF_OP_SHARE, DDF_OP_SHARE_MAP, DDF_OP_SHARE_UNMAP,
	DDF_OP_COUNT,
};

struct ddf_audit_rec {
	uint64_t seq;
	uint64_t time_ns;
	uint64_t detail;         /* event specific: bytes, offset, or enum ddf_op when rejected */
	uint32_t generation;
	uint32_t owner;
	struct ddf_pci_addr addr;
	uint8_t event;           /* enum ddf_event */
	int8_t reason;           /* 0, or the error code of a rejection */
	uint8_t pad[2];
};
_Static_assert(sizeof(struct ddf_audit_rec) == 48, "audit record layout");

struct ddf_audit {
	struct ddf_audit_rec *recs;
	uint32_t cap;            /* records in recs; > 0 */
	uint64_t next;           /* sequence number of the next record */
};

void ddf_audit_init(struct ddf_audit *a, struct ddf_audit_rec *recs, uint32_t cap);
/* Append; r->seq is assigned. Returns the sequence number. */
uint64_t ddf_audit_append(struct ddf_audit *a, const struct ddf_audit_rec *r);

/* Sequence number of the oldest record still held. */
uint64_t ddf_audit_oldest(const struct ddf_audit *a);

/*
 * Copy up to max records starting at sequence `cursor` into out. *next is
 * the cursor for the following call; *dropped counts records before the
 * oldest held one that the cursor asked for (overwritten). A cursor past
 * the end is refused (E_RANGE). Returns the number copied.
 */
int ddf_audit_read(const struct ddf_audit *a, uint64_t cursor, struct ddf_audit_rec *out,
    uint32_t max, uint64_t *next, uint64_t *dropped);

/* schema/device.capnp DeviceError ordinals */
enum ddf_device_error {
	DDF_DE_STALE = 0, DDF_DE_OUT_OF_RANGE = 1, DDF_DE_UNALIGNED = 2, DDF_DE_NOT_PERMITTED = 3,
	DDF_DE_BUDGET_EXHAUSTED = 4, DDF_DE_BUSY = 5, DDF_DE_REVOKED = 6, DDF_DE_NOT_MAPPED = 7,
	DDF_DE_INVALID = 8,
};
/*
 * The DeviceError a cap method returns for a ledger error code. The ledger
 * reports misalignment as E_INVAL, so `unaligned` is never produced; a
 * handle of a torn-down claim is E_STALE (stale), never `revoked`, which the
 * kernel uses for waiters failed by a route drop.
 */
uint8_t ddf_device_error(int err);

const char *ddf_event_name(uint8_t event);
const char *ddf_op_name(uint8_t op);
/* One line for the console's `logs` command (snprintf return rules). */
int ddf_fmt_audit(const struct ddf_audit_rec *r, char *buf, size_t size);

#endif
