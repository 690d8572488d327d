/*
 * ddf-demo: a userspace virtio-rng driver (legacy virtio PCI, virtio 1.x
 * §4.1.4.8 and §5.4) that holds only the device caps the manifest granted:
 * DeviceMmio "mmio" (BAR0, the legacy I/O header; every access brokered),
 * Interrupt "irq" (MSI-X vector 0), DMAPool "dma", and Console. It never
 * sees a physical address: the ring buffer is handed to the kernel with
 * brokeredQueuePfn (the kernel writes QUEUE_PFN) and descriptors go through
 * DMABuffer.submitDescriptor (the kernel writes the device address).
 *
 * Role by process name (tests/system/test_ddf_user.py):
 *   ddf-rng    read entropy three times, then the hostile checks a driver
 *              can try through its caps, then DeviceMmio.config, the caps'
 *              info, a descriptor chain, and DeviceMmio.reset (buffers
 *              stale, pool at zero, MMIO/Interrupt re-granted, the device
 *              read again); exit 0 when all pass
 *   ddf-exit   start a read (doorbell rung) and exit without collecting it
 *   ddf-crash  start a read and fault with DMA in flight
 *   ddf-thief  expects no device caps (its claim was refused) and exits 7
 *   ddf-audit  reads the HardwareAuditLog from cursor 0 (cursorable snapshots)
 * Prints `ddf-demo: NAME CHECK result=pass|fail ...`.
 */
#include "capos.h"
#include "schema/device.capnp.h"

#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define HDR_QUEUE_PFN 8
#define HDR_QUEUE_SIZE 12
#define HDR_QUEUE_SEL 14
#define HDR_QUEUE_NOTIFY 16
#define HDR_STATUS 18
#define HDR_MSIX_CONFIG 20
#define HDR_MSIX_QUEUE 22
#define VIRTQ_DESC_F_WRITE 2

static uint64_t pbuf[512], rbuf[512];
static int failures;
static capid_t mmio, irq, pool;

#define CHECK(tname, cond, fmt, ...) do {					\
	bool ok_ = (cond);							\
	if (!ok_)								\
		failures++;							\
	rt_print("ddf-demo: %s %s result=%s " fmt, rt_boot->name, tname,	\
		 ok_ ? "pass" : "fail", ##__VA_ARGS__);				\
} while (0)

/* Call and read the result root; < 0 on transport failure. */
static int
call(capid_t cap, uint16_t method, int plen, const struct ring_xfer *x, uint32_t nx,
     struct capnp_msg *m, struct capnp_struct *root, struct ring_cqe *c)
{
	if (plen < 0)
		return plen;
	int r = rt_call(cap, method, pbuf, (uint32_t)plen, rbuf, sizeof rbuf, x, nx, c);
	if (r < 0)
		return r;
	return rt_msg_read(m, rbuf, c->len, root);
}

/* DeviceResult: -1 - error code, or 0 for ok. */
static int
dev_result(struct capnp_struct *res)
{
	DeviceResult_R r;
	if (capnp_ptr_struct(capnp_struct_ptr(res, 0), &r.s) < 0)
		return -100;
	return DeviceResult_which(r) == DeviceResult_which_ok ? 0 : -1 - DeviceResult_get_error(r);
}

static int
reg_write(uint64_t off, uint8_t width, uint32_t v)
{
	struct capnp_msg m;
	struct capnp_struct root;
	struct ring_cqe c;
	DeviceMmio_write_Params_B p;
	DeviceMmio_write_Params_init_root(rt_msg_begin(), &p);
	DeviceMmio_write_Params_set_offset(p, off);
	DeviceMmio_write_Params_set_width(p, width);
	DeviceMmio_write_Params_set_value(p, v);
	if (call(mmio, DeviceMmio_write_ORDINAL, rt_msg_end(pbuf, sizeof pbuf), NULL, 0, &m, &root,
		 &c) < 0)
		return -100;
	return dev_result(&root);
}

