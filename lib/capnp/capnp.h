/*
 * capnp: a freestanding Cap'n Proto runtime for capOS (kernel, services, host
 * tools). It reads and builds the standard binary encoding (segment tables,
 * structs, lists of every element size, text, data, far and double-far
 * pointers, capabilities) and the packed encoding. See docs/capnp.md.
 *
 * Reading: capnp_msg_init() checks the segment table against the buffer;
 * capnp_msg_root() returns the root struct. Every pointer followed is bounds-
 * checked against its segment, charged against the message's traversal
 * budget (words, like the C++ library's traversal limit) and against a nesting
 * limit. A malformed message yields a negative error code (lib/base/err.h),
 * never an out-of-bounds read. Primitive fields past the end of a struct's data
 * section read as their default (schema evolution), so primitive accessors
 * cannot fail and return the value directly.
 *
 * Building: the caller provides one arena buffer; capnp_builder_init() carves
 * segments out of it. When a segment is full a new one is carved and a far
 * pointer with a landing pad links them. No malloc anywhere.
 *
 * Wire words are little-endian; capOS targets x86_64 only.
 */
#ifndef CAPOS_CAPNP_H
#define CAPOS_CAPNP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/mem.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "capnp runtime assumes a little-endian host"
#endif

/* Limits (docs/capnp.md). */
#define CAPNP_MAX_SEGMENTS 64              /* segments per message, read and build */
#define CAPNP_DEFAULT_TRAVERSAL (8u << 20) /* words (64 MiB), as the C++ default */
#define CAPNP_DEFAULT_NESTING 64           /* struct/list depth, as the C++ default */

/* List element sizes as encoded in a list pointer (schema.capnp ElementSize). */
enum capnp_esize {
	CAPNP_SZ_VOID = 0,
	CAPNP_SZ_BIT = 1,
	CAPNP_SZ_BYTE = 2,
	CAPNP_SZ_2 = 3,
	CAPNP_SZ_4 = 4,
	CAPNP_SZ_8 = 5,
	CAPNP_SZ_PTR = 6,
	CAPNP_SZ_COMPOSITE = 7,
	CAPNP_SZ_ANY = 8, /* reader: accept any encoding (AnyList) */
};

struct capnp_msg;

/* One segment of a message being read. msg == NULL marks a trusted constant
 * (generated default values): no far pointers, no traversal accounting. */
struct capnp_seg {
	const uint8_t *base;
	uint32_t words;
	uint32_t id;
	struct capnp_msg *msg;
};

struct capnp_msg {
	struct capnp_seg seg[CAPNP_MAX_SEGMENTS];
	uint32_t nseg;
	uint64_t budget;   /* traversal words left */
	int nesting;       /* depth given to the root */
};

/* A reference to one pointer word in a message (loc == NULL: null pointer). */
struct capnp_ptr {
	const struct capnp_seg *seg;
	const uint8_t *loc;
	int depth;         /* nesting left for what it points to */
};

/* A struct reader. An empty reader (all zero) reads every field as default. */
struct capnp_struct {
	const struct capnp_seg *seg;
	const uint8_t *data;
	const uint8_t *ptrs;
	uint32_t data_bytes;
	uint16_t nptrs;
	int depth;
};

/* A list reader; element i starts at start + i * step_bits / 8. For struct
 * elements data_bytes/nptrs give each element's sections. */
struct capnp_list {
	const struct capnp_seg *seg;
	const uint8_t *start;
	uint32_t count;
	uint32_t step_bits;
	uint32_t data_bytes;
	uint16_t nptrs;
	uint8_t esize;
	int depth;
};

struct capnp_text {
	const char *str;   /* NUL-terminated (checked) */
	uint32_t len;      /* without the NUL */
};

struct capnp_data {
	const uint8_t *ptr;
	uint32_t len;
};

/* ---- little-endian loads/stores, any alignment ---- */
static inline uint64_t
capnp_ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline void
capnp_st64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* ---- reading a message ---- */

/* Parse stream framing (segment table + segments) in buf. Returns bytes
 * consumed (> 0) or E_CORRUPT / E_LIMIT. The buffer must outlive the msg. */
