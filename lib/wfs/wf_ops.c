/*
 * CAPOSWF1 directory and file operations (docs/caposwf1.md).
 *
 * Every operation checks its arguments completely before it changes the
 * in-memory metadata; directory operations then commit (wf_commit). File
 * writes go block by block: a block the committed state does not reference
 * is written in place, any other block is copied to a freshly allocated one
 * (copy-on-write) and the file's extent chain is remapped, merging with
 * neighbouring extents where the new block is contiguous.
 */
#include "wfs/wf_int.h"

#include "base/err.h"
#include "base/mem.h"

#define RW_MAX (1u << 30)

static int
limit(struct wf_fs *fs, int code, const char *name)
{
	fs->limit = name;
	return code;
}

static uint64_t
now(struct wf_fs *fs)
{
	return fs->clock ? fs->clock(fs->clock_ctx) : 0;
}

static uint64_t
blocks_of(const struct wf_fs *fs, uint64_t size)
{
	return size / fs->bs + (size % fs->bs != 0);
}

static uint64_t
data_lba(const struct wf_fs *fs, uint64_t rel)
{
	return fs->sb.data_start + rel;
}

/* ---- paths ------------------------------------------------------------ */

static uint32_t
child(const struct wf_fs *fs, uint32_t dir, const char *name, size_t len)
{
	uint32_t i;

	for (i = 1; i < fs->sb.inode_count; i++) {
		const struct wf_inode_disk *d = &fs->ino[i];

		if (d->type != WF_T_FREE && d->parent == dir && d->name_len == len &&
		    memcmp(d->name, name, len) == 0)
			return i;
	}
	return WF_EXT_NONE;
}

/*
 * Resolve path. On success *dir is the directory holding the last name,
 * *name and *nlen the last component (nlen 0 for the root) and *ino the inode
 * it names or WF_EXT_NONE if absent. Intermediate components must exist and
 * be directories.
 */
static int
resolve(struct wf_fs *fs, const char *path, uint32_t *dir, const char **name, size_t *nlen,
    uint32_t *ino)
{
	size_t plen = strlen(path), i = 0;
	uint32_t cur = WF_ROOT;

	if (fs->broken)
		return E_IO;
	if (plen > WF_PATH_MAX)
		return limit(fs, E_LIMIT, "WF_PATH_MAX (1024-byte path)");
	if (path[0] == '/')
		i = 1;
	/* syntax first: every component valid before anything is looked up */
	for (size_t k = i, s = i; k <= plen; k++) {
		if (k < plen && path[k] != '/')
			continue;
		if (k == plen && s == k && s == i)
			break; /* the root itself */
		if (k - s > WF_NAME_MAX)
			return limit(fs, E_LIMIT, "WF_NAME_MAX (88-byte name)");
		if (!wf_name_ok((const uint8_t *)path + s, k - s))
			return E_NAME;
		s = k + 1;
	}
	*dir = WF_ROOT;
	*name = path + i;
	*nlen = 0;
	*ino = WF_ROOT;
	if (i == plen)
		return 0;
	for (;;) {
		size_t s = i, n;
		uint32_t next;

		while (i < plen && path[i] != '/')
			i++;
		n = i - s;
		if (n > WF_NAME_MAX)
			return limit(fs, E_LIMIT, "WF_NAME_MAX (88-byte name)");
		if (!wf_name_ok((const uint8_t *)path + s, n))
			return E_NAME;
		next = child(fs, cur, path + s, n);
		if (i == plen) {
			*dir = cur;
			*name = path + s;
			*nlen = n;
			*ino = next;
			return 0;
		}
		if (next == WF_EXT_NONE)
			return E_NOENT;
		if (fs->ino[next].type != WF_T_DIR)
			return E_NOENT;
		cur = next;
		i++; /* skip '/'; a trailing '/' yields an empty name next round */
	}
}

/* ---- allocation ------------------------------------------------------- */

