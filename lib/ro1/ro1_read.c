/*
 * CAPOSRO1 reader and checker (docs/caposro1.md).
 *
 * One validator serves mount and fsck: every problem goes through rep(); with
 * no report callback (mount) the first problem is returned at once, with one
 * (ro1_check) it is counted and the walk goes on wherever that stays safe.
 * Problems that leave nothing trustworthy to walk (magic, superblock CRC,
 * region bounds) end the check either way.
 *
 * After mount every entry is re-checked for its local invariants whenever it
 * is read, so a device that changes under a mounted image can give wrong
 * answers but never an out-of-range access.
 */
#include "ro1/ro1.h"

#include "base/crc32c.h"
#include "base/err.h"
#include "base/mem.h"

struct ro1_rep {
	ro1_report_fn fn;
	void *ctx;
	uint32_t problems;
};

/* Record a problem. Returns nonzero (the error) when the caller must stop. */
static int
rep(struct ro1_rep *r, int err, uint32_t ino, const char *what)
{
	r->problems++;
	if (r->fn == NULL)
		return err;
	int x = r->fn(r->ctx, err, ino, what);
	return x == 0 ? 0 : err;
}

static int
ro1_read_bytes(struct ro1_vol *v, uint64_t off, void *dst, size_t len)
{
	return blk_read_bytes(v->dev, &v->bc, v->cache, off, dst, len);
}

void
ro1_invalidate(struct ro1_vol *v)
{
	v->bc.ok = false;
}

/* off + len inside [lo, hi], without overflow. */
static bool
ro1_span_ok(uint64_t off, uint64_t len, uint64_t lo, uint64_t hi)
{
	return off >= lo && off <= hi && len <= hi - off;
}

static uint64_t
ro1_chunks(uint64_t size)
{
	return size / RO1_CHUNK + (size % RO1_CHUNK != 0);
}

static bool
ro1_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* Local invariants of one entry: everything checkable without its neighbours. */
static const char *
ro1_entry_problem(const struct ro1_vol *v, uint32_t i, const struct ro1_entry *e)
{
	const struct ro1_super *sb = &v->sb;

	if (!ro1_zero(e->reserved, sizeof(e->reserved)))
		return "reserved entry bytes not zero";
	if (e->mtime_nsec >= 1000000000u)
		return "mtime nanoseconds out of range";
	if (i == RO1_ROOT) {
		if (e->kind != RO1_KIND_DIR || e->name_len != 0 || e->name_off != 0)
			return "root is not an unnamed directory";
	} else if (e->name_len == 0 || e->name_len > RO1_NAME_MAX ||
		   !ro1_span_ok(e->name_off, e->name_len, 0, sb->name_len)) {
		return "name outside the name table";
	}
	if (e->kind == RO1_KIND_DIR) {
		if (e->flags != 0 || e->crc_first != 0 || e->data_off != 0 || e->size != 0)
			return "directory with file fields set";
		if (e->child_count == 0)
			return e->first_child == 0 ? NULL : "empty directory with a first child";
		if (e->first_child <= i || !ro1_span_ok(e->first_child, e->child_count, 0, sb->entry_count))
			return "child range out of order or out of the table";
		return NULL;
	}
	if (e->kind != RO1_KIND_FILE)
		return "unknown entry kind";
	if ((e->flags & ~RO1_FLAG_EXEC) != 0)
		return "unknown file flags";
	if (e->first_child != 0 || e->child_count != 0)
		return "file with children";
	if (!ro1_span_ok(e->crc_first, ro1_chunks(e->size), 0, sb->crc_count))
		return "chunk CRCs outside the CRC table";
	if (e->size == 0)
		return e->data_off == 0 ? NULL : "empty file with a data offset";
	if (!ro1_span_ok(e->data_off, e->size, 0, sb->data_len))
		return "extent outside the data region";
	return NULL;
}

