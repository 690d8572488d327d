/*
 * NVMe driver tests on the host against the NVMe controller model
 * (tests/host/drivers/nvme_model.c, a TEST FIXTURE, not QEMU). Test ids
 * NVM-nnn name what each expects.
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

static struct nvme_model *
model1(uint64_t nsze, uint32_t lbads)
{
	return nvme_model_new(1, &nsze, &lbads);
}

static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 151u + seed * 13u) >> 2 ^ seed);
}

/* Byte `off` of the asynchronous requests' DMA region (nvme_async_init):
 * asynchronous data must lie there, it is never copied. */
static uint8_t *
amem(struct nvme_ctrl *c, size_t off)
{
	return (uint8_t *)c->as.mem.cpu + off;
}

static void
assert_clean(struct nvme_model *m)
{
	struct fake_env_stats st;

	fake_env_stats(m->env, &st);
	assert_int_equal(m->errors, 0);
	assert_int_equal(st.bad_dma, 0);
	assert_int_equal(st.irq_protocol_errors, 0);
}

/* Completions the environment (the broker) counted and ignored. */
static uint32_t
bogus_cqes(struct nvme_model *m)
{
	struct fake_env_stats st;

	fake_env_stats(m->env, &st);
	return st.bogus_cqe;
}

static void
assert_no_buffers(struct nvme_model *m)
{
	struct fake_env_stats st;

	fake_env_stats(m->env, &st);
	assert_int_equal(st.live_buffers, 0);
}

static void
roundtrip(struct nvme_ctrl *c, struct nvme_model *m, uint32_t nsi, uint64_t lba, uint32_t count, uint32_t seed)
{
	uint32_t bs = c->ns[nsi].lba_size;
	size_t n = (size_t)count * bs;
	uint8_t *w = malloc(n), *r = malloc(n);

	fill(w, n, seed);
	assert_int_equal(nvme_write(c, nsi, lba, count, w), 0);
	memset(r, 0, n);
	assert_int_equal(nvme_read(c, nsi, lba, count, r), 0);
	assert_memory_equal(w, r, n);
	assert_memory_equal(m->ns[nsi].data + lba * bs, w, n);
	free(w);
	free(r);
}

/* ---- NVM-001..: validators ---- */

static void
idns(uint8_t *id, uint64_t nsze, uint64_t ncap, uint8_t nlbaf, uint8_t flbas, uint32_t lbaf0, uint32_t lbaf1)
{
	memset(id, 0, 4096);
	memcpy(id + NVME_IDN_NSZE, &nsze, 8);
	memcpy(id + NVME_IDN_NCAP, &ncap, 8);
	id[NVME_IDN_NLBAF] = nlbaf;
	id[NVME_IDN_FLBAS] = flbas;
	memcpy(id + NVME_IDN_LBAF, &lbaf0, 4);
	memcpy(id + NVME_IDN_LBAF + 4, &lbaf1, 4);
}

static void
nvm001_identify_namespace_validation(void **state)
{
	uint8_t id[4096];
	uint64_t nsze;
	uint32_t bs;

	idns(id, 1000, 1000, 1, 1, 9u << 16, 12u << 16);
	assert_int_equal(nvme_parse_id_ns(id, &nsze, &bs), 0);
	assert_int_equal(nsze, 1000);
	assert_int_equal(bs, 4096);
	idns(id, 0, 0, 0, 0, 9u << 16, 0);
	assert_int_equal(nvme_parse_id_ns(id, &nsze, &bs), E_NOENT);        /* inactive */
	idns(id, 10, 11, 0, 0, 9u << 16, 0);
	assert_int_equal(nvme_parse_id_ns(id, &nsze, &bs), E_CORRUPT);      /* NCAP > NSZE */
	idns(id, 10, 10, 0, 1, 9u << 16, 12u << 16);
	assert_int_equal(nvme_parse_id_ns(id, &nsze, &bs), E_CORRUPT);      /* FLBAS > NLBAF */
	idns(id, 10, 10, 0, 0, 9u << 16 | 8, 0);
	assert_int_equal(nvme_parse_id_ns(id, &nsze, &bs), E_NOTSUP);       /* metadata */
	idns(id, 10, 10, 0, 0, 13u << 16, 0);
	assert_int_equal(nvme_parse_id_ns(id, &nsze, &bs), E_NOTSUP);       /* 8 KiB */
	idns(id, 10, 10, 0, 0, 8u << 16, 0);
	assert_int_equal(nvme_parse_id_ns(id, &nsze, &bs), E_NOTSUP);       /* 256 B */
	idns(id, 10, 10, 0, 0x20, 9u << 16, 0);
	assert_int_equal(nvme_parse_id_ns(id, &nsze, &bs), E_NOTSUP);       /* index >= 16 */
	idns(id, UINT64_MAX >> 5, 1, 0, 0, 12u << 16, 0);
	assert_int_equal(nvme_parse_id_ns(id, &nsze, &bs), E_CORRUPT);      /* bytes overflow */
}

static void
nvm002_identify_controller_validation(void **state)
{
	uint8_t id[4096] = { 0 };
	uint32_t nn, mdts, v = 3;
	char model[41];

	id[NVME_IDC_SQES] = 0x66;
	id[NVME_IDC_CQES] = 0x44;
	id[NVME_IDC_MDTS] = 5;
	memcpy(id + NVME_IDC_NN, &v, 4);
	memset(id + NVME_IDC_MN, ' ', 40);
	memcpy(id + NVME_IDC_MN, "QEMU\x01NVMe", 9);
	assert_int_equal(nvme_parse_id_ctrl(id, &nn, &mdts, model), 0);
	assert_int_equal(nn, 3);
	assert_int_equal(mdts, 5);
	assert_string_equal(model, "QEMU?NVMe");   /* control bytes never reach callers */
	id[NVME_IDC_SQES] = 0x77;                  /* requires 128-byte SQEs */
	assert_int_equal(nvme_parse_id_ctrl(id, &nn, &mdts, model), E_NOTSUP);
	id[NVME_IDC_SQES] = 0x55;                  /* cannot do 64 */
	assert_int_equal(nvme_parse_id_ctrl(id, &nn, &mdts, model), E_NOTSUP);
	id[NVME_IDC_SQES] = 0x66;
	id[NVME_IDC_CQES] = 0x33;
	assert_int_equal(nvme_parse_id_ctrl(id, &nn, &mdts, model), E_NOTSUP);
}

