/*
 * Names, the ISO 9660 name rule and the bounded error formatter.
 *
 * The ISO rule exists because boot binaries are files under /boot/bins/ of
 * an ISO 9660 image whose primary (level 3) names use only d-characters
 * (A-Z 0-9 _) and hold at most 31 of them. Two manifest names that map to
 * one d-character form would name one file; a longer form would be cut.
 * Both are refused when the manifest is made, never discovered at boot.
 */
#include <stdarg.h>

#include "base/err.h"
#include "base/mem.h"
#include "manifest/mf_int.h"

struct mf_str
mf_cstr(const char *s)
{
	struct mf_str r = { s, (uint32_t)strlen(s) };
	return r;
}

int
mf_str_eq(struct mf_str a, struct mf_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static int
name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

int
mf_name_ok(struct mf_str name)
{
	if (name.len == 0 || name.len > MF_MAX_NAME || name.p[0] == '.')
		return 0;
	for (uint32_t i = 0; i < name.len; i++)
		if (!name_char_ok(name.p[i]))
			return 0;
	return 1;
}

/* a-z -> A-Z; A-Z 0-9 _ kept; every other byte -> '_'. One byte, one
 * character, so the form is exactly as long as the name. */
static char
iso_char(char c)
{
	if (c >= 'a' && c <= 'z')
		return (char)(c - 'a' + 'A');
	if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
		return c;
	return '_';
}

uint32_t
mf_iso_name(struct mf_str name, char *out, uint32_t cap)
{
	for (uint32_t i = 0; i < name.len && i < cap; i++)
		out[i] = iso_char(name.p[i]);
	return name.len;
}

const char *
mf_source_name(unsigned source)
{
	static const char *const names[] = {
		[MF_SRC_UNSET] = "unset",
		[MF_SRC_CONSOLE] = "console",
		[MF_SRC_WALL_CLOCK] = "wallClock",
		[MF_SRC_ENTROPY] = "entropy",
		[MF_SRC_PROCESS_SPAWNER] = "processSpawner",
		[MF_SRC_DEVICE_MMIO] = "deviceMmio",
		[MF_SRC_INTERRUPT] = "interrupt",
		[MF_SRC_DMA_POOL] = "dmaPool",
		[MF_SRC_BLOCK_DEVICE] = "blockDevice",
		[MF_SRC_HARDWARE_AUDIT_LOG] = "hardwareAuditLog",
		[MF_SRC_SERVICE] = "service",
		[MF_SRC_UNKNOWN] = "unknown",
		[MF_SRC_KERNEL_UNSET] = "kernel (unset)",
	};
	if (source >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[source];
}

/* ---- bounded formatter ---- */

struct sbuf {
	char *p;
	uint32_t len, cap;   /* cap excludes the NUL */
};

static void
put(struct sbuf *b, char c)
{
	if (b->len < b->cap)
		b->p[b->len++] = c;
}

static void
put_s(struct sbuf *b, const char *s)
{
	while (s && *s)
		put(b, *s++);
}

static void
put_u(struct sbuf *b, unsigned long long v, unsigned base)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v && n < (int)sizeof(tmp));
	while (n > 0)
		put(b, tmp[--n]);
}

static void
put_q(struct sbuf *b, struct mf_str s)
{
	put(b, '"');
	for (uint32_t i = 0; i < s.len && i < 80; i++) {
		char c = s.p[i];
		put(b, (c >= 0x20 && c < 0x7f && c != '"') ? c : '?');
	}
	if (s.len > 80)
		put_s(b, "...");
	put(b, '"');
}

int
mf_errf(struct mf_error *err, int code, const char *fmt, ...)
{
	struct sbuf b = { err->msg, 0, MF_MSG_MAX - 1 };
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	for (const char *f = fmt; *f; f++) {
		if (*f != '%' || !f[1]) {
			put(&b, *f);
			continue;
		}
		switch (*++f) {
		case 's': put_s(&b, va_arg(ap, const char *)); break;
		case 'q': put_q(&b, va_arg(ap, struct mf_str)); break;
		case 'u': put_u(&b, va_arg(ap, unsigned), 10); break;
		case 'x': put_u(&b, va_arg(ap, unsigned), 16); break;
		case 'U': put_u(&b, va_arg(ap, unsigned long long), 10); break;
		default: put(&b, *f); break;
		}
	}
	va_end(ap);
	err->msg[b.len] = '\0';
	return code;
}

int
mf_source_is_device(unsigned source)
{
	return source == MF_SRC_DEVICE_MMIO || source == MF_SRC_INTERRUPT ||
	       source == MF_SRC_DMA_POOL || source == MF_SRC_HARDWARE_AUDIT_LOG;
}
