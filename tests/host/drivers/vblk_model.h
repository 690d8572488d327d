/*
 * TEST FIXTURE: a virtio-blk device model (modern PCI transport in BAR 4,
 * or the legacy 0.9 I/O BAR) over a RAM disk, processing split virtqueues
 * from fake_env DMA memory. Strict like a device: a malformed chain is
 * counted in `errors` (tests expect 0) and answered with IOERR.
 * Fault knobs reproduce hostile or broken devices.
 */
#ifndef CAPOS_TESTS_VBLK_MODEL_H
#define CAPOS_TESTS_VBLK_MODEL_H

#include <stdint.h>

#include "fake_env.h"

struct vblk_model {
	struct devenv *env;
	int legacy;
	uint8_t *disk;
	uint64_t sectors;               /* 512-byte sectors */
	uint32_t blk_size;
	uint32_t size_max;
	uint64_t features;              /* offered */
	uint64_t driver_features;
	uint32_t dfsel, gfsel;
	uint8_t status;
	uint8_t cfg_gen;
	uint8_t isr;
	uint16_t qsel;
	uint32_t qmax;                  /* advertised queue size (16-bit field) */
	uint16_t qsize;
	uint16_t qmsix;
	uint16_t cfgmsix;               /* legacy with MSI-X: config vector */
	uint16_t qenable;
	uint64_t qdesc, qavail, qused;
	uint16_t last_avail;
	/* fault knobs */
	int refuse_features_ok;         /* FEATURES_OK never sticks */
	int stuck_reset;                /* status never reads back 0 */
	int defer;                      /* complete on tick, not on notify */
	int reverse;                    /* post each batch's used entries last first */
	int drop;                       /* swallow this many requests (no used entry) */
	int corrupt_used_id;            /* next used entry names a bogus id */
	int used_idx_jump;              /* next used idx jumps by this much extra */
	int io_error;                   /* answer next request with IOERR */
	int cfg_gen_flip;               /* config generation changes on reads */
	int msix_refuse;                /* queue vector reads back NO_VECTOR */
	void (*mutate)(void *ctx, int what, uint8_t *buf, unsigned len);
	void *mutate_ctx;               /* fuzzing: rewrite used entries / config */
	/* counters */
	uint32_t reads, writes, flushes, notifies, resets, errors, pending;
	uint32_t reversed;              /* available entries swapped by `reverse` */
};

struct vblk_model *vblk_model_new(int legacy, uint64_t sectors, uint32_t blk_size);
void vblk_model_free(struct vblk_model *m);
extern const struct fake_dev_ops vblk_model_ops;

#define VBLK_MUT_USED 1         /* the used element and the index step */
#define VBLK_MUT_CFG 2          /* a device-config read */

#endif
