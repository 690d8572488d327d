/*
 * libFuzzer: CAPOSWF1 mount and walk on hostile images. An input starting
 * with "CAPOSVOL" is a whole volume (header, Store region, WF region) and is
 * opened through wf_vol_open; anything else is a bare WF region. Block size
 * 512, or 4096 when the byte after the magic area is odd and the input is
 * long enough. A mounted tree is walked (list, stat, read every file),
 * wf_check runs, then create/write/truncate/rename/remove are tried on the
 * RAM copy: none may crash or hang. Each input runs twice: as given, and
 * with every checksum recomputed (commit records, crc table, metadata
 * blocks) so that the fuzzer reaches the structural checks behind the CRCs.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32c.h"
#include "base/err.h"
#include "store/store.h"
#include "wfs/vol.h"
#include "wfs/wfs.h"
#include "../host/crashsim/ramdev.h"

#define ARENA (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t buf[8192];

static void
walk(struct wf_fs *fs, const char *dir, int depth)
{
	struct wf_dirent de;
	uint32_t cur = 0;
	int guard = 0;

	if (depth > 16)
		return;
	while (wf_list(fs, dir, &cur, &de) == 1 && guard++ < 4096) {
		char path[WF_PATH_MAX + 1];
		struct wf_stat st;

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de.name) >= sizeof(path))
			continue;
		if (wf_stat(fs, path, &st) < 0)
			continue;
		if (st.type == WF_T_DIR) {
			walk(fs, path, depth + 1);
		} else {
			int h = wf_open(fs, path, WF_O_READ);
			uint64_t off = 0;
			int r;

			if (h < 0)
				continue;
			while ((r = wf_read(fs, h, off, buf, sizeof(buf))) > 0)
				off += (uint64_t)r;
			wf_close(fs, h);
		}
	}
}

/* Recompute the checksums of a WF region at mem (blocks of bs). */
static void
resign(uint8_t *mem, uint32_t bs, uint64_t blocks)
{
	for (uint32_t slot = 0; slot < 2 && slot < blocks; slot++) {
		struct wf_super_disk *s = (struct wf_super_disk *)(mem + (size_t)slot * bs);
		uint64_t base = 2 + (s->gen % 2) * (uint64_t)s->md_blocks, b;
		uint32_t *crcs = (uint32_t *)(mem + base * bs);

		if (s->crc_blocks == 0 || s->md_blocks > blocks || base + s->md_blocks > blocks ||
		    s->crc_blocks >= s->md_blocks ||
		    (uint64_t)(s->md_blocks - s->crc_blocks) * 4 > (uint64_t)s->crc_blocks * bs)
			goto sign;
		for (b = s->crc_blocks; b < s->md_blocks; b++)
			crcs[b - s->crc_blocks] = crc32c(mem + (base + b) * bs, bs);
		s->table_crc = crc32c(crcs, (size_t)s->crc_blocks * bs);
sign:
		s->crc = crc32c(s, offsetof(struct wf_super_disk, crc));
	}
}

static void
run(uint8_t *mem, uint32_t bs, uint64_t blocks, bool vol_input, bool fix)
{
	static uint8_t arena[ARENA];
	struct blk_dev *dev;
	struct ramdev rd;
	struct wf_vol vol;
	struct wf_fs fs;
	int h;

	ramdev_wrap(&rd, bs, blocks, mem);
	dev = &rd.dev;
	if (vol_input) {
		if (fix) {
			struct wf_vol_disk *v = (struct wf_vol_disk *)mem;

			v->crc = crc32c(v, offsetof(struct wf_vol_disk, crc));
		}
		if (wf_vol_open(&vol, &rd.dev) < 0)
			return;
		dev = &vol.wf.dev;
		if (fix)
			resign(mem + vol.hdr.wf_start * bs, bs, vol.hdr.wf_blocks);
	} else if (fix) {
		resign(mem, bs, blocks);
	}
	(void)wf_check(dev, arena, ARENA, NULL, NULL);
	if (wf_mount(&fs, dev, arena, ARENA, NULL, NULL) != 0)
		return;
	walk(&fs, "", 0);
	if (wf_create(&fs, "/fz") == 0 || wf_mkdir(&fs, "/fzd") == 0) {
		h = wf_open(&fs, "/fz", WF_O_READ | WF_O_WRITE);
		if (h >= 0) {
			(void)wf_write(&fs, h, 0, buf, 3000);
			(void)wf_truncate(&fs, h, 100);
			(void)wf_append(&fs, h, buf, 700);
			(void)wf_close(&fs, h);
		}
		(void)wf_rename(&fs, "/fz", "/fzd/fz");
		(void)wf_remove(&fs, "/fzd/fz");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t bs = (size > 16384 && (data[8] & 1)) ? 4096 : 512;
	uint64_t blocks = (size + bs - 1) / bs;
	bool vol_input = size >= 8 && memcmp(data, WF_VOL_MAGIC, 8) == 0;
	uint8_t *mem;

	if (blocks == 0 || blocks > 8192)
		return 0;
	mem = calloc(blocks, bs);
	memcpy(mem, data, size);
	run(mem, bs, blocks, vol_input, false);
	memset(mem, 0, blocks * bs);
	memcpy(mem, data, size);
	run(mem, bs, blocks, vol_input, true);
	free(mem);
	return 0;
}
