/* CAPOSST1 Store: behaviour, limits, compaction and hostile images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/crc32c.h"
#include "base/err.h"
#include "crashsim/ramdev.h"
#include "store/store.h"

#define ARENA (4u << 20)

struct fx {
	struct ramdev rd;
	struct st st;
	struct st_ns root;
	void *arena;
};

static void
fx_init(struct fx *f, uint32_t bs, uint64_t blocks, uint32_t entries, uint64_t data)
{
	struct st_geom g = { entries, data };

	assert_int_equal(ramdev_init(&f->rd, bs, blocks), 0);
	f->arena = malloc(ARENA);
	assert_int_equal(st_format(&f->rd.dev, &g), 0);
	assert_int_equal(st_mount(&f->st, &f->rd.dev, f->arena, ARENA), 0);
	st_ns_root(&f->st, &f->root);
}

static void
fx_remount(struct fx *f)
{
	assert_int_equal(st_mount(&f->st, &f->rd.dev, f->arena, ARENA), 0);
	st_ns_root(&f->st, &f->root);
}

static void
fx_free(struct fx *f)
{
	ramdev_free(&f->rd);
	free(f->arena);
}

static void
basic(uint32_t bs)
{
	struct fx f;
	char buf[600], key[ST_KEY_MAX + 1];
	uint64_t cur = 0;
	int n = 0;

	fx_init(&f, bs, 2048, 256, 256 * 1024);
	assert_int_equal(st_put(&f.root, "alpha", "one", 3), 0);
	assert_int_equal(st_put(&f.root, "beta", "two", 3), 0);
	assert_int_equal(st_put(&f.root, "alpha", "uno!", 4), 0);
	assert_int_equal(st_get(&f.root, "alpha", buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "uno!", 4);
	assert_int_equal(st_get(&f.root, "alpha", buf, 2), E_TOOBIG);
	assert_int_equal(st_delete(&f.root, "beta"), 0);
	assert_int_equal(st_delete(&f.root, "beta"), E_NOENT);
	assert_int_equal(st_get(&f.root, "beta", buf, sizeof(buf)), E_NOENT);
	assert_int_equal(st_put(&f.root, "empty", "", 0), 0);
	fx_remount(&f);
	assert_int_equal(st_get(&f.root, "alpha", buf, sizeof(buf)), 4);
	assert_int_equal(st_get(&f.root, "beta", buf, sizeof(buf)), E_NOENT);
	assert_int_equal(st_get(&f.root, "empty", buf, sizeof(buf)), 0);
	while (st_list(&f.root, &cur, key, sizeof(key)) > 0)
		n++;
	assert_int_equal(n, 2);
	fx_free(&f);
}

static void
test_basic_512(void **s)
{
	(void)s;
	basic(512);
}

static void
test_basic_4k(void **s)
{
	(void)s;
	basic(4096);
}

static void
test_namespaces(void **s)
{
	struct fx f;
	struct st_ns a, ab, b;
	char buf[64], key[ST_KEY_MAX + 1];
	uint64_t cur = 0;
	int r;

	(void)s;
	fx_init(&f, 512, 2048, 256, 128 * 1024);
	assert_int_equal(st_ns_sub(&f.root, "a", &a), 0);
	assert_int_equal(st_ns_sub(&a, "b", &ab), 0);
	assert_int_equal(st_ns_sub(&f.root, "b", &b), 0);
	assert_int_equal(st_put(&a, "x", "A", 1), 0);
	assert_int_equal(st_put(&ab, "x", "AB", 2), 0);
	assert_int_equal(st_put(&b, "x", "B", 1), 0);
	assert_int_equal(st_get(&b, "x", buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'B');
	assert_int_equal(st_get(&ab, "x", buf, sizeof(buf)), 2);
	/* no way out of a prefix */
	assert_int_equal(st_get(&ab, "../x", buf, sizeof(buf)), E_NAME);
	assert_int_equal(st_get(&ab, "./x", buf, sizeof(buf)), E_NAME);
	assert_int_equal(st_get(&ab, "/x", buf, sizeof(buf)), E_NAME);
	assert_int_equal(st_get(&ab, "x/", buf, sizeof(buf)), E_NAME);
	assert_int_equal(st_get(&ab, "", buf, sizeof(buf)), E_NAME);
	assert_int_equal(st_ns_sub(&a, "..", &b), E_NAME);
	assert_int_equal(st_ns_sub(&a, ".", &b), E_NAME);
	assert_int_equal(st_ns_sub(&a, "c/d", &b), E_NAME);
	assert_int_equal(st_ns_sub(&a, "", &b), E_NAME);
	/* list of a sees a/x and a/b/x only, relative */
	r = st_list(&a, &cur, key, sizeof(key));
	assert_int_equal(r, 1);
	assert_string_equal(key, "x");
	r = st_list(&a, &cur, key, sizeof(key));
	assert_int_equal(r, 3);
	assert_string_equal(key, "b/x");
	assert_int_equal(st_list(&a, &cur, key, sizeof(key)), 0);
	fx_free(&f);
}

