/*
 * Tests for the `mkstore-image ro1` commands (tools/mkstore-image/ro1_cmd.c),
 * driven directly until the tool's main.c dispatches to them. Builds a host
 * tree under the test's working directory (build/), images it, reads the image
 * back through lib/ro1 and compares every file with the host copy, then
 * checks that list and check refuse or report damaged images.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "ro1/ro1.h"
#include "../../tools/mkstore-image/ro1_cmd.h"

/* Per process, so that concurrent runs in one build/ do not collide. */
static char tree_dir[64], img_path[160], path_buf[256];
#define TREE tree_dir
#define IMG img_path

static const char *
P(const char *rel)
{
	snprintf(path_buf, sizeof(path_buf), "%s%s", tree_dir, rel);
	return path_buf;
}

static int
teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", tree_dir, img_path);
	return system(cmd) == 0 ? 0 : -1;
}

static void
put_file(const char *path, size_t size, unsigned seed, mode_t mode)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (size_t i = 0; i < size; i++)
		fputc((int)((i * 7 + seed) & 0xff), f);
	fclose(f);
	chmod(path, mode);
}

static int
setup(void **state)
{
	snprintf(tree_dir, sizeof(tree_dir), "ro1-cmd-tree.%d", (int)getpid());
	snprintf(img_path, sizeof(img_path), "ro1-cmd.%d.img", (int)getpid());
	mkdir(TREE, 0755);
	mkdir(P("/etc"), 0755);
	mkdir(P("/bin"), 0755);
	mkdir(P("/a"), 0755);
	mkdir(P("/a/b"), 0755);
	mkdir(P("/a/b/c"), 0755);
	mkdir(P("/emptydir"), 0755);
	put_file(P("/etc/motd"), 20, 1, 0644);
	put_file(P("/bin/init"), 150000, 2, 0755);
	put_file(P("/a/b/c/leaf"), 4096, 3, 0644);
	put_file(P("/zero"), 0, 4, 0644);
	put_file(P("/Ünïcode name.txt"), 77, 5, 0644);
	return 0;
}

static int
cmd(int (*fn)(int, char **), const char *a0, const char *a1, const char *a2)
{
	char *argv[4] = { (char *)a0, (char *)a1, (char *)a2, NULL };
	int argc = a2 ? 3 : a1 ? 2 : 1;
	fflush(stdout);
	return fn(argc, argv);
}

/* RAM device holding the whole image file. */
struct img {
	uint8_t *p;
	size_t len;
	struct blk_dev dev;
};

static int
img_read(struct blk_dev *dev, uint64_t lba, uint32_t count, void *buf)
{
	struct img *m = dev->ctx;
	if (lba > dev->block_count || count > dev->block_count - lba)
		return E_RANGE;
	memcpy(buf, m->p + lba * dev->block_size, (size_t)count * dev->block_size);
	return 0;
}

static int
img_nowrite(struct blk_dev *dev, uint64_t lba, uint32_t count, const void *buf)
{
	return E_PERM;
}

static int
img_flush(struct blk_dev *dev)
{
	return 0;
}

static void
img_load(struct img *m)
{
	FILE *f = fopen(IMG, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	m->len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	m->p = malloc(m->len);
	assert_int_equal(fread(m->p, 1, m->len, f), m->len);
	fclose(f);
	m->dev = (struct blk_dev){ 4096, m->len / 4096, img_read, img_nowrite, img_flush, m };
}

static void
img_store(struct img *m)
{
	FILE *f = fopen(IMG, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(m->p, 1, m->len, f), m->len);
	fclose(f);
}

static void
same_as_host(struct ro1_vol *v, const char *path, size_t size, unsigned seed, bool exec)
{
	uint32_t ino;
	struct ro1_stat st;
	assert_int_equal(ro1_lookup(v, path, &ino), 0);
	assert_int_equal(ro1_stat(v, ino, &st), 0);
	assert_int_equal(st.size, size);
	assert_int_equal(!!(st.flags & RO1_FLAG_EXEC), exec);
	uint8_t *buf = malloc(size + 1);
	assert_int_equal(ro1_read(v, ino, 0, buf, size + 1), (int)size);
	for (size_t i = 0; i < size; i++)
		assert_int_equal(buf[i], (uint8_t)((i * 7 + seed) & 0xff));
	free(buf);
}

static void
ro1cmd_0001_build_list_check(void **state)
{
	struct img m;
	static struct ro1_vol v;
	uint32_t ino;
	struct ro1_stat st;

	assert_int_equal(cmd(ro1_cmd_build, "build", TREE, IMG), 0);
	assert_int_equal(cmd(ro1_cmd_list, "list", IMG, NULL), 0);
	assert_int_equal(cmd(ro1_cmd_check, "check", IMG, NULL), 0);
	img_load(&m);
	assert_int_equal(ro1_mount(&v, &m.dev), 0);
	same_as_host(&v, "etc/motd", 20, 1, false);
	same_as_host(&v, "bin/init", 150000, 2, true);
	same_as_host(&v, "a/b/c/leaf", 4096, 3, false);
	same_as_host(&v, "zero", 0, 4, false);
	same_as_host(&v, "Ünïcode name.txt", 77, 5, false);
	assert_int_equal(ro1_lookup(&v, "emptydir", &ino), 0);
	assert_int_equal(ro1_stat(&v, ino, &st), 0);
	assert_int_equal(st.kind, RO1_KIND_DIR);
	assert_int_equal(st.child_count, 0);
	free(m.p);
}

static void
ro1cmd_0002_reproducible(void **state)
{
	struct img a, b;
	setenv("SOURCE_DATE_EPOCH", "1000000000", 1);
	assert_int_equal(cmd(ro1_cmd_build, "build", TREE, IMG), 0);
	img_load(&a);
	assert_int_equal(cmd(ro1_cmd_build, "build", TREE, IMG), 0);
	img_load(&b);
	unsetenv("SOURCE_DATE_EPOCH");
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.p, b.p, a.len);
	free(a.p);
	free(b.p);
}

