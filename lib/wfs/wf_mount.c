/*
 * CAPOSWF1 format, mount, fsck and commit (docs/caposwf1.md).
 *
 * The whole metadata (crc table, inode table, extent table) lives in the
 * caller's arena as the exact image of one metadata area. A commit writes
 * it to the area of the next generation (gen % 2), which holds the state of
 * two generations ago: only blocks changed since then are written (md_gen
 * per block records the generation of the last change). The free-space map
 * is not stored: mount derives it from the extents, which is also how
 * overlapping or shared extents are caught.
 *
 * Copy-on-write for data: blocks referenced by the committed state
 * (used_com) are never overwritten; a write to such a block goes to a new
 * block and the old one becomes free only when the next commit is durable.
 */
#include "wfs/wf_int.h"

#include "base/crc32c.h"
#include "base/err.h"
#include "base/mem.h"

struct chk {
	struct wf_fs *fs;
	wf_report_fn report;
	void *ctx;
	int count;
	int first_code;
};

static int
problem(struct chk *c, int code, const char *what, uint64_t a, uint64_t b)
{
	struct wf_problem p = { code, what, a, b };

	if (c->count++ == 0)
		c->first_code = code;
	if (c->report)
		c->report(c->ctx, &p);
	else if (c->fs->why == NULL)
		c->fs->why = what;
	return code;
}

int
wf_fail(struct wf_fs *fs, int r)
{
	fs->broken = true;
	return r < 0 ? r : E_IO;
}

bool
wf_name_ok(const uint8_t *name, size_t len)
{
	size_t i;

	if (len == 0 || len > WF_NAME_MAX)
		return false;
	if (len == 1 && name[0] == '.')
		return false;
	if (len == 2 && name[0] == '.' && name[1] == '.')
		return false;
	for (i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == '\0')
			return false;
	return true;
}

static uint32_t
super_crc(const struct wf_super_disk *s)
{
	return crc32c(s, offsetof(struct wf_super_disk, crc));
}

struct geo {
	uint64_t inode_blocks, ext_blocks, crc_blocks, md_blocks;
};

static void
geometry(uint32_t bs, uint64_t inodes, uint64_t extents, struct geo *g)
{
	g->inode_blocks = (inodes * WF_INODE_SIZE + bs - 1) / bs;
	g->ext_blocks = (extents * WF_EXTENT_SIZE + bs - 1) / bs;
	g->crc_blocks = ((g->inode_blocks + g->ext_blocks) * 4 + bs - 1) / bs;
	g->md_blocks = g->crc_blocks + g->inode_blocks + g->ext_blocks;
}

void
wf_touch_ino(struct wf_fs *fs, uint32_t i)
{
	uint64_t b = fs->sb.crc_blocks + (uint64_t)i * WF_INODE_SIZE / fs->bs;

	fs->md_gen[b] = fs->sb.gen + 1;
	fs->dirty = true;
}

void
wf_touch_ext(struct wf_fs *fs, uint32_t x)
{
	uint64_t b = fs->sb.crc_blocks + fs->inode_blocks + (uint64_t)x * WF_EXTENT_SIZE / fs->bs;

	fs->md_gen[b] = fs->sb.gen + 1;
	fs->dirty = true;
}

/* ---- commit ----------------------------------------------------------- */

