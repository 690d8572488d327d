/*
 * CAPOSRO1 tests (cmocka): build trees with ro1_build into RAM block devices
 * of 512 B and 4 KiB blocks, read them back, then corrupt copies. Hostile
 * cases re-seal the CRCs after patching (reseal()) so that the structural
 * checks behind the checksums are what gets exercised; each names its error.
 */
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
#include "ro1/ro1.h"

#define NMANY 300

struct ram {
	uint8_t *p;
	size_t len;
	struct blk_dev dev;
};

static int
ram_read(struct blk_dev *dev, uint64_t lba, uint32_t count, void *buf)
{
	struct ram *r = dev->ctx;
	if (lba > dev->block_count || count > dev->block_count - lba)
		return E_RANGE;
	memcpy(buf, r->p + lba * dev->block_size, (size_t)count * dev->block_size);
	return 0;
}

static int
ram_write(struct blk_dev *dev, uint64_t lba, uint32_t count, const void *buf)
{
	struct ram *r = dev->ctx;
	if (lba > dev->block_count || count > dev->block_count - lba)
		return E_RANGE;
	memcpy(r->p + lba * dev->block_size, buf, (size_t)count * dev->block_size);
	return 0;
}

static int
ram_flush(struct blk_dev *dev)
{
	return 0;
}

static void
ram_init(struct ram *r, size_t len, uint32_t bs)
{
	r->p = calloc(1, len);
	assert_non_null(r->p);
	r->len = len;
	r->dev = (struct blk_dev){ bs, len / bs, ram_read, ram_write, ram_flush, r };
}

/* ---- a source tree in memory ---- */

struct tree {
	struct ro1_src_node nodes[16 + NMANY];
	uint32_t kids[16 + NMANY];
	char names[NMANY][8];
	uint32_t order[16 + NMANY];
	struct ro1_src src;
	int changing; /* make read() return different data on the second pass */
};

static uint8_t
pattern(uint64_t k, uint32_t node)
{
	return (uint8_t)((k * 31 + node) & 0xff);
}

static int
tree_read(void *ctx, uint32_t node, uint64_t off, void *buf, size_t len)
{
	struct tree *t = ctx;
	uint8_t *b = buf;
	if (node >= t->src.count || off + len > t->nodes[node].size)
		return E_RANGE;
	for (size_t i = 0; i < len; i++)
		b[i] = pattern(off + i, node);
	if (t->changing && --t->changing == 0)
		b[0] ^= 1;
	return 0;
}

static uint32_t
add(struct tree *t, const char *name, uint8_t kind, uint64_t size)
{
	uint32_t i = t->src.count++;
	struct ro1_src_node *n = &t->nodes[i];
	memset(n, 0, sizeof(*n));
	n->name = name;
	n->name_len = (uint32_t)strlen(name);
	n->kind = kind;
	n->size = size;
	n->mtime_sec = 1700000000 + i;
	n->mtime_nsec = i * 1000;
	return i;
}

static uint32_t kid_used;

static void
set_kids(struct tree *t, uint32_t dir, const uint32_t *k, uint32_t n)
{
	t->nodes[dir].children = &t->kids[kid_used];
	memcpy(&t->kids[kid_used], k, n * sizeof(*k));
	t->nodes[dir].child_count = n;
	kid_used += n;
}

