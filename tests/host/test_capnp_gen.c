/*
 * Generated accessors (tests/host/capnp/test.capnp through capnpc-c) against
 * messages encoded by the official tool, and interop the other way: what we
 * build, `capnp convert binary:text` reads back exactly like the official
 * fixture. Runs with cwd build/ (fixtures in build/capnp/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/err.h"
#include "capnp/capnp.h"
#include "tests/host/capnp/test.capnp.h"

#define SCHEMA "../tests/host/capnp/test.capnp"

static uint8_t *
load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(1 << 20);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

/* Run `cmd` with `in` on stdin; return its stdout (malloc'd, NUL-terminated). */
static char *
run(const char *cmd, const void *in, size_t len)
{
	char tmp[] = "capnp/tmp-XXXXXX", full[512];
	char *out = calloc(1, 1 << 20);
	int fd = mkstemp(tmp);
	FILE *p;
	size_t n;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, in, len), (ssize_t)len);
	close(fd);
	snprintf(full, sizeof(full), "%s < %s", cmd, tmp);
	p = popen(full, "r");
	assert_non_null(p);
	n = fread(out, 1, (1 << 20) - 1, p);
	out[n] = 0;
	assert_int_equal(pclose(p), 0);
	unlink(tmp);
	return out;
}

static int
text_eq(struct capnp_text t, const char *want)
{
	return t.len == strlen(want) && memcmp(t.str, want, t.len) == 0 && t.str[t.len] == 0;
}

static void
check_all(TestAll_R r)
{
	struct capnp_text t;
	struct capnp_data d;
	struct capnp_list l, l2;
	Inner_R in;

	assert_true(TestAll_get_boolF(r));
	assert_int_equal(TestAll_get_i8(r), -8);
	assert_int_equal(TestAll_get_i16(r), -1600);
	assert_int_equal(TestAll_get_i32(r), -70000);
	assert_true(TestAll_get_i64(r) == -9000000000LL);
	assert_int_equal(TestAll_get_u8(r), 250);
	assert_int_equal(TestAll_get_u16(r), 65000);
	assert_true(TestAll_get_u32(r) == 4000000001u);
	assert_true(TestAll_get_u64(r) == 18000000000000000000ull);
	assert_true(TestAll_get_f32(r) == 3.25f);
	assert_true(TestAll_get_f64(r) == -1.125);
	assert_int_equal(TestAll_get_text(r, &t), 0);
	assert_true(text_eq(t, "hello capnp"));
	assert_int_equal(TestAll_get_data(r, &d), 0);
	assert_int_equal(d.len, 4);
	assert_memory_equal(d.ptr, "\xde\xad\xbe\xef", 4);
	assert_int_equal(TestAll_get_inner(r, &in), 0);
	assert_int_equal(Inner_get_a(in), 5);
	assert_int_equal(Inner_get_name(in, &t), 0);
	assert_true(text_eq(t, "five"));
	assert_int_equal(TestAll_get_color(r), Color_green);
	assert_int_equal(TestAll_get_voidList(r, &l), 0);
	assert_int_equal(l.count, 3);
	assert_int_equal(TestAll_get_boolList(r, &l), 0);
	assert_int_equal(l.count, 9);
	assert_true(capnp_list_bool(&l, 0) && !capnp_list_bool(&l, 1) && capnp_list_bool(&l, 8));
	assert_int_equal(TestAll_get_u8List(r, &l), 0);
	assert_int_equal(capnp_list_u8(&l, 2), 3);
	assert_int_equal(TestAll_get_i16List(r, &l), 0);
	assert_int_equal((int16_t)capnp_list_u16(&l, 0), -1);
	assert_int_equal(capnp_list_u16(&l, 1), 300);
	assert_int_equal(TestAll_get_u32List(r, &l), 0);
	assert_int_equal(capnp_list_u32(&l, 2), 300000);
	assert_int_equal(capnp_list_u32(&l, 3), 0); /* past the end */
	assert_int_equal(TestAll_get_f64List(r, &l), 0);
	assert_true(capnp_f64(capnp_list_u64(&l, 1)) == -0.25);
	assert_int_equal(TestAll_get_textList(r, &l), 0);
	assert_int_equal(l.count, 3);
	assert_int_equal(capnp_ptr_text(capnp_list_ptr(&l, 1), &t), 0);
	assert_true(text_eq(t, "bc"));
	assert_int_equal(capnp_ptr_text(capnp_list_ptr(&l, 2), &t), 0);
	assert_true(text_eq(t, ""));
	assert_int_equal(TestAll_get_dataList(r, &l), 0);
	assert_int_equal(capnp_ptr_data(capnp_list_ptr(&l, 0), &d), 0);
	assert_int_equal(d.len, 1);
	assert_int_equal(TestAll_get_innerList(r, &l), 0);
	assert_int_equal(l.count, 3);
	assert_int_equal(Inner_list_get(&l, 2, &in), 0);
	assert_int_equal(Inner_get_a(in), 3);
	assert_int_equal(Inner_get_name(in, &t), 0);
	assert_true(text_eq(t, "three"));
	assert_int_equal(Inner_list_get(&l, 1, &in), 0);
	assert_false(Inner_has_name(in));
	assert_int_equal(Inner_list_get(&l, 3, &in), E_RANGE);
	assert_int_equal(TestAll_get_listList(r, &l), 0);
	assert_int_equal(l.count, 3);
	assert_int_equal(capnp_ptr_list(capnp_list_ptr(&l, 0), CAPNP_SZ_4, &l2), 0);
	assert_int_equal(capnp_list_u32(&l2, 1), 2);
	assert_int_equal(capnp_ptr_list(capnp_list_ptr(&l, 1), CAPNP_SZ_4, &l2), 0);
	assert_int_equal(l2.count, 0);
	assert_int_equal(TestAll_get_colorList(r, &l), 0);
	assert_int_equal(capnp_list_u16(&l, 0), Color_blue);
	assert_int_equal(TestAll_which(r), TestAll_which_num);
	assert_true(TestAll_get_num(r) == 123456789);
	assert_true(TestAll_outer_get_flag(TestAll_get_outer(r)));
	assert_int_equal(TestAll_outer_get_label(TestAll_get_outer(r), &t), 0);
	assert_true(text_eq(t, "grp"));
}

