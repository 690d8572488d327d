/*
 * CAPOSRO1 on-disk format (docs/caposro1.md is the spec; this is its single
 * definition, shared by the reader, the builder, the image tool and tests).
 *
 *   [0, 4096)            superblock (128 bytes, CRC32C-checked), rest zero
 *   [entry_off, ...)     entry table: entry_count fixed 64-byte records, BFS order
 *   [name_off, ...)      name table: the entries' names, UTF-8 bytes, no separators
 *   [crc_off, ...)       chunk CRC table: one u32 CRC32C per 4 KiB chunk of each file
 *   [data_off, ...)      file data, one extent per file, ascending, no overlaps
 *
 * All integers little-endian. capOS targets are x86_64, so records are packed
 * structs copied in and out with memcpy; the assert below keeps it honest.
 */
#ifndef CAPOS_RO1_RO1_FORMAT_H
#define CAPOS_RO1_RO1_FORMAT_H

#include <stdint.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "CAPOSRO1 records are little-endian packed structs; add byte swapping for this target"
#endif

#define RO1_MAGIC         "CAPOSRO1"
#define RO1_VERSION       1u
#define RO1_SUPER_SIZE    128u
#define RO1_ALIGN         4096u     /* regions start on 4 KiB; image size is a multiple */
#define RO1_CHUNK         4096u     /* file data CRC granule */
#define RO1_ENTRY_SIZE    64u
#define RO1_MAX_ENTRIES   (1u << 20)
#define RO1_NAME_MAX      255u
#define RO1_NAMES_MAX     (64u << 20) /* name table bytes */
#define RO1_ROOT          0u        /* entry index of the root directory */

#define RO1_KIND_FILE     1u
#define RO1_KIND_DIR      2u
#define RO1_FLAG_EXEC     0x01u     /* files only: shipped as executable */

struct ro1_super {
	uint8_t magic[8];       /* "CAPOSRO1" */
	uint32_t version;       /* RO1_VERSION */
	uint32_t super_size;    /* RO1_SUPER_SIZE */
	uint32_t chunk_size;    /* RO1_CHUNK */
	uint32_t entry_count;   /* 1..RO1_MAX_ENTRIES, entry 0 is the root directory */
	uint64_t image_size;    /* bytes, multiple of RO1_ALIGN */
	uint64_t entry_off;
	uint64_t name_off;
	uint32_t name_len;      /* bytes in the name table */
	uint32_t crc_count;     /* u32s in the chunk CRC table */
	uint64_t crc_off;
	uint64_t data_off;
	uint64_t data_len;
	uint32_t entry_crc;     /* CRC32C of the entry table (entry_count * 64 bytes) */
	uint32_t name_crc;      /* CRC32C of the name table */
	uint32_t crctab_crc;    /* CRC32C of the chunk CRC table */
	uint32_t flags;         /* 0 */
	uint8_t reserved[28];   /* 0 */
	uint32_t super_crc;     /* CRC32C of bytes [0, 124) */
} __attribute__((packed));
_Static_assert(sizeof(struct ro1_super) == RO1_SUPER_SIZE, "ro1_super is 128 bytes");

struct ro1_entry {
	uint8_t kind;           /* RO1_KIND_FILE or RO1_KIND_DIR */
	uint8_t flags;          /* RO1_FLAG_EXEC on files, else 0 */
	uint16_t name_len;      /* 0 for the root, else 1..255 */
	uint32_t name_off;      /* into the name table */
	int64_t mtime_sec;      /* Unix seconds */
	uint32_t mtime_nsec;    /* < 1e9 */
	uint32_t first_child;   /* dir: index of its first child (> own index), 0 if none */
	uint32_t child_count;   /* dir: children are [first_child, first_child + child_count), sorted by name */
	uint32_t crc_first;     /* file: index of its first chunk CRC */
	uint64_t data_off;      /* file: offset inside the data region (0 if empty) */
	uint64_t size;          /* file: bytes */
	uint8_t reserved[16];   /* 0 */
} __attribute__((packed));
_Static_assert(sizeof(struct ro1_entry) == RO1_ENTRY_SIZE, "ro1_entry is 64 bytes");

#endif
