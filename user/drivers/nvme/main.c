/*
 * NVMe driver process (boot module `nvme`; docs/drivers.md, docs/device-
 * manager.md "NVMe brokering"). It holds only the caps its manifest grants:
 *   mmio   DeviceMmio of BAR 0 (the NVMe registers: read-only mapping; the
 *          queue protocol is the kernel's, nvme_caps.c);
 *   irq    Interrupt (MSI-X vector 0), optional: without it the driver polls;
 *   dma    DMAPool;
 *   clock  WallClock, optional (command deadlines; virtual time without);
 *   disk, disk2   the BlockDevice endpoints it serves, one per active
 *          namespace in namespace order (more namespaces are not served).
 * The same host-tested core runs here (nvme.c, blkserv.c) over the caps
 * binding (capenv.c) and nvme_caps.c.
 *
 * Test role (TEST FIXTURE, test manifests only): a service named
 * `nvme-hostile` first tries the refused commands (Format NVM, firmware
 * download, a Read of a namespace never identified) through the real
 * brokered calls and prints what the kernel answered, reaps into a result
 * buffer too small for one completion (refused, nothing lost), checks that
 * a token from before an nvmeDisable is stale after it and that a reap then
 * is refused, resets the controller through the core, then serves as usual.
 *
 * Markers: `nvme: ready completion=... namespaces=N model=...`,
 * `nvme: ns=I nsid=N blocks=B bs=S`, `nvme: refused op=... err=...`,
 * `nvme: reap-small-buffer err=.. then-reaped=..`, `nvme: stale-after-disable
 * err=...` and `nvme: reap-after-disable err=..` (hostile role), `nvme: error=... err=...` (then exit 1).
 */
#include "capos.h"
#include "schema/block.capnp.h"
#include "schema/device.capnp.h"

#include "../blkproc.h"
#include "../capenv.h"
#include "nvme.h"

/* How long a command is collected (nvmeComplete calls) before the driver
 * parks on its interrupt: a parked wait is woken on a scheduler tick (10
 * ms). On QEMU/TCG this took 4 KiB random reads at queue depth 1 from ~230
 * to ~700-1100 IOPS (bench-blk, noisy shared host). */
#define NVME_PROC_SPIN_NS 4000000ull

static struct devenv env;
static struct nvme_ctrl ctrl;

/*
 * Asynchronous serving (blkproc_serve_async): one NVMe request per slot.
 * Each slot's message buffer (blkproc.h "Message buffers") lies in DMA
 * memory and the device is pointed at the request's data where it is: a
 * write's inside the received request, a read's in the answer's Data
 * field; no copy in the driver. The buffers sit back to back from
 * (page - BLKPROC_READ_DATA_OFF): a message is a whole number of pages, so
 * every read's data starts on a page (a 128 KiB read: 32 pages, a 31-entry
 * PRP list); a write's data is where the client's message put it, word-
 * aligned (128 KiB: up to 33 pages, a 32-entry list). 14 slots: 463 pages
 * of the 512-page DMA window (nvme.h).
 */
_Static_assert(BLKPROC_MAX_DATA <= NVME_SLOT_XFER, "an async slot holds one BlockDevice call");
_Static_assert(BLKPROC_MSG_MAX % NVME_PAGE_SIZE == 0, "every slot's read data page-aligned");
#define NVME_PROC_SLOTS BLKPROC_ASYNC_MAX
#define NVME_MSG_LEAD (NVME_PAGE_SIZE - BLKPROC_READ_DATA_OFF)
#define NVME_MSG_BYTES (NVME_MSG_LEAD + (uint64_t)NVME_PROC_SLOTS * BLKPROC_MSG_MAX)
/* The window area (blkproc.h "Windows") follows the messages, page-aligned. */
#define NVME_AREA_OFF ((NVME_MSG_BYTES + NVME_PAGE_SIZE - 1) & ~(uint64_t)(NVME_PAGE_SIZE - 1))
static struct blkproc_area area;
static struct blkproc_slot slots[NVME_PROC_SLOTS];
static struct nvme_req reqs[NVME_PROC_SLOTS];
static uint64_t spin_until;    /* poll without waiting until then */

