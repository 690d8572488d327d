/*
 * Building Cap'n Proto messages in a caller-provided arena.
 *
 * Segments are carved from the arena on demand. An object is placed in the
 * segment of the pointer that refers to it when there is room (a near
 * pointer); otherwise it goes, together with a one-word landing pad, into the
 * last or a newly carved segment and the pointer becomes a single far
 * pointer. The builder therefore never needs double-far pointers (the reader
 * still accepts them). Allocated words are zeroed, so unset fields read as
 * their defaults.
 */
#include "capnp/capnp.h"
#include "base/err.h"

#define MAX_LIST_COUNT ((1u << 29) - 1)

int
capnp_builder_init(struct capnp_builder *b, void *buf, size_t len, uint32_t seg_words)
{
	b->nseg = 0;
	b->arena = buf;
	b->arena_words = len / 8;
	b->seg_words = seg_words;
	if (b->arena_words > 0xffffffffu)
		b->arena_words = 0xffffffffu;
	if (b->arena_words == 0)
		return E_NOMEM;
	return 0;
}

static int
carve(struct capnp_builder *b, uint64_t need)
{
	struct capnp_bseg *s;
	uint64_t w = b->seg_words ? b->seg_words : b->arena_words;

	if (b->nseg >= CAPNP_MAX_SEGMENTS)
		return E_LIMIT;
	if (w < need)
		w = need;
	if (w > b->arena_words)
		w = b->arena_words;
	if (w < need || w == 0)
		return E_NOMEM;
	s = &b->seg[b->nseg];
	s->base = b->arena;
	s->used = 0;
	s->zeroed = 0;
	s->cap = (uint32_t)w;
	b->arena += w * 8;
	b->arena_words -= w;
	return (int)b->nseg++;
}

/*
 * Zeroing: a segment is zeroed ahead of use in chunks of at least
 * ZERO_AHEAD words (one memset per chunk instead of one per object); blobs
 * that are about to be overwritten skip it (take_raw).
 */
#define ZERO_AHEAD 64

/* `words` from segment si, not zeroed. */
static inline uint8_t *
take_raw(struct capnp_builder *b, uint32_t si, uint64_t words)
{
	struct capnp_bseg *s = &b->seg[si];
	uint8_t *at;

	if (words > (uint64_t)s->cap - s->used)
		return 0;
	at = s->base + (size_t)s->used * 8;
	s->used += (uint32_t)words;
	if (s->used > s->zeroed)
		s->zeroed = s->used;
	return at;
}

/* `words` from segment si, zeroed (unset fields read as defaults). */
static inline uint8_t *
take(struct capnp_builder *b, uint32_t si, uint64_t words)
{
	struct capnp_bseg *s = &b->seg[si];
	uint64_t end, z;
	uint8_t *at;

	if (words > (uint64_t)s->cap - s->used)
		return 0;
	at = s->base + (size_t)s->used * 8;
	end = (uint64_t)s->used + words;
	if (end > s->zeroed) {
		z = end + ZERO_AHEAD < s->cap ? end + ZERO_AHEAD : s->cap;
		memset(s->base + (size_t)s->zeroed * 8, 0, (size_t)(z - s->zeroed) * 8);
		s->zeroed = (uint32_t)z;
	}
	s->used = (uint32_t)end;
	return at;
}

/* Room for `words` in the last or a new segment. */
static int
alloc_any(struct capnp_builder *b, uint64_t words, uint8_t **at)
{
	int si;

	if (b->nseg > 0) {
		si = (int)b->nseg - 1;
		*at = take(b, (uint32_t)si, words);
		if (*at)
			return si;
	}
	si = carve(b, words);
	if (si < 0)
		return si;
	*at = take(b, (uint32_t)si, words);
	return si;
}

static inline int64_t
bword(const struct capnp_builder *b, uint32_t si, const uint8_t *loc)
{
	return (loc - b->seg[si].base) / 8;
}

/*
 * Allocate `words` of content for the pointer p and write p as a pointer with
 * the given tag (offset bits zero). Returns the content's segment. Content is
 * zeroed unless `raw` (the caller overwrites all of it).
 */