static void
test_read_official(void **state)
{
	struct capnp_msg m;
	TestAll_R r;
	size_t len;
	uint8_t *buf = load("capnp/all.bin", &len);

	assert_int_equal(capnp_msg_init(&m, buf, len), (int)len);
	assert_int_equal(TestAll_root(&m, &r), 0);
	check_all(r);
	free(buf);
}

static void
test_union_group(void **state)
{
	struct capnp_msg m;
	TestAll_R r;
	size_t len;
	uint8_t *buf = load("capnp/grp.bin", &len);

	assert_true(capnp_msg_init(&m, buf, len) > 0);
	assert_int_equal(TestAll_root(&m, &r), 0);
	assert_int_equal(TestAll_which(r), TestAll_which_grp);
	assert_int_equal(TestAll_grp_get_x(TestAll_get_grp(r)), -1);
	assert_int_equal(TestAll_grp_get_y(TestAll_get_grp(r)), 2);
	free(buf);
}

static void
check_defaults(Defaults_R r)
{
	struct capnp_text t;
	struct capnp_data d;
	struct capnp_list l;
	Inner_R in;

	assert_true(Defaults_get_boolF(r));
	assert_int_equal(Defaults_get_i8(r), -7);
	assert_int_equal(Defaults_get_i16(r), -1234);
	assert_int_equal(Defaults_get_i32(r), -123456);
	assert_true(Defaults_get_i64(r) == -1234567890123LL);
	assert_int_equal(Defaults_get_u8(r), 200);
	assert_int_equal(Defaults_get_u16(r), 60000);
	assert_true(Defaults_get_u32(r) == 4000000000u);
	assert_true(Defaults_get_u64(r) == 12345678901234567890ull);
	assert_true(Defaults_get_f32(r) == 1.5f);
	assert_true(Defaults_get_f64(r) == -2.25);
	assert_int_equal(Defaults_get_text(r, &t), 0);
	assert_true(text_eq(t, "def\"ault"));
	assert_int_equal(Defaults_get_data(r, &d), 0);
	assert_int_equal(d.len, 3);
	assert_memory_equal(d.ptr, "\x01\x02\xff", 3);
	assert_int_equal(Defaults_get_inner(r, &in), 0);
	assert_int_equal(Inner_get_a(in), 42);
	assert_int_equal(Inner_get_name(in, &t), 0);
	assert_true(text_eq(t, "dflt"));
	assert_int_equal(Defaults_get_color(r), Color_blue);
	assert_int_equal(Defaults_get_u32List(r, &l), 0);
	assert_int_equal(l.count, 3);
	assert_int_equal(capnp_list_u32(&l, 2), 9);
	assert_int_equal(Defaults_get_innerList(r, &l), 0);
	assert_int_equal(l.count, 2);
	assert_int_equal(Inner_list_get(&l, 1, &in), 0);
	assert_int_equal(Inner_get_a(in), 2);
	assert_int_equal(Inner_get_name(in, &t), 0);
	assert_true(text_eq(t, "two"));
}