/* / {zeta.txt, big.bin, empty, sub/{deep/{z}, a.txt}, many/{f000..f299}} */
static struct tree *
tree_new(void)
{
	struct tree *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	kid_used = 0;
	t->src.nodes = t->nodes;
	t->src.read = tree_read;
	t->src.ctx = t;
	uint32_t root = add(t, "", RO1_KIND_DIR, 0);
	uint32_t hello = add(t, "zeta.txt", RO1_KIND_FILE, 13);
	uint32_t big = add(t, "big.bin", RO1_KIND_FILE, 100000);
	uint32_t empty = add(t, "empty", RO1_KIND_FILE, 0);
	uint32_t sub = add(t, "sub", RO1_KIND_DIR, 0);
	uint32_t deep = add(t, "deep", RO1_KIND_DIR, 0);
	uint32_t a = add(t, "a.txt", RO1_KIND_FILE, 5000);
	uint32_t z = add(t, "z", RO1_KIND_FILE, 4096);
	uint32_t many = add(t, "many", RO1_KIND_DIR, 0);
	t->nodes[big].flags = RO1_FLAG_EXEC;
	uint32_t mk[NMANY];
	for (uint32_t i = 0; i < NMANY; i++) {
		uint32_t j = NMANY - 1 - i; /* added in reverse: the builder sorts */
		snprintf(t->names[j], sizeof(t->names[j]), "f%03u", j);
		mk[i] = add(t, t->names[j], RO1_KIND_FILE, j);
	}
	set_kids(t, root, (uint32_t[]){ hello, big, empty, sub, many }, 5);
	set_kids(t, sub, (uint32_t[]){ deep, a }, 2);
	set_kids(t, deep, (uint32_t[]){ z }, 1);
	set_kids(t, many, mk, NMANY);
	return t;
}

static uint64_t
build(struct tree *t, struct ram *r, uint32_t bs)
{
	struct ro1_builder b;
	struct ro1_sink sink;
	uint64_t size = 0;
	ram_init(r, 2u << 20, bs);
	assert_int_equal(ro1_sink_blk(&sink, &r->dev), 0);
	assert_int_equal(ro1_build(&b, &t->src, t->order, &sink, &size), 0);
	assert_true(size > 0 && size <= r->len && size % 4096 == 0);
	return size;
}

static void
check_file(struct ro1_vol *v, const char *path, uint32_t node, uint64_t size)
{
	uint32_t ino;
	struct ro1_stat st;
	assert_int_equal(ro1_lookup(v, path, &ino), 0);
	assert_int_equal(ro1_stat(v, ino, &st), 0);
	assert_int_equal(st.kind, RO1_KIND_FILE);
	assert_int_equal(st.size, size);
	assert_int_equal(st.mtime_sec, 1700000000 + node);
	uint8_t *buf = malloc(size + 10);
	assert_int_equal(ro1_read(v, ino, 0, buf, size + 10), (int)size);
	for (uint64_t k = 0; k < size; k++)
		if (buf[k] != pattern(k, node))
			fail_msg("%s byte %llu", path, (unsigned long long)k);
	uint64_t offs[] = { 1, 4095, 4096, 4097, size / 2, size ? size - 1 : 0 };
	for (size_t i = 0; i < 6; i++) {
		if (offs[i] >= size)
			continue;
		size_t n = size - offs[i] < 9000 ? (size_t)(size - offs[i]) : 9000;
		assert_int_equal(ro1_read(v, ino, offs[i], buf, n), (int)n);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(buf[k], pattern(offs[i] + k, node));
	}
	assert_int_equal(ro1_read(v, ino, size, buf, 10), 0);
	free(buf);
}

