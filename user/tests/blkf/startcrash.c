/*
 * TEST CODE, not a driver. blkf's start-up crash role (any process name but
 * blkf-watch...; blkf.h): a virtio-blk driver that dies
 * in its start-up, before it serves (tests/system/test_blk_faults.py,
 * docs/testing.md "Block-driver faults"). It runs the real driver's
 * bring-up (the same capenv_open_driver and vblk_init as
 * user/drivers/virtio_blk/main.c, legacy transport on BAR 0 of a
 * transitional 1af4:1001), then leaves one request chain in flight (made
 * available, the device never told, as virtio-blk's vblk-recover role does)
 * and faults (ud2) instead of serving its `disk` export. So the kernel tears
 * down a claim with DMA in flight, init restarts the service within its
 * budget, and the service's clients must see an error, not a hang.
 * Marker: `blkf-startcrash: NAME bring-up err=E blocks=N in_flight=F; faulting before
 * serving`.
 */
#include "capos.h"
#include "blkf.h"

#include "../../drivers/capenv.h"
#include "../../drivers/virtio_blk/virtio_blk.h"

static struct devenv env;
static struct vblk vb;

int
blkf_startcrash_main(void)
{
	bool want_irq;
	int e, add = -1;

	if (capenv_open_driver(&env, "blkf-startcrash", &want_irq) < 0)
		return 1;
	e = vblk_init(&vb, &env, VBLK_LEGACY, want_irq ? VBLK_IRQ : VBLK_POLL);
	if (e == 0) {
		struct virtq_seg seg = { vb.req.h, 4096, 512, 1 };
		add = virtq_add(&vb.vq, &seg, 1, (void *)1);
	}
	rt_print("blkf-startcrash: %s bring-up err=%d blocks=%lu in_flight=%d; faulting before serving",
	    rt_boot->name, e, e == 0 ? (unsigned long)vb.block_count : 0ul, add == 0);
	__asm__ volatile("ud2");
	return 1;
}
