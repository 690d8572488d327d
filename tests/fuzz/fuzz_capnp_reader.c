/*
 * libFuzzer target: the capnp reader on arbitrary bytes as a framed message.
 * Walks everything reachable, then deep-copies the root into a builder (which
 * reads it again) and serializes the copy, which must parse back.
 */
#include <stdlib.h>

#include "base/err.h"
#include "capnp/capnp.h"
#include "fuzz_capnp_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