static int
ro1_entry_get(struct ro1_vol *v, uint32_t i, struct ro1_entry *e)
{
	if (i >= v->sb.entry_count)
		return E_RANGE;
	int r = ro1_read_bytes(v, v->sb.entry_off + (uint64_t)i * RO1_ENTRY_SIZE, e, sizeof(*e));
	if (r < 0)
		return r;
	return ro1_entry_problem(v, i, e) ? E_CORRUPT : 0;
}

/* Read and check an entry's name into buf (NUL-terminated); returns its length. */
static int
ro1_name_get(struct ro1_vol *v, const struct ro1_entry *e, uint8_t *buf)
{
	int r = ro1_read_bytes(v, v->sb.name_off + e->name_off, buf, e->name_len);
	if (r < 0)
		return r;
	buf[e->name_len] = 0;
	for (uint32_t k = 0; k < e->name_len; k++)
		if (buf[k] == 0 || buf[k] == '/')
			return E_CORRUPT;
	if ((e->name_len == 1 && buf[0] == '.') || (e->name_len == 2 && buf[0] == '.' && buf[1] == '.'))
		return E_CORRUPT;
	return (int)e->name_len;
}

static int
ro1_name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int
ro1_region_crc(struct ro1_vol *v, uint64_t off, uint64_t len, uint32_t *out)
{
	uint32_t crc = 0;

	while (len > 0) {
		size_t n = len < RO1_CHUNK ? (size_t)len : RO1_CHUNK;
		int r = ro1_read_bytes(v, off, v->chunk, n);
		if (r < 0)
			return r;
		crc = crc32c_update(crc, v->chunk, n);
		off += n;
		len -= n;
	}
	*out = crc;
	return 0;
}

/* Superblock and region bounds: any failure here is fatal to the walk. */
static int
ro1_check_super(struct ro1_vol *v, struct ro1_rep *rp)
{
	struct ro1_super *sb = &v->sb;
	uint64_t dev_bytes = v->dev->block_count * (uint64_t)v->dev->block_size;

	int r = ro1_read_bytes(v, 0, sb, sizeof(*sb));
	if (r < 0) {
		rep(rp, r, UINT32_MAX, "cannot read the superblock");
		return r;
	}
	if (memcmp(sb->magic, RO1_MAGIC, 8) != 0)
		return rep(rp, E_CORRUPT, UINT32_MAX, "bad magic"), E_CORRUPT;
	if (crc32c(sb, offsetof(struct ro1_super, super_crc)) != sb->super_crc)
		return rep(rp, E_CORRUPT, UINT32_MAX, "superblock CRC mismatch"), E_CORRUPT;
	if (sb->version != RO1_VERSION)
		return rep(rp, E_NOTSUP, UINT32_MAX, "unknown format version"), E_NOTSUP;
	if (sb->super_size != RO1_SUPER_SIZE || sb->chunk_size != RO1_CHUNK)
		return rep(rp, E_CORRUPT, UINT32_MAX, "bad superblock or chunk size"), E_CORRUPT;
	if (sb->image_size % RO1_ALIGN != 0 || sb->image_size < RO1_ALIGN)
		return rep(rp, E_CORRUPT, UINT32_MAX, "image size not a multiple of 4096"), E_CORRUPT;
	if (sb->image_size > dev_bytes)
		return rep(rp, E_CORRUPT, UINT32_MAX, "image larger than the device (truncated)"), E_CORRUPT;
	if (sb->entry_count == 0 || sb->entry_count > RO1_MAX_ENTRIES)
		return rep(rp, E_CORRUPT, UINT32_MAX, "entry count out of range"), E_CORRUPT;
	if (sb->name_len > RO1_NAMES_MAX)
		return rep(rp, E_CORRUPT, UINT32_MAX, "name table too large"), E_CORRUPT;
	/* Regions in order, each inside the image, none overlapping the next. */
	uint64_t img = sb->image_size;
	uint64_t ent_len = (uint64_t)sb->entry_count * RO1_ENTRY_SIZE;
	uint64_t crc_len = (uint64_t)sb->crc_count * 4;
	if (!ro1_span_ok(sb->entry_off, ent_len, RO1_SUPER_SIZE, img) ||
	    !ro1_span_ok(sb->name_off, sb->name_len, sb->entry_off + ent_len, img) ||
	    !ro1_span_ok(sb->crc_off, crc_len, sb->name_off + sb->name_len, img) ||
	    !ro1_span_ok(sb->data_off, sb->data_len, sb->crc_off + crc_len, img))
		return rep(rp, E_CORRUPT, UINT32_MAX, "regions out of order, overlapping or outside the image"),
		       E_CORRUPT;
	if (sb->flags != 0 || !ro1_zero(sb->reserved, sizeof(sb->reserved)))
		if (rep(rp, E_CORRUPT, UINT32_MAX, "unknown superblock flags or reserved bytes set"))
			return E_CORRUPT;
	return 0;
}

