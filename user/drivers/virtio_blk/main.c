/*
 * virtio-blk driver process (boot module `virtio-blk`; docs/drivers.md
 * "virtio over caps"). It holds only the caps its manifest grants:
 *   mmio   DeviceMmio of the BAR that carries the transport: BAR 0 (an I/O
 *          BAR) of a transitional device is the legacy header, the modern
 *          common-configuration BAR (QEMU: BAR 4) the modern transport;
 *   irq    Interrupt (MSI-X vector 0), optional: without it the driver polls;
 *   dma    DMAPool;
 *   clock  WallClock, optional (request deadlines; virtual time without);
 *   disk   the BlockDevice endpoint it serves (export).
 * The same host-tested cores run here (virtio_pci.c, virtio_blk.c, blkserv.c)
 * over the caps binding (capenv.c) and virtq_caps.c, where the kernel owns
 * the ring. It serves asynchronously (blkproc_serve_async: up to
 * BLKPROC_ASYNC_MAX requests at the device at once, answered as they
 * finish) when its DMA pool holds the slots, else one request at a time.
 *
 * No copy: each blkproc slot's message buffer is an area of the driver's
 * DMA request buffer (vblk_async_layout), placed so that a read's data
 * (BLKPROC_READ_DATA_OFF into the answer) starts on a page. The device
 * reads a write's data from the received request and writes a read's data
 * into the answer, where blkproc sends them from. A pool too small for 14
 * such buffers serves fewer slots; one too small for any falls back to
 * bounce slots (blkproc's own buffers, the data copied).
 *
 * Markers: `virtio-blk: ready transport=... completion=...`,
 * `virtio-blk: async slots=N big=K big_bytes=B small_bytes=S zero_copy=Z`
 * (Z slots whose messages are in DMA memory; or `async off err=E`) and
 * `virtio-blk: error=... ` (then exit 1).
 */
#include "capos.h"
#include "base/mem.h"
#include "schema/device.capnp.h"

#include "../blkproc.h"
#include "../capenv.h"
#include "../virtio/virtio.h"
#include "../virtio/virtio_reg.h"
#include "virtio_blk.h"

/* How long completions are collected (DMABuffer.completeBatch calls) after
 * the doorbell before the driver parks on its interrupt, as the NVMe driver
 * does (NVME_PROC_SPIN_NS). Parking costs an Interrupt.wait, the halt, the
 * interrupt and the wake-up; on a quiet host 4 ms of collecting measured
 * +12 % 4 KiB reads at queue depth 1 and +21 % / +33 % 128 KiB reads /
 * writes (three interleaved boots each, docs/bench-blk.md "Collect before
 * parking"). An earlier 1 ms try on a host at load 12 showed nothing. */
#define VBLK_PROC_SPIN_NS 4000000ull

static struct devenv env;
static struct vblk vb;

/* Asynchronous serving: one vblk request per blkproc slot. */
#define VBLK_PROC_SLOTS BLKPROC_ASYNC_MAX
static struct blkproc_slot slots[VBLK_PROC_SLOTS];
static struct vblk_req reqs[VBLK_PROC_SLOTS];
static bool started[VBLK_PROC_SLOTS];   /* at the driver, not yet reported */

static int
fail(const char *what, int err)
{
	rt_print("virtio-blk: error=%s err=%d", what, err);
	return 1;
}

/* The transport the granted BAR carries: legacy for the I/O BAR, modern for the
 * common configuration's BAR; anything else is the wrong BAR (-1). */
static int
transport_of(struct devenv *e, unsigned *common_bar)
{
	uint8_t cfg[CAPENV_CONFIG_BYTES];
	struct vio_caps caps;
	int n = devenv_pci_config(e, cfg, sizeof cfg);

	*common_bar = 6;
	if (n > 0 && vio_parse_caps(cfg, (size_t)n, &caps) == 0) {
		*common_bar = caps.common.bar;
		if (capenv_mmio_cap(e, caps.common.bar) && e->port_bar != (int)caps.common.bar)
			return VBLK_MODERN;
	}
	if (e->port_bar == 0)
		return VBLK_LEGACY;
	return -1;
}

/*
 * Test role `vblk-recover*`: a request chain is made available but the
 * device is never told (no doorbell), so it stays in flight; recovery
 * resets the device through DeviceMmio.reset (the kernel tears the chain
 * down), allocates again and brings the queue back; a read then works.
 */