static int
link_any(struct capnp_bptr p, uint64_t tag, uint64_t words, uint8_t **content, bool raw)
{
	struct capnp_builder *b = p.b;
	uint8_t *at;
	int64_t off;
	int si;

	if (p.loc == 0)
		return E_RANGE;
	at = raw ? take_raw(b, p.seg, words) : take(b, p.seg, words);
	if (at) {
		off = bword(b, p.seg, at) - bword(b, p.seg, p.loc) - 1;
		capnp_st64(p.loc, tag | ((uint64_t)((uint32_t)off << 2)));
		*content = at;
		return (int)p.seg;
	}
	si = alloc_any(b, words + 1, &at);
	if (si < 0)
		return si;
	capnp_st64(at, tag); /* landing pad, offset 0: content follows */
	capnp_st64(p.loc, 2 | ((uint64_t)bword(b, (uint32_t)si, at) << 3) |
	    ((uint64_t)si << 32));
	*content = at + 8;
	return si;
}

static inline int
link(struct capnp_bptr p, uint64_t tag, uint64_t words, uint8_t **content)
{
	return link_any(p, tag, words, content, false);
}

struct capnp_bptr
capnp_builder_root_ptr(struct capnp_builder *b)
{
	struct capnp_bptr p = { b, 0, 0 };
	uint8_t *at;

	if (b->nseg == 0 && alloc_any(b, 1, &at) == 0)
		p.loc = at;
	else if (b->nseg > 0)
		p.loc = b->seg[0].base;
	return p;
}

int
capnp_builder_root(struct capnp_builder *b, uint16_t dw, uint16_t pw, struct capnp_bstruct *out)
{
	struct capnp_bptr p = capnp_builder_root_ptr(b);

	if (p.loc == 0)
		return E_NOMEM;
	return capnp_bptr_init_struct(p, dw, pw, out);
}

int
capnp_bptr_init_struct(struct capnp_bptr p, uint16_t dw, uint16_t pw, struct capnp_bstruct *out)
{
	uint8_t *at;
	int si;

	memset(out, 0, sizeof(*out));
	si = link(p, ((uint64_t)dw << 32) | ((uint64_t)pw << 48), (uint64_t)dw + pw, &at);
	if (si < 0)
		return si;
	out->b = p.b;
	out->seg = (uint32_t)si;
	out->data = at;
	out->ptrs = at + (size_t)dw * 8;
	out->data_bytes = (uint32_t)dw * 8;
	out->nptrs = pw;
	return 0;
}

static const uint8_t bstep_of[8] = { 0, 1, 8, 16, 32, 64, 64, 0 };

int
capnp_bptr_init_list(struct capnp_bptr p, enum capnp_esize sz, uint32_t n, struct capnp_blist *out)
{
	uint64_t words;
	uint8_t *at;
	int si;

	memset(out, 0, sizeof(*out));
	if (sz > CAPNP_SZ_PTR)
		return E_INVAL;
	if (n > MAX_LIST_COUNT)
		return E_TOOBIG;
	words = ((uint64_t)n * bstep_of[sz] + 63) / 64;
	si = link(p, 1 | ((uint64_t)sz << 32) | ((uint64_t)n << 35), words, &at);
	if (si < 0)
		return si;
	out->b = p.b;
	out->seg = (uint32_t)si;
	out->start = at;
	out->count = n;
	out->step_bits = bstep_of[sz];
	out->data_bytes = (sz >= CAPNP_SZ_BYTE && sz <= CAPNP_SZ_8) ? bstep_of[sz] / 8 : 0;
	out->nptrs = sz == CAPNP_SZ_PTR;
	out->esize = (uint8_t)sz;
	return 0;
}

int
capnp_bptr_init_struct_list(struct capnp_bptr p, uint32_t n, uint16_t dw, uint16_t pw,
    struct capnp_blist *out)
{
	uint64_t words = (uint64_t)n * ((uint64_t)dw + pw);
	uint8_t *at;
	int si;

