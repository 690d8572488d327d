/*
 * lib/capnp runtime on hand-made words: every pointer kind, every limit and
 * every malformed-input path names the error it expects. Interop with the
 * official tool is in test_capnp_gen.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "capnp/capnp.h"

/* pointer words */
static uint64_t
sp(int32_t off, uint16_t dw, uint16_t pw)
{
	return ((uint64_t)((uint32_t)off << 2)) | ((uint64_t)dw << 32) | ((uint64_t)pw << 48);
}

static uint64_t
lp(int32_t off, unsigned sz, uint32_t n)
{
	return 1 | ((uint64_t)((uint32_t)off << 2)) | ((uint64_t)sz << 32) | ((uint64_t)n << 35);
}

static uint64_t
fp(uint32_t seg, uint32_t pad, bool dbl)
{
	return 2 | (dbl ? 4 : 0) | ((uint64_t)pad << 3) | ((uint64_t)seg << 32);
}

static struct capnp_msg M;

/* A message of up to three segments from word arrays. */
static void
msg3(const uint64_t *s0, uint32_t n0, const uint64_t *s1, uint32_t n1, const uint64_t *s2,
    uint32_t n2)
{
	const void *segs[3] = { s0, s1, s2 };
	uint32_t words[3] = { n0, n1, n2 };

	assert_int_equal(capnp_msg_init_segments(&M, segs, words, s2 ? 3 : s1 ? 2 : 1), 0);
}

static int
root_u64(uint64_t *v)
{
	struct capnp_struct s;
	int err = capnp_msg_root(&M, &s);

	*v = capnp_get_u64(&s, 0);
	return err;
}

static void
test_segment_table(void **state)
{
	uint32_t buf[80] = { 0 };
	uint64_t v;

	assert_int_equal(capnp_msg_init(&M, buf, 0), E_CORRUPT);
	assert_int_equal(capnp_msg_init(&M, buf, 3), E_CORRUPT);
	/* one segment of 2 words: root struct pointer + 1 data word */
	buf[0] = 0;
	buf[1] = 2;
	memcpy(&buf[2], &(uint64_t){ sp(0, 1, 0) }, 8);
	memcpy(&buf[4], &(uint64_t){ 42 }, 8);
	assert_int_equal(capnp_msg_init(&M, buf, 24), 24);
	assert_int_equal(root_u64(&v), 0);
	assert_true(v == 42);
	/* trailing bytes are left to the caller (the next message) */
	assert_int_equal(capnp_msg_init(&M, buf, 40), 24);
	/* truncated segment */
	assert_int_equal(capnp_msg_init(&M, buf, 23), E_CORRUPT);
	assert_int_equal(capnp_msg_init(&M, buf, 8), E_CORRUPT);
	/* huge segment size */
	buf[1] = 0xffffffffu;
	assert_int_equal(capnp_msg_init(&M, buf, sizeof(buf)), E_CORRUPT);
	/* segment count: 64 is the limit, 65 is refused */
	memset(buf, 0, sizeof(buf));
	buf[0] = CAPNP_MAX_SEGMENTS - 1;
	assert_int_equal(capnp_msg_init(&M, buf, sizeof(buf)), 4 + 4 * CAPNP_MAX_SEGMENTS + 4);
	buf[0] = CAPNP_MAX_SEGMENTS;
	assert_int_equal(capnp_msg_init(&M, buf, sizeof(buf)), E_LIMIT);
	buf[0] = 0xffffffffu;
	assert_int_equal(capnp_msg_init(&M, buf, sizeof(buf)), E_LIMIT);
	/* header that does not fit */
	buf[0] = 2;
	assert_int_equal(capnp_msg_init(&M, buf, 12), E_CORRUPT);
	/* an empty first segment has no root */
	buf[0] = 0;
	buf[1] = 0;
	assert_int_equal(capnp_msg_init(&M, buf, 8), 8);
	assert_int_equal(root_u64(&v), E_CORRUPT);
}