static void
recover_check(void)
{
	static uint8_t sector[4096];
	struct virtq_seg seg = { vb.req.h, 4096, 512, 1 };
	int add = virtq_add(&vb.vq, &seg, 1, (void *)1);
	int rec = vblk_recover(&vb);
	int rd = vblk_read(&vb, 0, 1, sector);
	rt_print("virtio-blk: recover result=%s add=%d recover=%d read=%d resets=%u",
	    !add && !rec && !rd ? "pass" : "fail", add, rec, rd, vb.resets);
}

/* A recovery reset revoked the message buffers and the requests in them:
 * nothing can be answered from there. Exit: the kernel answers every call
 * in service with `disconnected`, and the supervisor's restart serves the
 * disk again. */
static void
exit_if_areas_lost(void)
{
	if (vb.areas_lost) {
		rt_print("virtio-blk: error=reset-revoked-message-buffers resets=%u", vb.resets);
		sys_exit(1);
	}
}

static int
as_submit(void *drv, struct blkserv *srv, unsigned tag, const struct blkproc_io *io)
{
	static const enum vblk_op op[] = { [BLKPROC_IO_READ] = VBLK_OP_READ,
		[BLKPROC_IO_WRITE] = VBLK_OP_WRITE, [BLKPROC_IO_FLUSH] = VBLK_OP_FLUSH };
	int e;

	(void)srv;
	if (tag >= VBLK_PROC_SLOTS || started[tag] || io->op == BLKPROC_IO_NONE ||
	    io->op > BLKPROC_IO_FLUSH)
		return E_INVAL;
	reqs[tag] = (struct vblk_req){ .op = op[io->op], .lba = io->lba, .count = io->count,
		.buf = io->buf };
	if ((e = vblk_submit(drv, &reqs[tag])) == 0)
		started[tag] = true;
	exit_if_areas_lost();   /* a broken queue resets the device at once */
	return e;
}

static int
as_poll(void *drv, int wait, unsigned *tags, int *errs, unsigned max)
{
	unsigned t, n = 0;
	bool ready = false;

	for (t = 0; t < VBLK_PROC_SLOTS; t++)
		ready |= started[t] && reqs[t].done;   /* e.g. a flush of a write-through device */
	(void)vblk_poll(drv, wait && !ready ? VBLK_TIMEOUT_NS : 0);
	exit_if_areas_lost();
	for (t = 0; t < VBLK_PROC_SLOTS && n < max; t++) {
		if (!started[t] || !reqs[t].done)
			continue;
		tags[n] = t;
		errs[n++] = reqs[t].status;
		started[t] = false;
	}
	return (int)n;
}

static const struct blkproc_async_ops vblk_async_ops = { as_submit, as_poll };

/* The window area (blkproc.h "Windows"): the request buffer's extra range. */
static struct blkproc_area window_area;

static int
area_share(void *drv, uint32_t off, uint32_t len, capid_t *out)
{
	struct vblk *b = drv;
	return capenv_dma_share(&env, b->req.h, b->extra_off + off, len, out);
}

/* Message buffers in DMA memory: as many slots as the pool holds a whole
 * message for (each a vblk area). The number of slots, 0 when not even one
 * fits, or an error other than E_NOMEM. */
static int
area_init(void)
{
	struct vblk_layout l = { .slots = VBLK_PROC_SLOTS, .areas = VBLK_PROC_SLOTS,
		.area_bytes = BLKPROC_MSG_MAX, .area_lead = BLKPROC_READ_DATA_OFF,
		.extra_bytes = BLKPROC_AREA_BYTES };
	uint64_t off;
	int e = vblk_async_layout(&vb, &l);     /* every slot and the window area */

	if (e == 0 && (window_area.cpu = vblk_extra(&vb, &off)) != NULL) {
		window_area.bytes = BLKPROC_AREA_BYTES;
		window_area.share = area_share;
		window_area.drv = &vb;
	}
	for (uint16_t k = VBLK_PROC_SLOTS; k >= 1 && e == E_NOMEM; k--) {
		l = (struct vblk_layout){ .slots = k, .areas = k, .area_bytes = BLKPROC_MSG_MAX,
			.area_lead = BLKPROC_READ_DATA_OFF };
		e = vblk_async_layout(&vb, &l);
	}
	if (e < 0)
		return e == E_NOMEM ? 0 : e;
	for (uint16_t i = 0; i < vb.slots; i++)
		slots[i].buf = vblk_area(&vb, i);
	return vb.slots;
}

/* Without message buffers in DMA memory: one bounce slot per blkproc slot.
 * Each holds one BlockDevice message's data when the DMA pool allows; else
 * as many of those as fit (at least one), the others VBLK_PROC_SMALL (a
 * 4 KiB request still finds a slot). 0 and the split, or the last error. */