int capnp_msg_init(struct capnp_msg *m, const void *buf, size_t len);
/* Set up a message from already separated segments. */
int capnp_msg_init_segments(struct capnp_msg *m, const void *const *segs,
    const uint32_t *words, uint32_t nseg);
void capnp_msg_set_limits(struct capnp_msg *m, uint64_t traversal_words, int nesting);
int capnp_msg_root(struct capnp_msg *m, struct capnp_struct *out);
struct capnp_ptr capnp_msg_root_ptr(struct capnp_msg *m);

/* Pointer fields. */
static inline struct capnp_ptr
capnp_struct_ptr(const struct capnp_struct *s, uint16_t i)
{
	struct capnp_ptr p = { s->seg, 0, s->depth };
	if (i < s->nptrs)
		p.loc = s->ptrs + (size_t)i * 8;
	return p;
}

bool capnp_ptr_is_null(struct capnp_ptr p);
/* What p points to (far pointers followed): CAPNP_KIND_* or an error. */
enum { CAPNP_KIND_NULL = 0, CAPNP_KIND_STRUCT = 1, CAPNP_KIND_LIST = 2, CAPNP_KIND_CAP = 3 };
int capnp_ptr_kind(struct capnp_ptr p);
/* A pointer to the root of a trusted default/constant (single segment). */
struct capnp_ptr capnp_ptr_const(const struct capnp_seg *seg, int depth);
int capnp_ptr_struct(struct capnp_ptr p, struct capnp_struct *out);
int capnp_ptr_list(struct capnp_ptr p, enum capnp_esize expect, struct capnp_list *out);
int capnp_ptr_data(struct capnp_ptr p, struct capnp_data *out);
/* Capability pointer: *index is the message's cap-table index; null -> E_NOENT. */
int capnp_ptr_cap(struct capnp_ptr p, uint32_t *index);

/* Text: the inline fast path takes the common case (a near pointer to a
 * well-formed byte list within budget) and performs exactly the checks of
 * capnp_ptr_text_checked() (read.c), which handles everything else and all
 * errors. Nothing is charged unless the fast path succeeds. */
int capnp_ptr_text_checked(struct capnp_ptr p, struct capnp_text *out);

static inline int
capnp_ptr_text(struct capnp_ptr p, struct capnp_text *out)
{
	const struct capnp_seg *sg = p.seg;
	const uint8_t *s;
	uint64_t w, n, words;
	int64_t at;

	if (p.loc == 0 || p.depth <= 0)
		return capnp_ptr_text_checked(p, out);
	w = capnp_ld64(p.loc);
	if ((w & 0x700000003ull) != (1 | ((uint64_t)CAPNP_SZ_BYTE << 32)))
		return capnp_ptr_text_checked(p, out);
	n = w >> 35;
	words = (n + 7) / 8;
	at = (p.loc - sg->base) / 8 + 1 + ((int32_t)(uint32_t)w >> 2);
	if (n == 0 || at < 0 || (uint64_t)at > sg->words || words > sg->words - (uint64_t)at)
		return capnp_ptr_text_checked(p, out);
	s = sg->base + at * 8;
	if (s[n - 1] != 0 || (sg->msg && words > sg->msg->budget))
		return capnp_ptr_text_checked(p, out);
	if (sg->msg)
		sg->msg->budget -= words;
	out->str = (const char *)s;
	out->len = (uint32_t)n - 1;
	return 0;
}

/* Primitive fields (offsets in bytes / bits). Reads beyond data_bytes give 0;
 * generated code XORs the schema default. */
#define CAPNP_DEF_GET(name, type, n)                                        \
	static inline type                                                   \
	capnp_get_##name(const struct capnp_struct *s, uint32_t off)         \
	{                                                                    \
		type v = 0;                                                  \
		if ((uint64_t)off + (n) <= s->data_bytes)                    \
			memcpy(&v, s->data + off, (n));                      \
		return v;                                                    \
	}
CAPNP_DEF_GET(u8, uint8_t, 1)
CAPNP_DEF_GET(u16, uint16_t, 2)
CAPNP_DEF_GET(u32, uint32_t, 4)
CAPNP_DEF_GET(u64, uint64_t, 8)
#undef CAPNP_DEF_GET

