/* CAPOSWF1: directories, files, path rules, reclamation, big files, hostile images, volume header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "base/crc32c.h"
#include "base/err.h"
#include "crashsim/ramdev.h"
#include "store/store.h"
#include "wfs/vol.h"
#include "wfs/wfs.h"

#define ARENA (8u << 20)

static uint64_t fake_now;

static uint64_t
clk(void *ctx)
{
	(void)ctx;
	return fake_now;
}

struct fx {
	struct ramdev rd;
	struct wf_fs fs;
	void *arena;
};

static void
fx_init(struct fx *f, uint32_t bs, uint64_t blocks, uint32_t inodes, uint32_t extents)
{
	struct wf_geom g = { inodes, extents };

	fake_now = 1000;
	assert_int_equal(ramdev_init(&f->rd, bs, blocks), 0);
	f->arena = malloc(ARENA);
	assert_int_equal(wf_format(&f->rd.dev, &g, fake_now), 0);
	assert_int_equal(wf_mount(&f->fs, &f->rd.dev, f->arena, ARENA, clk, NULL), 0);
}

static void
fx_remount(struct fx *f)
{
	assert_int_equal(wf_mount(&f->fs, &f->rd.dev, f->arena, ARENA, clk, NULL), 0);
}

static void
fx_free(struct fx *f)
{
	ramdev_free(&f->rd);
	free(f->arena);
}

static int
count_entries(struct wf_fs *fs, const char *dir)
{
	struct wf_dirent de;
	uint32_t cur = 0;
	int n = 0;

	while (wf_list(fs, dir, &cur, &de) == 1)
		n++;
	return n;
}

static void
test_dirs(void **s)
{
	struct fx f;
	struct wf_stat st;
	char longname[200];

	(void)s;
	fx_init(&f, 512, 4096, 64, 256);
	assert_int_equal(wf_mkdir(&f.fs, "/a"), 0);
	assert_int_equal(wf_mkdir(&f.fs, "/a/b"), 0);
	assert_int_equal(wf_mkdir(&f.fs, "/c"), 0);
	assert_int_equal(wf_create(&f.fs, "/a/b/f"), 0);
	assert_int_equal(wf_mkdir(&f.fs, "/a"), E_EXIST);
	assert_int_equal(wf_create(&f.fs, "/nodir/f"), E_NOENT);
	assert_int_equal(wf_create(&f.fs, "/a/b/f/x"), E_NOENT);
	assert_int_equal(count_entries(&f.fs, "/"), 2);
	assert_int_equal(count_entries(&f.fs, "/a/b"), 1);
	/* path rules */
	assert_int_equal(wf_create(&f.fs, "/a/../x"), E_NAME);
	assert_int_equal(wf_create(&f.fs, "/a/./x"), E_NAME);
	assert_int_equal(wf_create(&f.fs, "/.."), E_NAME);
	assert_int_equal(wf_create(&f.fs, "/a//x"), E_NAME);
	assert_int_equal(wf_create(&f.fs, "/a/x/"), E_NAME);
	assert_int_equal(wf_stat(&f.fs, "..", &st), E_NAME);
	memset(longname, 'n', sizeof(longname));
	longname[0] = '/';
	longname[WF_NAME_MAX + 2] = '\0';
	assert_int_equal(wf_create(&f.fs, longname), E_LIMIT);
	assert_non_null(strstr(wf_last_limit(&f.fs), "WF_NAME_MAX"));
	longname[WF_NAME_MAX + 1] = '\0';
	assert_int_equal(wf_create(&f.fs, longname), 0);
	assert_int_equal(wf_remove(&f.fs, longname), 0);
	/* rename across directories, and not into itself */
	assert_int_equal(wf_rename(&f.fs, "/a/b/f", "/c/g"), 0);
	assert_int_equal(wf_stat(&f.fs, "/a/b/f", &st), E_NOENT);
	assert_int_equal(wf_stat(&f.fs, "/c/g", &st), 0);
	assert_int_equal(st.type, WF_T_FILE);
	assert_int_equal(wf_rename(&f.fs, "/a", "/a/b/z"), E_INVAL);
	assert_int_equal(wf_rename(&f.fs, "/a", "/c/g"), E_EXIST);
	assert_int_equal(wf_rename(&f.fs, "/", "/q"), E_PERM);
	assert_int_equal(wf_rename(&f.fs, "/a", "/c/a2"), 0);
	assert_int_equal(wf_stat(&f.fs, "/c/a2/b", &st), 0);
	/* remove: non-empty dir refused */
	assert_int_equal(wf_remove(&f.fs, "/c"), E_BUSY);
	assert_int_equal(wf_remove(&f.fs, "/c/a2/b"), 0);
	assert_int_equal(wf_remove(&f.fs, "/c/a2"), 0);
	assert_int_equal(wf_remove(&f.fs, "/c/nope"), E_NOENT);
	assert_int_equal(wf_remove(&f.fs, "/"), E_PERM);
	fx_remount(&f);
	assert_int_equal(count_entries(&f.fs, "/"), 1);
	assert_int_equal(count_entries(&f.fs, "/c"), 1);
	assert_int_equal(wf_check(&f.rd.dev, f.arena, ARENA, NULL, NULL), 0);
	fx_free(&f);
}

