/*
 * virtio transport, split virtqueue and virtio-blk driver tests, on the host
 * against the virtio-blk device model (tests/host/drivers/vblk_model.c, a
 * TEST FIXTURE, not QEMU). Test ids VIO-nnn name what each expects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "../../user/drivers/blkserv.h"
#include "../../user/drivers/virtio/virtio.h"
#include "../../user/drivers/virtio/virtio_reg.h"
#include "../../user/drivers/virtio_blk/vblk_reg.h"
#include "../../user/drivers/virtio_blk/virtio_blk.h"
#include "drivers/fake_env.h"
#include "drivers/vblk_model.h"

#define DISK_SECTORS 4096u

static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 131u + seed * 7u) >> 3 ^ seed);
}

static void
assert_clean(struct vblk_model *m)
{
	struct fake_env_stats st;

	fake_env_stats(m->env, &st);
	assert_int_equal(m->errors, 0);
	assert_int_equal(st.bad_dma, 0);
	assert_int_equal(st.irq_protocol_errors, 0);
}

static void
assert_no_buffers(struct vblk_model *m)
{
	struct fake_env_stats st;

	fake_env_stats(m->env, &st);
	assert_int_equal(st.live_buffers, 0);
	assert_int_equal(st.used_bytes, 0);
}

/* Write a pattern, read it back, compare; also check the RAM disk. */
static void
roundtrip(struct vblk *b, struct vblk_model *m, uint64_t lba, uint32_t count, uint32_t seed)
{
	size_t n = (size_t)count * b->block_size;
	uint8_t *w = malloc(n), *r = malloc(n);

	fill(w, n, seed);
	assert_int_equal(vblk_write(b, lba, count, w), 0);
	memset(r, 0, n);
	assert_int_equal(vblk_read(b, lba, count, r), 0);
	assert_memory_equal(w, r, n);
	assert_memory_equal(m->disk + lba * b->block_size, w, n);
	free(w);
	free(r);
}

/* ---- VIO-001..: queue sizes and the ring, without a device ---- */

static void
vio001_queue_size_rules(void **state)
{
	assert_int_equal(virtq_check_size(0), E_NOTSUP);
	assert_int_equal(virtq_check_size(1), 0);
	assert_int_equal(virtq_check_size(256), 0);
	assert_int_equal(virtq_check_size(32768), 0);
	assert_int_equal(virtq_check_size(3000), E_INVAL);
	assert_int_equal(virtq_check_size(65535), E_RANGE);
	assert_int_equal(virtq_check_size(65536), E_RANGE);
	/* legacy layout: used ring starts on a 4 KiB boundary */
	assert_int_equal(virtq_used_offset(256) % 4096, 0);
	assert_true(virtq_used_offset(256) >= virtq_avail_offset(256) + 6 + 512);
}

/* A minimal "device" that completes the head just posted. */
static void
dev_complete(struct virtq *vq, uint16_t id, uint32_t len, uint16_t extra_idx)
{
	struct virtq_used_hdr *uh = (void *)((uint8_t *)vq->mem.cpu + vq->used_off);
	struct virtq_used_elem *e = (void *)(uh + 1);

	e[uh->idx & (vq->size - 1)].id = id;
	e[uh->idx & (vq->size - 1)].len = len;
	uh->idx = (uint16_t)(uh->idx + 1 + extra_idx);
}

static uint16_t
last_head(struct virtq *vq)
{
	uint16_t *ring = (void *)((uint8_t *)vq->mem.cpu + vq->avail_off + 4);
	uint16_t idx = *(uint16_t *)((uint8_t *)vq->mem.cpu + vq->avail_off + 2);

	return ring[(uint16_t)(idx - 1) & (vq->size - 1)];
}

static void
vio002_index_wraparound(void **state)
{
	struct vblk_model *m = vblk_model_new(0, 8, 512);
	struct devenv_dma data;
	struct virtq vq;
	struct virtq_seg seg;
	uint32_t i, len;
	void *cookie;

	assert_int_equal(virtq_init(&vq, m->env, 0, 8), 0);
	assert_int_equal(devenv_dma_alloc(m->env, 4096, DEVENV_DMA_BIDIRECTIONAL, &data), 0);
	seg = (struct virtq_seg){ data.h, 0, 512, 1 };
	/* Three full wraps of the 16-bit indexes. */
	for (i = 0; i < 3u * 65536u + 5u; i++) {
		assert_int_equal(virtq_add(&vq, &seg, 1, (void *)(uintptr_t)(i + 1)), 0);
		dev_complete(&vq, last_head(&vq), 512, 0);
		assert_int_equal(virtq_get(&vq, &cookie, &len), 1);
		assert_ptr_equal(cookie, (void *)(uintptr_t)(i + 1));
		assert_int_equal(len, 512);
		assert_int_equal(virtq_get(&vq, &cookie, &len), 0);
	}
	assert_int_equal(vq.avail_idx, (uint16_t)(3u * 65536u + 5u));
	assert_int_equal(vq.num_free, 8);
	devenv_dma_free(m->env, &data);
	virtq_fini(&vq);
	assert_no_buffers(m);
	vblk_model_free(m);
}

static void
vio003_ring_full_and_chain_limits(void **state)
{
	struct vblk_model *m = vblk_model_new(0, 8, 512);
	struct devenv_dma data;
	struct virtq vq;
	struct virtq_seg seg[3];
	int i;

	assert_int_equal(virtq_init(&vq, m->env, 0, 4), 0);
	assert_int_equal(devenv_dma_alloc(m->env, 4096, DEVENV_DMA_BIDIRECTIONAL, &data), 0);
	for (i = 0; i < 3; i++)
		seg[i] = (struct virtq_seg){ data.h, (uint64_t)i * 16, 16, i == 2 };
	assert_int_equal(virtq_add(&vq, seg, 3, NULL), 0);
	assert_int_equal(virtq_add(&vq, seg, 3, NULL), E_AGAIN);     /* one free */
	assert_int_equal(virtq_add(&vq, seg, 0, NULL), E_INVAL);
	/* A window outside the buffer is refused by the environment; nothing posted. */
	seg[0].off = 4090;
	assert_int_equal(virtq_add(&vq, seg, 1, NULL), E_RANGE);
	assert_int_equal(vq.num_free, 1);
	assert_int_equal(vq.avail_idx, 1);
	devenv_dma_free(m->env, &data);
	/* A freed (stale) handle is refused too. */
	seg[0].off = 0;
	assert_int_equal(virtq_add(&vq, seg, 1, NULL), E_STALE);
	virtq_fini(&vq);
	vblk_model_free(m);
}

