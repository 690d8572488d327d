/*
 * libFuzzer target: FAT32 mount, full tree walk and file reads over a RAM
 * block device built from the input.
 *
 * A FAT32 volume that mtools will fill has >= 65525 clusters (tens of MiB),
 * so the input is a sparse image, not a flat one:
 *   u8  flags         bit 0: 4 KiB device blocks (else 512 B); bit 1: FAT_MOUNT_STRICT
 *   u32 sectors       device size in 512-byte sectors (clamped to 1..2^19)
 *   then runs of      u32 lba (512-byte units), u16 len, len bytes of data
 * Everything outside the runs reads as zeros. tests/fuzz/fuzz_fat32_seeds.py
 * turns mkfs.fat + mcopy images into seeds of this form.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"
#include "fat32/fat32.h"

#define MAX_RUNS 512
#define MAX_SECTORS (1u << 19)

struct run {
	uint64_t off;
	const uint8_t *data;
	uint32_t len;
};

static struct run runs[MAX_RUNS];
static unsigned nruns;
static uint64_t dev_bytes;
static unsigned budget_entries;
static unsigned budget_opens; /* each open may walk O(cluster count) FAT links */
static size_t budget_bytes;

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int
sparse_read(struct blk_dev *dev, uint64_t lba, uint32_t count, void *buf)
{
	if (lba > dev->block_count || count > dev->block_count - lba)
		return E_RANGE;
	uint64_t start = lba * dev->block_size, len = (uint64_t)count * dev->block_size;
	memset(buf, 0, len);
	for (unsigned i = 0; i < nruns; i++) {
		uint64_t a = runs[i].off, b = a + runs[i].len;
		uint64_t lo = a > start ? a : start, hi = b < start + len ? b : start + len;
		if (lo < hi)
			memcpy((uint8_t *)buf + (lo - start), runs[i].data + (lo - a), hi - lo);
	}
	return 0;
}

static int
sparse_write(struct blk_dev *dev, uint64_t lba, uint32_t count, const void *buf)
{
	return E_PERM;
}

static int
sparse_flush(struct blk_dev *dev)
{
	return 0;
}

static void
read_file(struct fat_vol *vol, const struct fat_dirent *e)
{
	static uint8_t buf[4096];
	struct fat_file f;

	if (budget_opens == 0)
		return;
	budget_opens--;
	if (fat_open_ent(vol, e, &f) < 0)
		return;
	for (uint64_t off = 0; off < f.size && budget_bytes > 0; off += sizeof(buf)) {
		int n = fat_read(&f, off, buf, sizeof(buf));
		if (n <= 0)
			break;
		budget_bytes -= (size_t)n < budget_bytes ? (size_t)n : budget_bytes;
	}
	(void)fat_read(&f, f.size / 3, buf, 100);
}

static void
walk(struct fat_vol *vol, const struct fat_dirent *dirent, int depth)
{
	struct fat_dir d;
	struct fat_dirent e;

	if (depth > 6 || fat_opendir_ent(vol, dirent, &d) < 0)
		return;
	while (budget_entries > 0 && fat_readdir(&d, &e) == 1) {
		budget_entries--;
		if (e.is_dir)
			walk(vol, &e, depth + 1);
		else
			read_file(vol, &e);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fat_vol vol;
	struct blk_dev dev;
	struct fat_dirent root;

	if (size < 5)
		return 0;
	uint8_t flags = data[0];
	uint32_t sectors = get32(data + 1);
	if (sectors == 0)
		sectors = 1;
	if (sectors > MAX_SECTORS)
		sectors = MAX_SECTORS;
	dev_bytes = (uint64_t)sectors * 512;
	nruns = 0;
	for (size_t p = 5; p + 6 <= size && nruns < MAX_RUNS;) {
		uint32_t lba = get32(data + p);
		uint32_t len = (uint32_t)data[p + 4] | ((uint32_t)data[p + 5] << 8);
		p += 6;
		if (len > size - p)
			len = (uint32_t)(size - p);
		runs[nruns].off = (uint64_t)lba * 512;
		runs[nruns].data = data + p;
		runs[nruns].len = len;
		nruns++;
		p += len;
	}
	dev.block_size = (flags & 1) ? 4096 : 512;
	dev.block_count = dev_bytes / dev.block_size;
	if (dev.block_count == 0)
		dev.block_count = 1;
	dev.read = sparse_read;
	dev.write = sparse_write;
	dev.flush = sparse_flush;
	dev.ctx = NULL;

	if (fat_mount(&vol, &dev, (flags & 2) ? FAT_MOUNT_STRICT : 0) < 0)
		return 0;
	budget_entries = 4000;
	budget_opens = 64;
	budget_bytes = 1u << 20;
	if (fat_stat(&vol, "", &root) == 0)
		walk(&vol, &root, 0);
	struct fat_dirent e;
	(void)fat_stat(&vol, "dir1/dir2/dir3/deep.txt", &e);
	(void)fat_stat(&vol, "many/entry-number-007.dat", &e);
	return 0;
}