static void
files(uint32_t bs)
{
	struct fx f;
	struct wf_stat st;
	char buf[10000];
	int h, h2, i;

	fx_init(&f, bs, 8192, 64, 256);
	assert_int_equal(wf_create(&f.fs, "/f"), 0);
	fake_now = 2000;
	h = wf_open(&f.fs, "/f", WF_O_READ | WF_O_WRITE);
	assert_true(h >= 0);
	/* single writer */
	assert_int_equal(wf_open(&f.fs, "/f", WF_O_WRITE), E_BUSY);
	h2 = wf_open(&f.fs, "/f", WF_O_READ);
	assert_true(h2 >= 0);
	assert_int_equal(wf_write(&f.fs, h2, 0, "x", 1), E_PERM);
	assert_int_equal(wf_remove(&f.fs, "/f"), E_BUSY);
	assert_int_equal(wf_write(&f.fs, h, 0, "hello", 5), 5);
	assert_int_equal(wf_append(&f.fs, h, " world", 6), 6);
	assert_int_equal(wf_write(&f.fs, h, 12, "x", 1), E_RANGE);
	assert_int_equal(wf_write(&f.fs, h, 0, "J", 1), 1);
	assert_int_equal(wf_read(&f.fs, h2, 0, buf, sizeof(buf)), 11);
	assert_memory_equal(buf, "Jello world", 11);
	assert_int_equal(wf_sync(&f.fs, h), 0);
	/* big append across many blocks, then overwrite in the middle */
	for (i = 0; i < (int)sizeof(buf); i++)
		buf[i] = (char)(i * 7);
	assert_int_equal(wf_append(&f.fs, h, buf, sizeof(buf)), (int)sizeof(buf));
	assert_int_equal(wf_write(&f.fs, h, 1000, "ABCDEFGH", 8), 8);
	assert_int_equal(wf_truncate(&f.fs, h, 5000), 0);
	assert_int_equal(wf_truncate(&f.fs, h, 6000), E_RANGE);
	assert_int_equal(wf_close(&f.fs, h), 0);
	assert_int_equal(wf_close(&f.fs, h), E_BADF);
	assert_int_equal(wf_close(&f.fs, h2), 0);
	fx_remount(&f);
	assert_int_equal(wf_stat(&f.fs, "/f", &st), 0);
	assert_int_equal(st.size, 5000);
	assert_int_equal(st.ctime, 1000);
	assert_int_equal(st.mtime, 2000);
	h = wf_open(&f.fs, "/f", WF_O_READ);
	assert_int_equal(wf_read(&f.fs, h, 0, buf, sizeof(buf)), 5000);
	assert_memory_equal(buf, "Jello world", 11);
	assert_memory_equal(buf + 1000, "ABCDEFGH", 8);
	assert_int_equal((uint8_t)buf[4999], (uint8_t)((4999 - 11) * 7));
	assert_int_equal(wf_close(&f.fs, h), 0);
	/* O_CREATE: the new file is durable only with its first sync/close */
	assert_int_equal(wf_open(&f.fs, "/g", WF_O_READ | WF_O_CREATE), E_INVAL);
	assert_int_equal(wf_open(&f.fs, "/g", WF_O_WRITE), E_NOENT);
	h = wf_open(&f.fs, "/g", WF_O_WRITE | WF_O_CREATE);
	assert_true(h >= 0);
	assert_int_equal(wf_append(&f.fs, h, "new", 3), 3);
	fx_remount(&f);
	assert_int_equal(wf_stat(&f.fs, "/g", &st), E_NOENT);
	h = wf_open(&f.fs, "/g", WF_O_WRITE | WF_O_CREATE);
	assert_int_equal(wf_append(&f.fs, h, "new", 3), 3);
	assert_int_equal(wf_close(&f.fs, h), 0);
	fx_remount(&f);
	assert_int_equal(wf_stat(&f.fs, "/g", &st), 0);
	assert_int_equal(st.size, 3);
	assert_int_equal(wf_remove(&f.fs, "/g"), 0);
	/* unsynced writes are absent after a remount (crash) */
	h = wf_open(&f.fs, "/f", WF_O_WRITE);
	assert_int_equal(wf_append(&f.fs, h, "zzz", 3), 3);
	fx_remount(&f);
	assert_int_equal(wf_stat(&f.fs, "/f", &st), 0);
	assert_int_equal(st.size, 5000);
	assert_int_equal(wf_check(&f.rd.dev, f.arena, ARENA, NULL, NULL), 0);
	fx_free(&f);
}

