/*
 * jsonkeys: the object-key paths of a JSON document, for mkmanifest's
 * unknown-field check.
 *
 * capnp's JSON decoder silently ignores fields the schema does not have, so
 * a misspelled "bar" would quietly become BAR 0. mkmanifest therefore
 * converts the binary it got back to JSON with the official tool and
 * requires every key path of the input to appear in that round trip. A key
 * path is the chain of object keys and array positions from the root
 * ("services[1].grants[0].source.kernel.deviceMmio.bar"); lists keep their
 * order through capnp, so the paths line up. This also catches a second
 * member of one union, which capnp drops. Keys are compared as written
 * (escapes not decoded). Host-only (malloc); not part of the freestanding
 * library.
 */
#ifndef CAPOS_MKMANIFEST_JSONKEYS_H
#define CAPOS_MKMANIFEST_JSONKEYS_H

#include <stddef.h>

struct jk_key {
	char *where;     /* "services[1].grants[0].name" */
};

struct jk_set {
	struct jk_key *keys;
	size_t n, cap;
};

/* Parse text[0..len) as JSON and collect every key path. Returns 0, or -1
 * with a message in err (position and reason). */
int jk_collect(const char *text, size_t len, struct jk_set *out, char *err, size_t errlen);

/* The first key path of a that is not in b, or NULL. */
const struct jk_key *jk_first_missing(const struct jk_set *a, const struct jk_set *b);

void jk_free(struct jk_set *s);

#endif