static void
check_tree(struct ro1_vol *v)
{
	uint32_t ino, cur = 0;
	struct ro1_stat st;
	char name[RO1_NAME_MAX + 1];

	check_file(v, "zeta.txt", 1, 13);
	check_file(v, "/big.bin", 2, 100000);
	check_file(v, "empty", 3, 0);
	check_file(v, "sub/a.txt", 6, 5000);
	check_file(v, "//sub//deep/z", 7, 4096);
	check_file(v, "many/f137", 9 + (NMANY - 1 - 137), 137);
	assert_int_equal(ro1_lookup(v, "big.bin", &ino), 0);
	assert_int_equal(ro1_stat(v, ino, &st), 0);
	assert_int_equal(st.flags, RO1_FLAG_EXEC);

	/* Root listing is sorted by name bytes. */
	const char *want[] = { "big.bin", "empty", "many", "sub", "zeta.txt" };
	assert_int_equal(ro1_lookup(v, "/", &ino), 0);
	assert_int_equal(ino, RO1_ROOT);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(ro1_readdir(v, ino, &cur, name, &st), 1);
		assert_string_equal(name, want[i]);
	}
	assert_int_equal(ro1_readdir(v, ino, &cur, name, &st), 0);
	assert_int_equal(ro1_readdir(v, ino, &cur, name, &st), 0);

	assert_int_equal(ro1_lookup(v, "many", &ino), 0);
	cur = 0;
	for (uint32_t i = 0; i < NMANY; i++) {
		char w[8];
		snprintf(w, sizeof(w), "f%03u", i);
		assert_int_equal(ro1_readdir(v, ino, &cur, name, &st), 1);
		assert_string_equal(name, w);
		assert_int_equal(st.size, i);
	}
	assert_int_equal(ro1_readdir(v, ino, &cur, name, &st), 0);
	cur = 150; /* a cursor can resume anywhere */
	assert_int_equal(ro1_readdir(v, ino, &cur, name, &st), 1);
	assert_string_equal(name, "f150");

	assert_int_equal(ro1_lookup(v, "nope", &ino), E_NOENT);
	assert_int_equal(ro1_lookup(v, "many/f300", &ino), E_NOENT);
	assert_int_equal(ro1_lookup(v, "zeta.txt/x", &ino), E_NOENT);
	assert_int_equal(ro1_lookup(v, "sub/../zeta.txt", &ino), E_NAME);
	assert_int_equal(ro1_lookup(v, "./zeta.txt", &ino), E_NAME);
	assert_int_equal(ro1_lookup(v, "zeta.txt", &ino), 0);
	assert_int_equal(ro1_readdir(v, ino, &cur, name, &st), E_BADF);
	assert_int_equal(ro1_read(v, RO1_ROOT, 0, name, 1), E_BADF);
	assert_int_equal(ro1_stat(v, 100000, &st), E_RANGE);
}

static void
ro1_0001_build_mount_4k(void **state)
{
	struct tree *t = tree_new();
	struct ram r;
	struct ro1_vol v;
	build(t, &r, 4096);
	assert_int_equal(ro1_mount(&v, &r.dev), 0);
	check_tree(&v);
	free(r.p);
	free(t);
}

static void
ro1_0002_build_mount_512(void **state)
{
	struct tree *t = tree_new();
	struct ram r;
	struct ro1_vol v;
	uint64_t size = build(t, &r, 512);
	assert_int_equal(ro1_mount(&v, &r.dev), 0);
	check_tree(&v);
	/* The same bytes read over 4 KiB blocks, and on a device cut to the image size. */
	r.dev.block_size = 4096;
	r.dev.block_count = size / 4096;
	assert_int_equal(ro1_mount(&v, &r.dev), 0);
	check_tree(&v);
	free(r.p);
	free(t);
}

static int
count_report(void *ctx, int err, uint32_t ino, const char *what)
{
	(*(int *)ctx)++;
	return 0;
}

static void
ro1_0003_check_clean(void **state)
{
	struct tree *t = tree_new();
	struct ram r;
	struct ro1_vol v;
	int n = 0;
	build(t, &r, 4096);
	assert_int_equal(ro1_check(&v, &r.dev, count_report, &n), 0);
	assert_int_equal(n, 0);
	free(r.p);
	free(t);
}

static void
ro1_0004_minimal_tree(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	struct ram r;
	struct ro1_vol v;
	uint32_t cur = 0;
	char name[RO1_NAME_MAX + 1];
	struct ro1_stat st;
	t->src.nodes = t->nodes;
	t->src.read = tree_read;
	t->src.ctx = t;
	add(t, "", RO1_KIND_DIR, 0);
	assert_int_equal(build(t, &r, 512), 2 * 4096); /* superblock block + entry table */
	assert_int_equal(ro1_mount(&v, &r.dev), 0);
	assert_int_equal(ro1_readdir(&v, RO1_ROOT, &cur, name, &st), 0);
	free(r.p);
	free(t);
}