	memset(out, 0, sizeof(*out));
	if (n > MAX_LIST_COUNT || words > MAX_LIST_COUNT)
		return E_TOOBIG;
	si = link(p, 1 | ((uint64_t)CAPNP_SZ_COMPOSITE << 32) | (words << 35), words + 1, &at);
	if (si < 0)
		return si;
	capnp_st64(at, ((uint64_t)n << 2) | ((uint64_t)dw << 32) | ((uint64_t)pw << 48));
	out->b = p.b;
	out->seg = (uint32_t)si;
	out->start = at + 8;
	out->count = n;
	out->step_bits = ((uint32_t)dw + pw) * 64;
	out->data_bytes = (uint32_t)dw * 8;
	out->nptrs = pw;
	out->esize = CAPNP_SZ_COMPOSITE;
	return 0;
}

/* A byte list holding d[0..len) followed by `nul` zero bytes (1 for Text).
 * Only the padding is zeroed: the bytes are copied over raw words. */
int
capnp_bptr_set_bytes(struct capnp_bptr p, const void *d, size_t len, size_t nul)
{
	uint8_t *at;
	int r = capnp_bptr_alloc_bytes(p, len + nul, &at);

	if (r < 0)
		return r;
	if (len)
		memcpy(at, d, len);
	if (nul)
		memset(at + len, 0, nul);
	return 0;
}

/* A byte list of n bytes whose content the caller writes (*at); only its
 * last word, which holds the padding, is zeroed here. */
int
capnp_bptr_alloc_bytes(struct capnp_bptr p, size_t n, uint8_t **at)
{
	uint64_t words = ((uint64_t)n + 7) / 8;
	int si;

	*at = 0;
	if (n > MAX_LIST_COUNT)
		return E_TOOBIG;
	si = link_any(p, 1 | ((uint64_t)CAPNP_SZ_BYTE << 32) | ((uint64_t)n << 35), words, at, true);
	if (si < 0)
		return si;
	if (words)
		capnp_st64(*at + (words - 1) * 8, 0);
	return 0;
}

int
capnp_bptr_set_cap(struct capnp_bptr p, uint32_t index)
{
	if (p.loc == 0)
		return E_RANGE;
	capnp_st64(p.loc, 3 | ((uint64_t)index << 32));
	return 0;
}

void
capnp_blist_set_bool(const struct capnp_blist *l, uint32_t i, bool v)
{
	uint8_t m = (uint8_t)(1u << (i % 8));

	if (i >= l->count || l->esize != CAPNP_SZ_BIT)
		return;
	l->start[i / 8] = (uint8_t)(v ? (l->start[i / 8] | m) : (l->start[i / 8] & ~m));
}

/* ---- deep copy from a reader ---- */

static int copy_struct_body(struct capnp_bstruct *d, const struct capnp_struct *s);

static int
copy_list(struct capnp_bptr p, struct capnp_ptr src)
{
	struct capnp_list l;
	struct capnp_blist d;
	struct capnp_struct se;
	struct capnp_bstruct de;
	uint32_t i;
	int err;

	err = capnp_ptr_list(src, CAPNP_SZ_ANY, &l);
	if (err < 0)
		return err;
	if (l.esize == CAPNP_SZ_COMPOSITE) {
		err = capnp_bptr_init_struct_list(p, l.count, (uint16_t)(l.data_bytes / 8), l.nptrs, &d);
		for (i = 0; err == 0 && i < l.count; i++) {
			err = capnp_list_struct(&l, i, &se);
			if (err == 0)
				err = capnp_blist_struct(&d, i, &de);
			if (err == 0)
				err = copy_struct_body(&de, &se);
		}
		return err;
	}
	err = capnp_bptr_init_list(p, (enum capnp_esize)l.esize, l.count, &d);
	if (err < 0)
		return err;
	if (l.esize == CAPNP_SZ_PTR) {
		for (i = 0; err == 0 && i < l.count; i++)
			err = capnp_bptr_copy(capnp_blist_ptr(&d, i), capnp_list_ptr(&l, i));
		return err;
	}
	memcpy(d.start, l.start, ((uint64_t)l.count * l.step_bits + 7) / 8);
	return 0;
}

