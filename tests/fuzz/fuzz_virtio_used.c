/*
 * libFuzzer target: virtio split-queue used-ring handling and PCI vendor
 * capability parsing, both fed hostile device data.
 *  - byte 0 odd: the rest is a PCI configuration snapshot for
 *    vio_parse_caps; a success must describe sane regions.
 *  - byte 0 even: a queue (size from byte 1) on a fixture environment; the
 *    rest is a program of driver posts, device used-ring writes (any id, len
 *    and index step) and driver pops. The driver's bookkeeping must stay
 *    consistent (free + outstanding descriptors == tracked) and a corrupt
 *    entry must break the queue rather than complete anything.
 *  - byte 0 = 2 mod 4: the whole virtio-blk driver against the device model
 *    (a test fixture) whose used entries, used-index steps and device-config
 *    reads the rest of the input rewrites; every request must end (no
 *    hang), and fini must leave no buffer behind. With bit 5 the requests
 *    are asynchronous (up to 4 in flight, polled in any order): each must
 *    finish exactly once.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "../../user/drivers/virtio/virtio.h"
#include "../../user/drivers/virtio/virtio_reg.h"
#include "../../user/drivers/virtio_blk/virtio_blk.h"
#include "../host/drivers/fake_env.h"
#include "../host/drivers/vblk_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	const uint8_t *d;
	size_t n;
};

static uint8_t
take(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->d++;
}

static void
fuzz_caps(const uint8_t *data, size_t size)
{
	uint8_t cfg[256] = { 0 };
	struct vio_caps c;
	size_t n = size < sizeof(cfg) ? size : sizeof(cfg);

	memcpy(cfg, data, n);
	if (vio_parse_caps(cfg, n, &c) == 0) {
		if (!c.common.present || !c.notify.present || !c.isr.present ||
		    c.common.len < VIRTIO_COMMON_CFG_SIZE || c.common.bar > 5 || c.notify.bar > 5)
			abort();
	}
}

static void
check_books(const struct virtq *vq)
{
	unsigned i, out = 0;

	for (i = 0; i < vq->track; i++)
		out += vq->chain_len[i];
	if (out + vq->num_free != vq->track || vq->num_free > vq->track)
		abort();
}

static void
fuzz_ring(struct fz *f)
{
	struct vblk_model *m = vblk_model_new(0, 8, 512);
	struct devenv_dma data;
	struct virtq vq;
	struct fake_env_stats st;
	uint16_t size = (uint16_t)(1u << (take(f) % 10));
	int steps = 0;

	if (virtq_init(&vq, m->env, 0, size) || devenv_dma_alloc(m->env, 4096, DEVENV_DMA_BIDIRECTIONAL, &data))
		abort();
	while (f->n && steps++ < 4096) {
		uint8_t op = take(f);
		struct virtq_used_hdr *uh = (void *)((uint8_t *)vq.mem.cpu + vq.used_off);
		struct virtq_used_elem *e = (void *)(uh + 1);

		switch (op % 3) {
		case 0: {
			struct virtq_seg s[3];
			unsigned n = 1 + take(f) % 3, i;

			for (i = 0; i < n; i++)
				s[i] = (struct virtq_seg){ data.h, take(f) * 8u, 1 + take(f) * 8u, take(f) & 1 };
			(void)virtq_add(&vq, s, n, (void *)(uintptr_t)(op + 1));
			break;
		}
		case 1: {       /* the device writes one used entry, maybe lying */
			uint16_t slot = uh->idx & (size - 1);

			e[slot].id = take(f) | (uint32_t)take(f) << 8;
			e[slot].len = take(f) | (uint32_t)take(f) << 8;
			uh->idx = (uint16_t)(uh->idx + 1 + ((op & 0x80) ? take(f) : 0));
			break;
		}
		default: {
			void *cookie;
			uint32_t len;
			int r = virtq_get(&vq, &cookie, &len);

			if (r < 0) {
				if (!vq.broken)
					abort();
				virtq_reset(&vq);       /* what a driver does after resetting the device */
			}
			break;
		}
		}
		check_books(&vq);
	}
	devenv_dma_free(m->env, &data);
	virtq_fini(&vq);
	fake_env_stats(m->env, &st);
	if (st.live_buffers || st.bad_dma)
		abort();
	vblk_model_free(m);
}