static void
nvm003_status_decode(void **state)
{
	assert_int_equal(nvme_status_err(0x0001), 0);                   /* phase only */
	assert_int_equal(nvme_status_err(NVME_SC_LBA_RANGE << 1), E_RANGE);
	assert_int_equal(nvme_status_err(NVME_SC_INVALID_FIELD << 1 | 1u << 15), E_INVAL);
	assert_int_equal(nvme_status_err(NVME_SC_INVALID_OPCODE << 1), E_INVAL);
	assert_int_equal(nvme_status_err(0x04 << 1), E_IO);
	assert_int_equal(nvme_status_err(1u << 9 | 0x80 << 1), E_IO); /* command specific */
	assert_int_equal(nvme_status_err(2u << 9 | 0x81 << 1), E_IO);  /* media error */
}

/* ---- NVM-010..: end to end against the model ---- */

static void
io_suite(enum nvme_completion mode, int defer, uint32_t lbads)
{
	struct nvme_model *m = model1(lbads == 9 ? 8192 : 1024, lbads);
	struct nvme_ctrl c;
	uint32_t bs = 1u << lbads, pages_per_max;

	m->defer = defer;
	assert_int_equal(nvme_init(&c, m->env, mode), 0);
	assert_int_equal(c.nns, 1);
	assert_int_equal(c.ns[0].lba_size, bs);
	assert_string_equal(c.model, "capOS NVMe model (test fixture)");
	assert_int_equal(c.max_xfer, NVME_MAX_XFER);
	roundtrip(&c, m, 0, 0, 1, 1);                           /* PRP1 only */
	roundtrip(&c, m, 0, 5, 8192 / bs, 2);                   /* PRP1 + PRP2 page */
	assert_int_equal(m->prp_lists, 0);
	roundtrip(&c, m, 0, 17, 3 * 4096 / bs, 3);              /* 3 pages: PRP list */
	assert_int_equal(m->prp_lists, 2);
	pages_per_max = NVME_MAX_XFER / bs;
	roundtrip(&c, m, 0, c.ns[0].nsze - pages_per_max, pages_per_max, 4); /* 32 pages, at the end */
	assert_int_equal(m->prp_lists, 4);
	assert_int_equal(nvme_flush(&c, 0), 0);
	assert_int_equal(m->flushes, 1);
	assert_int_equal(c.resets, 0);
	assert_int_equal(bogus_cqes(m), 0);
	assert_clean(m);
	if (mode == NVME_IRQ && defer) {        /* completions really came by interrupt */
		struct fake_env_stats st;

		fake_env_stats(m->env, &st);
		assert_true(st.irq_acks >= 9);
	}
	nvme_fini(&c);
	assert_no_buffers(m);
	nvme_model_free(m);
}

/* IRQ mode that first keeps collecting (the driver process's setting): the
 * fixture's clock stands still while collecting, so only the count bound
 * ends the spin; completions still arrive (by interrupt, after the spin). */
static void
nvm018_irq_spin_then_wait(void **state)
{
	struct nvme_model *m = model1(1024, 9);
	struct nvme_ctrl c;
	struct fake_env_stats st;

	m->defer = 1;
	assert_int_equal(nvme_init(&c, m->env, NVME_IRQ), 0);
	c.irq_spin_ns = 1000000ull;
	roundtrip(&c, m, 0, 7, 3, 5);
	assert_int_equal(nvme_flush(&c, 0), 0);
	m->drop = 1;            /* a lost completion still times out, then recovers */
	{
		uint8_t buf[512];

		assert_int_equal(nvme_read(&c, 0, 0, 1, buf), E_TIMEOUT);
	}
	assert_int_equal(c.resets, 1);
	roundtrip(&c, m, 0, 9, 1, 6);
	fake_env_stats(m->env, &st);
	assert_true(st.irq_acks >= 3);
	assert_clean(m);
	nvme_fini(&c);
	assert_no_buffers(m);
	nvme_model_free(m);
}

static void nvm010_poll(void **s) { io_suite(NVME_POLL, 0, 9); }
static void nvm011_irq(void **s) { io_suite(NVME_IRQ, 1, 9); }
static void nvm012_poll_deferred(void **s) { io_suite(NVME_POLL, 1, 9); }
static void nvm013_lba_4096(void **s) { io_suite(NVME_IRQ, 1, 12); }

static void
nvm014_phase_wraps_many_times(void **state)
{
	struct nvme_model *m = model1(4096, 9);
	struct nvme_ctrl c;
	uint8_t buf[512];
	int i;

	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	for (i = 0; i < 1000; i++) {    /* > 15 wraps of the 64-entry I/O queue */
		memset(buf, i & 0xff, sizeof(buf));
		assert_int_equal(nvme_write(&c, 0, (uint64_t)i, 1, buf), 0);
	}
	for (i = 0; i < 1000; i++) {
		assert_int_equal(nvme_read(&c, 0, (uint64_t)i, 1, buf), 0);
		assert_int_equal(buf[511], i & 0xff);
	}
	assert_int_equal(bogus_cqes(m), 0);
	assert_clean(m);
	nvme_fini(&c);
	nvme_model_free(m);
}

static void
nvm015_two_namespaces(void **state)
{
	uint64_t nsze[2] = { 2048, 512 };
	uint32_t lbads[2] = { 9, 12 };
	struct nvme_model *m = nvme_model_new(2, nsze, lbads);
	struct nvme_ctrl c;
	uint8_t buf[4096];

	assert_int_equal(nvme_init(&c, m->env, NVME_IRQ), 0);
	assert_int_equal(c.nns, 2);
	assert_int_equal(c.ns[1].nsid, 2);
	assert_int_equal(c.ns[1].lba_size, 4096);
	roundtrip(&c, m, 0, 7, 3, 1);
	roundtrip(&c, m, 1, 7, 3, 2);
	/* namespace 1 block 7 is not namespace 2 block 7 */
	assert_int_equal(nvme_read(&c, 0, 7, 1, buf), 0);
	assert_memory_equal(buf, m->ns[0].data + 7 * 512, 512);
	assert_int_equal(c.ns[0].srv.info.block_count, 2048);
	assert_int_equal(c.ns[1].srv.info.block_size, 4096);
	assert_int_equal(nvme_read(&c, 2, 0, 1, buf), E_NOENT);
	assert_clean(m);
	nvme_fini(&c);
	assert_no_buffers(m);
	nvme_model_free(m);
}