static int
ro1_check_tables(struct ro1_vol *v, struct ro1_rep *rp)
{
	const struct ro1_super *sb = &v->sb;
	const struct { uint64_t off, len; uint32_t want; const char *what; } t[3] = {
		{ sb->entry_off, (uint64_t)sb->entry_count * RO1_ENTRY_SIZE, sb->entry_crc, "entry table CRC mismatch" },
		{ sb->name_off, sb->name_len, sb->name_crc, "name table CRC mismatch" },
		{ sb->crc_off, (uint64_t)sb->crc_count * 4, sb->crctab_crc, "chunk CRC table CRC mismatch" },
	};
	for (int i = 0; i < 3; i++) {
		uint32_t got;
		int r = ro1_region_crc(v, t[i].off, t[i].len, &got);
		if (r < 0)
			return rep(rp, r, UINT32_MAX, "cannot read a metadata table"), r;
		if (got != t[i].want && rep(rp, E_CORRUPT, UINT32_MAX, t[i].what))
			return E_CORRUPT;
	}
	return 0;
}

/* Pass 1: each entry alone, then the global order of child ranges, CRC ranges and extents. */
static int
ro1_check_entries(struct ro1_vol *v, struct ro1_rep *rp)
{
	const struct ro1_super *sb = &v->sb;
	uint64_t next_child = 1, next_crc = 0, data_end = 0;
	struct ro1_entry e;

	for (uint32_t i = 0; i < sb->entry_count; i++) {
		int r = ro1_read_bytes(v, sb->entry_off + (uint64_t)i * RO1_ENTRY_SIZE, &e, sizeof(e));
		if (r < 0)
			return rep(rp, r, i, "cannot read entry"), r;
		const char *p = ro1_entry_problem(v, i, &e);
		if (p != NULL) {
			if (rep(rp, E_CORRUPT, i, p))
				return E_CORRUPT;
			continue;
		}
		if (i != RO1_ROOT) {
			r = ro1_name_get(v, &e, v->name_a);
			if (r < 0 && rep(rp, r, i, "name has NUL or '/', or is . or .."))
				return r;
		}
		if (e.kind == RO1_KIND_DIR && e.child_count > 0) {
			if (e.first_child != next_child && rep(rp, E_CORRUPT, i, "child ranges do not tile the entry table"))
				return E_CORRUPT;
			next_child = (uint64_t)e.first_child + e.child_count;
		} else if (e.kind == RO1_KIND_FILE) {
			if (e.crc_first != next_crc && rep(rp, E_CORRUPT, i, "chunk CRC ranges out of order"))
				return E_CORRUPT;
			next_crc = (uint64_t)e.crc_first + ro1_chunks(e.size);
			if (e.size > 0) {
				if (e.data_off < data_end && rep(rp, E_CORRUPT, i, "extent overlaps or precedes the previous one"))
					return E_CORRUPT;
				if (e.data_off + e.size > data_end)
					data_end = e.data_off + e.size;
			}
		}
	}
	if (next_child != sb->entry_count && rep(rp, E_CORRUPT, UINT32_MAX, "entries without exactly one parent"))
		return E_CORRUPT;
	if (next_crc != sb->crc_count && rep(rp, E_CORRUPT, UINT32_MAX, "chunk CRC table size does not match the files"))
		return E_CORRUPT;
	return 0;
}