static void
test_struct_bounds(void **state)
{
	uint64_t seg[4] = { 0, 7, 8, 9 };
	struct capnp_struct s;
	uint64_t v;

	seg[0] = sp(2, 1, 0); /* last word: fits */
	msg3(seg, 4, 0, 0, 0, 0);
	assert_int_equal(root_u64(&v), 0);
	assert_true(v == 9);
	seg[0] = sp(2, 1, 1); /* one word past the end */
	msg3(seg, 4, 0, 0, 0, 0);
	assert_int_equal(root_u64(&v), E_RANGE);
	seg[0] = sp(-2, 1, 0); /* before the segment */
	msg3(seg, 4, 0, 0, 0, 0);
	assert_int_equal(root_u64(&v), E_RANGE);
	seg[0] = sp(0x1fffffff, 1, 0); /* largest positive offset */
	msg3(seg, 4, 0, 0, 0, 0);
	assert_int_equal(root_u64(&v), E_RANGE);
	seg[0] = sp(0, 0xffff, 0xffff);
	msg3(seg, 4, 0, 0, 0, 0);
	assert_int_equal(root_u64(&v), E_RANGE);
	/* zero-sized struct: offset -1 is the canonical encoding, not null */
	seg[0] = sp(-1, 0, 0);
	msg3(seg, 4, 0, 0, 0, 0);
	assert_int_equal(capnp_msg_root(&M, &s), 0);
	assert_false(capnp_ptr_is_null(capnp_msg_root_ptr(&M)));
	/* a list where a struct is expected */
	seg[0] = lp(0, CAPNP_SZ_BYTE, 3);
	msg3(seg, 4, 0, 0, 0, 0);
	assert_int_equal(root_u64(&v), E_CORRUPT);
	/* schema evolution: fields past the data/pointer sections are defaults */
	seg[0] = sp(0, 1, 0);
	seg[1] = 0x1122334455667788ull;
	msg3(seg, 4, 0, 0, 0, 0);
	assert_int_equal(capnp_msg_root(&M, &s), 0);
	assert_int_equal(capnp_get_u32(&s, 4), 0x11223344);
	assert_int_equal(capnp_get_u32(&s, 6), 0);
	assert_int_equal(capnp_get_u64(&s, 8), 0);
	assert_false(capnp_get_bool(&s, 64));
	assert_true(capnp_get_bool(&s, 3));
	assert_true(capnp_ptr_is_null(capnp_struct_ptr(&s, 0)));
}

