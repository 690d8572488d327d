/*
 * libFuzzer target: the packed decoder on arbitrary bytes. What unpacks must
 * pack and unpack back to the same words; the unpacked words are then read
 * as a message.
 */
#include <stdlib.h>

#include "base/err.h"
#include "capnp/capnp.h"
#include "fuzz_capnp_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t un[1 << 16], pk[CAPNP_PACK_BOUND(1 << 16)], un2[1 << 16];
	static struct capnp_msg m;
	int n, p, n2;

	n = capnp_unpack(data, size, un, sizeof(un));
	if (n < 0) {
		if (n != E_CORRUPT && n != E_TOOBIG)
			abort();
		return 0;
	}
	if (n % 8)
		abort();
	p = capnp_pack(un, (size_t)n, pk, sizeof(pk));
	if (p < 0)
		abort();
	n2 = capnp_unpack(pk, (size_t)p, un2, sizeof(un2));
	if (n2 != n || memcmp(un, un2, (size_t)n) != 0)
		abort();
	if (capnp_msg_init(&m, un, (size_t)n) > 0) {
		capnp_msg_set_limits(&m, 1 << 14, 32);
		walk_ptr(capnp_msg_root_ptr(&m));
	}
	return 0;
}
