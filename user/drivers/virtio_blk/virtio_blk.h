/*
 * virtio-blk driver core over the virtio transport (user/drivers/virtio).
 * One request queue. Requests go through slots of one DMA buffer, the
 * request buffer: page 0 holds every slot's header and status byte; then
 * come the caller's areas, if it asked for any, then each slot's bounce
 * data. A request whose data already lies inside one caller area (a
 * driver process receives its BlockDevice messages there) is moved by the
 * device in place: no copy. Any other request's data is copied through its
 * slot's bounce data. Synchronous calls (vblk_read/write/flush, served
 * through blkserv) use a slot and wait for it; the asynchronous calls
 * (vblk_submit/vblk_poll) keep up to `slots` requests at the device at once,
 * answered in whatever order the device finishes them.
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
#define VBLK_DATA_OFF 4096u             /* the areas, then the slots' data, from here */
#define VBLK_AREA_MAX_BYTES (256u * 1024u)      /* per caller area */
/* An area starts `lead` bytes before a page boundary; area 0 ends page 0,
 * after the slots' headers. */
#define VBLK_AREA_MAX_LEAD (VBLK_DATA_OFF - VBLK_SLOTS_MAX * VBLK_SLOT_HDR)

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

/*
 * The request buffer's slots and areas (vblk_async_layout). Slots: the
 * first `big` hold big_bytes of bounce data, the others small_bytes; with
 * areas, big may be 0: every slot is a header only, and only requests whose
 * data lies in an area are served. Areas: `areas` regions of area_bytes,
 * area i at VBLK_DATA_OFF + i x (area_bytes rounded up to pages) - lead, so
 * that area + lead is page-aligned (blkproc: lead BLKPROC_READ_DATA_OFF
 * puts a read's data on a page boundary).
 */
struct vblk_layout {
	uint16_t slots;
	uint16_t big;
	uint32_t big_bytes, small_bytes;
	uint16_t areas;
	uint32_t area_bytes;
	uint32_t area_lead;
	uint32_t extra_bytes;           /* a page-aligned zero-copy range after everything
					   (blkproc windows), page multiple, 0: none */
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
	struct vblk_layout lay;         /* of req */
	uint64_t extra_off;             /* lay.extra_bytes: its offset in req */
	uint16_t slots;
	uint32_t slot_len[VBLK_SLOTS_MAX];      /* bounce data bytes of slot s (0: header only) */
	uint64_t slot_off[VBLK_SLOTS_MAX];      /* its offset in req */
	uint32_t bounce_max;            /* the largest slot_len */
	struct vblk_req *inflight[VBLK_SLOTS_MAX];
	uint64_t data_off[VBLK_SLOTS_MAX];      /* in flight: its data in req */
	uint8_t bounced[VBLK_SLOTS_MAX];        /* in flight: copied through the slot */
	uint32_t copied;                /* requests copied through a slot, ever */
	int areas_lost;                 /* a device reset revoked the caller's areas */
	uintptr_t cookie[VBLK_SLOTS_MAX];
	uint64_t deadline[VBLK_SLOTS_MAX];
	uint32_t completed;             /* requests finished, ever */
	uint16_t unnotified;            /* made available since the last doorbell */
	uint32_t notified_with_add;     /* requests whose doorbell came with the chain, ever */
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
/* The same for any layout (struct vblk_layout): E_INVAL for areas over
 * VBLK_SLOTS_MAX, an area of more than VBLK_AREA_MAX_BYTES or less than a
 * block, a lead over VBLK_AREA_MAX_LEAD, or no bounce slot without areas.
 * max_blocks then follows the largest slot or area. A request whose data
 * lies wholly in one area takes any free slot and is not copied; another
 * takes a slot whose bounce data holds it (E_INVAL when no slot ever does).
 * With areas, a recovery that resets the device through hard_reset loses
 * them (the reset revokes every buffer): the driver is dead and
 * areas_lost is set; the caller must not touch its areas again. */
int vblk_async_layout(struct vblk *b, const struct vblk_layout *l);
/* Area i of the current layout (CPU address), NULL when there is none. */
void *vblk_area(const struct vblk *b, uint16_t i);
/* The extra range (CPU address; its offset in req in *off), NULL when none. A
 * request whose data lies wholly inside it is not copied either. */
void *vblk_extra(const struct vblk *b, uint64_t *off);
#define VBLK_EXTRA_MAX (16u * 1024u * 1024u)
/* Start r (checked like the synchronous calls: E_INVAL, E_RANGE, E_PERM);
 * E_AGAIN when every slot (or the ring) is busy. On success r is in flight
 * until a poll finishes it (done = 1, status), or already done (a flush of a
 * write-through device). A request made available to an idle device (none
 * in flight, none waiting for the doorbell) rings it in the same step where
 * the binding can (virtq_add_notify); otherwise the doorbell is rung by the
 * next poll, once for every request made available before it. On an error r
 * is not in flight. */
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
