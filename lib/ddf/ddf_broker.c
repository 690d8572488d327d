/*
 * Checks of the arguments of brokered device-format operations, and the
 * kernel-side PRP materialisation (ddf_validate.h).
 *
 * virtio: a split-virtqueue descriptor is 16 bytes (le64 addr, le32 len,
 * le16 flags, le16 next), virtio 1.x §2.7.5; queue sizes are powers of two
 * up to 32768 (§2.7). NVMe: PRP entries name memory pages; only PRP1 may
 * carry a non-zero, dword-aligned offset; a transfer touching two pages puts
 * the second page in PRP2; more pages put a PRP list's address in PRP2 and
 * the remaining page addresses in the list (NVMe Base 2.0 §4.1.1). A list
 * here never crosses its page, so it holds at most 512 entries.
 */
#include "ddf/ddf_validate.h"

#include "base/err.h"

int
ddf_virtq_desc_check(uint64_t ring_size, uint64_t ring_off, uint32_t ring_entries,
    uint64_t data_size, uint64_t data_off, uint32_t len, uint16_t flags, uint16_t next)
{
	int err;

	if ((err = ddf_depth_check(ring_entries, DDF_VIRTQ_MAX_SIZE)) < 0)
		return err;
	if ((uint64_t)ring_entries * DDF_VIRTQ_DESC_SIZE > ring_size)
		return E_RANGE;                       /* the table does not fit its buffer */
	if (ring_off % DDF_VIRTQ_DESC_SIZE != 0)
		return E_INVAL;
	if (ring_off / DDF_VIRTQ_DESC_SIZE >= ring_entries)
		return E_RANGE;
	if (flags & DDF_VIRTQ_F_INDIRECT)
		return E_NOTSUP;
	if (flags & ~(DDF_VIRTQ_F_NEXT | DDF_VIRTQ_F_WRITE))
		return E_INVAL;
	if (next >= ring_entries)
		return E_RANGE;
	return ddf_desc_check(data_size, data_off, len);
}

static uint64_t
pages_touched(uint64_t data_off, uint32_t len)
{
	uint64_t first = data_off / DDF_PAGE_SIZE;
	uint64_t last = (data_off + len - 1) / DDF_PAGE_SIZE;   /* checked: no overflow */
	return last - first + 1;
}

int
ddf_prp_check(uint64_t data_size, uint64_t data_off, uint32_t len, uint64_t list_size,
    uint64_t list_off)
{
	uint64_t pages;
	int err;

	if (data_off % 4 != 0)
		return E_INVAL;                       /* PRP offsets are dword aligned */
	if ((err = ddf_desc_check(data_size, data_off, len)) < 0)
		return err;
	pages = pages_touched(data_off, len);
	if (pages <= 2)
		return (int)pages;
	if (pages - 1 > DDF_PRP_LIST_MAX)
		return E_TOOBIG;
	if (list_size == 0)
		return E_INVAL;                       /* a list is needed and none was given */
	if (list_off % DDF_PAGE_SIZE != 0)
		return E_INVAL;
	if ((err = ddf_desc_check(list_size, list_off, (pages - 1) * 8)) < 0)
		return err;
	return (int)pages;
}

int
ddf_prp_fill(uint64_t (*page_addr)(void *ctx, uint64_t page), void *ctx, uint64_t data_off,
    uint32_t len, uint64_t *list, uint64_t list_addr, uint64_t *prp1, uint64_t *prp2)
{
	uint64_t first = data_off / DDF_PAGE_SIZE;
	uint64_t pages = pages_touched(data_off, len);

	*prp1 = page_addr(ctx, first) + data_off % DDF_PAGE_SIZE;
	*prp2 = 0;
	if (pages == 2)
		*prp2 = page_addr(ctx, first + 1);
	if (pages <= 2)
		return 0;
	for (uint64_t i = 1; i < pages; i++)
		list[i - 1] = page_addr(ctx, first + i);
	*prp2 = list_addr;
	return (int)(pages - 1);
}
