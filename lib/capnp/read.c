/*
 * Reading the Cap'n Proto binary encoding from untrusted bytes.
 *
 * All positions are computed as signed 64-bit word indices inside one segment
 * before any pointer is formed, so a hostile offset can never produce an
 * out-of-bounds (or even out-of-object) pointer. Each pointer followed charges
 * its target's size in words to the message's traversal budget (zero-sized
 * list elements cost one word each, as in the C++ library) so that a message
 * whose pointers alias one another cannot amplify the work it causes; the
 * nesting limit bounds recursion depth of callers walking the tree.
 */
#include "capnp/capnp.h"
#include "base/err.h"

enum { PK_STRUCT = 0, PK_LIST = 1, PK_FAR = 2, PK_OTHER = 3 };

static inline int32_t
ptr_offset(uint64_t w)
{
	/* bits 2..31, signed */
	return (int32_t)(uint32_t)w >> 2;
}

static int
msg_add_segment(struct capnp_msg *m, const uint8_t *base, uint32_t words)
{
	struct capnp_seg *s;

	if (m->nseg >= CAPNP_MAX_SEGMENTS)
		return E_LIMIT;
	s = &m->seg[m->nseg];
	s->base = base;
	s->words = words;
	s->id = m->nseg;
	s->msg = m;
	m->nseg++;
	return 0;
}

static void
msg_reset(struct capnp_msg *m)
{
	m->nseg = 0;
	m->budget = CAPNP_DEFAULT_TRAVERSAL;
	m->nesting = CAPNP_DEFAULT_NESTING;
}

int
capnp_msg_init(struct capnp_msg *m, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t n, i, w;
	uint64_t hdr, total = 0;

	msg_reset(m);
	if (len < 4)
		return E_CORRUPT;
	memcpy(&n, p, 4);
	if (n >= CAPNP_MAX_SEGMENTS)
		return E_LIMIT;
	n += 1;
	hdr = ((4 + 4 * (uint64_t)n) + 7) & ~(uint64_t)7;
	if (hdr > len)
		return E_CORRUPT;
	for (i = 0; i < n; i++) {
		memcpy(&w, p + 4 + 4 * i, 4);
		total += w;
	}
	if (total > (len - hdr) / 8)
		return E_CORRUPT;
	if (hdr + total * 8 > 0x7fffffff)
		return E_TOOBIG;
	p += hdr;
	for (i = 0; i < n; i++) {
		memcpy(&w, (const uint8_t *)buf + 4 + 4 * i, 4);
		msg_add_segment(m, p, w);
		p += (size_t)w * 8;
	}
	return (int)(hdr + total * 8);
}

int
capnp_msg_init_segments(struct capnp_msg *m, const void *const *segs, const uint32_t *words,
    uint32_t nseg)
{
	uint32_t i;

	msg_reset(m);
	if (nseg == 0)
		return E_CORRUPT;
	for (i = 0; i < nseg; i++)
		if (msg_add_segment(m, segs[i], words[i]) < 0)
			return E_LIMIT;
	return 0;
}

void
capnp_msg_set_limits(struct capnp_msg *m, uint64_t traversal_words, int nesting)
{
	m->budget = traversal_words;
	m->nesting = nesting;
}

struct capnp_ptr
capnp_msg_root_ptr(struct capnp_msg *m)
{
	struct capnp_ptr p = { 0, 0, m->nesting };

	if (m->nseg > 0) {
		p.seg = &m->seg[0];
		if (m->seg[0].words > 0)
			p.loc = m->seg[0].base;
	}
	return p;
}

int
capnp_msg_root(struct capnp_msg *m, struct capnp_struct *out)
{
	if (m->nseg == 0 || m->seg[0].words == 0) {
		memset(out, 0, sizeof(*out));
		return E_CORRUPT;
	}
	return capnp_ptr_struct(capnp_msg_root_ptr(m), out);
}

struct capnp_ptr
capnp_ptr_const(const struct capnp_seg *seg, int depth)
{
	struct capnp_ptr p = { seg, seg->words ? seg->base : 0, depth };
	return p;
}