/* Random trees: whatever the builder writes, the reader must give back exactly. */
#define RND_MAX 160

struct rnd_tree {
	struct tree t;
	uint32_t parent[RND_MAX];
	char names[RND_MAX][24];
	uint32_t kids[RND_MAX][RND_MAX];
};

static uint32_t rng_state;

static uint32_t
rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

static void
rnd_path(struct rnd_tree *rt, uint32_t i, char *out, size_t cap)
{
	if (i == 0) {
		out[0] = '\0';
		return;
	}
	rnd_path(rt, rt->parent[i], out, cap);
	size_t n = strlen(out);
	snprintf(out + n, cap - n, "/%s", rt->names[i]);
}

static void
ro1_0005_random_trees(void **state)
{
	for (uint32_t seed = 1; seed <= 40; seed++) {
		struct rnd_tree *rt = calloc(1, sizeof(*rt));
		struct tree *t = &rt->t;
		struct ro1_vol v;
		struct ram r;
		rng_state = seed;
		t->src.nodes = t->nodes;
		t->src.read = tree_read;
		t->src.ctx = t;
		uint32_t n = 1 + rng() % (RND_MAX - 1);
		add(t, "", RO1_KIND_DIR, 0);
		for (uint32_t i = 1; i < n; i++) {
			uint32_t p;
			do
				p = rng() % i;
			while (t->nodes[p].kind != RO1_KIND_DIR);
			rt->parent[i] = p;
			/* Short random names, made unique by the index; some share prefixes. */
			snprintf(rt->names[i], sizeof(rt->names[i]), "%.*s%u", (int)(rng() % 4), "abab", i);
			bool dir = rng() % 3 == 0;
			uint64_t size = dir ? 0 : (rng() % 4 == 0 ? 0 : rng() % 9000); /* fits build()'s 2 MiB */
			add(t, rt->names[i], dir ? RO1_KIND_DIR : RO1_KIND_FILE, size);
			struct ro1_src_node *pn = &t->nodes[p];
			pn->children = rt->kids[p];
			rt->kids[p][pn->child_count++] = i;
		}
		build(t, &r, seed % 2 ? 512 : 4096);
		assert_int_equal(ro1_mount(&v, &r.dev), 0);
		int problems = 0;
		assert_int_equal(ro1_check(&v, &r.dev, count_report, &problems), 0);
		uint8_t *buf = malloc(20000);
		for (uint32_t i = 0; i < n; i++) {
			char path[RND_MAX * 26];
			uint32_t ino;
			struct ro1_stat st;
			rnd_path(rt, i, path, sizeof(path));
			assert_int_equal(ro1_lookup(&v, path, &ino), 0);
			assert_int_equal(ro1_stat(&v, ino, &st), 0);
			assert_int_equal(st.kind, t->nodes[i].kind);
			assert_int_equal(st.mtime_sec, 1700000000 + i);
			if (st.kind == RO1_KIND_DIR) {
				assert_int_equal(st.child_count, t->nodes[i].child_count);
				continue;
			}
			assert_int_equal(st.size, t->nodes[i].size);
			assert_int_equal(ro1_read(&v, ino, 0, buf, 20000), (int)st.size);
			for (uint64_t k = 0; k < st.size; k++)
				if (buf[k] != pattern(k, i))
					fail_msg("seed %u node %u byte %llu", seed, i, (unsigned long long)k);
		}
		free(buf);
		free(r.p);
		free(rt);
	}
}

/* ---- builder refusals ---- */

