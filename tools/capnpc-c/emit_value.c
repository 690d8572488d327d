/*
 * Default values and constants of pointer type. The value in the request is
 * deep-copied with the runtime's builder into one canonical segment (root
 * pointer first, no far pointers) and emitted as a static word array that the
 * reader walks as a trusted constant segment (struct capnp_seg, msg == NULL).
 */
#include <stdlib.h>

#include "capnpc-c/gen.h"

#define DEFAULT_ARENA (1u << 22)

void
emit_ptr_default(FILE *f, struct capnp_ptr value_ptr)
{
	struct capnp_builder b;
	uint8_t *arena = calloc(1, DEFAULT_ARENA);
	uint32_t i, n;

	if (!arena)
		gen_fail("out of memory", 0);
	if (capnp_builder_init(&b, arena, DEFAULT_ARENA, 0) < 0 ||
	    capnp_bptr_copy(capnp_builder_root_ptr(&b), value_ptr) < 0 || b.nseg != 1)
		gen_fail("cannot encode a default value", 0);
	n = b.seg[0].used;
	fprintf(f, "\tstatic const uint64_t d_[%u] = {", n);
	for (i = 0; i < n; i++)
		fprintf(f, "%s0x%016llxull,", i % 3 ? " " : "\n\t\t",
		    (unsigned long long)capnp_ld64(b.seg[0].base + (size_t)i * 8));
	fprintf(f, "\n\t};\n\tstatic const struct capnp_seg ds_ = { (const uint8_t *)d_, %u, 0, 0 };\n", n);
	free(arena);
}

/* A C string literal; every byte outside printable ASCII as a 3-digit octal
 * escape, which cannot run into a following digit. */
void
emit_c_string(FILE *f, const char *s, size_t len)
{
	size_t i;
	unsigned char c;

	fputc('"', f);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\' || c == '?')
			fprintf(f, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			fputc(c, f);
		else
			fprintf(f, "\\%03o", c);
	}
	fputc('"', f);
}