static void
test_files_512(void **s)
{
	(void)s;
	files(512);
}

static void
test_files_4k(void **s)
{
	(void)s;
	files(4096);
}

/* Overwrite, truncate, append and remove cycles return free space exactly. */
static void
no_leaks(uint32_t bs)
{
	struct fx f;
	struct wf_statfs a, b;
	size_t big = 1 << 20;
	uint8_t *buf = malloc(big);
	int h, cycle, k;

	fx_init(&f, bs, (16u << 20) / bs, 64, 1024);
	wf_statfs(&f.fs, &a);
	for (size_t i = 0; i < big; i++)
		buf[i] = (uint8_t)(i ^ (i >> 9));
	for (cycle = 0; cycle < 4; cycle++) {
		assert_int_equal(wf_create(&f.fs, "/big"), 0);
		assert_int_equal(wf_mkdir(&f.fs, "/d"), 0);
		assert_int_equal(wf_create(&f.fs, "/d/small"), 0);
		h = wf_open(&f.fs, "/big", WF_O_WRITE);
		assert_int_equal(wf_write(&f.fs, h, 0, buf, big), (int)big);
		assert_int_equal(wf_sync(&f.fs, h), 0);
		assert_int_equal(wf_write(&f.fs, h, 4096, buf, big / 2), (int)big / 2);
		assert_int_equal(wf_sync(&f.fs, h), 0);
		assert_int_equal(wf_truncate(&f.fs, h, 3 * big / 4 + 17), 0);
		for (k = 0; k < 50; k++)
			assert_int_equal(wf_append(&f.fs, h, buf + k, 333), 333);
		assert_int_equal(wf_close(&f.fs, h), 0);
		h = wf_open(&f.fs, "/d/small", WF_O_WRITE);
		for (k = 0; k < 20; k++) {
			assert_int_equal(wf_append(&f.fs, h, buf, 100), 100);
			assert_int_equal(wf_sync(&f.fs, h), 0);
		}
		assert_int_equal(wf_write(&f.fs, h, 50, buf, 1000), 1000);
		assert_int_equal(wf_close(&f.fs, h), 0);
		assert_int_equal(wf_rename(&f.fs, "/big", "/d/big2"), 0);
		assert_int_equal(wf_check(&f.rd.dev, f.arena, ARENA, NULL, NULL), 0);
		fx_remount(&f);
		assert_int_equal(wf_remove(&f.fs, "/d/big2"), 0);
		assert_int_equal(wf_remove(&f.fs, "/d/small"), 0);
		assert_int_equal(wf_remove(&f.fs, "/d"), 0);
		wf_statfs(&f.fs, &b);
		assert_int_equal(b.free_blocks, a.free_blocks);
		assert_int_equal(b.extents_free, a.extents_free);
		assert_int_equal(b.inodes_free, a.inodes_free);
	}
	fx_remount(&f);
	wf_statfs(&f.fs, &b);
	assert_int_equal(b.free_blocks, a.free_blocks);
	free(buf);
	fx_free(&f);
}

static void
test_no_leaks_512(void **s)
{
	(void)s;
	no_leaks(512);
}

static void
test_no_leaks_4k(void **s)
{
	(void)s;
	no_leaks(4096);
}