static void
vio004_hostile_used_ring(void **state)
{
	struct vblk_model *m = vblk_model_new(0, 8, 512);
	struct devenv_dma data;
	struct virtq vq;
	struct virtq_seg seg;
	uint32_t len;
	void *cookie;
	int round;

	assert_int_equal(devenv_dma_alloc(m->env, 4096, DEVENV_DMA_BIDIRECTIONAL, &data), 0);
	seg = (struct virtq_seg){ data.h, 0, 512, 1 };
	for (round = 0; round < 4; round++) {
		assert_int_equal(virtq_init(&vq, m->env, 0, 8), 0);
		assert_int_equal(virtq_add(&vq, &seg, 1, &vq), 0);
		switch (round) {
		case 0: dev_complete(&vq, 5, 1, 0); break;            /* id not outstanding */
		case 1: dev_complete(&vq, 200, 1, 0); break;          /* id out of range */
		case 2: dev_complete(&vq, last_head(&vq), 513, 0); break; /* len > writable */
		case 3: dev_complete(&vq, last_head(&vq), 1, 3); break;   /* idx ran ahead */
		}
		assert_int_equal(virtq_get(&vq, &cookie, &len), E_CORRUPT);
		assert_int_equal(virtq_get(&vq, &cookie, &len), E_IO);  /* broken until reset */
		assert_int_equal(virtq_add(&vq, &seg, 1, NULL), E_IO);
		virtq_reset(&vq);
		assert_int_equal(virtq_add(&vq, &seg, 1, &vq), 0);
		virtq_fini(&vq);
	}
	devenv_dma_free(m->env, &data);
	assert_no_buffers(m);
	vblk_model_free(m);
}

/* ---- VIO-010..: capability parsing ---- */

static void
base_cfg(uint8_t *cfg)
{
	struct vblk_model *m = vblk_model_new(0, 8, 512);

	assert_int_equal(devenv_pci_config(m->env, cfg, 256), 256);
	vblk_model_free(m);
}

static void
vio010_parse_caps(void **state)
{
	uint8_t cfg[256], bad[256];
	struct vio_caps c;

	base_cfg(cfg);
	assert_int_equal(vio_parse_caps(cfg, sizeof(cfg), &c), 0);
	assert_int_equal(c.common.bar, 4);
	assert_int_equal(c.notify.off, 0x3000);
	assert_int_equal(c.notify_mult, 4);
	assert_int_equal(c.device.off, 0x2000);
	/* no capability list */
	memcpy(bad, cfg, 256);
	bad[PCI_CFG_STATUS] = 0;
	assert_int_equal(vio_parse_caps(bad, 256, &c), E_NOENT);
	/* a cycle */
	memcpy(bad, cfg, 256);
	bad[0x70 + 1] = 0x40;
	assert_int_equal(vio_parse_caps(bad, 256, &c), E_CORRUPT);
	/* pointer into the header */
	memcpy(bad, cfg, 256);
	bad[PCI_CFG_CAP_PTR] = 0x10;
	assert_int_equal(vio_parse_caps(bad, 256, &c), E_CORRUPT);
	/* common region too short */
	memcpy(bad, cfg, 256);
	bad[0x40 + 12] = 0x20; bad[0x40 + 13] = 0;
	assert_int_equal(vio_parse_caps(bad, 256, &c), E_CORRUPT);
	/* notify cap without its multiplier */
	memcpy(bad, cfg, 256);
	bad[0x70 + 2] = 16;
	assert_int_equal(vio_parse_caps(bad, 256, &c), E_CORRUPT);
	/* notify missing (type changed to PCI_CFG access) */
	memcpy(bad, cfg, 256);
	bad[0x70 + 3] = VIRTIO_PCI_CAP_PCI_CFG;
	assert_int_equal(vio_parse_caps(bad, 256, &c), E_NOENT);
	/* a cap running off the end of the snapshot */
	memcpy(bad, cfg, 256);
	bad[0x70 + 1] = 0xf8;
	bad[0xf8] = PCI_CAP_ID_VENDOR;
	bad[0xf8 + 2] = 16;
	assert_int_equal(vio_parse_caps(bad, 256, &c), E_CORRUPT);
	/* truncated snapshot */
	assert_int_equal(vio_parse_caps(cfg, 0x30, &c), E_NOENT);
}

/* ---- VIO-020..: virtio-blk end to end against the model ---- */

static void
blk_roundtrips(int legacy, enum vblk_completion mode, int defer, uint32_t blk_size, int msix)
{
	struct vblk_model *m = vblk_model_new(legacy, DISK_SECTORS, blk_size);
	struct vblk b;
	uint32_t max;

	m->defer = defer;
	fake_env_set_msix(m->env, msix);
	assert_int_equal(vblk_init(&b, m->env, legacy ? VBLK_LEGACY : VBLK_MODERN, mode), 0);
	assert_int_equal(b.block_size, blk_size);
	assert_int_equal(b.block_count, DISK_SECTORS * 512ull / blk_size);
	max = b.max_blocks;
	assert_int_equal(max, VBLK_MAX_BYTES / blk_size);
	roundtrip(&b, m, 0, 1, 1);
	roundtrip(&b, m, 3, 7, 2);                      /* multi-sector */
	roundtrip(&b, m, b.block_count - max, max, 3);  /* largest, at the end */
	assert_int_equal(vblk_flush(&b), 0);
	assert_int_equal(m->flushes, 1);
	assert_int_equal(m->writes, 3);
	assert_int_equal(m->reads, 3);
	assert_int_equal(b.resets, 0);
	assert_clean(m);
	if (mode == VBLK_IRQ && defer) {        /* completions really came by interrupt */
		struct fake_env_stats st;

		fake_env_stats(m->env, &st);
		assert_true(st.irq_acks >= 7);
	}
	vblk_fini(&b);
	assert_no_buffers(m);
	vblk_model_free(m);
}

static void vio020_modern_poll(void **s) { blk_roundtrips(0, VBLK_POLL, 0, 512, 0); }
static void vio021_modern_irq_msix(void **s) { blk_roundtrips(0, VBLK_IRQ, 1, 512, 1); }
static void vio022_modern_irq_intx(void **s) { blk_roundtrips(0, VBLK_IRQ, 1, 512, 0); }
static void vio023_legacy_poll(void **s) { blk_roundtrips(1, VBLK_POLL, 0, 512, 0); }
/* legacy with MSI-X: config read at 24, vector 0 programmed, completions by interrupt */
static void vio023b_legacy_irq_msix(void **s) { blk_roundtrips(1, VBLK_IRQ, 1, 512, 1); }
static void vio024_legacy_irq(void **s) { blk_roundtrips(1, VBLK_IRQ, 1, 512, 0); }
static void vio025_modern_poll_deferred(void **s) { blk_roundtrips(0, VBLK_POLL, 1, 512, 0); }
static void vio026_block_size_4096(void **s) { blk_roundtrips(0, VBLK_POLL, 0, 4096, 0); }