static const char *const export_names[] = { "disk", "disk2" };
#define NEXPORTS (sizeof export_names / sizeof export_names[0])

static int
fail(const char *what, int err)
{
	rt_print("nvme: error=%s err=%d", what, err);
	return 1;
}

/* The manifest lists this export (its interface id may be left 0). */
static bool
export_granted(const char *name)
{
	return rt_cap(name, BlockDevice_TYPE_ID) || rt_cap(name, 0);
}

/* One command the kernel must refuse; prints the answer. */
static void
try_refused(const char *name, uint16_t qid, const struct nvme_sqe *cmd, const struct devenv_prp *prp)
{
	uint64_t tok = 0;
	int e = devenv_nvme_submit(&env, qid, cmd, prp, &tok);

	rt_print("nvme: refused op=%s err=%d accepted=%d", name, e, e == 0);
}

static void
hostile(void)
{
	struct nvme_sqe format = { .opc = 0x80, .nsid = 1 };            /* Format NVM */
	struct nvme_sqe fw = { .opc = 0x11 };                           /* Firmware Image Download */
	struct nvme_sqe sec = { .opc = 0x81, .nsid = 1 };               /* Security Send */
	struct nvme_sqe rd = { .opc = NVME_CMD_READ, .nsid = 77 };      /* never identified */
	struct nvme_sqe big = { .opc = NVME_CMD_READ, .nsid = 1, .cdw12 = 15 };
	struct devenv_prp prp = { ctrl.data.h, 0, 4096, 0, 0 };

	try_refused("format-nvm", 0, &format, NULL);
	try_refused("firmware-download", 0, &fw, NULL);
	try_refused("security-send", 0, &sec, NULL);
	try_refused("format-nvm-on-io-queue", 1, &format, NULL);
	try_refused("read-unidentified-ns", 1, &rd, &prp);
	/* 16 blocks of 512 bytes said, a 4 KiB window given: the device would overrun it */
	try_refused("read-longer-than-window", 1, &big, &prp);
}

/* The finished command `tok` of queue 1 comes back from a full-size reap
 * (bounded wait): 1, 0 when it never did, or an error. */
static int
reaped(uint64_t tok)
{
	struct devenv_nvme_done d[DEVENV_NVME_REAP_MAX];
	int n, i;

	for (unsigned tries = 0; tries < 1000; tries++, devenv_delay_us(&env, 1000)) {
		if ((n = devenv_nvme_reap(&env, 1, d, DEVENV_NVME_REAP_MAX)) < 0)
			return n;
		for (i = 0; i < n; i++)
			if (d[i].token == tok)
				return 1;
	}
	return 0;
}

/*
 * nvmeReap into a result buffer that holds an error but not one completion:
 * refused (outOfRange), and the finished command is still there for the
 * next reap: the kernel collects nothing the reply cannot carry.
 */
static void
reap_small_buffer(void)
{
	struct nvme_sqe flush = { .opc = NVME_CMD_FLUSH, .nsid = ctrl.ns[0].nsid };
	DeviceMmio_nvmeReap_Params_B p;
	NvmeReapResult_R r;
	struct capnp_struct root;
	struct capnp_msg m;
	struct ring_cqe cqe;
	uint64_t params[8], small[6], tok = 0;   /* 48 bytes: an error, not a completion */
	int e = devenv_nvme_submit(&env, 1, &flush, NULL, &tok), plen;

	devenv_delay_us(&env, 100000);          /* the flush finishes meanwhile */
	DeviceMmio_nvmeReap_Params_init_root(rt_msg_begin(), &p);
	DeviceMmio_nvmeReap_Params_set_queue(p, 1);
	DeviceMmio_nvmeReap_Params_set_maxCompletions(p, DEVENV_NVME_REAP_MAX);
	if (!e && (plen = rt_msg_end(params, sizeof params)) < 0)
		e = plen;
	if (!e && rt_call(capenv_mmio_cap(&env, 0), DeviceMmio_nvmeReap_ORDINAL, params,
	    (uint32_t)plen, small, sizeof small, NULL, 0, &cqe) < 0)
		e = E_IO;               /* the error reply did not fit either */
	if (!e && (rt_msg_read(&m, small, cqe.len, &root) < 0 || capenv_result(&root, &r.s) < 0))
		e = E_CORRUPT;
	if (!e)
		e = NvmeReapResult_which(r) == NvmeReapResult_which_completions ? 0 :
		    capenv_device_error(NvmeReapResult_get_error(r));
	rt_print("nvme: reap-small-buffer err=%d then-reaped=%d", e, reaped(tok));
}

