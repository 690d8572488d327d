/*
 * User memory access. A user buffer is accepted only when it lies wholly
 * inside the process's VMAs with the needed permission (writes need a
 * writable VMA: the bootstrap page and ELF text are refused). The bytes are
 * then copied through the physmap, page by page, using the owner's page
 * tables. Because the kernel never touches a user virtual address, a
 * hostile pointer cannot fault the kernel, SMAP never trips, and the same
 * path writes results into a caller that is not the current process.
 *
 * Demand-zero VMAs (VMA_ZERO: the heap) are reserved at spawn and backed
 * page by page on first touch: from a user page fault (proc.c) and from
 * the copies here, which translate first and only on a miss look for the
 * VMA (so a present page costs what it did). A read of a page never
 * touched yields zeros without allocating it; a write allocates a zeroed
 * frame and maps it. Out of memory, a write fails with E_NOMEM and
 * nothing past the failing page is written. Pages are never unmapped
 * before exit, so once present a page stays present (the bkl, held by
 * every path here, orders a fault against a copy on another CPU).
 */
#include "proc/proc.h"
#include "kernel.h"
#include "mm/pmm.h"
#include "mm/vmm.h"

int
vma_add(struct proc *p, uint64_t start, uint64_t end, unsigned kind)
{
	if (p->nvma == PROC_MAX_VMAS)
		return E_LIMIT;
	p->vma[p->nvma++] = (struct vma){ start, end, kind };
	return 0;
}

/* VMAs do not overlap; a range may span adjacent ones. */
static bool __attribute__((noinline))
range_walk(struct proc *p, uint64_t va, uint64_t len, bool write)
{
	if (va + len < va || va + len > USER_STACK_TOP + PAGE_SIZE)
		return false;
	uint64_t cur = va, end = va + len;
	while (cur < end) {
		bool found = false;
		for (uint32_t i = 0; i < p->nvma; i++) {
			struct vma *v = &p->vma[i];
			if (cur >= v->start && cur < v->end) {
				if (write && !(v->kind & VMM_RW))
					return false;
				if (cur == va && end <= v->end)
					p->vma_hint = i;
				cur = v->end;
				found = true;
				break;
			}
		}
		if (!found)
			return false;
	}
	return true;
}

/* The VMA hint first (proc.h), then the walk. */
bool
user_range_ok(struct proc *p, uint64_t va, uint64_t len, bool write)
{
	return len == 0 || user_range_hint_ok(p, va, len, write) || range_walk(p, va, len, write);
}

/* The demand-zero VMA holding va, or NULL. */
static struct vma *
zero_vma(struct proc *p, uint64_t va)
{
	for (uint32_t i = 0; i < p->nvma; i++) {
		struct vma *v = &p->vma[i];
		if (va >= v->start && va < v->end)
			return v->kind & VMA_ZERO ? v : NULL;
	}
	return NULL;
}

/*
 * Back the page holding va, which lies in a demand-zero VMA allowing
 * `need` (VMM_RW for a write, VMM_EXEC for a fetch, 0 for a read), with a
 * zeroed frame. 0 and *pa (the physical address of va) when mapped, also
 * when it already was; E_RANGE outside such a VMA or without the access;
 * E_NOMEM when no frame or page table can be had (nothing changes then,
 * beyond an empty page table perhaps, freed at exit).
 */
int
vma_populate(struct proc *p, uint64_t va, unsigned need, uint64_t *pa)
{
	struct vma *v = zero_vma(p, va);
	uint64_t frame;

	if (!v || (v->kind & need) != need)
		return E_RANGE;
	if ((*pa = vmm_translate(p->pml4, va)) != ~0ull)
		return 0;	/* another CPU backed it first */
	if (pmm_alloc(&frame) < 0)
		return E_NOMEM;
	/* user space has no large pages: a refusal means no page-table page */
	if (vmm_map_page(p->pml4, ALIGN_DOWN(va, PAGE_SIZE), frame,
			 (v->kind & (VMM_RW | VMM_EXEC)) | VMM_USER) < 0) {
		pmm_free(frame);
		return E_NOMEM;
	}
	*pa = frame | (va & (PAGE_SIZE - 1));
	return 0;
}

/*
 * A copy found va unmapped: in a demand-zero VMA a write backs the page
 * (*pa), a read sees a page of zeros (*zero set, no frame spent). va was
 * checked against the VMAs (user_range_ok); E_RANGE stays for the rest.
 */
static int
copy_miss(struct proc *p, uint64_t va, bool write, uint64_t *pa, bool *zero)
{
	if (!write && zero_vma(p, va)) {
		*zero = true;
		return 0;
	}
	return vma_populate(p, va, write ? VMM_RW : 0, pa);
}

