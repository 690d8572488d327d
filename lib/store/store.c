/*
 * CAPOSST1 Store operations (docs/caposst1.md); format, mount and fsck are
 * in st_mount.c.
 *
 * Each area is an append-only log: record bytes (key||value) go to the data
 * area, a 64-byte entry describing them to the next slot of the entry table,
 * and the commit record (double-buffered, slot = generation % 2) publishes
 * the new counts. Small records are first journaled inside the commit record
 * itself (one atomic block write per put); when the journal is full it is
 * spilled to the data area and table with the ordinary ordering. Bytes beyond
 * the committed counts are ignored at mount, so a crash before the commit
 * record leaves the previous generation intact. Rewriting the partially
 * filled tail block of the data area or of the table is safe because its
 * committed prefix is rewritten with identical bytes (block writes are atomic).
 *
 * When the table or the data area fills, the live records are copied into
 * the other (shadow) area and one commit record flips `front` to it.
 *
 * In memory the whole entry table is kept in the caller's arena together
 * with an open-addressing hash index (key hash -> newest entry) and a
 * "superseded" bitmap. Keys are compared on disk only when hashes collide or
 * a key is re-put.
 */
#include "store/st_int.h"

#include "base/crc32c.h"
#include "base/err.h"
#include "base/mem.h"

/* A key is 1..ST_KEY_MAX bytes of '/'-separated segments, none empty, "." or "..". */
int
st_key_check(const char *k, size_t len)
{
	size_t seg = 0, i;

	if (len == 0)
		return E_NAME;
	for (i = 0; i <= len; i++) {
		if (i == len || k[i] == '/') {
			if (i == seg)
				return E_NAME;
			if (i - seg == 1 && k[seg] == '.')
				return E_NAME;
			if (i - seg == 2 && k[seg] == '.' && k[seg + 1] == '.')
				return E_NAME;
			seg = i + 1;
		} else if (k[i] == '\0') {
			return E_NAME;
		}
	}
	return 0;
}

/*
 * Read len bytes at byte offset off of area a's data into dst. In the front
 * area, bytes at or beyond the written data tail live in the journal.
 */
