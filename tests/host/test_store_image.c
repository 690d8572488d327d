/*
 * mkstore-image (tools/mkstore-image/main.c): build a CAPOSVOL image from a
 * host tree (files -> WF, records/ -> Store), read it back through the
 * libraries and compare, then list, check, and check damaged images. Runs
 * the built tool from build/ (the test's working directory).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/err.h"
#include "crashsim/ramdev.h"
#include "store/store.h"
#include "wfs/vol.h"
#include "wfs/wfs.h"

static char dir[48], img[64];

static void
put_file(const char *rel, size_t size, unsigned seed)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	f = fopen(p, "wb");
	assert_non_null(f);
	for (size_t i = 0; i < size; i++)
		fputc((int)((i * 13 + seed) & 0xff), f);
	fclose(f);
}

static int
run(const char *args, char *out, size_t cap)
{
	char cmd[512];
	FILE *p;
	size_t n = 0;
	int st;

	snprintf(cmd, sizeof(cmd), "./tools/mkstore-image %s 2>&1", args);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (out) {
		n = fread(out, 1, cap - 1, p);
		out[n] = '\0';
	} else {
		char sink[4096];

		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static uint8_t *
load(size_t *len)
{
	FILE *f = fopen(img, "rb");
	uint8_t *m;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	m = malloc(*len);
	assert_int_equal(fread(m, 1, *len, f), *len);
	fclose(f);
	return m;
}

static void
save(const uint8_t *m, size_t len)
{
	FILE *f = fopen(img, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(m, 1, len, f), len);
	fclose(f);
}

static int
setup(void **s)
{
	char cmd[512];

	(void)s;
	snprintf(dir, sizeof(dir), "st_img_tree_%d", (int)getpid());
	snprintf(img, sizeof(img), "st_img_%d.img", (int)getpid());
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s/etc/conf %s/records/app %s/empty",
	    dir, dir, dir, dir);
	assert_int_equal(system(cmd), 0);
	put_file("etc/motd", 12, 1);
	put_file("etc/conf/a.conf", 700, 2);
	put_file("big", 3u << 20, 3);
	put_file("records/app/cfg", 300, 4);
	put_file("records/top", 5, 5);
	return 0;
}

static int
teardown(void **s)
{
	char cmd[256];

	(void)s;
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, img);
	return system(cmd) == 0 ? 0 : -1;
}

static void
roundtrip(uint32_t bs)
{
	char args[256], out[16384];
	struct ramdev rd;
	struct wf_vol v;
	struct st st;
	struct st_ns ns;
	struct wf_fs fs;
	struct wf_stat sb;
	size_t len, need;
	uint8_t *m, *arena, buf[4096];
	int h;

	snprintf(args, sizeof(args), "build -b %u %s %s", bs, dir, img);
	assert_int_equal(run(args, out, sizeof(out)), 0);
	m = load(&len);
	ramdev_wrap(&rd, bs, len / bs, m);
	assert_int_equal(wf_vol_open(&v, &rd.dev), 0);
	assert_int_equal(st_arena_need(&v.st.dev, &need), 0);
	arena = malloc(need);
	assert_int_equal(st_mount(&st, &v.st.dev, arena, need), 0);
	st_ns_root(&st, &ns);
	assert_int_equal(st_get(&ns, "app/cfg", buf, sizeof(buf)), 300);
	assert_int_equal(buf[299], (uint8_t)(299 * 13 + 4));
	assert_int_equal(st_get(&ns, "top", buf, sizeof(buf)), 5);
	free(arena);
	assert_int_equal(wf_arena_need(&v.wf.dev, &need), 0);
	arena = malloc(need);
	assert_int_equal(wf_mount(&fs, &v.wf.dev, arena, need, NULL, NULL), 0);
	assert_int_equal(wf_stat(&fs, "/records", &sb), E_NOENT); /* records/ went to the Store */
	assert_int_equal(wf_stat(&fs, "/empty", &sb), 0);
	assert_int_equal(sb.type, WF_T_DIR);
	assert_int_equal(wf_stat(&fs, "/big", &sb), 0);
	assert_int_equal(sb.size, 3u << 20);
	assert_true(sb.mtime > 0);
	h = wf_open(&fs, "/big", WF_O_READ);
	for (uint64_t off = 0; off < sb.size; off += sizeof(buf)) {
		assert_int_equal(wf_read(&fs, h, off, buf, sizeof(buf)), (int)sizeof(buf));
		assert_int_equal(buf[17], (uint8_t)((off + 17) * 13 + 3));
	}
	wf_close(&fs, h);
	free(arena);
	assert_int_equal(run("list", NULL, 0), 2);
	snprintf(args, sizeof(args), "list %s", img);
	assert_int_equal(run(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "app/cfg"));
	assert_non_null(strstr(out, "/etc/conf/a.conf"));
	snprintf(args, sizeof(args), "check %s", img);
	assert_int_equal(run(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "0 problems"));
	/* damage both WF commit records and one Store entry: check reports each */
	m[(v.hdr.wf_start + 0) * bs + 30] ^= 1;
	m[(v.hdr.wf_start + 1) * bs + 30] ^= 1;
	m[(v.hdr.st_start + 0) * bs + 30] ^= 1;
	m[(v.hdr.st_start + 1) * bs + 30] ^= 1;
	save(m, len);
	assert_int_equal(run(args, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "store: corrupt: commit record"));
	assert_non_null(strstr(out, "wf: corrupt: commit record"));
	assert_non_null(strstr(out, "4 problems"));
	/* truncated image */
	save(m, len / 2);
	assert_int_equal(run(args, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "truncated"));
	free(m);
}

static void
test_roundtrip_512(void **s)
{
	(void)s;
	roundtrip(512);
}

static void
test_roundtrip_4k(void **s)
{
	(void)s;
	roundtrip(4096);
}

static void
test_refuses(void **s)
{
	char args[256], out[4096], p[256];

	(void)s;
	snprintf(p, sizeof(p), "%s/link", dir);
	assert_int_equal(symlink("etc/motd", p), 0);
	snprintf(args, sizeof(args), "build %s %s", dir, img);
	assert_int_equal(run(args, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "not a regular file or directory"));
	unlink(p);
	/* too small an image names the limit */
	snprintf(args, sizeof(args), "build -s 2 %s %s", dir, img);
	assert_int_equal(run(args, out, sizeof(out)), 1);
	assert_int_equal(run("frobnicate", NULL, 0), 2);
	snprintf(args, sizeof(args), "check %s/etc/motd", dir);
	assert_int_equal(run(args, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "not a CAPOSVOL image"));
}

static void
test_ro1_dispatch(void **s)
{
	char args[256], out[4096];
	int r;

	(void)s;
	snprintf(args, sizeof(args), "ro1 build %s %s", dir, img);
	r = run(args, out, sizeof(out));
	if (strstr(out, "built without CAPOSRO1") != NULL) {
		assert_int_equal(r, 2);
		return;
	}
	assert_int_equal(r, 0);
	snprintf(args, sizeof(args), "ro1 check %s", img);
	assert_int_equal(run(args, out, sizeof(out)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_512),
		cmocka_unit_test(test_roundtrip_4k),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_ro1_dispatch),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
