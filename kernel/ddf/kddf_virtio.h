/*
 * The virtio split-ring format the kernel authors for a claimed virtio PCI
 * function (docs/device-manager.md, "virtio formats"), one module for both
 * transports:
 *   legacy  (KDDF_FMT_VIRTIO_LEGACY): the I/O BAR0 header, ring at QUEUE_PFN;
 *   modern  (KDDF_FMT_VIRTIO_MODERN): the common configuration found by the
 *           kernel's own walk of the vendor capabilities, the three ring
 *           addresses brokered (brokeredQueueBase) from one ring buffer.
 * Either way the ring is a DMA buffer the driver can never map: the kernel
 * writes descriptors (addresses) and the available ring on publish, and
 * parses the used ring for the ledger's completions.
 *
 * Every function here runs under the kddf lock (kddf_int.h).
 */
#ifndef CAPOS_KDDF_VIRTIO_H
#define CAPOS_KDDF_VIRTIO_H

#include <stdint.h>
#include "ddf/kddf_int.h"

struct pci_func;

/* Modern common configuration (virtio 1.x §4.1.4.3), offsets from its start. */
#define VIRTIO_MOD_DFSELECT	0x00
#define VIRTIO_MOD_GFSELECT	0x08
#define VIRTIO_MOD_GF		0x0c
#define VIRTIO_MOD_MSIX		0x10
#define VIRTIO_MOD_NUMQ		0x12
#define VIRTIO_MOD_STATUS	0x14
#define VIRTIO_MOD_Q_SELECT	0x16
#define VIRTIO_MOD_Q_SIZE	0x18
#define VIRTIO_MOD_Q_MSIX	0x1a
#define VIRTIO_MOD_Q_ENABLE	0x1c
#define VIRTIO_MOD_Q_NOFF	0x1e
#define VIRTIO_MOD_Q_DESC	0x20
#define VIRTIO_MOD_Q_DRIVER	0x28
#define VIRTIO_MOD_Q_DEVICE	0x30
#define VIRTIO_MOD_COMMON_LEN	0x38

/* Where the modern regions are (from the function's vendor capabilities). */
struct kvirtio_caps {
	uint8_t cbar, nbar;
	uint32_t coff, clen;	/* common configuration */
	uint32_t noff, nlen;	/* notify region */
	uint32_t nmult;		/* notify_off_multiplier */
	uint8_t qnotify;	/* queues (bit q, q < 4) with a doorbell in the policy */
	uint32_t qnoff[4];	/* each one's offset in the notify region */
};

/* Bounded walk of the vendor capabilities; E_NOENT without a usable common + notify. */
int kvirtio_find_caps(struct pci_func *f, struct kvirtio_caps *out);

/* The format for a virtio function granted `bar` (KDDF_FMT_NONE when it is neither). */
uint8_t kvirtio_format(struct pci_func *f, uint8_t bar, struct kvirtio_caps *caps);

/* Selected-write policies. Legacy: kddf.h's kddf_policy_virtio_legacy. Modern
 * also records each queue's doorbell in vc (qnotify, qnoff). */
void kvirtio_policy_modern(struct pci_func *f, struct kvirtio_caps *vc,
    struct ddf_policy *pol, uint32_t owner, uint64_t budget, uint32_t max_inflight);

/* A claim slot starts (or stops) using the modern format with these regions. */
void kvirtio_claimed(uint32_t ci, const struct kvirtio_caps *vc);

/* Before a driver's register write: E_PERM/E_BUSY for a modern queue write out of order. */
int kvirtio_write_check(uint32_t ci, uint8_t bar, uint64_t off, uint8_t width, uint32_t v);
/* After a register write reached the device: track queue select and device reset. */
void kvirtio_written(uint32_t ci, uint8_t bar, uint64_t off, uint8_t width, uint32_t v);

/* Legacy QUEUE_PFN: attach `ring` to the selected queue (checks size and mapping). */
int kvirtio_legacy_ring(uint32_t ci, uint64_t ring_cookie);
/*
 * Modern brokeredQueueBase: the checks before the ledger writes the address
 * (queue not enabled, offsets of the one ring layout for the current size),
 * then kvirtio_base_done after it did. *queue_ready is 1 once all three
 * addresses of the selected queue are brokered: the ring is attached and
 * *queue, *size name it.
 */
int kvirtio_base_check(uint32_t ci, uint8_t bar, uint64_t off, uint64_t ring_cookie,
    uint64_t buf_off);
void kvirtio_base_done(uint32_t ci, uint8_t bar, uint64_t off, uint64_t ring_cookie,
    int *queue_ready, uint16_t *queue, uint16_t *size);

/* Whether a descriptor can go into (queue, slot): a ring is attached, the slot and a NEXT
 * link inside it. */
int kvirtio_submit_check(uint32_t ci, uint16_t queue, uint16_t slot, uint16_t flags,
    uint16_t next);

/* kddf.c: whether the ledger holds any live descriptor (deferred, in flight or completed,
 * not collected) of claim slot ci on `queue`; a ring is never re-attached under one. */
bool kddf_int_queue_live(uint32_t ci, uint16_t queue);
/* kddf.c: whether a buffer (kbuf cookie) is named by any live descriptor. */
bool kddf_int_buf_live(uint64_t buf_cookie);
/* Write the descriptor; unless deferred, make the slot available (a chain head). */
void kvirtio_publish(uint32_t ci, uint16_t queue, uint16_t slot, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next, int deferred);
/* The doorbell of `queue` (a ring attached): E_INVAL for no such queue, E_NOTSUP
 * for a modern queue whose doorbell the policy does not hold; with `ring`, then
 * written (legacy QUEUE_NOTIFY, modern the queue's notify address; value = queue). */
int kvirtio_notify(uint32_t ci, uint16_t queue, bool ring);
/* Remember the head's token for the used-ring entry that will name its slot. */
void kvirtio_head_token(uint32_t ci, uint16_t queue, uint16_t slot, ddf_handle token);
/* Parse every attached used ring: ddf_dma_device_done for each head the device finished. */
void kvirtio_poll(uint32_t ci);
/* Teardown's drain: reset the device (it forgets every ring address), forget the rings. */
void kvirtio_drain(uint32_t ci);

#endif
