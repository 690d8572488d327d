/*
 * Physical frame allocator, built from the loader's memory map.
 *
 * Order: choose the map (multiboot2 mmap, else the EFI map, else the basic
 * meminfo tag, else stop with a message), sanitise it (boot/memmap.c), carve
 * out the first MiB, the kernel image, the boot information and every
 * module, place the bitmap in what remains, and release exactly the
 * remaining ranges. A module that overlaps the kernel, the boot information
 * or another module is rejected with a message and not used.
 */
#include "boot/mb2.h"
#include "kernel.h"
#include "mm/frame.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "sync/spinlock.h"

extern char __load_start[], __bss_end_phys[];

static struct mm_map usable;	/* loader's usable RAM, sanitised */
static struct mm_map ram;	/* RAM of any kind, for the physmap */
static struct mm_map freemap;	/* usable minus carve-outs */
static struct frame_alloc fa;
static struct spinlock pmm_lock;
static struct pmm_stats stats;
static uint64_t kernel_lo, kernel_hi, mbi_lo, mbi_hi, bitmap_lo, bitmap_hi;
static struct mb2_info *binfo;

static bool
overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	return a0 < b1 && b0 < a1;
}

static const struct mb2_mmap_entry *
choose_map(struct mb2_info *bi, uint32_t *n, struct mb2_mmap_entry *synth)
{
	if (bi->has_mmap && bi->mmap_count) {
		stats.source = "mmap";
		*n = bi->mmap_count;
		return bi->mmap;
	}
	if (bi->has_efi_mmap && bi->efi_mmap_count) {
		stats.source = "efi-mmap";
		*n = bi->efi_mmap_count;
		return bi->efi_mmap;
	}
	if (bi->has_meminfo && bi->mem_upper_kib) {
		kprintf("capos: warning: loader gave no memory map; using basic meminfo "
			"(lower %u KiB, upper %u KiB)\n", bi->mem_lower_kib, bi->mem_upper_kib);
		stats.source = "meminfo";
		synth[0] = (struct mb2_mmap_entry){ 0, (uint64_t)bi->mem_lower_kib << 10, MB2_MEM_USABLE };
		synth[1] = (struct mb2_mmap_entry){ 1ull << 20, (uint64_t)bi->mem_upper_kib << 10, MB2_MEM_USABLE };
		*n = 2;
		return synth;
	}
	panic("the boot loader passed no memory map (no mmap, EFI mmap or meminfo tag); "
	      "capOS cannot know which memory is RAM");
}

static bool
inside_usable(uint64_t a, uint64_t b)
{
	a = ALIGN_DOWN(a, PAGE_SIZE);
	b = ALIGN_UP(b, PAGE_SIZE);
	for (uint32_t i = 0; i < usable.n; i++)
		if (a >= usable.r[i].base && b <= usable.r[i].end)
			return true;
	return a == b;
}

/* Drop modules that overlap the kernel, the boot information or each other. */
static void
check_modules(struct mb2_info *bi)
{
	uint32_t keep = 0;

	for (uint32_t i = 0; i < bi->module_count; i++) {
		struct mb2_module *m = &bi->modules[i];
		const char *why = NULL;
		if (overlaps(m->start, m->end, kernel_lo, kernel_hi))
			why = "overlaps the kernel image";
		else if (overlaps(m->start, m->end, mbi_lo, mbi_hi))
			why = "overlaps the boot information";
		else if (!inside_usable(m->start, m->end))
			why = "is not inside memory the loader called usable";
		for (uint32_t j = 0; !why && j < keep; j++)
			if (overlaps(m->start, m->end, bi->modules[j].start, bi->modules[j].end))
				why = "overlaps another module";
		if (why) {
			kprintf("capos: error: module %u '%s' [%#x-%#x) %s; module rejected\n",
				i, m->name, m->start, m->end, why);
			stats.modules_rejected++;
			continue;
		}
		bi->modules[keep++] = *m;
	}
	bi->module_count = keep;
}

static void
place_bitmap(uint64_t nframes)
{
	uint64_t bytes = ALIGN_UP(frame_bitmap_words(nframes) * 8, PAGE_SIZE);

	/* Before vmm_init only the first 4 GiB are mapped (identity). */
	for (uint32_t i = 0; i < freemap.n; i++) {
		struct mm_range *r = &freemap.r[i];
		if (r->end - r->base < bytes || r->base + bytes > (4ull << 30))
			continue;
		uint64_t at = r->base;
		mm_remove(&freemap, at, at + bytes);
		bitmap_lo = at;
		bitmap_hi = at + bytes;
		frame_init(&fa, (uint64_t *)(uintptr_t)at, nframes);
		return;
	}
	panic("no room below 4 GiB for the frame bitmap (%lu KiB)", bytes >> 10);
}

