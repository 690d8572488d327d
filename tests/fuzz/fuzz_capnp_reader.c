/*
 * libFuzzer target: the capnp reader on arbitrary bytes as a framed message.
 * Walks everything reachable, then deep-copies the root into a builder (which
 * reads it again) and serializes the copy, which must parse back.
 */
#include <stdlib.h>

#include "base/err.h"
#include "capnp/capnp.h"
#include "fuzz_capnp_walk.h"
#include "tests/host/capnp/test.capnp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The generated accessors on the same bytes, including the paths that fall
 * back to default values. */
static void
read_typed(struct capnp_msg *m)
{
	struct capnp_text t;
	struct capnp_data d;
	struct capnp_list l;
	TestAll_R r;
	Defaults_R dr;
	Inner_R in;
	uint32_t i, cap;

	if (TestAll_root(m, &r) == 0) {
		fuzz_sink += TestAll_get_u64(r) + TestAll_get_i8(r) + TestAll_get_boolF(r) +
		    TestAll_which(r) + capnp_f64_bits(TestAll_get_f64(r));
		if (TestAll_get_text(r, &t) == 0)
			fuzz_sink += t.len;
		if (TestAll_get_data(r, &d) == 0)
			fuzz_sink += d.len;
		if (TestAll_get_inner(r, &in) == 0 && Inner_get_name(in, &t) == 0)
			fuzz_sink += t.str[t.len] + Inner_get_a(in);
		if (TestAll_get_innerList(r, &l) == 0)
			for (i = 0; i < l.count && Inner_list_get(&l, i, &in) == 0; i++)
				fuzz_sink += Inner_get_a(in);
		if (TestAll_get_u32List(r, &l) == 0)
			for (i = 0; i < l.count; i++)
				fuzz_sink += capnp_list_u32(&l, i);
		if (TestAll_get_cap(r, &cap) == 0)
			fuzz_sink += cap;
		fuzz_sink += TestAll_outer_get_flag(TestAll_get_outer(r));
	}
	if (Defaults_root(m, &dr) == 0) {
		if (Defaults_get_inner(dr, &in) == 0)
			fuzz_sink += Inner_get_a(in);
		if (Defaults_get_innerList(dr, &l) == 0)
			fuzz_sink += l.count;
		if (Defaults_get_text(dr, &t) == 0)
			fuzz_sink += t.len;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t arena[1 << 16], out[1 << 17];
	static struct capnp_msg m, m2;
	struct capnp_builder b;
	int n;

	if (capnp_msg_init(&m, data, size) < 0)
		return 0;
	capnp_msg_set_limits(&m, 1 << 14, 32);
	walk_ptr(capnp_msg_root_ptr(&m));
	read_typed(&m);
	if (capnp_msg_init(&m, data, size) < 0)
		abort();
	capnp_msg_set_limits(&m, 1 << 12, 32);
	if (capnp_builder_init(&b, arena, sizeof(arena), 64) < 0)
		abort();
	if (capnp_bptr_copy(capnp_builder_root_ptr(&b), capnp_msg_root_ptr(&m)) < 0)
		return 0;
	n = capnp_builder_write(&b, out, sizeof(out));
	if (n < 0)
		abort();
	if (capnp_msg_init(&m2, out, (size_t)n) != n)
		abort();
	walk_ptr(capnp_msg_root_ptr(&m2));
	return 0;
}
