/*
 * libFuzzer target: CAPOSRO1 mount, full tree walk, lookups, reads and the
 * fsck over a RAM block device holding the input (zero-padded to 4 KiB),
 * mounted once with 512 B and once with 4 KiB blocks. Random mutations
 * almost never keep the CRCs right, so each input is tried twice: as is, and
 * "re-sealed" with its metadata CRCs recomputed, which lets the fuzzer reach
 * the structural checks behind them. Seeds are real images from
 * tests/fuzz/fuzz_ro1_seeds.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32c.h"
#include "base/err.h"
#include "ro1/ro1.h"

static uint8_t *img;
static size_t img_len;
static unsigned budget_entries;
static size_t budget_bytes;

static int
ram_read(struct blk_dev *dev, uint64_t lba, uint32_t count, void *buf)
{
	if (lba > dev->block_count || count > dev->block_count - lba)
		return E_RANGE;
	memcpy(buf, img + lba * dev->block_size, (size_t)count * dev->block_size);
	return 0;
}

static int
ram_write(struct blk_dev *dev, uint64_t lba, uint32_t count, const void *buf)
{
	return E_PERM;
}

static int
ram_flush(struct blk_dev *dev)
{
	return 0;
}

static int
ignore_report(void *ctx, int err, uint32_t ino, const char *what)
{
	return 0;
}

static void
walk(struct ro1_vol *v, uint32_t dir, int depth)
{
	static uint8_t buf[5000];
	char name[RO1_NAME_MAX + 1];
	struct ro1_stat st;
	uint32_t cur = 0, ino;

	if (depth > 16)
		return;
	while (budget_entries > 0 && ro1_readdir(v, dir, &cur, name, &st) == 1) {
		budget_entries--;
		if (depth == 0)
			(void)ro1_lookup(v, name, &ino);
		if (st.kind == RO1_KIND_DIR) {
			walk(v, st.ino, depth + 1);
			continue;
		}
		for (uint64_t off = 0; off < st.size && budget_bytes > 0; off += sizeof(buf)) {
			int n = ro1_read(v, st.ino, off, buf, sizeof(buf));
			if (n <= 0)
				break;
			budget_bytes -= (size_t)n < budget_bytes ? (size_t)n : budget_bytes;
		}
		(void)ro1_read(v, st.ino, st.size / 2, buf, 10);
	}
}

static bool
in_img(uint64_t off, uint64_t len)
{
	return off <= img_len && len <= img_len - off;
}

static void
reseal(void)
{
	struct ro1_super sb;
	if (img_len < sizeof(sb))
		return;
	memcpy(&sb, img, sizeof(sb));
	if (in_img(sb.entry_off, (uint64_t)sb.entry_count * RO1_ENTRY_SIZE))
		sb.entry_crc = crc32c(img + sb.entry_off, (size_t)sb.entry_count * RO1_ENTRY_SIZE);
	if (in_img(sb.name_off, sb.name_len))
		sb.name_crc = crc32c(img + sb.name_off, sb.name_len);
	if (in_img(sb.crc_off, (uint64_t)sb.crc_count * 4))
		sb.crctab_crc = crc32c(img + sb.crc_off, (size_t)sb.crc_count * 4);
	sb.super_crc = crc32c(&sb, offsetof(struct ro1_super, super_crc));
	memcpy(img, &sb, sizeof(sb));
}

static void
run(void)
{
	static struct ro1_vol v;
	struct blk_dev dev = { 512, 0, ram_read, ram_write, ram_flush, NULL };
	uint32_t ino;

	for (int pass = 0; pass < 2; pass++) {
		dev.block_size = pass ? 4096 : 512;
		dev.block_count = img_len / dev.block_size;
		if (ro1_mount(&v, &dev) == 0) {
			budget_entries = 2000;
			budget_bytes = 1u << 20;
			walk(&v, RO1_ROOT, 0);
			(void)ro1_lookup(&v, "a/b/c/leaf", &ino);
		}
	}
	(void)ro1_check(&v, &dev, ignore_report, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	img_len = (size + 4095) / 4096 * 4096;
	if (img_len == 0)
		return 0;
	img = calloc(1, img_len);
	if (img == NULL)
		return 0;
	memcpy(img, data, size);
	run();
	reseal();
	run();
	free(img);
	return 0;
}