static void
test_defaults(void **state)
{
	struct capnp_msg m;
	Defaults_R r;
	size_t len;
	uint8_t *buf = load("capnp/defaults.bin", &len);

	assert_true(capnp_msg_init(&m, buf, len) > 0);
	assert_int_equal(Defaults_root(&m, &r), 0);
	check_defaults(r);
	/* an empty reader (e.g. a null struct pointer) reads defaults too */
	memset(&r, 0, sizeof(r));
	check_defaults(r);
	free(buf);
	(void)m;
}

static void
test_defaults_roundtrip(void **state)
{
	/* Setting a field to its default stores zero bits (XOR encoding). */
	static uint8_t arena[4096];
	struct capnp_builder b;
	struct capnp_msg m;
	Defaults_B w;
	Defaults_R r;

	assert_int_equal(capnp_builder_init(&b, arena, sizeof(arena), 0), 0);
	assert_int_equal(Defaults_init_root(&b, &w), 0);
	Defaults_set_i32(w, -123456);
	Defaults_set_u8(w, 1);
	Defaults_set_boolF(w, false);
	Defaults_set_f64(w, 7.0);
	assert_int_equal(capnp_get_u32(&(struct capnp_struct){ .data = w.s.data,
	    .data_bytes = w.s.data_bytes }, 4), 0); /* i32 at its default: zero bits */
	assert_int_equal(capnp_builder_reader(&b, &m), 0);
	assert_int_equal(Defaults_root(&m, &r), 0);
	assert_int_equal(Defaults_get_i32(r), -123456);
	assert_int_equal(Defaults_get_u8(r), 1);
	assert_false(Defaults_get_boolF(r));
	assert_true(Defaults_get_f64(r) == 7.0);
	assert_int_equal(Defaults_get_i16(r), -1234);
}

static void
test_constants(void **state)
{
	Inner_R in;
	struct capnp_text t;
	struct capnp_list l;

	assert_int_equal(constU32, 77);
	assert_true(constI64 == -5);
	assert_true(constF64 == 0.5);
	assert_string_equal(constText, "hello\nworld");
	assert_int_equal(constText_LEN, 11);
	assert_int_equal(constData_LEN, 2);
	assert_int_equal(constData[1], 0xff);
	assert_int_equal(constColor, Color_green);
	assert_int_equal(Inner_read(constInner(), &in), 0);
	assert_int_equal(Inner_get_a(in), 9);
	assert_int_equal(Inner_get_name(in, &t), 0);
	assert_true(text_eq(t, "nine"));
	assert_int_equal(capnp_ptr_list(constList(), CAPNP_SZ_2, &l), 0);
	assert_int_equal((int16_t)capnp_list_u16(&l, 2), -3);
}

static void
test_interface_ids(void **state)
{
	char *out;

	assert_int_equal(Echo_echo_ORDINAL, 0);
	assert_int_equal(Echo_ping_ORDINAL, 1);
	assert_int_equal(Echo_twice_ORDINAL, 2);
	assert_true(Echo_twice_PARAMS_ID == Inner_TYPE_ID);
	/* the interface id matches what the official compiler reports */
	out = run("capnp compile -ocapnp " SCHEMA, "", 0);
	{
		char want[64];
		snprintf(want, sizeof(want), "interface Echo @0x%016llx", (unsigned long long)Echo_TYPE_ID);
		assert_non_null(strstr(out, want));
	}
	free(out);
	{
		Echo_echo_Params_R p;
		Echo_twice_Params_R q;
		memset(&p, 0, sizeof(p));
		memset(&q, 0, sizeof(q));
		assert_false(Echo_echo_Params_has_msg(p));
		assert_int_equal(Inner_get_a(q), 0);
	}
}