static void
test_far_pointers(void **state)
{
	uint64_t s0[1], s1[3], s2[2];
	uint64_t v;

	/* single far: seg0 -> pad in seg1 -> content after pad */
	s0[0] = fp(1, 1, false);
	s1[0] = 0;
	s1[1] = sp(0, 1, 0);
	s1[2] = 42;
	msg3(s0, 1, s1, 3, 0, 0);
	assert_int_equal(root_u64(&v), 0);
	assert_true(v == 42);
	/* segment id out of range */
	s0[0] = fp(5, 1, false);
	msg3(s0, 1, s1, 3, 0, 0);
	assert_int_equal(root_u64(&v), E_CORRUPT);
	/* landing pad out of bounds */
	s0[0] = fp(1, 3, false);
	msg3(s0, 1, s1, 3, 0, 0);
	assert_int_equal(root_u64(&v), E_CORRUPT);
	/* far pointer to a far pointer: refused, no chains */
	s0[0] = fp(1, 0, false);
	s1[0] = fp(1, 1, false);
	msg3(s0, 1, s1, 3, 0, 0);
	assert_int_equal(root_u64(&v), E_CORRUPT);
	/* far pointer to a capability pointer */
	s1[0] = 3;
	msg3(s0, 1, s1, 3, 0, 0);
	assert_int_equal(root_u64(&v), E_CORRUPT);
	/* far pointer to itself */
	s0[0] = fp(0, 0, false);
	msg3(s0, 1, s1, 3, 0, 0);
	assert_int_equal(root_u64(&v), E_CORRUPT);

	/* double far: pad (far to seg2 word 0, tag) in seg1, content in seg2 */
	s0[0] = fp(1, 1, true);
	s1[0] = 0;
	s1[1] = fp(2, 0, false);
	s1[2] = sp(0, 1, 0);
	s2[0] = 77;
	s2[1] = 0;
	msg3(s0, 1, s1, 3, s2, 2);
	assert_int_equal(root_u64(&v), 0);
	assert_true(v == 77);
	/* content out of bounds */
	s1[2] = sp(0, 3, 0);
	msg3(s0, 1, s1, 3, s2, 2);
	assert_int_equal(root_u64(&v), E_RANGE);
	/* pad whose first word is double-far (bad landing pad) */
	s1[1] = fp(2, 0, true);
	s1[2] = sp(0, 1, 0);
	msg3(s0, 1, s1, 3, s2, 2);
	assert_int_equal(root_u64(&v), E_CORRUPT);
	/* pad whose first word is not a far pointer at all */
	s1[1] = sp(0, 1, 0);
	msg3(s0, 1, s1, 3, s2, 2);
	assert_int_equal(root_u64(&v), E_CORRUPT);
	/* tag that is itself far */
	s1[1] = fp(2, 0, false);
	s1[2] = fp(2, 0, false);
	msg3(s0, 1, s1, 3, s2, 2);
	assert_int_equal(root_u64(&v), E_CORRUPT);
	/* tag with a nonzero offset */
	s1[2] = sp(1, 1, 0);
	msg3(s0, 1, s1, 3, s2, 2);
	assert_int_equal(root_u64(&v), E_CORRUPT);
	/* two-word pad crossing the end of its segment */
	s0[0] = fp(1, 2, true);
	msg3(s0, 1, s1, 3, s2, 2);
	assert_int_equal(root_u64(&v), E_CORRUPT);
	/* double-far landing in a bad segment */
	s0[0] = fp(1, 1, true);
	s1[1] = fp(9, 0, false);
	s1[2] = sp(0, 1, 0);
	msg3(s0, 1, s1, 3, s2, 2);
	assert_int_equal(root_u64(&v), E_CORRUPT);
	/* far pointers in a trusted constant segment are refused */
	{
		static const uint64_t c[2] = { 2 | (1 << 3), 0 };
		const struct capnp_seg cs = { (const uint8_t *)c, 2, 0, 0 };
		struct capnp_struct s;
		assert_int_equal(capnp_ptr_struct(capnp_ptr_const(&cs, 8), &s), E_CORRUPT);
	}
}

static int
root_list(unsigned expect, struct capnp_list *l)
{
	return capnp_ptr_list(capnp_msg_root_ptr(&M), expect, l);
}

