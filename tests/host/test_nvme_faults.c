/*
 * NVMe controller faults on the host, against the NVMe controller model
 * (tests/host/drivers/nvme_model.c, a TEST FIXTURE, not QEMU): the faults a
 * controller can show during its reset (CSTS.RDY never rising, never
 * dropping, CFS while enabling, a dropped admin completion in the
 * recovery) and during I/O (CFS, lost completions), each with the bound on
 * the (virtual) time it may take and what a BlockDevice client then gets.
 * test_nvme.c (NVM-nnn) holds the first-order cases (one fault, then
 * recovery); these are the combinations and the bounds. Ids NVF-nnn.
 * docs/testing.md "Block-driver faults".
 *
 * Faults the model has no knob for are injected by a thin register shim in
 * front of the model (fault_ops below): it changes only what the driver
 * reads from CSTS.
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
#include "../../user/drivers/nvme/nvme.h"
#include "../../user/drivers/nvme/nvme_reg.h"
#include "drivers/fake_env.h"
#include "drivers/nvme_model.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define CAP_TO_NS (2 * 500 * MS)        /* the model's CAP.TO = 2 */

/* ---- the CSTS shim ---- */

struct shim {
	struct nvme_model *m;
	int cfs_while_enabling;         /* CSTS.CFS while CC.EN = 1 and RDY = 0 */
};

static int
shim_read(void *dev, unsigned bar, uint64_t off, unsigned w, uint32_t *v)
{
	struct shim *s = dev;
	int r = nvme_model_ops.mmio_read(s->m, bar, off, w, v);

	if (r == 0 && off == NVME_REG_CSTS && s->cfs_while_enabling &&
	    (s->m->cc & NVME_CC_EN) && !(*v & NVME_CSTS_RDY))
		*v |= NVME_CSTS_CFS;
	return r;
}

static void
shim_write(void *dev, unsigned bar, uint64_t off, unsigned w, uint32_t v)
{
	nvme_model_ops.mmio_write(((struct shim *)dev)->m, bar, off, w, v);
}

static int
shim_policy(void *dev, unsigned bar, uint64_t off, unsigned w)
{
	return nvme_model_ops.mmio_policy(((struct shim *)dev)->m, bar, off, w);
}

static void
shim_addr(void *dev, unsigned bar, uint64_t off, uint64_t daddr)
{
	nvme_model_ops.mmio_addr(((struct shim *)dev)->m, bar, off, daddr);
}

static void
shim_tick(void *dev)
{
	nvme_model_ops.tick(((struct shim *)dev)->m);
}

static const struct fake_dev_ops fault_ops = {
	.mmio_read = shim_read,
	.mmio_write = shim_write,
	.mmio_policy = shim_policy,
	.mmio_addr = shim_addr,
	.tick = shim_tick,
};

/* One controller under test: a one-namespace model (1024 blocks of 512
 * bytes) behind the shim, and the driver. Not to be copied (the shim
 * points into it). */
struct rig {
	struct shim s;
	struct nvme_model *m;
	struct nvme_ctrl c;
};

static void
rig_model(struct rig *r)
{
	uint64_t nsze = 1024;
	uint32_t lbads = 9;

	r->m = nvme_model_new(1, &nsze, &lbads);
	r->s = (struct shim){ r->m, 0 };
	fake_env_free(r->m->env);
	r->m->env = fake_env_new(&fault_ops, &r->s);
	fake_env_set_bar(r->m->env, 0, 0x2000);
}

static void
assert_no_buffers(struct nvme_model *m)
{
	struct fake_env_stats st;

	fake_env_stats(m->env, &st);
	assert_int_equal(st.live_buffers, 0);
	assert_int_equal(st.bad_dma, 0);
	assert_int_equal(st.irq_protocol_errors, 0);
}

/* The model, and the driver brought up on it. */
static void
rig_up(struct rig *r, enum nvme_completion mode, int defer)
{
	rig_model(r);
	r->m->defer = defer;
	assert_int_equal(nvme_init(&r->c, r->m->env, mode), 0);
}

static void
rig_down(struct rig *r)
{
	nvme_fini(&r->c);
	assert_no_buffers(r->m);
	nvme_model_free(r->m);
}

/* A one-block read that must end with `want`; the virtual time it took. */
static uint64_t
timed_read(struct rig *r, int want)
{
	uint8_t buf[512];
	uint64_t t0 = fake_env_now(r->m->env);

	assert_int_equal(nvme_read(&r->c, 0, 0, 1, buf), want);
	return fake_env_now(r->m->env) - t0;
}

