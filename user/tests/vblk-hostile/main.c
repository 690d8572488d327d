/*
 * vblk-hostile: a TEST PROGRAM (not a driver) holding the caps of a modern
 * virtio-blk function (DeviceMmio of the common-configuration BAR, DMAPool,
 * Console). It makes the queue-programming mistakes a buggy or hostile
 * driver could make, through the caps binding, and checks the kernel's
 * modern virtio format refuses each with the right error and nothing
 * reaches the device out of order (docs/device-manager.md "virtio formats").
 * Markers: `vblk-hostile: CHECK result=pass|fail k=v ...`, then
 * `vblk-hostile: done failures=N`. tests/system/test_vblk.py.
 */
#include "capos.h"
#include "schema/device.capnp.h"

#include "../../drivers/capenv.h"
#include "../../drivers/virtio/virtio.h"
#include "../../drivers/virtio/virtio_reg.h"

#define QS 64u
#define DMA_BATCH_TOO_MANY 65u  /* DMABuffer.completeBatch takes at most 64 */

static struct devenv env;
static struct vio_caps vc;
static int failures;

#define CHECK(tname, cond, fmt, ...) do {					\
	bool ok_ = (cond);							\
	if (!ok_)								\
		failures++;							\
	rt_print("vblk-hostile: %s result=%s " fmt, tname, ok_ ? "pass" : "fail",	\
		 ##__VA_ARGS__);							\
} while (0)

static int
common_wr(uint32_t reg, unsigned w, uint32_t v)
{
	return devenv_mmio_write(&env, vc.common.bar, (uint64_t)vc.common.off + reg, w, v);
}

static int
set_addr(uint32_t reg, devenv_dma_t h, uint64_t off)
{
	return devenv_mmio_set_addr(&env, vc.common.bar, (uint64_t)vc.common.off + reg, h, off);
}

/* DMABuffer.map of a handle: 0 when mapped, else the code. */
static int
map_buffer(devenv_dma_t h)
{
	struct capnp_struct root;
	MapResult_R r;
	DMABuffer_map_Params_B p;
	DMABuffer_map_Params_init_root(rt_msg_begin(), &p);
	int e = capenv_call(capenv_dma_cap(&env, h), DMABuffer_map_ORDINAL, NULL, 0, &root);
	if (e < 0 || (e = capenv_result(&root, &r.s)) < 0)
		return e;
	return MapResult_which(r) == MapResult_which_mapping ? 0 :
	    capenv_device_error(MapResult_get_error(r));
}

/* One descriptor through DMABuffer.submitDescriptor: 0 or the code (*token on success). */
static uint64_t last_token;

static int
submit_d(devenv_dma_t h, uint16_t slot, uint16_t flags, uint16_t next, bool deferred)
{
	struct capnp_struct root;
	DmaSubmitResult_R r;
	DMABuffer_submitDescriptor_Params_B p;
	DmaDescriptor_B d;
	DMABuffer_submitDescriptor_Params_init_root(rt_msg_begin(), &p);
	DMABuffer_submitDescriptor_Params_init_descriptor(p, &d);
	DmaDescriptor_set_slot(d, slot);
	DmaDescriptor_set_length(d, 16);
	DmaDescriptor_set_flags(d, flags);
	DmaDescriptor_set_next(d, next);
	DmaDescriptor_set_deferred(d, deferred);
	int e = capenv_call(capenv_dma_cap(&env, h), DMABuffer_submitDescriptor_ORDINAL, NULL, 0,
	    &root);
	if (e < 0 || (e = capenv_result(&root, &r.s)) < 0)
		return e;
	if (DmaSubmitResult_which(r) != DmaSubmitResult_which_token)
		return capenv_device_error(DmaSubmitResult_get_error(r));
	last_token = DmaSubmitResult_get_token(r);
	return 0;
}

static int
submit(devenv_dma_t h, uint16_t slot, uint16_t flags, uint16_t next)
{
	return submit_d(h, slot, flags, next, false);
}

/* DMABuffer.completeDescriptor: 0 when collected (or retracted), else the code. */
static int
collect(devenv_dma_t h, uint64_t token)
{
	struct capnp_struct root;
	DmaCompleteResult_R r;
	DMABuffer_completeDescriptor_Params_B p;
	DMABuffer_completeDescriptor_Params_init_root(rt_msg_begin(), &p);
	DMABuffer_completeDescriptor_Params_set_token(p, token);
	int e = capenv_call(capenv_dma_cap(&env, h), DMABuffer_completeDescriptor_ORDINAL, NULL, 0,
	    &root);
	if (e < 0 || (e = capenv_result(&root, &r.s)) < 0)
		return e;
	switch (DmaCompleteResult_which(r)) {
	case DmaCompleteResult_which_completed: return 0;
	case DmaCompleteResult_which_pending: return E_AGAIN;
	default: return capenv_device_error(DmaCompleteResult_get_error(r));
	}
}