static void
test_lists(void **state)
{
	uint64_t seg[8] = { 0 };
	struct capnp_list l;
	struct capnp_struct s;

	/* composite: 2 elements of (1 data, 0 ptr) in 2 words */
	seg[0] = lp(0, CAPNP_SZ_COMPOSITE, 2);
	seg[1] = sp(2, 1, 0);
	seg[2] = 5;
	seg[3] = 6;
	msg3(seg, 8, 0, 0, 0, 0);
	assert_int_equal(root_list(CAPNP_SZ_COMPOSITE, &l), 0);
	assert_int_equal(l.count, 2);
	assert_int_equal(capnp_list_struct(&l, 1, &s), 0);
	assert_true(capnp_get_u64(&s, 0) == 6);
	assert_int_equal(capnp_list_struct(&l, 2, &s), E_RANGE);
	/* a struct list may stand in for an upgraded List(UInt64) */
	assert_int_equal(root_list(CAPNP_SZ_8, &l), 0);
	assert_true(capnp_list_u64(&l, 0) == 5);
	/* ... but not for a pointer list (no pointer section) */
	assert_int_equal(root_list(CAPNP_SZ_PTR, &l), E_CORRUPT);
	/* tag mismatch: 3 elements of 1 word do not fit in 2 words */
	seg[1] = sp(3, 1, 0);
	msg3(seg, 8, 0, 0, 0, 0);
	assert_int_equal(root_list(CAPNP_SZ_COMPOSITE, &l), E_CORRUPT);
	/* tag that is not a struct tag */
	seg[1] = lp(2, CAPNP_SZ_8, 1);
	msg3(seg, 8, 0, 0, 0, 0);
	assert_int_equal(root_list(CAPNP_SZ_COMPOSITE, &l), E_CORRUPT);
	/* composite words past the end of the segment */
	seg[0] = lp(0, CAPNP_SZ_COMPOSITE, 7);
	seg[1] = sp(1, 1, 0);
	msg3(seg, 8, 0, 0, 0, 0);
	assert_int_equal(root_list(CAPNP_SZ_COMPOSITE, &l), E_RANGE);
	/* primitive list past the end */
	seg[0] = lp(0, CAPNP_SZ_4, 15);
	msg3(seg, 8, 0, 0, 0, 0);
	assert_int_equal(root_list(CAPNP_SZ_4, &l), E_RANGE);
	seg[0] = lp(0, CAPNP_SZ_4, 14);
	msg3(seg, 8, 0, 0, 0, 0);
	assert_int_equal(root_list(CAPNP_SZ_4, &l), 0);
	/* wrong element size */
	assert_int_equal(root_list(CAPNP_SZ_8, &l), E_CORRUPT);
	/* a primitive list read as structs: each element is a tiny struct */
	assert_int_equal(root_list(CAPNP_SZ_COMPOSITE, &l), 0);
	assert_int_equal(capnp_list_struct(&l, 0, &s), 0);
	assert_int_equal(s.data_bytes, 4);
	/* bit lists are never struct lists */
	seg[0] = lp(0, CAPNP_SZ_BIT, 10);
	seg[1] = 0x205;
	msg3(seg, 8, 0, 0, 0, 0);
	assert_int_equal(root_list(CAPNP_SZ_COMPOSITE, &l), E_CORRUPT);
	assert_int_equal(root_list(CAPNP_SZ_BIT, &l), 0);
	assert_true(capnp_list_bool(&l, 0) && !capnp_list_bool(&l, 1) && capnp_list_bool(&l, 9));
	assert_false(capnp_list_bool(&l, 10));
	/* void list */
	seg[0] = lp(0, CAPNP_SZ_VOID, 1000);
	msg3(seg, 8, 0, 0, 0, 0);
	assert_int_equal(root_list(CAPNP_SZ_VOID, &l), 0);
	assert_int_equal(l.count, 1000);
	/* pointer list holding a capability and a null */
	seg[0] = lp(0, CAPNP_SZ_PTR, 2);
	seg[1] = 3 | (7ull << 32);
	seg[2] = 0;
	msg3(seg, 8, 0, 0, 0, 0);
	assert_int_equal(root_list(CAPNP_SZ_PTR, &l), 0);
	{
		uint32_t cap = 0;
		assert_int_equal(capnp_ptr_kind(capnp_list_ptr(&l, 0)), CAPNP_KIND_CAP);
		assert_int_equal(capnp_ptr_cap(capnp_list_ptr(&l, 0), &cap), 0);
		assert_int_equal(cap, 7);
		assert_int_equal(capnp_ptr_cap(capnp_list_ptr(&l, 1), &cap), E_NOENT);
		assert_int_equal(capnp_ptr_struct(capnp_list_ptr(&l, 0), &s), E_CORRUPT);
	}
	/* "other" pointer that is not a capability */
	seg[1] = 3 | (1 << 2);
	msg3(seg, 8, 0, 0, 0, 0);
	assert_int_equal(root_list(CAPNP_SZ_PTR, &l), 0);
	assert_int_equal(capnp_ptr_kind(capnp_list_ptr(&l, 0)), E_CORRUPT);
}

