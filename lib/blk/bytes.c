/* Byte reads through a one-block cache; see bytes.h. */
#include "base/err.h"
#include "base/mem.h"
#include "blk/bytes.h"

#define MAX_DIRECT_BLOCKS 256	/* per device request */

static int
dev_err(int r)
{
	return r == E_RANGE ? E_CORRUPT : E_IO;
}

int
blk_read_bytes(struct blk_dev *dev, struct blk_bcache *c, uint8_t *cache,
	       uint64_t off, void *dst, size_t len)
{
	uint32_t bs = dev->block_size;
	uint8_t *d = dst;

	while (len > 0) {
		uint64_t lba = off / bs;
		uint32_t in = (uint32_t)(off % bs);
		size_t n = bs - in;
		if (n > len)
			n = len;
		if (in == 0 && len >= bs) {
			/* Whole blocks go straight to the caller; the cache keeps its block. */
			uint64_t cnt = len / bs;
			if (cnt > MAX_DIRECT_BLOCKS)
				cnt = MAX_DIRECT_BLOCKS;
			if (lba > dev->block_count || cnt > dev->block_count - lba)
				return E_CORRUPT;
			int r = blk_read(dev, lba, (uint32_t)cnt, d);
			if (r < 0)
				return dev_err(r);
			n = (size_t)cnt * bs;
		} else {
			if (!c->ok || c->lba != lba) {
				if (lba >= dev->block_count)
					return E_CORRUPT;
				c->ok = false;
				int r = blk_read(dev, lba, 1, cache);
				if (r < 0)
					return dev_err(r);
				c->lba = lba;
				c->ok = true;
			}
			memcpy(d, cache + in, n);
		}
		d += n;
		off += n;
		len -= n;
	}
	return 0;
}