/* Write and read back one block: the controller serves again. */
static void
assert_serves(struct rig *r, uint64_t lba)
{
	uint8_t w[512], b[512];

	memset(w, (int)(lba & 0xff) ^ 0x5a, sizeof w);
	assert_int_equal(nvme_write(&r->c, 0, lba, 1, w), 0);
	memset(b, 0, sizeof b);
	assert_int_equal(nvme_read(&r->c, 0, lba, 1, b), 0);
	assert_memory_equal(w, b, sizeof b);
	assert_memory_equal(r->m->ns[0].data + lba * 512, w, sizeof w);
	assert_int_equal(r->c.state, NVME_LIVE);
}

/* A DEAD controller: every request fails with E_IO at once (no time
 * passes, nothing reaches the device), and a BlockDevice client gets
 * ioError, not a hang. Then the fault is cleared and an explicit reset
 * brings the controller back. */
static void
assert_dead_then_heal(struct rig *r, uint64_t lba)
{
	struct nvme_model *m = r->m;
	uint8_t buf[512];
	uint64_t t0 = fake_env_now(m->env);
	uint32_t cmds = m->io_cmds;

	assert_int_equal(r->c.state, NVME_DEAD);
	assert_int_equal(nvme_read(&r->c, 0, 0, 1, buf), E_IO);
	assert_int_equal(nvme_write(&r->c, 0, 0, 1, buf), E_IO);
	assert_int_equal(nvme_flush(&r->c, 0), E_IO);
	assert_int_equal(blkserv_read_blocks(&r->c.ns[0].srv, 0, 1, buf, sizeof buf), E_IO);
	assert_int_equal(blkserv_block_error(E_IO), BLK_ERR_IO);
	assert_int_equal(fake_env_now(m->env), t0);
	assert_int_equal(m->io_cmds, cmds);
	if (m->stuck_ready)
		m->csts = 0;
	m->never_ready = m->stuck_ready = 0;
	r->s.cfs_while_enabling = 0;
	assert_int_equal(nvme_reset(&r->c), 0);
	assert_serves(r, lba);
}

/* ---- NVF-001..: faults during the reset ---- */

/* CFS while waiting for RDY at init: E_IO at once, not after CAP.TO. */
static void
nvf001_cfs_while_enabling_at_init(void **state)
{
	struct rig r;
	uint64_t t0;

	rig_model(&r);
	r.m->never_ready = 1;
	r.s.cfs_while_enabling = 1;
	t0 = fake_env_now(r.m->env);
	assert_int_equal(nvme_init(&r.c, r.m->env, NVME_POLL), E_IO);
	assert_true(fake_env_now(r.m->env) - t0 < CAP_TO_NS / 2);
	assert_no_buffers(r.m);
	/* the fault cleared: the same controller comes up */
	r.m->never_ready = 0;
	r.s.cfs_while_enabling = 0;
	assert_int_equal(nvme_init(&r.c, r.m->env, NVME_POLL), 0);
	assert_serves(&r, 7);
	rig_down(&r);
}

/* A fault during I/O, then one during the recovery's reset: the request's
 * error, the (virtual) time it took, and the controller DEAD until the
 * fault is cleared. */
struct reset_fault {
	const char *id;
	enum nvme_completion mode;
	void (*knobs)(struct rig *r);
	int err;                        /* the request's */
	uint64_t min_ns, max_ns;        /* how long the request took */
	uint32_t timeouts, fatals;
	int reset_err;                  /* an explicit reset while still faulty; 0: not tried */
};

/* NVF-002: a lost completion, then the recovery's enable sees CFS */
static void
k_drop_then_cfs(struct rig *r)
{
	r->m->drop = 1;
	r->m->never_ready = 1;
	r->s.cfs_while_enabling = 1;
}

/* NVF-003: a lost completion, then RDY never rises in the recovery */
static void
k_drop_then_never_ready(struct rig *r)
{
	r->m->drop = 1;
	r->m->never_ready = 1;
}

/* NVF-004: CFS (the command posts nothing), then the next completion lost
 * is the recovery's Identify */
static void
k_cfs_then_identify_lost(struct rig *r)
{
	r->m->fatal_after = 1;
	r->m->drop = 1;
}

/* NVF-005: CFS, then RDY never drops when the recovery clears CC.EN */
static void
k_cfs_then_stuck_ready(struct rig *r)
{
	r->m->fatal_after = 1;
	r->m->stuck_ready = 1;
}