static inline bool
capnp_get_bool(const struct capnp_struct *s, uint32_t bit)
{
	if (bit / 8 >= s->data_bytes)
		return false;
	return (s->data[bit / 8] >> (bit % 8)) & 1;
}

static inline float
capnp_f32(uint32_t bits)
{
	float f;
	memcpy(&f, &bits, 4);
	return f;
}

static inline double
capnp_f64(uint64_t bits)
{
	double d;
	memcpy(&d, &bits, 8);
	return d;
}

static inline uint32_t
capnp_f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static inline uint64_t
capnp_f64_bits(double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	return u;
}

/* List elements; an index past the end reads 0 (callers loop to count). */
static inline const uint8_t *
capnp_list_elem(const struct capnp_list *l, uint32_t i, uint32_t need)
{
	if (i >= l->count || l->data_bytes < need)
		return 0;
	return l->start + (((uint64_t)i * l->step_bits) >> 3);
}

#define CAPNP_DEF_LGET(name, type, n)                                        \
	static inline type                                                   \
	capnp_list_##name(const struct capnp_list *l, uint32_t i)            \
	{                                                                    \
		type v = 0;                                                  \
		const uint8_t *p = capnp_list_elem(l, i, (n));               \
		if (p)                                                       \
			memcpy(&v, p, (n));                                  \
		return v;                                                    \
	}
CAPNP_DEF_LGET(u8, uint8_t, 1)
CAPNP_DEF_LGET(u16, uint16_t, 2)
CAPNP_DEF_LGET(u32, uint32_t, 4)
CAPNP_DEF_LGET(u64, uint64_t, 8)
#undef CAPNP_DEF_LGET

bool capnp_list_bool(const struct capnp_list *l, uint32_t i);

static inline struct capnp_ptr
capnp_list_ptr(const struct capnp_list *l, uint32_t i)
{
	struct capnp_ptr p = { l->seg, 0, l->depth };

	if (i < l->count && l->nptrs > 0)
		p.loc = l->start + (((uint64_t)i * l->step_bits) >> 3) + l->data_bytes;
	return p;
}

/* Element i of a struct list (or of a primitive list read as structs). */
static inline int
capnp_list_struct(const struct capnp_list *l, uint32_t i, struct capnp_struct *out)
{
	memset(out, 0, sizeof(*out));
	if (i >= l->count)
		return E_RANGE;
	if (l->esize == CAPNP_SZ_BIT)
		return E_CORRUPT;
	if (l->depth <= 0)
		return E_LIMIT;
	out->seg = l->seg;
	out->data = l->start + (((uint64_t)i * l->step_bits) >> 3);
	out->data_bytes = l->data_bytes;
	out->ptrs = out->data + l->data_bytes;
	out->nptrs = l->nptrs;
	out->depth = l->depth;
	return 0;
}

/* ---- building a message ---- */

struct capnp_bseg {
	uint8_t *base;
	uint32_t used;   /* words */
	uint32_t cap;    /* words */
	uint32_t zeroed; /* words [0, zeroed) are zeroed or allocated */
};

struct capnp_builder {
	struct capnp_bseg seg[CAPNP_MAX_SEGMENTS];
	uint32_t nseg;
	uint8_t *arena;       /* not yet carved */
	size_t arena_words;
	uint32_t seg_words;   /* preferred size of a new segment */
};

/* A reference to one pointer word being built. */
struct capnp_bptr {
	struct capnp_builder *b;
	uint32_t seg;
	uint8_t *loc;
};

struct capnp_bstruct {
	struct capnp_builder *b;
	uint32_t seg;
	uint8_t *data;
	uint8_t *ptrs;
	uint32_t data_bytes;
	uint16_t nptrs;
};

struct capnp_blist {
	struct capnp_builder *b;
	uint32_t seg;
	uint8_t *start;
	uint32_t count;
	uint32_t step_bits;
	uint32_t data_bytes;
	uint16_t nptrs;
	uint8_t esize;
};