/* A file can take all the free space of the volume. */
static void
test_fill_volume(void **s)
{
	struct fx f;
	struct wf_statfs a;
	size_t chunk = 256 * 1024;
	uint8_t *buf = malloc(chunk), *rb = malloc(chunk);
	uint64_t total = 0, off;
	int h, r;

	(void)s;
	fx_init(&f, 4096, (24u << 20) / 4096, 32, 512);
	wf_statfs(&f.fs, &a);
	assert_int_equal(wf_create(&f.fs, "/huge"), 0);
	h = wf_open(&f.fs, "/huge", WF_O_READ | WF_O_WRITE);
	for (;;) {
		for (size_t i = 0; i < chunk; i++)
			buf[i] = (uint8_t)((total + i) * 13 >> 3);
		r = wf_append(&f.fs, h, buf, chunk);
		if (r < 0)
			break;
		total += (uint64_t)r;
	}
	assert_int_equal(r, E_NOSPC);
	assert_non_null(strstr(wf_last_limit(&f.fs), "free space"));
	/* fill the last partial chunk block by block */
	while (wf_append(&f.fs, h, buf, 4096) == 4096)
		total += 4096;
	assert_int_equal(total, a.free_blocks * 4096);
	assert_true(total > (20u << 20));
	assert_int_equal(wf_close(&f.fs, h), 0);
	fx_remount(&f);
	h = wf_open(&f.fs, "/huge", WF_O_READ);
	for (off = 0; off + chunk <= total; off += chunk) {
		assert_int_equal(wf_read(&f.fs, h, off, rb, chunk), (int)chunk);
		for (size_t i = 0; i < chunk; i += 4093)
			assert_int_equal(rb[i], (uint8_t)((off + i) * 13 >> 3));
	}
	wf_close(&f.fs, h);
	assert_int_equal(wf_remove(&f.fs, "/huge"), 0);
	wf_statfs(&f.fs, &a);
	assert_int_equal(a.free_blocks, a.data_blocks);
	free(buf);
	free(rb);
	fx_free(&f);
}

static void
test_limits(void **s)
{
	struct fx f;
	char p[32];
	int i, r = 0, hs[WF_MAX_OPEN];

	(void)s;
	fx_init(&f, 512, 4096, 8, 64);
	for (i = 0; i < 10 && r == 0; i++) {
		snprintf(p, sizeof(p), "/f%d", i);
		r = wf_create(&f.fs, p);
	}
	assert_int_equal(r, E_LIMIT);
	assert_non_null(strstr(wf_last_limit(&f.fs), "inode table"));
	for (i = 0; i < (int)WF_MAX_OPEN; i++)
		hs[i] = wf_open(&f.fs, "/f0", WF_O_READ);
	assert_int_equal(wf_open(&f.fs, "/f0", WF_O_READ), E_LIMIT);
	assert_non_null(strstr(wf_last_limit(&f.fs), "WF_MAX_OPEN"));
	for (i = 0; i < (int)WF_MAX_OPEN; i++)
		assert_int_equal(wf_close(&f.fs, hs[i]), 0);
	fx_free(&f);
}

/* ---- hostile images --------------------------------------------------- */

/* Re-sign the live metadata area and commit record after a deliberate edit. */
static void
resign(struct fx *f)
{
	uint32_t bs = f->rd.dev.block_size;
	struct wf_super_disk *sb = NULL;
	uint64_t g = 0, base, b;
	uint32_t *crcs;

	for (int i = 0; i < 2; i++) {
		struct wf_super_disk *c = (struct wf_super_disk *)(f->rd.mem + (size_t)i * bs);

		if (memcmp(c->magic, WF_MAGIC, 8) == 0 && c->gen >= g) {
			g = c->gen;
			sb = c;
		}
	}
	base = 2 + (g % 2) * sb->md_blocks;
	crcs = (uint32_t *)(f->rd.mem + base * bs);
	for (b = sb->crc_blocks; b < sb->md_blocks; b++)
		crcs[b - sb->crc_blocks] = crc32c(f->rd.mem + (base + b) * bs, bs);
	sb->table_crc = crc32c(crcs, (size_t)sb->crc_blocks * bs);
	sb->crc = crc32c(sb, offsetof(struct wf_super_disk, crc));
}

struct live {
	struct wf_inode_disk *ino;
	struct wf_extent_disk *ext;
};