int
wf_commit(struct wf_fs *fs)
{
	uint64_t g = fs->sb.gen + 1, b, base, have;
	uint32_t a = (uint32_t)(g % 2);
	struct wf_super_disk ns;
	int r;

	if (fs->broken)
		return E_IO;
	/* 1. file data written since the last commit */
	r = blk_flush(fs->dev);
	if (r < 0)
		return wf_fail(fs, r);
	/* 2. metadata: refresh checksums of changed blocks, then write the area */
	for (b = fs->sb.crc_blocks; b < fs->sb.md_blocks; b++) {
		uint32_t c;
		uint64_t k = b - fs->sb.crc_blocks;

		if (fs->md_gen[b] != g)
			continue;
		c = crc32c(fs->md + b * fs->bs, fs->bs);
		if (fs->crcs[k] != c) {
			fs->crcs[k] = c;
			fs->md_gen[k * 4 / fs->bs] = g;
		}
	}
	base = 2 + a * (uint64_t)fs->sb.md_blocks;
	have = fs->area_gen[a];
	fs->area_gen[a] = 0; /* unknown until the commit record lands */
	for (b = 0; b < fs->sb.md_blocks; b++) {
		if (fs->md_gen[b] > have) {
			r = blk_write(fs->dev, base + b, 1, fs->md + b * fs->bs);
			if (r < 0)
				return wf_fail(fs, r);
		}
	}
	r = blk_flush(fs->dev);
	if (r < 0)
		return wf_fail(fs, r);
	/* 3. commit record */
	ns = fs->sb;
	ns.gen = g;
	ns.table_crc = crc32c(fs->md, (size_t)fs->sb.crc_blocks * fs->bs);
	ns.crc = super_crc(&ns);
	memset(fs->scratch, 0, fs->bs);
	memcpy(fs->scratch, &ns, sizeof(ns));
	r = blk_write(fs->dev, g % 2, 1, fs->scratch);
	if (r == 0)
		r = blk_flush(fs->dev);
	if (r < 0)
		return wf_fail(fs, r);
	fs->sb = ns;
	fs->area_gen[a] = g;
	memcpy(fs->used_com, fs->used_now, fs->sb.data_blocks / 8 + 1);
	fs->n_busy = fs->n_now;
	fs->dirty = false;
	fs->stat_commits++;
	return 0;
}

/* ---- format ----------------------------------------------------------- */

int
wf_format(struct blk_dev *dev, const struct wf_geom *gm, uint64_t now)
{
	uint32_t bs = dev->block_size;
	struct wf_super_disk s;
	struct wf_inode_disk root;
	struct wf_extent_disk free_ext = { 0, 0, WF_EXT_NONE };
	struct geo g;
	uint8_t blk[4096];
	uint64_t b, i;
	int r;

	if (bs != 512 && bs != 4096)
		return E_INVAL;
	if (gm->inode_count < 1 || gm->inode_count > WF_INODES_MAX ||
	    gm->extent_count < 1 || gm->extent_count > WF_EXTENTS_MAX)
		return E_INVAL;
	geometry(bs, gm->inode_count, gm->extent_count, &g);
	if (dev->block_count < 2 + 2 * g.md_blocks + 1)
		return E_NOSPC;
	memset(&s, 0, sizeof(s));
	memcpy(s.magic, WF_MAGIC, 8);
	s.version = WF_VERSION;
	s.block_size = bs;
	s.region_blocks = dev->block_count;
	s.gen = 1;
	s.inode_count = gm->inode_count;
	s.extent_count = gm->extent_count;
	s.md_blocks = (uint32_t)g.md_blocks;
	s.crc_blocks = (uint32_t)g.crc_blocks;
	s.data_start = 2 + 2 * g.md_blocks;
	s.data_blocks = dev->block_count - s.data_start;
	memset(&root, 0, sizeof(root));
	root.type = WF_T_DIR;
	root.ctime = root.mtime = now;
	root.first_ext = WF_EXT_NONE;
	/*
	 * Area 1 (generation 1). Build each table block, write it, and keep its
	 * checksum; the crc table blocks are written last. Generation 1 lives
	 * in area 1 and slot 1; slot 0 is zeroed.
	 */
	for (b = g.crc_blocks; b < g.md_blocks; b++) {
		memset(blk, 0, bs);
		if (b < g.crc_blocks + g.inode_blocks) {
			if (b == g.crc_blocks)
				memcpy(blk, &root, sizeof(root));
		} else {
			uint64_t first = (b - g.crc_blocks - g.inode_blocks) * (bs / WF_EXTENT_SIZE);

			for (i = 0; i < bs / WF_EXTENT_SIZE; i++)
				if (first + i < gm->extent_count)
					memcpy(blk + i * WF_EXTENT_SIZE, &free_ext, sizeof(free_ext));
		}
		r = blk_write(dev, 2 + g.md_blocks + b, 1, blk);
		if (r < 0)
			return r;
	}
	/* crc table: recompute each data block's checksum into crc blocks */
	s.table_crc = 0;
	for (b = 0; b < g.crc_blocks; b++) {
		uint32_t *t = (uint32_t *)blk;
		uint8_t tmp[4096];

		memset(blk, 0, bs);
		for (i = 0; i < bs / 4; i++) {
			uint64_t mb = g.crc_blocks + b * (bs / 4) + i;

			if (mb >= g.md_blocks)
				break;
			r = blk_read(dev, 2 + g.md_blocks + mb, 1, tmp);
			if (r < 0)
				return r;
			t[i] = crc32c(tmp, bs);
		}
		s.table_crc = crc32c_update(s.table_crc, blk, bs);
		r = blk_write(dev, 2 + g.md_blocks + b, 1, blk);
		if (r < 0)
			return r;
	}
	r = blk_flush(dev);
	if (r < 0)
		return r;
	s.crc = super_crc(&s);
	memset(blk, 0, bs);
	r = blk_write(dev, 0, 1, blk);
	if (r < 0)
		return r;
	memcpy(blk, &s, sizeof(s));
	r = blk_write(dev, 1, 1, blk);
	if (r < 0)
		return r;
	return blk_flush(dev);
}

