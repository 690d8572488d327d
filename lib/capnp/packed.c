/*
 * The packed encoding (capnproto.org/encoding.html#packing): each word becomes
 * a tag byte whose bit i says byte i is nonzero, followed by the nonzero
 * bytes. Tag 0x00 is followed by a count of further all-zero words; tag 0xff
 * by a count of words copied verbatim. Unpacking consumes at least one input
 * byte per step and checks every read and write, so a hostile stream can end
 * in E_CORRUPT (truncated) or E_TOOBIG (expands past out_cap), nothing else.
 */
#include "capnp/capnp.h"
#include "base/err.h"

int
capnp_unpack(const void *in, size_t in_len, void *out, size_t out_cap)
{
	const uint8_t *i = in, *iend = i + in_len;
	uint8_t *o = out;
	size_t left = out_cap, n;
	unsigned tag, b;

	while (i < iend) {
		tag = *i++;
		if (left < 8)
			return E_TOOBIG;
		if (tag == 0) {
			if (i >= iend)
				return E_CORRUPT;
			n = 8 * (1 + (size_t)*i++);
			if (n > left)
				return E_TOOBIG;
			memset(o, 0, n);
			o += n;
			left -= n;
			continue;
		}
		for (b = 0; b < 8; b++) {
			if (tag & (1u << b)) {
				if (i >= iend)
					return E_CORRUPT;
				o[b] = *i++;
			} else {
				o[b] = 0;
			}
		}
		o += 8;
		left -= 8;
		if (tag != 0xff)
			continue;
		if (i >= iend)
			return E_CORRUPT;
		n = 8 * (size_t)*i++;
		if (n > (size_t)(iend - i))
			return E_CORRUPT;
		if (n > left)
			return E_TOOBIG;
		memcpy(o, i, n);
		i += n;
		o += n;
		left -= n;
	}
	if (out_cap - left > 0x7fffffff)
		return E_TOOBIG;
	return (int)(out_cap - left);
}

static unsigned
word_tag(const uint8_t *w)
{
	unsigned tag = 0, b;

	for (b = 0; b < 8; b++)
		tag |= (unsigned)(w[b] != 0) << b;
	return tag;
}

static unsigned
zero_bytes(const uint8_t *w)
{
	unsigned z = 0, b;

	for (b = 0; b < 8; b++)
		z += w[b] == 0;
	return z;
}

int
capnp_pack(const void *in, size_t in_len, void *out, size_t out_cap)
{
	const uint8_t *i = in, *iend = i + (in_len & ~(size_t)7);
	uint8_t *o = out, *oend = o + out_cap;
	unsigned tag, b, n;

	if (in_len % 8)
		return E_INVAL;
	while (i < iend) {
		tag = word_tag(i);
		if ((size_t)(oend - o) < 1 + (size_t)__builtin_popcount(tag) + (tag == 0 || tag == 0xff))
			return E_TOOBIG;
		*o++ = (uint8_t)tag;
		if (tag == 0) {
			i += 8;
			for (n = 0; n < 255 && i < iend && capnp_ld64(i) == 0; n++)
				i += 8;
			*o++ = (uint8_t)n;
			continue;
		}
		for (b = 0; b < 8; b++)
			if (i[b])
				*o++ = i[b];
		i += 8;
		if (tag != 0xff)
			continue;
		for (n = 0; n < 255 && i + 8 * n < iend && zero_bytes(i + 8 * n) <= 1; n++)
			;
		if ((size_t)(oend - o) < 1 + 8 * (size_t)n)
			return E_TOOBIG;
		*o++ = (uint8_t)n;
		memcpy(o, i, 8 * (size_t)n);
		o += 8 * (size_t)n;
		i += 8 * (size_t)n;
	}
	if (o - (uint8_t *)out > 0x7fffffff)
		return E_TOOBIG;
	return (int)(o - (uint8_t *)out);
}