static void
live_tables(struct fx *f, struct live *l)
{
	uint32_t bs = f->rd.dev.block_size;
	struct wf_super_disk *sb = &f->fs.sb;
	uint64_t base = 2 + (sb->gen % 2) * sb->md_blocks;

	l->ino = (struct wf_inode_disk *)(f->rd.mem + (base + sb->crc_blocks) * bs);
	l->ext = (struct wf_extent_disk *)(f->rd.mem +
	    (base + sb->crc_blocks + f->fs.inode_blocks) * bs);
}

static void
make_small(struct fx *f)
{
	int h;

	fx_init(f, 512, 2048, 32, 64);
	assert_int_equal(wf_mkdir(&f->fs, "/d"), 0);
	assert_int_equal(wf_mkdir(&f->fs, "/d/e"), 0);
	assert_int_equal(wf_create(&f->fs, "/d/a"), 0);
	assert_int_equal(wf_create(&f->fs, "/d/b"), 0);
	h = wf_open(&f->fs, "/d/a", WF_O_WRITE);
	assert_int_equal(wf_write(&f->fs, h, 0, f->arena, 3000), 3000);
	assert_int_equal(wf_close(&f->fs, h), 0);
	h = wf_open(&f->fs, "/d/b", WF_O_WRITE);
	assert_int_equal(wf_write(&f->fs, h, 0, f->arena, 700), 700);
	assert_int_equal(wf_close(&f->fs, h), 0);
}

static int
remount_err(struct fx *f, const char *expect)
{
	int r = wf_mount(&f->fs, &f->rd.dev, f->arena, ARENA, clk, NULL);

	if (expect != NULL && strstr(wf_last_error(&f->fs), expect) == NULL) {
		print_error("expected '%s', got '%s'\n", expect, wf_last_error(&f->fs));
		fail();
	}
	return r;
}

static void
test_hostile(void **s)
{
	struct fx f;
	struct live l;
	uint32_t a, b, x;

	(void)s;
	make_small(&f);
	memset(f.rd.mem, 0, 1024);
	assert_int_equal(remount_err(&f, "magic"), E_CORRUPT);
	fx_free(&f);

	make_small(&f);
	x = (uint32_t)(f.fs.sb.gen % 2);
	f.rd.mem[x * 512 + 20] ^= 1;      /* live record: falls back */
	assert_int_equal(remount_err(&f, NULL), 0);
	assert_int_equal(f.fs.sb.gen % 2, 1 - x);
	f.rd.mem[(1 - x) * 512 + 20] ^= 1;
	assert_int_equal(remount_err(&f, "checksum"), E_CORRUPT);
	fx_free(&f);

	/* metadata block checksum */
	make_small(&f);
	live_tables(&f, &l);
	l.ino[2].size++;
	assert_int_equal(remount_err(&f, "checksum"), E_CORRUPT);
	fx_free(&f);

	/* truncated image */
	make_small(&f);
	f.rd.dev.block_count = 1000;
	assert_int_equal(remount_err(&f, "truncated"), E_CORRUPT);
	fx_free(&f);

	/* find the two files' inodes and first extents */
	make_small(&f);
	live_tables(&f, &l);
	for (a = 1; l.ino[a].name[0] != 'a' || l.ino[a].type != WF_T_FILE; a++)
		;
	for (b = 1; l.ino[b].name[0] != 'b' || l.ino[b].type != WF_T_FILE; b++)
		;
	/* extent out of range */
	x = l.ino[a].first_ext;
	l.ext[x].lba = f.fs.sb.data_blocks;
	resign(&f);
	assert_int_equal(remount_err(&f, "outside"), E_CORRUPT);
	assert_true(wf_check(&f.rd.dev, f.arena, ARENA, NULL, NULL) >= 1);
	fx_free(&f);

	make_small(&f);
	live_tables(&f, &l);
	for (a = 1; l.ino[a].name[0] != 'a' || l.ino[a].type != WF_T_FILE; a++)
		;
	for (b = 1; l.ino[b].name[0] != 'b' || l.ino[b].type != WF_T_FILE; b++)
		;
	/* overlapping extents */
	l.ext[l.ino[b].first_ext].lba = l.ext[l.ino[a].first_ext].lba + 1;
	resign(&f);
	assert_int_equal(remount_err(&f, "overlapping"), E_CORRUPT);
	fx_free(&f);

	make_small(&f);
	live_tables(&f, &l);
	for (a = 1; l.ino[a].name[0] != 'a' || l.ino[a].type != WF_T_FILE; a++)
		;
	/* extent cycle */
	x = l.ino[a].first_ext;
	l.ext[x].next = x;
	resign(&f);
	assert_int_equal(remount_err(&f, "cyclic"), E_LOOP);
	fx_free(&f);

	make_small(&f);
	live_tables(&f, &l);
	for (a = 1; l.ino[a].name[0] != 'd' || l.ino[a].type != WF_T_DIR; a++)
		;
	for (b = 1; l.ino[b].name[0] != 'e' || l.ino[b].type != WF_T_DIR; b++)
		;
	/* directory cycle d -> e -> d */
	l.ino[a].parent = b;
	resign(&f);
	assert_int_equal(remount_err(&f, "cycle"), E_LOOP);
	fx_free(&f);

	make_small(&f);
	live_tables(&f, &l);
	for (a = 1; l.ino[a].name[0] != 'a' || l.ino[a].type != WF_T_FILE; a++)
		;
	for (b = 1; l.ino[b].name[0] != 'b' || l.ino[b].type != WF_T_FILE; b++)
		;
	/* several problems at once: fsck reports each */
	l.ino[b].name[0] = 'a';                 /* duplicate name */
	l.ino[a].size = 99999;                  /* size/extent mismatch */
	l.ext[60].len = 3;                      /* leaked extent */
	l.ext[60].lba = 1500;
	resign(&f);
	assert_int_equal(remount_err(&f, NULL), E_CORRUPT);
	assert_int_equal(wf_check(&f.rd.dev, f.arena, ARENA, NULL, NULL), 3);
	/* reserved name */
	l.ino[b].name[0] = '.';
	l.ino[b].name_len = 2;
	l.ino[b].name[1] = '.';
	resign(&f);
	assert_true(wf_check(&f.rd.dev, f.arena, ARENA, NULL, NULL) >= 3);
	fx_free(&f);
}