static void
mutate(void *ctx, int what, uint8_t *buf, unsigned len)
{
	struct fz *f = ctx;
	unsigned k = take(f) % 4, i;

	for (i = 0; i < k; i++) {
		unsigned off = take(f) % len;

		buf[off] = take(f);
	}
}

/* Asynchronous requests: up to 4 in flight; each started one finishes once. */
static void
fuzz_vblk_async(struct fz *f, struct vblk *b)
{
	static uint8_t bufs[4][8 * 4096];
	struct vblk_req r[4];
	int live[4] = { 0 };
	uint32_t immediate = 0, started = 0, before, k, guard = 0;
	int i;

	if (vblk_async_init(b, 4, 2, 8 * b->block_size, b->block_size) < 0)
		return;
	before = b->completed;
	for (i = 0; i < 16 && f->n; i++) {
		uint8_t op = take(f);

		k = op % 4;
		if (!live[k] && (op & 4)) {
			r[k] = (struct vblk_req){ .op = (enum vblk_op)(1 + (op >> 3) % 3),
				.lba = take(f), .count = 1 + take(f) % 8, .buf = bufs[k] };
			if (vblk_submit(b, &r[k]) == 0) {
				live[k] = 1;
				started++;
				immediate += r[k].done != 0;
			}
		} else {
			(void)vblk_poll(b, (op & 8) ? b->timeout_ns : 0);
		}
	}
	while (vblk_pending(b)) {
		if (++guard > 1000)
			abort();        /* a request that never ends: a hang */
		(void)vblk_poll(b, b->timeout_ns);
	}
	for (k = 0; k < 4; k++)
		if (live[k] && !r[k].done)
			abort();
	if (b->completed - before != started - immediate)
		abort();        /* a request finished twice, or never */
}

static void
fuzz_vblk(struct fz *f, uint8_t mode)
{
	int legacy = (mode >> 2) & 1;
	struct vblk_model *m = vblk_model_new(legacy, 256, 512);
	static uint8_t buf[VBLK_MAX_BYTES];
	struct fake_env_stats st;
	struct vblk b;
	int i;

	m->defer = (mode >> 3) & 1;
	if (vblk_init(&b, m->env, legacy ? VBLK_LEGACY : VBLK_MODERN, (mode >> 4) & 1 ? VBLK_IRQ : VBLK_POLL) == 0) {
		b.timeout_ns = 20000000ull;     /* keep dropped requests cheap */
		m->mutate = mutate;             /* hostile from here on */
		m->mutate_ctx = f;
		if (b.block_size < 512 || b.block_size > 4096 || b.block_count == 0 ||
		    (uint64_t)b.max_blocks * b.block_size > VBLK_MAX_BYTES)
			abort();
		if ((mode >> 5) & 1)
			fuzz_vblk_async(f, &b);
		for (i = 0; i < 8 && f->n; i++) {
			uint8_t op = take(f);
			uint32_t count = 1 + take(f) % 8;
			uint64_t lba = take(f);

			switch (op % 3) {
			case 0: (void)vblk_read(&b, lba, count, buf); break;
			case 1: (void)vblk_write(&b, lba, count, buf); break;
			default: (void)vblk_flush(&b); break;
			}
			if (!b.vq.broken)
				check_books(&b.vq);
		}
		vblk_fini(&b);
	}
	fake_env_stats(m->env, &st);
	if (st.live_buffers)
		abort();
	vblk_model_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data + 1, size ? size - 1 : 0 };

	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_caps(data + 1, size - 1);
	else if (data[0] & 2)
		fuzz_vblk(&f, data[0]);
	else
		fuzz_ring(&f);
	return 0;
}
