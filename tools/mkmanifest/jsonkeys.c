/*
 * A small strict JSON reader (RFC 8259 values, depth-limited) that records
 * object-key paths. It validates only as much as it needs to walk the
 * document; the official capnp tool has already accepted the same input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonkeys.h"

#define JK_MAX_DEPTH 64
#define JK_MAX_PATH 1024

struct jk_parser {
	const char *s;
	size_t len, pos;
	struct jk_set *out;
	char where[JK_MAX_PATH];
	char *err;
	size_t errlen;
};

static int
fail(struct jk_parser *p, const char *why)
{
	snprintf(p->err, p->errlen, "JSON offset %zu: %s", p->pos, why);
	return -1;
}

static void
skip_ws(struct jk_parser *p)
{
	while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos])
		p->pos++;
}

static int
peek(struct jk_parser *p)
{
	skip_ws(p);
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

/* A string; its raw content (escapes kept as written) into buf. */
static int
string(struct jk_parser *p, char *buf, size_t cap)
{
	size_t n = 0;

	if (peek(p) != '"')
		return fail(p, "expected a string");
	p->pos++;
	while (p->pos < p->len && p->s[p->pos] != '"') {
		char c = p->s[p->pos++];
		if ((unsigned char)c < 0x20)
			return fail(p, "control character in string");
		if (c == '\\') {
			if (p->pos >= p->len)
				break;
			if (buf && n + 1 < cap)
				buf[n++] = c;
			c = p->s[p->pos++];
		}
		if (buf && n + 1 < cap)
			buf[n++] = c;
	}
	if (p->pos >= p->len)
		return fail(p, "unterminated string");
	p->pos++;
	if (buf)
		buf[n] = '\0';
	return 0;
}

static int
add_key(struct jk_parser *p)
{
	struct jk_set *s = p->out;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->keys = realloc(s->keys, s->cap * sizeof(*s->keys));
		if (!s->keys)
			return fail(p, "out of memory");
	}
	s->keys[s->n].where = strdup(p->where);
	if (!s->keys[s->n].where)
		return fail(p, "out of memory");
	s->n++;
	return 0;
}

static int value(struct jk_parser *p, int depth);

static int
object(struct jk_parser *p, int depth)
{
	size_t wlen = strlen(p->where);
	char key[256];

	p->pos++; /* '{' */
	if (peek(p) == '}') {
		p->pos++;
		return 0;
	}
	for (;;) {
		if (string(p, key, sizeof(key)) < 0)
			return -1;
		if (wlen + strlen(key) + 2 >= JK_MAX_PATH)
			return fail(p, "key path too long");
		snprintf(p->where + wlen, JK_MAX_PATH - wlen, "%s%s", wlen ? "." : "", key);
		if (add_key(p) < 0)
			return -1;
		if (peek(p) != ':')
			return fail(p, "expected ':'");
		p->pos++;
		if (value(p, depth + 1) < 0)
			return -1;
		p->where[wlen] = '\0';
		int c = peek(p);
		p->pos++;
		if (c == '}')
			return 0;
		if (c != ',')
			return fail(p, "expected ',' or '}'");
	}
}

static int
array(struct jk_parser *p, int depth)
{
	size_t wlen = strlen(p->where);
	unsigned idx = 0;

	p->pos++; /* '[' */
	if (peek(p) == ']') {
		p->pos++;
		return 0;
	}
	for (;;) {
		if (wlen + 16 >= JK_MAX_PATH)
			return fail(p, "key path too long");
		snprintf(p->where + wlen, JK_MAX_PATH - wlen, "[%u]", idx++);
		if (value(p, depth + 1) < 0)
			return -1;
		p->where[wlen] = '\0';
		int c = peek(p);
		p->pos++;
		if (c == ']')
			return 0;
		if (c != ',')
			return fail(p, "expected ',' or ']'");
	}
}

static int
literal(struct jk_parser *p)
{
	size_t start = p->pos;
	while (p->pos < p->len && (strchr("+-.0123456789eE", p->s[p->pos]) ||
	    (p->s[p->pos] >= 'a' && p->s[p->pos] <= 'z')) && p->s[p->pos])
		p->pos++;
	if (p->pos == start)
		return fail(p, "unexpected character");
	return 0;
}

static int
value(struct jk_parser *p, int depth)
{
	if (depth > JK_MAX_DEPTH)
		return fail(p, "nesting too deep");
	switch (peek(p)) {
	case '{': return object(p, depth);
	case '[': return array(p, depth);
	case '"': return string(p, NULL, 0);
	case -1: return fail(p, "unexpected end");
	default: return literal(p);
	}
}

int
jk_collect(const char *text, size_t len, struct jk_set *out, char *err, size_t errlen)
{
	struct jk_parser p = { .s = text, .len = len, .out = out, .err = err, .errlen = errlen };

	memset(out, 0, sizeof(*out));
	if (value(&p, 0) < 0)
		return -1;
	if (peek(&p) != -1)
		return fail(&p, "trailing characters");
	return 0;
}

const struct jk_key *
jk_first_missing(const struct jk_set *a, const struct jk_set *b)
{
	for (size_t i = 0; i < a->n; i++) {
		size_t j;
		for (j = 0; j < b->n; j++)
			if (strcmp(a->keys[i].where, b->keys[j].where) == 0)
				break;
		if (j == b->n)
			return &a->keys[i];
	}
	return NULL;
}

void
jk_free(struct jk_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->keys[i].where);
	}
	free(s->keys);
	memset(s, 0, sizeof(*s));
}