/* ---- mount ------------------------------------------------------------ */

static const char *
super_invalid(const struct wf_super_disk *s, const struct blk_dev *dev, uint32_t slot)
{
	struct geo g;

	if (memcmp(s->magic, WF_MAGIC, 8) != 0)
		return "commit record: bad magic";
	if (s->crc != super_crc(s))
		return "commit record: bad checksum";
	if (s->version != WF_VERSION)
		return "commit record: unknown version";
	if (s->block_size != dev->block_size)
		return "commit record: block size differs from device";
	if (s->gen == 0 || s->gen % 2 != slot)
		return "commit record: generation does not match its slot";
	if (s->region_blocks > dev->block_count)
		return "commit record: region larger than device (truncated image)";
	if (s->inode_count < 1 || s->inode_count > WF_INODES_MAX ||
	    s->extent_count < 1 || s->extent_count > WF_EXTENTS_MAX)
		return "commit record: table sizes out of range";
	geometry(s->block_size, s->inode_count, s->extent_count, &g);
	if (s->md_blocks != g.md_blocks || s->crc_blocks != g.crc_blocks)
		return "commit record: metadata geometry inconsistent";
	if (s->data_start != 2 + 2 * g.md_blocks || s->data_start > s->region_blocks ||
	    s->data_blocks > s->region_blocks - s->data_start)
		return "commit record: data area outside region";
	return NULL;
}

static int
carve(struct wf_fs *fs, void *arena, size_t len, size_t *need)
{
	const struct wf_super_disk *s = &fs->sb;
	size_t off = 0, o_md, o_gen, o_now, o_com, o_seen, o_scr, o_ord, o_ist;
	size_t bmap = (size_t)(s->data_blocks / 8 + 1);
	uint8_t *p = arena;

#define TAKE(o, n) do { o = off; off += ((size_t)(n) + 7) & ~(size_t)7; } while (0)
	TAKE(o_md, (size_t)s->md_blocks * fs->bs);
	TAKE(o_gen, (size_t)s->md_blocks * 8);
	TAKE(o_now, bmap);
	TAKE(o_com, bmap);
	TAKE(o_seen, s->extent_count / 8 + 1);
	TAKE(o_scr, fs->bs);
	TAKE(o_ord, (size_t)s->inode_count * 4);
	TAKE(o_ist, s->inode_count);
#undef TAKE
	*need = off;
	if (arena == NULL || off > len)
		return E_NOMEM;
	memset(p + o_gen, 0, off - o_gen);
	fs->md = p + o_md;
	fs->md_gen = (uint64_t *)(p + o_gen);
	fs->used_now = p + o_now;
	fs->used_com = p + o_com;
	fs->ext_seen = p + o_seen;
	fs->scratch = p + o_scr;
	fs->order = (uint32_t *)(p + o_ord);
	fs->istate = p + o_ist;
	fs->crcs = (uint32_t *)fs->md;
	fs->ino = (struct wf_inode_disk *)(fs->md + (size_t)s->crc_blocks * fs->bs);
	fs->inode_blocks = (uint32_t)(((uint64_t)s->inode_count * WF_INODE_SIZE + fs->bs - 1) / fs->bs);
	fs->ext = (struct wf_extent_disk *)(fs->md +
	    ((size_t)s->crc_blocks + fs->inode_blocks) * fs->bs);
	return 0;
}