static void
test_text_data(void **state)
{
	uint64_t seg[4] = { 0 };
	struct capnp_text t;
	struct capnp_data d;

	seg[0] = lp(0, CAPNP_SZ_BYTE, 3);
	memcpy(&seg[1], "hi", 3);
	msg3(seg, 4, 0, 0, 0, 0);
	assert_int_equal(capnp_ptr_text(capnp_msg_root_ptr(&M), &t), 0);
	assert_int_equal(t.len, 2);
	assert_string_equal(t.str, "hi");
	assert_int_equal(capnp_ptr_data(capnp_msg_root_ptr(&M), &d), 0);
	assert_int_equal(d.len, 3);
	/* not NUL-terminated */
	memcpy(&seg[1], "hi!", 3);
	msg3(seg, 4, 0, 0, 0, 0);
	assert_int_equal(capnp_ptr_text(capnp_msg_root_ptr(&M), &t), E_CORRUPT);
	assert_int_equal(t.len, 0);
	/* empty byte list is not valid text (no NUL) */
	seg[0] = lp(0, CAPNP_SZ_BYTE, 0);
	msg3(seg, 4, 0, 0, 0, 0);
	assert_int_equal(capnp_ptr_text(capnp_msg_root_ptr(&M), &t), E_CORRUPT);
	assert_int_equal(capnp_ptr_data(capnp_msg_root_ptr(&M), &d), 0);
	assert_int_equal(d.len, 0);
	/* text must be a byte list */
	seg[0] = lp(0, CAPNP_SZ_2, 2);
	msg3(seg, 4, 0, 0, 0, 0);
	assert_int_equal(capnp_ptr_text(capnp_msg_root_ptr(&M), &t), E_CORRUPT);
	seg[0] = lp(0, CAPNP_SZ_COMPOSITE, 1);
	seg[1] = sp(1, 1, 0);
	msg3(seg, 4, 0, 0, 0, 0);
	assert_int_equal(capnp_ptr_data(capnp_msg_root_ptr(&M), &d), E_CORRUPT);
	/* null text reads as "" */
	seg[0] = 0;
	msg3(seg, 4, 0, 0, 0, 0);
	assert_int_equal(capnp_ptr_text(capnp_msg_root_ptr(&M), &t), 0);
	assert_string_equal(t.str, "");
}