void
pmm_init(struct mb2_info *bi, uint64_t mbi_phys)
{
	struct mb2_mmap_entry synth[2];
	uint32_t n;
	const struct mb2_mmap_entry *e = choose_map(bi, &n, synth);

	binfo = bi;
	mm_build(&usable, e, n);
	stats.absurd = usable.absurd;
	stats.overlaps = usable.overlaps;
	stats.dropped = usable.dropped;
	stats.usable_bytes = mm_total(&usable);
	if (usable.absurd || usable.overlaps)
		kprintf("capos: warning: memory map had %u absurd entries (ignored) and %u "
			"usable entries cut by reserved ones\n", usable.absurd, usable.overlaps);

	/* RAM for the physmap: usable, ACPI and NVS kinds (never device holes). */
	static struct mb2_mmap_entry ram_entries[MB2_MAX_MMAP];
	uint32_t nr = n < MB2_MAX_MMAP ? n : MB2_MAX_MMAP;
	for (uint32_t i = 0; i < nr; i++) {
		ram_entries[i] = e[i];
		if (e[i].type == MB2_MEM_ACPI || e[i].type == MB2_MEM_NVS)
			ram_entries[i].type = MB2_MEM_USABLE;
	}
	mm_build(&ram, ram_entries, nr);

	kernel_lo = (uint64_t)(uintptr_t)__load_start;
	kernel_hi = ALIGN_UP((uint64_t)(uintptr_t)__bss_end_phys, PAGE_SIZE);
	mbi_lo = mbi_phys;
	mbi_hi = mbi_phys + bi->total_size;
	check_modules(bi);

	freemap = usable;
	mm_remove(&freemap, 0, 1ull << 20);
	mm_remove(&freemap, kernel_lo, kernel_hi);
	mm_remove(&freemap, mbi_lo, mbi_hi);
	for (uint32_t i = 0; i < bi->module_count; i++)
		mm_remove(&freemap, bi->modules[i].start, bi->modules[i].end);
	if (mm_total(&freemap) < (8ull << 20))
		panic("only %lu KiB of usable memory after the kernel and modules; capOS needs 8 MiB",
		      mm_total(&freemap) >> 10);

	uint64_t nframes = mm_top(&freemap) / PAGE_SIZE;
	place_bitmap(nframes);
	for (uint32_t i = 0; i < freemap.n; i++)
		frame_release_range(&fa, freemap.r[i].base / PAGE_SIZE,
				    (freemap.r[i].end - freemap.r[i].base) / PAGE_SIZE);
	stats.total_frames = nframes;
}

void
pmm_paging_live(void)
{
	fa.bitmap = phys_to_virt((uint64_t)(uintptr_t)fa.bitmap);
}

const struct mm_map *
pmm_ram_map(void)
{
	return &ram;
}

const struct mm_map *
pmm_usable_map(void)
{
	return &usable;
}

void
pmm_stats(struct pmm_stats *st)
{
	uint64_t flags = spin_lock_irqsave(&pmm_lock);
	*st = stats;
	st->free_frames = fa.nfree;
	spin_unlock_irqrestore(&pmm_lock, flags);
}

static void *
frame_ptr(uint64_t pa)
{
	return vmm_ready() ? phys_to_virt(pa) : (void *)(uintptr_t)pa;
}

int
pmm_alloc(uint64_t *pa)
{
	uint64_t f;
	uint64_t flags = spin_lock_irqsave(&pmm_lock);
	int r = frame_alloc_one(&fa, &f);
	spin_unlock_irqrestore(&pmm_lock, flags);
	if (r)
		return r;
	*pa = f * PAGE_SIZE;
	memset(frame_ptr(*pa), 0, PAGE_SIZE);
	return 0;
}

int
pmm_alloc_low(uint64_t *pa)
{
	return pmm_alloc_contig(1, pa);
}

int
pmm_alloc_contig(uint64_t count, uint64_t *pa)
{
	uint64_t f;
	uint64_t flags = spin_lock_irqsave(&pmm_lock);
	int r = frame_alloc_contig(&fa, count, 1, &f);
	spin_unlock_irqrestore(&pmm_lock, flags);
	if (r)
		return r;
	*pa = f * PAGE_SIZE;
	memset(frame_ptr(*pa), 0, count * PAGE_SIZE);
	return 0;
}

int
pmm_free(uint64_t pa)
{
	if (pa % PAGE_SIZE)
		return E_INVAL;
	if (pmm_is_protected(pa))
		return E_PERM;	/* never put firmware, kernel or module memory into circulation */
	uint64_t flags = spin_lock_irqsave(&pmm_lock);
	int r = frame_free(&fa, pa / PAGE_SIZE);
	spin_unlock_irqrestore(&pmm_lock, flags);
	return r;
}

bool
pmm_is_protected(uint64_t pa)
{
	bool in_usable = false;

	for (uint32_t i = 0; i < usable.n; i++)
		if (pa >= usable.r[i].base && pa < usable.r[i].end)
			in_usable = true;
	if (!in_usable || pa < (1ull << 20))
		return true;
	if (overlaps(pa, pa + 1, kernel_lo, kernel_hi) || overlaps(pa, pa + 1, mbi_lo, mbi_hi) ||
	    overlaps(pa, pa + 1, bitmap_lo, bitmap_hi))
		return true;
	for (uint32_t i = 0; i < binfo->module_count; i++)
		if (overlaps(pa, pa + 1, binfo->modules[i].start, binfo->modules[i].end))
			return true;
	return false;
}