/* DMABuffer.submitChain of n descriptors at slots first.., each linked to the
 * next (NEXT) and the last device-writable; `bad` adds INDIRECT to the head.
 * 0 or the code (*token: the head's). */
static int
chain(devenv_dma_t h, unsigned n, uint16_t first, bool bad, uint64_t *token)
{
	struct capnp_struct root;
	DmaSubmitResult_R r;
	DMABuffer_submitChain_Params_B p;
	struct capnp_blist l;
	DMABuffer_submitChain_Params_init_root(rt_msg_begin(), &p);
	int e = DMABuffer_submitChain_Params_init_descriptors(p, n, &l);
	for (unsigned i = 0; !e && i < n; i++) {
		DmaDescriptor_B d;
		DmaDescriptor_blist_get(&l, i, &d);
		DmaDescriptor_set_slot(d, (uint16_t)(first + i));
		DmaDescriptor_set_offset(d, 64u * i);
		DmaDescriptor_set_length(d, 16);
		DmaDescriptor_set_flags(d, (uint16_t)(i + 1 < n ? VIRTQ_DESC_F_NEXT :
		    VIRTQ_DESC_F_WRITE) | (bad && i == 0 ? VIRTQ_DESC_F_INDIRECT : 0));
		DmaDescriptor_set_next(d, (uint16_t)(i + 1 < n ? first + i + 1 : 0));
	}
	if (e < 0 || (e = capenv_call(capenv_dma_cap(&env, h), DMABuffer_submitChain_ORDINAL, NULL, 0,
	    &root)) < 0 || (e = capenv_result(&root, &r.s)) < 0)
		return e;
	if (DmaSubmitResult_which(r) != DmaSubmitResult_which_token)
		return capenv_device_error(DmaSubmitResult_get_error(r));
	*token = DmaSubmitResult_get_token(r);
	return 0;
}

/* DMABuffer.completeBatch of tok[0..n): 0 and each element's answer in st[]
 * (0 completed, E_AGAIN pending, else its error), or the call's code. */
static int
batch(devenv_dma_t h, const uint64_t *tok, unsigned n, int *st)
{
	struct capnp_struct root;
	DmaBatchResult_R r;
	DMABuffer_completeBatch_Params_B p;
	struct capnp_blist bl;
	struct capnp_list l;
	DMABuffer_completeBatch_Params_init_root(rt_msg_begin(), &p);
	int e = DMABuffer_completeBatch_Params_init_tokens(p, n, &bl);
	for (unsigned i = 0; !e && i < n; i++)
		capnp_blist_set_u64(&bl, i, tok[i]);
	if (e < 0 || (e = capenv_call(capenv_dma_cap(&env, h), DMABuffer_completeBatch_ORDINAL, NULL,
	    0, &root)) < 0 || (e = capenv_result(&root, &r.s)) < 0)
		return e;
	if (DmaBatchResult_which(r) != DmaBatchResult_which_results)
		return capenv_device_error(DmaBatchResult_get_error(r));
	if (DmaBatchResult_get_results(r, &l) < 0 || l.count != n)
		return E_CORRUPT;
	for (unsigned i = 0; i < n; i++) {
		DmaDone_R d;
		if (DmaDone_list_get(&l, i, &d) < 0)
			return E_CORRUPT;
		st[i] = DmaDone_get_state(d) == DmaDoneState_completed ? 0 :
		    DmaDone_get_state(d) == DmaDoneState_pending ? E_AGAIN :
		    capenv_device_error(DmaDone_get_error(d));
	}
	return 0;
}

/* The batched calls (DMABuffer.submitChain, completeBatch) refuse bad counts,
 * retract a refused chain whole and answer a bad token for itself alone. The
 * queue's ring is still attached (a device reset forgets the addresses, not
 * the ledger's ring), the device is not running: chains stay pending. */
