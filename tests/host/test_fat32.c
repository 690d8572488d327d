/*
 * FAT32 reader tests (cmocka). Images are made at test time by
 * tests/host/fat32/mkimages.sh with mkfs.fat and mcopy, mapped copy-on-write,
 * and for the hostile cases patched in the private mapping before mounting.
 * Each case names the error it expects.
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "fat32/fat32.h"
#include "fat32/fat32_reg.h"

#ifndef FAT_TEST_SCRIPT
#error "FAT_TEST_SCRIPT must name tests/host/fat32/mkimages.sh"
#endif
/* Per process, so that concurrent runs in one build/ do not share images. */
static char img_dir[64];

/* A RAM block device over a private mapping of an image file. */
struct ram {
	uint8_t *p;
	size_t len;
	struct blk_dev dev;
	struct fat_vol vol;
};

static int
ram_read(struct blk_dev *dev, uint64_t lba, uint32_t count, void *buf)
{
	struct ram *r = dev->ctx;
	if (lba > dev->block_count || count > dev->block_count - lba)
		return E_RANGE;
	memcpy(buf, r->p + lba * dev->block_size, (size_t)count * dev->block_size);
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

static struct ram *
ram_open(const char *name, uint32_t bs)
{
	char path[256];
	struct stat st;
	struct ram *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	snprintf(path, sizeof(path), "%s/%s.img", img_dir, name);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	r->len = (size_t)st.st_size;
	r->p = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	assert_true(r->p != MAP_FAILED);
	close(fd);
	r->dev.block_size = bs;
	r->dev.block_count = r->len / bs;
	r->dev.read = ram_read;
	r->dev.write = ram_write;
	r->dev.flush = ram_flush;
	r->dev.ctx = r;
	return r;
}

static void
ram_close(struct ram *r)
{
	munmap(r->p, r->len);
	free(r);
}

static struct ram *
mounted(const char *name, uint32_t bs)
{
	struct ram *r = ram_open(name, bs);
	assert_int_equal(fat_mount(&r->vol, &r->dev, 0), 0);
	return r;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static uint8_t
fat_pattern(size_t i, unsigned seed)
{
	return (uint8_t)((i * 31 + seed) & 0xff);
}

/* Byte offset of the raw 32-byte entry whose 8.3 name is `n11` (first hit). */
static size_t
find_raw_entry(struct ram *r, const char *n11)
{
	for (size_t off = (size_t)r->vol.data_offset; off + 32 <= r->len; off += 32)
		if (memcmp(r->p + off, n11, 11) == 0)
			return off;
	fail_msg("entry %s not found", n11);
	return 0;
}

static uint8_t *
fat_entry_ptr(struct ram *r, uint32_t c)
{
	return r->p + r->vol.fat_offset + (size_t)c * 4;
}

static int
group_setup(void **state)
{
	char cmd[512];
	snprintf(img_dir, sizeof(img_dir), "fat32-images.%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "bash %s %s >/dev/null", FAT_TEST_SCRIPT, img_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", img_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- well-formed images ---- */

static void
check_file(struct fat_vol *vol, const char *path, size_t size, unsigned seed)
{
	struct fat_file f;
	assert_int_equal(fat_open(vol, path, &f), 0);
	assert_int_equal(f.size, size);
	uint8_t *buf = malloc(size + 16);
	assert_int_equal(fat_read(&f, 0, buf, size + 16), (int)size);
	for (size_t i = 0; i < size; i++)
		if (buf[i] != fat_pattern(i, seed))
			fail_msg("%s: byte %zu differs", path, i);
	/* Reads at offsets, crossing clusters, backwards and forwards. */
	size_t offs[] = { size / 2, 1, size > 5000 ? size - 5000 : 0, 511, 4095, 4097 };
	for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
		size_t o = offs[k];
		if (o >= size)
			continue;
		size_t n = size - o < 3000 ? size - o : 3000;
		memset(buf, 0, n);
		assert_int_equal(fat_read(&f, o, buf, n), (int)n);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(buf[i], fat_pattern(o + i, seed));
	}
	assert_int_equal(fat_read(&f, size, buf, 10), 0);
	assert_int_equal(fat_read(&f, size + 100, buf, 10), 0);
	free(buf);
}

static void
check_volume(struct fat_vol *vol)
{
	struct fat_dirent e;
	struct fat_file f;
	char buf[64];

	check_file(vol, "big.bin", 100000, 1);
	check_file(vol, "exact4k.bin", 4096, 4);
	check_file(vol, "/Long File Name With Spaces.txt", 300, 2);
	check_file(vol, "dir1/dir2/dir3/deep.txt", 1234, 3);
	check_file(vol, "//DIR1//Dir2/dir3/DEEP.TXT", 1234, 3);

	assert_int_equal(fat_open(vol, "hello.txt", &f), 0);
	assert_int_equal(fat_read(&f, 0, buf, sizeof(buf)), 13);
	assert_memory_equal(buf, "hello, capOS\n", 13);
	assert_true(f.ent.mtime.valid);
	assert_int_equal(f.ent.mtime.year, 2021);
	assert_int_equal(f.ent.mtime.month, 3);
	assert_int_equal(f.ent.mtime.day, 4);
	assert_int_equal(f.ent.mtime.hour, 5);
	assert_int_equal(f.ent.mtime.minute, 6);
	assert_int_equal(f.ent.mtime.second, 8);
	assert_true(f.ent.ctime.valid);
	assert_true(f.ent.atime.valid);

	assert_int_equal(fat_open(vol, "empty.bin", &f), 0);
	assert_int_equal(f.size, 0);
	assert_int_equal(fat_read(&f, 0, buf, sizeof(buf)), 0);

	assert_int_equal(fat_stat(vol, "dir1/ünïcödé-名前.txt", &e), 0);
	assert_true(e.has_long_name);
	assert_string_equal(e.name, "ünïcödé-名前.txt");
	assert_int_equal(e.size, 8);
	assert_int_equal(fat_stat(vol, "Long File Name With Spaces.txt", &e), 0);
	assert_string_equal(e.short_name, "LONGFI~1.TXT");
	assert_int_equal(fat_stat(vol, "longfi~1.txt", &e), 0);
	assert_int_equal(fat_stat(vol, "UPPER.TXT", &e), 0);
	assert_false(e.has_long_name);
	assert_string_equal(e.name, "UPPER.TXT");
	assert_int_equal(fat_stat(vol, "big.bin", &e), 0);
	assert_string_equal(e.name, "big.bin"); /* 8.3 with the lower-case flags */

	assert_int_equal(fat_stat(vol, "", &e), 0);
	assert_true(e.is_dir);
	assert_int_equal(fat_stat(vol, "nope", &e), E_NOENT);
	assert_int_equal(fat_stat(vol, "hello.txt/x", &e), E_NOENT);
	assert_int_equal(fat_stat(vol, "dir1/../hello.txt", &e), E_NAME);
	assert_int_equal(fat_stat(vol, "./hello.txt", &e), E_NAME);
	assert_int_equal(fat_open(vol, "dir1", &f), E_BADF);

	/* Root listing: exact set of names. */
	struct fat_dir d;
	const char *want[] = { "Long File Name With Spaces.txt", "UPPER.TXT", "big.bin", "dir1",
			       "empty.bin", "hello.txt", "many", "exact4k.bin" };
	int seen = 0, n = 0, r;
	assert_int_equal(fat_opendir(vol, "/", &d), 0);
	while ((r = fat_readdir(&d, &e)) == 1) {
		n++;
		for (int i = 0; i < 8; i++)
			if (strcmp(e.name, want[i]) == 0)
				seen |= 1 << i;
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, 8);
	assert_int_equal(seen, 0xff);
	assert_int_equal(fat_readdir(&d, &e), 0); /* stays at the end */

	/* The many-entry directory spans clusters; every name exactly once. */
	uint8_t hit[200] = { 0 };
	assert_int_equal(fat_opendir(vol, "many", &d), 0);
	n = 0;
	while ((r = fat_readdir(&d, &e)) == 1) {
		unsigned k;
		assert_int_equal(sscanf(e.name, "entry-number-%3u.dat", &k), 1);
		assert_true(k < 200);
		assert_int_equal(hit[k], 0);
		hit[k] = 1;
		assert_int_equal(e.size, 10);
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, 200);

	/* Resume a listing from a saved position in a freshly opened directory. */
	memset(hit, 0, sizeof(hit));
	assert_int_equal(fat_opendir(vol, "many", &d), 0);
	for (int i = 0; i < 77; i++) {
		unsigned k;
		assert_int_equal(fat_readdir(&d, &e), 1);
		assert_int_equal(sscanf(e.name, "entry-number-%3u.dat", &k), 1);
		hit[k]++;
	}
	uint32_t pos = fat_dir_tell(&d);
	struct fat_dir d2;
	assert_int_equal(fat_opendir(vol, "many", &d2), 0);
	assert_int_equal(fat_dir_seek(&d2, pos), 0);
	n = 77;
	while ((r = fat_readdir(&d2, &e)) == 1) {
		unsigned k;
		assert_int_equal(sscanf(e.name, "entry-number-%3u.dat", &k), 1);
		assert_int_equal(hit[k], 0);
		hit[k]++;
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, 200);
	assert_int_equal(fat_dir_seek(&d2, 0), 0);
	assert_int_equal(fat_readdir(&d2, &e), 1);
	assert_int_equal(fat_dir_seek(&d2, 60000), E_RANGE);
	assert_int_equal(fat_open(vol, "many/entry-number-137.dat", &f), 0);
	assert_int_equal(fat_read(&f, 0, buf, sizeof(buf)), 10);
	assert_memory_equal(buf, "entry 137\n", 10);
}

static void
fat0001_mount_s512_blk512(void **state)
{
	struct ram *r = mounted("s512", 512);
	assert_int_equal(r->vol.bytes_per_sector, 512);
	assert_int_equal(r->vol.cluster_size, 512);
	assert_true(r->vol.cluster_count >= 65525);
	assert_true(r->vol.fsinfo_valid);
	check_volume(&r->vol);
	ram_close(r);
}

static void
fat0002_mount_s512_blk4096(void **state)
{
	struct ram *r = mounted("s512", 4096);
	check_volume(&r->vol);
	ram_close(r);
}

static void
fat0003_mount_s4096_blk512(void **state)
{
	struct ram *r = mounted("s4096", 512);
	assert_int_equal(r->vol.bytes_per_sector, 4096);
	assert_true(r->vol.fsinfo_valid);
	assert_true(r->vol.free_hint != 0xFFFFFFFFu && r->vol.free_hint < r->vol.cluster_count);
	check_volume(&r->vol);
	ram_close(r);
}

static void
fat0004_mount_s4096_blk4096(void **state)
{
	struct ram *r = mounted("s4096", 4096);
	check_volume(&r->vol);
	ram_close(r);
}

static void
fat0007_mount_s2048(void **state)
{
	struct ram *r = mounted("s2048", 4096); /* FAT sector smaller than a device block */
	assert_int_equal(r->vol.bytes_per_sector, 2048);
	check_volume(&r->vol);
	ram_close(r);
	r = mounted("s2048", 512);             /* and larger */
	check_volume(&r->vol);
	ram_close(r);
}

static void
fat0005_strict_mount(void **state)
{
	struct ram *r = ram_open("s512", 512);
	assert_int_equal(fat_mount(&r->vol, &r->dev, FAT_MOUNT_STRICT), 0);
	/* Shrink the volume below 65525 clusters: accepted, but not in strict mode. */
	put32(r->p + FAT_BPB_TOTSEC32, 60000);
	assert_int_equal(fat_mount(&r->vol, &r->dev, FAT_MOUNT_STRICT), E_CORRUPT);
	assert_int_equal(fat_mount(&r->vol, &r->dev, 0), 0);
	assert_int_equal(fat_mount(&r->vol, &r->dev, 0x80), E_INVAL);
	ram_close(r);
}

static void
fat0006_time_decode(void **state)
{
	struct fat_time t;
	fat_decode_time(0, 0, 0, &t);
	assert_false(t.valid);
	fat_decode_time((uint16_t)((44 << 9) | (2 << 5) | 29), (uint16_t)((23 << 11) | (59 << 5) | 29), 199, &t);
	assert_true(t.valid); /* 2024-02-29 is a leap day */
	assert_int_equal(t.second, 59);
	assert_int_equal(t.msec, 990);
	fat_decode_time((uint16_t)((43 << 9) | (2 << 5) | 29), 0, 0, &t);
	assert_false(t.valid); /* 2023-02-29 is not */
	fat_decode_time((uint16_t)((43 << 9) | (13 << 5) | 1), 0, 0, &t);
	assert_false(t.valid);
	fat_decode_time((uint16_t)((43 << 9) | (1 << 5) | 1), (uint16_t)(24 << 11), 0, &t);
	assert_false(t.valid);
	fat_decode_time((uint16_t)((43 << 9) | (1 << 5) | 1), 0, 200, &t);
	assert_false(t.valid);
	const uint8_t n[11] = { 'L', 'O', 'N', 'G', 'F', 'I', '~', '1', 'T', 'X', 'T' };
	uint8_t s = fat_lfn_checksum(n);
	assert_int_equal(s, fat_lfn_checksum(n)); /* checked for real against mcopy's output below */
}

/* ---- hostile images: each patch names the error it must produce ---- */

struct bpb_case {
	const char *what;
	uint32_t off;
	uint32_t width; /* 1, 2 or 4 */
	uint32_t value;
	int want;
};

static const struct bpb_case bpb_cases[] = {
	{ "jmp boot", FAT_BS_JMPBOOT, 1, 0x00, E_CORRUPT },
	{ "0x55AA signature", FAT_BS_SIG, 2, 0x0000, E_CORRUPT },
	{ "bytes/sector not pow2", FAT_BPB_BYTSPERSEC, 2, 1000, E_CORRUPT },
	{ "bytes/sector 256", FAT_BPB_BYTSPERSEC, 2, 256, E_CORRUPT },
	{ "bytes/sector 8192", FAT_BPB_BYTSPERSEC, 2, 8192, E_CORRUPT },
	{ "sectors/cluster 0", FAT_BPB_SECPERCLUS, 1, 0, E_CORRUPT },
	{ "sectors/cluster 3", FAT_BPB_SECPERCLUS, 1, 3, E_CORRUPT },
	{ "reserved 0", FAT_BPB_RSVDSECCNT, 2, 0, E_CORRUPT },
	{ "fat count 0", FAT_BPB_NUMFATS, 1, 0, E_CORRUPT },
	{ "fat count 3", FAT_BPB_NUMFATS, 1, 3, E_CORRUPT },
	{ "root entries on FAT32", FAT_BPB_ROOTENTCNT, 2, 512, E_CORRUPT },
	{ "16-bit total sectors", FAT_BPB_TOTSEC16, 2, 100, E_CORRUPT },
	{ "16-bit FAT size: a FAT12/16 BPB", FAT_BPB_FATSZ16, 2, 100, E_NOTSUP },
	{ "media byte", FAT_BPB_MEDIA, 1, 0x12, E_CORRUPT },
	{ "total sectors 0", FAT_BPB_TOTSEC32, 4, 0, E_CORRUPT },
	{ "total sectors beyond device", FAT_BPB_TOTSEC32, 4, 0x7fffffff, E_CORRUPT },
	{ "total sectors inside metadata", FAT_BPB_TOTSEC32, 4, 100, E_CORRUPT },
	{ "FAT size 0", FAT_BPB_FATSZ32, 4, 0, E_CORRUPT },
	{ "FAT too small for clusters", FAT_BPB_FATSZ32, 4, 8, E_CORRUPT },
	{ "FAT size huge", FAT_BPB_FATSZ32, 4, 0x40000000, E_CORRUPT },
	{ "active FAT out of range", FAT_BPB_EXTFLAGS, 2, 0x0085, E_CORRUPT },
	{ "FS version", FAT_BPB_FSVER, 2, 0x0100, E_NOTSUP },
	{ "root cluster 0", FAT_BPB_ROOTCLUS, 4, 0, E_CORRUPT },
	{ "root cluster 1", FAT_BPB_ROOTCLUS, 4, 1, E_CORRUPT },
	{ "root cluster past end", FAT_BPB_ROOTCLUS, 4, 0x0FFFFFF0, E_CORRUPT },
	{ "FSInfo outside reserved area", FAT_BPB_FSINFO, 2, 5000, E_CORRUPT },
	{ "backup boot outside reserved area", FAT_BPB_BKBOOTSEC, 2, 5000, E_CORRUPT },
};

static void
patch(uint8_t *p, uint32_t width, uint32_t v)
{
	if (width == 1)
		p[0] = (uint8_t)v;
	else if (width == 2)
		put16(p, (uint16_t)v);
	else
		put32(p, v);
}

static void
fat0100_bad_bpb_fields(void **state)
{
	for (size_t i = 0; i < sizeof(bpb_cases) / sizeof(bpb_cases[0]); i++) {
		const struct bpb_case *c = &bpb_cases[i];
		struct ram *r = ram_open("s512", 512);
		patch(r->p + c->off, c->width, c->value);
		int got = fat_mount(&r->vol, &r->dev, 0);
		if (got != c->want)
			fail_msg("FAT0100 %s: want %s got %s", c->what, err_name(c->want), err_name(got));
		ram_close(r);
	}
}

static void
fat0101_truncated_image(void **state)
{
	struct ram *r = ram_open("s512", 512);
	r->dev.block_count /= 2;
	assert_int_equal(fat_mount(&r->vol, &r->dev, 0), E_CORRUPT);
	r->dev.block_count = 1;
	assert_int_equal(fat_mount(&r->vol, &r->dev, 0), E_CORRUPT);
	r->dev.block_size = 1024;
	assert_int_equal(fat_mount(&r->vol, &r->dev, 0), E_INVAL);
	ram_close(r);
}

static void
fat0103_fat16_refused(void **state)
{
	struct ram *r = ram_open("fat16", 512);
	assert_int_equal(fat_mount(&r->vol, &r->dev, 0), E_NOTSUP);
	ram_close(r);
}

static void
fat0102_fsinfo_hints(void **state)
{
	struct ram *r = ram_open("s512", 512);
	uint32_t sec = r->p[FAT_BPB_FSINFO] | (r->p[FAT_BPB_FSINFO + 1] << 8);
	uint8_t *fsi = r->p + sec * 512;
	put32(fsi + FAT_FSI_FREECOUNT, 0xFFFFFFF0u); /* more free than clusters */
	put32(fsi + FAT_FSI_NXTFREE, 1);
	assert_int_equal(fat_mount(&r->vol, &r->dev, 0), 0);
	assert_true(r->vol.fsinfo_valid);
	assert_int_equal(r->vol.free_hint, 0xFFFFFFFFu);
	assert_int_equal(r->vol.next_free_hint, 0xFFFFFFFFu);
	put32(fsi + FAT_FSI_LEADSIG, 0);
	assert_int_equal(fat_mount(&r->vol, &r->dev, 0), 0); /* a hint, not a reason to refuse */
	assert_false(r->vol.fsinfo_valid);
	ram_close(r);
}

/* Chain of big.bin: first cluster and the cluster holding its last byte. */
static void
big_chain(struct ram *r, uint32_t *first, uint32_t *last)
{
	struct fat_dirent e;
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "big.bin", &e), 0);
	uint32_t c = e.first_cluster, n;
	*first = c;
	for (;;) {
		n = (fat_entry_ptr(r, c)[0] | (fat_entry_ptr(r, c)[1] << 8) | (fat_entry_ptr(r, c)[2] << 16) |
		     ((uint32_t)fat_entry_ptr(r, c)[3] << 24)) & 0x0FFFFFFF;
		if (n >= 0x0FFFFFF8)
			break;
		c = n;
	}
	*last = c;
}

static void
fat0110_chain_faults(void **state)
{
	struct { const char *what; int where; uint32_t value; int want; } cases[] = {
		{ "cycle back to the first cluster", 1, 0xFFFFFFFF, E_LOOP },
		{ "self loop at the first cluster", 0, 0xFFFFFFFE, E_LOOP },
		{ "free entry inside the chain", 0, FAT_ENT_FREE, E_CORRUPT },
		{ "reserved entry 1", 0, 1, E_CORRUPT },
		{ "bad-cluster mark", 0, FAT_ENT_BAD, E_CORRUPT },
		{ "past the last cluster", 0, 0x0FFFFFF0, E_CORRUPT },
		{ "chain ends early", 0, 0x0FFFFFFF, E_CORRUPT },
		{ "chain longer than the size", 1, 0xFFFFFFFD, E_CORRUPT },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ram *r = mounted("s512", 512);
		uint32_t first, last;
		big_chain(r, &first, &last);
		uint32_t at = cases[i].where ? last : first;
		uint32_t v = cases[i].value;
		if (v == 0xFFFFFFFF)
			v = first;
		else if (v == 0xFFFFFFFE)
			v = first;
		else if (v == 0xFFFFFFFD) {
			/* Append a free cluster: find one and terminate it. */
			uint32_t fc = r->vol.cluster_count + 1;
			put32(fat_entry_ptr(r, fc), 0x0FFFFFFF);
			v = fc;
		}
		put32(fat_entry_ptr(r, at), v);
		struct fat_file f;
		int got = fat_open(&r->vol, "big.bin", &f);
		if (got != cases[i].want)
			fail_msg("FAT0110 %s: want %s got %s", cases[i].what, err_name(cases[i].want), err_name(got));
		ram_close(r);
	}
}

static void
fat0111_size_vs_chain(void **state)
{
	struct ram *r = mounted("s512", 512);
	size_t off = find_raw_entry(r, "BIG     BIN");
	struct fat_file f;
	put32(r->p + off + FAT_DIR_FILESIZE, 10);
	fat_invalidate(&r->vol);
	assert_int_equal(fat_open(&r->vol, "big.bin", &f), E_CORRUPT);
	put32(r->p + off + FAT_DIR_FILESIZE, 200000);
	fat_invalidate(&r->vol);
	assert_int_equal(fat_open(&r->vol, "big.bin", &f), E_CORRUPT);
	put32(r->p + off + FAT_DIR_FILESIZE, 0xFFFFFFFF);
	fat_invalidate(&r->vol);
	assert_int_equal(fat_open(&r->vol, "big.bin", &f), E_CORRUPT);
	put32(r->p + off + FAT_DIR_FILESIZE, 0);
	fat_invalidate(&r->vol);
	assert_int_equal(fat_open(&r->vol, "big.bin", &f), E_CORRUPT); /* empty with a cluster */
	put32(r->p + off + FAT_DIR_FILESIZE, 100000);
	put16(r->p + off + FAT_DIR_FSTCLUSHI, 0xFFFF);
	struct fat_dirent e;
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "big.bin", &e), E_CORRUPT); /* cluster out of range */
	ram_close(r);
}