/* Build the same message as all.txt with the generated setters. */
static void
build_all(struct capnp_builder *b)
{
	static const char *texts[] = { "a", "bc", "" };
	struct capnp_blist l, l2;
	TestAll_B w;
	Inner_B in;
	uint32_t i;

	assert_int_equal(TestAll_init_root(b, &w), 0);
	TestAll_set_boolF(w, true);
	TestAll_set_i8(w, -8);
	TestAll_set_i16(w, -1600);
	TestAll_set_i32(w, -70000);
	TestAll_set_i64(w, -9000000000LL);
	TestAll_set_u8(w, 250);
	TestAll_set_u16(w, 65000);
	TestAll_set_u32(w, 4000000001u);
	TestAll_set_u64(w, 18000000000000000000ull);
	TestAll_set_f32(w, 3.25f);
	TestAll_set_f64(w, -1.125);
	assert_int_equal(TestAll_set_text(w, "hello capnp", 11), 0);
	assert_int_equal(TestAll_set_data(w, "\xde\xad\xbe\xef", 4), 0);
	assert_int_equal(TestAll_init_inner(w, &in), 0);
	Inner_set_a(in, 5);
	assert_int_equal(Inner_set_name(in, "five", 4), 0);
	TestAll_set_color(w, Color_green);
	assert_int_equal(TestAll_init_voidList(w, 3, &l), 0);
	assert_int_equal(TestAll_init_boolList(w, 9, &l), 0);
	for (i = 0; i < 9; i++)
		capnp_blist_set_bool(&l, i, i == 0 || i == 2 || i == 3 || i == 8);
	assert_int_equal(TestAll_init_u8List(w, 3, &l), 0);
	for (i = 0; i < 3; i++)
		capnp_blist_set_u8(&l, i, (uint8_t)(i + 1));
	assert_int_equal(TestAll_init_i16List(w, 2, &l), 0);
	capnp_blist_set_u16(&l, 0, (uint16_t)-1);
	capnp_blist_set_u16(&l, 1, 300);
	assert_int_equal(TestAll_init_u32List(w, 3, &l), 0);
	for (i = 0; i < 3; i++)
		capnp_blist_set_u32(&l, i, 100000 * (i + 1));
	assert_int_equal(TestAll_init_f64List(w, 2, &l), 0);
	capnp_blist_set_u64(&l, 0, capnp_f64_bits(0.5));
	capnp_blist_set_u64(&l, 1, capnp_f64_bits(-0.25));
	assert_int_equal(TestAll_init_textList(w, 3, &l), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(capnp_bptr_set_text(capnp_blist_ptr(&l, i), texts[i],
		    strlen(texts[i])), 0);
	assert_int_equal(TestAll_init_dataList(w, 2, &l), 0);
	assert_int_equal(capnp_bptr_set_data(capnp_blist_ptr(&l, 0), "", 1), 0);
	assert_int_equal(capnp_bptr_set_data(capnp_blist_ptr(&l, 1), "x", 1), 0);
	assert_int_equal(TestAll_init_innerList(w, 3, &l), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(Inner_blist_get(&l, i, &in), 0);
		Inner_set_a(in, i + 1);
	}
	Inner_blist_get(&l, 0, &in);
	assert_int_equal(Inner_set_name(in, "one", 3), 0);
	Inner_blist_get(&l, 2, &in);
	assert_int_equal(Inner_set_name(in, "three", 5), 0);
	assert_int_equal(TestAll_init_listList(w, 3, &l), 0);
	assert_int_equal(capnp_bptr_init_list(capnp_blist_ptr(&l, 0), CAPNP_SZ_4, 2, &l2), 0);
	capnp_blist_set_u32(&l2, 0, 1);
	capnp_blist_set_u32(&l2, 1, 2);
	assert_int_equal(capnp_bptr_init_list(capnp_blist_ptr(&l, 1), CAPNP_SZ_4, 0, &l2), 0);
	assert_int_equal(capnp_bptr_init_list(capnp_blist_ptr(&l, 2), CAPNP_SZ_4, 1, &l2), 0);
	capnp_blist_set_u32(&l2, 0, 3);
	assert_int_equal(TestAll_init_colorList(w, 2, &l), 0);
	capnp_blist_set_u16(&l, 0, Color_blue);
	capnp_blist_set_u16(&l, 1, Color_red);
	TestAll_set_num(w, 123456789);
	TestAll_outer_set_flag(TestAll_init_outer(w), true);
	assert_int_equal(TestAll_outer_set_label(TestAll_init_outer(w), "grp", 3), 0);
}

static void
interop_build(uint32_t seg_words)
{
	static uint8_t arena[1 << 16], out[1 << 16];
	struct capnp_builder b;
	struct capnp_msg m;
	TestAll_R r;
	size_t flen;
	uint8_t *fixture = load("capnp/all.bin", &flen);
	char *ours, *theirs;
	int n;

	assert_int_equal(capnp_builder_init(&b, arena, sizeof(arena), seg_words), 0);
	build_all(&b);
	if (seg_words)
		assert_true(b.nseg > 1); /* far pointers were needed */
	n = capnp_builder_write(&b, out, sizeof(out));
	assert_true(n > 0);
	/* we read our own output */
	assert_int_equal(capnp_msg_init(&m, out, (size_t)n), n);
	assert_int_equal(TestAll_root(&m, &r), 0);
	check_all(r);
	/* and the official tool reads it exactly as it reads its own encoding */
	ours = run("capnp convert binary:text " SCHEMA " TestAll", out, (size_t)n);
	theirs = run("capnp convert binary:text " SCHEMA " TestAll", fixture, flen);
	assert_string_equal(ours, theirs);
	assert_non_null(strstr(ours, "hello capnp"));
	free(ours);
	free(theirs);
	free(fixture);
}

static void
test_interop_single_segment(void **state)
{
	interop_build(0);
}

static void
test_interop_multi_segment(void **state)
{
	interop_build(8); /* tiny segments: far pointers everywhere */
}

static void
test_interop_packed(void **state)
{
	static uint8_t unpacked[1 << 16], packed[1 << 16];
	size_t flen;
	uint8_t *fixture = load("capnp/all.bin", &flen);
	char *theirs, *back;
	int n, p;

	/* the official packing (binary output: to a file, not through run()) */
	{
		FILE *f = popen("capnp convert binary:packed < capnp/all.bin > capnp/all.packed", "r");
		assert_non_null(f);
		assert_int_equal(pclose(f), 0);
	}
	{
		size_t plen;
		uint8_t *pk = load("capnp/all.packed", &plen);
		n = capnp_unpack(pk, plen, unpacked, sizeof(unpacked));
		assert_int_equal(n, (int)flen);
		assert_memory_equal(unpacked, fixture, flen);
		/* truncating the packed stream anywhere is an error or a shorter message */
		for (size_t cut = 1; cut < plen; cut++) {
			int r = capnp_unpack(pk, cut, unpacked, sizeof(unpacked));
			assert_true(r == E_CORRUPT || (r >= 0 && (size_t)r < flen));
		}
		free(pk);
	}
	/* our packing is read by the official tool */
	p = capnp_pack(fixture, flen, packed, sizeof(packed));
	assert_true(p > 0);
	back = run("capnp convert packed:text " SCHEMA " TestAll", packed, (size_t)p);
	theirs = run("capnp convert binary:text " SCHEMA " TestAll", fixture, flen);
	assert_string_equal(back, theirs);
	free(back);
	free(theirs);
	free(fixture);
}

static void
test_nested_types(void **state)
{
	struct capnp_msg m;
	struct capnp_list l;
	Outer_R o;
	Outer_Nested_R n;
	size_t len;
	uint8_t *buf = load("capnp/outer.bin", &len);

	assert_true(capnp_msg_init(&m, buf, len) > 0);
	assert_int_equal(Outer_root(&m, &o), 0);
	assert_int_equal(Outer_get_nested(o, &n), 0);
	assert_int_equal(Outer_Nested_get_mode(n), Outer_Nested_Mode_off);
	assert_int_equal(Outer_Nested_get_depth(n), 9);
	assert_int_equal(Outer_get_nestedList(o, &l), 0);
	assert_int_equal(Outer_Nested_list_get(&l, 0, &n), 0);
	assert_int_equal(Outer_Nested_get_mode(n), Outer_Nested_Mode_on); /* default */
	assert_int_equal(Outer_Nested_get_depth(n), 1);
	assert_int_equal(Outer_Nested_list_get(&l, 1, &n), 0);
	assert_int_equal(Outer_Nested_get_depth(n), 3); /* default */
	assert_int_equal(Outer_limit, 1024);
	free(buf);
}

static void
test_schema_evolution(void **state)
{
	/* An old reader (InnerV0) reads a new message (Inner) and vice versa:
	 * unknown fields are ignored, missing fields read as defaults. */
	static uint8_t arena[1024], out[1024];
	struct capnp_builder b;
	struct capnp_msg m;
	struct capnp_text t;
	InnerV0_B w0;
	Inner_B w;
	InnerV0_R r0;
	Inner_R r;
	int n;

	assert_int_equal(capnp_builder_init(&b, arena, sizeof(arena), 0), 0);
	assert_int_equal(Inner_init_root(&b, &w), 0);
	Inner_set_a(w, 11);
	assert_int_equal(Inner_set_name(w, "new", 3), 0);
	n = capnp_builder_write(&b, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(capnp_msg_init(&m, out, (size_t)n), n);
	assert_int_equal(InnerV0_root(&m, &r0), 0);
	assert_int_equal(InnerV0_get_a(r0), 11);

	assert_int_equal(capnp_builder_init(&b, arena, sizeof(arena), 0), 0);
	assert_int_equal(InnerV0_init_root(&b, &w0), 0);
	InnerV0_set_a(w0, 12);
	n = capnp_builder_write(&b, out, sizeof(out));
	assert_int_equal(capnp_msg_init(&m, out, (size_t)n), n);
	assert_int_equal(Inner_root(&m, &r), 0);
	assert_int_equal(Inner_get_a(r), 12);
	assert_false(Inner_has_name(r));
	assert_int_equal(Inner_get_name(r, &t), 0);
	assert_int_equal(t.len, 0);
}

/* The generator fails closed: a truncated or garbage request is an error
 * (exit status != 0) and writes no header. */
static void
test_generator_rejects_bad_request(void **state)
{
	static const char *cmds[] = {
		"capnp compile -o- ../../" SCHEMA " | head -c 200 | ../../tools/capnpc-c",
		"head -c 4096 /dev/urandom | ../../tools/capnpc-c",
		"printf '' | ../../tools/capnpc-c",
		"capnp compile -o- ../../" SCHEMA " | tail -c +9 | ../../tools/capnpc-c",
	};
	size_t i;

	/* the same pipeline with a whole request succeeds (the paths are right) */
	assert_int_equal(system("mkdir -p capnp/genok && cd capnp/genok && capnp compile -o- ../../"
	    SCHEMA " | ../../tools/capnpc-c"), 0);
	assert_int_equal(system("test -n \"$(find capnp/genok -name test.capnp.h -size +1k)\""), 0);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char full[512];
		snprintf(full, sizeof(full), "rm -rf capnp/genfail && mkdir -p capnp/genfail && cd capnp/genfail && set -o pipefail && (%s) 2>/dev/null",
		    cmds[i]);
		assert_int_not_equal(system(full), 0);
	}
	assert_int_not_equal(system("test -e capnp/genfail/tests"), 0);
}

static void
test_manifest_fixture(void **state)
{
	struct capnp_msg m;
	Manifest_R man;
	Service_R s;
	Grant_R g;
	struct capnp_list svcs, grants;
	struct capnp_text t;
	size_t len;
	uint8_t *buf = load("capnp/manifest.bin", &len);

	assert_true(capnp_msg_init(&m, buf, len) > 0);
	assert_int_equal(Manifest_root(&m, &man), 0);
	assert_int_equal(Manifest_get_version(man), 1);
	assert_int_equal(Manifest_get_services(man, &svcs), 0);
	assert_int_equal(svcs.count, 12);
	assert_int_equal(Service_list_get(&svcs, 3, &s), 0);
	assert_int_equal(Service_get_name(s, &t), 0);
	assert_true(text_eq(t, "blk-svc"));
	assert_true(Service_get_restart(s));
	assert_int_equal(Service_get_grants(s, &grants), 0);
	assert_int_equal(Grant_list_get(&grants, 2, &g), 0);
	assert_int_equal(Grant_get_method(g), 2);
	free(buf);
	(void)m;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_official),
		cmocka_unit_test(test_union_group),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_defaults_roundtrip),
		cmocka_unit_test(test_constants),
		cmocka_unit_test(test_interface_ids),
		cmocka_unit_test(test_interop_single_segment),
		cmocka_unit_test(test_interop_multi_segment),
		cmocka_unit_test(test_interop_packed),
		cmocka_unit_test(test_manifest_fixture),
		cmocka_unit_test(test_nested_types),
		cmocka_unit_test(test_schema_evolution),
		cmocka_unit_test(test_generator_rejects_bad_request),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
