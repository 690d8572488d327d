/*
 * devenv.h over the kernel's device caps (capenv.h; docs/drivers.md "The
 * caps binding"). Every call is one capnp call on one cap; the kernel checks
 * it against the device-manager ledger, so nothing here is trusted for
 * safety: the binding only translates and keeps the driver's handle table.
 *
 * Register reads of a memory BAR go through the read-only mapping the kernel
 * gave (no system call); everything else is brokered.
 *
 * Time (captime.h): the TSC calibrated on an optional WallClock grant
 * `clock`, virtual time without it.
 */
#include "capenv.h"

#include "schema/base.capnp.h"

#include "schema/device.capnp.h"
#include "schema/exception.capnp.h"

static uint64_t cpbuf[512], crbuf[512];

/* ---- calls ---- */

int
capenv_call(capid_t cap, uint16_t method, const struct ring_xfer *x, uint32_t nx,
    struct capnp_struct *root)
{
	/* static: the root read from it stays valid until the next call */
	static struct capnp_msg m;
	struct ring_cqe c;
	return capenv_call_cqe(cap, method, x, nx, root, &c, &m);
}

int
capenv_exception_err(int type)
{
	switch (type) {
	case ExceptionType_disconnected: return E_DISCONNECTED;
	case ExceptionType_overloaded: return E_AGAIN;
	case ExceptionType_unimplemented: return E_NOTSUP;
	case ExceptionType_invalidArgument: return E_INVAL;
	default: return E_IO;
	}
}

int
capenv_call_cqe(capid_t cap, uint16_t method, const struct ring_xfer *x, uint32_t nx,
    struct capnp_struct *root, struct ring_cqe *c, struct capnp_msg *m)
{
	int plen = rt_msg_end(cpbuf, sizeof cpbuf);
	c->ncaps = 0;
	if (plen < 0)
		return plen;
	if (!cap)
		return E_NOENT;
	int r = rt_call(cap, method, cpbuf, (uint32_t)plen, crbuf, sizeof crbuf, x, nx, c);
	if (r == RING_E_EXCEPTION)
		return capenv_exception_err(rt_exception_type(crbuf, c->len));
	if (r < 0)
		return c->detail < 0 ? c->detail : E_IO;
	return rt_msg_read(m, crbuf, c->len, root) < 0 ? E_CORRUPT : 0;
}

int
capenv_result(const struct capnp_struct *root, struct capnp_struct *out)
{
	return capnp_ptr_struct(capnp_struct_ptr(root, 0), out) < 0 ? E_CORRUPT : 0;
}

int
capenv_device_error(uint16_t de)
{
	switch (de) {
	case DeviceError_stale: case DeviceError_revoked: return E_STALE;
	case DeviceError_outOfRange: return E_RANGE;
	case DeviceError_notPermitted: return E_PERM;
	case DeviceError_budgetExhausted: return E_NOMEM;
	case DeviceError_busy: return E_BUSY;
	case DeviceError_notMapped: return E_NOENT;
	default: return E_INVAL;        /* unaligned, invalid, an ordinal we do not know */
	}
}

int
capenv_device_result(const struct capnp_struct *root)
{
	DeviceResult_R r;
	if (capenv_result(root, &r.s) < 0)
		return E_CORRUPT;
	if (DeviceResult_which(r) == DeviceResult_which_ok)
		return 0;
	return capenv_device_error(DeviceResult_get_error(r));
}

/* ---- the crash test point ---- */

/*
 * A driver process whose name ends in `-crash` faults (ud2) at its
 * CAPENV_CRASH_AT-th wait for the device (an interrupt wait or a polling
 * delay), or at its CAPENV_CRASH_LOOKS-th look at a queue with requests in
 * flight (devenv_busy_look), whichever comes first: a driver killed in the
 * middle of I/O, with its request's DMA in flight, for
 * tests/system/test_blk.py and test_blk_faults.py. Any other name never
 * reaches it. The looks are there because at queue depth 14 the NVMe
 * driver's polls can always find a completion on a quiet host and then
 * never wait: counting waits alone left test_crash_in_service_at_queue_depth
 * [nvme] without its crash (2026-11-26). At queue depth 1 a request is ~2
 * looks and 1 wait, so there the waits come first.
 */