static void
nvm016_unusable_namespaces_skipped(void **state)
{
	uint64_t nsze[3] = { 100, 0, 100 };
	uint32_t lbads[3] = { 9, 9, 9 };
	struct nvme_model *m = nvme_model_new(3, nsze, lbads);
	struct nvme_ctrl c;

	m->ns[2].ms = 8;        /* metadata format: not served */
	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	assert_int_equal(c.nns, 1);
	assert_int_equal(c.ns[0].nsid, 1);
	nvme_fini(&c);
	nvme_model_free(m);
}

static void
nvm017_mdts_limits_transfer(void **state)
{
	struct nvme_model *m = model1(1024, 9);
	struct nvme_ctrl c;
	uint8_t buf[16384];

	m->mdts = 1;            /* 2 pages */
	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	assert_int_equal(c.max_xfer, 8192);
	assert_int_equal(c.ns[0].srv.info.max_transfer_blocks, 16);
	assert_int_equal(nvme_read(&c, 0, 0, 17, buf), E_INVAL);
	assert_int_equal(blkserv_read_blocks(&c.ns[0].srv, 0, 17, buf, 17 * 512), E_INVAL);
	assert_int_equal(nvme_read(&c, 0, 0, 16, buf), 0);
	assert_clean(m);
	nvme_fini(&c);
	nvme_model_free(m);
}

/* ---- NVM-030..: faults: documented error, then reset, then I/O works ---- */

typedef void (*knob_fn)(struct nvme_model *m);
static void k_drop(struct nvme_model *m) { m->drop = 1; }
static void k_fatal(struct nvme_model *m) { m->fatal_after = 1; }
static void k_bogus(struct nvme_model *m) { m->bogus_cid = 1; }
static void k_phase(struct nvme_model *m) { m->wrong_phase = 1; }
static void k_extra(struct nvme_model *m) { m->extra_bogus = 1; }

static void
fault_then_recover(enum nvme_completion mode, knob_fn knob, int err, uint32_t resets,
    uint32_t bogus, uint32_t fatals)
{
	struct nvme_model *m = model1(4096, 9);
	struct nvme_ctrl c;
	uint8_t buf[8192];
	uint64_t t0;

	m->defer = mode == NVME_IRQ;
	assert_int_equal(nvme_init(&c, m->env, mode), 0);
	knob(m);
	t0 = fake_env_now(m->env);
	assert_int_equal(nvme_read(&c, 0, 0, 16, buf), err);
	assert_int_equal(c.resets, resets);
	assert_int_equal(m->resets, resets);    /* EN 1 -> 0 transitions seen by the model */
	assert_int_equal(bogus_cqes(m), bogus);
	assert_int_equal(c.fatals, fatals);
	if (err == E_TIMEOUT) {
		assert_int_equal(c.timeouts, 1);
		assert_true(fake_env_now(m->env) - t0 >= NVME_CMD_TIMEOUT_NS);
	}
	assert_int_equal(c.state, NVME_LIVE);
	roundtrip(&c, m, 0, 40, 16, 8);
	assert_int_equal(nvme_flush(&c, 0), 0);
	assert_clean(m);
	nvme_fini(&c);
	assert_no_buffers(m);
	nvme_model_free(m);
}

static void
nvm030_dropped_completion(void **state)
{
	fault_then_recover(NVME_POLL, k_drop, E_TIMEOUT, 1, 0, 0);
	fault_then_recover(NVME_IRQ, k_drop, E_TIMEOUT, 1, 0, 0);
}

static void
nvm031_controller_fatal_mid_io(void **state)
{
	fault_then_recover(NVME_POLL, k_fatal, E_IO, 1, 0, 1);
	fault_then_recover(NVME_IRQ, k_fatal, E_IO, 1, 0, 1);
}

static void
nvm032_bogus_cid(void **state)
{
	/* the only completion names a CID never issued: ignored, counted, timeout */
	fault_then_recover(NVME_POLL, k_bogus, E_TIMEOUT, 1, 1, 0);
	/* a bogus entry before the real one: ignored, the request succeeds */
	fault_then_recover(NVME_IRQ, k_extra, 0, 0, 1, 0);
}

static void
nvm033_wrong_phase(void **state)
{
	fault_then_recover(NVME_POLL, k_phase, E_TIMEOUT, 1, 0, 0);
	fault_then_recover(NVME_IRQ, k_phase, E_TIMEOUT, 1, 0, 0);
}

static void
nvm034_never_ready(void **state)
{
	struct nvme_model *m = model1(1024, 9);
	struct nvme_ctrl c;
	uint64_t t0 = fake_env_now(m->env);

	m->never_ready = 1;
	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), E_TIMEOUT);
	/* CAP.TO = 2 x 500 ms */
	assert_true(fake_env_now(m->env) - t0 >= 1000000000ull);
	assert_true(fake_env_now(m->env) - t0 < 3000000000ull);
	assert_no_buffers(m);
	nvme_model_free(m);
}

static void
nvm041_ready_never_drops(void **state)
{
	struct nvme_model *m = model1(1024, 9);
	struct nvme_ctrl c;
	uint8_t buf[512];
	uint64_t t0;

	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	m->stuck_ready = 1;
	m->drop = 1;
	t0 = fake_env_now(m->env);
	/* timeout -> reset: CC.EN = 0 but RDY stays 1 -> reset fails after CAP.TO */
	assert_int_equal(c.claim_resets, 0);
	assert_int_equal(nvme_read(&c, 0, 0, 1, buf), E_TIMEOUT);
	assert_int_equal(c.state, NVME_DEAD);
	/* the environment's disable found RDY stuck: it reset the claim (the
	 * driver process then exits: its message buffers are revoked) */
	assert_true(c.claim_resets >= 1);
	/* 5 s command deadline + CAP.TO in the reset + CAP.TO in the final disable */
	assert_true(fake_env_now(m->env) - t0 < NVME_CMD_TIMEOUT_NS + 3000000000ull);
	assert_int_equal(nvme_reset(&c), E_TIMEOUT);
	m->stuck_ready = 0;
	m->csts = 0;
	assert_int_equal(nvme_reset(&c), 0);
	roundtrip(&c, m, 0, 5, 2, 5);
	nvme_fini(&c);
	assert_no_buffers(m);
	/* and at init: a controller left enabled whose RDY never drops */
	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	m->stuck_ready = 1;
	nvme_fini(&c);          /* leaves CC.EN = 0 with RDY stuck at 1 */
	m->cc |= NVME_CC_EN;
	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), E_TIMEOUT);
	assert_no_buffers(m);
	nvme_model_free(m);
}

