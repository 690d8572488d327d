/*
 * CAPOSST1 Store: named records (opaque bytes, in practice capnp messages)
 * with put, get, delete (tombstone) and cursor-based list, over a struct
 * blk_dev region. Namespaces are prefix-scoped views. Format and commit
 * protocol: docs/caposst1.md.
 *
 * No allocation: the caller owns struct st and passes a working arena to
 * st_mount (st_arena_need() says how much). Every mutation is one commit.
 * A record that fits in the commit record's journal is committed by that
 * one atomic block write; otherwise the journal and the record are spilled:
 * data, flush, entry-table blocks, flush, commit record, flush. After any
 * I/O error the handle refuses further work (E_IO) until mounted again.
 */
#ifndef CAPOS_STORE_STORE_H
#define CAPOS_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blk/blk.h"
#include "store/st_disk.h"

#define ST_KEY_MAX 255u          /* full key, namespace prefix included */
#define ST_VAL_MAX (1u << 20)    /* largest record value: 1 MiB */
#define ST_NAME_MAX 64u          /* one namespace name */

struct st_geom {
	uint32_t table_entries;  /* entries per area (rounded up to a block) */
	uint64_t data_bytes;     /* data bytes per area (rounded up to a block) */
};

struct st {
	struct blk_dev *dev;
	uint32_t bs;
	struct st_super_disk sb;         /* last committed record */
	uint32_t table_cap;              /* entries per table */
	struct st_entry_disk *ents;      /* table_blocks * bs bytes */
	uint32_t *index;                 /* hash slots: entry index + 1, 0 = empty */
	uint32_t index_mask;
	uint8_t *dead;                   /* bitmap: entry superseded */
	uint8_t *tail;                   /* copy of the data block holding data_tail */
	uint8_t *scratch;                /* one block */
	uint8_t *pend;                   /* journaled record bytes (one block) */
	uint32_t jcrc_e, jcrc_b;         /* CRC32C of the journal's entries / bytes */
	bool tail_valid;
	bool broken;
	uint64_t live;                   /* live (non-tombstone, current) records */
	uint64_t live_bytes;
	const char *limit;               /* name of the last limit hit */
	const char *why;                 /* reason of the last E_CORRUPT */
	char kbuf[2][ST_KEY_MAX + 1];
	uint64_t stat_compactions;
};

/* A prefix-scoped view. Keys passed with it are relative to the prefix. */
struct st_ns {
	struct st *st;
	uint16_t plen;
	char prefix[ST_KEY_MAX + 1];
};

/* One problem found by st_check. */
struct st_problem {
	int code;                /* E_CORRUPT, E_LOOP, ... */
	const char *what;        /* fixed text */
	uint64_t a, b;           /* context numbers (entry index, offset, ...) */
};
typedef void (*st_report_fn)(void *ctx, const struct st_problem *p);

int st_format(struct blk_dev *dev, const struct st_geom *g);
/* Bytes of arena st_mount needs for this device's committed geometry. */
int st_arena_need(struct blk_dev *dev, size_t *need);
int st_mount(struct st *st, struct blk_dev *dev, void *arena, size_t arena_len);

int st_ns_root(struct st *st, struct st_ns *ns);
int st_ns_sub(const struct st_ns *parent, const char *name, struct st_ns *child);

int st_put(struct st_ns *ns, const char *key, const void *val, uint32_t len);
/* Returns the value length; E_TOOBIG (nothing copied) if cap is too small. */
int st_get(struct st_ns *ns, const char *key, void *buf, uint32_t cap);
int st_delete(struct st_ns *ns, const char *key);
/*
 * Next live record after *cursor (start with 0), in commit order; keys
 * re-put after the cursor passed them come again. Writes the relative key
 * (NUL-terminated) and returns its length, or 0 at the end.
 */
int st_list(struct st_ns *ns, uint64_t *cursor, char *key, size_t cap);

/* Compact now (also happens automatically when the table or data area fills). */
int st_compact(struct st *st);

/* Name of the limit behind the last E_LIMIT / E_NOSPC / E_NOMEM. */
const char *st_last_limit(const struct st *st);
/* Reason for the last E_CORRUPT from mount or get. */
const char *st_last_error(const struct st *st);

struct st_usage {
	uint64_t records, record_bytes;
	uint64_t entries, entry_cap;
	uint64_t data_used, data_cap;
	uint64_t gen;
};
void st_usage(const struct st *st, struct st_usage *u);

/*
 * Full check of the committed image: every structural rule of mount plus
 * every record's data checksum and key syntax. Reports each problem found;
 * returns the number of problems (0 = clean) or a negative error if the
 * image cannot be read at all.
 */
int st_check(struct blk_dev *dev, void *arena, size_t arena_len,
    st_report_fn report, void *ctx);

#endif
