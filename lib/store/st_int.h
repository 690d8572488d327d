/* CAPOSST1 internals shared by store.c (operations) and st_mount.c (format, mount, fsck). */
#ifndef CAPOS_STORE_ST_INT_H
#define CAPOS_STORE_ST_INT_H

#include "base/crc32c.h"
#include "store/store.h"

static inline uint64_t
area_base(const struct st *st, uint32_t a)
{
	return 2 + (uint64_t)a * (st->sb.table_blocks + st->sb.data_blocks);
}

static inline uint64_t
data_cap(const struct st *st)
{
	return st->sb.data_blocks * st->bs;
}

static inline uint64_t
lcount(const struct st *st)
{
	return st->sb.entry_count + st->sb.pend_entries;
}

static inline uint64_t
ltail(const struct st *st)
{
	return st->sb.data_tail + st->sb.pend_bytes;
}

static inline uint32_t
entry_crc(const struct st_entry_disk *e)
{
	return crc32c(e, offsetof(struct st_entry_disk, crc));
}

static inline bool
bit_get(const uint8_t *map, uint64_t i)
{
	return map[i >> 3] & (1u << (i & 7));
}

static inline void
bit_set(uint8_t *map, uint64_t i)
{
	map[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static inline int
limit(struct st *st, int code, const char *name)
{
	st->limit = name;
	return code;
}

int st_key_check(const char *k, size_t len);
int st_read_bytes(struct st *st, uint32_t a, uint64_t off, void *dst, size_t len);
int st_lookup(struct st *st, const char *key, uint16_t klen, uint32_t h, uint32_t *slot);
uint32_t st_super_crc2(const uint8_t *blk, uint32_t ce, uint32_t cb);

#endif