static void
nvm035_device_gone_is_dead_not_hung(void **state)
{
	struct nvme_model *m = model1(1024, 9);
	struct nvme_ctrl c;
	uint8_t buf[512];
	uint64_t t0;

	m->absent = 1;
	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), E_IO);
	assert_no_buffers(m);
	m->absent = 0;
	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	m->absent = 1;          /* surprise removal while LIVE */
	m->defer = 1;
	t0 = fake_env_now(m->env);
	assert_int_equal(nvme_read(&c, 0, 0, 1, buf), E_IO);
	assert_int_equal(c.state, NVME_DEAD);
	assert_int_equal(nvme_read(&c, 0, 0, 1, buf), E_IO);   /* at once */
	assert_int_equal(blkserv_read_blocks(&c.ns[0].srv, 0, 1, buf, 512), E_IO);
	assert_true(fake_env_now(m->env) - t0 < NVME_CMD_TIMEOUT_NS);
	nvme_fini(&c);
	assert_no_buffers(m);
	nvme_model_free(m);
}

static void
nvm036_fatal_during_reset_leaves_dead(void **state)
{
	struct nvme_model *m = model1(1024, 9);
	struct nvme_ctrl c;
	uint8_t buf[512];

	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	m->fatal_after = 1;
	m->never_ready = 1;     /* the recovery reset cannot bring it back */
	assert_int_equal(nvme_read(&c, 0, 0, 1, buf), E_IO);
	assert_int_equal(c.state, NVME_DEAD);
	assert_int_equal(nvme_write(&c, 0, 0, 1, buf), E_IO);
	/* an explicit reset once the device behaves brings it back */
	m->never_ready = 0;
	assert_int_equal(nvme_reset(&c), 0);
	roundtrip(&c, m, 0, 3, 1, 3);
	nvme_fini(&c);
	assert_no_buffers(m);
	nvme_model_free(m);
}

static void
nvm037_bad_identify_fails_init(void **state)
{
	struct nvme_model *m = model1(1024, 9);
	struct nvme_ctrl c;

	m->sqes = 0x77;
	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), E_NOTSUP);
	assert_no_buffers(m);
	nvme_model_free(m);
}

static void
nvm038_cap_checks(void **state)
{
	struct nvme_model *m = model1(1024, 9);
	struct nvme_ctrl c;

	m->cap |= 1ull << 48;   /* MPSMIN 8 KiB: we use 4 KiB pages */
	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), E_NOTSUP);
	m->cap &= ~(0xfull << 48);
	m->cap &= ~(1ull << 37); /* no NVM command set */
	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), E_NOTSUP);
	m->cap |= 1ull << 37;
	m->cap = (m->cap & ~0xffffull) | 3;     /* MQES 3: queues of 4 */
	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	assert_int_equal(c.ioq.depth, 4);
	roundtrip(&c, m, 0, 0, 1, 1);
	roundtrip(&c, m, 0, 1, 1, 2);
	roundtrip(&c, m, 0, 2, 1, 3);
	roundtrip(&c, m, 0, 3, 1, 4);
	assert_clean(m);
	nvme_fini(&c);
	assert_no_buffers(m);
	nvme_model_free(m);
}

static void
nvm039_shutdown_on_fini(void **state)
{
	struct nvme_model *m = model1(1024, 9);
	struct nvme_ctrl c;
	uint64_t t0;

	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	roundtrip(&c, m, 0, 1, 1, 1);
	nvme_fini(&c);
	assert_int_equal(c.shutdown_err, 0);
	assert_int_equal(m->shutdowns, 1);
	assert_int_equal(m->cc & NVME_CC_EN, 0);
	assert_no_buffers(m);
	/* a controller that never finishes shutting down costs CAP.TO, no more */
	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	m->shutdown_stuck = 1;
	t0 = fake_env_now(m->env);
	nvme_fini(&c);
	assert_int_equal(c.shutdown_err, E_TIMEOUT);
	assert_true(fake_env_now(m->env) - t0 < 2000000000ull);
	assert_int_equal(m->cc & NVME_CC_EN, 0);
	assert_no_buffers(m);
	nvme_model_free(m);
}

static void
nvm040_namespace_changed_across_reset_fails_closed(void **state)
{
	struct nvme_model *m = model1(1024, 9);
	struct nvme_ctrl c;
	uint8_t buf[512];

	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	m->ns[0].nsze = 512;    /* shrunk behind the driver */
	m->drop = 1;
	assert_int_equal(nvme_read(&c, 0, 0, 1, buf), E_TIMEOUT);
	assert_int_equal(c.state, NVME_DEAD);
	assert_int_equal(nvme_read(&c, 0, 1000, 1, buf), E_IO);
	assert_int_equal(nvme_reset(&c), E_CORRUPT);
	m->ns[0].nsze = 1024;
	assert_int_equal(nvme_reset(&c), 0);
	roundtrip(&c, m, 0, 1000, 1, 2);
	nvme_fini(&c);
	assert_no_buffers(m);
	nvme_model_free(m);
}

/* ---- NVM-060..: asynchronous I/O (queue depth > 1) ---- */