static int
reg_read(uint64_t off, uint8_t width, uint32_t *v)
{
	struct capnp_msg m;
	struct capnp_struct root;
	struct ring_cqe c;
	MmioReadResult_R r;
	DeviceMmio_read_Params_B p;
	DeviceMmio_read_Params_init_root(rt_msg_begin(), &p);
	DeviceMmio_read_Params_set_offset(p, off);
	DeviceMmio_read_Params_set_width(p, width);
	if (call(mmio, DeviceMmio_read_ORDINAL, rt_msg_end(pbuf, sizeof pbuf), NULL, 0, &m, &root,
		 &c) < 0 || capnp_ptr_struct(capnp_struct_ptr(&root, 0), &r.s) < 0)
		return -100;
	if (MmioReadResult_which(r) != MmioReadResult_which_value)
		return -1 - MmioReadResult_get_error(r);
	*v = MmioReadResult_get_value(r);
	return 0;
}

/* DMAPool.allocateBuffer: the DMABuffer cap, or 0 with *err the DeviceError + 1. */
static capid_t
dma_alloc(uint64_t size, uint16_t dir, int *err)
{
	struct capnp_msg m;
	struct capnp_struct root;
	struct ring_cqe c;
	DmaAllocateResult_R r;
	DMAPool_allocateBuffer_Params_B p;
	DMAPool_allocateBuffer_Params_init_root(rt_msg_begin(), &p);
	DMAPool_allocateBuffer_Params_set_size(p, size);
	DMAPool_allocateBuffer_Params_set_direction(p, dir);
	*err = 100;
	if (call(pool, DMAPool_allocateBuffer_ORDINAL, rt_msg_end(pbuf, sizeof pbuf), NULL, 0, &m,
		 &root, &c) < 0 || capnp_ptr_struct(capnp_struct_ptr(&root, 0), &r.s) < 0)
		return 0;
	if (DmaAllocateResult_which(r) != DmaAllocateResult_which_buffer) {
		*err = 1 + DmaAllocateResult_get_error(r);
		return 0;
	}
	*err = 0;
	return rt_adopt(&c, 0, DMABuffer_TYPE_ID);
}

/* map: a user address, or 0 with *err. */
static uint64_t
buf_map(capid_t b, int *err)
{
	struct capnp_msg m;
	struct capnp_struct root;
	struct ring_cqe c;
	MapResult_R r;
	UserMapping_R u;
	DMABuffer_map_Params_B p;
	DMABuffer_map_Params_init_root(rt_msg_begin(), &p);
	*err = 100;
	if (call(b, DMABuffer_map_ORDINAL, rt_msg_end(pbuf, sizeof pbuf), NULL, 0, &m, &root, &c) < 0 ||
	    capnp_ptr_struct(capnp_struct_ptr(&root, 0), &r.s) < 0)
		return 0;
	if (MapResult_which(r) != MapResult_which_mapping) {
		*err = 1 + MapResult_get_error(r);
		return 0;
	}
	*err = 0;
	if (MapResult_get_mapping(r, &u) < 0)
		return 0;
	return UserMapping_get_address(u);
}

static int
buf_free(capid_t b)
{
	struct capnp_msg m;
	struct capnp_struct root;
	struct ring_cqe c;
	/* free has no params: send none at all (the kernel reads an empty struct) */
	if (call(b, DMABuffer_free_ORDINAL, 0, NULL, 0, &m, &root, &c) < 0)
		return -100;
	return dev_result(&root);
}

static void
fill_desc(DmaDescriptor_B d, uint16_t queue, uint16_t slot, uint64_t off, uint32_t len,
    uint16_t flags)
{
	DmaDescriptor_set_queue(d, queue);
	DmaDescriptor_set_slot(d, slot);
	DmaDescriptor_set_offset(d, off);
	DmaDescriptor_set_length(d, len);
	DmaDescriptor_set_flags(d, flags);
}