bool
capnp_ptr_is_null(struct capnp_ptr p)
{
	return p.loc == 0 || capnp_ld64(p.loc) == 0;
}

/* Charge n words to the traversal budget. */
static int
charge(const struct capnp_seg *seg, uint64_t n)
{
	struct capnp_msg *m = seg->msg;

	if (m == 0)
		return 0;
	if (n > m->budget) {
		m->budget = 0;
		return E_LIMIT;
	}
	m->budget -= n;
	return 0;
}

/* Word index of a byte pointer inside its segment. */
static inline int64_t
word_index(const struct capnp_seg *seg, const uint8_t *loc)
{
	return (loc - seg->base) / 8;
}

/*
 * A resolved pointer: the tag word describing the object, the segment and
 * word index of its content. Far pointers are followed here (one or two hops,
 * never more: a landing pad that is itself far is refused).
 */
struct target {
	uint64_t tag;
	const struct capnp_seg *seg;
	int64_t at;   /* word index of content in seg */
};

static int
follow_far(const struct capnp_seg *seg, uint64_t w, struct target *t)
{
	struct capnp_msg *m = seg->msg;
	const struct capnp_seg *ps, *cs;
	uint32_t id = (uint32_t)(w >> 32);
	uint64_t pad = ((uint32_t)w) >> 3;
	bool dbl = (w >> 2) & 1;
	uint64_t p0, p1;

	if (m == 0 || id >= m->nseg)
		return E_CORRUPT;
	ps = &m->seg[id];
	if (pad + (dbl ? 2 : 1) > ps->words)
		return E_CORRUPT;
	p0 = capnp_ld64(ps->base + pad * 8);
	if (!dbl) {
		if ((p0 & 3) == PK_FAR || (p0 & 3) == PK_OTHER)
			return E_CORRUPT; /* pad must be a struct or list pointer */
		t->tag = p0;
		t->seg = ps;
		t->at = (int64_t)pad + 1 + ptr_offset(p0);
		return 0;
	}
	p1 = capnp_ld64(ps->base + pad * 8 + 8);
	if ((p0 & 7) != PK_FAR) /* single far (landing flag clear) */
		return E_CORRUPT;
	if ((p1 & 3) == PK_FAR || (p1 & 3) == PK_OTHER || ptr_offset(p1) != 0)
		return E_CORRUPT;
	id = (uint32_t)(p0 >> 32);
	if (id >= m->nseg)
		return E_CORRUPT;
	cs = &m->seg[id];
	t->tag = p1;
	t->seg = cs;
	t->at = ((uint32_t)p0) >> 3;
	return 0;
}

static inline int
resolve(const struct capnp_seg *seg, const uint8_t *loc, uint64_t w, struct target *t)
{
	if ((w & 3) == PK_FAR)
		return follow_far(seg, w, t);
	t->tag = w;
	t->seg = seg;
	t->at = word_index(seg, loc) + 1 + ptr_offset(w);
	return 0;
}

/* Is [at, at + n) inside seg? */
static inline bool
in_seg(const struct capnp_seg *seg, int64_t at, uint64_t n)
{
	return at >= 0 && (uint64_t)at <= seg->words && n <= seg->words - (uint64_t)at;
}

/* Follow the non-null pointer word w at p to an object of the expected kind. */
static inline int
enter(struct capnp_ptr p, uint64_t w, struct target *t, int expect_kind)
{
	int err;

	if (p.depth <= 0)
		return E_LIMIT;
	err = resolve(p.seg, p.loc, w, t);
	if (err < 0)
		return err;
	if ((int)(t->tag & 3) != expect_kind)
		return E_CORRUPT;
	return 0;
}

static inline uint64_t
ptr_word(struct capnp_ptr p)
{
	return p.loc ? capnp_ld64(p.loc) : 0;
}

