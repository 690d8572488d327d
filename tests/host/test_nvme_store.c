/*
 * A real consumer over the drivers: the CAPOSST1 store (lib/store) formatted
 * and used on an NVMe namespace and on a virtio-blk disk, through
 * BlockDevice (blkserv) and its lib/blk adapter, against the device models
 * (TEST FIXTURES). Also: a restarted driver serves the same disk, and a
 * device fault mid-commit leaves a store that mounts with the last commit.
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
#include "store/store.h"
#include "../../user/drivers/blkserv.h"
#include "../../user/drivers/nvme/nvme.h"
#include "../../user/drivers/virtio_blk/virtio_blk.h"
#include "drivers/fake_env.h"
#include "drivers/nvme_model.h"
#include "drivers/vblk_model.h"

#define ARENA (4u << 20)

static void
put_keys(struct st *st, int from, int to)
{
	struct st_ns root;
	char key[32], val[64];
	int i;

	st_ns_root(st, &root);
	for (i = from; i < to; i++) {
		snprintf(key, sizeof(key), "k%04d", i);
		snprintf(val, sizeof(val), "value of %d", i);
		assert_int_equal(st_put(&root, key, val, (uint32_t)strlen(val) + 1), 0);
	}
}

static void
check_keys(struct st *st, int from, int to)
{
	struct st_ns root;
	char key[32], val[64], want[64];
	int i;

	st_ns_root(st, &root);
	for (i = from; i < to; i++) {
		snprintf(key, sizeof(key), "k%04d", i);
		snprintf(want, sizeof(want), "value of %d", i);
		assert_int_equal(st_get(&root, key, val, sizeof(val)), (int)strlen(want) + 1);
		assert_string_equal(val, want);
	}
}

static void
nst001_store_on_nvme_survives_driver_restart(void **state)
{
	uint64_t nsze = 8192;
	uint32_t lbads = 12;
	struct nvme_model *m = nvme_model_new(1, &nsze, &lbads);
	struct st_geom g = { 512, 4u << 20 };
	struct nvme_ctrl c;
	struct blk_dev dev;
	struct st st;
	void *arena = malloc(ARENA);

	assert_int_equal(nvme_init(&c, m->env, NVME_IRQ), 0);
	blkserv_blk_dev(&c.ns[0].srv, &dev);
	assert_int_equal(dev.block_size, 4096);
	assert_int_equal(st_format(&dev, &g), 0);
	assert_int_equal(st_mount(&st, &dev, arena, ARENA), 0);
	put_keys(&st, 0, 200);
	check_keys(&st, 0, 200);
	assert_true(m->flushes > 0);    /* the store's commit flushes reached the device */
	nvme_fini(&c);                  /* the driver goes away ... */
	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);  /* ... and comes back */
	blkserv_blk_dev(&c.ns[0].srv, &dev);
	assert_int_equal(st_mount(&st, &dev, arena, ARENA), 0);
	check_keys(&st, 0, 200);
	nvme_fini(&c);
	free(arena);
	nvme_model_free(m);
}

static void
nst002_fault_mid_commit_keeps_last_commit(void **state)
{
	uint64_t nsze = 8192;
	uint32_t lbads = 9;
	struct nvme_model *m = nvme_model_new(1, &nsze, &lbads);
	struct st_geom g = { 512, 1u << 20 };
	struct nvme_ctrl c;
	struct blk_dev dev;
	struct st_ns root;
	struct st st;
	void *arena = malloc(ARENA);
	char big[8192];
	int err;

	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	blkserv_blk_dev(&c.ns[0].srv, &dev);
	assert_int_equal(st_format(&dev, &g), 0);
	assert_int_equal(st_mount(&st, &dev, arena, ARENA), 0);
	put_keys(&st, 0, 50);
	/* The controller dies on the next I/O command: the put fails. */
	m->fatal_after = 1;
	memset(big, 'x', sizeof(big));
	st_ns_root(&st, &root);
	err = st_put(&root, "big", big, sizeof(big));
	assert_true(err < 0);
	assert_int_equal(c.fatals, 1);
	assert_int_equal(c.state, NVME_LIVE);   /* recovered by reset */
	/* Remount: the last commit is there, the failed put wholly absent or
	 * wholly present. */
	assert_int_equal(st_mount(&st, &dev, arena, ARENA), 0);
	check_keys(&st, 0, 50);
	st_ns_root(&st, &root);
	err = st_get(&root, "big", big, sizeof(big));
	assert_true(err == E_NOENT || err == (int)sizeof(big));
	nvme_fini(&c);
	free(arena);
	nvme_model_free(m);
}

static void
nst003_store_on_virtio_blk(void **state)
{
	struct vblk_model *m = vblk_model_new(1, 16384, 512);
	struct st_geom g = { 256, 1u << 20 };
	struct blk_dev dev;
	struct vblk b;
	struct st st;
	void *arena = malloc(ARENA);

	assert_int_equal(vblk_init(&b, m->env, VBLK_LEGACY, VBLK_IRQ), 0);
	blkserv_blk_dev(&b.srv, &dev);
	assert_int_equal(st_format(&dev, &g), 0);
	assert_int_equal(st_mount(&st, &dev, arena, ARENA), 0);
	put_keys(&st, 0, 100);
	vblk_fini(&b);
	assert_int_equal(vblk_init(&b, m->env, VBLK_LEGACY, VBLK_POLL), 0);
	blkserv_blk_dev(&b.srv, &dev);
	assert_int_equal(st_mount(&st, &dev, arena, ARENA), 0);
	check_keys(&st, 0, 100);
	assert_true(m->flushes > 0);
	assert_int_equal(m->errors, 0);
	vblk_fini(&b);
	free(arena);
	vblk_model_free(m);
}

static void
nst004_adapter_splits_and_checks(void **state)
{
	uint64_t nsze = 4096;
	uint32_t lbads = 9;
	struct nvme_model *m = nvme_model_new(1, &nsze, &lbads);
	struct nvme_ctrl c;
	struct blk_dev dev;
	uint8_t *w = malloc(1u << 20), *r = malloc(1u << 20);
	uint32_t i;

	m->mdts = 2;            /* 16 KiB per command: 1 MiB is 64 commands */
	assert_int_equal(nvme_init(&c, m->env, NVME_POLL), 0);
	blkserv_blk_dev(&c.ns[0].srv, &dev);
	for (i = 0; i < (1u << 20); i++)
		w[i] = (uint8_t)(i * 7 + (i >> 9));
	assert_int_equal(blk_write(&dev, 10, 2048, w), 0);
	assert_int_equal(blk_read(&dev, 10, 2048, r), 0);
	assert_memory_equal(w, r, 1u << 20);
	assert_int_equal(m->writes, 64);
	assert_int_equal(blk_read(&dev, 4000, 200, r), E_RANGE);
	assert_int_equal(blk_read(&dev, UINT64_MAX - 10, 64, r), E_RANGE);
	assert_int_equal(blk_flush(&dev), 0);
	nvme_fini(&c);
	free(w);
	free(r);
	nvme_model_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nst001_store_on_nvme_survives_driver_restart),
		cmocka_unit_test(nst002_fault_mid_commit_keeps_last_commit),
		cmocka_unit_test(nst003_store_on_virtio_blk),
		cmocka_unit_test(nst004_adapter_splits_and_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
