/*
 * CAPOSWF1 on-disk layout (docs/caposwf1.md), shared by the library, the
 * image tool, the fuzz targets and the tests. Little-endian, packed,
 * size-checked.
 *
 * Device layout (volume header, this file's wf_vol_disk):
 *   block 0                 CAPOSVOL volume header: where the Store and WF regions are
 *   [st_start, +st_blocks)  CAPOSST1 Store region (docs/caposst1.md)
 *   [wf_start, +wf_blocks)  CAPOSWF1 region
 *
 * WF region layout, in blocks of the region:
 *   0, 1                    commit records (slot = generation % 2)
 *   area 0, area 1          metadata areas of md_blocks each (area = generation % 2):
 *                             [crc table][inode table][extent table]
 *   data_start ..           data blocks, referenced by extents (lba relative to data_start)
 */
#ifndef CAPOS_WFS_WF_DISK_H
#define CAPOS_WFS_WF_DISK_H

#include <stdint.h>

#define WF_VOL_MAGIC "CAPOSVOL"
#define WF_VOL_VERSION 1u
#define WF_MAGIC "CAPOSWF1"
#define WF_VERSION 1u
#define WF_INODE_SIZE 128u
#define WF_EXTENT_SIZE 16u
#define WF_NAME_MAX 88u           /* bytes in one name */
#define WF_EXT_NONE 0xffffffffu
#define WF_ROOT 0u
#define WF_T_FREE 0u
#define WF_T_FILE 1u
#define WF_T_DIR 2u
#define WF_INODES_MAX (1u << 20)  /* format limits, also mount sanity bounds */
#define WF_EXTENTS_MAX (1u << 24)

struct wf_vol_disk {
	char magic[8];            /* "CAPOSVOL" */
	uint32_t version;
	uint32_t block_size;
	uint64_t device_blocks;
	uint64_t st_start, st_blocks;
	uint64_t wf_start, wf_blocks;
	uint8_t reserved[68];
	uint32_t crc;             /* CRC32C of the preceding 124 bytes */
} __attribute__((packed));
_Static_assert(sizeof(struct wf_vol_disk) == 128, "wf_vol_disk size");

struct wf_super_disk {
	char magic[8];            /* "CAPOSWF1" */
	uint32_t version;
	uint32_t block_size;
	uint64_t region_blocks;
	uint64_t gen;             /* slot = gen % 2, metadata area = gen % 2 */
	uint32_t inode_count;
	uint32_t extent_count;
	uint32_t md_blocks;       /* per area, crc table included */
	uint32_t crc_blocks;      /* crc table blocks at the start of an area */
	uint64_t data_start;      /* = 2 + 2 * md_blocks */
	uint64_t data_blocks;
	uint32_t table_crc;       /* CRC32C of the crc table blocks */
	uint8_t reserved[56];
	uint32_t crc;             /* CRC32C of the preceding 124 bytes */
} __attribute__((packed));
_Static_assert(sizeof(struct wf_super_disk) == 128, "wf_super_disk size");

struct wf_inode_disk {
	uint8_t type;             /* WF_T_* */
	uint8_t name_len;
	uint16_t flags;           /* 0 */
	uint32_t parent;          /* directory inode; root's parent is itself */
	uint64_t size;            /* bytes; 0 for directories */
	uint64_t ctime, mtime;    /* from the clock callback (ns) */
	uint32_t first_ext;       /* extent chain in file order, WF_EXT_NONE if empty */
	uint32_t reserved;
	uint8_t name[WF_NAME_MAX];
} __attribute__((packed));
_Static_assert(sizeof(struct wf_inode_disk) == WF_INODE_SIZE, "wf_inode_disk size");

struct wf_extent_disk {
	uint64_t lba;             /* first data block, relative to data_start */
	uint32_t len;             /* blocks; 0 = free slot */
	uint32_t next;            /* next extent of the file, WF_EXT_NONE at the end */
} __attribute__((packed));
_Static_assert(sizeof(struct wf_extent_disk) == WF_EXTENT_SIZE, "wf_extent_disk size");

#endif