static void
crash_fault(struct devenv *env, const char *what, uint32_t n)
{
	rt_print("capenv: %s crash-test fault at %s %u", rt_boot->name, what, n);
	__asm__ volatile("ud2");
}

static void
crash_point(struct devenv *env)
{
	if (env->crash_at && ++env->waits == env->crash_at)
		crash_fault(env, "wait", env->waits);
}

static bool
crash_test_name(const char *name)
{
	size_t n = strlen(name);
	return n >= 6 && !strcmp(name + n - 6, "-crash");
}

/* ---- time ---- */

uint64_t
devenv_now_ns(struct devenv *env)
{
	return captime_now_ns(&env->time);
}

void
devenv_busy_look(struct devenv *env)
{
	if (env->crash_at && ++env->looks == CAPENV_CRASH_LOOKS)
		crash_fault(env, "look", env->looks);
}

void
devenv_delay_us(struct devenv *env, uint32_t us)
{
	crash_point(env);
	captime_delay_us(&env->time, us);
}

/* ---- DeviceMmio ---- */

static int
mmio_info(capid_t cap, unsigned *bar, uint64_t *len, uint16_t *vendor, uint16_t *device)
{
	struct capnp_struct root;
	MmioInfo_R i;
	DeviceMmio_info_Params_B p;
	DeviceMmio_info_Params_init_root(rt_msg_begin(), &p);
	int e = capenv_call(cap, DeviceMmio_info_ORDINAL, NULL, 0, &root);
	if (e < 0 || (e = capenv_result(&root, &i.s)) < 0)
		return e;
	*bar = MmioInfo_get_bar(i);
	*len = MmioInfo_get_length(i);
	*vendor = MmioInfo_get_vendorId(i);
	*device = MmioInfo_get_deviceId(i);
	return *bar < CAPENV_BARS ? 0 : E_CORRUPT;
}

/* A mapping must cover what it maps (the kernel reports the page-rounded
 * length of the window or buffer). */
static bool
map_len_ok(uint64_t reported, uint64_t need)
{
	return reported >= need;
}

/* DeviceMmio.map: a read-only mapping of a memory BAR; a port window refuses. */
static void
bar_map(struct capenv_bar *b)
{
	struct capnp_struct root;
	MapResult_R r;
	UserMapping_R u;
	DeviceMmio_map_Params_B p;
	DeviceMmio_map_Params_init_root(rt_msg_begin(), &p);
	b->va = NULL;
	if (capenv_call(b->cap, DeviceMmio_map_ORDINAL, NULL, 0, &root) < 0 ||
	    capenv_result(&root, &r.s) < 0 || MapResult_which(r) != MapResult_which_mapping ||
	    MapResult_get_mapping(r, &u) < 0 || !map_len_ok(UserMapping_get_length(u), b->length))
		return;
	b->va = (volatile uint8_t *)UserMapping_get_address(u);
	b->map_gen = UserMapping_get_generation(u);
}

static int
config_read(struct devenv *env, capid_t cap)
{
	struct capnp_struct root;
	ConfigResult_R r;
	struct capnp_data d;
	DeviceMmio_config_Params_B p;
	DeviceMmio_config_Params_init_root(rt_msg_begin(), &p);
	env->config_len = 0;
	int e = capenv_call(cap, DeviceMmio_config_ORDINAL, NULL, 0, &root);
	if (e < 0 || (e = capenv_result(&root, &r.s)) < 0)
		return e;
	if (ConfigResult_which(r) != ConfigResult_which_data)
		return capenv_device_error(ConfigResult_get_error(r));
	if (ConfigResult_get_data(r, &d) < 0 || d.len > CAPENV_CONFIG_BYTES)
		return E_CORRUPT;
	memcpy(env->config, d.ptr, d.len);
	env->config_len = (uint32_t)d.len;
	return 0;
}