static uint64_t
free_blocks(const struct wf_fs *fs)
{
	return fs->sb.data_blocks - fs->n_busy;
}

static bool
blk_free(const struct wf_fs *fs, uint64_t b)
{
	return !wf_bit(fs->used_now, b) && !wf_bit(fs->used_com, b);
}

/* A block free in both the current and the committed state; caller checked free_blocks(). */
static uint64_t
alloc_block(struct wf_fs *fs, uint64_t hint)
{
	uint64_t n = fs->sb.data_blocks, b, i;

	if (hint < n && blk_free(fs, hint)) {
		b = hint;
	} else {
		b = fs->alloc_cursor < n ? fs->alloc_cursor : 0;
		for (i = 0; i < n; i++, b = (b + 1 == n) ? 0 : b + 1) {
			if ((b & 7) == 0 && b + 8 <= n &&
			    (fs->used_now[b >> 3] | fs->used_com[b >> 3]) == 0xff) {
				b += 7;
				i += 7;
				continue;
			}
			if (blk_free(fs, b))
				break;
		}
	}
	wf_bit_set(fs->used_now, b);
	fs->n_now++;
	fs->n_busy++;
	fs->alloc_cursor = b + 1;
	return b;
}

static void
free_block(struct wf_fs *fs, uint64_t b)
{
	wf_bit_clr(fs->used_now, b);
	fs->n_now--;
	if (!wf_bit(fs->used_com, b))
		fs->n_busy--;
}

static uint32_t
alloc_ext(struct wf_fs *fs)
{
	uint32_t n = fs->sb.extent_count, x = fs->ext_cursor % n, i;

	for (i = 0; i < n; i++, x = (x + 1) % n)
		if (fs->ext[x].len == 0)
			break;
	fs->ext_free--;
	fs->ext_cursor = x + 1;
	return x;
}

static void
free_ext(struct wf_fs *fs, uint32_t x)
{
	fs->ext[x].len = 0;
	fs->ext[x].lba = 0;
	fs->ext[x].next = WF_EXT_NONE;
	fs->ext_free++;
	wf_touch_ext(fs, x);
}

static void
set_ext(struct wf_fs *fs, uint32_t x, uint64_t lba, uint32_t len, uint32_t next)
{
	fs->ext[x].lba = lba;
	fs->ext[x].len = len;
	fs->ext[x].next = next;
	wf_touch_ext(fs, x);
}

/* ---- file block map --------------------------------------------------- */

static uint64_t
map_get(const struct wf_fs *fs, uint32_t ino, uint64_t fb)
{
	uint32_t x = fs->ino[ino].first_ext;

	while (fb >= fs->ext[x].len) {
		fb -= fs->ext[x].len;
		x = fs->ext[x].next;
	}
	return fs->ext[x].lba + fb;
}