static void
test_limits(void **s)
{
	struct fx f;
	char big[300];
	struct st_ns ns;
	char name[80];
	int r, i;

	(void)s;
	fx_init(&f, 512, 256, 16, 8 * 1024);
	memset(big, 'k', sizeof(big));
	big[256] = '\0';
	assert_int_equal(st_put(&f.root, big, "v", 1), E_LIMIT);
	assert_non_null(strstr(st_last_limit(&f.st), "ST_KEY_MAX"));
	assert_int_equal(st_put(&f.root, "k", big, ST_VAL_MAX + 1), E_LIMIT);
	assert_non_null(strstr(st_last_limit(&f.st), "ST_VAL_MAX"));
	memset(name, 'n', sizeof(name));
	name[70] = '\0';
	assert_int_equal(st_ns_sub(&f.root, name, &ns), E_LIMIT);
	assert_non_null(strstr(st_last_limit(&f.st), "ST_NAME_MAX"));
	/* distinct keys fill the 16-entry table: compaction cannot help */
	for (i = 0, r = 0; i < 40 && r == 0; i++) {
		char k[16];

		snprintf(k, sizeof(k), "k%d", i);
		r = st_put(&f.root, k, "v", 1);
	}
	assert_int_equal(r, E_NOSPC);
	assert_int_equal(i, 17);
	assert_non_null(strstr(st_last_limit(&f.st), "entry table"));
	fx_free(&f);
	/* data area full */
	fx_init(&f, 512, 256, 64, 4096);
	memset(big, 'v', sizeof(big));
	for (i = 0, r = 0; i < 40 && r == 0; i++) {
		char k[16];

		snprintf(k, sizeof(k), "d%d", i);
		r = st_put(&f.root, k, big, 256);
	}
	assert_int_equal(r, E_NOSPC);
	assert_non_null(strstr(st_last_limit(&f.st), "data area"));
	/* nothing changed by the failed put; store still usable */
	assert_int_equal(st_delete(&f.root, "d0"), 0);
	assert_int_equal(st_put(&f.root, "d99", big, 256), 0);
	fx_free(&f);
}

static void
compaction(uint32_t bs)
{
	struct fx f;
	char v[300], buf[300], k[16];
	struct st_usage u;
	int i, j;

	fx_init(&f, bs, 1024, 64, 32 * 1024);
	for (i = 0; i < 2000; i++) {
		snprintf(k, sizeof(k), "key%d", i % 20);
		memset(v, 'a' + i % 26, sizeof(v));
		assert_int_equal(st_put(&f.root, k, v, 100 + i % 200), 0);
		if (i % 7 == 3) {
			snprintf(k, sizeof(k), "key%d", (i + 5) % 20);
			int r = st_delete(&f.root, k);
			assert_true(r == 0 || r == E_NOENT);
		}
	}
	assert_true(f.st.stat_compactions > 10);
	fx_remount(&f);
	st_usage(&f.st, &u);
	assert_true(u.records <= 20);
	for (j = 0; j < 20; j++) {
		int r;

		snprintf(k, sizeof(k), "key%d", j);
		r = st_get(&f.root, k, buf, sizeof(buf));
		assert_true(r >= 100 || r == E_NOENT);
	}
	/* last put value exact */
	i = 1999;
	snprintf(k, sizeof(k), "key%d", i % 20);
	assert_int_equal(st_get(&f.root, k, buf, sizeof(buf)), 100 + i % 200);
	assert_int_equal(buf[0], 'a' + i % 26);
	assert_int_equal(st_check(&f.rd.dev, f.arena, ARENA, NULL, NULL), 0);
	fx_free(&f);
}

static void
test_compaction_512(void **s)
{
	(void)s;
	compaction(512);
}

static void
test_compaction_4k(void **s)
{
	(void)s;
	compaction(4096);
}

