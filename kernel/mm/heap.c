/*
 * Kernel heap. Requests up to 2 KiB come from slab pages of one size class
 * (16 B .. 2 KiB, powers of two); each slab page starts with a header naming
 * its class. Larger requests take contiguous frames with a header in front.
 * Both headers carry a magic word, so kfree of a pointer the heap never gave
 * out, or a double free, panics instead of corrupting memory.
 */
#include "kernel.h"
#include "mm/heap.h"
#include "mm/pmm.h"
#include "sync/spinlock.h"

#define SLAB_MAGIC	0x534c4142u	/* "SLAB" */
#define BIG_MAGIC	0x42494721u	/* "BIG!" */
#define FREE_POISON	0xdeadbeefcafef00dull
#define NCLASSES	8		/* 16 .. 2048 */

struct slab {
	uint32_t magic;
	uint32_t size;
	uint32_t inuse;
	uint32_t cap;
	struct slab *next;
	void *free;
};

struct big {
	uint32_t magic;
	uint32_t pages;
	uint64_t size;
};

static struct slab *classes[NCLASSES];
static struct spinlock heap_lock;
static struct heap_stats hs;

static int
class_of(size_t size)
{
	int c = 0;

	while ((16u << c) < size)
		c++;
	return c;
}

static struct slab *
slab_new(uint32_t size)
{
	uint64_t pa;

	if (pmm_alloc(&pa))
		return NULL;
	struct slab *s = phys_to_virt(pa);
	uint64_t first = ALIGN_UP(sizeof *s, size < 16 ? 16 : size);
	s->magic = SLAB_MAGIC;
	s->size = size;
	s->inuse = 0;
	s->cap = (uint32_t)((PAGE_SIZE - first) / size);
	s->free = NULL;
	for (uint32_t i = s->cap; i-- > 0;) {
		void **obj = (void **)((char *)s + first + (uint64_t)i * size);
		obj[0] = s->free;
		obj[1] = (void *)FREE_POISON;
		s->free = obj;
	}
	hs.slab_pages++;
	return s;
}

static void *
big_alloc(size_t size)
{
	uint64_t pages = (size + sizeof(struct big) + PAGE_SIZE - 1) / PAGE_SIZE;
	uint64_t pa;

	if (pages > (1u << 20) || pmm_alloc_contig(pages, &pa))
		return NULL;
	struct big *b = phys_to_virt(pa);
	b->magic = BIG_MAGIC;
	b->pages = (uint32_t)pages;
	b->size = size;
	hs.big_pages += pages;
	return (char *)b + 64;
}

void *
kmalloc(size_t size)
{
	if (size == 0)
		size = 1;
	if (size > 2048) {
		uint64_t flags = spin_lock_irqsave(&heap_lock);
		void *p = big_alloc(size);
		if (p) {
			hs.live_objects++;
			hs.live_bytes += size;
		}
		spin_unlock_irqrestore(&heap_lock, flags);
		return p;
	}
	int c = class_of(size);
	uint64_t flags = spin_lock_irqsave(&heap_lock);
	struct slab *s = classes[c];
	while (s && !s->free)
		s = s->next;
	if (!s) {
		s = slab_new(16u << c);
		if (!s) {
			spin_unlock_irqrestore(&heap_lock, flags);
			return NULL;
		}
		s->next = classes[c];
		classes[c] = s;
	}
	void **obj = s->free;
	s->free = obj[0];
	s->inuse++;
	hs.live_objects++;
	hs.live_bytes += s->size;
	spin_unlock_irqrestore(&heap_lock, flags);
	memset(obj, 0, s->size);
	return obj;
}

void
kfree(void *p)
{
	if (!p)
		return;
	uint64_t va = (uint64_t)p;
	uint64_t flags = spin_lock_irqsave(&heap_lock);
	if (va % PAGE_SIZE == 64 && ((struct big *)(va - 64))->magic == BIG_MAGIC) {
		struct big *b = (struct big *)(va - 64);
		uint32_t pages = b->pages;
		hs.live_objects--;
		hs.live_bytes -= b->size;
		hs.big_pages -= pages;
		b->magic = 0;
		uint64_t pa = virt_to_phys(b);
		for (uint32_t i = 0; i < pages; i++)
			pmm_free(pa + i * PAGE_SIZE);
		spin_unlock_irqrestore(&heap_lock, flags);
		return;
	}
	struct slab *s = (struct slab *)ALIGN_DOWN(va, PAGE_SIZE);
	void **obj = p;
	if (s->magic != SLAB_MAGIC || s->inuse == 0)
		panic("kfree(%p): not a heap object", p);
	if (obj[1] == (void *)FREE_POISON)
		panic("kfree(%p): double free", p);
	obj[0] = s->free;
	obj[1] = (void *)FREE_POISON;
	s->free = obj;
	s->inuse--;
	hs.live_objects--;
	hs.live_bytes -= s->size;
	spin_unlock_irqrestore(&heap_lock, flags);
}

void
heap_stats(struct heap_stats *st)
{
	uint64_t flags = spin_lock_irqsave(&heap_lock);
	*st = hs;
	spin_unlock_irqrestore(&heap_lock, flags);
}
