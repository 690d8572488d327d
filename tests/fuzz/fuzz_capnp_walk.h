/*
 * Generic walk of every object reachable from a pointer, used by the capnp
 * fuzz targets: reads every byte the reader hands out, so ASan sees any
 * out-of-bounds view. Recursion depth is bounded by the message's nesting
 * limit; the total work by its traversal limit.
 */
#ifndef FUZZ_CAPNP_WALK_H
#define FUZZ_CAPNP_WALK_H

#include "capnp/capnp.h"

static uint64_t fuzz_sink;

static void walk_ptr(struct capnp_ptr p);

static void
walk_struct(const struct capnp_struct *s)
{
	uint32_t i;

	for (i = 0; i < s->data_bytes; i++)
		fuzz_sink += s->data[i];
	for (i = 0; i < s->nptrs; i++)
		walk_ptr(capnp_struct_ptr(s, (uint16_t)i));
}

static void
walk_list(const struct capnp_list *l)
{
	struct capnp_struct s;
	uint32_t i;

	for (i = 0; i < l->count; i++) {
		if (l->esize == CAPNP_SZ_BIT) {
			fuzz_sink += capnp_list_bool(l, i);
		} else if (l->esize == CAPNP_SZ_PTR) {
			walk_ptr(capnp_list_ptr(l, i));
		} else if (capnp_list_struct(l, i, &s) == 0) {
			walk_struct(&s);
		} else {
			return;
		}
	}
}

static void
walk_ptr(struct capnp_ptr p)
{
	struct capnp_struct s;
	struct capnp_list l;
	struct capnp_text t;
	uint32_t cap;

	switch (capnp_ptr_kind(p)) {
	case CAPNP_KIND_STRUCT:
		if (capnp_ptr_struct(p, &s) == 0)
			walk_struct(&s);
		break;
	case CAPNP_KIND_LIST:
		if (capnp_ptr_text(p, &t) == 0)
			fuzz_sink += t.len + (uint8_t)t.str[t.len];
		if (capnp_ptr_list(p, CAPNP_SZ_ANY, &l) == 0)
			walk_list(&l);
		break;
	case CAPNP_KIND_CAP:
		if (capnp_ptr_cap(p, &cap) == 0)
			fuzz_sink += cap;
		break;
	}
}

#endif