static void
vio027_queue_size_32768(void **state)
{
	struct vblk_model *m;
	struct vblk b;
	int legacy;

	for (legacy = 0; legacy < 2; legacy++) {
		m = vblk_model_new(legacy, DISK_SECTORS, 512);
		m->qmax = 32768;
		assert_int_equal(vblk_init(&b, m->env, legacy, VBLK_POLL), 0);
		/* legacy must take the device's size; modern asks for fewer */
		assert_int_equal(b.vq.size, legacy ? 32768 : VBLK_QUEUE_WANT);
		assert_int_equal(m->qsize, b.vq.size);
		roundtrip(&b, m, 10, 4, 9);
		assert_clean(m);
		vblk_fini(&b);
		assert_no_buffers(m);
		vblk_model_free(m);
	}
}

/* ---- VIO-030..: fault knobs: each gives its documented error ---- */

static void
expect_init_fails(int legacy, uint32_t qmax, uint64_t drop_features, int refuse_fok, int stuck, int err)
{
	struct vblk_model *m = vblk_model_new(legacy, DISK_SECTORS, 512);
	struct vblk b;

	m->qmax = qmax;
	m->features &= ~drop_features;
	m->refuse_features_ok = refuse_fok;
	m->stuck_reset = stuck;
	assert_int_equal(vblk_init(&b, m->env, legacy, VBLK_POLL), err);
	if (drop_features || refuse_fok)        /* negotiation failed closed */
		assert_true(m->status & VIRTIO_STATUS_FAILED);
	assert_no_buffers(m);
	vblk_model_free(m);
}

static void
vio030_bad_queue_sizes(void **state)
{
	expect_init_fails(0, 0, 0, 0, 0, E_NOTSUP);
	expect_init_fails(0, 3000, 0, 0, 0, E_INVAL);
	expect_init_fails(0, 65535, 0, 0, 0, E_RANGE);
	expect_init_fails(0, 65536, 0, 0, 0, E_NOTSUP);  /* 16-bit field reads 0 */
	expect_init_fails(1, 0, 0, 0, 0, E_NOTSUP);
	expect_init_fails(1, 100, 0, 0, 0, E_INVAL);
	expect_init_fails(1, 65535, 0, 0, 0, E_RANGE);
}

static void
vio031_features_fail_closed(void **state)
{
	/* modern device without VERSION_1 */
	expect_init_fails(0, 256, 1ull << VIRTIO_F_VERSION_1, 0, 0, E_NOTSUP);
	/* FEATURES_OK does not stick */
	expect_init_fails(0, 256, 0, 1, 0, E_NOTSUP);
	/* device never finishes reset */
	expect_init_fails(0, 256, 0, 0, 1, E_TIMEOUT);
	expect_init_fails(1, 256, 0, 0, 1, E_TIMEOUT);
}

static void
vio032_required_feature_missing_sets_failed(void **state)
{
	struct vblk_model *m = vblk_model_new(0, DISK_SECTORS, 512);
	struct vio_dev d;

	m->features &= ~(1ull << VIRTIO_BLK_F_FLUSH);
	assert_int_equal(vio_probe_modern(&d, m->env), 0);
	assert_int_equal(vio_negotiate(&d, 1ull << VIRTIO_BLK_F_FLUSH, 0), E_NOTSUP);
	assert_true(m->status & VIRTIO_STATUS_FAILED);
	assert_false(m->status & VIRTIO_STATUS_FEATURES_OK);
	/* legacy cannot be asked for bits above 31 */
	assert_int_equal(vio_probe_legacy(&d, m->env), 0);
	assert_int_equal(vio_negotiate(&d, 1ull << 40, 0), E_INVAL);
	vblk_model_free(m);
}

typedef void (*knob_fn)(struct vblk_model *m);
static void k_drop(struct vblk_model *m) { m->drop = 1; }
static void k_bad_id(struct vblk_model *m) { m->corrupt_used_id = 1; }
static void k_jump(struct vblk_model *m) { m->used_idx_jump = 5; }
static void k_ioerr(struct vblk_model *m) { m->io_error = 1; }

static void
fault_then_recover(int legacy, enum vblk_completion mode, knob_fn knob, int err, uint32_t resets)
{
	struct vblk_model *m = vblk_model_new(legacy, DISK_SECTORS, 512);
	uint8_t buf[1024];
	struct vblk b;
	uint64_t t0;

	assert_int_equal(vblk_init(&b, m->env, legacy, mode), 0);
	knob(m);
	t0 = fake_env_now(m->env);
	assert_int_equal(vblk_read(&b, 0, 2, buf), err);
	assert_int_equal(b.resets, resets);
	if (err == E_TIMEOUT) {
		assert_int_equal(b.timeouts, 1);
		assert_true(fake_env_now(m->env) - t0 >= VBLK_TIMEOUT_NS);
	}
	/* After recovery the device works again. */
	m->errors = 0;
	roundtrip(&b, m, 100, 2, 5);
	assert_clean(m);
	vblk_fini(&b);
	assert_no_buffers(m);
	vblk_model_free(m);
}

static void
vio033_dropped_completion_times_out_and_resets(void **state)
{
	fault_then_recover(0, VBLK_POLL, k_drop, E_TIMEOUT, 1);
	fault_then_recover(0, VBLK_IRQ, k_drop, E_TIMEOUT, 1);
	fault_then_recover(1, VBLK_IRQ, k_drop, E_TIMEOUT, 1);
}

static void
vio034_corrupt_used_ring_resets(void **state)
{
	fault_then_recover(0, VBLK_POLL, k_bad_id, E_IO, 1);
	fault_then_recover(1, VBLK_IRQ, k_jump, E_IO, 1);
}

static void
vio035_device_ioerr_fails_request_only(void **state)
{
	fault_then_recover(0, VBLK_POLL, k_ioerr, E_IO, 0);
}

static void
vio036_irq_revoked_is_an_error_not_a_hang(void **state)
{
	struct vblk_model *m = vblk_model_new(0, DISK_SECTORS, 512);
	uint8_t buf[512];
	struct vblk b;

	assert_int_equal(vblk_init(&b, m->env, VBLK_MODERN, VBLK_IRQ), 0);
	m->defer = 1;
	fake_env_revoke_irq(m->env, 1);
	assert_int_equal(vblk_read(&b, 0, 1, buf), E_STALE);
	fake_env_revoke_irq(m->env, 0);
	roundtrip(&b, m, 0, 1, 6);
	vblk_fini(&b);
	assert_no_buffers(m);
	vblk_model_free(m);
}

static void
vio037_config_generation_retry(void **state)
{
	struct vblk_model *m = vblk_model_new(0, DISK_SECTORS, 512);
	struct vblk b;

	m->cfg_gen_flip = 1;    /* one torn read: retried */
	assert_int_equal(vblk_init(&b, m->env, VBLK_MODERN, VBLK_POLL), 0);
	assert_int_equal(b.block_count, DISK_SECTORS);
	vblk_fini(&b);
	m->cfg_gen_flip = 1000; /* never stable: refused, not guessed */
	assert_int_equal(vblk_init(&b, m->env, VBLK_MODERN, VBLK_POLL), E_AGAIN);
	assert_no_buffers(m);
	vblk_model_free(m);
}

