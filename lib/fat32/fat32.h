/*
 * Hardened read-only FAT32 reader over struct blk_dev (docs/fat32.md).
 *
 * Every structure read from the device is validated before use: the BPB field
 * by field at mount, every FAT entry when a chain is followed, every directory
 * entry when it is decoded. Walks over chains and directories are bounded by
 * the volume's cluster count, so a looping chain ends in E_LOOP and never hangs.
 * No allocation: the caller owns struct fat_vol (which holds a one-block cache)
 * and the file and directory cursors. Not thread-safe: one vol per thread.
 */
#ifndef CAPOS_FAT32_FAT32_H
#define CAPOS_FAT32_FAT32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blk/blk.h"
#include "blk/bytes.h"

#define FAT_NAME_MAX   765  /* 255 UTF-16 units, at most 3 UTF-8 bytes each */
#define FAT_PATH_MAX   4096 /* bytes in a path given to fat_open/fat_opendir/fat_stat */
#define FAT_DEPTH_MAX  64   /* path components followed */
#define FAT_CACHE_MAX  4096 /* largest device block */
#define FAT_LFN_BUF_UNITS 260 /* 20 LFN entries * 13 units */

/* fat_mount flags. */
#define FAT_MOUNT_STRICT 0x1u /* also require >= 65525 clusters (the fatgen103 FAT32 minimum) */

struct fat_time {
	bool valid;          /* false: field was 0 or not a real date/time */
	uint16_t year;       /* 1980..2107 */
	uint8_t month, day;  /* 1..12, 1..31 */
	uint8_t hour, minute, second; /* 0..23, 0..59, 0..59 */
	uint16_t msec;       /* 0..999, creation time only */
};

struct fat_vol {
	struct blk_dev *dev;
	uint32_t bytes_per_sector;
	uint32_t sectors_per_cluster;
	uint32_t cluster_size;      /* bytes */
	uint32_t reserved_sectors;
	uint32_t fat_count;
	uint32_t fat_sectors;       /* per FAT */
	uint32_t total_sectors;
	uint32_t active_fat;        /* FAT used for reads */
	uint32_t cluster_count;     /* data clusters; valid numbers are 2..cluster_count+1 */
	uint32_t root_cluster;
	uint64_t fat_offset;        /* byte offset of the active FAT */
	uint64_t data_offset;       /* byte offset of cluster 2 */
	bool fsinfo_valid;          /* FSInfo present with good signatures */
	uint32_t free_hint;         /* FSInfo free count, 0xFFFFFFFF if unknown: a hint only */
	uint32_t next_free_hint;    /* FSInfo next free, 0xFFFFFFFF if unknown */
	struct blk_bcache bc;
	uint8_t cache[FAT_CACHE_MAX];
};

struct fat_dirent {
	char name[FAT_NAME_MAX + 1]; /* long name as UTF-8, else the 8.3 name */
	char short_name[25];         /* 8.3 as "NAME.EXT" (lower-case flags applied), UTF-8 */
	bool has_long_name;
	uint8_t attr;
	bool is_dir;
	uint32_t first_cluster;      /* 0 for an empty file */
	uint32_t size;               /* bytes; 0 for directories */
	struct fat_time ctime, mtime, atime;
};

/* An open directory: a cursor over its entries. */
struct fat_dir {
	struct fat_vol *vol;
	uint32_t start_cluster;
	uint32_t cluster;            /* current cluster, 0 at end */
	uint32_t index;              /* entry index within the directory */
	uint32_t clusters_walked;
	bool at_end;
	/* Long-name assembly state. */
	uint8_t lfn_next;            /* next expected ordinal, 0 when idle */
	uint8_t lfn_count;
	uint8_t lfn_sum;
	uint16_t lfn[FAT_LFN_BUF_UNITS];
};

/* An open file. Reads at any offset; a cursor remembers the last cluster reached. */
struct fat_file {
	struct fat_vol *vol;
	uint32_t first_cluster;
	uint32_t size;
	uint32_t pos_index;          /* cluster index of pos_cluster in the chain */
	uint32_t pos_cluster;
	struct fat_dirent ent;
};

int fat_mount(struct fat_vol *vol, struct blk_dev *dev, uint32_t flags);
/* Drop the block cache: the device content changed underneath (tests patch images live). */
void fat_invalidate(struct fat_vol *vol);

/* Paths are '/'-separated from the root; empty components are skipped; "." and ".." are
 * refused with E_NAME. Names compare case-insensitively for ASCII, as FAT does. */
int fat_stat(struct fat_vol *vol, const char *path, struct fat_dirent *out);
int fat_open(struct fat_vol *vol, const char *path, struct fat_file *f);
int fat_opendir(struct fat_vol *vol, const char *path, struct fat_dir *d);
/* Open a directory from an entry returned by fat_readdir (no path walk). */
int fat_opendir_ent(struct fat_vol *vol, const struct fat_dirent *ent, struct fat_dir *d);
int fat_open_ent(struct fat_vol *vol, const struct fat_dirent *ent, struct fat_file *f);

/* Next entry ("." and "..", deleted entries and volume labels skipped): 1 and *out filled,
 * 0 at the end, or a negative error. */
int fat_readdir(struct fat_dir *d, struct fat_dirent *out);
/* A resumable cursor: fat_dir_tell after a fat_readdir gives a position that
 * fat_dir_seek on a directory opened afresh returns to (the next entry). */
uint32_t fat_dir_tell(const struct fat_dir *d);
int fat_dir_seek(struct fat_dir *d, uint32_t pos);

/* Read up to len bytes at off; returns the count read (0 at or past end of file) or an error.
 * len is capped at INT32_MAX so the count fits the return value. */
int fat_read(struct fat_file *f, uint64_t off, void *buf, size_t len);

/* Decoders, exposed for tests. */
void fat_decode_time(uint16_t date, uint16_t time, uint8_t tenth, struct fat_time *out);
uint8_t fat_lfn_checksum(const uint8_t short_name[11]);

#endif
