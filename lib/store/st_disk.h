/*
 * CAPOSST1 on-disk layout (docs/caposst1.md). One definition shared by the
 * library, the image tool, the fuzz targets and the tests. All integers are
 * little-endian; the structures are packed and size-checked.
 *
 * Region layout, in blocks of the region:
 *   0, 1            commit records (slot = generation % 2); after the 128-byte
 *                   header each holds the pending journal: pend_entries
 *                   entries (64 B each) then pend_bytes record bytes, which
 *                   logically follow the table and the data area
 *   area 0          [table_blocks entry table][data_blocks data]
 *   area 1          same size; the shadow generation used by compaction
 */
#ifndef CAPOS_STORE_ST_DISK_H
#define CAPOS_STORE_ST_DISK_H

#include <stdint.h>

#define ST_MAGIC "CAPOSST1"
#define ST_VERSION 1u
#define ST_ENTRY_SIZE 64u
#define ST_KIND_PUT 1u
#define ST_KIND_TOMB 2u

/* Commit record: the first 128 bytes of block 0 or 1; rest of block zero. */
struct st_super_disk {
	char magic[8];
	uint32_t version;
	uint32_t block_size;
	uint64_t region_blocks;
	uint64_t gen;            /* commit generation; slot = gen % 2 */
	uint32_t front;          /* area holding the live generation: 0 or 1 */
	uint32_t table_blocks;   /* per area */
	uint64_t data_blocks;    /* per area */
	uint64_t entry_count;    /* entries written to the front table */
	uint64_t data_tail;      /* bytes written to the front data area */
	uint64_t next_seq;       /* next record sequence number */
	uint32_t key_max;
	uint32_t val_max;
	uint32_t pend_entries;   /* journaled entries after the header */
	uint32_t pend_bytes;     /* journaled record bytes after those entries */
	uint8_t reserved[36];
	uint32_t crc;            /* CRC32C of bytes 0..123 || le32 CRC32C(journal entries)
	                            || le32 CRC32C(journal bytes) */
} __attribute__((packed));
_Static_assert(sizeof(struct st_super_disk) == 128, "st_super_disk size");

/* One entry of the append-only entry table (64 bytes). */
struct st_entry_disk {
	uint64_t seq;            /* strictly increasing along the table */
	uint64_t data_off;       /* byte offset of key||value in the area's data */
	uint32_t val_len;
	uint32_t data_crc;       /* CRC32C of key||value */
	uint32_t key_hash;       /* CRC32C of key */
	uint16_t key_len;
	uint8_t kind;            /* ST_KIND_PUT or ST_KIND_TOMB */
	uint8_t pad;
	uint8_t reserved[28];
	uint32_t crc;            /* CRC32C of the preceding 60 bytes */
} __attribute__((packed));
_Static_assert(sizeof(struct st_entry_disk) == ST_ENTRY_SIZE, "st_entry_disk size");

#endif