/* A token from before a disable is stale afterwards; the core's reset brings
 * the controller back (re-identify, re-create the I/O queues). */
static int
stale_after_disable(void)
{
	struct nvme_sqe flush = { .opc = NVME_CMD_FLUSH, .nsid = ctrl.ns[0].nsid };
	uint64_t tok = 0;
	uint16_t status;
	uint32_t dw0;
	int e = devenv_nvme_submit(&env, 1, &flush, NULL, &tok);

	if (e)
		return e;
	if ((e = devenv_nvme_disable(&env, 0)))
		return e;
	e = devenv_nvme_complete(&env, tok, &status, &dw0);
	rt_print("nvme: stale-after-disable err=%d", e);
	rt_print("nvme: reap-after-disable err=%d", devenv_nvme_reap(&env, 1,
	    &(struct devenv_nvme_done){ 0 }, 1));
	return nvme_reset(&ctrl);
}

/* A disable whose RDY never dropped made the kernel reset the claim: the
 * message buffers (DMA memory) are revoked with the requests in them and
 * nothing can be answered from them. Exit: the clients see disconnected,
 * init restarts the driver. */
static void
exit_if_buffers_lost(void)
{
	if (ctrl.claim_resets && ctrl.as.slots) {
		rt_print("nvme: error=claim-reset-revoked-message-buffers resets=%u", ctrl.resets);
		sys_exit(1);
	}
}

static int
as_submit(void *drv, struct blkserv *srv, unsigned tag, const struct blkproc_io *io)
{
	struct nvme_ctrl *c = drv;
	struct nvme_ns *ns = srv->drv;
	static const uint8_t opc[] = { [BLKPROC_IO_READ] = NVME_CMD_READ,
		[BLKPROC_IO_WRITE] = NVME_CMD_WRITE, [BLKPROC_IO_FLUSH] = NVME_CMD_FLUSH };

	if (tag >= NVME_PROC_SLOTS || io->op == BLKPROC_IO_NONE || io->op > BLKPROC_IO_FLUSH)
		return E_INVAL;
	reqs[tag] = (struct nvme_req){ .ns = (uint32_t)(ns - c->ns), .opc = opc[io->op],
		.lba = io->lba, .count = io->count, .buf = io->buf };
	spin_until = devenv_now_ns(c->env) + NVME_PROC_SPIN_NS;
	int e = nvme_submit(c, &reqs[tag]);
	exit_if_buffers_lost();
	return e;
}

static int
as_poll(void *drv, int wait, unsigned *tags, int *errs, unsigned max)
{
	struct nvme_ctrl *c = drv;
	uint64_t now = devenv_now_ns(c->env);
	unsigned t, n = 0;

	/* A fast device finishes within microseconds; a parked interrupt wait
	 * is woken on a scheduler tick: collect without waiting for a while. */
	if (nvme_poll(c, wait && now >= spin_until ? NVME_CMD_TIMEOUT_NS : 0) > 0 ||
	    c->completion == NVME_POLL)
		spin_until = devenv_now_ns(c->env) + NVME_PROC_SPIN_NS;
	exit_if_buffers_lost();
	for (t = 0; t < NVME_PROC_SLOTS && n < max; t++) {
		if (!reqs[t].done)
			continue;
		tags[n] = t;
		errs[n++] = reqs[t].status;
		reqs[t] = (struct nvme_req){ 0 };
	}
	return (int)n;
}

static const struct blkproc_async_ops nvme_async_ops = { as_submit, as_poll };

