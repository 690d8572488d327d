/* Kernel heap: kmalloc/kfree for kernel objects (never for DMA). */
#ifndef CAPOS_HEAP_H
#define CAPOS_HEAP_H

#include <stddef.h>
#include <stdint.h>

void *kmalloc(size_t size);	/* zeroed; NULL when memory is exhausted */
void kfree(void *p);
struct heap_stats {
	uint64_t live_objects;
	uint64_t live_bytes;
	uint64_t slab_pages;
	uint64_t big_pages;
};
void heap_stats(struct heap_stats *st);

#endif
