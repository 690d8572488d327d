/* Kernel command line lookup; see cmdline.h. */
#include "base/err.h"
#include "base/mem.h"
#include "boot/cmdline.h"

static size_t
word_len(const char *s)
{
	size_t n = 0;

	while (s[n] && s[n] != ' ' && s[n] != '\t')
		n++;
	return n;
}

int
cmdline_get(const char *s, const char *key, char *val, size_t vallen)
{
	size_t klen = strlen(key);
	const char *found = NULL;
	size_t flen = 0;

	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		size_t n = word_len(s);
		if (n > klen && !memcmp(s, key, klen) && s[klen] == '=') {
			found = s + klen + 1;
			flen = n - klen - 1;
		}
		s += n;
	}
	if (!found)
		return 0;
	if (flen + 1 > vallen)
		return E_TOOBIG;
	memcpy(val, found, flen);
	val[flen] = '\0';
	return 1;
}

bool
cmdline_flag(const char *s, const char *flag)
{
	char v[8];
	size_t flen = strlen(flag);

	for (const char *p = s; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t n = word_len(p);
		if (n == flen && !memcmp(p, flag, flen))
			return true;
		p += n;
	}
	if (cmdline_get(s, flag, v, sizeof v) != 1)
		return false;
	return !memcmp(v, "1", 2) || !memcmp(v, "yes", 4) || !memcmp(v, "on", 3);
}