/* blkproc_area.share: a DmaWindow on part of the area (in as.mem). */
static int
area_share(void *drv, uint32_t off, uint32_t len, capid_t *out)
{
	struct nvme_ctrl *c = drv;
	return capenv_dma_share(c->env, c->as.mem.h, NVME_AREA_OFF + off, len, out);
}

int
main(void)
{
	bool want_irq;
	struct blkproc_export ex[NEXPORTS];
	unsigned n = 0, i;
	int e;

	if (capenv_open_driver(&env, "nvme", &want_irq) < 0)
		return 1;
	uint8_t cfg[12];
	if (devenv_pci_config(&env, cfg, sizeof cfg) != (int)sizeof cfg)
		return fail("no-config", E_NOENT);
	if (cfg[11] != 0x01 || cfg[10] != 0x08 || cfg[9] != 0x02) {
		rt_print("nvme: error=not-nvme class=%02x:%02x:%02x", cfg[11], cfg[10], cfg[9]);
		return 1;
	}
	enum nvme_completion mode = want_irq ? NVME_IRQ : NVME_POLL;
	if ((e = nvme_init(&ctrl, &env, mode)) < 0)
		return fail("init", e);
	ctrl.irq_spin_ns = mode == NVME_IRQ ? NVME_PROC_SPIN_NS : 0;
	rt_print("nvme: ready completion=%s namespaces=%u max_xfer=%u model=%s",
	    mode == NVME_IRQ ? "msix" : "poll", ctrl.nns, ctrl.max_xfer, ctrl.model);
	if (strcmp(rt_boot->name, "nvme-hostile") == 0) {
		hostile();
		if (ctrl.nns)
			reap_small_buffer();
		if (ctrl.nns && (e = stale_after_disable()) < 0)
			return fail("reset-after-disable", e);
	}
	for (i = 0; i < ctrl.nns; i++) {
		rt_print("nvme: ns=%u nsid=%u blocks=%lu bs=%u", i, ctrl.ns[i].nsid,
		    (unsigned long)ctrl.ns[i].nsze, ctrl.ns[i].lba_size);
		if (n == NEXPORTS || !export_granted(export_names[n]))
			continue;
		if ((e = blkproc_check_disk(&ctrl.ns[i].srv)) < 0) {
			rt_print("nvme: ns=%u %s err=%d", i, e == E_PERM ? "boot-disk-refused" :
			    "disk-check-failed", e);
			continue;
		}
		ex[n] = (struct blkproc_export){ export_names[n], &ctrl.ns[i].srv };
		n++;
	}
	if (!n)
		return fail("nothing-to-serve", E_NOENT);
	/* Queue depth > 1 when the DMA pool holds the slots' message buffers;
	 * else one request at a time. */
	/* With the window area when the pool holds it, else without. */
	if ((e = nvme_async_init(&ctrl, NVME_PROC_SLOTS, NVME_AREA_OFF + BLKPROC_AREA_BYTES)) == 0)
		area = (struct blkproc_area){ .cpu = (uint8_t *)ctrl.as.mem.cpu + NVME_AREA_OFF,
			.bytes = BLKPROC_AREA_BYTES, .share = area_share, .drv = &ctrl };
	else if (e == E_NOMEM)
		e = nvme_async_init(&ctrl, NVME_PROC_SLOTS, NVME_MSG_BYTES);
	if (e == 0) {
		for (i = 0; i < NVME_PROC_SLOTS; i++)
			slots[i].buf = (uint8_t *)ctrl.as.mem.cpu + NVME_MSG_LEAD + (size_t)i * BLKPROC_MSG_MAX;
		rt_print("nvme: async slots=%u msg_in_dma=%lu window_area=%u", NVME_PROC_SLOTS,
		    (unsigned long)ctrl.as.mem.size, area.bytes);
		e = blkproc_serve_async(ex, n, slots, NVME_PROC_SLOTS, &nvme_async_ops, &ctrl, &area);
	} else {
		rt_print("nvme: async off err=%d", e);
		e = blkproc_serve(ex, n);
	}
	rt_print("nvme: served err=%d", e);
	nvme_fini(&ctrl);
	return e == E_DISCONNECTED ? 0 : 1;
}
