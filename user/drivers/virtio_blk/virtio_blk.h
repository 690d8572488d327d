/*
 * virtio-blk driver core over the virtio transport (user/drivers/virtio).
 * One request queue. Requests go through slots of one DMA buffer (bounce
 * memory the driver copies through): page 0 holds every slot's header and
 * status byte, then each slot's data. Synchronous calls (vblk_read/write/
 * flush, served through blkserv) use a slot and wait for it; the
 * asynchronous calls (vblk_submit/vblk_poll) keep up to `slots` requests at
 * the device at once, answered in whatever order the device finishes them.
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
#define VBLK_SLOTS_MAX 16u              /* requests at the device at once */
#define VBLK_SLOT_HDR 32u               /* page 0: header @32i, status @32i + 16 */
#define VBLK_DATA_OFF 4096u             /* the slots' data from here, slot after slot */

enum vblk_op { VBLK_OP_READ = 1, VBLK_OP_WRITE = 2, VBLK_OP_FLUSH = 3 };

/* One request of the asynchronous interface; the caller's until done. */
struct vblk_req {
	enum vblk_op op;
	uint64_t lba;
	uint32_t count;
	void *buf;              /* write: source; read: destination */
	int status;             /* once done: 0 or a negative code */
	int done;
};

enum vblk_transport { VBLK_MODERN = 0, VBLK_LEGACY = 1 };
enum vblk_completion { VBLK_POLL = 0, VBLK_IRQ = 1 };

struct vblk {
	struct vio_dev vio;
	struct virtq vq;
	struct devenv_dma req;          /* the slots (see VBLK_SLOT_HDR, VBLK_DATA_OFF) */
	struct devenv *env;
	enum vblk_transport transport;
	enum vblk_completion completion;
	uint64_t timeout_ns;
	uint32_t block_size;
	uint64_t block_count;
	uint32_t max_blocks;            /* per request: device limit and slot size */
	uint32_t dev_max_blocks;        /* the device's (size_max) and VBLK_MAX_BYTES */
	int read_only;
	int has_flush;
	int dead;                       /* recovery failed: requests fail at once */
	uintptr_t seq;                  /* request cookie */
	uint32_t resets, timeouts, corrupt;     /* recovery counters */
	/* slots: a request in slot s is inflight[s] until it is finished */
	uint16_t slots;
	uint32_t slot_len[VBLK_SLOTS_MAX];      /* data bytes of slot s */
	uint64_t slot_off[VBLK_SLOTS_MAX];      /* its offset in req */
	struct vblk_req *inflight[VBLK_SLOTS_MAX];
	uintptr_t cookie[VBLK_SLOTS_MAX];
	uint64_t deadline[VBLK_SLOTS_MAX];
	uint32_t completed;             /* requests finished, ever */
	uint16_t unnotified;            /* made available since the last doorbell */
	uint64_t irq_spin_ns;           /* IRQ mode: keep collecting this long before waiting */
	uint64_t spin_until;
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

/* Use `slots` (1..VBLK_SLOTS_MAX) slots from now on: the first `big` of
 * big_bytes, the others of small_bytes (each a whole number of blocks, at
 * most VBLK_MAX_BYTES; small_bytes unused when big == slots), in one new
 * DMA buffer. E_BUSY while a request is in flight; on an error the old
 * slots stay. max_blocks follows the largest slot; a request takes the
 * smallest free slot that holds it (E_AGAIN when none does). */
int vblk_async_init(struct vblk *b, uint16_t slots, uint16_t big, uint32_t big_bytes,
    uint32_t small_bytes);
/* Start r (checked like the synchronous calls: E_INVAL, E_RANGE, E_PERM);
 * E_AGAIN when every slot (or the ring) is busy. On success r is in flight
 * until a poll finishes it (done = 1, status), or already done (a flush of a
 * write-through device). The doorbell is rung by the next poll, once for
 * every request made available before it. On an error r is not in flight. */
int vblk_submit(struct vblk *b, struct vblk_req *r);
/* Ring the doorbell if requests wait for it, then collect completions,
 * waiting up to timeout_ns for one. The number of requests finished during
 * the call, 0 when none did in time or none is in flight. A request past its
 * deadline, a corrupted used ring or a lost interrupt route finishes every
 * request in flight with an error (E_TIMEOUT, E_IO, the route's) and resets
 * the device (vblk_recover): each request is finished exactly once. */
int vblk_poll(struct vblk *b, uint64_t timeout_ns);
uint32_t vblk_pending(const struct vblk *b);
/* Reset the device and bring the queue back (after a timeout or a
 * corrupted used ring); every request still in flight finishes with E_IO
 * first. The next request works again. If the device does
 * not come back the driver is dead (every request E_IO at once) until a
 * later vblk_recover succeeds. */
int vblk_recover(struct vblk *b);

#endif