static void
fat0120_lfn_bad_checksum(void **state)
{
	struct ram *r = mounted("s512", 512);
	size_t off = find_raw_entry(r, "LONGFI~1TXT");
	struct fat_dirent e;
	/* The LFN entries sit just before the short entry. */
	assert_int_equal(r->p[off - 32 + FAT_DIR_ATTR], FAT_ATTR_LONG_NAME);
	assert_int_equal(r->p[off - 32 + FAT_LFN_CHKSUM], fat_lfn_checksum(r->p + off));
	r->p[off - 32 + FAT_LFN_CHKSUM] ^= 0x5A;
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "Long File Name With Spaces.txt", &e), E_NOENT);
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "LONGFI~1.TXT", &e), 0);
	assert_false(e.has_long_name);
	assert_string_equal(e.name, "LONGFI~1.TXT");
	assert_int_equal(e.size, 300);
	ram_close(r);
}

static void
fat0121_lfn_bad_sequence(void **state)
{
	struct ram *r = mounted("s512", 512);
	size_t off = find_raw_entry(r, "LONGFI~1TXT");
	struct fat_dirent e;
	/* "Long File Name With Spaces.txt" is 30 units: 3 LFN entries, ordinals 0x43, 2, 1. */
	assert_int_equal(r->p[off - 96], 0x43);
	r->p[off - 64] = 0x03; /* a gap in the countdown: the run is an orphan */
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "LONGFI~1.TXT", &e), 0);
	assert_false(e.has_long_name);
	r->p[off - 64] = 0x02;
	r->p[off - 96] = 0x03; /* no LAST flag on the first */
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "LONGFI~1.TXT", &e), 0);
	assert_false(e.has_long_name);
	r->p[off - 96] = 0x43;
	put16(r->p + off - 32 + FAT_LFN_NAME1, 0xD800); /* unpaired surrogate */
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "LONGFI~1.TXT", &e), 0);
	assert_false(e.has_long_name);
	put16(r->p + off - 32 + FAT_LFN_NAME1, '/'); /* a slash inside a name */
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "LONGFI~1.TXT", &e), 0);
	assert_false(e.has_long_name);
	put16(r->p + off - 32 + FAT_LFN_NAME1, 'L');
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "LONGFI~1.TXT", &e), 0);
	assert_true(e.has_long_name);
	ram_close(r);
}

