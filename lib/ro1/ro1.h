/*
 * CAPOSRO1: a read-only image format for shipping files (docs/caposro1.md).
 *
 * Reader: ro1_mount validates the superblock, every region bound, the three
 * metadata CRCs and every entry (kinds, names, child ranges that tile the
 * table in BFS order so there are no cycles and no orphans, sorted unique
 * names, file extents ascending and non-overlapping, chunk CRC ranges) before
 * it returns 0. Reads verify the CRC32C of every 4 KiB chunk they touch.
 * ro1_check does the same without stopping at the first problem, then checks
 * every data chunk: the fsck behind `mkstore-image ro1 check`.
 *
 * Builder: ro1_build lays out a caller-described tree and writes it through a
 * sink in whole 4 KiB blocks (ro1_sink_blk writes to a struct blk_dev).
 *
 * No allocation: struct ro1_vol and struct ro1_builder are the working memory.
 */
#ifndef CAPOS_RO1_RO1_H
#define CAPOS_RO1_RO1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blk/blk.h"
#include "blk/bytes.h"
#include "ro1/ro1_format.h"

#define RO1_PATH_MAX  4096u
#define RO1_DEPTH_MAX 64u   /* path components in a lookup; the builder's tree depth */

struct ro1_vol {
	struct blk_dev *dev;
	struct ro1_super sb;
	struct blk_bcache bc;
	uint8_t cache[4096];
	uint8_t chunk[RO1_CHUNK];
	uint8_t name_a[RO1_NAME_MAX + 1];
	uint8_t name_b[RO1_NAME_MAX + 1];
};

struct ro1_stat {
	uint32_t ino;           /* entry index */
	uint8_t kind;
	uint8_t flags;
	uint64_t size;          /* files */
	uint32_t child_count;   /* directories */
	int64_t mtime_sec;
	uint32_t mtime_nsec;
};

int ro1_mount(struct ro1_vol *v, struct blk_dev *dev);
/* Drop the block cache: the device content changed underneath (tests patch live). */
void ro1_invalidate(struct ro1_vol *v);
/* '/'-separated from the root; empty components skipped; "." and ".." refused (E_NAME). */
int ro1_lookup(struct ro1_vol *v, const char *path, uint32_t *ino);
int ro1_stat(struct ro1_vol *v, uint32_t ino, struct ro1_stat *st);
/* List a directory: *cursor starts at 0; returns 1 with the entry's NUL-terminated
 * name and stat and advances the cursor, 0 at the end, or an error. */
int ro1_readdir(struct ro1_vol *v, uint32_t dir, uint32_t *cursor, char name[RO1_NAME_MAX + 1],
		struct ro1_stat *st);
/* Read up to len (capped at INT32_MAX) bytes at off: bytes read, 0 at EOF, or an error. */
int ro1_read(struct ro1_vol *v, uint32_t ino, uint64_t off, void *buf, size_t len);

/* fsck: called once per problem with its error, the entry index (or UINT32_MAX for
 * image-wide problems) and a short fixed description. Return 0 to go on. */
typedef int (*ro1_report_fn)(void *ctx, int err, uint32_t ino, const char *what);
/* Check everything including all file data. Returns the number of problems found,
 * or a negative error if the check itself could not run (bad arguments, I/O). */
int ro1_check(struct ro1_vol *v, struct blk_dev *dev, ro1_report_fn report, void *ctx);

/* ---- builder ---- */

struct ro1_src_node {
	const char *name;        /* name_len bytes, no NUL needed; the root's is empty */
	uint32_t name_len;
	uint8_t kind;            /* RO1_KIND_FILE or RO1_KIND_DIR */
	uint8_t flags;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint32_t *children;      /* dir: node indices; the builder sorts them in place */
	uint32_t child_count;
	uint64_t size;           /* file */
	uint32_t order;          /* set by the builder: the node's entry index */
};

struct ro1_src {
	struct ro1_src_node *nodes;
	uint32_t count;          /* node 0 is the root directory */
	/* Fill exactly len bytes of file `node` at off, or return an error. */
	int (*read)(void *ctx, uint32_t node, uint64_t off, void *buf, size_t len);
	void *ctx;
};

struct ro1_sink {
	/* Called with RO1_ALIGN-aligned off and len == RO1_ALIGN. */
	int (*write)(void *ctx, uint64_t off, const void *buf, size_t len);
	int (*flush)(void *ctx); /* may be NULL */
	void *ctx;
};

struct ro1_builder {
	uint8_t block[RO1_ALIGN];
	uint8_t chunk[RO1_CHUNK];
	uint64_t pos;            /* next image byte to emit */
	const struct ro1_sink *sink;
};

/* Build an image of src. `order` is scratch of src->count u32. On success
 * *image_size is the image's size in bytes. Errors: E_INVAL (malformed tree),
 * E_NAME, E_EXIST (duplicate name), E_LOOP (a node reached twice), E_LIMIT,
 * E_TOOBIG, E_IO (a file changed while it was being read), or a sink error. */
int ro1_build(struct ro1_builder *b, struct ro1_src *src, uint32_t *order, const struct ro1_sink *sink,
	      uint64_t *image_size);
int ro1_sink_blk(struct ro1_sink *sink, struct blk_dev *dev);

#endif