/* Point file block fb (which exists) at data block nl. Needs ext_free >= 2. */
static void
map_set(struct wf_fs *fs, uint32_t ino, uint64_t fb, uint64_t nl)
{
	uint32_t prev = WF_EXT_NONE, x = fs->ino[ino].first_ext, nx, n1, n2;
	struct wf_extent_disk *e;
	uint64_t p;
	uint32_t len;

	while (fb >= fs->ext[x].len) {
		fb -= fs->ext[x].len;
		prev = x;
		x = fs->ext[x].next;
	}
	e = &fs->ext[x];
	p = fb;
	len = e->len;
	nx = e->next;
	if (p == 0 && prev != WF_EXT_NONE && fs->ext[prev].lba + fs->ext[prev].len == nl) {
		/* grow the previous extent by one block */
		fs->ext[prev].len++;
		wf_touch_ext(fs, prev);
		if (len == 1) {
			fs->ext[prev].next = nx;
			free_ext(fs, x);
		} else {
			set_ext(fs, x, e->lba + 1, len - 1, nx);
		}
		return;
	}
	if (p == len - 1 && nx != WF_EXT_NONE && nl + 1 == fs->ext[nx].lba) {
		set_ext(fs, nx, fs->ext[nx].lba - 1, fs->ext[nx].len + 1, fs->ext[nx].next);
		if (len == 1) {
			if (prev == WF_EXT_NONE) {
				fs->ino[ino].first_ext = nx;
				wf_touch_ino(fs, ino);
			} else {
				fs->ext[prev].next = nx;
				wf_touch_ext(fs, prev);
			}
			free_ext(fs, x);
		} else {
			set_ext(fs, x, e->lba, len - 1, nx);
		}
		return;
	}
	if (len == 1) {
		set_ext(fs, x, nl, 1, nx);
	} else if (p == 0) {
		n1 = alloc_ext(fs);
		set_ext(fs, n1, e->lba + 1, len - 1, nx);
		set_ext(fs, x, nl, 1, n1);
	} else if (p == len - 1) {
		n1 = alloc_ext(fs);
		set_ext(fs, n1, nl, 1, nx);
		set_ext(fs, x, e->lba, len - 1, n1);
	} else {
		n1 = alloc_ext(fs);
		n2 = alloc_ext(fs);
		set_ext(fs, n2, e->lba + p + 1, (uint32_t)(len - p - 1), nx);
		set_ext(fs, n1, nl, 1, n2);
		set_ext(fs, x, e->lba, (uint32_t)p, n1);
	}
}

/* Add data block nl as the file's next block. Needs ext_free >= 1. */
static void
map_append(struct wf_fs *fs, uint32_t ino, uint64_t nl)
{
	uint32_t x = fs->ino[ino].first_ext, last = WF_EXT_NONE, n;

	while (x != WF_EXT_NONE) {
		last = x;
		x = fs->ext[x].next;
	}
	if (last != WF_EXT_NONE && fs->ext[last].lba + fs->ext[last].len == nl &&
	    fs->ext[last].len < 0xffffffffu) {
		fs->ext[last].len++;
		wf_touch_ext(fs, last);
		return;
	}
	n = alloc_ext(fs);
	set_ext(fs, n, nl, 1, WF_EXT_NONE);
	if (last == WF_EXT_NONE) {
		fs->ino[ino].first_ext = n;
		wf_touch_ino(fs, ino);
	} else {
		fs->ext[last].next = n;
		wf_touch_ext(fs, last);
	}
}

/* Keep the first `keep` blocks of the file, free the rest. */
static void
map_cut(struct wf_fs *fs, uint32_t ino, uint64_t keep)
{
	uint32_t x = fs->ino[ino].first_ext, prev = WF_EXT_NONE, nx;
	uint64_t acc = 0, k;

	while (x != WF_EXT_NONE) {
		struct wf_extent_disk *e = &fs->ext[x];

		nx = e->next;
		if (acc + e->len <= keep) {
			acc += e->len;
			prev = x;
		} else if (acc >= keep) {
			for (k = 0; k < e->len; k++)
				free_block(fs, e->lba + k);
			free_ext(fs, x);
			if (prev == WF_EXT_NONE) {
				fs->ino[ino].first_ext = WF_EXT_NONE;
				wf_touch_ino(fs, ino);
			} else if (fs->ext[prev].next != WF_EXT_NONE) {
				fs->ext[prev].next = WF_EXT_NONE;
				wf_touch_ext(fs, prev);
			}
		} else {
			uint64_t kn = keep - acc;

			for (k = kn; k < e->len; k++)
				free_block(fs, e->lba + k);
			set_ext(fs, x, e->lba, (uint32_t)kn, WF_EXT_NONE);
			acc = keep;
			prev = x;
		}
		x = nx;
	}
}

/* ---- directory operations --------------------------------------------- */

