/*
 * Built-in kernel tests: `capos.test=NAME` runs one after boot-ok and leaves
 * QEMU through isa-debug-exit (exit status 33 pass, 35 fail). A test that
 * expects a CPU exception sets ktest_expect_vector; the exception path then
 * prints its full dump and reports pass. Each test prints
 * `capos: test NAME result=pass|fail ...` with what it measured.
 */
#include "arch/x86_64/cpu.h"
#include "boot/mb2.h"
#include "hw.h"
#include "kernel.h"
#include "ktest.h"
#include "ddf/kddf.h"
#include "mm/heap.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "smp/tlb.h"

extern char __load_start[], __bss_end_phys[];
extern uint64_t fault_reserved_base, fault_reserved_len;

static bool
in_range(uint64_t pa, uint64_t base, uint64_t len)
{
	return pa >= base && pa - base < len;
}

/* Checked against the raw loader map, not the sanitised one pmm used. */
static const char *
frame_violation(uint64_t pa)
{
	bool usable = false;
	const struct mb2_mmap_entry *e = boot_info.mmap;
	uint32_t n = boot_info.mmap_count;

	if (!n) {
		e = boot_info.efi_mmap;
		n = boot_info.efi_mmap_count;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (e[i].base > UINT64_MAX - e[i].len)
			continue;
		if (in_range(pa, e[i].base, e[i].len) || in_range(pa + PAGE_SIZE - 1, e[i].base, e[i].len)) {
			if (e[i].type != MB2_MEM_USABLE)
				return "non-usable memory";
			usable = true;
		}
	}
	if (n && !usable)
		return "memory the loader did not list";
	if (fault_reserved_len && in_range(pa, fault_reserved_base, fault_reserved_len))
		return "the injected reserved range";
	if (pa < (1u << 20))
		return "the first MiB";
	uint64_t klo = (uint64_t)(uintptr_t)__load_start, khi = (uint64_t)(uintptr_t)__bss_end_phys;
	if (pa < khi && pa + PAGE_SIZE > klo)
		return "the kernel image";
	for (uint32_t i = 0; i < boot_info.module_count; i++)
		if (pa < boot_info.modules[i].end && pa + PAGE_SIZE > boot_info.modules[i].start)
			return "a boot module";
	return NULL;
}

/* Take every free frame, check each, give them all back. */
static bool
test_pmm(void)
{
	struct pmm_stats before, after;
	uint64_t head = 0, count = 0, pa;

	pmm_stats(&before);
	while (pmm_alloc(&pa) == 0) {
		const char *why = frame_violation(pa);
		if (why) {
			kprintf("capos: test pmm: frame %#lx handed out lies in %s\n", pa, why);
			return false;
		}
		*(uint64_t *)phys_to_virt(pa) = head;
		head = pa;
		count++;
	}
	while (head) {
		uint64_t next = *(uint64_t *)phys_to_virt(head);
		if (pmm_free(head)) {
			kprintf("capos: test pmm: free of %#lx refused\n", head);
			return false;
		}
		head = next;
	}
	if (pmm_free(0x200000) == 0) {
		kprintf("capos: test pmm: freeing a kernel frame was accepted\n");
		return false;
	}
	pmm_stats(&after);
	kprintf("capos: test pmm frames_checked=%lu free_before=%lu free_after=%lu\n",
		count, before.free_frames, after.free_frames);
	return count == before.free_frames && after.free_frames == before.free_frames;
}

static bool
test_heap(void)
{
	struct heap_stats a, b;
	static void *p[200];

	heap_stats(&a);
	for (int i = 0; i < 200; i++) {
		size_t sz = (size_t)(1 + i * 37 % 3000) + (i % 10 == 0 ? 20000 : 0);
		p[i] = kmalloc(sz);
		if (!p[i])
			return false;
		memset(p[i], i, sz);
	}
	for (int i = 0; i < 200; i += 2)
		kfree(p[i]);
	for (int i = 1; i < 200; i += 2) {
		if (((unsigned char *)p[i])[0] != (unsigned char)i)
			return false;
		kfree(p[i]);
	}
	heap_stats(&b);
	kprintf("capos: test heap live_before=%lu live_after=%lu\n", a.live_objects, b.live_objects);
	return a.live_objects == b.live_objects && a.live_bytes == b.live_bytes;
}