static void
fat0130_directory_loops(void **state)
{
	struct fat_dirent e;
	struct fat_dir d;
	int rc;

	/* dir1 points at the root. */
	struct ram *r = mounted("s512", 512);
	size_t off = find_raw_entry(r, "DIR1       ");
	put16(r->p + off + FAT_DIR_FSTCLUSHI, (uint16_t)(r->vol.root_cluster >> 16));
	put16(r->p + off + FAT_DIR_FSTCLUSLO, (uint16_t)r->vol.root_cluster);
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "dir1", &e), E_LOOP);
	fat_invalidate(&r->vol);
	assert_int_equal(fat_opendir(&r->vol, "", &d), 0);
	while ((rc = fat_readdir(&d, &e)) == 1)
		;
	assert_int_equal(rc, E_LOOP);
	ram_close(r);

	/* dir1/dir2/dir3 points back at dir1: an ancestor, not the parent. */
	r = mounted("s512", 512);
	struct fat_dirent d1;
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "dir1", &d1), 0);
	off = find_raw_entry(r, "DIR3       ");
	put16(r->p + off + FAT_DIR_FSTCLUSLO, (uint16_t)d1.first_cluster);
	put16(r->p + off + FAT_DIR_FSTCLUSHI, (uint16_t)(d1.first_cluster >> 16));
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "dir1/dir2/dir3/deep.txt", &e), E_LOOP);
	ram_close(r);

	/* dir2 points at itself's parent dir1 from inside dir1: the directory itself. */
	r = mounted("s512", 512);
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "dir1", &d1), 0);
	off = find_raw_entry(r, "DIR2       ");
	put16(r->p + off + FAT_DIR_FSTCLUSLO, (uint16_t)d1.first_cluster);
	put16(r->p + off + FAT_DIR_FSTCLUSHI, (uint16_t)(d1.first_cluster >> 16));
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "dir1/dir2", &e), E_LOOP);
	ram_close(r);

	/* A directory cluster chain that cycles: the "many" directory spans clusters. */
	r = mounted("s512", 512);
	struct fat_dirent m;
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "many", &m), 0);
	uint32_t c = m.first_cluster, n;
	n = fat_entry_ptr(r, c)[0] | (fat_entry_ptr(r, c)[1] << 8) | (fat_entry_ptr(r, c)[2] << 16);
	put32(fat_entry_ptr(r, n), c); /* second cluster links back to the first */
	fat_invalidate(&r->vol);
	assert_int_equal(fat_opendir(&r->vol, "many", &d), 0);
	while ((rc = fat_readdir(&d, &e)) == 1)
		;
	assert_int_equal(rc, E_LOOP);
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "many/no-such-name", &e), E_LOOP);
	ram_close(r);

	/* Root chain pointing at itself: harmless while an end marker comes first... */
	r = mounted("s512", 512);
	put32(fat_entry_ptr(r, r->vol.root_cluster), r->vol.root_cluster);
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "no-such-name", &e), E_NOENT);
	/* ...and a loop once every entry of the cluster is deleted. */
	uint8_t *root = r->p + r->vol.data_offset + (size_t)(r->vol.root_cluster - 2) * r->vol.cluster_size;
	for (uint32_t k = 0; k < r->vol.cluster_size; k += 32)
		root[k] = 0xE5;
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "no-such-name", &e), E_LOOP);
	ram_close(r);
}