static void
nvm060_async_queue_depth_16(void **state)
{
	struct nvme_model *m = model1(8192, 9);
	struct nvme_req rq[16];
	uint8_t *wbuf[16], *rbuf[16];
	struct nvme_ctrl c;
	int i, done, round;

	m->defer = 1;           /* completions arrive later: many in flight */
	assert_int_equal(nvme_init(&c, m->env, NVME_IRQ), 0);
	assert_int_equal(nvme_submit(&c, &rq[0]), E_BUSY);     /* not enabled */
	assert_int_equal(nvme_async_init(&c, 16, 32 * 8192), 0);
	for (i = 0; i < 16; i++) {
		wbuf[i] = amem(&c, (size_t)i * 8192);
		rbuf[i] = amem(&c, (size_t)(16 + i) * 8192);
	}
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 16; i++) {
			fill(wbuf[i], 8192, (uint32_t)(i + round * 16));
			rq[i] = (struct nvme_req){ 0, NVME_CMD_WRITE, (uint64_t)((i * 37 + round) % 500) * 16,
			    (uint32_t)(1 + i), wbuf[i], 0, 0 };
			assert_int_equal(nvme_submit(&c, &rq[i]), 0);
		}
		assert_int_equal(nvme_async_pending(&c), 16);
		{       /* all slots busy */
			struct nvme_req extra = { 0, NVME_CMD_READ, 0, 1, rbuf[0], 0, 0 };

			assert_int_equal(nvme_submit(&c, &extra), E_AGAIN);
		}
		for (done = 0; done < 16;)
			done += nvme_poll(&c, 1000000000ull);
		for (i = 0; i < 16; i++) {
			assert_true(rq[i].done);
			assert_int_equal(rq[i].status, 0);
			rq[i] = (struct nvme_req){ 0, NVME_CMD_READ, (uint64_t)((i * 37 + round) % 500) * 16,
			    (uint32_t)(1 + i), rbuf[i], 0, 0 };
			assert_int_equal(nvme_submit(&c, &rq[i]), 0);
		}
		/* a synchronous command while 16 are in flight reaps them too */
		assert_int_equal(nvme_flush(&c, 0), 0);
		for (i = 0; i < 16; i++) {
			if (!rq[i].done)
				(void)nvme_poll(&c, 1000000000ull);
		}
		for (i = 0; i < 16; i++) {
			assert_true(rq[i].done);
			assert_int_equal(rq[i].status, 0);
			assert_memory_equal(rbuf[i], wbuf[i], (size_t)(1 + i) * 512);
		}
	}
	assert_int_equal(nvme_poll(&c, 1000), 0);      /* nothing outstanding */
	assert_int_equal(bogus_cqes(m), 0);
	assert_clean(m);
	nvme_fini(&c);
	assert_no_buffers(m);
	nvme_model_free(m);
}

/* Every finished command comes back in one environment call (nvmeReap),
 * never one call per outstanding token (nvmeComplete). */
static void
nvm065_async_batched_reap(void **state)
{
	struct nvme_model *m = model1(8192, 9);
	struct nvme_req rq[16];
	struct fake_env_stats st0, st;
	struct nvme_ctrl c;
	int i, done = 0;

	m->defer = 1;
	assert_int_equal(nvme_init(&c, m->env, NVME_IRQ), 0);
	assert_int_equal(nvme_async_init(&c, 16, 16 * 4096), 0);
	for (i = 0; i < 16; i++) {
		rq[i] = (struct nvme_req){ 0, NVME_CMD_READ, (uint64_t)i * 8, 8, amem(&c, (size_t)i * 4096),
		    0, 0 };
		assert_int_equal(nvme_submit(&c, &rq[i]), 0);
	}
	fake_env_stats(m->env, &st0);
	while (done < 16)
		done += nvme_poll(&c, 1000000000ull);
	fake_env_stats(m->env, &st);
	assert_int_equal(done, 16);
	for (i = 0; i < 16; i++)
		assert_true(rq[i].done && rq[i].status == 0);
	assert_int_equal(st.nvme_completes - st0.nvme_completes, 0);
	/* one pass before the device ran, one after its tick */
	assert_in_range(st.nvme_reaps - st0.nvme_reaps, 1, 3);
	assert_int_equal(c.stray, 0);
	assert_int_equal(c.ioq.inflight, 0);
	assert_clean(m);
	nvme_fini(&c);
	assert_no_buffers(m);
	nvme_model_free(m);
}

/*
 * The driver process's layout (nvme/main.c): message buffers back to back
 * from (page - 40), so a read's data (40 bytes into its message) starts on
 * a page and a write's data (inside the request, word-aligned) need not: a
 * 128 KiB write at page offset 4088 touches 33 pages (PRP1 with that
 * offset and a 32-entry list), a 128 KiB read 32 (31 entries). No copy:
 * the device reads the write's buffer itself (data changed after the
 * submission, before the device ran, is what reaches the disk) and writes
 * the read's (its data is there before the driver reaps it). One block
 * more than a slot holds is refused.
 */
static void
nvm067_async_full_slot_in_place(void **state)
{
	static uint8_t want[NVME_SLOT_XFER];
	struct nvme_model *m = model1(4096, 9);
	const size_t msg = NVME_SLOT_XFER + 4096, lead = 4096 - 40;
	uint32_t n = NVME_SLOT_XFER / 512, lists;
	struct nvme_req w, r;
	struct nvme_ctrl c;
	uint8_t *wbuf, *rbuf;

	m->defer = 1;
	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	assert_int_equal(nvme_async_init(&c, 4, lead + 2 * msg), 0);
	wbuf = amem(&c, lead + 32);
	rbuf = amem(&c, lead + msg + 40);
	assert_int_equal((uintptr_t)wbuf % 4096, 4088);
	assert_int_equal((uintptr_t)rbuf % 4096, 0);
	fill(wbuf, NVME_SLOT_XFER, 66);
	fill(want, NVME_SLOT_XFER, 67);
	lists = m->prp_lists;
	w = (struct nvme_req){ 0, NVME_CMD_WRITE, 1000, n, wbuf, 0, 0 };
	assert_int_equal(nvme_submit(&c, &w), 0);
	memcpy(wbuf, want, NVME_SLOT_XFER);     /* after the submission, before the device ran */
	while (!w.done)
		(void)nvme_poll(&c, 1000000000ull);
	assert_int_equal(w.status, 0);
	assert_int_equal(m->prp_lists, lists + 1);
	assert_memory_equal(m->ns[0].data + 1000 * 512, want, NVME_SLOT_XFER);
	r = (struct nvme_req){ 0, NVME_CMD_READ, 1000, n, rbuf, 0, 0 };
	assert_int_equal(nvme_submit(&c, &r), 0);
	devenv_delay_us(m->env, 1);             /* the device runs; nothing reaped yet */
	assert_false(r.done);
	assert_memory_equal(rbuf, want, NVME_SLOT_XFER);
	while (!r.done)
		(void)nvme_poll(&c, 1000000000ull);
	assert_int_equal(r.status, 0);
	assert_int_equal(m->prp_lists, lists + 2);
	r = (struct nvme_req){ 0, NVME_CMD_READ, 1000, n + 1, rbuf, 0, 0 };
	assert_int_equal(nvme_submit(&c, &r), E_INVAL);
	assert_int_equal(m->errors, 0);
	assert_clean(m);
	nvme_fini(&c);
	assert_no_buffers(m);
	nvme_model_free(m);
}

