/*
 * CAPOSST1 format, mount and fsck (docs/caposst1.md). Mount and st_check
 * share one validator: without a reporter it stops at the first problem
 * (and keeps its reason for st_last_error), with one it reports every
 * problem it can find and goes on.
 */
#include "store/st_int.h"

#include "base/err.h"
#include "base/mem.h"

struct chk {
	struct st *st;
	st_report_fn report;
	void *ctx;
	int count;
};

static uint32_t
super_crc(const uint8_t *blk, uint32_t *ce, uint32_t *cb)
{
	const struct st_super_disk *h = (const struct st_super_disk *)blk;
	size_t el = (size_t)h->pend_entries * ST_ENTRY_SIZE;

	*ce = crc32c(blk + sizeof(*h), el);
	*cb = crc32c(blk + sizeof(*h) + el, h->pend_bytes);
	return st_super_crc2(blk, *ce, *cb);
}

static int
problem(struct chk *c, int code, const char *what, uint64_t a, uint64_t b)
{
	struct st_problem p = { code, what, a, b };

	c->count++;
	if (c->report)
		c->report(c->ctx, &p);
	else
		c->st->why = what;
	return code;
}

static const char *
super_invalid(const uint8_t *blk, const struct blk_dev *dev, uint32_t slot)
{
	const struct st_super_disk *s = (const struct st_super_disk *)blk;
	uint64_t area, epb, cap;
	uint32_t ce, cb;

	if (memcmp(s->magic, ST_MAGIC, 8) != 0)
		return "commit record: bad magic";
	if (sizeof(*s) + (uint64_t)s->pend_entries * ST_ENTRY_SIZE + s->pend_bytes >
	    dev->block_size)
		return "commit record: journal larger than the block";
	if (s->crc != super_crc(blk, &ce, &cb))
		return "commit record: bad checksum";
	if (s->version != ST_VERSION)
		return "commit record: unknown version";
	if (s->block_size != dev->block_size)
		return "commit record: block size differs from device";
	if (s->gen == 0 || s->gen % 2 != slot)
		return "commit record: generation does not match its slot";
	if (s->region_blocks > dev->block_count)
		return "commit record: region larger than device (truncated image)";
	if (s->front > 1 || s->table_blocks == 0 || s->data_blocks == 0)
		return "commit record: bad geometry";
	if (s->data_blocks > s->region_blocks || s->table_blocks > s->region_blocks)
		return "commit record: area outside region";
	area = (uint64_t)s->table_blocks + s->data_blocks;
	if (2 + 2 * area > s->region_blocks)
		return "commit record: area outside region";
	epb = s->block_size / ST_ENTRY_SIZE;
	if (s->entry_count > s->table_blocks * epb ||
	    s->pend_entries > s->table_blocks * epb - s->entry_count)
		return "commit record: entry count beyond table";
	cap = s->data_blocks * s->block_size;
	if (s->data_tail > cap || s->pend_bytes > cap - s->data_tail)
		return "commit record: data tail beyond data area";
	if (s->key_max == 0 || s->key_max > ST_KEY_MAX || s->val_max > ST_VAL_MAX)
		return "commit record: bad record limits";
	if (s->next_seq < s->entry_count + s->pend_entries + 1)
		return "commit record: sequence counter behind entries";
	return NULL;
}

/* Choose the newest valid commit record; its block is left in best. */
static int
pick_super(struct chk *c, struct blk_dev *dev, uint8_t *buf, uint8_t *best_blk,
    struct st_super_disk *out)
{
	struct st_super_disk s[2];
	const char *why[2];
	uint32_t i;
	int best = -1, r;

	for (i = 0; i < 2; i++) {
		r = blk_read(dev, i, 1, buf);
		if (r < 0)
			return r;
		memcpy(&s[i], buf, sizeof(s[i]));
		why[i] = super_invalid(buf, dev, i);
		if (why[i] == NULL && (best < 0 || s[i].gen > s[best].gen)) {
			best = (int)i;
			memcpy(best_blk, buf, dev->block_size);
		}
	}
	if (best < 0) {
		/* Without a reporter keep the more telling reason of the two. */
		i = (!c->report && memcmp(s[0].magic, ST_MAGIC, 8) != 0) ? 1 : 0;
		problem(c, E_CORRUPT, why[i], i, 0);
		if (c->report)
			problem(c, E_CORRUPT, why[1], 1, 0);
		return E_CORRUPT;
	}
	*out = s[best];
	return 0;
}

