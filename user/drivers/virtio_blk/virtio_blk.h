/*
 * virtio-blk driver core over the virtio transport (user/drivers/virtio).
 * One request queue, one request at a time; the request's header, status
 * byte and data live in one DMA buffer allocated at init (bounce memory the
 * driver copies through). Serves BlockDevice through blkserv.
 */
#ifndef CAPOS_DRIVERS_VIRTIO_BLK_H
#define CAPOS_DRIVERS_VIRTIO_BLK_H

#include <stdint.h>

#include "../blkserv.h"
#include "../devenv.h"
#include "../virtio/virtio.h"

#define VBLK_MAX_BYTES (128u * 1024u)   /* per request */
#define VBLK_QUEUE_WANT 128u            /* modern: ring entries requested */
#define VBLK_TIMEOUT_NS 5000000000ull   /* 5 s per request */

enum vblk_transport { VBLK_MODERN = 0, VBLK_LEGACY = 1 };
enum vblk_completion { VBLK_POLL = 0, VBLK_IRQ = 1 };

struct vblk {
	struct vio_dev vio;
	struct virtq vq;
	struct devenv_dma req;          /* header @0, status @16, data @4096 */
	struct devenv *env;
	enum vblk_transport transport;
	enum vblk_completion completion;
	uint64_t timeout_ns;
	uint32_t block_size;
	uint64_t block_count;
	uint32_t max_blocks;
	int read_only;
	int has_flush;
	int dead;                       /* recovery failed: requests fail at once */
	uintptr_t seq;                  /* request cookie */
	uint32_t resets, timeouts, corrupt;     /* recovery counters */
	struct blkserv srv;
	/* Optional, set after vblk_init: a full device reset that revokes every
	 * DMA buffer (the caps binding: capenv_reset, DeviceMmio.reset). Recovery
	 * then allocates the ring and the request buffer again, so descriptors
	 * the device never completed do not stay device-visible. */
	int (*hard_reset)(struct devenv *env);
};

int vblk_init(struct vblk *b, struct devenv *env, enum vblk_transport t, enum vblk_completion c);
void vblk_fini(struct vblk *b);
int vblk_read(struct vblk *b, uint64_t lba, uint32_t count, void *buf);
int vblk_write(struct vblk *b, uint64_t lba, uint32_t count, const void *buf);
int vblk_flush(struct vblk *b);
/* Reset the device and bring the queue back (after a timeout or a
 * corrupted used ring); the next request works again. If the device does
 * not come back the driver is dead (every request E_IO at once) until a
 * later vblk_recover succeeds. */
int vblk_recover(struct vblk *b);

#endif
