/*
 * Writes the seed images for fuzz_store_mount and fuzz_wfs_mount (small
 * valid images made by the libraries themselves). `make storage-fuzz-seeds`
 * regenerates tests/fuzz/corpus/fuzz_store_mount/ and fuzz_wfs_mount/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ramdev.h"
#include "store/store.h"
#include "wfs/vol.h"
#include "wfs/wfs.h"

static unsigned char arena[1 << 20];

static void
save(const char *dir, const char *name, const struct ramdev *rd, size_t blocks)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(rd->mem, rd->dev.block_size, blocks, f) != blocks) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

static void
store_fill(struct blk_dev *dev, int puts)
{
	struct st_geom g = { 16, 2048 };
	struct st st;
	struct st_ns ns, sub;
	char k[32];

	if (st_format(dev, &g) || st_mount(&st, dev, arena, sizeof(arena)))
		exit(1);
	st_ns_root(&st, &ns);
	st_ns_sub(&ns, "app", &sub);
	for (int i = 0; i < puts; i++) {
		snprintf(k, sizeof(k), "rec%d", i % 6);
		st_put(i % 2 ? &sub : &ns, k, "capnp-bytes-here", (uint32_t)(i % 16));
		if (i % 5 == 4)
			st_delete(&ns, "rec1");
	}
}

static void
wf_fill(struct blk_dev *dev)
{
	struct wf_geom g = { 8, 32 };
	struct wf_fs fs;
	int h;

	if (wf_format(dev, &g, 1) || wf_mount(&fs, dev, arena, sizeof(arena), NULL, NULL))
		exit(1);
	wf_mkdir(&fs, "/etc");
	wf_create(&fs, "/etc/motd");
	wf_create(&fs, "/log");
	h = wf_open(&fs, "/etc/motd", WF_O_WRITE);
	wf_write(&fs, h, 0, "hello capOS\n", 12);
	wf_close(&fs, h);
	h = wf_open(&fs, "/log", WF_O_WRITE);
	for (int i = 0; i < 5; i++) {
		wf_append(&fs, h, arena, 300);
		wf_sync(&fs, h);
	}
	wf_write(&fs, h, 100, "x", 1);
	wf_close(&fs, h);
}

int
main(int argc, char **argv)
{
	struct ramdev rd;
	struct wf_vol v;

	if (argc != 3) {
		fprintf(stderr, "usage: mkseeds STORE_DIR WFS_DIR\n");
		return 2;
	}
	ramdev_init(&rd, 512, 14);
	store_fill(&rd.dev, 5);
	save(argv[1], "small.img", &rd, 14);
	ramdev_free(&rd);
	ramdev_init(&rd, 512, 14);
	store_fill(&rd.dev, 40);
	save(argv[1], "compacted.img", &rd, 14);
	ramdev_free(&rd);

	ramdev_init(&rd, 512, 24);
	wf_fill(&rd.dev);
	save(argv[2], "region.img", &rd, 24);
	ramdev_free(&rd);
	ramdev_init(&rd, 512, 1 + 14 + 24);
	wf_vol_format(&rd.dev, 14);
	wf_vol_open(&v, &rd.dev);
	store_fill(&v.st.dev, 7);
	wf_fill(&v.wf.dev);
	save(argv[2], "volume.img", &rd, 1 + 14 + 24);
	ramdev_free(&rd);
	return 0;
}
