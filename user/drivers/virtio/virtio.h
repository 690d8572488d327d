/*
 * virtio PCI transport, kept apart from the devices that use it (virtio-blk
 * is the first). Two transports behind one ops table:
 *  - modern (virtio 1.x 4.1.4): the common, notify, ISR and device regions
 *    are found by walking the vendor capabilities of a PCI configuration
 *    snapshot the environment provides, then reached with brokered MMIO;
 *  - legacy 0.9 (4.1.5.1): the I/O BAR, reached only through the brokered
 *    port window scoped to that BAR.
 * Queue addresses are written by the environment (devenv_mmio_set_addr,
 * devenv_port_set_pfn), never by this code.
 */
#ifndef CAPOS_DRIVERS_VIRTIO_H
#define CAPOS_DRIVERS_VIRTIO_H

#include <stddef.h>
#include <stdint.h>

#include "../devenv.h"
#include "virtq.h"

struct vio_region {
	uint8_t present;
	uint8_t bar;
	uint32_t off;
	uint32_t len;
};

struct vio_caps {
	struct vio_region common, notify, isr, device;
	uint32_t notify_mult;
};

struct vio_dev;

struct vio_ops {
	int (*get_status)(struct vio_dev *d, uint8_t *status);
	int (*set_status)(struct vio_dev *d, uint8_t status);
	int (*get_features)(struct vio_dev *d, uint64_t *features);
	int (*set_features)(struct vio_dev *d, uint64_t features);
	int (*queue_max)(struct vio_dev *d, uint16_t q, uint32_t *max);
	int (*queue_setup)(struct vio_dev *d, struct virtq *vq);
	int (*notify)(struct vio_dev *d, uint16_t q);
	int (*isr)(struct vio_dev *d, uint8_t *isr);
	int (*cfg_read)(struct vio_dev *d, uint32_t off, unsigned width, uint32_t *val);
	int (*cfg_gen)(struct vio_dev *d, uint32_t *gen);
};

struct vio_dev {
	struct devenv *env;
	const struct vio_ops *ops;
	int modern;
	struct vio_caps caps;
	uint64_t features;              /* negotiated */
	uint32_t reset_timeout_us;
};

/* Pure: find the virtio vendor capabilities in a config-space snapshot.
 * E_NOENT when a required region (common, notify, isr) is absent,
 * E_CORRUPT for a malformed chain (bad pointer, cycle, short cap, bar > 5). */
int vio_parse_caps(const uint8_t *cfg, size_t len, struct vio_caps *out);

int vio_probe_modern(struct vio_dev *d, struct devenv *env);
int vio_probe_legacy(struct vio_dev *d, struct devenv *env);

/* Reset (waits for status 0 on modern), ACKNOWLEDGE, DRIVER, then offer
 * required|optional & device features; fails closed (E_NOTSUP, status
 * FAILED) when a required feature is absent or FEATURES_OK does not stick.
 * VERSION_1 is added to `required` for the modern transport. */
int vio_negotiate(struct vio_dev *d, uint64_t required, uint64_t optional);
/* Read the queue maximum, validate it, pick the size (modern: min(max,
 * want); legacy: the device's), allocate or reuse the rings and program
 * them. vq->mem is kept across resets when the size is unchanged. */
int vio_queue_setup(struct vio_dev *d, struct virtq *vq, uint16_t q, uint16_t want);
int vio_driver_ok(struct vio_dev *d);
void vio_fail(struct vio_dev *d);
int vio_reset(struct vio_dev *d);
int vio_notify(struct vio_dev *d, uint16_t q);
/* Device config read with the config-generation retry (modern 4.1.4.3). */
int vio_cfg_read(struct vio_dev *d, uint32_t off, unsigned width, uint32_t *val);
int vio_cfg_read64(struct vio_dev *d, uint32_t off, uint64_t *val);

#endif