/* Pass 2: children of every directory strictly ascending by name (so unique). */
static int
ro1_check_sorted(struct ro1_vol *v, struct ro1_rep *rp)
{
	struct ro1_entry d, e;

	for (uint32_t i = 0; i < v->sb.entry_count; i++) {
		if (ro1_entry_get(v, i, &d) < 0 || d.kind != RO1_KIND_DIR || d.child_count < 2)
			continue;
		int prev = -1;
		for (uint32_t k = d.first_child; k < d.first_child + d.child_count; k++) {
			if (ro1_entry_get(v, k, &e) < 0) {
				prev = -1;
				continue;
			}
			int len = ro1_name_get(v, &e, v->name_b);
			if (len < 0) {
				prev = -1;
				continue;
			}
			if (prev >= 0 && ro1_name_cmp(v->name_a, (size_t)prev, v->name_b, (size_t)len) >= 0 &&
			    rep(rp, E_CORRUPT, k, "names not sorted or not unique"))
				return E_CORRUPT;
			memcpy(v->name_a, v->name_b, (size_t)len);
			prev = len;
		}
	}
	return 0;
}

static int
ro1_validate(struct ro1_vol *v, struct blk_dev *dev, struct ro1_rep *rp)
{
	if (v == NULL || dev == NULL || (dev->block_size != 512 && dev->block_size != 4096))
		return E_INVAL;
	memset(v, 0, sizeof(*v));
	v->dev = dev;
	int r = ro1_check_super(v, rp);
	if (r < 0)
		return r;
	r = ro1_check_tables(v, rp);
	if (r < 0)
		return r;
	r = ro1_check_entries(v, rp);
	if (r < 0)
		return r;
	return ro1_check_sorted(v, rp);
}

int
ro1_mount(struct ro1_vol *v, struct blk_dev *dev)
{
	struct ro1_rep rp = { 0 };
	return ro1_validate(v, dev, &rp);
}

int
ro1_stat(struct ro1_vol *v, uint32_t ino, struct ro1_stat *st)
{
	struct ro1_entry e;
	int r = ro1_entry_get(v, ino, &e);
	if (r < 0)
		return r;
	memset(st, 0, sizeof(*st));
	st->ino = ino;
	st->kind = e.kind;
	st->flags = e.flags;
	st->size = e.size;
	st->child_count = e.child_count;
	st->mtime_sec = e.mtime_sec;
	st->mtime_nsec = e.mtime_nsec;
	return 0;
}

int
ro1_readdir(struct ro1_vol *v, uint32_t dir, uint32_t *cursor, char name[RO1_NAME_MAX + 1], struct ro1_stat *st)
{
	struct ro1_entry d, e;
	int r = ro1_entry_get(v, dir, &d);
	if (r < 0)
		return r;
	if (d.kind != RO1_KIND_DIR)
		return E_BADF;
	if (*cursor >= d.child_count)
		return 0;
	uint32_t k = d.first_child + *cursor;
	r = ro1_entry_get(v, k, &e);
	if (r < 0)
		return r;
	r = ro1_name_get(v, &e, (uint8_t *)name);
	if (r < 0)
		return r;
	r = ro1_stat(v, k, st);
	if (r < 0)
		return r;
	(*cursor)++;
	return 1;
}