/* submitDescriptor of one chain link: 0 and *token, or -1 - DeviceError. */
static int
submit_link(capid_t b, uint16_t slot, uint64_t off, uint32_t len, uint16_t flags, uint16_t next,
    bool deferred, uint64_t *token)
{
	struct capnp_msg m;
	struct capnp_struct root;
	struct ring_cqe c;
	DmaSubmitResult_R r;
	DMABuffer_submitDescriptor_Params_B p;
	DmaDescriptor_B d;
	DMABuffer_submitDescriptor_Params_init_root(rt_msg_begin(), &p);
	DMABuffer_submitDescriptor_Params_init_descriptor(p, &d);
	fill_desc(d, 0, slot, off, len, flags);
	DmaDescriptor_set_next(d, next);
	DmaDescriptor_set_deferred(d, deferred);
	if (call(b, DMABuffer_submitDescriptor_ORDINAL, rt_msg_end(pbuf, sizeof pbuf), NULL, 0, &m,
		 &root, &c) < 0 || capnp_ptr_struct(capnp_struct_ptr(&root, 0), &r.s) < 0)
		return -100;
	if (DmaSubmitResult_which(r) != DmaSubmitResult_which_token)
		return -1 - DmaSubmitResult_get_error(r);
	*token = DmaSubmitResult_get_token(r);
	return 0;
}

/* submitChain of one device-writable descriptor on `queue`, the kernel ringing
 * the doorbell when `notify`: 0 and *token, or -1 - DeviceError. */
static int
submit_notify(capid_t b, uint16_t queue, uint16_t slot, uint64_t off, uint32_t len, bool notify,
    uint64_t *token)
{
	struct capnp_msg m;
	struct capnp_struct root;
	struct ring_cqe c;
	struct capnp_blist bl;
	DmaSubmitResult_R r;
	DMABuffer_submitChain_Params_B p;
	DmaDescriptor_B d;
	DMABuffer_submitChain_Params_init_root(rt_msg_begin(), &p);
	if (DMABuffer_submitChain_Params_init_descriptors(p, 1, &bl) < 0 ||
	    DmaDescriptor_blist_get(&bl, 0, &d) < 0)
		return -100;
	fill_desc(d, queue, slot, off, len, VIRTQ_DESC_F_WRITE);
	DMABuffer_submitChain_Params_set_notify(p, notify);
	if (call(b, DMABuffer_submitChain_ORDINAL, rt_msg_end(pbuf, sizeof pbuf), NULL, 0, &m,
		 &root, &c) < 0 || capnp_ptr_struct(capnp_struct_ptr(&root, 0), &r.s) < 0)
		return -100;
	if (DmaSubmitResult_which(r) != DmaSubmitResult_which_token)
		return -1 - DmaSubmitResult_get_error(r);
	*token = DmaSubmitResult_get_token(r);
	return 0;
}

/* submitDescriptor of a lone device-writable descriptor. */
static int
submit(capid_t b, uint16_t slot, uint64_t off, uint32_t len, uint64_t *token)
{
	return submit_link(b, slot, off, len, VIRTQ_DESC_F_WRITE, 0, false, token);
}

/* completeDescriptor: bytes (>= 0), -200 pending, or -1 - DeviceError. */
static int
complete(capid_t b, uint64_t token)
{
	struct capnp_msg m;
	struct capnp_struct root;
	struct ring_cqe c;
	DmaCompleteResult_R r;
	DMABuffer_completeDescriptor_Params_B p;
	DMABuffer_completeDescriptor_Params_init_root(rt_msg_begin(), &p);
	DMABuffer_completeDescriptor_Params_set_token(p, token);
	if (call(b, DMABuffer_completeDescriptor_ORDINAL, rt_msg_end(pbuf, sizeof pbuf), NULL, 0, &m,
		 &root, &c) < 0 || capnp_ptr_struct(capnp_struct_ptr(&root, 0), &r.s) < 0)
		return -100;
	switch (DmaCompleteResult_which(r)) {
	case DmaCompleteResult_which_completed: return (int)DmaCompleteResult_get_completed(r);
	case DmaCompleteResult_which_pending: return -200;
	default: return -1 - DmaCompleteResult_get_error(r);
	}
}