int
capnp_ptr_kind(struct capnp_ptr p)
{
	struct target t;
	uint64_t w = ptr_word(p);
	int err;

	if (w == 0)
		return CAPNP_KIND_NULL;
	if ((w & 3) == PK_OTHER)
		return (uint32_t)w == PK_OTHER ? CAPNP_KIND_CAP : E_CORRUPT;
	err = resolve(p.seg, p.loc, w, &t);
	if (err < 0)
		return err;
	return (t.tag & 3) == PK_STRUCT ? CAPNP_KIND_STRUCT : CAPNP_KIND_LIST;
}

int
capnp_ptr_struct(struct capnp_ptr p, struct capnp_struct *out)
{
	struct target t;
	uint64_t w = ptr_word(p);
	uint16_t dw, pw;
	int err = 0;

	if (w == 0)
		goto empty;
	err = enter(p, w, &t, PK_STRUCT);
	if (err < 0)
		goto empty;
	dw = (uint16_t)(t.tag >> 32);
	pw = (uint16_t)(t.tag >> 48);
	err = E_RANGE;
	if (!in_seg(t.seg, t.at, (uint64_t)dw + pw))
		goto empty;
	err = charge(t.seg, (uint64_t)dw + pw);
	if (err < 0)
		goto empty;
	out->seg = t.seg;
	out->data = t.seg->base + t.at * 8;
	out->ptrs = out->data + (size_t)dw * 8;
	out->data_bytes = (uint32_t)dw * 8;
	out->nptrs = pw;
	out->depth = p.depth - 1;
	return 0;
empty:
	memset(out, 0, sizeof(*out));
	return err;
}

static const uint8_t step_of[8] = { 0, 1, 8, 16, 32, 64, 64, 0 };

/* May a list encoded as `got` be read as a List of `expect`? (C++ rules,
 * including struct lists standing in for upgraded primitive lists.) */
static bool
list_compatible(const struct capnp_list *l, enum capnp_esize expect)
{
	switch (expect) {
	case CAPNP_SZ_ANY:
	case CAPNP_SZ_VOID:
		return true;
	case CAPNP_SZ_BIT:
		return l->esize == CAPNP_SZ_BIT;
	case CAPNP_SZ_BYTE:
	case CAPNP_SZ_2:
	case CAPNP_SZ_4:
	case CAPNP_SZ_8:
		return l->esize == expect || l->esize == CAPNP_SZ_COMPOSITE;
	case CAPNP_SZ_PTR:
		return l->esize == CAPNP_SZ_PTR ||
		    (l->esize == CAPNP_SZ_COMPOSITE && l->nptrs > 0);
	case CAPNP_SZ_COMPOSITE:
		return l->esize != CAPNP_SZ_BIT;
	}
	return false;
}

static int
list_composite(struct target *t, uint32_t words, struct capnp_list *out)
{
	uint64_t tag;
	uint32_t n;
	uint16_t dw, pw;

	if (!in_seg(t->seg, t->at, (uint64_t)words + 1))
		return E_RANGE;
	tag = capnp_ld64(t->seg->base + t->at * 8);
	if ((tag & 3) != PK_STRUCT)
		return E_CORRUPT;
	n = (uint32_t)tag >> 2; /* element count; non-negative by construction */
	dw = (uint16_t)(tag >> 32);
	pw = (uint16_t)(tag >> 48);
	if ((uint64_t)n * ((uint64_t)dw + pw) > words)
		return E_CORRUPT;
	/* Zero-sized elements still cost one word each (amplification). */
	if (charge(t->seg, (uint64_t)words + 1 + ((dw + pw) == 0 ? n : 0)) < 0)
		return E_LIMIT;
	out->start = t->seg->base + (t->at + 1) * 8;
	out->count = n;
	out->step_bits = ((uint32_t)dw + pw) * 64;
	out->data_bytes = (uint32_t)dw * 8;
	out->nptrs = pw;
	return 0;
}

static int
list_plain(struct target *t, uint8_t sz, uint32_t n, struct capnp_list *out)
{
	uint64_t words = ((uint64_t)n * step_of[sz] + 63) / 64;

	if (!in_seg(t->seg, t->at, words))
		return E_RANGE;
	if (charge(t->seg, sz == CAPNP_SZ_VOID ? n : words) < 0)
		return E_LIMIT;
	out->start = t->seg->base + t->at * 8;
	out->count = n;
	out->step_bits = step_of[sz];
	out->data_bytes = (sz >= CAPNP_SZ_BYTE && sz <= CAPNP_SZ_8) ? step_of[sz] / 8 : 0;
	out->nptrs = sz == CAPNP_SZ_PTR;
	return 0;
}

