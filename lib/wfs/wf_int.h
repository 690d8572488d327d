/* CAPOSWF1 internals shared by wf_mount.c (format, mount, check, commit) and wf_ops.c. */
#ifndef CAPOS_WFS_WF_INT_H
#define CAPOS_WFS_WF_INT_H

#include "wfs/wfs.h"

static inline bool
wf_bit(const uint8_t *m, uint64_t i)
{
	return m[i >> 3] & (1u << (i & 7));
}

static inline void
wf_bit_set(uint8_t *m, uint64_t i)
{
	m[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static inline void
wf_bit_clr(uint8_t *m, uint64_t i)
{
	m[i >> 3] &= (uint8_t)~(1u << (i & 7));
}

int wf_commit(struct wf_fs *fs);
void wf_touch_ino(struct wf_fs *fs, uint32_t i);
void wf_touch_ext(struct wf_fs *fs, uint32_t x);
int wf_fail(struct wf_fs *fs, int r);
bool wf_name_ok(const uint8_t *name, size_t len);

#endif