/* Interrupt.wait (blocks in the kernel): count > 0 and *gen, or < 0. */
static int
irq_wait(uint32_t *gen)
{
	struct capnp_msg m;
	struct capnp_struct root;
	struct ring_cqe c;
	InterruptWaitResult_R r;
	InterruptFired_R f;
	Interrupt_wait_Params_B p;
	Interrupt_wait_Params_init_root(rt_msg_begin(), &p);
	Interrupt_wait_Params_set_timeoutNs(p, 2000000000ull);
	if (call(irq, Interrupt_wait_ORDINAL, rt_msg_end(pbuf, sizeof pbuf), NULL, 0, &m, &root,
		 &c) < 0 || capnp_ptr_struct(capnp_struct_ptr(&root, 0), &r.s) < 0)
		return -100;
	if (InterruptWaitResult_which(r) == InterruptWaitResult_which_timedOut)
		return -300;
	if (InterruptWaitResult_which(r) != InterruptWaitResult_which_fired ||
	    InterruptWaitResult_get_fired(r, &f) < 0)
		return -1 - InterruptWaitResult_get_error(r);
	*gen = InterruptFired_get_generation(f);
	return (int)InterruptFired_get_count(f);
}

static int
irq_ack(uint32_t gen)
{
	struct capnp_msg m;
	struct capnp_struct root;
	struct ring_cqe c;
	Interrupt_acknowledge_Params_B p;
	Interrupt_acknowledge_Params_init_root(rt_msg_begin(), &p);
	Interrupt_acknowledge_Params_set_generation(p, gen);
	if (call(irq, Interrupt_acknowledge_ORDINAL, rt_msg_end(pbuf, sizeof pbuf), NULL, 0, &m,
		 &root, &c) < 0)
		return -100;
	return dev_result(&root);
}

static int
queue_pfn(capid_t ring)
{
	struct capnp_msg m;
	struct capnp_struct root;
	struct ring_cqe c;
	DeviceMmio_brokeredQueuePfn_Params_B p;
	DeviceMmio_brokeredQueuePfn_Params_init_root(rt_msg_begin(), &p);
	DeviceMmio_brokeredQueuePfn_Params_set_offset(p, HDR_QUEUE_PFN);
	DeviceMmio_brokeredQueuePfn_Params_set_buffer(p, 0);
	struct ring_xfer x = { ring, RING_XFER_COPY };
	if (call(mmio, DeviceMmio_brokeredQueuePfn_ORDINAL, rt_msg_end(pbuf, sizeof pbuf), &x, 1, &m,
		 &root, &c) < 0)
		return -100;
	return dev_result(&root);
}

static capid_t ring, data;
static volatile uint8_t *data_va;
static uint32_t qsize;

/* Device init through the broker (virtio 1.x §3.1.1, legacy interface). */
static int
start(void)
{
	int e, err;
	uint32_t v;
	if ((e = reg_write(HDR_STATUS, 1, 0)) || (e = reg_write(HDR_STATUS, 1, ST_ACK | ST_DRIVER)) ||
	    (e = reg_read(0, 4, &v)) || (e = reg_write(4, 4, 0)) ||
	    (e = reg_write(HDR_MSIX_CONFIG, 2, 0xFFFF)) || (e = reg_write(HDR_QUEUE_SEL, 2, 0)) ||
	    (e = reg_write(HDR_MSIX_QUEUE, 2, 0)) || (e = reg_read(HDR_QUEUE_SIZE, 2, &qsize)))
		return e;
	if (!(ring = dma_alloc(8192, DmaDirection_bidirectional, &err)))
		return -1000 - err;
	if ((e = queue_pfn(ring)))
		return e;
	if (!(data = dma_alloc(4096, DmaDirection_fromDevice, &err)))
		return -1000 - err;
	if (!(data_va = (volatile uint8_t *)buf_map(data, &err)))
		return -2000 - err;
	return reg_write(HDR_STATUS, 1, ST_ACK | ST_DRIVER | ST_DRIVER_OK);
}

/*
 * Interrupt.wait submitted *before* the doorbell, without waiting for it:
 * nothing is pending, so the kernel parks the call; the doorbell's MSI-X
 * completes it later. Returns bytes collected or < 0.
 */