static bool
test_paging(void)
{
	extern char __text_start[], __rodata_start[], __data_start[];
	uint64_t t = vmm_kernel_pte((uint64_t)__text_start);
	uint64_t r = vmm_kernel_pte((uint64_t)__rodata_start);
	uint64_t d = vmm_kernel_pte((uint64_t)__data_start);
	bool ok = (t & PTE_P) && !(t & PTE_W) && !(t & PTE_NX) &&
		  (r & PTE_P) && !(r & PTE_W) && (!boot_nx || (r & PTE_NX)) &&
		  (d & PTE_P) && (d & PTE_W) && (!boot_nx || (d & PTE_NX));
	/* The low half (identity map of boot) must be gone. */
	ok = ok && vmm_translate(vmm_kernel_pml4(), 0x200000) == ~0ull;
	kprintf("capos: test paging text_pte=%#lx rodata_pte=%#lx data_pte=%#lx\n", t, r, d);
	return ok;
}

static bool
test_log(void)
{
	char buf[64];
	uint64_t cur = 0;
	size_t n;
	const char *mark = "capos: log-ring-probe 8d1f\n";

	kprintf("%s", mark);
	/* Read the whole ring and look for the line just written. */
	bool seen = false;
	size_t ml = strlen(mark);
	static char win[64];
	size_t wl = 0;
	while ((n = klog_read(&cur, buf, sizeof buf)) > 0) {
		for (size_t i = 0; i < n; i++) {
			if (wl == ml) {
				memmove(win, win + 1, ml - 1);
				wl--;
			}
			win[wl++] = buf[i];
			if (wl == ml && memcmp(win, mark, ml) == 0)
				seen = true;
		}
	}
	return seen;
}

static int __attribute__((noinline))
recurse(int depth)
{
	volatile char pad[256];

	pad[0] = (char)depth;
	if (depth > (1 << 30))	/* never reached: the guard page stops us first */
		return 0;
	return recurse(depth + 1) + pad[0];
}

static void
expect(int vector)
{
	ktest_expect_vector = vector;
}

void
ktest_run(const char *name)
{
	bool ok = false;

	kprintf("capos: test %s start\n", name);
	if (strcmp(name, "pmm") == 0) {
		ok = test_pmm();
	} else if (strcmp(name, "heap") == 0) {
		ok = test_heap();
	} else if (strcmp(name, "paging") == 0) {
		ok = test_paging();
	} else if (strcmp(name, "log") == 0) {
		ok = test_log();
	} else if (strcmp(name, "fault-ud") == 0) {
		expect(6);
		__asm__ volatile("ud2");
	} else if (strcmp(name, "fault-wp-text") == 0) {
		expect(14);
		*(volatile uint8_t *)(uintptr_t)&ktest_run = 0xCC;
	} else if (strcmp(name, "fault-nx-data") == 0) {
		static uint8_t code[16] = { 0xC3 };	/* ret, in .data */
		expect(14);
		((void (*)(void))(uintptr_t)code)();
	} else if (strcmp(name, "fault-stack-guard") == 0) {
		expect(8);
		recurse(0);
	} else if (strcmp(name, "panic") == 0) {
		panic("requested by capos.test=panic");
	} else {
		kddf_ktest_run(name);	/* kernel/ddf: returns only when name is not ddf* */
		hw_ktest_run(name);	/* returns only when name is not a hardware test */
		tlb_ktest_run(name);	/* kernel/smp: returns only when name is not tlb* */
		kddf_nvme_ktest_run(name);	/* kernel/ddf: returns only when name is not nvme-broker */
		kprintf("capos: test %s result=fail reason=unknown-test\n", name);
		qemu_exit(1);
	}
	kprintf("capos: test %s result=%s\n", name, ok ? "pass" : "fail");
	qemu_exit(!ok);
}