static int
add_mmio(struct devenv *env, capid_t cap, bool first)
{
	unsigned bar;
	uint64_t len;
	uint16_t v, d;
	int e = mmio_info(cap, &bar, &len, &v, &d);
	if (e < 0)
		return e;
	if (env->bar[bar].cap || (!first && (v != env->vendor || d != env->device)))
		return E_EXIST;         /* one cap per BAR, all of one function */
	env->vendor = v;
	env->device = d;
	env->bar[bar] = (struct capenv_bar){ .cap = cap, .length = len };
	bar_map(&env->bar[bar]);
	if (!env->bar[bar].va && env->port_bar < 0)
		env->port_bar = (int)bar;
	return 0;
}

int
capenv_add_mmio(struct devenv *env, const char *name)
{
	capid_t cap = rt_cap(name, DeviceMmio_TYPE_ID);
	return cap ? add_mmio(env, cap, false) : E_NOENT;
}

capid_t
capenv_mmio_cap(struct devenv *env, unsigned bar)
{
	return bar < CAPENV_BARS ? env->bar[bar].cap : 0;
}

static struct capenv_bar *
bar_get(struct devenv *env, unsigned bar)
{
	return bar < CAPENV_BARS && env->bar[bar].cap ? &env->bar[bar] : NULL;
}

int
devenv_pci_config(struct devenv *env, uint8_t *buf, size_t len)
{
	if (!env->config_len)
		return E_NOTSUP;
	if (len > env->config_len)
		len = env->config_len;
	memcpy(buf, env->config, len);
	return (int)len;
}

static int
reg_read(capid_t cap, uint64_t off, unsigned width, uint32_t *val)
{
	struct capnp_struct root;
	MmioReadResult_R r;
	DeviceMmio_read_Params_B p;
	DeviceMmio_read_Params_init_root(rt_msg_begin(), &p);
	DeviceMmio_read_Params_set_offset(p, off);
	DeviceMmio_read_Params_set_width(p, (uint8_t)width);
	int e = capenv_call(cap, DeviceMmio_read_ORDINAL, NULL, 0, &root);
	if (e < 0 || (e = capenv_result(&root, &r.s)) < 0)
		return e;
	if (MmioReadResult_which(r) != MmioReadResult_which_value)
		return capenv_device_error(MmioReadResult_get_error(r));
	*val = MmioReadResult_get_value(r);
	return 0;
}

static int
reg_write(capid_t cap, uint64_t off, unsigned width, uint32_t val)
{
	struct capnp_struct root;
	DeviceMmio_write_Params_B p;
	DeviceMmio_write_Params_init_root(rt_msg_begin(), &p);
	DeviceMmio_write_Params_set_offset(p, off);
	DeviceMmio_write_Params_set_width(p, (uint8_t)width);
	DeviceMmio_write_Params_set_value(p, val);
	int e = capenv_call(cap, DeviceMmio_write_ORDINAL, NULL, 0, &root);
	return e < 0 ? e : capenv_device_result(&root);
}

static bool
width_ok(uint64_t off, unsigned width)
{
	return (width == 1 || width == 2 || width == 4) && off % width == 0;
}

int
devenv_mmio_read(struct devenv *env, unsigned bar, uint64_t off, unsigned width, uint32_t *val)
{
	struct capenv_bar *b = bar_get(env, bar);
	if (!b)
		return E_NOENT;
	if (!width_ok(off, width))
		return E_INVAL;
	if (!b->va)
		return reg_read(b->cap, off, width, val);
	if (off >= b->length || width > b->length - off)
		return E_RANGE;
	switch (width) {
	case 1: *val = *(volatile uint8_t *)(b->va + off); break;
	case 2: *val = *(volatile uint16_t *)(b->va + off); break;
	default: *val = *(volatile uint32_t *)(b->va + off); break;
	}
	return 0;
}