/*
 * Random writes, appends, truncates, syncs and remounts on three files,
 * checked byte for byte against an in-memory model after every step; at
 * the end fsck is clean and free space returns to its start value.
 */
static void
model_check(uint32_t bs, uint64_t seed)
{
	enum { NF = 3, MAXSZ = 300000 };
	struct fx f;
	struct wf_statfs a, b;
	uint8_t *model[NF], *model_synced[NF], *rb = malloc(MAXSZ), *src = malloc(MAXSZ);
	size_t size[NF], size_synced[NF];
	uint64_t x = seed;
	int h[NF], i, step;
	char path[16];

	fx_init(&f, bs, (8u << 20) / bs, 16, 512);
	wf_statfs(&f.fs, &a);
	for (i = 0; i < MAXSZ; i++)
		src[i] = (uint8_t)(i * 31 + (i >> 8));
	for (i = 0; i < NF; i++) {
		snprintf(path, sizeof(path), "/m%d", i);
		model[i] = calloc(1, MAXSZ);
		model_synced[i] = calloc(1, MAXSZ);
		size[i] = size_synced[i] = 0;
		h[i] = wf_open(&f.fs, path, WF_O_READ | WF_O_WRITE | WF_O_CREATE);
		assert_true(h[i] >= 0);
	}
	assert_int_equal(wf_sync(&f.fs, h[0]), 0);
	for (step = 0; step < 400; step++) {
		int k, op;
		size_t off, len;

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		k = (int)((x >> 33) % NF);
		op = (int)((x >> 40) % 10);
		off = size[k] ? (size_t)((x >> 13) % (size[k] + 1)) : 0;
		len = 1 + (size_t)((x >> 20) % (op < 2 ? 40000 : 3000));
		if (off + len > MAXSZ)
			len = MAXSZ - off;
		if (op < 5 && len > 0) {            /* overwrite / extend */
			size_t so = (size_t)((x >> 7) % 1000);

			assert_int_equal(wf_write(&f.fs, h[k], off, src + so, len), (int)len);
			memcpy(model[k] + off, src + so, len);
			if (off + len > size[k])
				size[k] = off + len;
		} else if (op < 7) {                /* truncate */
			assert_int_equal(wf_truncate(&f.fs, h[k], off), 0);
			size[k] = off;
		} else if (op < 9) {                /* sync: commit is global */
			assert_int_equal(wf_sync(&f.fs, h[k]), 0);
			for (i = 0; i < NF; i++) {
				memcpy(model_synced[i], model[i], size[i]);
				size_synced[i] = size[i];
			}
		} else {                            /* crash: back to the synced state */
			fx_remount(&f);
			for (i = 0; i < NF; i++) {
				snprintf(path, sizeof(path), "/m%d", i);
				h[i] = wf_open(&f.fs, path, WF_O_READ | WF_O_WRITE);
				assert_true(h[i] >= 0);
				memcpy(model[i], model_synced[i], size_synced[i]);
				size[i] = size_synced[i];
			}
		}
		for (i = 0; i < NF; i++) {
			struct wf_stat st;

			assert_int_equal(wf_fstat(&f.fs, h[i], &st), 0);
			assert_int_equal(st.size, size[i]);
			assert_int_equal(wf_read(&f.fs, h[i], 0, rb, MAXSZ), (int)size[i]);
			if (memcmp(rb, model[i], size[i]) != 0) {
				print_error("seed %llu step %d file %d differs\n",
				    (unsigned long long)seed, step, i);
				fail();
			}
		}
	}
	for (i = 0; i < NF; i++) {
		assert_int_equal(wf_close(&f.fs, h[i]), 0);
		snprintf(path, sizeof(path), "/m%d", i);
		assert_int_equal(wf_remove(&f.fs, path), 0);
		free(model[i]);
		free(model_synced[i]);
	}
	assert_int_equal(wf_check(&f.rd.dev, f.arena, ARENA, NULL, NULL), 0);
	wf_statfs(&f.fs, &b);
	assert_int_equal(b.free_blocks, a.free_blocks);
	assert_int_equal(b.extents_free, a.extents_free);
	free(rb);
	free(src);
	fx_free(&f);
}

