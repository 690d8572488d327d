/*
 * HardwareAuditLog ring (ddf_audit.h). Record seq lives in slot seq % cap, so
 * the ring never needs a separate head: the oldest held record is
 * next - min(next, cap).
 */
#include "ddf/ddf_audit.h"

#include "base/err.h"
#include "base/mem.h"
#include "fmt/fmt.h"

void
ddf_audit_init(struct ddf_audit *a, struct ddf_audit_rec *recs, uint32_t cap)
{
	a->recs = recs;
	a->cap = cap;
	a->next = 0;
	memset(recs, 0, (size_t)cap * sizeof *recs);
}

uint64_t
ddf_audit_append(struct ddf_audit *a, const struct ddf_audit_rec *r)
{
	uint64_t seq = a->next++;
	struct ddf_audit_rec *d = &a->recs[seq % a->cap];

	*d = *r;
	d->seq = seq;
	return seq;
}

uint64_t
ddf_audit_oldest(const struct ddf_audit *a)
{
	return a->next > a->cap ? a->next - a->cap : 0;
}

int
ddf_audit_read(const struct ddf_audit *a, uint64_t cursor, struct ddf_audit_rec *out,
    uint32_t max, uint64_t *next, uint64_t *dropped)
{
	uint64_t oldest = ddf_audit_oldest(a);
	uint32_t n = 0;

	if (cursor > a->next)
		return E_RANGE;
	*dropped = cursor < oldest ? oldest - cursor : 0;
	if (cursor < oldest)
		cursor = oldest;
	while (n < max && cursor < a->next) {
		out[n++] = a->recs[cursor % a->cap];
		cursor++;
	}
	*next = cursor;
	return (int)n;
}

uint8_t
ddf_device_error(int err)
{
	switch (err) {
	case E_STALE: return DDF_DE_STALE;
	case E_RANGE: return DDF_DE_OUT_OF_RANGE;
	case E_PERM: return DDF_DE_NOT_PERMITTED;
	case E_LIMIT: case E_NOSPC: case E_NOMEM: return DDF_DE_BUDGET_EXHAUSTED;
	case E_BUSY: case E_AGAIN: return DDF_DE_BUSY;
	case E_DISCONNECTED: return DDF_DE_REVOKED;
	default: return DDF_DE_INVALID;   /* E_INVAL, E_BADF, E_NOTSUP, E_EXIST, E_NOENT, ... */
	}
}

static const char *const ev_names[DDF_EV_COUNT] = {
	"claim", "release", "mmio-map", "mmio-unmap", "irq-route", "irq-drop",
	"dma-alloc", "dma-free", "reset", "teardown", "rejected", "grant", "submit", "complete",
	"share-map", "share-orphan",
};

const char *
ddf_event_name(uint8_t event)
{
	return event < DDF_EV_COUNT ? ev_names[event] : "unknown";
}

static const char *const op_names[DDF_OP_COUNT] = {
	"none", "claim", "teardown", "bus-master", "queue", "mmio-grant", "mmio-map",
	"mmio-unmap", "mmio-release", "read32", "write32", "brokered-addr", "irq-route",
	"irq-fire", "irq-wait", "irq-ack", "irq-mask", "irq-release", "dma-alloc", "dma-map",
	"dma-free", "dma-submit", "dma-done", "dma-complete", "share", "share-map", "share-unmap",
};

const char *
ddf_op_name(uint8_t op)
{
	return op < DDF_OP_COUNT ? op_names[op] : "unknown";
}

int
ddf_fmt_audit(const struct ddf_audit_rec *r, char *buf, size_t size)
{
	if (r->event == DDF_EV_REJECTED)
		return fmt_snprintf(buf, size,
		    "#%llu t=%llu %04x:%02x:%02x.%x owner=%u rejected op=%s reason=%s gen=%u\n",
		    (unsigned long long)r->seq, (unsigned long long)r->time_ns,
		    r->addr.segment, r->addr.bus, r->addr.device, r->addr.function, r->owner,
		    ddf_op_name((uint8_t)r->detail), err_name(r->reason), r->generation);
	return fmt_snprintf(buf, size,
	    "#%llu t=%llu %04x:%02x:%02x.%x owner=%u %s gen=%u detail=%llu\n",
	    (unsigned long long)r->seq, (unsigned long long)r->time_ns,
	    r->addr.segment, r->addr.bus, r->addr.device, r->addr.function, r->owner,
	    ddf_event_name(r->event), r->generation, (unsigned long long)r->detail);
}