int
devenv_mmio_write(struct devenv *env, unsigned bar, uint64_t off, unsigned width, uint32_t val)
{
	struct capenv_bar *b = bar_get(env, bar);
	if (!b)
		return E_NOENT;
	return width_ok(off, width) ? reg_write(b->cap, off, width, val) : E_INVAL;
}

int
devenv_mmio_set_addr(struct devenv *env, unsigned bar, uint64_t off, devenv_dma_t buf,
    uint64_t buf_off)
{
	struct capnp_struct root;
	struct capenv_bar *b = bar_get(env, bar);
	capid_t bc = capenv_dma_cap(env, buf);
	if (!b)
		return E_NOENT;
	if (!bc)
		return E_STALE;
	DeviceMmio_brokeredQueueBase_Params_B p;
	DeviceMmio_brokeredQueueBase_Params_init_root(rt_msg_begin(), &p);
	DeviceMmio_brokeredQueueBase_Params_set_offset(p, off);
	DeviceMmio_brokeredQueueBase_Params_set_buffer(p, 0);
	DeviceMmio_brokeredQueueBase_Params_set_bufferOffset(p, buf_off);
	struct ring_xfer x = { bc, RING_XFER_COPY };
	int e = capenv_call(b->cap, DeviceMmio_brokeredQueueBase_ORDINAL, &x, 1, &root);
	return e < 0 ? e : capenv_device_result(&root);
}

/* ---- the legacy port window ---- */

int
devenv_port_read(struct devenv *env, uint64_t off, unsigned width, uint32_t *val)
{
	if (env->port_bar < 0)
		return E_NOENT;
	if (!width_ok(off, width))
		return E_INVAL;
	return reg_read(env->bar[env->port_bar].cap, off, width, val);
}

int
devenv_port_write(struct devenv *env, uint64_t off, unsigned width, uint32_t val)
{
	if (env->port_bar < 0)
		return E_NOENT;
	if (!width_ok(off, width))
		return E_INVAL;
	return reg_write(env->bar[env->port_bar].cap, off, width, val);
}

int
devenv_port_set_pfn(struct devenv *env, uint64_t off, devenv_dma_t buf)
{
	struct capnp_struct root;
	capid_t bc = capenv_dma_cap(env, buf);
	if (env->port_bar < 0)
		return E_NOENT;
	if (!bc)
		return E_STALE;
	DeviceMmio_brokeredQueuePfn_Params_B p;
	DeviceMmio_brokeredQueuePfn_Params_init_root(rt_msg_begin(), &p);
	DeviceMmio_brokeredQueuePfn_Params_set_offset(p, off);
	DeviceMmio_brokeredQueuePfn_Params_set_buffer(p, 0);
	struct ring_xfer x = { bc, RING_XFER_COPY };
	int e = capenv_call(env->bar[env->port_bar].cap, DeviceMmio_brokeredQueuePfn_ORDINAL, &x, 1,
	    &root);
	return e < 0 ? e : capenv_device_result(&root);
}

/* ---- DMA: the handle table ---- */

static struct capenv_dma *
dma_slot(struct devenv *env, devenv_dma_t h)
{
	uint64_t idx = (h & 0xffffffffu);
	if (idx == 0 || idx > CAPENV_DMA_SLOTS)
		return NULL;
	struct capenv_dma *s = &env->dma[idx - 1];
	return s->cap && s->gen == (uint32_t)(h >> 32) ? s : NULL;
}

capid_t
capenv_dma_cap(struct devenv *env, devenv_dma_t h)
{
	struct capenv_dma *s = dma_slot(env, h);
	return s ? s->cap : 0;
}

/* Forget a slot: its handle goes stale. */
static void
dma_forget(struct capenv_dma *s)
{
	rt_release(s->cap);
	s->cap = 0;
	s->cpu = NULL;
	s->size = 0;
	if (++s->gen == 0)
		s->gen = 1;
}