static void
test_model_512(void **s)
{
	(void)s;
	model_check(512, 1);
	model_check(512, 2);
}

static void
test_model_4k(void **s)
{
	(void)s;
	model_check(4096, 3);
	model_check(4096, 4);
}

/* An I/O error leaves the mount refusing work; remount shows the last commit. */
static void
test_io_error(void **s)
{
	struct fx f;
	struct wf_stat st;
	char buf[3000];
	int h;

	(void)s;
	fx_init(&f, 512, 4096, 32, 128);
	memset(buf, 'w', sizeof(buf));
	assert_int_equal(wf_create(&f.fs, "/a"), 0);
	h = wf_open(&f.fs, "/a", WF_O_WRITE);
	assert_int_equal(wf_write(&f.fs, h, 0, buf, sizeof(buf)), (int)sizeof(buf));
	f.rd.write_budget = 3;
	assert_int_equal(wf_close(&f.fs, h), E_IO);
	assert_int_equal(wf_stat(&f.fs, "/a", &st), E_IO);
	assert_int_equal(wf_mkdir(&f.fs, "/d"), E_IO);
	f.rd.write_budget = -1;
	fx_remount(&f);
	assert_int_equal(wf_stat(&f.fs, "/a", &st), 0);
	assert_int_equal(st.size, 0);
	assert_int_equal(wf_check(&f.rd.dev, f.arena, ARENA, NULL, NULL), 0);
	fx_free(&f);
}