static int
pick_super(struct chk *c, struct blk_dev *dev, uint8_t *blk)
{
	struct wf_super_disk s[2];
	const char *why[2];
	int best = -1, r;
	uint32_t i;

	for (i = 0; i < 2; i++) {
		r = blk_read(dev, i, 1, blk);
		if (r < 0)
			return r;
		memcpy(&s[i], blk, sizeof(s[i]));
		why[i] = super_invalid(&s[i], dev, i);
		if (why[i] == NULL && (best < 0 || s[i].gen > s[best].gen))
			best = (int)i;
	}
	if (best < 0) {
		i = (!c->report && memcmp(s[0].magic, WF_MAGIC, 8) != 0) ? 1 : 0;
		problem(c, E_CORRUPT, why[i], i, 0);
		if (c->report)
			problem(c, E_CORRUPT, why[1], 1, 0);
		return E_CORRUPT;
	}
	c->fs->sb = s[best];
	return 0;
}

/* Walk a file's extents, claiming its blocks. Returns blocks counted. */
static uint64_t
claim_extents(struct chk *c, uint32_t ino, bool *ok)
{
	struct wf_fs *fs = c->fs;
	uint32_t x = fs->ino[ino].first_ext;
	uint64_t blocks = 0, k;

	while (x != WF_EXT_NONE) {
		const struct wf_extent_disk *e;
		bool overlap = false;

		if (x >= fs->sb.extent_count) {
			*ok = false;
			problem(c, E_CORRUPT, "extent index out of range", ino, x);
			return blocks;
		}
		if (wf_bit(fs->ext_seen, x)) {
			*ok = false;
			problem(c, E_LOOP, "extent chain shared or cyclic", ino, x);
			return blocks;
		}
		wf_bit_set(fs->ext_seen, x);
		e = &fs->ext[x];
		if (e->len == 0 || e->lba >= fs->sb.data_blocks ||
		    e->len > fs->sb.data_blocks - e->lba) {
			*ok = false;
			problem(c, E_CORRUPT, "extent outside the data area", ino, x);
			return blocks;
		}
		for (k = e->lba; k < e->lba + e->len; k++) {
			if (wf_bit(fs->used_now, k))
				overlap = true;
			wf_bit_set(fs->used_now, k);
		}
		if (overlap) {
			*ok = false;
			problem(c, E_CORRUPT, "overlapping extents", ino, x);
		}
		blocks += e->len;
		x = e->next;
	}
	return blocks;
}

/* Order of two inodes by (parent, name); names are bounded by WF_NAME_MAX. */
static int
name_cmp(const struct wf_fs *fs, uint32_t a, uint32_t b)
{
	const struct wf_inode_disk *x = &fs->ino[a], *y = &fs->ino[b];
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	if (n > WF_NAME_MAX)
		n = WF_NAME_MAX;
	c = memcmp(x->name, y->name, n);
	if (c != 0)
		return c;
	return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static void
sift(const struct wf_fs *fs, uint32_t *a, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;
		uint32_t t;

		if (c >= n)
			return;
		if (c + 1 < n && name_cmp(fs, a[c + 1], a[c]) > 0)
			c++;
		if (name_cmp(fs, a[c], a[i]) <= 0)
			return;
		t = a[c];
		a[c] = a[i];
		a[i] = t;
		i = c;
	}
}