static const struct reset_fault reset_faults[] = {
	/* DEAD within the deadline and a fraction of CAP.TO: CFS ends the wait */
	{ "NVF-002", NVME_POLL, k_drop_then_cfs, E_TIMEOUT,
	  NVME_CMD_TIMEOUT_NS, NVME_CMD_TIMEOUT_NS + CAP_TO_NS / 2, 1, 0, E_IO },
	/* the deadline + CAP.TO (the recovery's enable; its closing disable
	 * finds RDY already 0), no longer */
	{ "NVF-003", NVME_IRQ, k_drop_then_never_ready, E_TIMEOUT,
	  NVME_CMD_TIMEOUT_NS + CAP_TO_NS, NVME_CMD_TIMEOUT_NS + CAP_TO_NS + 10 * MS, 1, 0, E_TIMEOUT },
	/* one command deadline (the Identify's, counted as a timeout), no
	 * recursive reset */
	{ "NVF-004", NVME_POLL, k_cfs_then_identify_lost, E_IO,
	  NVME_CMD_TIMEOUT_NS, NVME_CMD_TIMEOUT_NS + CAP_TO_NS, 1, 1, 0 },
	/* 2 x CAP.TO: the environment's disable (the kernel broker's) waits
	 * CAP.TO for RDY to drop, then the driver's own wait */
	{ "NVF-005", NVME_POLL, k_cfs_then_stuck_ready, E_IO,
	  CAP_TO_NS, 2 * CAP_TO_NS + 10 * MS, 0, 1, E_TIMEOUT },
};

static void
nvf002_faults_during_recovery(void **state)
{
	size_t i;

	for (i = 0; i < sizeof reset_faults / sizeof reset_faults[0]; i++) {
		const struct reset_fault *f = &reset_faults[i];
		struct rig r;
		uint64_t dt;

		print_message("%s\n", f->id);
		rig_up(&r, f->mode, f->mode == NVME_IRQ);
		f->knobs(&r);
		dt = timed_read(&r, f->err);
		assert_in_range(dt, f->min_ns, f->max_ns);
		assert_int_equal(r.c.timeouts, f->timeouts);
		assert_int_equal(r.c.fatals, f->fatals);
		assert_int_equal(r.c.resets, 1);        /* one recovery, not a loop */
		assert_int_equal(r.m->drop, 0);
		if (f->reset_err)
			assert_int_equal(nvme_reset(&r.c), f->reset_err);
		assert_dead_then_heal(&r, 9 + i);
		rig_down(&r);
	}
}

/* ---- NVF-010..: the ready timeout follows CAP.TO ---- */

static void
never_ready_bound(uint32_t to, uint64_t want_ns)
{
	struct rig r;
	uint64_t t0, dt;

	rig_model(&r);
	r.m->cap = (r.m->cap & ~(0xffull << 24)) | (uint64_t)to << 24;
	r.m->never_ready = 1;
	t0 = fake_env_now(r.m->env);
	assert_int_equal(nvme_init(&r.c, r.m->env, NVME_POLL), E_TIMEOUT);
	dt = fake_env_now(r.m->env) - t0;
	assert_true(dt >= want_ns);
	assert_true(dt <= want_ns + want_ns / 50 + 2 * MS);     /* polling granularity */
	assert_no_buffers(r.m);
	nvme_model_free(r.m);
}

static void
nvf010_ready_timeout_follows_cap_to(void **state)
{
	never_ready_bound(0, 500 * MS);         /* TO = 0: at least one unit */
	never_ready_bound(1, 500 * MS);
	never_ready_bound(20, 10 * SEC);
	never_ready_bound(255, 255 * 500 * MS); /* the largest: 127.5 s, still bounded */
}

/* A lost completion ends after the command deadline, not much later (the
 * recovery of a healthy controller takes no time on the model), and a
 * BlockDevice client gets ioError for it. */
static void
nvf011_timeout_is_the_deadline(void **state)
{
	struct rig r;
	uint8_t buf[512];
	uint64_t t0, dt;

	rig_up(&r, NVME_POLL, 0);
	r.m->drop = 1;
	t0 = fake_env_now(r.m->env);
	assert_int_equal(blkserv_read_blocks(&r.c.ns[0].srv, 0, 1, buf, sizeof buf), E_TIMEOUT);
	assert_int_equal(blkserv_block_error(E_TIMEOUT), BLK_ERR_IO);
	dt = fake_env_now(r.m->env) - t0;
	assert_true(dt >= NVME_CMD_TIMEOUT_NS);
	assert_true(dt <= NVME_CMD_TIMEOUT_NS + 2 * MS);
	assert_serves(&r, 17);
	rig_down(&r);
}

/* ---- NVF-020..: repeated faults ---- */

/* CFS on three requests in a row: each fails with E_IO, each recovery
 * works, the data written between them is there. */