static int
read_entropy_parked(void)
{
	static uint64_t wp[16], wr[64];
	uint64_t tok;
	int e;
	Interrupt_wait_Params_B p;
	Interrupt_wait_Params_init_root(rt_msg_begin(), &p);
	Interrupt_wait_Params_set_timeoutNs(p, 2000000000ull);
	int n = rt_msg_end(wp, sizeof wp);
	struct ring_sqe sq = { .opcode = RING_OP_CALL, .method = Interrupt_wait_ORDINAL, .cap = irq,
		.user_data = 0xD0F000000000ull, .params = (uint64_t)wp, .params_len = (uint32_t)n,
		.result = (uint64_t)wr, .result_len = sizeof wr };
	if (n < 0 || rt_submit(&sq) < 0)
		return -100;
	sys_cap_enter(0, 0);	/* the kernel takes the wait now; it parks */
	if ((e = submit(data, 0, 0, 64, &tok)) || (e = reg_write(HDR_QUEUE_NOTIFY, 2, 0)))
		return e;
	struct ring_cqe c;
	do {
		if (!rt_reap(&c, true))
			return -101;
	} while (c.user_data != 0xD0F000000000ull);
	struct capnp_msg m;
	struct capnp_struct root;
	InterruptWaitResult_R r;
	InterruptFired_R f;
	if (c.result < 0 || rt_msg_read(&m, wr, c.len, &root) < 0 ||
	    capnp_ptr_struct(capnp_struct_ptr(&root, 0), &r.s) < 0 ||
	    InterruptWaitResult_which(r) != InterruptWaitResult_which_fired ||
	    InterruptWaitResult_get_fired(r, &f) < 0)
		return -102;
	uint32_t gen = InterruptFired_get_generation(f);
	e = complete(data, tok);
	int a = irq_ack(gen);
	return a ? a - 500 : e;
}

static int
read_entropy(uint16_t slot, uint32_t len)
{
	uint64_t tok;
	uint32_t gen;
	int e, n;
	if ((e = submit(data, slot, 0, len, &tok)) || (e = reg_write(HDR_QUEUE_NOTIFY, 2, 0)))
		return e;
	if ((n = irq_wait(&gen)) <= 0)
		return n - 400;
	e = complete(data, tok);
	int a = irq_ack(gen);
	return a ? a - 500 : e;
}

/* An info method (no params): the info struct (pointer 0 of the results), or < 0. */
static int
info(capid_t cap, uint16_t method, struct capnp_msg *m, struct capnp_struct *out)
{
	struct capnp_struct root;
	struct ring_cqe c;
	if (call(cap, method, 0, NULL, 0, m, &root, &c) < 0)
		return -100;
	return capnp_ptr_struct(capnp_struct_ptr(&root, 0), out) < 0 ? -101 : 0;
}

/* A copy of the fields the checks compare (the message buffer is reused by the next call). */
struct infos {
	uint32_t mmio_gen, irq_gen, pool_gen;
	uint64_t pool_used;
	uint32_t pool_bufs;
};

static void
read_infos(const char *tag, struct infos *o)
{
	struct capnp_msg m;
	MmioInfo_R mi;
	InterruptInfo_R ii;
	DmaPoolInfo_R pi;
	struct capnp_text pol = { "", 0 };
	memset(o, 0, sizeof *o);
	if (info(mmio, DeviceMmio_info_ORDINAL, &m, &mi.s) == 0) {
		(void)MmioInfo_get_writePolicy(mi, &pol);
		o->mmio_gen = MmioInfo_get_generation(mi);
		CHECK("mmio-info", MmioInfo_get_vendorId(mi) == 0x1af4 &&
		    MmioInfo_get_deviceId(mi) == 0x1005 && MmioInfo_get_bar(mi) == 0 &&
		    MmioInfo_get_length(mi) >= 24 && !strcmp(pol.str, "virtio-legacy"),
		    "at=%s id=%04x:%04x bar=%u length=%lu policy=%s gen=%u", tag,
		    MmioInfo_get_vendorId(mi), MmioInfo_get_deviceId(mi), MmioInfo_get_bar(mi),
		    (unsigned long)MmioInfo_get_length(mi), pol.str, o->mmio_gen);
	}
	if (info(irq, Interrupt_info_ORDINAL, &m, &ii.s) == 0) {
		o->irq_gen = InterruptInfo_get_generation(ii);
		CHECK("irq-info", InterruptInfo_get_kind(ii) == InterruptKind_msix &&
		    InterruptInfo_get_index(ii) == 0, "at=%s kind=%u index=%u masked=%d gen=%u", tag,
		    InterruptInfo_get_kind(ii), InterruptInfo_get_index(ii),
		    InterruptInfo_get_masked(ii), o->irq_gen);
	}
	if (info(pool, DMAPool_info_ORDINAL, &m, &pi.s) == 0) {
		o->pool_gen = DmaPoolInfo_get_generation(pi);
		o->pool_used = DmaPoolInfo_get_usedBytes(pi);
		o->pool_bufs = DmaPoolInfo_get_liveBuffers(pi);
		rt_print("ddf-demo: %s pool-info at=%s budget=%lu used=%lu buffers=%u backend=%u gen=%u",
		    rt_boot->name, tag, (unsigned long)DmaPoolInfo_get_budgetBytes(pi),
		    (unsigned long)o->pool_used, o->pool_bufs, DmaPoolInfo_get_backend(pi), o->pool_gen);
	}
}