static int
try_build(struct tree *t)
{
	struct ro1_builder b;
	struct ro1_sink sink;
	struct ram r;
	uint64_t size;
	ram_init(&r, 2u << 20, 4096);
	ro1_sink_blk(&sink, &r.dev);
	int rc = ro1_build(&b, &t->src, t->order, &sink, &size);
	free(r.p);
	return rc;
}

static void
ro1_0010_builder_refuses(void **state)
{
	struct tree *t = tree_new();
	t->nodes[1].name = "big.bin"; /* duplicate of node 2 */
	t->nodes[1].name_len = 7;
	assert_int_equal(try_build(t), E_EXIST);
	free(t);

	t = tree_new();
	t->nodes[5].children[0] = 4; /* deep -> sub: a cycle */
	assert_int_equal(try_build(t), E_LOOP);
	free(t);

	t = tree_new();
	t->nodes[1].name = "a/b";
	t->nodes[1].name_len = 3;
	assert_int_equal(try_build(t), E_NAME);
	free(t);

	t = tree_new();
	t->nodes[1].name = "..";
	t->nodes[1].name_len = 2;
	assert_int_equal(try_build(t), E_NAME);
	free(t);

	t = tree_new();
	t->nodes[4].child_count = 1; /* a.txt becomes unreachable */
	assert_int_equal(try_build(t), E_INVAL);
	free(t);

	t = tree_new();
	t->nodes[5].children[0] = 9999;
	assert_int_equal(try_build(t), E_INVAL);
	free(t);

	t = tree_new();
	t->changing = 30; /* a file changes between the CRC pass and the data pass */
	assert_int_equal(try_build(t), E_IO);
	free(t);

	t = tree_new();
	struct ro1_builder b;
	struct ro1_sink sink;
	struct ram r;
	uint64_t size;
	ram_init(&r, 64u << 10, 4096); /* too small a device */
	ro1_sink_blk(&sink, &r.dev);
	assert_int_equal(ro1_build(&b, &t->src, t->order, &sink, &size), E_NOSPC);
	free(r.p);
	free(t);
}

/* ---- hostile images ---- */

static struct ro1_super *
sb_of(struct ram *r)
{
	return (struct ro1_super *)r->p;
}

static struct ro1_entry *
ent(struct ram *r, uint32_t i)
{
	return (struct ro1_entry *)(r->p + sb_of(r)->entry_off + (size_t)i * RO1_ENTRY_SIZE);
}

/* Recompute every metadata CRC so that only the structural fault remains. */
static void
reseal(struct ram *r)
{
	struct ro1_super *sb = sb_of(r);
	/* Superblock patches may have made the tables unreachable: reseal only what is in the buffer. */
	if (sb->entry_off < r->len && (uint64_t)sb->entry_count * RO1_ENTRY_SIZE <= r->len - sb->entry_off)
		sb->entry_crc = crc32c(r->p + sb->entry_off, (size_t)sb->entry_count * RO1_ENTRY_SIZE);
	if (sb->name_off < r->len && sb->name_len <= r->len - sb->name_off)
		sb->name_crc = crc32c(r->p + sb->name_off, sb->name_len);
	if (sb->crc_off < r->len && (uint64_t)sb->crc_count * 4 <= r->len - sb->crc_off)
		sb->crctab_crc = crc32c(r->p + sb->crc_off, (size_t)sb->crc_count * 4);
	sb->super_crc = crc32c(sb, offsetof(struct ro1_super, super_crc));
}

static uint32_t
entry_index(struct ram *r, const char *path)
{
	struct ro1_vol v;
	uint32_t ino;
	assert_int_equal(ro1_mount(&v, &r->dev), 0);
	assert_int_equal(ro1_lookup(&v, path, &ino), 0);
	return ino;
}

struct hostile {
	const char *what;
	void (*patch)(struct ram *r);
	bool reseal;
	int want;
};