/* Heapsort: O(n log n) whatever the input, no recursion. */
static void
sort_names(const struct wf_fs *fs, uint32_t *a, size_t n)
{
	size_t i;

	for (i = n / 2; i-- > 0;)
		sift(fs, a, i, n);
	for (i = n; i-- > 1;) {
		uint32_t t = a[0];

		a[0] = a[i];
		a[i] = t;
		sift(fs, a, 0, i);
	}
}

/*
 * Does inode i reach the root through directories? istate: 0 unknown,
 * 1 on the current walk, 2 reaches the root, 3 does not (cycle or bad
 * link). Every inode is decided once, so all walks together are O(inodes).
 */
static uint8_t
chain_state(struct wf_fs *fs, uint32_t i)
{
	uint32_t n = fs->sb.inode_count, p = i;
	uint8_t end;

	for (;;) {
		if (p == WF_ROOT) {
			end = 2;
			break;
		}
		if (p >= n || fs->istate[p] == 1 || (p != i && fs->ino[p].type != WF_T_DIR)) {
			end = 3;
			break;
		}
		if (fs->istate[p] >= 2) {
			end = fs->istate[p];
			break;
		}
		fs->istate[p] = 1;
		p = fs->ino[p].parent;
	}
	for (p = i; p != WF_ROOT && p < n && fs->istate[p] == 1; p = fs->ino[p].parent)
		fs->istate[p] = end;
	return end;
}

static void
check_inodes(struct chk *c)
{
	struct wf_fs *fs = c->fs;
	const struct wf_inode_disk *r = &fs->ino[WF_ROOT];
	uint32_t i, n = fs->sb.inode_count;
	size_t k, named = 0;

	if (r->type != WF_T_DIR || r->parent != WF_ROOT || r->name_len != 0 ||
	    r->first_ext != WF_EXT_NONE || r->size != 0)
		problem(c, E_CORRUPT, "root inode is not an empty-named directory", 0, 0);
	for (i = 1; i < n; i++) {
		const struct wf_inode_disk *d = &fs->ino[i];

		if (d->type == WF_T_FREE)
			continue;
		if (d->type != WF_T_FILE && d->type != WF_T_DIR) {
			problem(c, E_CORRUPT, "inode: unknown type", i, d->type);
			continue;
		}
		if (!wf_name_ok(d->name, d->name_len))
			problem(c, E_CORRUPT, "inode: invalid or reserved name", i, d->name_len);
		if (d->parent >= n || d->parent == i || fs->ino[d->parent].type != WF_T_DIR) {
			problem(c, E_CORRUPT, "inode: parent is not a directory", i, d->parent);
			continue;
		}
		if (chain_state(fs, i) != 2) {
			problem(c, E_LOOP, "directory cycle: inode does not reach the root", i, 0);
			continue;
		}
		fs->order[named++] = i;
		if (d->type == WF_T_DIR) {
			if (d->size != 0 || d->first_ext != WF_EXT_NONE)
				problem(c, E_CORRUPT, "directory with size or extents", i, 0);
		} else {
			bool ok = true;
			uint64_t got = claim_extents(c, i, &ok);
			uint64_t want = d->size / fs->bs + (d->size % fs->bs != 0);

			if (ok && got != want)
				problem(c, E_CORRUPT, "file size does not match its extents", i, got);
		}
	}
	sort_names(fs, fs->order, named);
	for (k = 1; k < named; k++)
		if (name_cmp(fs, fs->order[k - 1], fs->order[k]) == 0)
			problem(c, E_CORRUPT, "duplicate name in a directory", fs->order[k - 1],
			    fs->order[k]);
}