static void
batched_calls(devenv_dma_t plain, devenv_dma_t other)
{
	uint64_t tok = 0, toks[DMA_BATCH_TOO_MANY] = { 0 };
	int st[3] = { 0 }, e, e2, e3;

	e = chain(plain, 0, 8, false, &tok);
	e2 = chain(plain, 17, 8, false, &tok);
	CHECK("chain-bad-count", e == E_INVAL && e2 == E_RANGE, "empty=%d seventeen=%d", e, e2);
	/* head refused after its members were written: they are retracted, so the
	 * same slots take a good chain at once */
	e = chain(plain, 3, 8, true, &tok);
	e2 = chain(plain, 3, 8, false, &tok);
	CHECK("chain-refused-retracts", e == E_INVAL && e2 == 0, "bad=%d again=%d", e, e2);
	e = batch(plain, toks, 0, st);
	e2 = batch(plain, toks, DMA_BATCH_TOO_MANY, st);
	CHECK("batch-bad-count", e == E_INVAL && e2 == E_RANGE, "empty=%d sixty-five=%d", e, e2);
	uint64_t mixed[3] = { tok, tok ^ 0x5a5a0000ull, 0 };
	e = batch(plain, mixed, 3, st);
	CHECK("batch-stale-token-alone", e == 0 && st[0] == E_AGAIN && st[1] < 0 && st[1] != E_AGAIN &&
	    st[2] < 0 && st[2] != E_AGAIN, "err=%d head=%d bogus=%d zero=%d", e, st[0], st[1], st[2]);
	e = batch(other, &tok, 1, st);
	e3 = batch(plain, &tok, 1, &st[1]);
	CHECK("batch-foreign-token", e == 0 && st[0] < 0 && st[0] != E_AGAIN && e3 == 0 &&
	    st[1] == E_AGAIN, "err=%d foreign=%d own=%d", e, st[0], st[1]);
}