/* Make a new file or directory; commits unless the caller defers it (O_CREATE). */
static int
new_node(struct wf_fs *fs, const char *path, uint8_t type, bool commit, uint32_t *out)
{
	uint32_t dir, ino, i;
	const char *name;
	size_t nlen;
	uint64_t t;
	int r = resolve(fs, path, &dir, &name, &nlen, &ino);

	if (r < 0)
		return r;
	if (nlen == 0 || ino != WF_EXT_NONE)
		return E_EXIST;
	for (i = 1; i < fs->sb.inode_count; i++)
		if (fs->ino[i].type == WF_T_FREE)
			break;
	if (i == fs->sb.inode_count)
		return limit(fs, E_LIMIT, "inode table (CAPOSWF1 inode_count)");
	t = now(fs);
	memset(&fs->ino[i], 0, sizeof(fs->ino[i]));
	fs->ino[i].type = type;
	fs->ino[i].name_len = (uint8_t)nlen;
	fs->ino[i].parent = dir;
	fs->ino[i].ctime = fs->ino[i].mtime = t;
	fs->ino[i].first_ext = WF_EXT_NONE;
	memcpy(fs->ino[i].name, name, nlen);
	wf_touch_ino(fs, i);
	fs->ino[dir].mtime = t;
	wf_touch_ino(fs, dir);
	if (out)
		*out = i;
	return commit ? wf_commit(fs) : 0;
}

int
wf_mkdir(struct wf_fs *fs, const char *path)
{
	return new_node(fs, path, WF_T_DIR, true, NULL);
}

int
wf_create(struct wf_fs *fs, const char *path)
{
	return new_node(fs, path, WF_T_FILE, true, NULL);
}

static bool
is_open(const struct wf_fs *fs, uint32_t ino)
{
	uint32_t k;

	for (k = 0; k < WF_MAX_OPEN; k++)
		if (fs->h[k].used && fs->h[k].ino == ino)
			return true;
	return false;
}

int
wf_remove(struct wf_fs *fs, const char *path)
{
	uint32_t dir, ino, i;
	const char *name;
	size_t nlen;
	int r = resolve(fs, path, &dir, &name, &nlen, &ino);

	if (r < 0)
		return r;
	if (nlen == 0)
		return E_PERM;
	if (ino == WF_EXT_NONE)
		return E_NOENT;
	if (is_open(fs, ino))
		return E_BUSY;
	if (fs->ino[ino].type == WF_T_DIR)
		for (i = 1; i < fs->sb.inode_count; i++)
			if (fs->ino[i].type != WF_T_FREE && fs->ino[i].parent == ino)
				return E_BUSY;
	map_cut(fs, ino, 0);
	memset(&fs->ino[ino], 0, sizeof(fs->ino[ino]));
	wf_touch_ino(fs, ino);
	fs->ino[dir].mtime = now(fs);
	wf_touch_ino(fs, dir);
	return wf_commit(fs);
}

int
wf_rename(struct wf_fs *fs, const char *from, const char *to)
{
	uint32_t fdir, fino, tdir, tino, p;
	const char *fname, *tname;
	size_t fn, tn;
	uint64_t t;
	int r;

	r = resolve(fs, from, &fdir, &fname, &fn, &fino);
	if (r < 0)
		return r;
	if (fn == 0)
		return E_PERM;
	if (fino == WF_EXT_NONE)
		return E_NOENT;
	r = resolve(fs, to, &tdir, &tname, &tn, &tino);
	if (r < 0)
		return r;
	if (tn == 0 || tino != WF_EXT_NONE)
		return E_EXIST;
	/* a directory cannot move below itself */
	for (p = tdir; ; p = fs->ino[p].parent) {
		if (p == fino)
			return E_INVAL;
		if (p == WF_ROOT)
			break;
	}
	t = now(fs);
	fs->ino[fino].parent = tdir;
	fs->ino[fino].name_len = (uint8_t)tn;
	memset(fs->ino[fino].name, 0, WF_NAME_MAX);
	memcpy(fs->ino[fino].name, tname, tn);
	wf_touch_ino(fs, fino);
	fs->ino[fdir].mtime = t;
	fs->ino[tdir].mtime = t;
	wf_touch_ino(fs, fdir);
	wf_touch_ino(fs, tdir);
	return wf_commit(fs);
}

