/*
 * libFuzzer target: the NVMe driver against a hostile controller. The NVMe
 * model (a test fixture) serves a well-formed controller, and the fuzz input
 * rewrites bytes of its Identify Controller and Identify Namespace data and
 * of every completion entry it posts (CID, SQ id, SQ head, status, phase).
 * Completions are parsed by the fixture environment's NVMe broker (the
 * rules of kernel/ddf/kddf_nvme.c on host buffers; the kernel's own parser
 * is not linked here). The driver and the broker must never crash, never
 * act on an invalid completion, and leave no DMA buffer behind after
 * nvme_fini, whatever they are fed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "../../user/drivers/nvme/nvme.h"
#include "../host/drivers/fake_env.h"
#include "../host/drivers/nvme_model.h"

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
mutate(void *ctx, int what, uint8_t *buf, unsigned len)
{
	struct fz *f = ctx;
	unsigned k = take(f) % 4, i;

	for (i = 0; i < k; i++) {
		unsigned off = (take(f) | (unsigned)take(f) << 8) % len;

		buf[off] = take(f);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t nsze[2] = { 256, 64 };
	uint32_t lbads[2] = { 9, 12 };
	struct fake_env_stats st;
	struct nvme_model *m;
	struct nvme_ctrl c;
	struct fz f = { data, size };
	uint8_t flags = take(&f), *buf;
	int i, r;

	m = nvme_model_new(1 + (flags >> 7), nsze, lbads);
	m->mutate = mutate;
	m->mutate_ctx = &f;
	m->defer = flags & 1;
	buf = malloc(NVME_MAX_XFER);
	r = nvme_init(&c, m->env, (flags & 2) ? NVME_IRQ : NVME_POLL);
	if (r == 0) {
		c.cmd_timeout_ns = 50000000ull;         /* keep hostile timeouts cheap */
		if (c.nns > NVME_MAX_NS || c.aq.inflight >= c.aq.depth)
			abort();
		for (i = 0; i < (int)c.nns; i++) {
			uint32_t bs = c.ns[i].lba_size;

			if (bs < 512 || bs > 4096 || (bs & (bs - 1)) || c.ns[i].nsze == 0)
				abort();
		}
		for (i = 0; i < 6 && f.n; i++) {
			uint8_t op = take(&f);
			uint32_t ns = op >> 6, count = 1 + take(&f) % 64;
			uint64_t lba = take(&f);

			if (ns >= c.nns)
				ns = 0;
			switch (op % 3) {
			case 0: (void)nvme_read(&c, ns, lba, count, buf); break;
			case 1: (void)nvme_write(&c, ns, lba, count, buf); break;
			default: (void)nvme_flush(&c, ns); break;
			}
			if (c.ioq.inflight >= c.ioq.depth || c.aq.inflight >= c.aq.depth)
				abort();
		}
		if ((flags & 4) && c.state == NVME_LIVE && c.nns &&
		    nvme_async_init(&c, 4, 4 * 16 * 4096) == 0) {
			struct nvme_req rq[4];

			for (i = 0; i < 4; i++) {
				rq[i] = (struct nvme_req){ 0, (uint8_t)(take(&f) % 3), take(&f),
				    1 + take(&f) % 16, (uint8_t *)c.as.mem.cpu + (size_t)i * 16 * 4096,
				    0, 0 };
				(void)nvme_submit(&c, &rq[i]);
			}
			for (i = 0; i < 8 && nvme_async_pending(&c); i++)
				(void)nvme_poll(&c, 100000000ull);
			if (c.ioq.inflight >= c.ioq.depth)
				abort();
		}
		nvme_fini(&c);
		if (c.as.slots || nvme_async_pending(&c))
			abort();
	}
	fake_env_stats(m->env, &st);
	if (st.live_buffers != 0)
		abort();
	free(buf);
	nvme_model_free(m);
	return 0;
}
