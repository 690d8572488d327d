/*
 * Pure validators (ddf_validate.h). Every check is written so that no
 * intermediate sum can wrap: compare against the remaining room instead of
 * adding (off <= size && len <= size - off).
 */
#include "ddf/ddf_validate.h"

#include "base/err.h"

int
ddf_page_round(uint64_t len, uint64_t *out)
{
	if (len == 0)
		return E_INVAL;
	if (len > UINT64_MAX - (DDF_PAGE_SIZE - 1))
		return E_RANGE;
	*out = (len + DDF_PAGE_SIZE - 1) & ~(uint64_t)(DDF_PAGE_SIZE - 1);
	return 0;
}

int
ddf_window_check(uint64_t bar_size, uint64_t off, uint64_t len, uint64_t *rlen)
{
	uint64_t r;
	int err;

	if (off % DDF_PAGE_SIZE != 0)
		return E_INVAL;
	if ((err = ddf_page_round(len, &r)) < 0)
		return err;
	if (off > bar_size || r > bar_size - off)
		return E_RANGE;
	*rlen = r;
	return 0;
}

int
ddf_reg_check(uint64_t win_len, uint64_t off, uint32_t width)
{
	if (width != 1 && width != 2 && width != 4 && width != 8)
		return E_INVAL;
	if (off % width != 0)
		return E_INVAL;
	if (off > win_len || width > win_len - off)
		return E_RANGE;
	return 0;
}

int
ddf_desc_check(uint64_t buf_size, uint64_t off, uint64_t len)
{
	if (len == 0)
		return E_INVAL;
	if (off > buf_size || len > buf_size - off)
		return E_RANGE;
	return 0;
}

int
ddf_epoch_check(uint32_t handle_gen, uint32_t slot_gen)
{
	if (handle_gen == 0 || handle_gen != slot_gen)
		return E_STALE;
	return 0;
}

int
ddf_depth_check(uint32_t depth, uint32_t max)
{
	if (depth == 0 || depth > max || (depth & (depth - 1)) != 0)
		return E_INVAL;
	return 0;
}

int
ddf_brokered_check(uint64_t buf_size, uint64_t buf_off, uint64_t need, uint8_t align_log2)
{
	if (align_log2 >= 64)
		return E_INVAL;
	if ((buf_off & ((UINT64_C(1) << align_log2) - 1)) != 0)
		return E_INVAL;
	if (need == 0)
		need = 1;
	if (buf_off > buf_size || need > buf_size - buf_off)
		return E_RANGE;
	return 0;
}

bool
ddf_pci_addr_valid(const struct ddf_pci_addr *a)
{
	return a->device < 32 && a->function < 8;
}

bool
ddf_pci_addr_eq(const struct ddf_pci_addr *a, const struct ddf_pci_addr *b)
{
	return a->segment == b->segment && a->bus == b->bus && a->device == b->device &&
	    a->function == b->function;
}