static void
fill_stat(const struct wf_fs *fs, uint32_t ino, struct wf_stat *st)
{
	st->ino = ino;
	st->type = fs->ino[ino].type;
	st->size = fs->ino[ino].size;
	st->ctime = fs->ino[ino].ctime;
	st->mtime = fs->ino[ino].mtime;
}

int
wf_stat(struct wf_fs *fs, const char *path, struct wf_stat *st)
{
	uint32_t dir, ino;
	const char *name;
	size_t nlen;
	int r = resolve(fs, path, &dir, &name, &nlen, &ino);

	if (r < 0)
		return r;
	if (ino == WF_EXT_NONE)
		return E_NOENT;
	fill_stat(fs, ino, st);
	return 0;
}

int
wf_list(struct wf_fs *fs, const char *path, uint32_t *cursor, struct wf_dirent *out)
{
	uint32_t dir, ino, i;
	const char *name;
	size_t nlen;
	int r = resolve(fs, path, &dir, &name, &nlen, &ino);

	if (r < 0)
		return r;
	if (ino == WF_EXT_NONE)
		return E_NOENT;
	if (fs->ino[ino].type != WF_T_DIR)
		return E_BADF;
	for (i = *cursor < 1 ? 1 : *cursor; i < fs->sb.inode_count; i++) {
		const struct wf_inode_disk *d = &fs->ino[i];

		if (d->type == WF_T_FREE || d->parent != ino)
			continue;
		memcpy(out->name, d->name, d->name_len);
		out->name[d->name_len] = '\0';
		out->type = d->type;
		out->size = d->size;
		*cursor = i + 1;
		return 1;
	}
	*cursor = fs->sb.inode_count;
	return 0;
}

int
wf_statfs(struct wf_fs *fs, struct wf_statfs *sf)
{
	uint32_t i, n = 0;

	for (i = 1; i < fs->sb.inode_count; i++)
		if (fs->ino[i].type == WF_T_FREE)
			n++;
	sf->block_size = fs->bs;
	sf->data_blocks = fs->sb.data_blocks;
	sf->free_blocks = free_blocks(fs);
	sf->inodes_free = n;
	sf->extents_free = fs->ext_free;
	return 0;
}

/* ---- handles ---------------------------------------------------------- */

static struct wf_handle *
handle(struct wf_fs *fs, int h)
{
	uint32_t k = (uint32_t)h % WF_MAX_OPEN;

	if (h < 0 || !fs->h[k].used || fs->h[k].gen != (uint32_t)h / WF_MAX_OPEN)
		return NULL;
	return &fs->h[k];
}