static void
vio038_bad_block_size_refused(void **state)
{
	struct vblk_model *m = vblk_model_new(0, DISK_SECTORS, 1000);
	struct vblk b;

	assert_int_equal(vblk_init(&b, m->env, VBLK_MODERN, VBLK_POLL), E_CORRUPT);
	assert_no_buffers(m);
	vblk_model_free(m);
	m = vblk_model_new(0, DISK_SECTORS, 512);
	m->size_max = 256;      /* a segment cannot hold a block */
	assert_int_equal(vblk_init(&b, m->env, VBLK_MODERN, VBLK_POLL), E_NOTSUP);
	assert_no_buffers(m);
	vblk_model_free(m);
}

static void
vio039_selected_write_policy(void **state)
{
	struct vblk_model *m = vblk_model_new(0, DISK_SECTORS, 512);
	struct fake_env_stats st;
	struct vblk b;

	assert_int_equal(vblk_init(&b, m->env, VBLK_MODERN, VBLK_POLL), 0);
	/* queue address registers are brokered only */
	assert_int_equal(devenv_mmio_write(m->env, 4, VIRTIO_COMMON_Q_DESC, 4, 0x1000), E_PERM);
	assert_int_equal(devenv_mmio_write(m->env, 4, VIRTIO_COMMON_Q_DESC + 4, 4, 0), E_PERM);
	/* read-only registers and the device config are not writable */
	assert_int_equal(devenv_mmio_write(m->env, 4, 0x1000, 1, 0), E_PERM);
	assert_int_equal(devenv_mmio_write(m->env, 4, 0x2000, 4, 0), E_PERM);
	/* outside the BAR window */
	assert_int_equal(devenv_mmio_write(m->env, 4, 0x4000, 4, 0), E_RANGE);
	/* the brokered op refuses a non-address register */
	assert_int_equal(devenv_mmio_set_addr(m->env, 4, VIRTIO_COMMON_GF, b.vq.mem.h, 0), E_PERM);
	/* INDIRECT would let the device follow a driver-written table */
	assert_int_equal(devenv_virtq_desc(m->env, b.vq.mem.h, 0, b.vq.size, b.req.h, 0, 16,
	    VIRTQ_DESC_F_INDIRECT, 0), E_NOTSUP);
	assert_int_equal(devenv_virtq_desc(m->env, b.vq.mem.h, 0, b.vq.size, b.req.h, 0, 16,
	    0, b.vq.size), E_INVAL);
	fake_env_stats(m->env, &st);
	assert_int_equal(st.refused_writes, 5);      /* + one E_RANGE */
	/* the driver never wrote an address: all came from the environment */
	assert_true(st.addr_writes > 0);
	roundtrip(&b, m, 1, 1, 1);
	vblk_fini(&b);
	vblk_model_free(m);
}

static void
vio040_msix_vector_refused_or_unsupported(void **state)
{
	struct vblk_model *m = vblk_model_new(0, DISK_SECTORS, 512);
	struct vblk b;

	fake_env_set_msix(m->env, 1);
	m->msix_refuse = 1;
	assert_int_equal(vblk_init(&b, m->env, VBLK_MODERN, VBLK_IRQ), E_NOTSUP);
	assert_no_buffers(m);
	vblk_model_free(m);
	m = vblk_model_new(1, DISK_SECTORS, 512);
	fake_env_set_msix(m->env, 1);
	m->msix_refuse = 1;             /* legacy: the queue vector reads back NO_VECTOR */
	assert_int_equal(vblk_init(&b, m->env, VBLK_LEGACY, VBLK_IRQ), E_NOTSUP);
	assert_no_buffers(m);
	m->msix_refuse = 0;
	assert_int_equal(vblk_init(&b, m->env, VBLK_LEGACY, VBLK_POLL), 0);
	assert_int_equal(m->qmsix, 0);  /* vector 0 programmed, config vector none */
	assert_int_equal(m->cfgmsix, VIRTIO_MSI_NO_VECTOR);
	vblk_fini(&b);
	assert_no_buffers(m);
	vblk_model_free(m);
}

static void
vio041_failed_recovery_is_dead_not_hung(void **state)
{
	struct vblk_model *m = vblk_model_new(0, DISK_SECTORS, 512);
	uint8_t buf[512];
	struct vblk b;
	uint64_t t0;

	assert_int_equal(vblk_init(&b, m->env, VBLK_MODERN, VBLK_IRQ), 0);
	m->drop = 1;
	m->stuck_reset = 1;     /* the recovery reset never completes */
	assert_int_equal(vblk_read(&b, 0, 1, buf), E_TIMEOUT);
	assert_true(b.dead);
	t0 = fake_env_now(m->env);
	assert_int_equal(vblk_read(&b, 0, 1, buf), E_IO);
	assert_int_equal(blkserv_write_blocks(&b.srv, 0, buf, 512), E_IO);
	assert_int_equal(vblk_flush(&b), E_IO);
	assert_true(fake_env_now(m->env) == t0);        /* no waiting at all */
	m->stuck_reset = 0;
	assert_int_equal(vblk_recover(&b), 0);
	roundtrip(&b, m, 9, 3, 3);
	vblk_fini(&b);
	assert_no_buffers(m);
	vblk_model_free(m);
}

/* ---- VIO-050..: BlockDevice server bounds ---- */