/*
 * Random puts (journaled and spilled sizes), deletes, namespace views,
 * compactions and remounts, checked against a model after every step: every
 * get and the full list agree with it.
 */
static void
model_check(uint32_t bs, uint64_t seed)
{
	enum { NK = 30, VMAX = 1500 };
	struct fx f;
	struct st_ns ns[3];
	uint8_t val[NK][VMAX], buf[VMAX], src[VMAX + 64];
	int len[NK];               /* -1: absent */
	uint64_t x = seed;
	int i, step;

	fx_init(&f, bs, 4096, 48, 24 * 1024);
	st_ns_sub(&f.root, "a", &ns[1]);
	st_ns_sub(&ns[1], "b", &ns[2]);
	ns[0] = f.root;
	for (i = 0; i < NK; i++)
		len[i] = -1;
	for (i = 0; i < (int)sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 3);
	for (step = 0; step < 1500; step++) {
		int k, op, n, r;
		char key[16], lk[ST_KEY_MAX + 1];
		uint64_t cur = 0;
		int seen = 0, live = 0;

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		k = (int)((x >> 33) % NK);
		op = (int)((x >> 40) % 10);
		snprintf(key, sizeof(key), "k%d", k / 3);
		if (op < 6) {
			n = (int)((x >> 12) % (op < 4 ? 200 : VMAX));
			r = st_put(&ns[k % 3], key, src + (x >> 50) % 64, (uint32_t)n);
			assert_int_equal(r, 0);
			memcpy(val[k], src + (x >> 50) % 64, (size_t)n);
			len[k] = n;
		} else if (op < 8) {
			r = st_delete(&ns[k % 3], key);
			assert_int_equal(r, len[k] < 0 ? E_NOENT : 0);
			len[k] = -1;
		} else if (op < 9) {
			assert_int_equal(st_compact(&f.st), 0);
		} else {
			fx_remount(&f);
			st_ns_sub(&f.root, "a", &ns[1]);
			st_ns_sub(&ns[1], "b", &ns[2]);
			ns[0] = f.root;
		}
		for (i = 0; i < NK; i++) {
			snprintf(key, sizeof(key), "k%d", i / 3);
			r = st_get(&ns[i % 3], key, buf, sizeof(buf));
			if (len[i] < 0) {
				assert_int_equal(r, E_NOENT);
			} else {
				assert_int_equal(r, len[i]);
				assert_memory_equal(buf, val[i], (size_t)len[i]);
				live++;
			}
		}
		while ((r = st_list(&f.root, &cur, lk, sizeof(lk))) > 0)
			seen++;
		assert_int_equal(r, 0);
		assert_int_equal(seen, live);
	}
	assert_int_equal(st_check(&f.rd.dev, f.arena, ARENA, NULL, NULL), 0);
	fx_free(&f);
}

static void
test_model(void **s)
{
	(void)s;
	model_check(512, 11);
	model_check(4096, 12);
	model_check(512, 13);
}

/* An I/O error mid-commit leaves the handle refusing work until remounted. */
static void
test_io_error(void **s)
{
	struct fx f;
	char buf[2000], k[16];
	int r = 0, i;

	(void)s;
	fx_init(&f, 512, 1024, 64, 64 * 1024);
	memset(buf, 'q', sizeof(buf));
	assert_int_equal(st_put(&f.root, "keep", buf, 1000), 0);
	f.rd.write_budget = 1;
	for (i = 0; i < 5 && r == 0; i++) {
		snprintf(k, sizeof(k), "x%d", i);
		r = st_put(&f.root, k, buf, 1000);
	}
	assert_int_equal(r, E_IO);
	assert_int_equal(st_get(&f.root, "keep", buf, sizeof(buf)), E_IO);
	assert_int_equal(st_put(&f.root, "y", "v", 1), E_IO);
	f.rd.write_budget = -1;
	fx_remount(&f);
	assert_int_equal(st_get(&f.root, "keep", buf, sizeof(buf)), 1000);
	assert_int_equal(st_check(&f.rd.dev, f.arena, ARENA, NULL, NULL), 0);
	fx_free(&f);
}

/* ---- hostile images --------------------------------------------------- */

static void
make_small(struct fx *f)
{
	char k[16];
	int i;

	fx_init(f, 512, 256, 64, 16 * 1024);
	for (i = 0; i < 10; i++) {
		snprintf(k, sizeof(k), "r%d", i);
		assert_int_equal(st_put(&f->root, k, "0123456789", 10), 0);
	}
}