static void p_magic(struct ram *r) { r->p[0] = 'X'; }
static void p_sbcrc(struct ram *r) { sb_of(r)->super_crc ^= 1; }
static void p_version(struct ram *r) { sb_of(r)->version = 2; }
static void p_chunk(struct ram *r) { sb_of(r)->chunk_size = 512; }
static void p_count0(struct ram *r) { sb_of(r)->entry_count = 0; }
static void p_counthuge(struct ram *r) { sb_of(r)->entry_count = RO1_MAX_ENTRIES + 1; }
static void p_imgsize(struct ram *r) { sb_of(r)->image_size += 1u << 30; }
static void p_entryoff(struct ram *r) { sb_of(r)->entry_off = 64; }
static void p_overlap_regions(struct ram *r) { sb_of(r)->name_off = sb_of(r)->entry_off + 64; }
static void p_dataoff(struct ram *r) { sb_of(r)->data_off = UINT64_MAX - 10; }
static void p_datalen(struct ram *r) { sb_of(r)->data_len = UINT64_MAX; }
static void p_flags(struct ram *r) { sb_of(r)->flags = 1; }
static void p_entrycrc(struct ram *r) { r->p[sb_of(r)->entry_off + 9] ^= 0x40; }
static void p_namecrc(struct ram *r) { r->p[sb_of(r)->name_off] ^= 0x40; }
static void p_crctab(struct ram *r) { r->p[sb_of(r)->crc_off] ^= 0x40; }
static void p_kind(struct ram *r) { ent(r, entry_index(r, "empty"))->kind = 7; }
static void p_rootfile(struct ram *r) { ent(r, 0)->kind = RO1_KIND_FILE; }
static void p_cycle_self(struct ram *r) { ent(r, entry_index(r, "sub/deep"))->first_child = entry_index(r, "sub/deep"); }
static void p_cycle_back(struct ram *r) { ent(r, entry_index(r, "sub/deep"))->first_child = 1; }
static void p_child_range(struct ram *r) { ent(r, 0)->child_count = 0x7fffffff; }
static void p_orphan(struct ram *r) { ent(r, entry_index(r, "sub"))->child_count = 1; }
static void p_nameoff(struct ram *r) { ent(r, entry_index(r, "empty"))->name_off = 0xfffffff0u; }
static void p_namelen(struct ram *r) { ent(r, entry_index(r, "empty"))->name_len = 300; }
static void p_slash(struct ram *r) { r->p[sb_of(r)->name_off + ent(r, entry_index(r, "empty"))->name_off] = '/'; }
static void p_dotdot(struct ram *r)
{
	uint32_t i = entry_index(r, "sub/deep/z");
	ent(r, i)->name_len = 2;
	memcpy(r->p + sb_of(r)->name_off + ent(r, i)->name_off, "..", 2);
}
static void p_unsorted(struct ram *r) { r->p[sb_of(r)->name_off + ent(r, entry_index(r, "big.bin"))->name_off] = 'x'; }
static void p_dupname(struct ram *r)
{
	uint32_t a = entry_index(r, "many/f010"), b = entry_index(r, "many/f011");
	ent(r, b)->name_off = ent(r, a)->name_off;
}
static void p_extent_out(struct ram *r) { ent(r, entry_index(r, "big.bin"))->data_off = sb_of(r)->data_len - 10; }
static void p_extent_wrap(struct ram *r) { ent(r, entry_index(r, "big.bin"))->data_off = UINT64_MAX - 5; }
static void p_overlap(struct ram *r)
{
	uint32_t a = entry_index(r, "zeta.txt"), b = entry_index(r, "big.bin");
	ent(r, a)->data_off = ent(r, b)->data_off + 100;
}
static void p_crcrange(struct ram *r) { ent(r, entry_index(r, "big.bin"))->crc_first = sb_of(r)->crc_count; }
static void p_crcorder(struct ram *r) { ent(r, entry_index(r, "zeta.txt"))->crc_first = 0; }
static void p_size_big(struct ram *r) { ent(r, entry_index(r, "zeta.txt"))->size = 1ull << 40; }
static void p_empty_off(struct ram *r) { ent(r, entry_index(r, "empty"))->data_off = 5; }
static void p_reserved(struct ram *r) { ent(r, entry_index(r, "empty"))->reserved[3] = 1; }
static void p_nsec(struct ram *r) { ent(r, entry_index(r, "empty"))->mtime_nsec = 1000000000u; }
static void p_dirdata(struct ram *r) { ent(r, entry_index(r, "sub"))->size = 1; }