/*
 * A page-table cursor: a copy of many pages walks the four levels once per
 * 2 MiB instead of once per page (a 128 KiB message is 32-64 pages per
 * side). Tables are only freed at exit and every path here holds the bkl,
 * so a table found stays valid; after a miss (which may create one) the
 * cursor is dropped.
 */
struct pt_cursor {
	const uint64_t *pt;	/* NULL: walk at the next page */
	uint64_t base;		/* the 2 MiB it covers */
};

static inline uint64_t
cursor_pa(struct pt_cursor *c, uint64_t pml4, uint64_t va)
{
	uint64_t base = va & ~((1ull << 21) - 1);
	if (!c->pt || c->base != base) {
		c->pt = vmm_page_table(pml4, va);
		c->base = base;
		if (!c->pt)
			return ~0ull;
	}
	uint64_t e = c->pt[(va >> 12) & 511];
	return e & PTE_P ? (e & PTE_ADDR) | (va & (PAGE_SIZE - 1)) : ~0ull;
}

/* One piece of copy() whose page was not mapped: out of line, so the
 * loop over present pages is what it was before demand paging. */
static int __attribute__((noinline))
copy_piece_miss(struct proc *p, uint64_t va, uint8_t *k, uint64_t n, bool to_user)
{
	uint64_t pa;
	bool zero = false;
	int r = copy_miss(p, va, to_user, &pa, &zero);

	if (r < 0)
		return r;
	if (zero)
		memset(k, 0, n);
	else if (to_user)
		kcopy(phys_to_virt(pa), k, n);
	else
		kcopy(k, phys_to_virt(pa), n);
	return 0;
}

static int
copy(struct proc *p, uint64_t va, void *kbuf, uint64_t len, bool to_user)
{
	uint8_t *k = kbuf;
	struct pt_cursor c = { NULL, 0 };
	while (len) {
		uint64_t n = PAGE_SIZE - (va & (PAGE_SIZE - 1));
		if (n > len)
			n = len;
		uint64_t pa = cursor_pa(&c, p->pml4, va);
		int r;
		if (pa == ~0ull) {
			if ((r = copy_piece_miss(p, va, k, n, to_user)) < 0)
				return r;
			c.pt = NULL;
		} else if (to_user) {
			kcopy(phys_to_virt(pa), k, n);
		} else {
			kcopy(k, phys_to_virt(pa), n);
		}
		va += n;
		k += n;
		len -= n;
	}
	return 0;
}

int
copy_from_user(struct proc *p, void *dst, uint64_t va, uint64_t len)
{
	if (!user_range_ok(p, va, len, false))
		return E_RANGE;
	return copy(p, va, dst, len, false);
}

int
copy_to_user(struct proc *p, uint64_t va, const void *src, uint64_t len)
{
	if (!user_range_ok(p, va, len, true))
		return E_RANGE;
	return copy(p, va, (void *)src, len, true);
}

/* One piece of copy_user_to_user with a page not mapped on either side (out of line;
 * it translates again: fewer arguments keep the caller's loop in registers). */
static int __attribute__((noinline))
u2u_piece_miss(struct proc *dp, uint64_t dva, struct proc *sp, uint64_t sva, uint64_t n)
{
	uint64_t dpa = vmm_translate(dp->pml4, dva), spa = vmm_translate(sp->pml4, sva);
	bool dzero = false, szero = false;
	int r;

	if ((dpa == ~0ull && (r = copy_miss(dp, dva, true, &dpa, &dzero)) < 0) ||
	    (spa == ~0ull && (r = copy_miss(sp, sva, false, &spa, &szero)) < 0))
		return r;
	if (szero)
		memset(phys_to_virt(dpa), 0, n);
	else
		kcopy(phys_to_virt(dpa), phys_to_virt(spa), n);
	return 0;
}

/* Both ranges already checked: copy page piece by page piece, physmap to physmap
 * (demand-zero misses as in copy()). */
int
copy_user_to_user(struct proc *dp, uint64_t dva, struct proc *sp, uint64_t sva, uint64_t len)
{
	struct pt_cursor dc = { NULL, 0 }, sc = { NULL, 0 };
	while (len) {
		uint64_t n = PAGE_SIZE - (dva & (PAGE_SIZE - 1));
		uint64_t m = PAGE_SIZE - (sva & (PAGE_SIZE - 1));
		if (m < n)
			n = m;
		if (n > len)
			n = len;
		uint64_t dpa = cursor_pa(&dc, dp->pml4, dva), spa = cursor_pa(&sc, sp->pml4, sva);
		int r;
		if (dpa == ~0ull || spa == ~0ull) {
			if ((r = u2u_piece_miss(dp, dva, sp, sva, n)) < 0)
				return r;
			dc.pt = sc.pt = NULL;
		} else {
			kcopy(phys_to_virt(dpa), phys_to_virt(spa), n);
		}
		dva += n;
		sva += n;
		len -= n;
	}
	return 0;
}
