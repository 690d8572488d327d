/*
 * TEST CODE, not a driver. blkf's start-up crash role (any process name but
 * blkf-watch...; blkf.h): a block driver that dies in its start-up, before
 * it serves (tests/system/test_blk_faults.py, docs/testing.md "Block-driver
 * faults"). It runs the real driver's bring-up over the granted function
 * (capenv_open_driver, then vblk_init on a transitional virtio-blk 1af4:1001,
 * legacy transport on BAR 0, or nvme_init on an NVMe controller), then
 * leaves one request in flight and faults (ud2) instead of serving its
 * `disk` export:
 *   virtio-blk  a chain made available, the device never told (as
 *               virtio-blk's vblk-recover role does): in flight for good;
 *   NVMe        one asynchronous read submitted and not waited for (the
 *               device may have completed it by the fault).
 * So the kernel tears down a claim with DMA outstanding, init restarts the
 * service within its budget, and the service's clients must see an error,
 * not a hang.
 * Marker: `blkf-startcrash: NAME dev=virtio|nvme bring-up err=E blocks=N
 * in_flight=F; faulting before serving`.
 */
#include "capos.h"
#include "blkf.h"

#include "../../drivers/capenv.h"
#include "../../drivers/nvme/nvme.h"
#include "../../drivers/virtio_blk/virtio_blk.h"

static struct devenv env;
static struct vblk vb;
static struct nvme_ctrl ctrl;

/* Bring-up; 0 and the disk's blocks, one request left outstanding in *sent. */
static int
vblk_start(bool irq, uint64_t *blocks, bool *sent)
{
	int e = vblk_init(&vb, &env, VBLK_LEGACY, irq ? VBLK_IRQ : VBLK_POLL);
	if (e < 0)
		return e;
	struct virtq_seg seg = { vb.req.h, 4096, 512, 1 };
	*blocks = vb.block_count;
	*sent = virtq_add(&vb.vq, &seg, 1, (void *)1) == 0;
	return 0;
}

static int
nvme_start(bool irq, uint64_t *blocks, bool *sent)
{
	static struct nvme_req rq = { 0, NVME_CMD_READ, 0, 1, 0, 0, 0 };
	int e = nvme_init(&ctrl, &env, irq ? NVME_IRQ : NVME_POLL);
	if (e < 0)
		return e;
	*blocks = ctrl.nns ? ctrl.ns[0].nsze : 0;
	if (!ctrl.nns || nvme_async_init(&ctrl, 1, NVME_PAGE_SIZE) != 0)
		return 0;
	rq.buf = ctrl.as.mem.cpu;       /* async data lives in the DMA region */
	*sent = nvme_submit(&ctrl, &rq) == 0;
	return 0;
}

int
blkf_startcrash_main(void)
{
	bool irq, sent = false;
	uint64_t blocks = 0;
	int e;

	if (capenv_open_driver(&env, "blkf-startcrash", &irq) < 0)
		return 1;
	bool nvme = env.vendor != 0x1af4;
	e = nvme ? nvme_start(irq, &blocks, &sent) : vblk_start(irq, &blocks, &sent);
	rt_print("blkf-startcrash: %s dev=%s bring-up err=%d blocks=%lu in_flight=%d; "
	    "faulting before serving", rt_boot->name, nvme ? "nvme" : "virtio", e,
	    (unsigned long)blocks, sent);
	__asm__ volatile("ud2");
	return 1;
}
