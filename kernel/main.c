/*
 * Kernel entry (from boot.S, on the boot stack, boot page tables live).
 *
 * Boot order and why:
 *   serial, descriptor tables  - so every later failure is visible
 *   boot information           - copied out of loader memory, validated
 *   frame allocator            - from the loader's memory map
 *   paging                     - the real tables; loader memory reachable
 *                                only through the physmap afterwards
 *   guarded stack, IST stacks, heap
 * Each step prints one `capos:` marker line after it has really happened.
 */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/x86.h"
#include "boot/cmdline.h"
#include "boot/mb2.h"
#include "hw.h"
#include "kernel.h"
#include "ktest.h"
#include "ddf/kddf.h"
#include "mm/heap.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "proc/proc.h"

struct mb2_info boot_info;
const char *kernel_test;
static char test_name[64];
static char mbi_err[128];

void kmain(uint32_t magic, uint32_t mbi_phys);
static void kmain_on_stack(void);

/*
 * capos.mbi_dump: print the boot information as hex, 32 bytes a line, at most
 * 32 KiB. Used to capture the loader's real tag blobs for the host tests
 * (tests/host/fixtures/); bounded, as every console dump must be.
 */
static void
dump_mbi(const void *mbi)
{
	const uint8_t *p = mbi;
	uint32_t total = boot_info.total_size < 32768 ? boot_info.total_size : 32768;

	for (uint32_t off = 0; off < total; off += 32) {
		char hex[65];
		uint32_t n = total - off < 32 ? total - off : 32;
		for (uint32_t i = 0; i < n; i++) {
			hex[2 * i] = "0123456789abcdef"[p[off + i] >> 4];
			hex[2 * i + 1] = "0123456789abcdef"[p[off + i] & 15];
		}
		hex[2 * n] = '\0';
		kprintf("capos: mbi-dump %05x %s\n", off, hex);
	}
}

static void
parse_boot_info(uint32_t mbi_phys)
{
	char fault[32];

	if (mbi_phys == 0 || mbi_phys % 8)
		panic("boot information address %#x is not 8-byte aligned", mbi_phys);
	const void *mbi = (const void *)(uintptr_t)mbi_phys;
	int r = mb2_parse(mbi, MB2_MAX_TOTAL_SIZE, &boot_info, mbi_err, sizeof mbi_err);
	if (r)
		panic("boot information rejected: %s", mbi_err);
	if (cmdline_get(boot_info.cmdline, "capos.mbi_fault", fault, sizeof fault) == 1) {
		mbi = boot_fault_apply(mbi, fault);
		r = mb2_parse(mbi, MB2_MAX_TOTAL_SIZE, &boot_info, mbi_err, sizeof mbi_err);
		if (r)
			panic("boot information rejected: %s", mbi_err);
	}
	if (cmdline_flag(boot_info.cmdline, "capos.mbi_dump"))
		dump_mbi(mbi);
	if (cmdline_get(boot_info.cmdline, "capos.test", test_name, sizeof test_name) == 1)
		kernel_test = test_name;

	struct mb2_info *b = &boot_info;
	kprintf("capos: mb2-ok loader=\"%s\" cmdline=\"%s\" tags=%u mmap_entries=%u "
		"efi_mmap_entries=%u modules=%u rsdp=%s fb=",
		b->loader, b->cmdline, b->ntags, b->mmap_count, b->efi_mmap_count,
		b->module_count, b->rsdp_rev == 2 ? "v2" : b->rsdp_rev == 1 ? "v1" : "none");
	if (b->has_fb)
		kprintf("%ux%ux%u@%#lx\n", b->fb_width, b->fb_height, b->fb_bpp, b->fb_addr);
	else
		kprintf("none\n");
	if (b->mmap_dropped || b->efi_mmap_dropped || b->modules_dropped)
		kprintf("capos: warning: boot information over limits: %u mmap, %u EFI mmap "
			"entries and %u modules ignored\n",
			b->mmap_dropped, b->efi_mmap_dropped, b->modules_dropped);
}

void
kmain(uint32_t magic, uint32_t mbi_phys)
{
	serial_init();
	cpu_early_init();
	kprintf("\ncapos: kernel starting (multiboot2 magic %#x, boot information at %#x)\n",
		magic, mbi_phys);
	parse_boot_info(mbi_phys);

	pmm_init(&boot_info, mbi_phys);
	struct pmm_stats st;
	pmm_stats(&st);
	kprintf("capos: mm-ok source=%s usable_kib=%lu free_kib=%lu absurd=%u overlaps=%u "
		"modules_rejected=%u\n", st.source, st.usable_bytes >> 10,
		st.free_frames * 4, st.absurd, st.overlaps, st.modules_rejected);

	vmm_init(pmm_ram_map(), 0);
	kprintf("capos: paging-ok text=r-x rodata=r-- data=rw- nx=%s physmap_kib=%lu\n",
		boot_nx ? "on" : "unsupported", mm_total(pmm_ram_map()) >> 10);

	/* Leave the boot stack (no guard page) for a guarded kernel stack. */
	uint64_t top = kstack_alloc();
	__asm__ volatile("movq %0, %%rsp\n\t"
			 "xorl %%ebp, %%ebp\n\t"
			 "call *%1"
			 : : "r"(top), "r"(kmain_on_stack) : "memory");
	__builtin_unreachable();
}

static void
load_symbols(void)
{
	for (uint32_t i = 0; i < boot_info.module_count; i++) {
		struct mb2_module *m = &boot_info.modules[i];
		if (strcmp(m->name, "kernel.sym") == 0)
			symbols_init(phys_to_virt(m->start), m->end - m->start);
	}
}

static void
kmain_on_stack(void)
{
	cpu_init_ist();
	kprintf("capos: cpu-ok gdt tss idt ist=3 guarded_stack=yes\n");
	load_symbols();

	void *probe = kmalloc(100);
	if (!probe)
		panic("kernel heap cannot allocate");
	kfree(probe);
	kprintf("capos: heap-ok\n");
	hw_init();	/* ACPI, APIC, PCI, timers; returns with interrupts on */
	kddf_init();	/* kernel/ddf: the device manager over the PCI registry */

	struct pmm_stats st;
	pmm_stats(&st);
	kprintf("capos: boot-ok mem_usable_kib=%lu free_kib=%lu modules=%u firmware=%s\n",
		st.usable_bytes >> 10, st.free_frames * 4, boot_info.module_count,
		boot_info.efi ? "uefi" : "bios");

	if (kernel_test)
		ktest_run(kernel_test);

	if (cmdline_get(boot_info.cmdline, "capos.mode", test_name, sizeof test_name) == 1 &&
	    strcmp(test_name, "diag") == 0)
		diag_run();	/* COM1 diagnostics console only: no disk, no network */
	proc_boot();	/* kernel/proc: scheduler, syscalls, init; returns only without init */

	kprintf("capos: nothing more to start yet; halting this CPU (no init process in this build)\n");
	for (;;) {
		cli();
		hlt();
	}
}
