/*
 * The CAPOSVOL volume header: block 0 of an image places a CAPOSST1 Store
 * region and a CAPOSWF1 region on one device. wf_vol_open validates it and
 * gives each region as its own struct blk_dev (an offset window that
 * refuses I/O outside the region), so the two formats never see each other.
 */
#ifndef CAPOS_WFS_VOL_H
#define CAPOS_WFS_VOL_H

#include <stdint.h>

#include "blk/blk.h"
#include "wfs/wf_disk.h"

struct wf_part {
	struct blk_dev dev;
	struct blk_dev *parent;
	uint64_t start;
};

struct wf_vol {
	struct wf_vol_disk hdr;
	struct wf_part st, wf;
	const char *why;
};

/* Writes the header: Store gets st_blocks blocks after block 0, WF the rest. */
int wf_vol_format(struct blk_dev *dev, uint64_t st_blocks);
int wf_vol_open(struct wf_vol *v, struct blk_dev *dev);

#endif