int
wf_open(struct wf_fs *fs, const char *path, unsigned flags)
{
	uint32_t dir, ino, k, free_k = WF_MAX_OPEN;
	const char *name;
	size_t nlen;
	int r = resolve(fs, path, &dir, &name, &nlen, &ino);

	if (r < 0)
		return r;
	if ((flags & (WF_O_READ | WF_O_WRITE)) == 0 ||
	    (flags & ~(WF_O_READ | WF_O_WRITE | WF_O_CREATE)) != 0 ||
	    ((flags & WF_O_CREATE) && !(flags & WF_O_WRITE)))
		return E_INVAL;
	if (ino != WF_EXT_NONE && fs->ino[ino].type != WF_T_FILE)
		return E_BADF;
	for (k = 0; k < WF_MAX_OPEN && fs->h[k].used; k++)
		;
	if (k == WF_MAX_OPEN)
		return limit(fs, E_LIMIT, "WF_MAX_OPEN (16 open files)");
	if (ino == WF_EXT_NONE) {
		if (!(flags & WF_O_CREATE))
			return E_NOENT;
		/* created now, durable with the file's first sync or close */
		r = new_node(fs, path, WF_T_FILE, false, &ino);
		if (r < 0)
			return r;
	}
	for (k = 0; k < WF_MAX_OPEN; k++) {
		if (!fs->h[k].used) {
			if (free_k == WF_MAX_OPEN)
				free_k = k;
		} else if ((flags & WF_O_WRITE) && fs->h[k].write && fs->h[k].ino == ino) {
			return E_BUSY; /* single writer */
		}
	}
	if (free_k == WF_MAX_OPEN)
		return limit(fs, E_LIMIT, "WF_MAX_OPEN (16 open files)");
	fs->h[free_k].used = true;
	fs->h[free_k].ino = ino;
	fs->h[free_k].write = (flags & WF_O_WRITE) != 0;
	if (fs->h[free_k].gen >= 0x7ffffffu)
		fs->h[free_k].gen = 0;
	return (int)(fs->h[free_k].gen * WF_MAX_OPEN + free_k);
}

int
wf_read(struct wf_fs *fs, int h, uint64_t off, void *buf, size_t len)
{
	struct wf_handle *hd = handle(fs, h);
	uint8_t *d = buf;
	uint64_t size, done = 0;

	if (hd == NULL)
		return E_BADF;
	if (fs->broken)
		return E_IO;
	size = fs->ino[hd->ino].size;
	if (off >= size)
		return 0;
	if (len > RW_MAX)
		len = RW_MAX;
	if (len > size - off)
		len = (size_t)(size - off);
	while (done < len) {
		uint64_t pos = off + done, fb = pos / fs->bs, L = map_get(fs, hd->ino, fb);
		uint32_t o = (uint32_t)(pos % fs->bs);
		size_t n = fs->bs - o;
		int r;

		if (n > len - done)
			n = len - done;
		if (o == 0 && n == fs->bs) {
			r = blk_read(fs->dev, data_lba(fs, L), 1, d + done);
		} else {
			r = blk_read(fs->dev, data_lba(fs, L), 1, fs->scratch);
			memcpy(d + done, fs->scratch + o, n);
		}
		if (r < 0)
			return r;
		done += n;
	}
	return (int)done;
}

/* Write one file block fb with n bytes at offset o; see the file comment. */
static int
write_block(struct wf_fs *fs, uint32_t ino, uint64_t fb, uint32_t o, const uint8_t *src,
    size_t n)
{
	struct wf_inode_disk *d = &fs->ino[ino];
	uint64_t nb = blocks_of(fs, d->size), L, nl;
	bool full = (o == 0 && n == fs->bs);
	int r;

	if (fb < nb) {
		L = map_get(fs, ino, fb);
		if (!wf_bit(fs->used_com, L)) {
			if (full)
				return blk_write(fs->dev, data_lba(fs, L), 1, src);
			r = blk_read(fs->dev, data_lba(fs, L), 1, fs->scratch);
			if (r < 0)
				return r;
			memcpy(fs->scratch + o, src, n);
			return blk_write(fs->dev, data_lba(fs, L), 1, fs->scratch);
		}
		nl = alloc_block(fs, fb > 0 ? map_get(fs, ino, fb - 1) + 1 : L + 1);
		if (full) {
			r = blk_write(fs->dev, data_lba(fs, nl), 1, src);
		} else {
			r = blk_read(fs->dev, data_lba(fs, L), 1, fs->scratch);
			if (r == 0) {
				memcpy(fs->scratch + o, src, n);
				r = blk_write(fs->dev, data_lba(fs, nl), 1, fs->scratch);
			}
		}
		if (r < 0)
			return r;
		map_set(fs, ino, fb, nl);
		free_block(fs, L);
		return 0;
	}
	nl = alloc_block(fs, nb > 0 ? map_get(fs, ino, nb - 1) + 1 : fs->alloc_cursor);
	if (full) {
		r = blk_write(fs->dev, data_lba(fs, nl), 1, src);
	} else {
		memset(fs->scratch, 0, fs->bs);
		memcpy(fs->scratch + o, src, n);
		r = blk_write(fs->dev, data_lba(fs, nl), 1, fs->scratch);
	}
	if (r < 0)
		return r;
	map_append(fs, ino, nl);
	return 0;
}