static int
pool_alloc(struct devenv *env, uint64_t bytes, enum devenv_dma_dir dir, capid_t *out)
{
	struct capnp_struct root;
	struct capnp_msg m;
	struct ring_cqe c;
	DmaAllocateResult_R r;
	DMAPool_allocateBuffer_Params_B p;
	if ((unsigned)dir > DEVENV_DMA_BIDIRECTIONAL || bytes == 0 || bytes > (1ull << 30))
		return E_INVAL;
	DMAPool_allocateBuffer_Params_init_root(rt_msg_begin(), &p);
	DMAPool_allocateBuffer_Params_set_size(p, bytes);
	DMAPool_allocateBuffer_Params_set_direction(p, (uint16_t)dir);
	int e = capenv_call_cqe(env->pool, DMAPool_allocateBuffer_ORDINAL, NULL, 0, &root, &c, &m);
	if (e < 0 || (e = capenv_result(&root, &r.s)) < 0) {
		for (uint32_t i = 0; i < c.ncaps && i < RING_MAX_XFER; i++)
			rt_release(c.caps[i]);
		return e;
	}
	if (DmaAllocateResult_which(r) != DmaAllocateResult_which_buffer)
		return capenv_device_error(DmaAllocateResult_get_error(r));
	*out = rt_adopt(&c, 0, DMABuffer_TYPE_ID);
	return *out ? 0 : E_CORRUPT;
}

static int
buf_map(capid_t cap, uint64_t size, void **va)
{
	struct capnp_struct root;
	MapResult_R r;
	UserMapping_R u;
	DMABuffer_map_Params_B p;
	DMABuffer_map_Params_init_root(rt_msg_begin(), &p);
	int e = capenv_call(cap, DMABuffer_map_ORDINAL, NULL, 0, &root);
	if (e < 0 || (e = capenv_result(&root, &r.s)) < 0)
		return e;
	if (MapResult_which(r) != MapResult_which_mapping)
		return capenv_device_error(MapResult_get_error(r));
	if (MapResult_get_mapping(r, &u) < 0 || !map_len_ok(UserMapping_get_length(u), size))
		return E_CORRUPT;
	*va = (void *)UserMapping_get_address(u);
	return 0;
}

int
capenv_dma_share(struct devenv *env, devenv_dma_t h, uint64_t off, uint64_t len, capid_t *out)
{
	static struct capnp_msg m;
	struct capnp_struct root;
	struct ring_cqe c;
	DmaShareResult_R r;
	DMABuffer_share_Params_B p;
	capid_t cap = capenv_dma_cap(env, h);

	if (!cap)
		return E_STALE;
	DMABuffer_share_Params_init_root(rt_msg_begin(), &p);
	DMABuffer_share_Params_set_offset(p, off);
	DMABuffer_share_Params_set_length(p, len);
	int e = capenv_call_cqe(cap, DMABuffer_share_ORDINAL, NULL, 0, &root, &c, &m);
	if (e == 0)
		e = capenv_result(&root, &r.s);
	if (e == 0 && DmaShareResult_which(r) != DmaShareResult_which_window)
		e = capenv_device_error(DmaShareResult_get_error(r));
	if (e == 0 && (c.ncaps != 1 || c.iids[0] != DmaWindow_TYPE_ID))
		e = E_CORRUPT;
	if (e < 0) {
		for (uint32_t k = 0; k < c.ncaps && k < RING_MAX_XFER; k++)
			rt_release(c.caps[k]);
		return e;
	}
	*out = c.caps[0];
	return 0;
}

static int
buf_free(capid_t cap)
{
	struct capnp_struct root;
	DMABuffer_free_Params_B p;
	DMABuffer_free_Params_init_root(rt_msg_begin(), &p);
	int e = capenv_call(cap, DMABuffer_free_ORDINAL, NULL, 0, &root);
	return e < 0 ? e : capenv_device_result(&root);
}