static void
fat0131_bad_entries(void **state)
{
	struct fat_dirent e;
	struct ram *r = mounted("s512", 512);
	size_t off = find_raw_entry(r, "HELLO   TXT");
	/* Invalid modification date: month 13. The file still opens; mtime is absent. */
	put16(r->p + off + FAT_DIR_WRTDATE, (uint16_t)((41 << 9) | (13 << 5) | 4));
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "hello.txt", &e), 0);
	assert_false(e.mtime.valid);
	/* A control byte in an 8.3 name is corruption, not a name. */
	r->p[off + 2] = 0x01;
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "hello.txt", &e), E_CORRUPT);
	ram_close(r);

	/* A subdirectory with cluster 0 or past the end. */
	r = mounted("s512", 512);
	off = find_raw_entry(r, "MANY       ");
	put16(r->p + off + FAT_DIR_FSTCLUSLO, 0);
	put16(r->p + off + FAT_DIR_FSTCLUSHI, 0);
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "many", &e), E_CORRUPT);
	put16(r->p + off + FAT_DIR_FSTCLUSHI, 0x0FFF);
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, "many", &e), E_CORRUPT);
	ram_close(r);
}

static void
fat0132_path_limits(void **state)
{
	struct ram *r = mounted("s512", 512);
	struct fat_dirent e;
	char *p = malloc(FAT_PATH_MAX + 10);
	memset(p, 'a', FAT_PATH_MAX + 9);
	p[FAT_PATH_MAX + 9] = '\0';
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, p, &e), E_NAME);
	free(p);
	fat_invalidate(&r->vol);
	assert_int_equal(fat_stat(&r->vol, NULL, &e), E_INVAL);
	ram_close(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fat0001_mount_s512_blk512),
		cmocka_unit_test(fat0002_mount_s512_blk4096),
		cmocka_unit_test(fat0003_mount_s4096_blk512),
		cmocka_unit_test(fat0004_mount_s4096_blk4096),
		cmocka_unit_test(fat0005_strict_mount),
		cmocka_unit_test(fat0007_mount_s2048),
		cmocka_unit_test(fat0006_time_decode),
		cmocka_unit_test(fat0100_bad_bpb_fields),
		cmocka_unit_test(fat0101_truncated_image),
		cmocka_unit_test(fat0102_fsinfo_hints),
		cmocka_unit_test(fat0103_fat16_refused),
		cmocka_unit_test(fat0110_chain_faults),
		cmocka_unit_test(fat0111_size_vs_chain),
		cmocka_unit_test(fat0120_lfn_bad_checksum),
		cmocka_unit_test(fat0121_lfn_bad_sequence),
		cmocka_unit_test(fat0130_directory_loops),
		cmocka_unit_test(fat0131_bad_entries),
		cmocka_unit_test(fat0132_path_limits),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