/* DMABuffer.info: the state (DmaBufferState), or < 0. */
static int
buf_state(capid_t b, uint32_t *inflight)
{
	struct capnp_msg m;
	DmaBufferInfo_R bi;
	if (info(b, DMABuffer_info_ORDINAL, &m, &bi.s) < 0)
		return -100;
	*inflight = DmaBufferInfo_get_inFlight(bi);
	return DmaBufferInfo_get_state(bi);
}

/* DeviceMmio.config: the function's IDs, and that the BAR registers read as zero. */
static void
config_check(void)
{
	struct capnp_msg m;
	struct capnp_struct root;
	struct ring_cqe c;
	ConfigResult_R r;
	struct capnp_data d = { 0, 0 };
	int e = call(mmio, DeviceMmio_config_ORDINAL, 0, NULL, 0, &m, &root, &c);
	if (e == 0 && capnp_ptr_struct(capnp_struct_ptr(&root, 0), &r.s) == 0 &&
	    ConfigResult_which(r) == ConfigResult_which_data)
		e = ConfigResult_get_data(r, &d);
	uint32_t bars = 0;
	for (uint32_t i = 0x10; d.len == 256 && i < 0x28; i++)
		bars |= d.ptr[i];
	CHECK("config", e == 0 && d.len == 256 && d.ptr[0] == 0xf4 && d.ptr[1] == 0x1a &&
	    d.ptr[2] == 0x05 && d.ptr[3] == 0x10 && bars == 0, "err=%d len=%u bars_or=%x", e, d.len,
	    bars);
}

/*
 * A two-descriptor chain through the caps: the member (slot 3) first with
 * deferred, then the head (slot 2) naming it. virtio-rng fills the chain's
 * writable bytes; the completion is collected through the head alone.
 */
static void
chain_check(void)
{
	uint64_t th = 0, tm = 0, tx = 0;
	uint32_t gen;
	int em = submit_link(data, 3, 128, 32, VIRTQ_DESC_F_WRITE, 0, true, &tm);
	int eh = submit_link(data, 2, 64, 32, VIRTQ_DESC_F_WRITE | 1, 3, false, &th);
	int en = reg_write(HDR_QUEUE_NOTIFY, 2, 0);
	int n = irq_wait(&gen);
	int member = complete(data, tm);	/* collected only through its head */
	int bytes = complete(data, th);
	(void)irq_ack(gen);
	int after = complete(data, tm);		/* went with the head */
	CHECK("chain", em == 0 && eh == 0 && en == 0 && bytes > 0 && bytes <= 64 &&
	    member == -1 - DeviceError_invalid && after == -1 - DeviceError_stale,
	    "member=%d head=%d notify=%d irq=%d bytes=%d member_collect=%d after=%d", em, eh, en, n,
	    bytes, member, after);
	/* A head naming a slot with no deferred member is refused; a deferred member retracts. */
	int bad = submit_link(data, 4, 0, 16, VIRTQ_DESC_F_WRITE | 1, 5, false, &tx);
	int ed = submit_link(data, 5, 0, 16, VIRTQ_DESC_F_WRITE, 0, true, &tx);
	int back = complete(data, tx);
	CHECK("chain-refusals", bad == -1 - DeviceError_invalid && ed == 0 && back == 0,
	    "dangling_head=%d deferred=%d retract=%d", bad, ed, back);
	/* submitChain(notify): the kernel rings queue 0's doorbell itself (no
	 * register write here: the device's interrupt and bytes show it rang);
	 * a queue without a ring is refused (invalid). */
	uint64_t tn = 0, tq = 0;
	int nq = submit_notify(data, 1, 6, 0, 16, true, &tq);
	int no = submit_notify(data, 0, 6, 256, 32, true, &tn);
	int nn = no == 0 ? irq_wait(&gen) : 0;
	int nb = no == 0 ? complete(data, tn) : -300;
	(void)irq_ack(gen);
	CHECK("chain-notify", nq == -1 - DeviceError_invalid && no == 0 && nb > 0 && nb <= 32,
	    "no_ring_queue=%d submit=%d irq=%d bytes=%d", nq, no, nn, nb);
}

