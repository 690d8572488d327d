/* Usable memory map construction; see memmap.h for the policy. */
#include "boot/memmap.h"

static uint64_t
page_up(uint64_t a)
{
	return a > UINT64_MAX - (MM_PAGE - 1) ? UINT64_MAX & ~(MM_PAGE - 1)
					       : (a + MM_PAGE - 1) & ~(MM_PAGE - 1);
}

static uint64_t
page_down(uint64_t a)
{
	return a & ~(MM_PAGE - 1);
}

/* Remove slot i, keeping order. */
static void
del_at(struct mm_map *m, uint32_t i)
{
	for (; i + 1 < m->n; i++)
		m->r[i] = m->r[i + 1];
	m->n--;
}

/* Insert keeping the list sorted by base; merge with neighbours it touches. */
static void
add_range(struct mm_map *m, uint64_t base, uint64_t end)
{
	uint32_t i;

	if (base >= end)
		return;
	for (i = 0; i < m->n && m->r[i].base < base; i++)
		;
	if (i > 0 && m->r[i - 1].end >= base) {
		i--;
		if (end > m->r[i].end)
			m->r[i].end = end;
	} else {
		if (m->n == MM_MAX_RANGES) {
			/* Full: keep the larger of the new piece and the smallest one held. */
			uint32_t s = 0;
			for (uint32_t k = 1; k < m->n; k++)
				if (m->r[k].end - m->r[k].base < m->r[s].end - m->r[s].base)
					s = k;
			m->dropped++;
			if (m->r[s].end - m->r[s].base >= end - base)
				return;
			del_at(m, s);
			if (s < i)
				i--;
		}
		for (uint32_t k = m->n; k > i; k--)
			m->r[k] = m->r[k - 1];
		m->r[i].base = base;
		m->r[i].end = end;
		m->n++;
	}
	/* Absorb following ranges now covered or touched. */
	while (i + 1 < m->n && m->r[i + 1].base <= m->r[i].end) {
		if (m->r[i + 1].end > m->r[i].end)
			m->r[i].end = m->r[i + 1].end;
		del_at(m, i + 1);
	}
}

void
mm_remove(struct mm_map *m, uint64_t base, uint64_t end)
{
	base = page_down(base);
	end = page_up(end);
	if (base >= end)
		return;
	for (uint32_t i = 0; i < m->n;) {
		struct mm_range *r = &m->r[i];
		if (r->end <= base || r->base >= end) {
			i++;
			continue;
		}
		if (r->base >= base && r->end <= end) {
			del_at(m, i);
			continue;
		}
		if (r->base < base && r->end > end) {
			/* Split: keep the low part here, re-add the high part. */
			uint64_t hi = r->end;
			r->end = base;
			add_range(m, end, hi);
			return;
		}
		if (r->base < base)
			r->end = base;
		else
			r->base = end;
		i++;
	}
}

static int
sane(const struct mb2_mmap_entry *e)
{
	return e->len != 0 && e->base <= UINT64_MAX - e->len &&
	       e->base < MM_MAX_PHYS;
}

void
mm_build(struct mm_map *m, const struct mb2_mmap_entry *e, uint32_t n)
{
	m->n = m->absurd = m->overlaps = m->dropped = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (!sane(&e[i])) {
			m->absurd++;
			continue;
		}
		if (e[i].type != MB2_MEM_USABLE)
			continue;
		uint64_t end = e[i].base + e[i].len;
		if (end > MM_MAX_PHYS)
			end = MM_MAX_PHYS;
		add_range(m, page_up(e[i].base), page_down(end));
	}
	for (uint32_t i = 0; i < n; i++) {
		if (!sane(&e[i]) || e[i].type == MB2_MEM_USABLE)
			continue;
		uint64_t before = mm_total(m);
		uint64_t end = e[i].base + e[i].len;
		mm_remove(m, e[i].base, end > MM_MAX_PHYS ? MM_MAX_PHYS : end);
		if (mm_total(m) != before)
			m->overlaps++;
	}
}

uint64_t
mm_total(const struct mm_map *m)
{
	uint64_t t = 0;

	for (uint32_t i = 0; i < m->n; i++)
		t += m->r[i].end - m->r[i].base;
	return t;
}

uint64_t
mm_top(const struct mm_map *m)
{
	return m->n ? m->r[m->n - 1].end : 0;
}