int
st_read_bytes(struct st *st, uint32_t a, uint64_t off, void *dst, size_t len)
{
	uint8_t *d = dst;
	uint64_t base = area_base(st, a) + st->sb.table_blocks;
	bool front = (a == st->sb.front);

	while (len > 0) {
		uint32_t o = (uint32_t)(off % st->bs);
		size_t n = st->bs - o;
		int r;

		if (front && off >= st->sb.data_tail) {
			uint64_t po = off - st->sb.data_tail;

			if (po > st->sb.pend_bytes || len > st->sb.pend_bytes - po)
				return E_RANGE;
			memcpy(d, st->pend + po, len);
			return 0;
		}
		if (n > len)
			n = len;
		if (front && n > st->sb.data_tail - off)
			n = (size_t)(st->sb.data_tail - off);
		r = blk_read(st->dev, base + off / st->bs, 1, st->scratch);
		if (r < 0)
			return r;
		memcpy(d, st->scratch + o, n);
		d += n;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Find key in the index. Returns 1 and *slot of the match, 0 and *slot of
 * the empty slot where it would go, or a negative error.
 */
int
st_lookup(struct st *st, const char *key, uint16_t klen, uint32_t h, uint32_t *slot)
{
	uint32_t s = h & st->index_mask;

	for (;;) {
		uint32_t v = st->index[s];
		const struct st_entry_disk *e;
		int r;

		if (v == 0) {
			*slot = s;
			return 0;
		}
		e = &st->ents[v - 1];
		if (e->key_hash == h && e->key_len == klen) {
			r = st_read_bytes(st, st->sb.front, e->data_off, st->kbuf[1], klen);
			if (r < 0)
				return r;
			if (memcmp(st->kbuf[1], key, klen) == 0) {
				*slot = s;
				return 1;
			}
		}
		s = (s + 1) & st->index_mask;
	}
}

/*
 * Commit record checksum: CRC32C over header bytes 0..123 followed by the
 * little-endian CRC32C of the journal entries and of the journal bytes.
 * Keeping the two journal CRCs separate lets a put extend them
 * incrementally instead of re-hashing the whole journal.
 */
uint32_t
st_super_crc2(const uint8_t *blk, uint32_t ce, uint32_t cb)
{
	uint32_t pair[2] = { ce, cb };

	return crc32c_update(crc32c(blk, offsetof(struct st_super_disk, crc)), pair, 8);
}

/* ---- small helpers ---------------------------------------------------- */

static int
fail_io(struct st *st, int r)
{
	st->broken = true;
	return r < 0 ? r : E_IO;
}

/* Read len bytes at byte offset off of area a's data into dst. */
/* Appender over area a's data; uses st->tail as the partial-block buffer. */
struct app {
	struct st *st;
	uint64_t base;
	uint64_t pos;
};

static int
app_put(struct app *ap, const void *src, size_t len)
{
	struct st *st = ap->st;
	const uint8_t *s = src;

	while (len > 0) {
		uint32_t o = (uint32_t)(ap->pos % st->bs);
		size_t n = st->bs - o;
		int r;

		if (o == 0)
			memset(st->tail, 0, st->bs);
		if (n > len)
			n = len;
		memcpy(st->tail + o, s, n);
		ap->pos += n;
		s += n;
		len -= n;
		if (ap->pos % st->bs == 0) {
			r = blk_write(st->dev, ap->base + (ap->pos - 1) / st->bs, 1, st->tail);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int
app_finish(struct app *ap)
{
	struct st *st = ap->st;

	if (ap->pos % st->bs == 0)
		return 0;
	return blk_write(st->dev, ap->base + ap->pos / st->bs, 1, st->tail);
}

static int
tail_load(struct st *st)
{
	uint64_t t = st->sb.data_tail;
	int r;

	if (st->tail_valid || t % st->bs == 0)
		return 0;
	r = blk_read(st->dev, area_base(st, st->sb.front) + st->sb.table_blocks + t / st->bs,
	    1, st->tail);
	if (r < 0)
		return r;
	st->tail_valid = true;
	return 0;
}

static int
write_table_blocks(struct st *st, uint32_t a, uint64_t first, uint64_t last)
{
	uint64_t b;

	for (b = first; b <= last; b++) {
		int r = blk_write(st->dev, area_base(st, a) + b, 1,
		    (uint8_t *)st->ents + b * st->bs);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Write the commit record for *ns, journal (entries and bytes) included. */
static int
commit(struct st *st, struct st_super_disk *ns, uint32_t ce, uint32_t cb)
{
	uint8_t *b = st->scratch;
	size_t el = (size_t)ns->pend_entries * ST_ENTRY_SIZE;
	size_t used = sizeof(*ns) + el + ns->pend_bytes;
	int r;

	ns->gen = st->sb.gen + 1;
	memcpy(b, ns, sizeof(*ns));
	memcpy(b + sizeof(*ns), &st->ents[ns->entry_count], el);
	memcpy(b + sizeof(*ns) + el, st->pend, ns->pend_bytes);
	memset(b + used, 0, st->bs - used);
	ns->crc = st_super_crc2(b, ce, cb);
	memcpy(b + offsetof(struct st_super_disk, crc), &ns->crc, 4);
	r = blk_write(st->dev, ns->gen % 2, 1, b);
	if (r < 0)
		return r;
	r = blk_flush(st->dev);
	if (r < 0)
		return r;
	st->sb = *ns;
	st->jcrc_e = ce;
	st->jcrc_b = cb;
	return 0;
}

/* ---- namespaces ------------------------------------------------------- */

int
st_ns_root(struct st *st, struct st_ns *ns)
{
	memset(ns, 0, sizeof(*ns));
	ns->st = st;
	return 0;
}

int
st_ns_sub(const struct st_ns *parent, const char *name, struct st_ns *child)
{
	size_t n = strlen(name);

	if (n == 0 || n > ST_NAME_MAX) {
		if (n > ST_NAME_MAX)
			return limit(parent->st, E_LIMIT, "ST_NAME_MAX (64-byte namespace name)");
		return E_NAME;
	}
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/')
			return E_NAME;
	if (st_key_check(name, n) != 0)
		return E_NAME;
	if (parent->plen + n + 2 > ST_KEY_MAX)
		return limit(parent->st, E_LIMIT, "ST_KEY_MAX (255-byte key incl. namespace prefix)");
	if (child != parent)
		*child = *parent;
	memcpy(child->prefix + child->plen, name, n);
	child->plen = (uint16_t)(child->plen + n);
	child->prefix[child->plen++] = '/';
	child->prefix[child->plen] = '\0';
	return 0;
}

/* Builds prefix+key into out; checks the relative key first. */
static int
full_key(struct st_ns *ns, const char *key, char *out, uint16_t *olen)
{
	size_t n = strlen(key);

	if (ns->st->broken)
		return E_IO;
	if (st_key_check(key, n) != 0)
		return E_NAME;
	if (ns->plen + n > ST_KEY_MAX)
		return limit(ns->st, E_LIMIT, "ST_KEY_MAX (255-byte key incl. namespace prefix)");
	memcpy(out, ns->prefix, ns->plen);
	memcpy(out + ns->plen, key, n);
	*olen = (uint16_t)(ns->plen + n);
	out[*olen] = '\0';
	return 0;
}

/* ---- compaction ------------------------------------------------------- */

static int
compact(struct st *st)
{
	uint32_t s = 1 - st->sb.front, j = 0;
	struct app ap = { st, area_base(st, s) + st->sb.table_blocks, 0 };
	struct st_super_disk ns = st->sb;
	uint8_t *chunk = (uint8_t *)st->kbuf; /* 2 * 256 bytes of key scratch */
	uint64_t i, n = lcount(st);
	int r;

	st->tail_valid = false;
	for (i = 0; i < n; i++) {
		struct st_entry_disk e = st->ents[i];
		uint64_t off = e.data_off, left = (uint64_t)e.key_len + e.val_len;
		uint32_t crc = 0;

		if (bit_get(st->dead, i) || e.kind != ST_KIND_PUT)
			continue;
		e.data_off = ap.pos;
		while (left > 0) {
			size_t c = left > sizeof(st->kbuf) ? sizeof(st->kbuf) : left;

			r = st_read_bytes(st, st->sb.front, off, chunk, c);
			if (r < 0)
				return fail_io(st, r);
			crc = crc32c_update(crc, chunk, c);
			r = app_put(&ap, chunk, c);
			if (r < 0)
				return fail_io(st, r);
			off += c;
			left -= c;
		}
		if (crc != e.data_crc) {
			st->why = "compaction: record data checksum mismatch";
			st->broken = true;
			return E_CORRUPT;
		}
		e.crc = entry_crc(&e);
		st->ents[j++] = e;
	}
	r = app_finish(&ap);
	if (r == 0)
		r = blk_flush(st->dev);
	memset(&st->ents[j], 0, (size_t)(st->table_cap - j) * ST_ENTRY_SIZE);
	if (r == 0 && j > 0)
		r = write_table_blocks(st, s, 0, ((uint64_t)j * ST_ENTRY_SIZE - 1) / st->bs);
	if (r == 0)
		r = blk_flush(st->dev);
	ns.front = s;
	ns.entry_count = j;
	ns.data_tail = ap.pos;
	ns.pend_entries = 0;
	ns.pend_bytes = 0;
	if (r == 0)
		r = commit(st, &ns, 0, 0);
	if (r < 0)
		return fail_io(st, r);
	st->tail_valid = true;
	memset(st->dead, 0, st->table_cap / 8 + 1);
	memset(st->index, 0, ((size_t)st->index_mask + 1) * 4);
	for (i = 0; i < j; i++) {
		uint32_t slot = st->ents[i].key_hash & st->index_mask;

		while (st->index[slot] != 0)
			slot = (slot + 1) & st->index_mask;
		st->index[slot] = (uint32_t)i + 1;
	}
	st->stat_compactions++;
	return 0;
}

int
st_compact(struct st *st)
{
	if (st->broken)
		return E_IO;
	return compact(st);
}

/* Make room for one more entry of `need` data bytes, compacting if needed. */
static int
make_room(struct st *st, uint64_t need)
{
	if (lcount(st) < st->table_cap && need <= data_cap(st) - ltail(st))
		return 0;
	if (st->live + 1 > st->table_cap)
		return limit(st, E_NOSPC, "entry table (CAPOSST1 table_entries per area)");
	if (need > data_cap(st) - st->live_bytes)
		return limit(st, E_NOSPC, "data area (CAPOSST1 data_bytes per area)");
	return compact(st);
}

/* ---- put / delete / get / list ---------------------------------------- */

static int
write_rec(struct st *st, const char *key, uint16_t klen, const void *val, uint32_t vlen,
    uint8_t kind)
{
	uint32_t h = crc32c(key, klen), slot, old = 0;
	uint64_t i, need = (uint64_t)klen + vlen, jl;
	struct st_super_disk ns;
	struct st_entry_disk *e;
	struct app ap;
	int r = 0, found;

	found = st_lookup(st, key, klen, h, &slot);
	if (found < 0)
		return fail_io(st, found);
	if (kind == ST_KIND_TOMB && (!found || st->ents[st->index[slot] - 1].kind != ST_KIND_PUT))
		return E_NOENT;
	if (lcount(st) >= st->table_cap || need > data_cap(st) - ltail(st)) {
		r = make_room(st, need);
		if (r < 0)
			return r;
		found = st_lookup(st, key, klen, h, &slot);
		if (found < 0)
			return fail_io(st, found);
	}
	if (found)
		old = st->index[slot] - 1;
	i = lcount(st);
	e = &st->ents[i];
	memset(e, 0, sizeof(*e));
	e->seq = st->sb.next_seq;
	e->data_off = ltail(st);
	e->val_len = vlen;
	e->data_crc = crc32c_update(crc32c(key, klen), val, vlen);
	e->key_hash = h;
	e->key_len = klen;
	e->kind = kind;
	e->crc = entry_crc(e);
	ns = st->sb;
	ns.next_seq++;
	jl = sizeof(ns) + (uint64_t)(ns.pend_entries + 1) * ST_ENTRY_SIZE + ns.pend_bytes + need;
	if (jl <= st->bs) {
		/*
		 * Journal: entry and bytes go into the commit record itself, so
		 * data, metadata and commit are one atomic block write.
		 */
		memcpy(st->pend + ns.pend_bytes, key, klen);
		if (vlen > 0)
			memcpy(st->pend + ns.pend_bytes + klen, val, vlen);
		ns.pend_entries++;
		ns.pend_bytes += (uint32_t)need;
		r = commit(st, &ns, crc32c_update(st->jcrc_e, e, ST_ENTRY_SIZE),
		    crc32c_update(st->jcrc_b, st->pend + st->sb.pend_bytes, need));
	} else {
		/* Spill journal and record: data, flush, table, flush, commit record. */
		r = tail_load(st);
		ap.st = st;
		ap.base = area_base(st, st->sb.front) + st->sb.table_blocks;
		ap.pos = st->sb.data_tail;
		st->tail_valid = false;
		if (r == 0)
			r = app_put(&ap, st->pend, st->sb.pend_bytes);
		if (r == 0)
			r = app_put(&ap, key, klen);
		if (r == 0)
			r = app_put(&ap, val, vlen);
		if (r == 0)
			r = app_finish(&ap);
		if (r == 0)
			r = blk_flush(st->dev);
		if (r == 0)
			r = write_table_blocks(st, st->sb.front,
			    st->sb.entry_count * ST_ENTRY_SIZE / st->bs, i * ST_ENTRY_SIZE / st->bs);
		if (r == 0)
			r = blk_flush(st->dev);
		ns.entry_count = i + 1;
		ns.data_tail = ap.pos;
		ns.pend_entries = 0;
		ns.pend_bytes = 0;
		if (r == 0)
			r = commit(st, &ns, 0, 0);
		if (r == 0)
			st->tail_valid = true;
	}
	if (r < 0)
		return fail_io(st, r);
	if (found) {
		struct st_entry_disk *o = &st->ents[old];

		bit_set(st->dead, old);
		if (o->kind == ST_KIND_PUT) {
			st->live--;
			st->live_bytes -= (uint64_t)o->key_len + o->val_len;
		}
	}
	st->index[slot] = (uint32_t)i + 1;
	if (kind == ST_KIND_PUT) {
		st->live++;
		st->live_bytes += need;
	} else {
		bit_set(st->dead, i);
	}
	return 0;
}

int
st_put(struct st_ns *ns, const char *key, const void *val, uint32_t len)
{
	char full[ST_KEY_MAX + 1];
	uint16_t flen;
	int r = full_key(ns, key, full, &flen);

	if (r < 0)
		return r;
	if (len > ns->st->sb.val_max)
		return limit(ns->st, E_LIMIT, "ST_VAL_MAX (record value size)");
	if (val == NULL && len > 0)
		return E_INVAL;
	return write_rec(ns->st, full, flen, val, len, ST_KIND_PUT);
}

int
st_delete(struct st_ns *ns, const char *key)
{
	char full[ST_KEY_MAX + 1];
	uint16_t flen;
	int r = full_key(ns, key, full, &flen);

	if (r < 0)
		return r;
	return write_rec(ns->st, full, flen, NULL, 0, ST_KIND_TOMB);
}

int
st_get(struct st_ns *ns, const char *key, void *buf, uint32_t cap)
{
	struct st *st = ns->st;
	char full[ST_KEY_MAX + 1];
	const struct st_entry_disk *e;
	uint16_t flen;
	uint32_t slot;
	int r = full_key(ns, key, full, &flen);

	if (r < 0)
		return r;
	r = st_lookup(st, full, flen, crc32c(full, flen), &slot);
	if (r < 0)
		return r;
	if (r == 0)
		return E_NOENT;
	e = &st->ents[st->index[slot] - 1];
	if (e->kind != ST_KIND_PUT)
		return E_NOENT;
	if (e->val_len > cap)
		return E_TOOBIG;
	r = st_read_bytes(st, st->sb.front, e->data_off + e->key_len, buf, e->val_len);
	if (r < 0)
		return r;
	if (crc32c_update(crc32c(full, flen), buf, e->val_len) != e->data_crc) {
		st->why = "record data checksum mismatch";
		return E_CORRUPT;
	}
	return (int)e->val_len;
}

int
st_list(struct st_ns *ns, uint64_t *cursor, char *key, size_t cap)
{
	struct st *st = ns->st;
	uint64_t lo = 0, hi = lcount(st), i;
	int r;

	if (st->broken)
		return E_IO;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (st->ents[mid].seq <= *cursor)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < lcount(st); i++) {
		const struct st_entry_disk *e = &st->ents[i];
		size_t rel;

		if (bit_get(st->dead, i) || e->kind != ST_KIND_PUT || e->key_len <= ns->plen)
			continue;
		r = st_read_bytes(st, st->sb.front, e->data_off, st->kbuf[0], e->key_len);
		if (r < 0)
			return r;
		if (memcmp(st->kbuf[0], ns->prefix, ns->plen) != 0)
			continue;
		rel = e->key_len - ns->plen;
		if (rel + 1 > cap)
			return E_TOOBIG;
		memcpy(key, st->kbuf[0] + ns->plen, rel);
		key[rel] = '\0';
		*cursor = e->seq;
		return (int)rel;
	}
	return 0;
}

const char *
st_last_limit(const struct st *st)
{
	return st->limit ? st->limit : "none";
}

const char *
st_last_error(const struct st *st)
{
	return st->why ? st->why : "none";
}

void
st_usage(const struct st *st, struct st_usage *u)
{
	u->records = st->live;
	u->record_bytes = st->live_bytes;
	u->entries = lcount(st);
	u->entry_cap = st->table_cap;
	u->data_used = ltail(st);
	u->data_cap = data_cap(st);
	u->gen = st->sb.gen;
}