/*
 * DeviceMmio.reset from userspace: the buffers are revoked (stale, the pool
 * back to zero), the MMIO and Interrupt caps work on under a new generation,
 * and the device is brought up again and read from.
 */
static void
reset_check(void)
{
	struct infos a, b;
	uint32_t inflight = 0, status = 0xff;
	read_infos("before-reset", &a);
	int st0 = buf_state(data, &inflight);
	struct capnp_msg m;
	struct capnp_struct root;
	struct ring_cqe c;
	int e = call(mmio, DeviceMmio_reset_ORDINAL, 0, NULL, 0, &m, &root, &c);
	int r = e < 0 ? e : dev_result(&root);
	CHECK("reset", r == 0 && st0 == DmaBufferState_mapped, "err=%d state_before=%d", r, st0);
	int err;
	uint64_t va = buf_map(data, &err);
	int st1 = buf_state(data, &inflight);
	CHECK("reset-buffer-stale", !va && err == 1 + DeviceError_stale && st1 == DmaBufferState_freed,
	    "map_err=%d state=%d", err, st1);
	read_infos("after-reset", &b);
	CHECK("reset-pool-zero", a.pool_used > 0 && b.pool_used == 0 && b.pool_bufs == 0 &&
	    b.pool_gen > a.pool_gen, "used=%lu->%lu buffers=%u->%u gen=%u->%u",
	    (unsigned long)a.pool_used, (unsigned long)b.pool_used, a.pool_bufs, b.pool_bufs,
	    a.pool_gen, b.pool_gen);
	int rs = reg_read(HDR_STATUS, 1, &status);
	CHECK("reset-caps-regranted", rs == 0 && status == 0 && b.mmio_gen != a.mmio_gen &&
	    b.irq_gen != a.irq_gen && b.mmio_gen && b.irq_gen, "read=%d status=%u mmio_gen=%u->%u "
	    "irq_gen=%u->%u", rs, status, a.mmio_gen, b.mmio_gen, a.irq_gen, b.irq_gen);
	rt_release(data);
	rt_release(ring);
	e = start();
	int n = e ? e : read_entropy(0, 64);
	CHECK("after-reset-entropy", e == 0 && n > 0 && n <= 64, "start=%d bytes=%d", e, n);
}

/* Two snapshots: from 0, then from the returned cursor; entries and events seen. */
static int
audit_read(void)
{
	capid_t log = rt_cap("audit", HardwareAuditLog_TYPE_ID);
	uint64_t cursor = 0;
	uint32_t total = 0, claims = 0, rejected = 0;
	for (int round = 0; round < 64; round++) {
		struct capnp_msg m;
		struct capnp_struct root;
		struct ring_cqe c;
		AuditSnapshot_R s;
		struct capnp_list l;
		HardwareAuditLog_snapshot_Params_B p;
		HardwareAuditLog_snapshot_Params_init_root(rt_msg_begin(), &p);
		HardwareAuditLog_snapshot_Params_set_cursor(p, cursor);
		HardwareAuditLog_snapshot_Params_set_maxEntries(p, 16);
		if (!log || call(log, HardwareAuditLog_snapshot_ORDINAL, rt_msg_end(pbuf, sizeof pbuf),
				 NULL, 0, &m, &root, &c) < 0 ||
		    capnp_ptr_struct(capnp_struct_ptr(&root, 0), &s.s) < 0 ||
		    AuditSnapshot_get_entries(s, &l) < 0)
			break;
		for (uint32_t i = 0; i < l.count; i++) {
			AuditEntry_R e;
			if (AuditEntry_list_get(&l, i, &e) < 0)
				continue;
			claims += AuditEntry_get_event(e) == AuditEvent_claim;
			rejected += AuditEntry_get_event(e) == AuditEvent_rejected;
		}
		total += l.count;
		uint64_t next = AuditSnapshot_get_nextCursor(s);
		if (l.count == 0 || next == cursor)
			break;
		cursor = next;
	}
	CHECK("audit-snapshot", log && total > 0 && claims > 0, "entries=%u claims=%u rejected=%u cursor=%lu",
	      total, claims, rejected, (unsigned long)cursor);
	return failures ? 1 : 0;
}

