/*
 * GDT, TSS and IDT for the boot CPU, and the exception path: every CPU
 * exception prints a register dump and a backtrace, then stops cleanly
 * (panic). SMP bring-up gives each CPU its own GDT/TSS copy later.
 */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/x86.h"
#include "kernel.h"
#include "mm/vmm.h"

struct tss {
	uint32_t rsvd0;
	uint64_t rsp[3];
	uint64_t rsvd1;
	uint64_t ist[7];
	uint64_t rsvd2;
	uint16_t rsvd3;
	uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "TSS layout (SDM 3A 8.7)");

struct idt_entry {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t rsvd;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_entry) == 16, "IDT gate layout");

struct dtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static uint64_t gdt[7];	/* filled by gdt_install */
static struct tss tss;
static struct idt_entry idt[256];
extern const uint64_t isr_stub_table[256];

static struct {
	irq_handler_t fn;
	void *arg;
} handlers[256];

volatile int ktest_expect_vector = -1;
void (*user_fault_hook)(struct trap_frame *tf);

static const char *const exc_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD error", "#VE virtualization",
	"#CP control protection", "reserved 22", "reserved 23", "reserved 24",
	"reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
	"#VC VMM communication", "#SX security", "reserved 31",
};

static void
set_gate(int v, uint8_t ist)
{
	uint64_t off = isr_stub_table[v];

	idt[v].off_lo = (uint16_t)off;
	idt[v].sel = GDT_KCODE;
	idt[v].ist = ist;
	idt[v].type = 0x8E;	/* present, DPL 0, 64-bit interrupt gate */
	idt[v].off_mid = (uint16_t)(off >> 16);
	idt[v].off_hi = (uint32_t)(off >> 32);
	idt[v].rsvd = 0;
}

/*
 * Fill a GDT (null, kernel code/data, user data/code in sysret order, TSS),
 * load it, reload CS/DS/ES/SS and load the task register. Used by the boot
 * CPU here and by every AP in percpu_init.
 */
void
gdt_install(uint64_t g[7], const void *tss_ptr, size_t tss_size)
{
	uint64_t base = (uint64_t)tss_ptr, limit = tss_size - 1;

	g[0] = 0;
	g[1] = 0x00AF9A000000FFFFull;	/* kernel code, 64-bit */
	g[2] = 0x00CF92000000FFFFull;	/* kernel data */
	g[3] = 0x00CFF2000000FFFFull;	/* user data, DPL 3 */
	g[4] = 0x00AFFA000000FFFFull;	/* user code, 64-bit, DPL 3 */
	g[5] = (limit & 0xFFFF) | (base & 0xFFFFFF) << 16 | 0x89ull << 40 |
	       ((limit >> 16) & 0xF) << 48 | ((base >> 24) & 0xFF) << 56;
	g[6] = base >> 32;

	struct dtr d = { 7 * 8 - 1, (uint64_t)g };
	/* Reload CS and the data segments: an AP arrives with the trampoline's
	 * selectors, which mean something else in this GDT. */
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w2, %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\t"
			 : : "m"(d), "i"(GDT_KCODE), "i"(GDT_KDATA) : "rax", "memory");
	__asm__ volatile("ltr %w0" : : "r"(GDT_TSS));
}

void
cpu_early_init(void)
{
	tss.iomap_base = sizeof tss;	/* no I/O permission bitmap: no port access from ring 3 */
	gdt_install(gdt, &tss, sizeof tss);

	for (int v = 0; v < 256; v++)
		set_gate(v, 0);
	struct dtr i = { sizeof idt - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" : : "m"(i));
}

void
cpu_init_ist(void)
{
	tss.ist[IST_DOUBLE_FAULT - 1] = kstack_alloc();
	tss.ist[IST_NMI - 1] = kstack_alloc();
	tss.ist[IST_MCE - 1] = kstack_alloc();
	set_gate(8, IST_DOUBLE_FAULT);
	set_gate(2, IST_NMI);
	set_gate(18, IST_MCE);
}

int
trap_register(uint8_t v, irq_handler_t fn, void *arg)
{
	if (v < 32)
		return E_INVAL;
	if (handlers[v].fn)
		return E_BUSY;
	handlers[v].arg = arg;
	__atomic_store_n(&handlers[v].fn, fn, __ATOMIC_RELEASE);
	return 0;
}

void
trap_unregister(uint8_t v)
{
	__atomic_store_n(&handlers[v].fn, NULL, __ATOMIC_RELEASE);
}

void
trap_dump(const struct trap_frame *tf)
{
	kprintf("  rip=%016lx cs=%04lx rflags=%016lx rsp=%016lx ss=%04lx\n",
		tf->rip, tf->cs, tf->rflags, tf->rsp, tf->ss);
	kprintf("  cr0=%016lx cr2=%016lx cr3=%016lx cr4=%016lx\n",
		read_cr0(), read_cr2(), read_cr3(), read_cr4());
	kprintf("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n",
		tf->rax, tf->rbx, tf->rcx, tf->rdx);
	kprintf("  rsi=%016lx rdi=%016lx rbp=%016lx r8 =%016lx\n",
		tf->rsi, tf->rdi, tf->rbp, tf->r8);
	kprintf("  r9 =%016lx r10=%016lx r11=%016lx r12=%016lx\n",
		tf->r9, tf->r10, tf->r11, tf->r12);
	kprintf("  r13=%016lx r14=%016lx r15=%016lx\n", tf->r13, tf->r14, tf->r15);
}

static void
exception(struct trap_frame *tf)
{
	uint64_t v = tf->vector;

	kprintf("capos: EXCEPTION %s (vector %lu) error=0x%lx\n", exc_names[v], v, tf->error);
	if (v == 14)
		kprintf("  page fault at %016lx: %s, %s, %s%s\n", read_cr2(),
			tf->error & 1 ? "protection violation" : "page not present",
			tf->error & 2 ? "write" : "read",
			tf->error & 4 ? "user" : "kernel",
			tf->error & 16 ? ", instruction fetch" : "");
	if (v == 8 && kstack_is_guard(read_cr2()))
		kprintf("  kernel stack overflow: guard page hit at %016lx\n", read_cr2());
	trap_dump(tf);
	kprintf("  backtrace:\n");
	backtrace_print(tf->rip, tf->rbp);
	if (ktest_expect_vector == (int)v) {
		kprintf("capos: test expected-exception vector=%lu result=pass\n", v);
		qemu_exit(0);
	}
	panic("unhandled CPU exception %s at rip=%016lx", exc_names[v], tf->rip);
}

void trap_dispatch(struct trap_frame *tf);

void
trap_dispatch(struct trap_frame *tf)
{
	uint64_t v = tf->vector;

	if (v < 32) {
		if ((tf->cs & 3) && user_fault_hook) {
			user_fault_hook(tf);	/* ends only the faulting process */
			return;
		}
		exception(tf);
		return;
	}
	irq_handler_t fn = __atomic_load_n(&handlers[v].fn, __ATOMIC_ACQUIRE);
	if (fn)
		fn(tf, handlers[v].arg);
	else
		kprintf("capos: warning: interrupt on vector %lu with no handler\n", v);
}