static int
dma_new(struct devenv *env, uint64_t bytes, enum devenv_dma_dir dir, bool map,
    struct capenv_dma **slot, devenv_dma_t *h)
{
	uint32_t i;
	for (i = 0; i < CAPENV_DMA_SLOTS && env->dma[i].cap; i++)
		;
	if (i == CAPENV_DMA_SLOTS)
		return E_LIMIT;         /* CAPENV_DMA_SLOTS buffers per driver */
	struct capenv_dma *s = &env->dma[i];
	capid_t cap;
	int e = pool_alloc(env, bytes, dir, &cap);
	if (e < 0)
		return e;
	s->cap = cap;
	s->size = (bytes + DEVENV_PAGE_SIZE - 1) & ~(uint64_t)(DEVENV_PAGE_SIZE - 1);
	s->cpu = NULL;
	if (map && (e = buf_map(cap, s->size, &s->cpu)) < 0) {
		buf_free(cap);
		dma_forget(s);
		return e;
	}
	if (s->gen == 0)
		s->gen = 1;
	*slot = s;
	*h = (uint64_t)s->gen << 32 | (i + 1);
	return 0;
}

int
devenv_dma_alloc(struct devenv *env, uint64_t bytes, enum devenv_dma_dir dir,
    struct devenv_dma *out)
{
	struct capenv_dma *s;
	devenv_dma_t h;
	int e = dma_new(env, bytes, dir, true, &s, &h);
	if (e < 0)
		return e;
	*out = (struct devenv_dma){ .cpu = s->cpu, .size = s->size, .h = h };
	return 0;
}

int
capenv_dma_alloc_ring(struct devenv *env, uint64_t bytes, enum devenv_dma_dir dir,
    devenv_dma_t *h)
{
	struct capenv_dma *s;
	return dma_new(env, bytes, dir, false, &s, h);
}

int
devenv_dma_free(struct devenv *env, struct devenv_dma *buf)
{
	struct capenv_dma *s = dma_slot(env, buf->h);
	if (!s)
		return E_STALE;
	int e = buf_free(s->cap);
	if (e < 0 && e != E_STALE)
		return e;               /* still device-visible (busy): the kernel refused */
	dma_forget(s);
	buf->cpu = NULL;
	buf->h = 0;
	return 0;
}

/* ---- Interrupt ---- */

int
devenv_irq_wait(struct devenv *env, uint64_t timeout_ns)
{
	struct capnp_struct root;
	InterruptWaitResult_R r;
	InterruptFired_R f;
	Interrupt_wait_Params_B p;
	if (!env->irq)
		return E_NOENT;
	crash_point(env);
	Interrupt_wait_Params_init_root(rt_msg_begin(), &p);
	Interrupt_wait_Params_set_timeoutNs(p, timeout_ns);
	int e = capenv_call(env->irq, Interrupt_wait_ORDINAL, NULL, 0, &root);
	if (e < 0 || (e = capenv_result(&root, &r.s)) < 0)
		return e;
	switch (InterruptWaitResult_which(r)) {
	case InterruptWaitResult_which_fired:
		if (InterruptWaitResult_get_fired(r, &f) < 0)
			return E_CORRUPT;
		env->irq_gen = InterruptFired_get_generation(f);
		env->irq_owed = true;
		return InterruptFired_get_count(f) ? (int)(InterruptFired_get_count(f) & 0x7fffffff) : 1;
	case InterruptWaitResult_which_timedOut:
		captime_waited(&env->time, timeout_ns);
		return 0;
	default:
		return capenv_device_error(InterruptWaitResult_get_error(r));
	}
}

int
devenv_irq_ack(struct devenv *env)
{
	struct capnp_struct root;
	Interrupt_acknowledge_Params_B p;
	if (!env->irq)
		return E_NOENT;
	if (!env->irq_owed)
		return E_BUSY;          /* nothing fired: no EOI is owed */
	Interrupt_acknowledge_Params_init_root(rt_msg_begin(), &p);
	Interrupt_acknowledge_Params_set_generation(p, env->irq_gen);
	int e = capenv_call(env->irq, Interrupt_acknowledge_ORDINAL, NULL, 0, &root);
	env->irq_owed = false;
	return e < 0 ? e : capenv_device_result(&root);
}

int
devenv_irq_is_msix(struct devenv *env)
{
	return env->irq && env->irq_msix;
}