int
main(void)
{
	const char *me = rt_boot->name;
	mmio = rt_cap("mmio", DeviceMmio_TYPE_ID);
	irq = rt_cap("irq", Interrupt_TYPE_ID);
	pool = rt_cap("dma", DMAPool_TYPE_ID);

	if (!strcmp(me, "ddf-audit"))
		return audit_read();
	if (!memcmp(me, "ddf-thief", 9)) {
		CHECK("no-device-caps", !mmio && !irq && !pool, "mmio=%u irq=%u dma=%u", mmio, irq, pool);
		return 7;
	}
	CHECK("caps-granted", mmio && irq && pool, "mmio=%u irq=%u dma=%u", mmio, irq, pool);
	int e = start();
	CHECK("start", e == 0, "err=%d queue_size=%u", e, qsize);
	if (e)
		return 1;
	if (!strcmp(me, "ddf-exit") || !strcmp(me, "ddf-crash")) {
		uint64_t tok;
		/* slot 0: the device is told (it completes, uncollected); slot 1: submitted,
		 * device-visible, doorbell not rung yet: both outstanding at exit. */
		e = submit(data, 0, 0, 64, &tok);
		int d = reg_write(HDR_QUEUE_NOTIFY, 2, 0);
		int e2 = submit(data, 1, 64, 64, &tok);
		CHECK("dma-in-flight", e == 0 && d == 0 && e2 == 0, "submit=%d notify=%d submit2=%d", e, d,
		      e2);
		if (!strcmp(me, "ddf-crash"))
			__asm__ volatile("ud2");	/* fault with the descriptor uncollected */
		return 3;
	}
	for (int i = 0; i < 3; i++) {
		int n = read_entropy(0, 64);
		uint64_t w = 0;
		for (int k = 0; k < 8; k++)
			w = w << 8 | data_va[k];
		CHECK("entropy", n > 0 && n <= 64 && w != 0, "round=%d bytes=%d first8=%016lx", i, n,
		      (unsigned long)w);
	}
	int pw = read_entropy_parked();
	CHECK("parked-wait", pw > 0 && pw <= 64, "bytes=%d", pw);
	/* Hostile requests through the caps: each refused with its DeviceError. */
	e = reg_write(HDR_QUEUE_PFN, 4, 0x1234);
	CHECK("write-not-selected", e == -1 - DeviceError_notPermitted, "err=%d", e);
	int err;
	uint64_t va = buf_map(ring, &err);
	CHECK("map-ring-refused", !va && err == 1 + DeviceError_notPermitted, "err=%d", err);
	uint64_t tok;
	e = submit(data, 1, 4090, 64, &tok);
	CHECK("desc-outside-buffer", e == -1 - DeviceError_outOfRange, "err=%d", e);
	capid_t big = dma_alloc(1u << 20, DmaDirection_fromDevice, &err);
	CHECK("pool-over-budget", !big && err == 1 + DeviceError_budgetExhausted, "err=%d", err);
	capid_t tmp = dma_alloc(4096, DmaDirection_fromDevice, &err);
	int f1 = buf_free(tmp), f2 = buf_free(tmp);
	CHECK("double-free", tmp && f1 == 0 && f2 == -1 - DeviceError_stale, "first=%d second=%d", f1,
	      f2);
	e = submit(tmp, 1, 0, 64, &tok);
	CHECK("stale-dma-handle", e == -1 - DeviceError_stale, "err=%d", e);
	rt_release(tmp);
	config_check();
	chain_check();
	reset_check();
	rt_print("ddf-demo: %s done failures=%d", me, failures);
	return failures ? 1 : 0;
}