/* Asynchronous data anywhere but wholly inside the DMA region, or not
 * dword-aligned, is refused (E_INVAL) by the driver itself: nothing
 * reaches the environment, nothing is in flight. */
static void
nvm069_async_data_outside_region(void **state)
{
	static uint8_t other[8192];
	struct nvme_model *m = model1(1024, 9);
	struct fake_env_stats st0, st;
	struct nvme_req r;
	struct nvme_ctrl c;
	size_t size;

	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	assert_int_equal(nvme_async_init(&c, 2, 8192), 0);
	size = c.as.mem.size;
	assert_int_equal(size, 8192);
	fake_env_stats(m->env, &st0);
	struct { uint8_t *buf; uint32_t count; const char *what; } bad[] = {
		{ other, 1, "ordinary memory" },
		{ amem(&c, 0) - 512, 2, "starts before the region" },
		{ amem(&c, size - 512), 2, "runs past its end" },
		{ amem(&c, size), 1, "starts at its end" },
		{ amem(&c, 2), 1, "not dword-aligned" },
		{ (uint8_t *)(uintptr_t)UINTPTR_MAX - 100, 1, "wraps" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = (struct nvme_req){ 0, NVME_CMD_WRITE, 0, bad[i].count, bad[i].buf, 0, 0 };
		if (nvme_submit(&c, &r) != E_INVAL)
			fail_msg("%s: not refused", bad[i].what);
		r.opc = NVME_CMD_READ;
		if (nvme_submit(&c, &r) != E_INVAL)
			fail_msg("%s (read): not refused", bad[i].what);
	}
	fake_env_stats(m->env, &st);
	assert_int_equal(st.refused_brokered, st0.refused_brokered);
	assert_int_equal(c.ioq.inflight, 0);
	assert_int_equal(nvme_async_pending(&c), 0);
	assert_int_equal(m->reads + m->writes, 0);
	/* the last dword-aligned sector of the region is fine */
	r = (struct nvme_req){ 0, NVME_CMD_WRITE, 0, 1, amem(&c, size - 512), 0, 0 };
	assert_int_equal(nvme_submit(&c, &r), 0);
	while (!r.done)
		(void)nvme_poll(&c, 1000000000ull);
	assert_int_equal(r.status, 0);
	assert_int_equal(m->writes, 1);
	nvme_fini(&c);
	assert_no_buffers(m);
	nvme_model_free(m);
}

/* Spinning (a poll that does not wait) reads CSTS at most once per
 * NVME_CSTS_EVERY_NS of driver time; a poll that would wait always reads
 * it, so a fatal controller is still found before any wait. */
static void
nvm068_spin_reads_csts_sparingly(void **state)
{
	struct nvme_model *m = model1(1024, 9);
	struct nvme_req r;
	struct nvme_ctrl c;
	uint32_t before;
	int i;

	m->defer = 1;
	assert_int_equal(nvme_init(&c, m->env, NVME_IRQ), 0);
	assert_int_equal(nvme_async_init(&c, 2, 4096), 0);
	r = (struct nvme_req){ 0, NVME_CMD_READ, 0, 1, amem(&c, 0), 0, 0 };
	assert_int_equal(nvme_submit(&c, &r), 0);
	before = m->csts_reads;
	for (i = 0; i < 100; i++)       /* the fixture's clock stands still */
		assert_int_equal(nvme_poll(&c, 0), 0);
	assert_in_range(m->csts_reads - before, 0, 1);
	m->csts |= NVME_CSTS_CFS;
	assert_int_equal(nvme_poll(&c, 0), 0);  /* not read again within the millisecond */
	assert_false(r.done);
	assert_int_equal(nvme_poll(&c, 1000000000ull), 1);     /* read before waiting */
	assert_true(r.done);
	assert_int_equal(r.status, E_IO);
	assert_int_equal(c.fatals, 1);
	nvme_fini(&c);
	assert_no_buffers(m);
	nvme_model_free(m);
}

/* The fixture environment refuses reap arguments as the kernel does. */
static void
nvm066_reap_bad_arguments(void **state)
{
	struct nvme_model *m = model1(1024, 9);
	struct devenv_nvme_done d[DEVENV_NVME_REAP_MAX];
	struct nvme_ctrl c;

	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	assert_int_equal(devenv_nvme_reap(m->env, 1, d, 0), E_INVAL);
	assert_int_equal(devenv_nvme_reap(m->env, 1, d, DEVENV_NVME_REAP_MAX + 1), E_RANGE);
	assert_int_equal(devenv_nvme_reap(m->env, 4, d, 1), E_RANGE);
	assert_int_equal(devenv_nvme_reap(m->env, 1, d, DEVENV_NVME_REAP_MAX), 0);
	nvme_fini(&c);
	assert_int_equal(devenv_nvme_reap(m->env, 1, d, 1), E_BUSY);    /* disabled */
	assert_no_buffers(m);
	nvme_model_free(m);
}

static void
nvm061_async_checks(void **state)
{
	struct nvme_model *m = model1(1024, 9);
	struct nvme_ctrl c;
	struct nvme_req r;
	uint8_t *buf;

	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	assert_int_equal(nvme_async_init(&c, 0, 4096), E_INVAL);
	assert_int_equal(nvme_async_init(&c, 63, 4096), E_INVAL);      /* depth 64: at most 62 */
	assert_int_equal(nvme_async_init(&c, 4, 0), E_INVAL);          /* no data region */
	assert_int_equal(nvme_async_init(&c, 4, NVME_SLOT_XFER), 0);
	assert_int_equal(nvme_async_init(&c, 4, NVME_SLOT_XFER), E_INVAL);     /* once */
	buf = amem(&c, 0);
	r = (struct nvme_req){ 0, NVME_CMD_READ, 1024, 1, buf, 0, 0 };
	assert_int_equal(nvme_submit(&c, &r), E_RANGE);
	r = (struct nvme_req){ 0, NVME_CMD_READ, 0, NVME_SLOT_XFER / 512 + 1, buf, 0, 0 };
	assert_int_equal(nvme_submit(&c, &r), E_INVAL);
	r = (struct nvme_req){ 1, NVME_CMD_READ, 0, 1, buf, 0, 0 };
	assert_int_equal(nvme_submit(&c, &r), E_NOENT);
	r = (struct nvme_req){ 0, 0x7f, 0, 1, buf, 0, 0 };
	assert_int_equal(nvme_submit(&c, &r), E_INVAL);
	assert_int_equal(m->reads, 0);
	r = (struct nvme_req){ 0, NVME_CMD_FLUSH, 0, 0, 0, 0, 0 };
	assert_int_equal(nvme_submit(&c, &r), 0);
	assert_int_equal(nvme_poll(&c, 1000000000ull), 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(m->flushes, 1);
	nvme_fini(&c);
	assert_no_buffers(m);
	nvme_model_free(m);
}

static void
async_fault(knob_fn knob, int err)
{
	struct nvme_model *m = model1(4096, 9);
	struct nvme_req rq[8];
	uint8_t *buf[8];
	struct nvme_ctrl c;
	int i, n = 0, failed = 0;

	m->defer = 1;
	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	assert_int_equal(nvme_async_init(&c, 8, 8 * 4096), 0);
	for (i = 0; i < 8; i++)
		buf[i] = amem(&c, (size_t)i * 4096);
	knob(m);
	for (i = 0; i < 8; i++) {
		rq[i] = (struct nvme_req){ 0, NVME_CMD_READ, (uint64_t)i * 8, 8, buf[i], 0, 0 };
		assert_int_equal(nvme_submit(&c, &rq[i]), 0);
	}
	while (nvme_async_pending(&c))
		n += nvme_poll(&c, 10000000000ull);
	assert_int_equal(n, 8);
	for (i = 0; i < 8; i++) {
		assert_true(rq[i].done);
		if (rq[i].status) {
			assert_int_equal(rq[i].status, err);
			failed++;
		}
	}
	assert_true(failed >= 1);
	assert_int_equal(c.resets, 1);
	assert_int_equal(c.state, NVME_LIVE);
	/* after the reset asynchronous I/O works again */
	for (i = 0; i < 8; i++) {
		rq[i] = (struct nvme_req){ 0, NVME_CMD_READ, (uint64_t)i * 8, 8, buf[i], 0, 0 };
		assert_int_equal(nvme_submit(&c, &rq[i]), 0);
	}
	for (n = 0; n < 8;)
		n += nvme_poll(&c, 1000000000ull);
	for (i = 0; i < 8; i++)
		assert_int_equal(rq[i].status, 0);
	assert_clean(m);
	nvme_fini(&c);
	assert_no_buffers(m);
	nvme_model_free(m);
}

static void k_fatal3(struct nvme_model *m) { m->fatal_after = 3; }

static void
nvm062_async_dropped_completion_times_out_all(void **state)
{
	async_fault(k_drop, E_TIMEOUT);
}

static void
nvm063_async_fatal_fails_outstanding(void **state)
{
	async_fault(k_fatal3, E_IO);
}

static void
nvm064_async_fini_with_requests_in_flight(void **state)
{
	struct nvme_model *m = model1(1024, 9);
	struct nvme_ctrl c;
	struct nvme_req r[2];

	m->defer = 1;
	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	assert_int_equal(nvme_async_init(&c, 2, 4096), 0);
	r[0] = (struct nvme_req){ 0, NVME_CMD_READ, 0, 1, amem(&c, 0), 0, 0 };
	r[1] = (struct nvme_req){ 0, NVME_CMD_WRITE, 1, 1, amem(&c, 512), 0, 0 };
	assert_int_equal(nvme_submit(&c, &r[0]), 0);
	assert_int_equal(nvme_submit(&c, &r[1]), 0);
	nvme_fini(&c);          /* shutdown, disable, then the requests fail */
	assert_true(r[0].done && r[1].done);
	assert_int_equal(r[0].status, E_IO);
	assert_no_buffers(m);
	nvme_model_free(m);
}

/* ---- NVM-050..: policy and BlockDevice ---- */

static void
nvm050_brokered_policy(void **state)
{
	struct nvme_model *m = model1(1024, 9);
	struct nvme_ctrl c;
	struct fake_env_stats st;
	struct devenv_dma mapped, big;
	uint16_t status;
	uint32_t dw0, reads;
	uint64_t tok;

	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	/* the driver writes no register: CC, AQA, doorbells and addresses are the broker's */
	assert_int_equal(devenv_mmio_write(m->env, 0, NVME_REG_CC, 4, 0), E_PERM);
	assert_int_equal(devenv_mmio_write(m->env, 0, NVME_REG_AQA, 4, 0), E_PERM);
	assert_int_equal(devenv_mmio_write(m->env, 0, NVME_REG_DBS, 4, 1), E_PERM);
	assert_int_equal(devenv_mmio_set_addr(m->env, 0, NVME_REG_ASQ, c.aq.sq, 0), E_PERM);
	fake_env_stats(m->env, &st);
	assert_int_equal(st.refused_writes, 4);
	reads = m->reads;
	{       /* admin allow-list: Format NVM, firmware, fused commands never reach the device */
		struct nvme_sqe fmt = { .opc = 0x80, .nsid = 1 }, fw = { .opc = 0x11 };
		struct nvme_sqe fused = { .opc = NVME_ADM_IDENTIFY, .flags = 1, .cdw10 = 1 };
		struct devenv_prp id = { c.data.h, 0, 4096, 0, 0 };

		assert_int_equal(devenv_nvme_submit(m->env, 0, &fmt, 0, &tok), E_PERM);
		assert_int_equal(devenv_nvme_submit(m->env, 0, &fw, 0, &tok), E_PERM);
		assert_int_equal(devenv_nvme_submit(m->env, 0, &fused, &id, &tok), E_INVAL);
		assert_int_equal(devenv_nvme_submit(m->env, 1, &fmt, 0, &tok), E_PERM);
	}
	{       /* I/O: identified namespaces only, length = (NLB + 1) x LBA size, PRP rules */
		struct nvme_sqe rd = { .opc = NVME_CMD_READ, .nsid = 1, .cdw12 = 7 };
		struct devenv_prp prp = { c.data.h, 0, 8 * 512, 0, 0 };

		rd.nsid = 2;
		assert_int_equal(devenv_nvme_submit(m->env, 1, &rd, &prp, &tok), E_PERM);
		rd.nsid = 1;
		prp.len = 4096 + 512;   /* the device would move less than the window says */
		assert_int_equal(devenv_nvme_submit(m->env, 1, &rd, &prp, &tok), E_RANGE);
		prp.len = 4096;
		prp.data_off = 2;       /* PRP offsets are dword aligned */
		assert_int_equal(devenv_nvme_submit(m->env, 1, &rd, &prp, &tok), E_INVAL);
		prp.data_off = NVME_MAX_XFER - 2048;    /* past the buffer */
		assert_int_equal(devenv_nvme_submit(m->env, 1, &rd, &prp, &tok), E_RANGE);
		rd.cdw12 = 23;          /* 3 pages: a list is needed */
		prp = (struct devenv_prp){ c.data.h, 0, 24 * 512, 0, 0 };
		assert_int_equal(devenv_nvme_submit(m->env, 1, &rd, &prp, &tok), E_INVAL);
		prp.list = c.prp_list;
		prp.list_off = 8;       /* lists are page aligned */
		assert_int_equal(devenv_nvme_submit(m->env, 1, &rd, &prp, &tok), E_INVAL);
		assert_int_equal(devenv_dma_alloc(m->env, 4096, DEVENV_DMA_TO_DEVICE, &mapped), 0);
		prp.list = mapped.h;    /* the driver could rewrite a mapped list */
		prp.list_off = 0;
		assert_int_equal(devenv_nvme_submit(m->env, 1, &rd, &prp, &tok), E_PERM);
		assert_int_equal(devenv_dma_alloc(m->env, 3u << 20, DEVENV_DMA_FROM_DEVICE, &big), 0);
		rd.cdw12 = 4111;        /* 2 MiB + 8 KiB: 513 list entries, more than a page */
		prp = (struct devenv_prp){ big.h, 0, (2u << 20) + 8192, c.prp_list, 0 };
		assert_int_equal(devenv_nvme_submit(m->env, 1, &rd, &prp, &tok), E_TOOBIG);
		devenv_dma_free(m->env, &big);
	}
	{       /* Create I/O CQ on mapped memory is refused: the device would write it */
		struct nvme_sqe cq = { .opc = NVME_ADM_CREATE_CQ, .cdw10 = 3u << 16 | 2, .cdw11 = 1 };
		struct devenv_prp prp = { mapped.h, 0, 4 * 16, 0, 0 };

		assert_int_equal(devenv_nvme_submit(m->env, 0, &cq, &prp, &tok), E_INVAL);
		devenv_dma_free(m->env, &mapped);
	}
	assert_int_equal(devenv_nvme_complete(m->env, 0x100010000ull, &status, &dw0), E_STALE);
	assert_int_equal(m->reads, reads);
	assert_int_equal(m->errors, 0);
	roundtrip(&c, m, 0, 3, 24, 4);  /* and the real thing still works */
	nvme_fini(&c);
	assert_no_buffers(m);
	nvme_model_free(m);
}

static void
nvm051_blockdevice_bounds(void **state)
{
	struct nvme_model *m = model1(1000, 9);
	struct nvme_ctrl c;
	struct blkserv *s;
	uint8_t buf[2048];

	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	s = &c.ns[0].srv;
	assert_int_equal(s->info.block_count, 1000);
	assert_int_equal(blkserv_read_blocks(s, 1000, 1, buf, 512), E_RANGE);
	assert_int_equal(blkserv_read_blocks(s, 999, 2, buf, 1024), E_RANGE);
	assert_int_equal(blkserv_read_blocks(s, UINT64_MAX, 1, buf, 512), E_RANGE);
	assert_int_equal(blkserv_write_blocks(s, UINT64_MAX - 1, buf, 2048), E_RANGE);
	assert_int_equal(blkserv_read_blocks(s, 0, 1, buf, 513), E_INVAL);
	assert_int_equal(blkserv_write_blocks(s, 0, buf, 511), E_INVAL);
	assert_int_equal(nvme_read(&c, 0, 999, 2, buf), E_RANGE);       /* driver checks too */
	assert_int_equal(m->reads + m->writes, 0);
	fill(buf, 1024, 9);
	assert_int_equal(blkserv_write_blocks(s, 998, buf, 1024), 0);
	assert_int_equal(blkserv_read_blocks(s, 998, 2, buf + 1024, 1024), 0);
	assert_memory_equal(buf, buf + 1024, 1024);
	assert_int_equal(blkserv_flush(s), 0);
	assert_int_equal(m->flushes, 1);
	assert_clean(m);
	nvme_fini(&c);
	nvme_model_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nvm001_identify_namespace_validation),
		cmocka_unit_test(nvm002_identify_controller_validation),
		cmocka_unit_test(nvm003_status_decode),
		cmocka_unit_test(nvm010_poll),
		cmocka_unit_test(nvm011_irq),
		cmocka_unit_test(nvm012_poll_deferred),
		cmocka_unit_test(nvm013_lba_4096),
		cmocka_unit_test(nvm014_phase_wraps_many_times),
		cmocka_unit_test(nvm015_two_namespaces),
		cmocka_unit_test(nvm016_unusable_namespaces_skipped),
		cmocka_unit_test(nvm017_mdts_limits_transfer),
		cmocka_unit_test(nvm018_irq_spin_then_wait),
		cmocka_unit_test(nvm030_dropped_completion),
		cmocka_unit_test(nvm031_controller_fatal_mid_io),
		cmocka_unit_test(nvm032_bogus_cid),
		cmocka_unit_test(nvm033_wrong_phase),
		cmocka_unit_test(nvm034_never_ready),
		cmocka_unit_test(nvm035_device_gone_is_dead_not_hung),
		cmocka_unit_test(nvm041_ready_never_drops),
		cmocka_unit_test(nvm036_fatal_during_reset_leaves_dead),
		cmocka_unit_test(nvm037_bad_identify_fails_init),
		cmocka_unit_test(nvm038_cap_checks),
		cmocka_unit_test(nvm039_shutdown_on_fini),
		cmocka_unit_test(nvm040_namespace_changed_across_reset_fails_closed),
		cmocka_unit_test(nvm060_async_queue_depth_16),
		cmocka_unit_test(nvm061_async_checks),
		cmocka_unit_test(nvm062_async_dropped_completion_times_out_all),
		cmocka_unit_test(nvm063_async_fatal_fails_outstanding),
		cmocka_unit_test(nvm064_async_fini_with_requests_in_flight),
		cmocka_unit_test(nvm065_async_batched_reap),
		cmocka_unit_test(nvm066_reap_bad_arguments),
		cmocka_unit_test(nvm067_async_full_slot_in_place),
		cmocka_unit_test(nvm068_spin_reads_csts_sparingly),
		cmocka_unit_test(nvm069_async_data_outside_region),
		cmocka_unit_test(nvm050_brokered_policy),
		cmocka_unit_test(nvm051_blockdevice_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