static const struct hostile hostile[] = {
	{ "bad magic", p_magic, false, E_CORRUPT },
	{ "superblock CRC", p_sbcrc, false, E_CORRUPT },
	{ "unknown version", p_version, true, E_NOTSUP },
	{ "chunk size", p_chunk, true, E_CORRUPT },
	{ "zero entries", p_count0, true, E_CORRUPT },
	{ "too many entries", p_counthuge, true, E_CORRUPT },
	{ "image larger than device", p_imgsize, true, E_CORRUPT },
	{ "entry table over the superblock", p_entryoff, true, E_CORRUPT },
	{ "regions overlap", p_overlap_regions, true, E_CORRUPT },
	{ "data offset wraps", p_dataoff, true, E_CORRUPT },
	{ "data length wraps", p_datalen, true, E_CORRUPT },
	{ "unknown superblock flag", p_flags, true, E_CORRUPT },
	{ "entry table CRC", p_entrycrc, false, E_CORRUPT },
	{ "name table CRC", p_namecrc, false, E_CORRUPT },
	{ "chunk CRC table CRC", p_crctab, false, E_CORRUPT },
	{ "unknown kind", p_kind, true, E_CORRUPT },
	{ "root is a file", p_rootfile, true, E_CORRUPT },
	{ "directory is its own child", p_cycle_self, true, E_CORRUPT },
	{ "directory points back up", p_cycle_back, true, E_CORRUPT },
	{ "child range past the table", p_child_range, true, E_CORRUPT },
	{ "entry without a parent", p_orphan, true, E_CORRUPT },
	{ "name offset out of range", p_nameoff, true, E_CORRUPT },
	{ "name too long", p_namelen, true, E_CORRUPT },
	{ "slash in a name", p_slash, true, E_CORRUPT },
	{ "name is ..", p_dotdot, true, E_CORRUPT },
	{ "children not sorted", p_unsorted, true, E_CORRUPT },
	{ "duplicate name", p_dupname, true, E_CORRUPT },
	{ "extent past the data region", p_extent_out, true, E_CORRUPT },
	{ "extent offset wraps", p_extent_wrap, true, E_CORRUPT },
	{ "overlapping extents", p_overlap, true, E_CORRUPT },
	{ "chunk CRCs past the table", p_crcrange, true, E_CORRUPT },
	{ "chunk CRC ranges reused", p_crcorder, true, E_CORRUPT },
	{ "file larger than the data", p_size_big, true, E_CORRUPT },
	{ "empty file with an offset", p_empty_off, true, E_CORRUPT },
	{ "reserved entry bytes", p_reserved, true, E_CORRUPT },
	{ "mtime nanoseconds", p_nsec, true, E_CORRUPT },
	{ "directory with a size", p_dirdata, true, E_CORRUPT },
};

static void
ro1_0100_hostile_mounts(void **state)
{
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		const struct hostile *h = &hostile[i];
		struct tree *t = tree_new();
		struct ram r;
		struct ro1_vol v;
		build(t, &r, 4096);
		h->patch(&r);
		if (h->reseal)
			reseal(&r);
		int got = ro1_mount(&v, &r.dev);
		if (got != h->want)
			fail_msg("RO1-0100 %s: mount want %s got %s", h->what, err_name(h->want), err_name(got));
		int n = 0;
		got = ro1_check(&v, &r.dev, count_report, &n);
		if (got < 1 || got != n)
			fail_msg("RO1-0100 %s: check found %d problems (reported %d)", h->what, got, n);
		free(r.p);
		free(t);
	}
}