static void
ro1cmd_0003_damaged_images(void **state)
{
	struct img m;
	assert_int_equal(cmd(ro1_cmd_build, "build", TREE, IMG), 0);
	img_load(&m);
	const struct ro1_super *sb = (const struct ro1_super *)m.p;
	/* Data damage: list still works (metadata is sound), check reports it. */
	m.p[sb->data_off + 3] ^= 0xff;
	img_store(&m);
	assert_int_equal(cmd(ro1_cmd_list, "list", IMG, NULL), 0);
	assert_int_equal(cmd(ro1_cmd_check, "check", IMG, NULL), 1);
	/* Metadata damage: both refuse. */
	m.p[sb->entry_off + 70] ^= 0xff;
	img_store(&m);
	assert_int_equal(cmd(ro1_cmd_list, "list", IMG, NULL), 1);
	assert_int_equal(cmd(ro1_cmd_check, "check", IMG, NULL), 1);
	/* Truncated. */
	assert_int_equal(truncate(IMG, (off_t)(m.len / 2)), 0);
	assert_int_equal(cmd(ro1_cmd_check, "check", IMG, NULL), 1);
	assert_int_equal(truncate(IMG, 0), 0);
	assert_int_equal(cmd(ro1_cmd_list, "list", IMG, NULL), 1);
	free(m.p);
}

static void
ro1cmd_0005_image_inside_tree(void **state)
{
	struct img m;
	static struct ro1_vol v;
	uint32_t ino;
	char self[128];
	snprintf(self, sizeof(self), "%s/self.img", tree_dir);
	assert_int_equal(cmd(ro1_cmd_build, "build", TREE, self), 0);
	snprintf(img_path, sizeof(img_path), "%s", self);
	img_load(&m);
	assert_int_equal(ro1_mount(&v, &m.dev), 0);
	assert_int_equal(ro1_lookup(&v, "self.img", &ino), E_NOENT);
	assert_int_equal(ro1_lookup(&v, "etc/motd", &ino), 0);
	free(m.p);
	unlink(self);
	snprintf(img_path, sizeof(img_path), "ro1-cmd.%d.img", (int)getpid());
}

static void
ro1cmd_0004_refusals(void **state)
{
	assert_int_equal(cmd(ro1_cmd_build, "build", TREE, NULL), 2);
	assert_int_equal(cmd(ro1_cmd_list, "list", NULL, NULL), 2);
	assert_int_equal(cmd(ro1_cmd_check, "check", IMG, IMG), 2);
	assert_int_equal(cmd(ro1_cmd_build, "build", P("/nonexistent"), IMG), 1);
	assert_int_equal(cmd(ro1_cmd_check, "check", "no-such-image", NULL), 1);
	assert_int_equal(symlink("etc/motd", P("/link")), 0);
	assert_int_equal(cmd(ro1_cmd_build, "build", TREE, IMG), 1); /* symlinks are not shipped */
	assert_int_equal(access(IMG, F_OK), -1);                      /* and no half image is left */
	unlink(P("/link"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ro1cmd_0001_build_list_check),
		cmocka_unit_test(ro1cmd_0002_reproducible),
		cmocka_unit_test(ro1cmd_0003_damaged_images),
		cmocka_unit_test(ro1cmd_0004_refusals),
		cmocka_unit_test(ro1cmd_0005_image_inside_tree),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