/* Mount stays near-linear on hostile tables: a 65535-deep chain, 65535 equal names. */
static void
test_hostile_scale(void **s)
{
	struct fx f;
	struct live l;
	struct wf_geom g = { 65536, 64 };
	size_t need;
	void *big;
	uint32_t i;
	clock_t t0;

	(void)s;
	assert_int_equal(ramdev_init(&f.rd, 4096, 8192), 0);
	f.arena = malloc(ARENA);
	assert_int_equal(wf_format(&f.rd.dev, &g, 0), 0);
	assert_int_equal(wf_arena_need(&f.rd.dev, &need), 0);
	big = malloc(need);
	assert_int_equal(wf_mount(&f.fs, &f.rd.dev, big, need, NULL, NULL), 0);
	live_tables(&f, &l);
	for (i = 1; i < 65536; i++) {
		l.ino[i].type = WF_T_DIR;
		l.ino[i].parent = i - 1;
		l.ino[i].name_len = 1;
		l.ino[i].name[0] = 'x';
		l.ino[i].first_ext = WF_EXT_NONE;
	}
	resign(&f);
	t0 = clock();
	assert_int_equal(wf_mount(&f.fs, &f.rd.dev, big, need, NULL, NULL), 0);
	for (i = 1; i < 65536; i++) {
		l.ino[i].type = WF_T_FILE;
		l.ino[i].parent = 0;
	}
	resign(&f);
	assert_int_equal(wf_mount(&f.fs, &f.rd.dev, big, need, NULL, NULL), E_CORRUPT);
	assert_non_null(strstr(wf_last_error(&f.fs), "duplicate"));
	assert_int_equal(wf_check(&f.rd.dev, big, need, NULL, NULL), 65534);
	/* a 65535-long parent cycle */
	for (i = 1; i < 65536; i++) {
		l.ino[i].type = WF_T_DIR;
		l.ino[i].parent = i == 1 ? 65535 : i - 1;
		l.ino[i].name[0] = (char)('a' + i % 26);
		l.ino[i].name[1] = (char)('a' + i / 26 % 26);
		l.ino[i].name[2] = (char)('a' + i / 676 % 26);
		l.ino[i].name[3] = (char)('a' + i / 17576 % 26);
		l.ino[i].name_len = 4;
	}
	resign(&f);
	assert_int_equal(wf_mount(&f.fs, &f.rd.dev, big, need, NULL, NULL), E_LOOP);
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
	free(big);
	fx_free(&f);
}

/* The volume header places Store and WF on one device; both work side by side. */
static void
test_volume(void **s)
{
	struct ramdev rd;
	struct wf_vol v;
	struct wf_fs fs;
	struct st st;
	struct st_ns ns;
	struct st_geom sg = { 128, 64 * 1024 };
	struct wf_geom wg = { 32, 128 };
	void *arena = malloc(ARENA), *arena2 = malloc(ARENA);
	char buf[16];

	(void)s;
	assert_int_equal(ramdev_init(&rd, 512, 8192), 0);
	assert_int_equal(wf_vol_format(&rd.dev, 1024), 0);
	assert_int_equal(wf_vol_open(&v, &rd.dev), 0);
	assert_int_equal(st_format(&v.st.dev, &sg), 0);
	assert_int_equal(wf_format(&v.wf.dev, &wg, 0), 0);
	assert_int_equal(st_mount(&st, &v.st.dev, arena, ARENA), 0);
	assert_int_equal(wf_mount(&fs, &v.wf.dev, arena2, ARENA, NULL, NULL), 0);
	st_ns_root(&st, &ns);
	assert_int_equal(st_put(&ns, "k", "v", 1), 0);
	assert_int_equal(wf_mkdir(&fs, "/x"), 0);
	/* regions are windows: no I/O outside */
	assert_int_equal(blk_read(&v.st.dev, 1024, 1, arena), E_RANGE);
	assert_int_equal(wf_vol_open(&v, &rd.dev), 0);
	assert_int_equal(st_mount(&st, &v.st.dev, arena, ARENA), 0);
	st_ns_root(&st, &ns);
	assert_int_equal(st_get(&ns, "k", buf, sizeof(buf)), 1);
	assert_int_equal(wf_mount(&fs, &v.wf.dev, arena2, ARENA, NULL, NULL), 0);
	assert_int_equal(count_entries(&fs, "/"), 1);
	/* hostile header */
	rd.mem[8] ^= 1;
	assert_int_equal(wf_vol_open(&v, &rd.dev), E_CORRUPT);
	assert_non_null(strstr(v.why, "checksum"));
	rd.mem[8] ^= 1;
	rd.dev.block_count = 4000;
	assert_int_equal(wf_vol_open(&v, &rd.dev), E_CORRUPT);
	assert_non_null(strstr(v.why, "truncated"));
	ramdev_free(&rd);
	free(arena);
	free(arena2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dirs),
		cmocka_unit_test(test_files_512),
		cmocka_unit_test(test_files_4k),
		cmocka_unit_test(test_no_leaks_512),
		cmocka_unit_test(test_no_leaks_4k),
		cmocka_unit_test(test_fill_volume),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_model_512),
		cmocka_unit_test(test_model_4k),
		cmocka_unit_test(test_io_error),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_hostile_scale),
		cmocka_unit_test(test_volume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