static void
vio050_blockdevice_bounds(void **state)
{
	struct vblk_model *m = vblk_model_new(0, DISK_SECTORS, 512);
	struct blkserv_info info;
	struct vblk b;
	uint8_t *buf = calloc(1, VBLK_MAX_BYTES + 512);
	uint32_t reads;

	assert_int_equal(vblk_init(&b, m->env, VBLK_MODERN, VBLK_POLL), 0);
	blkserv_get_info(&b.srv, &info);
	assert_int_equal(info.block_size, 512);
	assert_int_equal(info.block_count, DISK_SECTORS);
	assert_int_equal(info.max_transfer_blocks, VBLK_MAX_BYTES / 512);
	assert_false(info.read_only);
	assert_string_equal(info.model, "virtio-blk");
	reads = m->reads;
	assert_int_equal(blkserv_read_blocks(&b.srv, DISK_SECTORS, 1, buf, 512), E_RANGE);
	assert_int_equal(blkserv_read_blocks(&b.srv, DISK_SECTORS - 1, 2, buf, 1024), E_RANGE);
	assert_int_equal(blkserv_read_blocks(&b.srv, UINT64_MAX - 1, 4, buf, 2048), E_RANGE);
	assert_int_equal(blkserv_read_blocks(&b.srv, 0, 0, buf, 0), E_INVAL);
	assert_int_equal(blkserv_read_blocks(&b.srv, 0, 2, buf, 512), E_INVAL);
	assert_int_equal(blkserv_read_blocks(&b.srv, 0, info.max_transfer_blocks + 1, buf,
	    VBLK_MAX_BYTES + 512), E_INVAL);
	assert_int_equal(blkserv_write_blocks(&b.srv, 0, buf, 100), E_INVAL);
	assert_int_equal(blkserv_write_blocks(&b.srv, 0, buf, 0), E_INVAL);
	assert_int_equal(blkserv_write_blocks(&b.srv, DISK_SECTORS - 1, buf, 1024), E_RANGE);
	assert_int_equal(blkserv_write_blocks(&b.srv, UINT64_MAX, buf, 512), E_RANGE);
	assert_int_equal(m->reads, reads);      /* nothing reached the device */
	assert_int_equal(m->writes, 0);
	fill(buf, 1024, 4);
	assert_int_equal(blkserv_write_blocks(&b.srv, DISK_SECTORS - 2, buf, 1024), 0);
	assert_int_equal(blkserv_read_blocks(&b.srv, DISK_SECTORS - 2, 2, buf + 2048, 1024), 0);
	assert_memory_equal(buf, buf + 2048, 1024);
	assert_int_equal(blkserv_flush(&b.srv), 0);
	assert_int_equal(m->flushes, 1);
	assert_int_equal(blkserv_block_error(E_RANGE), BLK_ERR_OUT_OF_RANGE);
	assert_int_equal(blkserv_block_error(E_INVAL), BLK_ERR_BAD_LENGTH);
	assert_int_equal(blkserv_block_error(E_PERM), BLK_ERR_READ_ONLY);
	assert_int_equal(blkserv_block_error(E_TIMEOUT), BLK_ERR_IO);
	vblk_fini(&b);
	vblk_model_free(m);
	free(buf);
}

static void
vio051_read_only_device(void **state)
{
	struct vblk_model *m = vblk_model_new(1, DISK_SECTORS, 512);
	uint8_t buf[512] = { 0 };
	struct vblk b;

	m->features |= 1ull << VIRTIO_BLK_F_RO;
	assert_int_equal(vblk_init(&b, m->env, VBLK_LEGACY, VBLK_POLL), 0);
	assert_true(b.srv.info.read_only);
	assert_int_equal(blkserv_write_blocks(&b.srv, 0, buf, 512), E_PERM);
	assert_int_equal(vblk_write(&b, 0, 1, buf), E_PERM);
	assert_int_equal(blkserv_read_blocks(&b.srv, 0, 1, buf, 512), 0);
	assert_int_equal(m->writes, 0);
	vblk_fini(&b);
	vblk_model_free(m);
}

static void
vio052_dma_budget_exhausted(void **state)
{
	struct vblk_model *m = vblk_model_new(0, DISK_SECTORS, 512);
	struct vblk b;

	fake_env_set_budget(m->env, 64 * 1024);
	assert_int_equal(vblk_init(&b, m->env, VBLK_MODERN, VBLK_POLL), E_NOMEM);
	assert_no_buffers(m);
	vblk_model_free(m);
}

/* ---- VIO-060..: asynchronous requests (several at the device at once) ---- */

#define AS_SLOTS 8u
#define AS_BYTES (16u * 512u)

static void
async_setup(struct vblk *b, struct vblk_model *m, int legacy, enum vblk_completion mode)
{
	assert_int_equal(vblk_init(b, m->env, legacy ? VBLK_LEGACY : VBLK_MODERN, mode), 0);
	assert_int_equal(vblk_async_init(b, AS_SLOTS, AS_SLOTS, AS_BYTES, 0), 0);
	assert_int_equal(b->max_blocks, AS_BYTES / 512);
	assert_int_equal(b->srv.info.max_transfer_blocks, AS_BYTES / 512);
}

/* Poll until every request of r[0..n) is done. */
static void
poll_all(struct vblk *b, struct vblk_req *r, unsigned n)
{
	unsigned got = 0, i, guard = 0;

	while (got < n) {
		assert_true(++guard < 1000);
		(void)vblk_poll(b, VBLK_TIMEOUT_NS);
		for (i = 0, got = 0; i < n; i++)
			got += r[i].done != 0;
	}
	assert_int_equal(vblk_pending(b), 0);
}

static void
async_out_of_order(int legacy, enum vblk_completion mode, int msix)
{
	struct vblk_model *m = vblk_model_new(legacy, DISK_SECTORS, 512);
	static uint8_t wbuf[AS_SLOTS][AS_BYTES], rbuf[AS_SLOTS][AS_BYTES];
	struct vblk_req w[AS_SLOTS], r[AS_SLOTS];
	unsigned i;
	struct vblk b;

	m->defer = 1;
	m->reverse = 1;
	fake_env_set_msix(m->env, msix);
	async_setup(&b, m, legacy, mode);
	for (i = 0; i < AS_SLOTS; i++) {
		fill(wbuf[i], AS_BYTES, 40 + i);
		w[i] = (struct vblk_req){ .op = VBLK_OP_WRITE, .lba = 64u * i + i, .count = 16 - i,
			.buf = wbuf[i] };
		assert_int_equal(vblk_submit(&b, &w[i]), 0);
	}
	assert_int_equal(vblk_pending(&b), AS_SLOTS);
	struct vblk_req extra = { .op = VBLK_OP_READ, .lba = 0, .count = 1, .buf = rbuf[0] };
	assert_int_equal(vblk_submit(&b, &extra), E_AGAIN);     /* every slot busy */
	assert_int_equal(m->notifies, 0);       /* the doorbell waits for the poll */
	poll_all(&b, w, AS_SLOTS);
	assert_int_equal(m->notifies, 1);       /* one doorbell for the batch */
	/* the device finished them last first: each answer still went to its own
	 * request (different lengths, places and data) */
	assert_int_equal(m->reversed, AS_SLOTS / 2);
	for (i = 0; i < AS_SLOTS; i++) {
		assert_int_equal(w[i].status, 0);
		assert_memory_equal(m->disk + (64u * i + i) * 512u, wbuf[i], (16 - i) * 512u);
		r[i] = (struct vblk_req){ .op = VBLK_OP_READ, .lba = 64u * i + i, .count = 16 - i,
			.buf = rbuf[i] };
		assert_int_equal(vblk_submit(&b, &r[i]), 0);
	}
	poll_all(&b, r, AS_SLOTS);
	assert_int_equal(m->reversed, AS_SLOTS);
	for (i = 0; i < AS_SLOTS; i++) {
		assert_int_equal(r[i].status, 0);
		assert_memory_equal(rbuf[i], wbuf[i], (16 - i) * 512u);
	}
	assert_int_equal(b.resets, 0);
	assert_int_equal(m->reads, AS_SLOTS);
	assert_int_equal(m->writes, AS_SLOTS);
	assert_clean(m);
	vblk_fini(&b);
	assert_no_buffers(m);
	vblk_model_free(m);
}