/* buf: the arena (8-byte aligned is fastest). seg_words: size of each segment
 * carved from it (0: one segment as large as the arena). */
int capnp_builder_init(struct capnp_builder *b, void *buf, size_t len, uint32_t seg_words);
int capnp_builder_root(struct capnp_builder *b, uint16_t data_words, uint16_t ptr_words,
    struct capnp_bstruct *out);
struct capnp_bptr capnp_builder_root_ptr(struct capnp_builder *b);
/* Bytes of stream framing the message needs; capnp_builder_write() returns the
 * bytes written or E_TOOBIG. */
size_t capnp_builder_size(const struct capnp_builder *b);
int capnp_builder_write(const struct capnp_builder *b, void *out, size_t cap);
/* Building in place: the message's one segment is buf + 8 .. buf + len (buf
 * 8-aligned, len >= 16, else E_INVAL and an empty builder every allocation
 * fails on); capnp_builder_frame then writes only the segment table in
 * front of it and returns the message length: nothing is copied. E_INVAL
 * for a builder not begun on buf, E_TOOBIG when the message exceeds cap. */
int capnp_builder_init_framed(struct capnp_builder *b, void *buf, size_t len);
int capnp_builder_frame(const struct capnp_builder *b, void *buf, size_t cap);
/* Read back what was built (segments are shared, not copied). */
int capnp_builder_reader(const struct capnp_builder *b, struct capnp_msg *m);

static inline struct capnp_bptr
capnp_bstruct_ptr(const struct capnp_bstruct *s, uint16_t i)
{
	struct capnp_bptr p = { s->b, s->seg, 0 };
	if (i < s->nptrs)
		p.loc = s->ptrs + (size_t)i * 8;
	return p;
}

#define CAPNP_DEF_SET(name, type, n)                                        \
	static inline void                                                   \
	capnp_set_##name(const struct capnp_bstruct *s, uint32_t off, type v) \
	{                                                                    \
		if ((uint64_t)off + (n) <= s->data_bytes)                    \
			memcpy(s->data + off, &v, (n));                      \
	}
CAPNP_DEF_SET(u8, uint8_t, 1)
CAPNP_DEF_SET(u16, uint16_t, 2)
CAPNP_DEF_SET(u32, uint32_t, 4)
CAPNP_DEF_SET(u64, uint64_t, 8)
#undef CAPNP_DEF_SET

static inline void
capnp_set_bool(const struct capnp_bstruct *s, uint32_t bit, bool v)
{
	if (bit / 8 >= s->data_bytes)
		return;
	uint8_t m = (uint8_t)(1u << (bit % 8));
	s->data[bit / 8] = (uint8_t)(v ? (s->data[bit / 8] | m) : (s->data[bit / 8] & ~m));
}

int capnp_bptr_init_struct(struct capnp_bptr p, uint16_t data_words, uint16_t ptr_words,
    struct capnp_bstruct *out);
/* Primitive or pointer list (esize CAPNP_SZ_VOID..CAPNP_SZ_PTR). */
int capnp_bptr_init_list(struct capnp_bptr p, enum capnp_esize esize, uint32_t count,
    struct capnp_blist *out);
int capnp_bptr_init_struct_list(struct capnp_bptr p, uint32_t count, uint16_t data_words,
    uint16_t ptr_words, struct capnp_blist *out);
/* Byte-list setters. The inline fast path covers the common case (room in
 * the pointer's own segment: a near pointer); everything else, including
 * every error, goes through capnp_bptr_set_bytes() in build.c. */
int capnp_bptr_set_bytes(struct capnp_bptr p, const void *d, size_t len, size_t nul);
/* A byte list of n bytes for the caller to fill at *at (a driver reading a
 * device straight into a message): not zeroed, except its last word (which
 * holds the padding) and whatever the builder zeroed ahead already. */
int capnp_bptr_alloc_bytes(struct capnp_bptr p, size_t n, uint8_t **at);