int
main(void)
{
	uint8_t cfg[CAPENV_CONFIG_BYTES];
	devenv_dma_t ring = 0;
	struct devenv_dma plain;
	int e, n;

	e = capenv_open(&env, "mmio", NULL, "dma");
	n = e ? e : devenv_pci_config(&env, cfg, sizeof cfg);
	e = n > 0 ? vio_parse_caps(cfg, (size_t)n, &vc) : n;
	CHECK("open", e == 0 && capenv_mmio_cap(&env, vc.common.bar), "err=%d common_bar=%u", e,
	    vc.common.bar);
	if (e)
		goto out;
	/* Reset, then the driver steps the kernel does not police. */
	e = common_wr(VIRTIO_COMMON_STATUS, 1, 0);
	int e2 = common_wr(VIRTIO_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	int e3 = common_wr(VIRTIO_COMMON_Q_SELECT, 2, 0);
	int e4 = common_wr(VIRTIO_COMMON_Q_SIZE, 2, QS);
	CHECK("selected-writes", !e && !e2 && !e3 && !e4, "status=%d driver=%d select=%d size=%d", e,
	    e2, e3, e4);

	e = common_wr(VIRTIO_COMMON_GFSELECT, 4, 1);
	e2 = common_wr(VIRTIO_COMMON_GF, 4, 1u << (34 - 32));   /* VIRTIO_F_RING_PACKED */
	e3 = common_wr(VIRTIO_COMMON_GF, 4, 1u << (VIRTIO_F_VERSION_1 - 32));
	CHECK("packed-ring-feature", !e && e2 == E_PERM && !e3, "select=%d packed=%d version1=%d", e,
	    e2, e3);
	e = common_wr(VIRTIO_COMMON_Q_ENABLE, 2, 1);
	CHECK("enable-before-brokering", e == E_PERM, "err=%d", e);
	e = common_wr(VIRTIO_COMMON_Q_DESC, 4, 0x1000);
	CHECK("write-queue-address", e == E_PERM, "err=%d", e);
	e = devenv_mmio_write(&env, vc.notify.bar, vc.notify.off + 5u * vc.notify_mult + 0x100, 2, 0);
	CHECK("write-outside-doorbells", e == E_PERM, "err=%d", e);

	e = capenv_dma_alloc_ring(&env, virtq_bytes(QS), DEVENV_DMA_BIDIRECTIONAL, &ring);
	e2 = devenv_dma_alloc(&env, virtq_bytes(QS), DEVENV_DMA_BIDIRECTIONAL, &plain);
	CHECK("alloc", !e && !e2, "ring=%d plain=%d", e, e2);
	if (e || e2)
		goto out;
	e = set_addr(VIRTIO_COMMON_Q_DESC, plain.h, 0);
	CHECK("broker-mapped-buffer", e == E_PERM, "err=%d", e);
	e = set_addr(VIRTIO_COMMON_Q_DESC, ring, 4096);
	CHECK("broker-wrong-offset", e == E_INVAL, "err=%d", e);
	e = set_addr(VIRTIO_COMMON_Q_DESC, ring, 0);
	CHECK("broker-desc", e == 0, "err=%d", e);
	e = map_buffer(ring);
	CHECK("map-brokered-ring", e == E_PERM, "err=%d", e);
	e = common_wr(VIRTIO_COMMON_Q_SIZE, 2, QS / 2);
	CHECK("resize-after-brokering", e == E_BUSY, "err=%d", e);
	e = common_wr(VIRTIO_COMMON_Q_ENABLE, 2, 1);
	CHECK("enable-partly-brokered", e == E_PERM, "err=%d", e);
	e = set_addr(VIRTIO_COMMON_Q_DRIVER, ring, virtq_avail_offset(QS));
	e2 = set_addr(VIRTIO_COMMON_Q_DEVICE, ring, virtq_used_offset(QS));
	e3 = common_wr(VIRTIO_COMMON_Q_ENABLE, 2, 1);
	CHECK("broker-all-and-enable", !e && !e2 && !e3, "driver=%d device=%d enable=%d", e, e2, e3);
	e = set_addr(VIRTIO_COMMON_Q_DESC, ring, 0);
	CHECK("rebroker-enabled-queue", e == E_BUSY, "err=%d", e);

	e = submit(plain.h, 0, VIRTQ_DESC_F_INDIRECT, 0);
	CHECK("indirect-descriptor", e == E_INVAL, "err=%d", e);
	e = submit(plain.h, 0, VIRTQ_DESC_F_NEXT, 1);
	CHECK("head-without-member", e == E_INVAL, "err=%d", e);
	e = submit(plain.h, QS, 0, 0);
	CHECK("slot-outside-queue", e == E_INVAL, "err=%d", e);
	e = submit_d(plain.h, 1, VIRTQ_DESC_F_NEXT, QS, true);
	CHECK("link-outside-queue", e == E_INVAL, "err=%d", e);
	e = submit(ring, 2, VIRTQ_DESC_F_WRITE, 0);
	CHECK("ring-as-data", e == E_PERM, "err=%d", e);

	/* Queue 1 (the device has two): neither queue 0's ring nor a buffer a live
	 * descriptor names may become its ring. */
	devenv_dma_t other = 0;
	e = capenv_dma_alloc_ring(&env, virtq_bytes(QS), DEVENV_DMA_BIDIRECTIONAL, &other);
	e2 = e ? e : submit_d(other, 3, VIRTQ_DESC_F_WRITE, 0, true);
	uint64_t other_tok = last_token;
	e3 = common_wr(VIRTIO_COMMON_Q_SELECT, 2, 1) | common_wr(VIRTIO_COMMON_Q_SIZE, 2, QS);
	int e7 = set_addr(VIRTIO_COMMON_Q_DESC, ring, 0);
	int e8 = set_addr(VIRTIO_COMMON_Q_DESC, other, 0);
	int e9 = collect(other, other_tok);
	int e10 = common_wr(VIRTIO_COMMON_Q_SELECT, 2, 0);
	CHECK("ring-of-another-queue", !e && !e2 && !e3 && e7 == E_BUSY && !e9 && !e10,
	    "alloc=%d member=%d select=%d err=%d", e, e2, e3, e7);
	CHECK("live-data-as-ring", e8 == E_BUSY, "err=%d", e8);

	/* A deferred member left on the queue: after a device reset the ring cannot be
	 * brokered again under it (it would be re-attached while the ledger holds it). */
	e = submit_d(plain.h, 1, 0, 0, true);
	uint64_t member = last_token;
	e2 = common_wr(VIRTIO_COMMON_STATUS, 1, 0);
	if (!e2)        /* the reset device forgot the size too */
		e2 = common_wr(VIRTIO_COMMON_Q_SELECT, 2, 0) | common_wr(VIRTIO_COMMON_Q_SIZE, 2, QS);
	e3 = set_addr(VIRTIO_COMMON_Q_DESC, ring, 0);
	int e5 = collect(plain.h, member);
	int e6 = set_addr(VIRTIO_COMMON_Q_DESC, ring, 0);
	CHECK("rebroker-with-live-descriptor", !e && !e2 && e3 == E_BUSY && !e5 && !e6,
	    "member=%d reset=%d rebroker=%d retract=%d rebroker_after=%d", e, e2, e3, e5, e6);

	/* A device reset forgets the brokered addresses: enabling again is refused. */
	e = common_wr(VIRTIO_COMMON_STATUS, 1, 0);
	e2 = common_wr(VIRTIO_COMMON_Q_ENABLE, 2, 1);
	CHECK("enable-after-device-reset", !e && e2 == E_PERM, "reset=%d enable=%d", e, e2);
	batched_calls(plain.h, other);
out:
	rt_print("vblk-hostile: done failures=%d", failures);
	return failures ? 1 : 0;
}