static void vio060_async_out_of_order_modern_poll(void **s) { async_out_of_order(0, VBLK_POLL, 0); }
static void vio061_async_out_of_order_modern_msix(void **s) { async_out_of_order(0, VBLK_IRQ, 1); }
static void vio062_async_out_of_order_legacy_intx(void **s) { async_out_of_order(1, VBLK_IRQ, 0); }

/* A fault with several requests in flight: each finishes exactly once with
 * the error, the device is reset once, and the next requests work. */
static void
async_fault(knob_fn knob, int err)
{
	struct vblk_model *m = vblk_model_new(0, DISK_SECTORS, 512);
	static uint8_t buf[4][AS_BYTES];
	struct vblk_req r[4];
	unsigned i;
	struct vblk b;

	m->defer = 1;
	async_setup(&b, m, 0, VBLK_IRQ);
	knob(m);
	for (i = 0; i < 4; i++) {
		r[i] = (struct vblk_req){ .op = VBLK_OP_READ, .lba = 8u * i, .count = 8, .buf = buf[i] };
		assert_int_equal(vblk_submit(&b, &r[i]), 0);
	}
	poll_all(&b, r, 4);
	unsigned failed = 0;
	for (i = 0; i < 4; i++)
		failed += r[i].status == err;
	/* a dropped request takes the others down with it at its deadline; a
	 * corrupted entry fails what was not yet finished */
	assert_true(failed >= 1);
	for (i = 0; i < 4; i++)
		assert_true(r[i].status == 0 || r[i].status == err);
	assert_int_equal(b.resets, 1);
	assert_int_equal(b.completed, 4);       /* finished once each, never twice */
	(void)vblk_poll(&b, 0);
	assert_int_equal(b.completed, 4);
	m->errors = 0;
	roundtrip(&b, m, 300, 3, 9);
	assert_clean(m);
	vblk_fini(&b);
	assert_no_buffers(m);
	vblk_model_free(m);
}

static void
vio063_async_timeout_fails_all_once(void **state)
{
	async_fault(k_drop, E_TIMEOUT);
}

static void
vio064_async_corrupt_used_fails_in_flight(void **state)
{
	async_fault(k_bad_id, E_IO);
}

static void
vio065_async_init_rules(void **state)
{
	struct vblk_model *m = vblk_model_new(0, DISK_SECTORS, 4096);
	static uint8_t buf[AS_BYTES];
	struct vblk_req r = { .op = VBLK_OP_READ, .lba = 0, .count = 1, .buf = buf };
	struct vblk b;

	m->defer = 1;
	assert_int_equal(vblk_init(&b, m->env, VBLK_MODERN, VBLK_POLL), 0);
	assert_int_equal(vblk_async_init(&b, 0, 0, 8192, 0), E_INVAL);
	assert_int_equal(vblk_async_init(&b, VBLK_SLOTS_MAX + 1, 1, 8192, 4096), E_INVAL);
	assert_int_equal(vblk_async_init(&b, 4, 0, 8192, 4096), E_INVAL);     /* no big slot */
	assert_int_equal(vblk_async_init(&b, 4, 4, 6144, 0), E_INVAL);  /* not whole 4 KiB blocks */
	assert_int_equal(vblk_async_init(&b, 4, 4, VBLK_MAX_BYTES + 4096, 0), E_INVAL);
	assert_int_equal(vblk_async_init(&b, 4, 2, 8192, 16384), E_INVAL);    /* small > big */
	assert_int_equal(vblk_async_init(&b, 4, 4, 8192, 0), 0);
	assert_int_equal(b.max_blocks, 2);
	r.count = 3;
	assert_int_equal(vblk_submit(&b, &r), E_INVAL);         /* over every slot */
	r.count = 1;
	assert_int_equal(vblk_submit(&b, &r), 0);
	assert_int_equal(vblk_async_init(&b, 2, 2, 8192, 0), E_BUSY); /* a request in flight */
	while (!r.done)
		(void)vblk_poll(&b, VBLK_TIMEOUT_NS);
	assert_int_equal(r.status, 0);
	/* a budget too small for the new slots keeps the old ones */
	fake_env_set_budget(m->env, 64 * 1024);
	assert_int_equal(vblk_async_init(&b, 16, 16, VBLK_MAX_BYTES, 0), E_NOMEM);
	assert_int_equal(b.slots, 4);
	assert_int_equal(b.slot_len[3], 8192);
	assert_int_equal(vblk_read(&b, 5, 2, buf), 0);
	assert_false(b.dead);
	vblk_fini(&b);
	assert_no_buffers(m);
	vblk_model_free(m);
}

/* Mixed slots: one big, three small. A request takes the smallest free slot
 * that holds it; a big request waits (E_AGAIN) while the big slot is busy,
 * even with small slots free; small requests fill the small slots first. */
static void
vio066_mixed_slot_sizes(void **state)
{
	struct vblk_model *m = vblk_model_new(0, DISK_SECTORS, 512);
	static uint8_t wbuf[5][AS_BYTES], rbuf[AS_BYTES];
	struct vblk_req r[5];
	struct vblk b;
	unsigned i;

	m->defer = 1;
	assert_int_equal(vblk_init(&b, m->env, VBLK_MODERN, VBLK_POLL), 0);
	assert_int_equal(vblk_async_init(&b, 4, 1, AS_BYTES, 1024), 0);
	assert_int_equal(b.max_blocks, AS_BYTES / 512);
	for (i = 0; i < 3; i++) {       /* small: the three small slots */
		fill(wbuf[i], 1024, 70 + i);
		r[i] = (struct vblk_req){ .op = VBLK_OP_WRITE, .lba = 40u * i, .count = 2,
			.buf = wbuf[i] };
		assert_int_equal(vblk_submit(&b, &r[i]), 0);
	}
	assert_null(b.inflight[0]);     /* the big slot is still free */
	fill(wbuf[3], AS_BYTES, 73);
	r[3] = (struct vblk_req){ .op = VBLK_OP_WRITE, .lba = 200, .count = AS_BYTES / 512,
		.buf = wbuf[3] };
	assert_int_equal(vblk_submit(&b, &r[3]), 0);
	r[4] = (struct vblk_req){ .op = VBLK_OP_WRITE, .lba = 300, .count = 3, .buf = wbuf[4] };
	assert_int_equal(vblk_submit(&b, &r[4]), E_AGAIN);      /* every slot busy */
	poll_all(&b, r, 4);
	for (i = 0; i < 3; i++)
		assert_memory_equal(m->disk + 40u * i * 512u, wbuf[i], 1024);
	assert_memory_equal(m->disk + 200u * 512u, wbuf[3], AS_BYTES);
	/* big request while the big slot is busy: waits though small ones are free */
	r[3].done = 0;
	assert_int_equal(vblk_submit(&b, &r[3]), 0);
	struct vblk_req big2 = { .op = VBLK_OP_READ, .lba = 200, .count = 3, .buf = rbuf };
	assert_int_equal(vblk_submit(&b, &big2), E_AGAIN);
	poll_all(&b, &r[3], 1);
	assert_int_equal(vblk_submit(&b, &big2), 0);
	poll_all(&b, &big2, 1);
	assert_int_equal(big2.status, 0);
	assert_memory_equal(rbuf, wbuf[3], 3 * 512);
	assert_clean(m);
	vblk_fini(&b);
	assert_no_buffers(m);
	vblk_model_free(m);
}

