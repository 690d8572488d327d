/*
 * CAPOSWF1 writable filesystem over a struct blk_dev region
 * (docs/caposwf1.md). Directories (mkdir, create, remove, rename across
 * directories, list) and files (read, overwrite, append, truncate, sync,
 * close, stat). No allocation: the caller owns struct wf_fs and gives
 * wf_mount a working arena (wf_arena_need() says how much).
 *
 * Durability: directory operations commit immediately; file writes become
 * durable at wf_sync or wf_close. A commit is global (it also publishes
 * pending writes of other open files): data, flush, metadata, flush, commit
 * record, flush. After any I/O error the handle refuses further work (E_IO)
 * until mounted again.
 *
 * Policy: one writer per file (a second writable open gets E_BUSY); an open
 * file cannot be removed (E_BUSY). Writes start at or before the end of the
 * file (no holes); truncate only shrinks.
 */
#ifndef CAPOS_WFS_WFS_H
#define CAPOS_WFS_WFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blk/blk.h"
#include "wfs/wf_disk.h"

#define WF_PATH_MAX 1024u
#define WF_MAX_OPEN 16u
#define WF_O_READ 1u
#define WF_O_WRITE 2u
#define WF_O_CREATE 4u   /* with WF_O_WRITE: create if absent; durable at sync/close */

typedef uint64_t (*wf_clock_fn)(void *ctx);

struct wf_geom {
	uint32_t inode_count;
	uint32_t extent_count;
};

struct wf_handle {
	uint32_t ino;
	uint32_t gen;
	bool used, write;
};

struct wf_fs {
	struct blk_dev *dev;
	uint32_t bs;
	struct wf_super_disk sb;
	uint8_t *md;                  /* md_blocks * bs: the metadata area image */
	uint64_t *md_gen;             /* per md block: generation of last change */
	uint32_t *crcs;               /* crc table, inside md */
	struct wf_inode_disk *ino;    /* inode table, inside md */
	struct wf_extent_disk *ext;   /* extent table, inside md */
	uint8_t *used_now;            /* data blocks used by the in-memory state */
	uint8_t *used_com;            /* data blocks used by the committed state */
	uint8_t *ext_seen;
	uint32_t *order;              /* mount/fsck: inodes sorted by (parent, name) */
	uint8_t *istate;              /* mount/fsck: per inode, reaches the root? */
	uint8_t *scratch;
	uint32_t inode_blocks;
	uint64_t area_gen[2];         /* generation each metadata area holds (0 = unknown) */
	uint64_t n_now, n_busy;       /* |used_now|, |used_now or used_com| */
	uint32_t ext_free;
	uint32_t ext_cursor;
	uint64_t alloc_cursor;
	bool dirty, broken;
	wf_clock_fn clock;
	void *clock_ctx;
	struct wf_handle h[WF_MAX_OPEN];
	const char *why;
	const char *limit;
	uint64_t stat_commits;
};

struct wf_stat {
	uint32_t ino;
	uint8_t type;                 /* WF_T_FILE or WF_T_DIR */
	uint64_t size;
	uint64_t ctime, mtime;
};

struct wf_dirent {
	char name[WF_NAME_MAX + 1];
	uint8_t type;
	uint64_t size;
};

struct wf_statfs {
	uint64_t block_size;
	uint64_t data_blocks;
	uint64_t free_blocks;         /* allocatable now */
	uint32_t inodes_free, extents_free;
};

struct wf_problem {
	int code;
	const char *what;
	uint64_t a, b;
};
typedef void (*wf_report_fn)(void *ctx, const struct wf_problem *p);

int wf_format(struct blk_dev *dev, const struct wf_geom *g, uint64_t now);
int wf_arena_need(struct blk_dev *dev, size_t *need);
int wf_mount(struct wf_fs *fs, struct blk_dev *dev, void *arena, size_t arena_len,
    wf_clock_fn clock, void *clock_ctx);

int wf_mkdir(struct wf_fs *fs, const char *path);
int wf_create(struct wf_fs *fs, const char *path);
int wf_remove(struct wf_fs *fs, const char *path);
int wf_rename(struct wf_fs *fs, const char *from, const char *to);
/* Next entry of a directory: returns 1 and fills *out, or 0 at the end. Start *cursor at 0. */
int wf_list(struct wf_fs *fs, const char *dir, uint32_t *cursor, struct wf_dirent *out);
int wf_stat(struct wf_fs *fs, const char *path, struct wf_stat *st);
int wf_statfs(struct wf_fs *fs, struct wf_statfs *sf);

/* Returns a handle >= 0. */
int wf_open(struct wf_fs *fs, const char *path, unsigned flags);
/* Return bytes moved (at most 1 GiB per call). */
int wf_read(struct wf_fs *fs, int h, uint64_t off, void *buf, size_t len);
int wf_write(struct wf_fs *fs, int h, uint64_t off, const void *buf, size_t len);
int wf_append(struct wf_fs *fs, int h, const void *buf, size_t len);
int wf_truncate(struct wf_fs *fs, int h, uint64_t len);
int wf_fstat(struct wf_fs *fs, int h, struct wf_stat *st);
int wf_sync(struct wf_fs *fs, int h);
int wf_close(struct wf_fs *fs, int h);

/* Name of the limit behind the last E_LIMIT / E_NOSPC / E_NOMEM. */
const char *wf_last_limit(const struct wf_fs *fs);
/* Reason of the last E_CORRUPT / E_LOOP from mount. */
const char *wf_last_error(const struct wf_fs *fs);

/*
 * fsck of the committed image: reports every problem found (checksums,
 * ranges, names, duplicate names, directory cycles, extent cycles, shared or
 * overlapping extents, leaked extents, size/extent mismatches). Returns the
 * number of problems or a negative error if nothing could be read.
 */
int wf_check(struct blk_dev *dev, void *arena, size_t arena_len, wf_report_fn report,
    void *ctx);

#endif