int
capnp_ptr_list(struct capnp_ptr p, enum capnp_esize expect, struct capnp_list *out)
{
	struct target t;
	uint8_t sz;
	uint32_t n;
	uint64_t w = ptr_word(p);
	int err;

	if (w == 0) {
		memset(out, 0, sizeof(*out));
		out->esize = expect == CAPNP_SZ_ANY ? CAPNP_SZ_VOID : (uint8_t)expect;
		return 0;
	}
	err = enter(p, w, &t, PK_LIST);
	if (err < 0) {
		memset(out, 0, sizeof(*out));
		return err;
	}
	sz = (t.tag >> 32) & 7;
	n = (uint32_t)(t.tag >> 35);
	if (sz == CAPNP_SZ_COMPOSITE)
		err = list_composite(&t, n, out);
	else
		err = list_plain(&t, sz, n, out);
	if (err < 0) {
		memset(out, 0, sizeof(*out));
		return err;
	}
	out->seg = t.seg;
	out->esize = sz;
	out->depth = p.depth - 1;
	if (!list_compatible(out, expect)) {
		memset(out, 0, sizeof(*out));
		return E_CORRUPT;
	}
	return 0;
}

/* A byte list (Text, Data) behind the non-null pointer word w. */
static inline int
blob(struct capnp_ptr p, uint64_t w, const uint8_t **start, uint32_t *n)
{
	struct target t;
	uint64_t words;
	int err;

	err = enter(p, w, &t, PK_LIST);
	if (err < 0)
		return err;
	if (((t.tag >> 32) & 7) != CAPNP_SZ_BYTE)
		return E_CORRUPT;
	*n = (uint32_t)(t.tag >> 35);
	words = ((uint64_t)*n + 7) / 8;
	if (!in_seg(t.seg, t.at, words))
		return E_RANGE;
	if (charge(t.seg, words) < 0)
		return E_LIMIT;
	*start = t.seg->base + t.at * 8;
	return 0;
}

int
capnp_ptr_text_checked(struct capnp_ptr p, struct capnp_text *out)
{
	uint64_t w = ptr_word(p);
	const uint8_t *s;
	uint32_t n;
	int err;

	out->str = "";
	out->len = 0;
	if (w == 0)
		return 0;
	err = blob(p, w, &s, &n);
	if (err < 0)
		return err;
	if (n == 0 || s[n - 1] != 0)
		return E_CORRUPT;
	out->str = (const char *)s;
	out->len = n - 1;
	return 0;
}

int
capnp_ptr_data(struct capnp_ptr p, struct capnp_data *out)
{
	uint64_t w = ptr_word(p);
	const uint8_t *s;
	uint32_t n;
	int err;

	out->ptr = 0;
	out->len = 0;
	if (w == 0)
		return 0;
	err = blob(p, w, &s, &n);
	if (err < 0)
		return err;
	out->ptr = s;
	out->len = n;
	return 0;
}

int
capnp_ptr_cap(struct capnp_ptr p, uint32_t *index)
{
	uint64_t w;

	if (capnp_ptr_is_null(p))
		return E_NOENT;
	w = capnp_ld64(p.loc);
	if ((uint32_t)w != PK_OTHER)
		return E_CORRUPT;
	*index = (uint32_t)(w >> 32);
	return 0;
}

bool
capnp_list_bool(const struct capnp_list *l, uint32_t i)
{
	if (i >= l->count)
		return false;
	if (l->esize == CAPNP_SZ_BIT)
		return (l->start[i / 8] >> (i % 8)) & 1;
	if (l->data_bytes == 0)
		return false;
	/* struct list standing in for List(Bool): bit 0 of the data section */
	return l->start[((uint64_t)i * l->step_bits) >> 3] & 1;
}