static void
test_traversal_limit(void **state)
{
	/* 200 pointers aliasing one 100-word struct: 20000 words of reading
	 * from a 302-word message. */
	enum { N = 200, W = 100 };
	static uint64_t seg[1 + N + W + 1];
	struct capnp_list l;
	struct capnp_struct s;
	uint32_t i;
	int err = 0;

	memset(seg, 0, sizeof(seg));
	seg[0] = lp(0, CAPNP_SZ_PTR, N);
	for (i = 0; i < N; i++)
		seg[1 + i] = sp((int32_t)(N - i - 1), W, 0);
	msg3(seg, 1 + N + W, 0, 0, 0, 0);
	capnp_msg_set_limits(&M, 5000, 64);
	assert_int_equal(root_list(CAPNP_SZ_PTR, &l), 0);
	for (i = 0; i < N && err == 0; i++)
		err = capnp_ptr_struct(capnp_list_ptr(&l, i), &s);
	assert_int_equal(err, E_LIMIT);
	assert_true(i <= 5000 / W + 1);
	/* once exhausted, it stays exhausted */
	assert_int_equal(capnp_ptr_struct(capnp_list_ptr(&l, 0), &s), E_LIMIT);
	/* the default budget allows it */
	msg3(seg, 1 + N + W, 0, 0, 0, 0);
	assert_int_equal(root_list(CAPNP_SZ_PTR, &l), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(capnp_ptr_struct(capnp_list_ptr(&l, i), &s), 0);
	/* zero-sized elements: a one-word message claiming 2^29-1 voids */
	seg[0] = lp(0, CAPNP_SZ_VOID, (1u << 29) - 1);
	msg3(seg, 1, 0, 0, 0, 0);
	assert_int_equal(root_list(CAPNP_SZ_VOID, &l), E_LIMIT);
	/* ... and 2^29-1 empty structs behind a composite tag */
	seg[0] = lp(0, CAPNP_SZ_COMPOSITE, 0);
	seg[1] = sp((1 << 29) - 1, 0, 0);
	msg3(seg, 2, 0, 0, 0, 0);
	assert_int_equal(root_list(CAPNP_SZ_COMPOSITE, &l), E_LIMIT);
	seg[1] = sp(1000, 0, 0);
	msg3(seg, 2, 0, 0, 0, 0);
	assert_int_equal(root_list(CAPNP_SZ_COMPOSITE, &l), 0);
	assert_int_equal(l.count, 1000);
}

static void
test_nesting_limit(void **state)
{
	static uint8_t arena[1 << 14];
	struct capnp_builder b;
	struct capnp_bstruct s, c;
	struct capnp_struct r;
	int depth, err;

	assert_int_equal(capnp_builder_init(&b, arena, sizeof(arena), 0), 0);
	assert_int_equal(capnp_builder_root(&b, 0, 1, &s), 0);
	for (depth = 0; depth < 100; depth++) {
		assert_int_equal(capnp_bptr_init_struct(capnp_bstruct_ptr(&s, 0), 0, 1, &c), 0);
		s = c;
	}
	for (int limit = 64; limit <= 128; limit += 64) {
		assert_int_equal(capnp_builder_reader(&b, &M), 0);
		capnp_msg_set_limits(&M, CAPNP_DEFAULT_TRAVERSAL, limit);
		err = capnp_msg_root(&M, &r);
		for (depth = 0; err == 0 && !capnp_ptr_is_null(capnp_struct_ptr(&r, 0)); depth++)
			err = capnp_ptr_struct(capnp_struct_ptr(&r, 0), &r);
		if (limit == 64) {
			/* the root and 63 levels below it are read; the 64th fails */
			assert_int_equal(err, E_LIMIT);
			assert_int_equal(depth, 64);
		} else {
			assert_int_equal(err, 0);
			assert_int_equal(depth, 100);
		}
	}
}

static void
test_builder_far_and_limits(void **state)
{
	static uint8_t arena[1 << 12], out[1 << 13];
	struct capnp_builder b;
	struct capnp_bstruct r, c;
	struct capnp_blist l;
	struct capnp_struct rr, cc;
	struct capnp_text t;
	uint32_t i;
	int n;

	/* 4-word segments: every object lands behind a far pointer */
	assert_int_equal(capnp_builder_init(&b, arena, sizeof(arena), 4), 0);
	assert_int_equal(capnp_builder_root(&b, 1, 3, &r), 0);
	capnp_set_u64(&r, 0, 0xabcdef);
	assert_int_equal(capnp_bptr_init_struct(capnp_bstruct_ptr(&r, 0), 2, 0, &c), 0);
	capnp_set_u32(&c, 12, 99);
	assert_int_equal(capnp_bptr_set_text(capnp_bstruct_ptr(&r, 1), "far away", 8), 0);
	assert_int_equal(capnp_bptr_init_list(capnp_bstruct_ptr(&r, 2), CAPNP_SZ_2, 10, &l), 0);
	for (i = 0; i < 10; i++)
		capnp_blist_set_u16(&l, i, (uint16_t)(i * 3));
	assert_true(b.nseg >= 3);
	n = capnp_builder_write(&b, out, sizeof(out));
	assert_int_equal(n, (int)capnp_builder_size(&b));
	assert_int_equal(capnp_builder_write(&b, out, 8), E_TOOBIG);
	assert_int_equal(capnp_msg_init(&M, out, (size_t)n), n);
	assert_int_equal(capnp_msg_root(&M, &rr), 0);
	assert_true(capnp_get_u64(&rr, 0) == 0xabcdef);
	assert_int_equal(capnp_ptr_struct(capnp_struct_ptr(&rr, 0), &cc), 0);
	assert_int_equal(capnp_get_u32(&cc, 12), 99);
	assert_int_equal(capnp_ptr_text(capnp_struct_ptr(&rr, 1), &t), 0);
	assert_string_equal(t.str, "far away");
	{
		struct capnp_list rl;
		assert_int_equal(capnp_ptr_list(capnp_struct_ptr(&rr, 2), CAPNP_SZ_2, &rl), 0);
		assert_int_equal(capnp_list_u16(&rl, 9), 27);
	}
	/* arena exhausted */
	assert_int_equal(capnp_builder_init(&b, arena, 64, 0), 0);
	assert_int_equal(capnp_builder_root(&b, 1, 1, &r), 0);
	assert_int_equal(capnp_bptr_init_list(capnp_bstruct_ptr(&r, 0), CAPNP_SZ_8, 100, &l), E_NOMEM);
	/* too many segments */
	assert_int_equal(capnp_builder_init(&b, arena, sizeof(arena), 1), 0);
	assert_int_equal(capnp_builder_root(&b, 0, 1, &r), 0);
	n = 0;
	for (i = 0; i < 200 && n == 0; i++) {
		n = capnp_bptr_init_struct(capnp_bstruct_ptr(&r, 0), 0, 1, &c);
		r = c;
	}
	assert_int_equal(n, E_LIMIT);
	assert_true(b.nseg <= CAPNP_MAX_SEGMENTS);
	/* oversized lists */
	assert_int_equal(capnp_builder_init(&b, arena, sizeof(arena), 0), 0);
	assert_int_equal(capnp_builder_root(&b, 0, 1, &r), 0);
	assert_int_equal(capnp_bptr_init_list(capnp_bstruct_ptr(&r, 0), CAPNP_SZ_8, 1u << 29, &l),
	    E_TOOBIG);
	assert_int_equal(capnp_bptr_init_struct_list(capnp_bstruct_ptr(&r, 0), 1u << 28, 2, 0, &l),
	    E_TOOBIG);
	/* pointer index past the pointer section */
	assert_int_equal(capnp_bptr_set_text(capnp_bstruct_ptr(&r, 1), "x", 1), E_RANGE);
}

static void
test_copy(void **state)
{
	static uint8_t a1[1 << 12], a2[1 << 12], o1[1 << 13], o2[1 << 13];
	struct capnp_builder b1, b2;
	struct capnp_bstruct r, e;
	struct capnp_blist l, pl;
	int n1, n2;

	assert_int_equal(capnp_builder_init(&b1, a1, sizeof(a1), 0), 0);
	assert_int_equal(capnp_builder_root(&b1, 1, 4, &r), 0);
	capnp_set_u64(&r, 0, 5);
	assert_int_equal(capnp_bptr_set_text(capnp_bstruct_ptr(&r, 0), "copy", 4), 0);
	assert_int_equal(capnp_bptr_init_struct_list(capnp_bstruct_ptr(&r, 1), 2, 1, 1, &l), 0);
	assert_int_equal(capnp_blist_struct(&l, 1, &e), 0);
	capnp_set_u8(&e, 0, 9);
	assert_int_equal(capnp_bptr_set_data(capnp_bstruct_ptr(&e, 0), "\0\1", 2), 0);
	assert_int_equal(capnp_bptr_init_list(capnp_bstruct_ptr(&r, 2), CAPNP_SZ_PTR, 2, &pl), 0);
	assert_int_equal(capnp_bptr_set_cap(capnp_blist_ptr(&pl, 0), 4), 0);
	assert_int_equal(capnp_bptr_init_list(capnp_bstruct_ptr(&r, 3), CAPNP_SZ_BIT, 3, &l), 0);
	capnp_blist_set_bool(&l, 2, true);
	n1 = capnp_builder_write(&b1, o1, sizeof(o1));
	assert_true(n1 > 0);
	assert_int_equal(capnp_msg_init(&M, o1, (size_t)n1), n1);
	/* copy into a single-segment builder: same bytes (same allocation order) */
	assert_int_equal(capnp_builder_init(&b2, a2, sizeof(a2), 0), 0);
	assert_int_equal(capnp_bptr_copy(capnp_builder_root_ptr(&b2), capnp_msg_root_ptr(&M)), 0);
	n2 = capnp_builder_write(&b2, o2, sizeof(o2));
	assert_int_equal(n1, n2);
	assert_memory_equal(o1, o2, (size_t)n1);
	/* a copy of a hostile message fails with the reader's error */
	{
		uint64_t seg[2] = { sp(5, 1, 0), 0 };
		msg3(seg, 2, 0, 0, 0, 0);
		assert_int_equal(capnp_builder_init(&b2, a2, sizeof(a2), 0), 0);
		assert_int_equal(capnp_bptr_copy(capnp_builder_root_ptr(&b2), capnp_msg_root_ptr(&M)),
		    E_RANGE);
	}
}

static void
test_packed_vectors(void **state)
{
	static const struct {
		const char *name;
		uint8_t in[24];
		size_t in_len;
		int want;
	} cases[] = {
		{ "empty", { 0 }, 0, 0 },
		{ "zero word", { 0x00, 0x00 }, 2, 8 },
		{ "zero run", { 0x00, 0x02 }, 2, 24 },
		{ "sparse word", { 0x81, 0x01, 0x02 }, 3, 8 },
		{ "raw run", { 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 0x01, 9, 9, 9, 9, 9, 9, 9, 9 }, 18, 16 },
		{ "tag only", { 0x01 }, 1, E_CORRUPT },
		{ "zero tag without count", { 0x00 }, 1, E_CORRUPT },
		{ "sparse word truncated", { 0x81, 0x01 }, 2, E_CORRUPT },
		{ "ff without count", { 0xff, 1, 2, 3, 4, 5, 6, 7, 8 }, 9, E_CORRUPT },
		{ "ff run truncated", { 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 0x02, 9, 9, 9, 9, 9, 9, 9, 9 }, 18,
		    E_CORRUPT },
		{ "expansion past cap", { 0x00, 0xff }, 2, E_TOOBIG },
	};
	uint8_t out[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = capnp_unpack(cases[i].in, cases[i].in_len, out, sizeof(out));
		if (got != cases[i].want)
			fail_msg("%s: got %d want %d", cases[i].name, got, cases[i].want);
	}
	assert_int_equal(capnp_unpack((const uint8_t[]){ 0x81, 0x01, 0x02 }, 3, out, 8), 8);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[7], 2);
	assert_int_equal(capnp_unpack((const uint8_t[]){ 0x81, 0x01, 0x02 }, 3, out, 7), E_TOOBIG);
	assert_int_equal(capnp_pack(out, 7, out, sizeof(out)), E_INVAL);
}