#define VBLK_PROC_SMALL (16u * 1024u)

static int
bounce_init(uint16_t *big, uint32_t *big_bytes)
{
	uint32_t bytes = BLKPROC_MAX_DATA < VBLK_MAX_BYTES ? BLKPROC_MAX_DATA : VBLK_MAX_BYTES;
	int e = E_NOMEM;

	bytes -= bytes % vb.block_size;
	for (uint16_t k = VBLK_PROC_SLOTS; k >= 1 && e == E_NOMEM; k--) {
		uint32_t small = VBLK_PROC_SMALL < bytes ? VBLK_PROC_SMALL : bytes;
		if ((e = vblk_async_init(&vb, VBLK_PROC_SLOTS, k, bytes, small)) == 0) {
			*big = k;
			*big_bytes = bytes;
		}
	}
	return e;
}

int
main(void)
{
	bool want_irq;
	unsigned common_bar;
	int e;

	if (capenv_open_driver(&env, "virtio-blk", &want_irq) < 0)
		return 1;
	uint8_t id[4];
	if (devenv_pci_config(&env, id, sizeof id) != (int)sizeof id)
		return fail("no-config", E_NOENT);
	uint16_t vendor = (uint16_t)(id[0] | id[1] << 8), device = (uint16_t)(id[2] | id[3] << 8);
	if (vendor != VIRTIO_PCI_VENDOR || (device != 0x1001 && device != 0x1042)) {
		rt_print("virtio-blk: error=not-a-block-device id=%04x:%04x", vendor, device);
		return 1;
	}
	int t = transport_of(&env, &common_bar);
	if (t < 0) {
		unsigned granted = 0;
		while (granted < CAPENV_BARS && !capenv_mmio_cap(&env, granted))
			granted++;
		rt_print("virtio-blk: error=wrong-bar granted=%u common_config_bar=%u "
		    "(grant BAR 0 of a transitional device for legacy, the common config BAR for modern)",
		    granted, common_bar);
		return 1;
	}
	/* With an Interrupt grant both transports complete by interrupt: MSI-X
	 * (legacy: the transport programs the vector registers and reads the
	 * config at 24) or, on a route of kind intx, the pin (ISR read, then
	 * acknowledge). virtio functions offer no plain MSI. */
	enum vblk_completion c = want_irq ? VBLK_IRQ : VBLK_POLL;
	if ((e = vblk_init(&vb, &env, (enum vblk_transport)t, c)) < 0)
		return fail("init", e);
	rt_print("virtio-blk: ready transport=%s completion=%s blocks=%lu bs=%u max_blocks=%u",
	    t == VBLK_MODERN ? "modern" : "legacy",
	    c == VBLK_POLL ? "poll" : devenv_irq_is_msix(&env) ? "msix" : "intx",
	    (unsigned long)vb.block_count, vb.block_size, vb.max_blocks);
	vb.hard_reset = capenv_reset;	/* recovery revokes what the device may still hold */
	if (!memcmp(rt_boot->name, "vblk-recover", 12))
		recover_check();
	if ((e = blkproc_check_disk(&vb.srv)) < 0)
		return fail(e == E_PERM ? "boot-disk-refused" : "disk-check", e);
	struct blkproc_export ex = { "disk", &vb.srv };
	uint16_t big = 0;
	uint32_t big_bytes = 0;
	int zc = area_init();
	if (zc > 0) {
		big = (uint16_t)zc;     /* every slot holds a whole message */
		big_bytes = vb.max_blocks * vb.block_size;
		e = 0;
	} else if ((e = zc) == 0) {
		e = bounce_init(&big, &big_bytes);
	}
	if (e == 0) {
		rt_print("virtio-blk: async slots=%u big=%u big_bytes=%u small_bytes=%u zero_copy=%d "
		    "window_area=%u", vb.slots, big, big_bytes, vb.slot_len[vb.slots - 1], zc,
		    window_area.bytes);
		vb.irq_spin_ns = c == VBLK_IRQ ? VBLK_PROC_SPIN_NS : 0;
		e = blkproc_serve_async(&ex, 1, slots, vb.slots, &vblk_async_ops, &vb, &window_area);
	} else {
		rt_print("virtio-blk: async off err=%d", e);
		e = blkproc_serve(&ex, 1);
	}
	rt_print("virtio-blk: served err=%d", e);
	return e == E_DISCONNECTED ? 0 : 1;
}