/* ---- VIO-067..: caller areas (message buffers in DMA memory: no copy) ---- */

#define AR_BYTES (3u * 4096u + 100u)    /* a whole number of pages plus a bit */
#define AR_LEAD 40u

/* Lay out n areas of AR_BYTES (and `big` bounce slots of AS_BYTES) over n slots. */
static void
area_setup(struct vblk *b, struct vblk_model *m, uint16_t n, uint16_t big)
{
	struct vblk_layout l = { .slots = n, .big = big, .big_bytes = big ? AS_BYTES : 0,
		.areas = n, .area_bytes = AR_BYTES, .area_lead = AR_LEAD };

	assert_int_equal(vblk_init(b, m->env, VBLK_MODERN, VBLK_IRQ), 0);
	assert_int_equal(vblk_async_layout(b, &l), 0);
	/* the largest transfer: an area's whole blocks (above the bounce slots') */
	assert_int_equal(b->max_blocks, AR_BYTES / 512);
	assert_int_equal(b->srv.info.max_transfer_blocks, AR_BYTES / 512);
	for (uint16_t i = 0; i < n; i++) {
		uint8_t *a = vblk_area(b, i);
		assert_non_null(a);
		assert_int_equal(((uintptr_t)a + AR_LEAD) % DEVENV_PAGE_SIZE, 0);
		/* after every slot header, before the next area, inside the buffer */
		assert_true(a >= (uint8_t *)b->req.cpu + VBLK_SLOTS_MAX * VBLK_SLOT_HDR);
		assert_true(a + AR_BYTES <= (uint8_t *)b->req.cpu + b->req.size);
		if (i > 0)
			assert_true(a >= (uint8_t *)vblk_area(b, i - 1) + AR_BYTES);
	}
	assert_null(vblk_area(b, n));
	/* the bounce data comes after the last area */
	for (uint16_t s = 0; s < big; s++)
		assert_true((uint8_t *)b->req.cpu + b->slot_off[s] >=
		    (uint8_t *)vblk_area(b, n - 1) + AR_BYTES);
}

/* Writes from and reads into the areas, answered out of order: the disk and
 * the areas hold the data, and nothing was copied through a slot. A request
 * outside every area with no bounce data, or running past its area's end, is
 * refused at once (not left waiting for a slot that never comes). */
static void
vio067_areas_zero_copy(void **state)
{
	struct vblk_model *m = vblk_model_new(0, DISK_SECTORS, 512);
	static uint8_t want[4][AR_BYTES], outside[512];
	struct vblk_req w[4], r[4];
	struct vblk b;
	uint16_t i;

	m->defer = 1;
	m->reverse = 1;
	fake_env_set_msix(m->env, 1);
	area_setup(&b, m, 4, 0);
	for (i = 0; i < 4; i++) {
		/* a write's data where a received message has it: word-aligned, not on a page */
		uint8_t *data = (uint8_t *)vblk_area(&b, i) + 64;
		fill(want[i], (8u + i) * 512u, 90 + i);
		memcpy(data, want[i], (8u + i) * 512u);
		w[i] = (struct vblk_req){ .op = VBLK_OP_WRITE, .lba = 100u * i, .count = 8 + i,
			.buf = data };
		assert_int_equal(vblk_submit(&b, &w[i]), 0);
	}
	poll_all(&b, w, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(w[i].status, 0);
		assert_memory_equal(m->disk + 100u * i * 512u, want[i], (8u + i) * 512u);
		/* a read's data where its answer carries it: on a page */
		uint8_t *data = (uint8_t *)vblk_area(&b, i) + AR_LEAD;
		memset(vblk_area(&b, i), 0, AR_BYTES);
		r[i] = (struct vblk_req){ .op = VBLK_OP_READ, .lba = 100u * i, .count = 8 + i,
			.buf = data };
		assert_int_equal(vblk_submit(&b, &r[i]), 0);
	}
	poll_all(&b, r, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(r[i].status, 0);
		assert_memory_equal((uint8_t *)vblk_area(&b, i) + AR_LEAD, want[i], (8u + i) * 512u);
	}
	assert_int_equal(m->reversed, 4);
	assert_int_equal(b.copied, 0);
	struct vblk_req x = { .op = VBLK_OP_READ, .lba = 0, .count = 1, .buf = outside };
	assert_int_equal(vblk_submit(&b, &x), E_INVAL);         /* outside every area */
	x.buf = (uint8_t *)vblk_area(&b, 0) + AR_BYTES - 256;
	assert_int_equal(vblk_submit(&b, &x), E_INVAL);         /* past area 0's end */
	x.buf = (uint8_t *)vblk_area(&b, 3) + AR_BYTES - 512;
	assert_int_equal(vblk_submit(&b, &x), 0);               /* the last block of an area */
	poll_all(&b, &x, 1);
	assert_int_equal(vblk_pending(&b), 0);
	assert_int_equal(b.copied, 0);
	assert_int_equal(b.resets, 0);
	assert_clean(m);
	vblk_fini(&b);
	assert_no_buffers(m);
	vblk_model_free(m);
}

/* Areas and bounce slots together: a request in an area is not copied, one
 * elsewhere goes through a bounce slot; both land. */
static void
vio068_areas_with_bounce_slots(void **state)
{
	struct vblk_model *m = vblk_model_new(0, DISK_SECTORS, 512);
	static uint8_t plain[AS_BYTES], back[AS_BYTES];
	struct vblk b;

	m->defer = 1;
	area_setup(&b, m, 2, 2);
	uint8_t *in = (uint8_t *)vblk_area(&b, 1) + 8;
	fill(in, 4 * 512, 11);
	fill(plain, AS_BYTES, 12);
	struct vblk_req r[2] = {
		{ .op = VBLK_OP_WRITE, .lba = 10, .count = 4, .buf = in },
		{ .op = VBLK_OP_WRITE, .lba = 20, .count = AS_BYTES / 512, .buf = plain },
	};
	assert_int_equal(vblk_submit(&b, &r[0]), 0);
	assert_int_equal(vblk_submit(&b, &r[1]), 0);
	poll_all(&b, r, 2);
	assert_int_equal(b.copied, 1);
	assert_memory_equal(m->disk + 10 * 512, in, 4 * 512);
	assert_memory_equal(m->disk + 20 * 512, plain, AS_BYTES);
	/* over the bounce slots' size, not in an area: refused */
	static uint8_t bigplain[AS_BYTES + 512];
	struct vblk_req big = { .op = VBLK_OP_READ, .lba = 0, .count = AS_BYTES / 512 + 1,
		.buf = bigplain };
	assert_int_equal(vblk_submit(&b, &big), E_INVAL);
	assert_int_equal(vblk_read(&b, 20, AS_BYTES / 512, back), 0);
	assert_memory_equal(back, plain, AS_BYTES);
	assert_int_equal(b.copied, 2);
	assert_clean(m);
	vblk_fini(&b);
	assert_no_buffers(m);
	vblk_model_free(m);
}