static int
carve(struct st *st, void *arena, size_t len, size_t *need)
{
	size_t tbytes = (size_t)st->sb.table_blocks * st->bs, off = 0;
	size_t o_ents, o_index, o_dead, o_tail, o_scratch, o_pend;
	uint32_t slots = 1;
	uint8_t *p = arena;

	st->table_cap = (uint32_t)(tbytes / ST_ENTRY_SIZE);
	while (slots < 2 * st->table_cap)
		slots <<= 1;
#define TAKE(o, n) do { o = off; off += ((n) + 7) & ~(size_t)7; } while (0)
	TAKE(o_ents, tbytes);
	TAKE(o_index, (size_t)slots * 4);
	TAKE(o_dead, st->table_cap / 8 + 1);
	TAKE(o_tail, st->bs);
	TAKE(o_scratch, st->bs);
	TAKE(o_pend, st->bs);
#undef TAKE
	*need = off;
	if (arena == NULL || off > len)
		return E_NOMEM;
	memset(arena, 0, off);
	st->ents = (struct st_entry_disk *)(p + o_ents);
	st->index = (uint32_t *)(p + o_index);
	st->dead = p + o_dead;
	st->tail = p + o_tail;
	st->scratch = p + o_scratch;
	st->pend = p + o_pend;
	st->index_mask = slots - 1;
	return 0;
}

static int
load_entries(struct chk *c, const uint8_t *sblk)
{
	struct st *st = c->st;
	uint64_t t = st->sb.entry_count, n = lcount(st), i, prev_end = 0, prev_seq = 0;
	uint64_t blocks = (t * ST_ENTRY_SIZE + st->bs - 1) / st->bs;
	size_t el = (size_t)st->sb.pend_entries * ST_ENTRY_SIZE;
	int r;

	for (i = 0; i < blocks; i++) {
		r = blk_read(st->dev, area_base(st, st->sb.front) + i, 1,
		    (uint8_t *)st->ents + i * st->bs);
		if (r < 0)
			return r;
	}
	/* the journal: entries after the table, bytes after the data tail */
	memcpy(&st->ents[t], sblk + sizeof(struct st_super_disk), el);
	memcpy(st->pend, sblk + sizeof(struct st_super_disk) + el, st->sb.pend_bytes);
	(void)super_crc(sblk, &st->jcrc_e, &st->jcrc_b);
	memset((uint8_t *)st->ents + n * ST_ENTRY_SIZE, 0,
	    (size_t)st->table_cap * ST_ENTRY_SIZE - n * ST_ENTRY_SIZE);
	for (i = 0; i < n; i++) {
		struct st_entry_disk *e = &st->ents[i];
		uint64_t len = (uint64_t)e->key_len + e->val_len;
		uint32_t slot;

		if (e->crc != entry_crc(e)) {
			r = problem(c, E_CORRUPT, "entry: bad checksum", i, 0);
			goto bad;
		}
		if (e->kind != ST_KIND_PUT && e->kind != ST_KIND_TOMB) {
			r = problem(c, E_CORRUPT, "entry: unknown kind", i, e->kind);
			goto bad;
		}
		if (e->key_len == 0 || e->key_len > st->sb.key_max ||
		    e->val_len > st->sb.val_max ||
		    (e->kind == ST_KIND_TOMB && e->val_len != 0)) {
			r = problem(c, E_CORRUPT, "entry: key or value length out of range", i, 0);
			goto bad;
		}
		if (e->data_off < prev_end) {
			r = problem(c, E_CORRUPT, "entry: data overlaps the previous record", i,
			    e->data_off);
			goto bad;
		}
		if (e->data_off > ltail(st) || len > ltail(st) - e->data_off ||
		    (i < t && e->data_off + len > st->sb.data_tail) ||
		    (i >= t && e->data_off < st->sb.data_tail)) {
			r = problem(c, E_CORRUPT, "entry: data beyond committed tail", i, e->data_off);
			goto bad;
		}
		if (e->seq <= prev_seq || e->seq >= st->sb.next_seq) {
			r = problem(c, E_CORRUPT, "entry: sequence not increasing", i, e->seq);
			goto bad;
		}
		prev_end = e->data_off + len;
		prev_seq = e->seq;
		r = st_read_bytes(st, st->sb.front, e->data_off, st->kbuf[0], e->key_len);
		if (r < 0)
			return r;
		if (crc32c(st->kbuf[0], e->key_len) != e->key_hash ||
		    st_key_check(st->kbuf[0], e->key_len) != 0) {
			r = problem(c, E_CORRUPT, "entry: key hash or key syntax wrong", i, 0);
			goto bad;
		}
		r = st_lookup(st, st->kbuf[0], e->key_len, e->key_hash, &slot);
		if (r < 0)
			return r;
		if (r == 1) {
			struct st_entry_disk *old = &st->ents[st->index[slot] - 1];

			bit_set(st->dead, st->index[slot] - 1);
			if (old->kind == ST_KIND_PUT) {
				st->live--;
				st->live_bytes -= (uint64_t)old->key_len + old->val_len;
			}
		}
		st->index[slot] = (uint32_t)i + 1;
		if (e->kind == ST_KIND_PUT) {
			st->live++;
			st->live_bytes += len;
		} else {
			bit_set(st->dead, i);
		}
		continue;
bad:
		if (!c->report)
			return r;
		bit_set(st->dead, i);
	}
	return 0;
}