static int
load(struct chk *c, struct blk_dev *dev, void *arena, size_t len)
{
	struct wf_fs *fs = c->fs;
	uint8_t blk[4096];
	uint64_t b, base;
	uint32_t x, a;
	size_t need;
	int r;

	fs->dev = dev;
	fs->bs = dev->block_size;
	if (fs->bs != 512 && fs->bs != 4096)
		return problem(c, E_INVAL, "device block size is not 512 or 4096", fs->bs, 0);
	r = pick_super(c, dev, blk);
	if (r < 0)
		return r;
	r = carve(fs, arena, len, &need);
	if (r < 0) {
		fs->limit = "wf_mount arena (wf_arena_need bytes)";
		return r;
	}
	a = (uint32_t)(fs->sb.gen % 2);
	base = 2 + a * (uint64_t)fs->sb.md_blocks;
	for (b = 0; b < fs->sb.md_blocks; b++) {
		r = blk_read(dev, base + b, 1, fs->md + b * fs->bs);
		if (r < 0)
			return r;
	}
	if (crc32c(fs->md, (size_t)fs->sb.crc_blocks * fs->bs) != fs->sb.table_crc) {
		r = problem(c, E_CORRUPT, "metadata: crc table checksum mismatch", a, 0);
		if (!c->report)
			return r;
	}
	for (b = fs->sb.crc_blocks; b < fs->sb.md_blocks; b++) {
		if (crc32c(fs->md + b * fs->bs, fs->bs) != fs->crcs[b - fs->sb.crc_blocks]) {
			r = problem(c, E_CORRUPT, "metadata: block checksum mismatch", b, 0);
			if (!c->report)
				return r;
		}
	}
	check_inodes(c);
	fs->ext_free = 0;
	for (x = 0; x < fs->sb.extent_count; x++) {
		if (wf_bit(fs->ext_seen, x))
			continue;
		if (fs->ext[x].len != 0)
			problem(c, E_CORRUPT, "leaked extent: in use but owned by no file", x, 0);
		else
			fs->ext_free++;
	}
	if (c->count > 0)
		return c->first_code;
	for (b = 0; b < fs->sb.data_blocks; b++)
		if (wf_bit(fs->used_now, b))
			fs->n_now++;
	memcpy(fs->used_com, fs->used_now, fs->sb.data_blocks / 8 + 1);
	fs->n_busy = fs->n_now;
	for (b = 0; b < fs->sb.md_blocks; b++)
		fs->md_gen[b] = fs->sb.gen;
	fs->area_gen[a] = fs->sb.gen;
	fs->area_gen[1 - a] = 0;
	return 0;
}

int
wf_arena_need(struct blk_dev *dev, size_t *need)
{
	struct wf_fs fs;
	struct chk c = { &fs, NULL, NULL, 0, 0 };
	uint8_t blk[4096];
	int r;

	memset(&fs, 0, sizeof(fs));
	fs.dev = dev;
	fs.bs = dev->block_size;
	if (fs.bs != 512 && fs.bs != 4096)
		return E_INVAL;
	r = pick_super(&c, dev, blk);
	if (r < 0)
		return r;
	carve(&fs, NULL, 0, need);
	return 0;
}

int
wf_mount(struct wf_fs *fs, struct blk_dev *dev, void *arena, size_t arena_len,
    wf_clock_fn clock, void *clock_ctx)
{
	struct chk c = { fs, NULL, NULL, 0, 0 };
	int r;

	memset(fs, 0, sizeof(*fs));
	fs->clock = clock;
	fs->clock_ctx = clock_ctx;
	r = load(&c, dev, arena, arena_len);
	if (r < 0)
		fs->broken = true;
	return r;
}

int
wf_check(struct blk_dev *dev, void *arena, size_t arena_len, wf_report_fn report, void *ctx)
{
	struct wf_fs fs;
	struct chk c = { &fs, report, ctx, 0, 0 };
	int r;

	memset(&fs, 0, sizeof(fs));
	r = load(&c, dev, arena, arena_len);
	if (r < 0 && c.count == 0)
		return r;
	return c.count;
}

const char *
wf_last_limit(const struct wf_fs *fs)
{
	return fs->limit ? fs->limit : "none";
}

const char *
wf_last_error(const struct wf_fs *fs)
{
	return fs->why ? fs->why : "none";
}