static void
test_packed_roundtrip(void **state)
{
	static uint8_t in[4096], pk[CAPNP_PACK_BOUND(4096)], un[4096];
	unsigned seed = 1;
	int it, p, n;
	size_t i, len;

	for (it = 0; it < 500; it++) {
		len = 8 * (size_t)(seed % 513);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			/* mostly zeros, some dense runs */
			in[i] = (seed >> 16) % (it % 3 == 0 ? 2 : 7) == 0 ? (uint8_t)(seed >> 8) : 0;
		}
		p = capnp_pack(in, len, pk, sizeof(pk));
		assert_true(p >= 0 && (size_t)p <= capnp_pack_bound(len));
		n = capnp_unpack(pk, (size_t)p, un, sizeof(un));
		assert_int_equal(n, (int)len);
		assert_memory_equal(in, un, len);
		assert_int_equal(capnp_pack(in, len, pk, (size_t)p ? (size_t)p - 1 : 0),
		    len ? E_TOOBIG : 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segment_table),
		cmocka_unit_test(test_struct_bounds),
		cmocka_unit_test(test_far_pointers),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_text_data),
		cmocka_unit_test(test_traversal_limit),
		cmocka_unit_test(test_nesting_limit),
		cmocka_unit_test(test_builder_far_and_limits),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_packed_vectors),
		cmocka_unit_test(test_packed_roundtrip),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