static void
vio069_area_layout_rules(void **state)
{
	struct vblk_model *m = vblk_model_new(0, DISK_SECTORS, 512);
	struct vblk b;
	const struct vblk_layout bad[] = {
		{ .slots = 2, .areas = 0 },                             /* no bounce, no area */
		{ .slots = 2, .areas = VBLK_SLOTS_MAX + 1, .area_bytes = 4096 },
		{ .slots = 2, .areas = 2, .area_bytes = 256 },          /* under a block */
		{ .slots = 2, .areas = 2, .area_bytes = VBLK_AREA_MAX_BYTES + 1 },
		{ .slots = 2, .areas = 2, .area_bytes = 4096, .area_lead = VBLK_AREA_MAX_LEAD + 1 },
		{ .slots = 2, .areas = 2, .area_bytes = 4096, .big_bytes = 4096 },  /* big = 0 */
		{ .slots = 0, .areas = 2, .area_bytes = 4096 },
		{ .slots = 2, .big = 3, .big_bytes = 4096 },
	};

	assert_int_equal(vblk_init(&b, m->env, VBLK_MODERN, VBLK_POLL), 0);
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(vblk_async_layout(&b, &bad[i]), E_INVAL);
	assert_null(vblk_area(&b, 0));
	/* the largest lead keeps area 0 clear of every slot header */
	struct vblk_layout l = { .slots = VBLK_SLOTS_MAX, .areas = 1, .area_bytes = 4096,
		.area_lead = VBLK_AREA_MAX_LEAD };
	assert_int_equal(vblk_async_layout(&b, &l), 0);
	assert_ptr_equal(vblk_area(&b, 0), (uint8_t *)b.req.cpu + VBLK_SLOTS_MAX * VBLK_SLOT_HDR);
	/* a budget too small keeps the layout there was */
	fake_env_set_budget(m->env, 64 * 1024);
	struct vblk_layout huge = { .slots = 4, .areas = 4, .area_bytes = VBLK_AREA_MAX_BYTES };
	assert_int_equal(vblk_async_layout(&b, &huge), E_NOMEM);
	assert_int_equal(b.lay.areas, 1);
	assert_int_equal(b.slots, VBLK_SLOTS_MAX);
	assert_non_null(vblk_area(&b, 0));
	assert_false(b.dead);
	vblk_fini(&b);
	assert_no_buffers(m);
	vblk_model_free(m);
}

/* A recovery through a full device reset (caps binding: DeviceMmio.reset
 * revokes every buffer) loses the areas: the driver is dead and says so,
 * rather than serve from a new buffer the caller does not know of. The
 * stub revokes the way the kernel does: every buffer of the function. */
static struct vblk *reset_target;

static int
revoke_all(struct devenv *env)
{
	(void)devenv_dma_free(env, &reset_target->req);
	(void)devenv_dma_free(env, &reset_target->vq.mem);
	return 0;
}

static void
vio070_hard_reset_loses_areas(void **state)
{
	struct vblk_model *m = vblk_model_new(0, DISK_SECTORS, 512);
	struct vblk b;

	m->defer = 1;
	area_setup(&b, m, 2, 0);
	reset_target = &b;
	b.hard_reset = revoke_all;
	struct vblk_req r = { .op = VBLK_OP_READ, .lba = 0, .count = 1,
		.buf = (uint8_t *)vblk_area(&b, 0) + AR_LEAD };
	assert_int_equal(vblk_submit(&b, &r), 0);
	assert_int_equal(vblk_recover(&b), E_STALE);
	assert_int_equal(r.done, 1);
	assert_int_equal(r.status, E_IO);       /* finished once, before the reset */
	assert_true(b.areas_lost);
	assert_true(b.dead);
	assert_null(vblk_area(&b, 0));
	r.done = 0;
	assert_int_equal(vblk_submit(&b, &r), E_IO);
	vblk_fini(&b);
	assert_no_buffers(m);
	vblk_model_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vio001_queue_size_rules),
		cmocka_unit_test(vio002_index_wraparound),
		cmocka_unit_test(vio003_ring_full_and_chain_limits),
		cmocka_unit_test(vio004_hostile_used_ring),
		cmocka_unit_test(vio010_parse_caps),
		cmocka_unit_test(vio020_modern_poll),
		cmocka_unit_test(vio021_modern_irq_msix),
		cmocka_unit_test(vio022_modern_irq_intx),
		cmocka_unit_test(vio023_legacy_poll),
		cmocka_unit_test(vio023b_legacy_irq_msix),
		cmocka_unit_test(vio024_legacy_irq),
		cmocka_unit_test(vio025_modern_poll_deferred),
		cmocka_unit_test(vio026_block_size_4096),
		cmocka_unit_test(vio027_queue_size_32768),
		cmocka_unit_test(vio030_bad_queue_sizes),
		cmocka_unit_test(vio031_features_fail_closed),
		cmocka_unit_test(vio032_required_feature_missing_sets_failed),
		cmocka_unit_test(vio033_dropped_completion_times_out_and_resets),
		cmocka_unit_test(vio034_corrupt_used_ring_resets),
		cmocka_unit_test(vio035_device_ioerr_fails_request_only),
		cmocka_unit_test(vio036_irq_revoked_is_an_error_not_a_hang),
		cmocka_unit_test(vio037_config_generation_retry),
		cmocka_unit_test(vio038_bad_block_size_refused),
		cmocka_unit_test(vio039_selected_write_policy),
		cmocka_unit_test(vio040_msix_vector_refused_or_unsupported),
		cmocka_unit_test(vio041_failed_recovery_is_dead_not_hung),
		cmocka_unit_test(vio050_blockdevice_bounds),
		cmocka_unit_test(vio051_read_only_device),
		cmocka_unit_test(vio052_dma_budget_exhausted),
		cmocka_unit_test(vio060_async_out_of_order_modern_poll),
		cmocka_unit_test(vio061_async_out_of_order_modern_msix),
		cmocka_unit_test(vio062_async_out_of_order_legacy_intx),
		cmocka_unit_test(vio063_async_timeout_fails_all_once),
		cmocka_unit_test(vio064_async_corrupt_used_fails_in_flight),
		cmocka_unit_test(vio065_async_init_rules),
		cmocka_unit_test(vio066_mixed_slot_sizes),
		cmocka_unit_test(vio067_areas_zero_copy),
		cmocka_unit_test(vio068_areas_with_bounce_slots),
		cmocka_unit_test(vio069_area_layout_rules),
		cmocka_unit_test(vio070_hard_reset_loses_areas),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