int
wf_write(struct wf_fs *fs, int h, uint64_t off, const void *buf, size_t len)
{
	struct wf_handle *hd = handle(fs, h);
	const uint8_t *s = buf;
	struct wf_inode_disk *d;
	uint64_t done = 0, touched;

	if (hd == NULL)
		return E_BADF;
	if (!hd->write)
		return E_PERM;
	if (fs->broken)
		return E_IO;
	d = &fs->ino[hd->ino];
	if (off > d->size)
		return E_RANGE; /* no holes */
	if (len > RW_MAX)
		return limit(fs, E_LIMIT, "1 GiB per write call");
	if (len == 0)
		return 0;
	touched = (off + len - 1) / fs->bs - off / fs->bs + 1;
	if (touched > free_blocks(fs))
		return limit(fs, E_NOSPC, "volume free space (CAPOSWF1 data blocks)");
	while (done < len) {
		uint64_t pos = off + done;
		uint32_t o = (uint32_t)(pos % fs->bs);
		size_t n = fs->bs - o;
		int r;

		if (n > len - done)
			n = len - done;
		if (fs->ext_free < 2) {
			if (done > 0)
				break; /* short write; what was written is consistent */
			return limit(fs, E_LIMIT, "extent table (CAPOSWF1 extent_count)");
		}
		r = write_block(fs, hd->ino, pos / fs->bs, o, s + done, n);
		if (r < 0)
			return wf_fail(fs, r);
		done += n;
		if (pos + n > d->size)
			d->size = pos + n;
	}
	d->mtime = now(fs);
	wf_touch_ino(fs, hd->ino);
	return (int)done;
}

int
wf_append(struct wf_fs *fs, int h, const void *buf, size_t len)
{
	struct wf_handle *hd = handle(fs, h);

	if (hd == NULL)
		return E_BADF;
	return wf_write(fs, h, fs->ino[hd->ino].size, buf, len);
}

int
wf_truncate(struct wf_fs *fs, int h, uint64_t len)
{
	struct wf_handle *hd = handle(fs, h);
	struct wf_inode_disk *d;

	if (hd == NULL)
		return E_BADF;
	if (!hd->write)
		return E_PERM;
	if (fs->broken)
		return E_IO;
	d = &fs->ino[hd->ino];
	if (len > d->size)
		return E_RANGE; /* truncate only shrinks */
	map_cut(fs, hd->ino, blocks_of(fs, len));
	d->size = len;
	d->mtime = now(fs);
	wf_touch_ino(fs, hd->ino);
	return 0;
}

int
wf_fstat(struct wf_fs *fs, int h, struct wf_stat *st)
{
	struct wf_handle *hd = handle(fs, h);

	if (hd == NULL)
		return E_BADF;
	fill_stat(fs, hd->ino, st);
	return 0;
}

int
wf_sync(struct wf_fs *fs, int h)
{
	if (handle(fs, h) == NULL)
		return E_BADF;
	if (fs->broken)
		return E_IO;
	return fs->dirty ? wf_commit(fs) : 0;
}

int
wf_close(struct wf_fs *fs, int h)
{
	struct wf_handle *hd = handle(fs, h);
	bool wrote;

	if (hd == NULL)
		return E_BADF;
	wrote = hd->write;
	hd->used = false;
	hd->write = false;
	hd->gen++;
	if (fs->broken)
		return E_IO;
	return wrote && fs->dirty ? wf_commit(fs) : 0;
}