static int
mount_common(struct chk *c, struct blk_dev *dev, void *arena, size_t arena_len)
{
	struct st *st = c->st;
	uint8_t blk[4096], sblk[4096];
	size_t need;
	int r;

	memset(st, 0, sizeof(*st));
	st->dev = dev;
	st->bs = dev->block_size;
	if (st->bs != 512 && st->bs != 4096)
		return problem(c, E_INVAL, "device block size is not 512 or 4096", st->bs, 0);
	r = pick_super(c, dev, blk, sblk, &st->sb);
	if (r < 0)
		return r;
	r = carve(st, arena, arena_len, &need);
	if (r < 0)
		return limit(st, r, "st_mount arena (st_arena_need bytes)");
	return load_entries(c, sblk);
}

int
st_arena_need(struct blk_dev *dev, size_t *need)
{
	struct st st;
	struct chk c = { &st, NULL, NULL, 0 };
	uint8_t blk[4096], sblk[4096];
	int r;

	memset(&st, 0, sizeof(st));
	st.dev = dev;
	st.bs = dev->block_size;
	if (st.bs != 512 && st.bs != 4096)
		return E_INVAL;
	r = pick_super(&c, dev, blk, sblk, &st.sb);
	if (r < 0)
		return r;
	carve(&st, NULL, 0, need);
	return 0;
}

int
st_mount(struct st *st, struct blk_dev *dev, void *arena, size_t arena_len)
{
	struct chk c = { st, NULL, NULL, 0 };
	int r = mount_common(&c, dev, arena, arena_len);

	if (r < 0)
		st->broken = true;
	return r;
}

int
st_format(struct blk_dev *dev, const struct st_geom *g)
{
	struct st_super_disk s;
	uint8_t blk[4096];
	uint32_t bs = dev->block_size, ce, cb;
	uint64_t tb, db;
	int r;

	if (bs != 512 && bs != 4096)
		return E_INVAL;
	tb = ((uint64_t)g->table_entries * ST_ENTRY_SIZE + bs - 1) / bs;
	db = (g->data_bytes + bs - 1) / bs;
	if (tb == 0 || db == 0 || tb > 0xffffffffu / bs)
		return E_INVAL;
	if (2 + 2 * (tb + db) > dev->block_count)
		return E_NOSPC;
	memset(&s, 0, sizeof(s));
	memcpy(s.magic, ST_MAGIC, 8);
	s.version = ST_VERSION;
	s.block_size = bs;
	s.region_blocks = dev->block_count;
	s.gen = 1;
	s.table_blocks = (uint32_t)tb;
	s.data_blocks = db;
	s.next_seq = 1;
	s.key_max = ST_KEY_MAX;
	s.val_max = ST_VAL_MAX;
	memset(blk, 0, bs);
	r = blk_write(dev, 0, 1, blk);
	if (r < 0)
		return r;
	memcpy(blk, &s, sizeof(s));
	s.crc = super_crc(blk, &ce, &cb);
	memcpy(blk, &s, sizeof(s));
	r = blk_write(dev, 1, 1, blk);
	if (r < 0)
		return r;
	return blk_flush(dev);
}

int
st_check(struct blk_dev *dev, void *arena, size_t arena_len, st_report_fn report, void *ctx)
{
	struct st st;
	struct chk c = { &st, report, ctx, 0 };
	uint64_t i;
	int r;

	r = mount_common(&c, dev, arena, arena_len);
	if (r < 0 && c.count == 0)
		return r;
	if (r < 0)
		return c.count;
	for (i = 0; i < lcount(&st); i++) {
		const struct st_entry_disk *e = &st.ents[i];
		uint64_t off = e->data_off, left = (uint64_t)e->key_len + e->val_len;
		uint32_t crc = 0;

		if (e->crc != entry_crc(e) || (e->kind != ST_KIND_PUT && e->kind != ST_KIND_TOMB))
			continue; /* already reported */
		if (off > ltail(&st) || left > ltail(&st) - off)
			continue;
		while (left > 0) {
			size_t n = left > sizeof(st.kbuf) ? sizeof(st.kbuf) : left;

			r = st_read_bytes(&st, st.sb.front, off, st.kbuf, n);
			if (r < 0)
				return r;
			crc = crc32c_update(crc, st.kbuf, n);
			off += n;
			left -= n;
		}
		if (crc != e->data_crc)
			problem(&c, E_CORRUPT, "entry: record data checksum mismatch", i, e->seq);
	}
	return c.count;
}