static int
copy_struct_body(struct capnp_bstruct *d, const struct capnp_struct *s)
{
	uint16_t i;
	int err;

	memcpy(d->data, s->data, s->data_bytes < d->data_bytes ? s->data_bytes : d->data_bytes);
	for (i = 0; i < s->nptrs && i < d->nptrs; i++) {
		err = capnp_bptr_copy(capnp_bstruct_ptr(d, i), capnp_struct_ptr(s, i));
		if (err < 0)
			return err;
	}
	return 0;
}

int
capnp_bptr_copy(struct capnp_bptr p, struct capnp_ptr src)
{
	struct capnp_struct s;
	struct capnp_bstruct d;
	uint32_t cap;
	int kind, err;

	if (p.loc == 0)
		return E_RANGE;
	kind = capnp_ptr_kind(src);
	switch (kind) {
	case CAPNP_KIND_NULL:
		capnp_st64(p.loc, 0);
		return 0;
	case CAPNP_KIND_CAP:
		err = capnp_ptr_cap(src, &cap);
		return err < 0 ? err : capnp_bptr_set_cap(p, cap);
	case CAPNP_KIND_LIST:
		return copy_list(p, src);
	case CAPNP_KIND_STRUCT:
		err = capnp_ptr_struct(src, &s);
		if (err == 0)
			err = capnp_bptr_init_struct(p, (uint16_t)(s.data_bytes / 8), s.nptrs, &d);
		return err < 0 ? err : copy_struct_body(&d, &s);
	}
	return kind;
}

/* ---- output ---- */

size_t
capnp_builder_size(const struct capnp_builder *b)
{
	size_t n = (4 + 4 * (size_t)b->nseg + 7) & ~(size_t)7;
	uint32_t i;

	for (i = 0; i < b->nseg; i++)
		n += (size_t)b->seg[i].used * 8;
	return n;
}

int
capnp_builder_write(const struct capnp_builder *b, void *out, size_t cap)
{
	size_t n = capnp_builder_size(b), hdr;
	uint8_t *o = out;
	uint32_t i, v;

	if (b->nseg == 0)
		return E_INVAL;
	if (n > cap || n > 0x7fffffff)
		return E_TOOBIG;
	hdr = (4 + 4 * (size_t)b->nseg + 7) & ~(size_t)7;
	memset(o, 0, hdr);
	v = b->nseg - 1;
	memcpy(o, &v, 4);
	for (i = 0; i < b->nseg; i++)
		memcpy(o + 4 + 4 * i, &b->seg[i].used, 4);
	o += hdr;
	for (i = 0; i < b->nseg; i++) {
		memcpy(o, b->seg[i].base, (size_t)b->seg[i].used * 8);
		o += (size_t)b->seg[i].used * 8;
	}
	return (int)n;
}

/* Called once per message on the block I/O path: it sets the builder's
 * scalars only (no memset of its 64 segment slots, ~200 instructions per
 * message; a slot is read only below nseg). An unaligned or tiny buf leaves
 * an empty builder with no arena, so every later allocation fails. */
int
capnp_builder_init_framed(struct capnp_builder *b, void *buf, size_t len)
{
	if (((uintptr_t)buf & 7) || len < 16) {
		capnp_builder_init(b, NULL, 0, 0);
		return E_INVAL;
	}
	return capnp_builder_init(b, (uint8_t *)buf + 8, len - 8, 0);
}

int
capnp_builder_frame(const struct capnp_builder *b, void *buf, size_t cap)
{
	const struct capnp_bseg *sg = &b->seg[0];
	uint32_t hdr[2] = { 0, sg->used };

	if (b->nseg != 1 || sg->base != (uint8_t *)buf + 8)
		return E_INVAL;
	if (cap < 8 || sg->used > (cap - 8) / 8)
		return E_TOOBIG;
	memcpy(buf, hdr, sizeof hdr);
	return (int)(8 + (size_t)sg->used * 8);
}

int
capnp_builder_reader(const struct capnp_builder *b, struct capnp_msg *m)
{
	const void *segs[CAPNP_MAX_SEGMENTS];
	uint32_t words[CAPNP_MAX_SEGMENTS];
	uint32_t i;

	for (i = 0; i < b->nseg; i++) {
		segs[i] = b->seg[i].base;
		words[i] = b->seg[i].used;
	}
	return capnp_msg_init_segments(m, segs, words, b->nseg);
}