static void
ro1_0101_truncated(void **state)
{
	struct tree *t = tree_new();
	struct ram r;
	struct ro1_vol v;
	uint64_t size = build(t, &r, 512);
	r.dev.block_count = size / 512 - 1;
	assert_int_equal(ro1_mount(&v, &r.dev), E_CORRUPT);
	r.dev.block_count = 1;
	assert_int_equal(ro1_mount(&v, &r.dev), E_CORRUPT);
	r.dev.block_size = 1000;
	assert_int_equal(ro1_mount(&v, &r.dev), E_INVAL);
	free(r.p);
	free(t);
}

static void
ro1_0102_data_corruption(void **state)
{
	struct tree *t = tree_new();
	struct ram r;
	struct ro1_vol v;
	uint32_t ino;
	uint8_t buf[16];
	build(t, &r, 4096);
	assert_int_equal(ro1_mount(&v, &r.dev), 0);
	assert_int_equal(ro1_lookup(&v, "big.bin", &ino), 0);
	/* Flip a byte in big.bin's third chunk: mount is metadata-only and still succeeds,
	 * reads of that chunk fail, reads of other chunks work, check reports it. */
	r.p[sb_of(&r)->data_off + ent(&r, ino)->data_off + 2 * 4096 + 7] ^= 1;
	ro1_invalidate(&v);
	assert_int_equal(ro1_mount(&v, &r.dev), 0);
	assert_int_equal(ro1_read(&v, ino, 2 * 4096 + 100, buf, 16), E_CORRUPT);
	assert_int_equal(ro1_read(&v, ino, 0, buf, 16), 16);
	assert_int_equal(ro1_read(&v, ino, 3 * 4096, buf, 16), 16);
	int n = 0;
	assert_int_equal(ro1_check(&v, &r.dev, count_report, &n), 1);
	assert_int_equal(n, 1);
	free(r.p);
	free(t);
}

static void
ro1_0103_check_reports_every_problem(void **state)
{
	struct tree *t = tree_new();
	struct ram r;
	struct ro1_vol v;
	build(t, &r, 4096);
	uint32_t empty = entry_index(&r, "empty"), big = entry_index(&r, "big.bin");
	uint32_t z = entry_index(&r, "sub/deep/z");
	ent(&r, empty)->kind = 7;
	ent(&r, empty)->mtime_nsec = 1000000000u; /* same entry: reported once for it */
	ent(&r, z)->mtime_nsec = 1000000000u;
	r.p[sb_of(&r)->name_off + ent(&r, big)->name_off] = 'x';
	reseal(&r);
	r.p[sb_of(&r)->data_off + 5] ^= 1; /* data of the first file */
	int n = 0;
	int got = ro1_check(&v, &r.dev, count_report, &n);
	assert_true(got >= 4); /* bad kind, bad nsec on z, unsorted names, data CRC */
	assert_int_equal(got, n);
	assert_int_equal(ro1_check(&v, &r.dev, NULL, NULL), E_INVAL);
	free(r.p);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ro1_0001_build_mount_4k),
		cmocka_unit_test(ro1_0002_build_mount_512),
		cmocka_unit_test(ro1_0003_check_clean),
		cmocka_unit_test(ro1_0004_minimal_tree),
		cmocka_unit_test(ro1_0005_random_trees),
		cmocka_unit_test(ro1_0010_builder_refuses),
		cmocka_unit_test(ro1_0100_hostile_mounts),
		cmocka_unit_test(ro1_0101_truncated),
		cmocka_unit_test(ro1_0102_data_corruption),
		cmocka_unit_test(ro1_0103_check_reports_every_problem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
