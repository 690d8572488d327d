/*
 * User memory access. A user buffer is accepted only when it lies wholly
 * inside the process's VMAs with the needed permission (writes need a
 * writable VMA: the bootstrap page and ELF text are refused). The bytes are
 * then copied through the physmap, page by page, using the owner's page
 * tables. Because the kernel never touches a user virtual address, a
 * hostile pointer cannot fault the kernel, SMAP never trips, and the same
 * path writes results into a caller that is not the current process.
 */
#include "proc/proc.h"
#include "kernel.h"
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

static int
copy(struct proc *p, uint64_t va, void *kbuf, uint64_t len, bool to_user)
{
	uint8_t *k = kbuf;
	while (len) {
		uint64_t n = PAGE_SIZE - (va & (PAGE_SIZE - 1));
		if (n > len)
			n = len;
		uint64_t pa = vmm_translate(p->pml4, va);
		if (pa == ~0ull)
			return E_RANGE;
		if (to_user)
			kcopy(phys_to_virt(pa), k, n);
		else
			kcopy(k, phys_to_virt(pa), n);
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

/* Both ranges already checked: copy page piece by page piece, physmap to physmap. */
int
copy_user_to_user(struct proc *dp, uint64_t dva, struct proc *sp, uint64_t sva, uint64_t len)
{
	while (len) {
		uint64_t n = PAGE_SIZE - (dva & (PAGE_SIZE - 1));
		uint64_t m = PAGE_SIZE - (sva & (PAGE_SIZE - 1));
		if (m < n)
			n = m;
		if (n > len)
			n = len;
		uint64_t dpa = vmm_translate(dp->pml4, dva), spa = vmm_translate(sp->pml4, sva);
		if (dpa == ~0ull || spa == ~0ull)
			return E_RANGE;
		kcopy(phys_to_virt(dpa), phys_to_virt(spa), n);
		dva += n;
		sva += n;
		len -= n;
	}
	return 0;
}
