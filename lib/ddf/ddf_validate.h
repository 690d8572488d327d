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

/* PCI address fields in range (device < 32, function < 8). */
bool ddf_pci_addr_valid(const struct ddf_pci_addr *a);
bool ddf_pci_addr_eq(const struct ddf_pci_addr *a, const struct ddf_pci_addr *b);

#endif
