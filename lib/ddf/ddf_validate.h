/*
 * Pure validators of the device-driver foundation (issue 6 §7). No state, no
 * effects: the ledger calls them in its decode step, the fuzzers and CBMC can
 * call them alone. Each returns 0 when the request is acceptable, or the
 * negative code (lib/base/err.h) the ledger hands back to the driver.
 * All arithmetic is checked for overflow before it is done.
 */
#ifndef CAPOS_DDF_VALIDATE_H
#define CAPOS_DDF_VALIDATE_H

#include <stdbool.h>
#include <stdint.h>

#include "ddf/ddf_types.h"

/* Round len up to whole pages into *out; E_RANGE on overflow, E_INVAL on 0. */
int ddf_page_round(uint64_t len, uint64_t *out);

/*
 * Window containment: a user-mappable MMIO window [off, off+len) of a BAR of
 * bar_size bytes. off must be page aligned; the page-rounded length (*rlen)
 * must lie wholly inside the BAR. E_INVAL: len 0 or off unaligned; E_RANGE:
 * outside the BAR or overflow.
 */
int ddf_window_check(uint64_t bar_size, uint64_t off, uint64_t len, uint64_t *rlen);

/*
 * Register access inside a window: off (relative to the window) of `width`
 * bytes, naturally aligned, wholly inside a window of win_len bytes.
 */
int ddf_reg_check(uint64_t win_len, uint64_t off, uint32_t width);

/* Descriptor bounds: [off, off+len) inside a buffer of buf_size; len > 0. */
int ddf_desc_check(uint64_t buf_size, uint64_t off, uint64_t len);

/* Handle epoch: the handle's generation equals the slot's, and is not 0. */
int ddf_epoch_check(uint32_t handle_gen, uint32_t slot_gen);

/* Ring depth: a power of two in 1..max (max <= 32768 for virtio). */
int ddf_depth_check(uint32_t depth, uint32_t max);

/*
 * Brokered address argument: the kernel will author the device-visible
 * address of (buffer + buf_off). buf_off must lie inside the buffer with at
 * least `need` bytes after it and be aligned to 1 << align_log2.
 */
int ddf_brokered_check(uint64_t buf_size, uint64_t buf_off, uint64_t need, uint8_t align_log2);

/*
 * ---- Brokered device formats (ddf_broker.c) ----
 * The kernel writes device-visible addresses; the driver names memory as
 * (DMABuffer, offset). These check the driver's arguments before the kernel
 * materialises them; sizes are the buffers' page-rounded sizes.
 */

/* virtio 1.x §2.7.5 split-virtqueue descriptor flags */
#define DDF_VIRTQ_F_NEXT 1u
#define DDF_VIRTQ_F_WRITE 2u
#define DDF_VIRTQ_F_INDIRECT 4u
#define DDF_VIRTQ_DESC_SIZE 16u
#define DDF_VIRTQ_MAX_SIZE 32768u       /* virtio 1.x §2.7: Queue Size <= 32768, power of 2 */

/*
 * One descriptor written by the kernel at (ring + ring_off) pointing at
 * (data + data_off, len). ring_entries: the queue size (power of two);
 * the descriptor table must fit the ring buffer, ring_off must name one of
 * its 16-byte entries, next must be < ring_entries, flags only NEXT|WRITE
 * (INDIRECT: E_NOTSUP, since an indirect table would hold driver-written
 * addresses), and the data window must lie inside the data buffer.
 */
int ddf_virtq_desc_check(uint64_t ring_size, uint64_t ring_off, uint32_t ring_entries,
    uint64_t data_size, uint64_t data_off, uint32_t len, uint16_t flags, uint16_t next);

/* NVMe PRPs (NVMe Base 2.0 §4.1.1, memory page size 4 KiB, CC.MPS = 0) */
#define DDF_PRP_LIST_MAX 512u           /* entries in one list page; no chaining */

/*
 * A data transfer (data + data_off, len): data_off dword aligned, window
 * inside the buffer. Returns the number of memory pages it touches (>= 1).
 * When that is more than 2 a PRP list is needed: list_size must be non-zero
 * (a list buffer given), list_off page aligned, the pages - 1 entries inside
 * the list buffer and at most DDF_PRP_LIST_MAX.
 */
int ddf_prp_check(uint64_t data_size, uint64_t data_off, uint32_t len, uint64_t list_size,
    uint64_t list_off);

/*
 * Materialise the PRPs of a checked transfer (kernel side: page_addr gives
 * the device-visible address of page i of the data buffer). Sets *prp1 and
 * *prp2; when a list is needed writes pages - 1 entries to list (the list
 * page's kernel mapping) and sets *prp2 = list_addr. Returns entries written.
 */
int ddf_prp_fill(uint64_t (*page_addr)(void *ctx, uint64_t page), void *ctx,
    uint64_t data_off, uint32_t len, uint64_t *list, uint64_t list_addr, uint64_t *prp1,
    uint64_t *prp2);

/* PCI address fields in range (device < 32, function < 8). */
bool ddf_pci_addr_valid(const struct ddf_pci_addr *a);
bool ddf_pci_addr_eq(const struct ddf_pci_addr *a, const struct ddf_pci_addr *b);

#endif