static inline int
capnp_bptr_set_blob_fast(struct capnp_bptr p, const void *d, size_t len, size_t nul)
{
	struct capnp_bseg *sg;
	uint64_t n = (uint64_t)len + nul, words = (n + 7) / 8;
	uint8_t *at;
	int64_t off;

	if (p.loc == 0 || n == 0 || n >= (1u << 29))
		return capnp_bptr_set_bytes(p, d, len, nul);
	sg = &p.b->seg[p.seg];
	if (words > (uint64_t)sg->cap - sg->used)
		return capnp_bptr_set_bytes(p, d, len, nul);
	at = sg->base + (size_t)sg->used * 8;
	sg->used += (uint32_t)words;
	if (sg->used > sg->zeroed)
		sg->zeroed = sg->used;
	off = (at - p.loc) / 8 - 1;
	capnp_st64(p.loc, 1 | ((uint64_t)((uint32_t)off << 2)) | ((uint64_t)CAPNP_SZ_BYTE << 32) |
	    (n << 35));
	capnp_st64(at + (words - 1) * 8, 0);
	memcpy(at, d, len);
	return 0;
}

static inline int
capnp_bptr_set_text(struct capnp_bptr p, const char *s, size_t len)
{
	return capnp_bptr_set_blob_fast(p, s, len, 1);
}

static inline int
capnp_bptr_set_data(struct capnp_bptr p, const void *d, size_t len)
{
	return capnp_bptr_set_blob_fast(p, d, len, 0);
}
int capnp_bptr_set_cap(struct capnp_bptr p, uint32_t index);
/* Deep-copy what src points to (any kind) into p. */
int capnp_bptr_copy(struct capnp_bptr p, struct capnp_ptr src);

static inline struct capnp_bptr
capnp_blist_ptr(const struct capnp_blist *l, uint32_t i)
{
	struct capnp_bptr p = { l->b, l->seg, 0 };

	if (i < l->count && l->nptrs > 0)
		p.loc = l->start + (((uint64_t)i * l->step_bits) >> 3) + l->data_bytes;
	return p;
}

static inline int
capnp_blist_struct(const struct capnp_blist *l, uint32_t i, struct capnp_bstruct *out)
{
	memset(out, 0, sizeof(*out));
	if (i >= l->count || l->esize != CAPNP_SZ_COMPOSITE)
		return E_RANGE;
	out->b = l->b;
	out->seg = l->seg;
	out->data = l->start + (((uint64_t)i * l->step_bits) >> 3);
	out->data_bytes = l->data_bytes;
	out->ptrs = out->data + l->data_bytes;
	out->nptrs = l->nptrs;
	return 0;
}

void capnp_blist_set_bool(const struct capnp_blist *l, uint32_t i, bool v);

static inline uint8_t *
capnp_blist_elem(const struct capnp_blist *l, uint32_t i, uint32_t need)
{
	if (i >= l->count || l->data_bytes < need)
		return 0;
	return l->start + (((uint64_t)i * l->step_bits) >> 3);
}

#define CAPNP_DEF_LSET(name, type, n)                                        \
	static inline void                                                   \
	capnp_blist_set_##name(const struct capnp_blist *l, uint32_t i, type v) \
	{                                                                    \
		uint8_t *p = capnp_blist_elem(l, i, (n));                    \
		if (p)                                                       \
			memcpy(p, &v, (n));                                  \
	}
CAPNP_DEF_LSET(u8, uint8_t, 1)
CAPNP_DEF_LSET(u16, uint16_t, 2)
CAPNP_DEF_LSET(u32, uint32_t, 4)
CAPNP_DEF_LSET(u64, uint64_t, 8)
#undef CAPNP_DEF_LSET

/* ---- packed encoding ---- */

/* Worst-case packed size of n unpacked bytes (a constant expression). */
#define CAPNP_PACK_BOUND(n) ((n) + (n) / 8 + 16)

static inline size_t
capnp_pack_bound(size_t n)
{
	return CAPNP_PACK_BOUND(n);
}

/* in_len must be a multiple of 8. Returns bytes written or E_TOOBIG. */
int capnp_pack(const void *in, size_t in_len, void *out, size_t out_cap);
/* Returns bytes written; E_CORRUPT if in is truncated, E_TOOBIG if out is too
 * small. */
int capnp_unpack(const void *in, size_t in_len, void *out, size_t out_cap);

#endif