static void
nvf020_cfs_again_and_again(void **state)
{
	struct rig r;
	uint8_t buf[512] = { 0 };
	uint32_t i;

	rig_up(&r, NVME_IRQ, 1);
	for (i = 0; i < 3; i++) {
		r.m->fatal_after = 1;
		assert_int_equal(nvme_write(&r.c, 0, 100 + i, 1, buf), E_IO);
		assert_int_equal(r.c.fatals, i + 1);
		assert_int_equal(r.c.resets, i + 1);
		assert_int_equal(r.m->resets, i + 1);  /* EN 1 -> 0: one per recovery */
		assert_serves(&r, 20 + i);
	}
	rig_down(&r);
}

/* ---- NVF-030..: asynchronous requests ---- */

/* Submit n reads of `blocks` into page i of the async region (n pages)
 * and poll until none is pending (bounded); the virtual time that took. */
static uint64_t
async_batch(struct rig *r, struct nvme_req *rq, int n, uint32_t blocks)
{
	uint8_t *mem = r->c.as.mem.cpu;
	uint64_t t0;
	int i, done = 0;

	for (i = 0; i < n; i++) {
		rq[i] = (struct nvme_req){ 0, NVME_CMD_READ, (uint64_t)i * blocks, blocks,
		    mem + (size_t)i * 4096, 0, 0 };
		assert_int_equal(nvme_submit(&r->c, &rq[i]), 0);
	}
	t0 = fake_env_now(r->m->env);
	while (nvme_async_pending(&r->c) && fake_env_now(r->m->env) - t0 < 60 * SEC)
		done += nvme_poll(&r->c, 10 * SEC);
	assert_int_equal(done, n);
	assert_int_equal(nvme_async_pending(&r->c), 0);
	for (i = 0; i < n; i++)
		assert_true(rq[i].done);
	return fake_env_now(r->m->env) - t0;
}

/* CFS with 8 requests outstanding and a recovery that cannot enable: every
 * request finishes (the ones before the fatal command served, the rest
 * E_IO), the controller is DEAD and a new submission is refused at once. */
static void
nvf030_async_cfs_recovery_fails(void **state)
{
	struct nvme_req rq[8], late;
	struct rig r;
	int i, failed = 0;

	rig_up(&r, NVME_POLL, 1);
	assert_int_equal(nvme_async_init(&r.c, 8, 8 * 4096), 0);
	r.m->fatal_after = 3;
	r.m->never_ready = 1;
	assert_true(async_batch(&r, rq, 8, 8) <= 2 * CAP_TO_NS + 10 * MS);
	for (i = 0; i < 8; i++) {
		assert_true(rq[i].status == 0 || rq[i].status == E_IO);
		failed += rq[i].status == E_IO;
	}
	assert_int_equal(failed, 6);
	assert_int_equal(r.c.state, NVME_DEAD);
	late = (struct nvme_req){ 0, NVME_CMD_READ, 0, 1, r.c.as.mem.cpu, 0, 0 };
	assert_int_equal(nvme_submit(&r.c, &late), E_IO);
	assert_int_equal(nvme_poll(&r.c, SEC), 0);      /* nothing outstanding */
	assert_dead_then_heal(&r, 30);
	rig_down(&r);
}

/* Every completion lost with 4 outstanding: all four finish with E_TIMEOUT
 * after one deadline (not four), then the controller serves again. */
static void
nvf031_async_all_lost_one_deadline(void **state)
{
	struct nvme_req rq[4];
	struct rig r;
	uint64_t dt;
	int i;

	rig_up(&r, NVME_IRQ, 1);
	assert_int_equal(nvme_async_init(&r.c, 4, 4 * 4096), 0);
	r.m->drop = 4;
	dt = async_batch(&r, rq, 4, 1);
	for (i = 0; i < 4; i++)
		assert_int_equal(rq[i].status, E_TIMEOUT);
	assert_true(dt >= NVME_CMD_TIMEOUT_NS);
	assert_true(dt <= NVME_CMD_TIMEOUT_NS + 10 * MS);
	assert_int_equal(r.c.resets, 1);
	assert_serves(&r, 31);
	rig_down(&r);
}
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nvf001_cfs_while_enabling_at_init),
		cmocka_unit_test(nvf002_faults_during_recovery),
		cmocka_unit_test(nvf010_ready_timeout_follows_cap_to),
		cmocka_unit_test(nvf011_timeout_is_the_deadline),
		cmocka_unit_test(nvf020_cfs_again_and_again),
		cmocka_unit_test(nvf030_async_cfs_recovery_fails),
		cmocka_unit_test(nvf031_async_all_lost_one_deadline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