static int
mount_err(struct fx *f)
{
	return st_mount(&f->st, &f->rd.dev, f->arena, ARENA);
}

/* The live commit record is slot gen%2; returns its byte offset. */
static struct st_super_disk *
live_super(struct fx *f)
{
	return (struct st_super_disk *)(f->rd.mem + (f->st.sb.gen % 2) * 512);
}

static void
resign_super(struct st_super_disk *s)
{
	size_t el = (size_t)s->pend_entries * ST_ENTRY_SIZE;
	uint32_t pair[2];

	pair[0] = crc32c((const uint8_t *)s + sizeof(*s), el);
	pair[1] = crc32c((const uint8_t *)s + sizeof(*s) + el, s->pend_bytes);
	s->crc = crc32c_update(crc32c(s, offsetof(struct st_super_disk, crc)), pair, 8);
}

static int
count_problems(struct fx *f)
{
	return st_check(&f->rd.dev, f->arena, ARENA, NULL, NULL);
}

static void
test_hostile(void **s)
{
	struct fx f;
	struct st_super_disk *sb;
	struct st_entry_disk *e;
	uint8_t save[1024];

	(void)s;
	/* bad magic in both slots */
	make_small(&f);
	memset(f.rd.mem, 0, 1024);
	assert_int_equal(mount_err(&f), E_CORRUPT);
	assert_non_null(strstr(st_last_error(&f.st), "magic"));
	fx_free(&f);

	/* bad checksum in the live slot falls back to the other valid slot */
	make_small(&f);
	sb = live_super(&f);
	sb->next_seq++;
	assert_int_equal(mount_err(&f), 0);
	assert_int_equal(f.st.sb.pend_entries + f.st.sb.entry_count, 9);
	/* both slots bad */
	memcpy(save, f.rd.mem, 1024);
	f.rd.mem[0] ^= 1;
	f.rd.mem[512 + 5] ^= 1;
	assert_int_equal(mount_err(&f), E_CORRUPT);
	fx_free(&f);

	/* out-of-range tail, resigned */
	make_small(&f);
	sb = live_super(&f);
	sb->data_tail = sb->data_blocks * 512 + 1;
	resign_super(sb);
	sb = (struct st_super_disk *)(f.rd.mem + ((f.st.sb.gen + 1) % 2) * 512);
	memset(sb, 0, 512);
	assert_int_equal(mount_err(&f), E_CORRUPT);
	assert_non_null(strstr(st_last_error(&f.st), "tail"));
	fx_free(&f);

	/* truncated image */
	make_small(&f);
	f.rd.dev.block_count = 100;
	assert_int_equal(mount_err(&f), E_CORRUPT);
	assert_non_null(strstr(st_last_error(&f.st), "truncated"));
	fx_free(&f);

	/* entry pointing beyond tail / overlapping, resigned entry */
	make_small(&f);
	e = (struct st_entry_disk *)(f.rd.mem + 2 * 512) + 3;
	e->data_off = 5;
	e->crc = crc32c(e, offsetof(struct st_entry_disk, crc));
	assert_int_equal(mount_err(&f), E_CORRUPT);
	assert_non_null(strstr(st_last_error(&f.st), "overlaps"));
	assert_true(count_problems(&f) >= 1);
	e->data_off = 1u << 30;
	e->crc = crc32c(e, offsetof(struct st_entry_disk, crc));
	assert_int_equal(mount_err(&f), E_CORRUPT);
	e->data_off = 0;
	e->crc ^= 1;
	assert_int_equal(mount_err(&f), E_CORRUPT);
	assert_non_null(strstr(st_last_error(&f.st), "checksum"));
	fx_free(&f);

	/* data corruption: mount is structural, get and check catch it */
	make_small(&f);
	{
		uint64_t data = 2 + f.st.sb.table_blocks;
		char buf[32];

		f.rd.mem[data * 512 + 4] ^= 0x40; /* inside value of r0 */
		fx_remount(&f);
		assert_int_equal(st_get(&f.root, "r0", buf, sizeof(buf)), E_CORRUPT);
		assert_int_equal(count_problems(&f), 1);
	}
	fx_free(&f);

	/* arena too small names the limit */
	make_small(&f);
	assert_int_equal(st_mount(&f.st, &f.rd.dev, f.arena, 100), E_NOMEM);
	assert_non_null(strstr(st_last_limit(&f.st), "arena"));
	fx_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_512),
		cmocka_unit_test(test_basic_4k),
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_compaction_512),
		cmocka_unit_test(test_compaction_4k),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_io_error),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