/* Interrupt.info's kind (MSI-X, MSI or INTx: kernel/ddf/kddf.c); a kernel
 * without `info` routed MSI-X only. */
static void
irq_kind(struct devenv *env)
{
	struct capnp_struct root;
	InterruptInfo_R i;
	Interrupt_info_Params_B p;
	Interrupt_info_Params_init_root(rt_msg_begin(), &p);
	env->irq_msix = true;
	if (capenv_call(env->irq, Interrupt_info_ORDINAL, NULL, 0, &root) == 0 &&
	    capenv_result(&root, &i.s) == 0)
		env->irq_msix = InterruptInfo_get_kind(i) == InterruptKind_msix;
}

/* ---- open, reset, close ---- */

int
capenv_open(struct devenv *env, const char *mmio, const char *irq, const char *dma)
{
	memset(env, 0, sizeof *env);
	env->port_bar = -1;
	capid_t m = rt_cap(mmio, DeviceMmio_TYPE_ID);
	env->pool = rt_cap(dma, DMAPool_TYPE_ID);
	env->irq = irq ? rt_cap(irq, Interrupt_TYPE_ID) : 0;
	if (!m || !env->pool || (irq && !env->irq))
		return E_NOENT;
	int e = add_mmio(env, m, true);
	if (e < 0)
		return e;
	if ((e = config_read(env, m)) < 0)
		return e;
	if (env->irq)
		irq_kind(env);
	env->clock = rt_cap("clock", WallClock_TYPE_ID);
	captime_init(&env->time, env->clock);
	env->crash_at = crash_test_name(rt_boot->name) ? CAPENV_CRASH_AT : 0;
	return 0;
}

int
capenv_reset(struct devenv *env)
{
	struct capnp_struct root;
	capid_t m = 0;
	for (unsigned b = 0; b < CAPENV_BARS && !m; b++)
		m = env->bar[b].cap;
	DeviceMmio_reset_Params_B p;
	DeviceMmio_reset_Params_init_root(rt_msg_begin(), &p);
	int e = capenv_call(m, DeviceMmio_reset_ORDINAL, NULL, 0, &root);
	if (e == 0)
		e = capenv_device_result(&root);
	if (e < 0)
		return e;
	/* The kernel revoked every buffer and mapping of the claim. */
	for (unsigned i = 0; i < CAPENV_DMA_SLOTS; i++)
		if (env->dma[i].cap)
			dma_forget(&env->dma[i]);
	env->irq_owed = false;
	for (unsigned b = 0; b < CAPENV_BARS; b++)
		if (env->bar[b].cap && env->bar[b].va)
			bar_map(&env->bar[b]);
	return 0;
}

void
capenv_close(struct devenv *env)
{
	for (unsigned i = 0; i < CAPENV_DMA_SLOTS; i++)
		if (env->dma[i].cap) {
			buf_free(env->dma[i].cap);
			dma_forget(&env->dma[i]);
		}
	for (unsigned b = 0; b < CAPENV_BARS; b++)
		if (env->bar[b].cap) {
			rt_release(env->bar[b].cap);
			env->bar[b].cap = 0;
		}
	if (env->irq)
		rt_release(env->irq);
	if (env->pool)
		rt_release(env->pool);
	env->irq = env->pool = 0;
}

int
capenv_open_driver(struct devenv *env, const char *who, bool *irq)
{
	const char *what;
	int e;

	*irq = rt_cap("irq", Interrupt_TYPE_ID) != 0;
	if (!rt_cap("dma", DMAPool_TYPE_ID)) {
		what = "no-dma-pool";
		e = E_NOENT;
	} else if (!rt_cap("mmio", DeviceMmio_TYPE_ID)) {
		what = "no-mmio";
		e = E_NOENT;
	} else if ((e = capenv_open(env, "mmio", *irq ? "irq" : NULL, "dma")) < 0) {
		what = "capenv-open";
	} else {
		return 0;
	}
	rt_print("%s: error=%s err=%d", who, what, e);
	return e;
}
