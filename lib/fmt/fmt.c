/*
 * A small vsnprintf. One pass over the format; every character goes through
 * put(), which counts it and stores it only while room remains, so no
 * argument can push output past the caller's buffer.
 */
#include <stdint.h>
#include "fmt/fmt.h"

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void
put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void
pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

struct spec {
	int alt;	/* '#': 0x prefix for %x */
	int left;
	int zero;
	int width;
	int prec;
	int lng;	/* -2 hh, -1 h, 0 int, 1 long, 2 long long, 3 size_t */
};

static void
put_number(struct out *o, uint64_t v, int neg, unsigned base, int upper,
	   const struct spec *s)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	int prefix = s->alt && base == 16 ? 2 : 0;
	int len = n + neg + prefix;
	int fill = s->width > len ? s->width - len : 0;
	if (!s->left && !s->zero)
		pad(o, ' ', fill);
	if (neg)
		put(o, '-');
	if (prefix) {
		put(o, '0');
		put(o, upper ? 'X' : 'x');
	}
	if (!s->left && s->zero)
		pad(o, '0', fill);
	while (n)
		put(o, tmp[--n]);
	if (s->left)
		pad(o, ' ', fill);
}

static void
put_string(struct out *o, const char *str, const struct spec *s)
{
	int len = 0;

	if (!str)
		str = "(null)";
	while (str[len] && (s->prec < 0 || len < s->prec))
		len++;
	int fill = s->width > len ? s->width - len : 0;
	if (!s->left)
		pad(o, ' ', fill);
	for (int i = 0; i < len; i++)
		put(o, str[i]);
	if (s->left)
		pad(o, ' ', fill);
}

static const char *
parse_spec(const char *f, struct spec *s, va_list *ap)
{
	s->alt = s->left = s->zero = s->width = s->lng = 0;
	s->prec = -1;
	for (;; f++) {
		if (*f == '-')
			s->left = 1;
		else if (*f == '#')
			s->alt = 1;
		else if (*f == '0')
			s->zero = 1;
		else
			break;
	}
	if (*f == '*') {
		s->width = va_arg(*ap, int);
		f++;
	}
	while (*f >= '0' && *f <= '9' && s->width < 4096)
		s->width = s->width * 10 + (*f++ - '0');
	if (*f == '.') {
		f++;
		s->prec = 0;
		if (*f == '*') {
			s->prec = va_arg(*ap, int);
			f++;
		}
		while (*f >= '0' && *f <= '9' && s->prec < 4096)
			s->prec = s->prec * 10 + (*f++ - '0');
	}
	if (*f == 'h') {
		s->lng = -1;
		if (*++f == 'h') {
			s->lng = -2;
			f++;
		}
	} else if (*f == 'l') {
		s->lng = 1;
		if (*++f == 'l') {
			s->lng = 2;
			f++;
		}
	} else if (*f == 'z') {
		s->lng = 3;
		f++;
	}
	return f;
}

static uint64_t
arg_unsigned(const struct spec *s, va_list *ap)
{
	switch (s->lng) {
	case -2: return (unsigned char)va_arg(*ap, unsigned);
	case -1: return (unsigned short)va_arg(*ap, unsigned);
	case 1: return va_arg(*ap, unsigned long);
	case 2: return va_arg(*ap, unsigned long long);
	case 3: return va_arg(*ap, size_t);
	}
	return va_arg(*ap, unsigned);
}

static int64_t
arg_signed(const struct spec *s, va_list *ap)
{
	switch (s->lng) {
	case -2: return (signed char)va_arg(*ap, int);
	case -1: return (short)va_arg(*ap, int);
	case 1: return va_arg(*ap, long);
	case 2: return va_arg(*ap, long long);
	case 3: return (int64_t)va_arg(*ap, size_t);
	}
	return va_arg(*ap, int);
}

int
fmt_vsnprintf(char *buf, size_t size, const char *f, va_list ap0)
{
	struct out o = { buf, size, 0 };
	struct spec s;
	va_list ap;

	va_copy(ap, ap0);
	while (*f) {
		if (*f != '%') {
			put(&o, *f++);
			continue;
		}
		f = parse_spec(f + 1, &s, &ap);
		switch (*f) {
		case 'd':
		case 'i': {
			int64_t v = arg_signed(&s, &ap);
			uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			put_number(&o, mag, v < 0, 10, 0, &s);
			break;
		}
		case 'u': put_number(&o, arg_unsigned(&s, &ap), 0, 10, 0, &s); break;
		case 'x': put_number(&o, arg_unsigned(&s, &ap), 0, 16, 0, &s); break;
		case 'X': put_number(&o, arg_unsigned(&s, &ap), 0, 16, 1, &s); break;
		case 'o': put_number(&o, arg_unsigned(&s, &ap), 0, 8, 0, &s); break;
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			s.zero = 1;
			s.width = 16;
			put_number(&o, (uintptr_t)va_arg(ap, void *), 0, 16, 0, &s);
			break;
		case 's': put_string(&o, va_arg(ap, const char *), &s); break;
		case 'c': put(&o, (char)va_arg(ap, int)); break;
		case '%': put(&o, '%'); break;
		case '\0':
			f--;	/* lone '%' at the end: print nothing more */
			break;
		default:
			put(&o, '%');
			put(&o, *f);
			break;
		}
		f++;
	}
	va_end(ap);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int
fmt_snprintf(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = fmt_vsnprintf(buf, size, f, ap);
	va_end(ap);
	return n;
}