/* Binary search of a directory's sorted children. */
static int
ro1_find_child(struct ro1_vol *v, const struct ro1_entry *d, const char *name, size_t len, uint32_t *out)
{
	uint32_t lo = 0, hi = d->child_count;
	struct ro1_entry e;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int r = ro1_entry_get(v, d->first_child + mid, &e);
		if (r < 0)
			return r;
		r = ro1_name_get(v, &e, v->name_b);
		if (r < 0)
			return r;
		int c = ro1_name_cmp((const uint8_t *)name, len, v->name_b, (size_t)r);
		if (c == 0) {
			*out = d->first_child + mid;
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return E_NOENT;
}

int
ro1_lookup(struct ro1_vol *v, const char *path, uint32_t *ino)
{
	struct ro1_entry e;
	uint32_t cur = RO1_ROOT, depth = 0;
	size_t i = 0;

	if (path == NULL)
		return E_INVAL;
	for (;;) {
		while (path[i] == '/')
			i++;
		if (path[i] == '\0') {
			*ino = cur;
			return 0;
		}
		if (i >= RO1_PATH_MAX)
			return E_NAME;
		size_t start = i;
		while (path[i] != '\0' && path[i] != '/')
			i++;
		size_t len = i - start;
		const char *name = path + start;
		if (len > RO1_NAME_MAX || (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
			return E_NAME;
		if (++depth > RO1_DEPTH_MAX)
			return E_LIMIT;
		int r = ro1_entry_get(v, cur, &e);
		if (r < 0)
			return r;
		if (e.kind != RO1_KIND_DIR)
			return E_NOENT;
		r = ro1_find_child(v, &e, name, len, &cur);
		if (r < 0)
			return r;
	}
}

/* Read chunk k of file e into v->chunk and verify its CRC; returns its length. */
static int
ro1_chunk_get(struct ro1_vol *v, const struct ro1_entry *e, uint64_t k)
{
	uint64_t start = k * RO1_CHUNK;
	size_t n = e->size - start < RO1_CHUNK ? (size_t)(e->size - start) : RO1_CHUNK;
	uint32_t want;

	int r = ro1_read_bytes(v, v->sb.data_off + e->data_off + start, v->chunk, n);
	if (r < 0)
		return r;
	r = ro1_read_bytes(v, v->sb.crc_off + ((uint64_t)e->crc_first + k) * 4, &want, 4);
	if (r < 0)
		return r;
	if (crc32c(v->chunk, n) != want)
		return E_CORRUPT;
	return (int)n;
}

int
ro1_read(struct ro1_vol *v, uint32_t ino, uint64_t off, void *buf, size_t len)
{
	struct ro1_entry e;
	uint8_t *d = buf;
	size_t done = 0;

	int r = ro1_entry_get(v, ino, &e);
	if (r < 0)
		return r;
	if (e.kind != RO1_KIND_FILE)
		return E_BADF;
	if (off >= e.size)
		return 0;
	if (len > INT32_MAX)
		len = INT32_MAX;
	if (len > e.size - off)
		len = (size_t)(e.size - off);
	while (done < len) {
		uint64_t k = off / RO1_CHUNK;
		size_t in = (size_t)(off % RO1_CHUNK);
		r = ro1_chunk_get(v, &e, k);
		if (r < 0)
			return r;
		size_t n = (size_t)r - in;
		if (n > len - done)
			n = len - done;
		memcpy(d + done, v->chunk + in, n);
		done += n;
		off += n;
	}
	return (int)done;
}

int
ro1_check(struct ro1_vol *v, struct blk_dev *dev, ro1_report_fn report, void *ctx)
{
	struct ro1_rep rp = { report, ctx, 0 };
	struct ro1_entry e;

	if (report == NULL)
		return E_INVAL;
	int r = ro1_validate(v, dev, &rp);
	if (r == E_INVAL)
		return r;
	if (r < 0 || v->sb.entry_count == 0)
		return (int)rp.problems;
	/* Every chunk of every file whose entry is sound. */
	for (uint32_t i = 0; i < v->sb.entry_count; i++) {
		if (ro1_entry_get(v, i, &e) < 0 || e.kind != RO1_KIND_FILE)
			continue;
		for (uint64_t k = 0; k < ro1_chunks(e.size); k++) {
			r = ro1_chunk_get(v, &e, k);
			if (r < 0) {
				rep(&rp, r, i, r == E_CORRUPT ? "file data chunk CRC mismatch" : "cannot read file data");
				break;
			}
		}
	}
	return (int)rp.problems;
}
