/*
 * The schema-compatibility check (tools/schema-compat, docs/schemas.md).
 *
 * Passes on the real tree (schema/released vs schema), then, on a copy of
 * schema/ made at test time in a temporary directory, applies one breaking
 * edit per case (method renumbered or removed, field retyped or renumbered,
 * enum value renumbered, file id changed, const changed, union members
 * swapped, file removed) and expects exit status 1 with a
 * message naming the broken item; an additive edit must still pass. Each
 * edit must match the schema text exactly once, so a schema rewrite that
 * makes a case meaningless fails the test instead of silently passing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef SRC_ROOT
#define SRC_ROOT ".."
#endif

struct edit {
	const char *file;     /* under schema/ */
	const char *from;     /* must occur exactly once */
	const char *to;
};

struct compat_case {
	const char *id;
	struct edit edits[3];
	int want_status;      /* exit status of schema-compat */
	const char *want_msg; /* substring of its output */
	const char *remove;   /* a schema file to delete from the copy */
};

static const struct compat_case cases[] = {
	{ "COMPAT0001 unchanged tree", { { 0 } }, 0, "schema-compat: OK", NULL },
	{ "COMPAT0002 method ordinals swapped",
	    { { "block.capnp", "readBlocks @0 ", "readBlocks @2 " },
		{ "block.capnp", "info @2 () -> (info :BlockInfo)", "info @0 () -> (info :BlockInfo)" } },
	    1, "BlockDevice: method @0 was readBlocks, is now info", NULL },
	{ "COMPAT0003 method removed",
	    { { "base.capnp", "  getRandom @0 (length :UInt32) -> (result :EntropyResult);\n", "" } },
	    1, "EntropySource: method getRandom @0 removed", NULL },
	{ "COMPAT0004 field retyped",
	    { { "block.capnp", "blockSize @0 :UInt32", "blockSize @0 :UInt64" } },
	    1, "BlockInfo: field blockSize @0 retyped", NULL },
	{ "COMPAT0005 field ordinals swapped",
	    { { "manifest.capnp", "  name @0 :Text;                    # unique",
		  "  name @1 :Text;                    # unique" },
		{ "manifest.capnp", "  binary @1 :Text;", "  binary @0 :Text;" } },
	    1, "Service: field @0 was name, is now binary", NULL },
	{ "COMPAT0006 enum values swapped",
	    { { "exception.capnp", "  failed @0;", "  failed @1;" },
		{ "exception.capnp", "  overloaded @1;", "  overloaded @0;" } },
	    1, "ExceptionType: enum value @0 was failed, is now overloaded", NULL },
	{ "COMPAT0007 enum value removed",
	    { { "block.capnp", "  noWindow @5;              # readAt/writeAt without a window; openWindow: no room\n", "" }, { "block.capnp", "  notReady @4;\n", "" } },
	    1, "BlockError: enum value notReady @4 removed", NULL },
	{ "COMPAT0008 file id changed",
	    { { "block.capnp", "@0xcc3031b83ffb9047;", "@0xcc3031b83ffb9048;" } },
	    1, "block.capnp: file id changed", NULL },
	{ "COMPAT0009 interface renamed (its id is derived from the name)",
	    { { "storage.capnp", "interface Store {", "interface KeyStore {" } },
	    1, "storage.capnp:Store: removed or renamed", NULL },
	{ "COMPAT0011 const value changed",
	    { { "manifest.capnp", "const manifestFormatVersion :UInt32 = 1;",
		  "const manifestFormatVersion :UInt32 = 2;" } },
	    1, "manifest.capnp:manifestFormatVersion: const type or value changed", NULL },
	{ "COMPAT0012 union members swapped",
	    { { "block.capnp", "    data @0 :Data;\n    error @1 :BlockError;",
		  "    data @1 :Data;\n    error @0 :BlockError;" } },
	    1, "BlockReadResult: field @0 was data, is now error", NULL },
	{ "COMPAT0013 released file removed", { { 0 } }, 1, "net.capnp: released file removed",
	    "net.capnp" },
	{ "COMPAT0010 additions are compatible",
	    { { "block.capnp", "  writeAt @6 (lba :UInt64, count :UInt32, offset :UInt32) -> (result :BlockResult);\n",
		  "  writeAt @6 (lba :UInt64, count :UInt32, offset :UInt32) -> (result :BlockResult);\n  trim @7 (lba :UInt64, count :UInt32) -> (result :BlockResult);\n" },
		{ "block.capnp", "  model @4 :Text;\n", "  model @4 :Text;\n  serial @5 :Text;\n" },
		{ "block.capnp", "  noWindow @5;              # readAt/writeAt without a window; openWindow: no room\n", "  noWindow @5;              # readAt/writeAt without a window; openWindow: no room\n  timedOut @6;\n" } },
	    0, "schema-compat: OK", NULL },
};

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
apply_edit(const char *dir, const struct edit *e)
{
	char path[512];
	size_t len;
	char *text, *hit;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, e->file);
	text = slurp(path, &len);
	hit = strstr(text, e->from);
	if (!hit || strstr(hit + 1, e->from))
		fail_msg("edit text must occur exactly once in %s: %s", e->file, e->from);
	f = fopen(path, "wb");
	assert_non_null(f);
	fwrite(text, 1, (size_t)(hit - text), f);
	fputs(e->to, f);
	fputs(hit + strlen(e->from), f);
	fclose(f);
	free(text);
}

static int
run(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	int st;

	assert_non_null(p);
	while (n + 1 < cap) {
		size_t r = fread(out + n, 1, cap - 1 - n, p);
		if (r == 0)
			break;
		n += r;
	}
	out[n] = '\0';
	/* Drain what did not fit so the child can exit. */
	char sink[4096];
	while (fread(sink, 1, sizeof(sink), p) > 0)
		;
	st = pclose(p);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void
test_case(void **state)
{
	const struct compat_case *c = *state;
	char dir[] = "/tmp/capos-schema-compat-XXXXXX";
	char cmd[1024];
	static char out[1 << 16];
	int status;

	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "cp %s/schema/*.capnp %s/", SRC_ROOT, dir);
	assert_int_equal(system(cmd), 0);
	for (size_t i = 0; i < 3 && c->edits[i].file; i++)
		apply_edit(dir, &c->edits[i]);
	if (c->remove) {
		snprintf(cmd, sizeof(cmd), "%s/%s", dir, c->remove);
		assert_int_equal(unlink(cmd), 0);
	}

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tools/schema-compat %s/schema/released %s 2>&1",
	    SRC_ROOT, SRC_ROOT, dir);
	status = run(cmd, out, sizeof(out));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);

	if (status != c->want_status || !strstr(out, c->want_msg))
		fail_msg("%s: status %d (want %d), output lacks \"%s\":\n%s", c->id, status,
		    c->want_status, c->want_msg, out);
}

/* The released snapshot itself must still compile on its own. */
static void
test_released_compiles(void **state)
{
	char cmd[1024], out[4096];
	(void)state;
	snprintf(cmd, sizeof(cmd),
	    "capnp compile -o- --src-prefix=%s/schema/released %s/schema/released/*.capnp >/dev/null 2>&1 && echo compiled",
	    SRC_ROOT, SRC_ROOT);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "compiled"));
}

int
main(void)
{
	struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0]) + 1];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_released_compiles);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_case, (void *)&cases[i]);
		tests[n].name = cases[i].id;
		n++;
	}
	return _cmocka_run_group_tests("schema_compat", tests, n, NULL, NULL);
}
