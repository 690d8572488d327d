/*
 * Processes: address spaces, loading boot modules, start, exit and faults.
 *
 * An address space is a fresh PML4 whose kernel half (entries 256..511) is
 * copied from the kernel's tables (vmm_init pre-creates them, so later kernel
 * mappings are shared). The low half holds only what the process was given:
 * its ELF segments (W^X, NX on data), a stack of USER_STACK_PAGES with an
 * unmapped guard page below it, a heap, the ring page (rw) and the bootstrap
 * page (ro). Every mapping is also a VMA, which is what user buffers are
 * checked against (uaccess.c). The heap is only reserved: a demand-zero
 * VMA whose pages are backed on first touch, by the page-fault path below
 * or by a kernel copy into it (uaccess.c), so an untouched heap costs no
 * frame.
 */
#include "proc/proc.h"
#include "ddf/kddf.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/x86.h"
#include "boot/mb2.h"
#include "elf/elf.h"
#include "fmt/fmt.h"
#include "kernel.h"
#include "mm/heap.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "sched/sched.h"
#include "smp/percpu.h"
#include "smp/tlb.h"

struct proc *proc_list;
static uint32_t next_pid = 1;
extern char proc_trampoline[];
extern char trap_return[];

int
proc_find_module(const char *name, const void **data, uint64_t *len)
{
	for (uint32_t i = 0; i < boot_info.module_count; i++) {
		struct mb2_module *m = &boot_info.modules[i];
		if (strcmp(m->name, name) == 0) {
			*data = phys_to_virt(m->start);
			*len = m->end - m->start;
			return 0;
		}
	}
	return E_NOENT;
}

/* Map fresh zeroed pages over [start, end) and record the VMA. */
static int
map_anon(struct proc *p, uint64_t start, uint64_t end, unsigned kind)
{
	for (uint64_t va = start; va < end; va += PAGE_SIZE) {
		uint64_t pa;
		if (pmm_alloc(&pa) < 0)
			return E_NOMEM;
		if (vmm_map_page(p->pml4, va, pa, kind | VMM_USER) < 0) {
			pmm_free(pa);
			return E_NOMEM;
		}
	}
	return vma_add(p, start, end, kind);
}

static int
load_elf(struct proc *p, const void *elf, uint64_t len, uint64_t *entry, const char **why)
{
	struct elf_image im;
	int r = elf_parse(elf, len, USER_FLOOR, USER_CEIL, &im, why);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < im.nseg; i++) {
		struct elf_segment *s = &im.seg[i];
		unsigned kind = (s->flags & ELF_PF_W ? VMM_RW : 0) | (s->flags & ELF_PF_X ? VMM_EXEC : 0);
		uint64_t start = ALIGN_DOWN(s->vaddr, PAGE_SIZE);
		uint64_t end = ALIGN_UP(s->vaddr + s->memsz, PAGE_SIZE);
		if ((r = map_anon(p, start, end, kind)) < 0)
			return r;
		/* Copy file bytes page by page through the physmap. */
		for (uint64_t off = 0; off < s->filesz;) {
			uint64_t va = s->vaddr + off;
			uint64_t n = PAGE_SIZE - (va & (PAGE_SIZE - 1));
			if (n > s->filesz - off)
				n = s->filesz - off;
			uint64_t pa = vmm_translate(p->pml4, va);
			memcpy(phys_to_virt(pa), (const uint8_t *)elf + s->offset + off, n);
			off += n;
		}
	}
	*entry = im.entry;
	return 0;
}

/* Free every user page and every low-half page table. */
static void
free_user_space(uint64_t pml4)
{
	uint64_t *l4 = phys_to_virt(pml4);
	for (int i = 0; i < 256; i++) {
		if (!(l4[i] & PTE_P))
			continue;
		uint64_t *l3 = phys_to_virt(l4[i] & PTE_ADDR);
		for (int j = 0; j < 512; j++) {
			if (!(l3[j] & PTE_P))
				continue;
			uint64_t *l2 = phys_to_virt(l3[j] & PTE_ADDR);
			for (int k = 0; k < 512; k++) {
				if (!(l2[k] & PTE_P))
					continue;
				uint64_t *l1 = phys_to_virt(l2[k] & PTE_ADDR);
				for (int m = 0; m < 512; m++)
					if (l1[m] & PTE_P)
						pmm_free(l1[m] & PTE_ADDR);
				pmm_free(l2[k] & PTE_ADDR);
			}
			pmm_free(l3[j] & PTE_ADDR);
		}
		pmm_free(l4[i] & PTE_ADDR);
		l4[i] = 0;
	}
	pmm_free(pml4);
}

/* The kernel's view of p's bootstrap page (read-only to p itself). */
struct bootstrap_page *
proc_bootstrap(struct proc *p)
{
	return phys_to_virt(vmm_translate(p->pml4, BOOTSTRAP_USER_VA));
}

int
proc_bootstrap_add(struct proc *p, const char *name, uint64_t iid, capid_t cap)
{
	struct bootstrap_page *b = proc_bootstrap(p);
	if (b->ncaps >= BOOTSTRAP_MAX_CAPS)
		return E_LIMIT;
	size_t n = strlen(name);
	if (n >= BOOTSTRAP_NAME)
		return E_NAME;
	struct bootstrap_cap *c = &b->caps[b->ncaps++];
	memcpy(c->name, name, n + 1);
	c->interface_id = iid;
	c->cap = cap;
	return 0;
}

/* Prepare the kernel stack so the first switch_to returns into ring 3. */
static void
prepare_kstack(struct proc *p, uint64_t entry)
{
	uint64_t sp = p->kstack_top;
	sp -= sizeof(struct trap_frame);
	struct trap_frame *tf = (struct trap_frame *)sp;
	memset(tf, 0, sizeof *tf);
	tf->rip = entry;
	tf->cs = GDT_UCODE | 3;
	tf->ss = GDT_UDATA | 3;
	tf->rflags = 0x202;
	tf->rsp = USER_STACK_TOP - 8;	/* as after a call: ABI alignment */
	tf->rdi = BOOTSTRAP_USER_VA;
	tf->rsi = RING_USER_VA;
	sp -= 8;
	*(uint64_t *)sp = (uint64_t)proc_trampoline;
	sp -= 6 * 8;			/* rbp rbx r12 r13 r14 r15 popped by switch_to */
	memset((void *)sp, 0, 6 * 8);
	p->ctx_rsp = sp;
}

struct proc *
proc_create(const char *name, const void *elf, uint64_t len, int *err, const char **why)
{
	struct proc *p = kmalloc(sizeof *p);
	uint64_t entry = 0, pa;
	int r = E_NOMEM;
	struct pmm_stats ps;

	pmm_stats(&ps);
	uint64_t free_before = ps.free_frames;

	*why = "out of memory";
	if (!p)
		goto fail;
	fpu_init_state(&p->fpu);	/* kmalloc aligns it: objects sit at multiples of their size class */
	size_t n = strlen(name);
	if (n >= PROC_NAME)
		n = PROC_NAME - 1;
	memcpy(p->name, name, n);
	if (pmm_alloc(&p->pml4) < 0)
		goto fail_free;
	uint64_t *l4 = phys_to_virt(p->pml4), *k4 = phys_to_virt(vmm_kernel_pml4());
	for (int i = 256; i < 512; i++)
		l4[i] = k4[i];

	if ((r = load_elf(p, elf, len, &entry, why)) < 0)
		goto fail_space;
	r = E_NOMEM;
	*why = "out of memory";
	if (map_anon(p, USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE, USER_STACK_TOP, VMM_RW) < 0 ||
	    vma_add(p, USER_HEAP_VA, USER_HEAP_VA + USER_HEAP_PAGES * PAGE_SIZE, VMM_RW | VMA_ZERO) < 0 ||
	    map_anon(p, RING_USER_VA, RING_USER_VA + PAGE_SIZE, VMM_RW) < 0)
		goto fail_space;
	if (pmm_alloc(&pa) < 0 || vmm_map_page(p->pml4, BOOTSTRAP_USER_VA, pa, VMM_USER | VMM_RO) < 0)
		goto fail_space;
	vma_add(p, BOOTSTRAP_USER_VA, BOOTSTRAP_USER_VA + PAGE_SIZE, VMM_RO);

	p->ring_pa = vmm_translate(p->pml4, RING_USER_VA);
	p->ring = phys_to_virt(p->ring_pa);
	p->ring->hdr.sq_entries = RING_SQ_ENTRIES;
	p->ring->hdr.cq_entries = RING_CQ_ENTRIES;
	p->pid = next_pid++;
	struct bootstrap_page *b = phys_to_virt(pa);
	b->magic = BOOTSTRAP_MAGIC;
	b->pid = p->pid;
	memcpy(b->name, p->name, sizeof b->name - 1);

	p->kstack_top = kstack_try_alloc();
	if (!p->kstack_top)
		goto fail_space;
	prepare_kstack(p, entry);
	p->handle = prochandle_create(p);
	if (!p->handle)
		goto fail_kstack;
	p->all_next = proc_list;
	proc_list = p;
	p->state = P_BLOCKED;	/* the caller installs caps, then sched_add */
	*why = "ok";
	/* What the new address space cost (docs/processes.md "Memory"): page
	 * tables, ELF, stack, ring and bootstrap pages; the heap comes later. */
	pmm_stats(&ps);
	kprintf("capos: proc-space pid=%u name=%s frames=%lu free_frames=%lu\n", p->pid, p->name,
		free_before - ps.free_frames, ps.free_frames);
	return p;

fail_kstack:
	kstack_free(p->kstack_top);
fail_space:
	free_user_space(p->pml4);
fail_free:
	kfree(p);
fail:
	*err = r;
	return NULL;
}

static const char *
exit_desc(struct proc *p, char *buf, size_t n)
{
	(void)buf; (void)n;
	return p->exit_kind == EXIT_FAULT ? "fault" : p->exit_kind == EXIT_KILLED ? "killed" : "exit";
}

/*
 * End a process: release its caps (servers' callers get `disconnected`),
 * orphan its calls, free its memory, tell ProcessHandle waiters. Returns;
 * proc_exit (p is the caller) then switches away, proc_kill (p is not
 * running) goes on.
 */
static void
proc_end(struct proc *p, enum exit_kind kind, int32_t code)
{
	char buf[8];

	p->exit_kind = kind;
	p->exit_code = code;
	kprintf("capos: proc-exit pid=%u name=%s kind=%s code=%d cpu=%d ms=%lu\n", p->pid, p->name,
		exit_desc(p, buf, sizeof buf), code, p->cpu, (unsigned long)(sched_ticks * NS_PER_TICK / 1000000));
	calls_forget_proc(p);
	endpoint_forget_proc(p);
	endpoint_proc_gone(p);
	xfer_forget_proc(p);
	/* Device claims: the one ordered teardown (exit or crash), before the caps and the
	 * user pages go, so releasing the device caps finds nothing left (kernel/ddf). */
	kddf_owner_gone(p->pid, kind == EXIT_FAULT ? DDF_TD_CRASH : DDF_TD_EXIT);
	cap_table_destroy(p);
	bool self = (p == this_cpu()->cur);
	if (self)
		write_cr3(vmm_kernel_pml4());
	/* Another CPU may still hold the tables in CR3 (its idle thread keeps the
	 * last one) and their translations in its TLB: off them before they go. */
	tlb_retire_space(p->pml4);
	free_user_space(p->pml4);
	p->pml4 = vmm_kernel_pml4();
	p->ring = NULL;
	if (p->state == P_RUNNABLE) {
		sched_remove(p);
	}
	p->state = P_ZOMBIE;
	prochandle_exited(p);
	if (ncpus > 1) {	/* SMP evidence: process switches per CPU so far */
		kprintf("capos: sched-stats cpus=%u switches=", ncpus);
		for (uint32_t i = 0; i < ncpus; i++)
			kprintf("%s%lu", i ? "," : "", cpus[i].work);
		kprintf(" ticks=");
		for (uint32_t i = 0; i < ncpus; i++)
			kprintf("%s%lu", i ? "," : "", cpus[i].ticks);
		kprintf("\n");
	}
	/* The kernel stack and the record go later (proc_reap): we may be
	 * running on that stack, and ProcessHandle holders read the record. */
	p->reap_next = proc_reap_list;
	proc_reap_list = p;
	if (!self)
		proc_reap();
}

/* The current process ends (exit, fault, a kill noticed on entry). */
void
proc_exit(struct proc *p, enum exit_kind kind, int32_t code)
{
	if (p != this_cpu()->cur)
		panic("proc_exit of pid %u, which is not running here", p->pid);
	proc_end(p, kind, code);
	schedule();
	panic("zombie process %u scheduled", p->pid);
}

/* ---- reclamation ---- */

struct proc *proc_reap_list;

static bool
running_somewhere(struct proc *p)
{
	for (uint32_t i = 0; i < ncpus; i++)
		if (cpus[i].cur == p)
			return true;
	return false;
}

/* The record of a zombie whose stack is freed and whose handle is gone. */
static void
proc_free(struct proc *p)
{
	struct pmm_stats ps;
	struct heap_stats hs;

	for (struct proc **pp = &proc_list; *pp; pp = &(*pp)->all_next)
		if (*pp == p) {
			*pp = p->all_next;
			break;
		}
	uint32_t pid = p->pid;
	kfree(p);
	/* Evidence for the reclamation test (bounded: one line per process). */
	pmm_stats(&ps);
	heap_stats(&hs);
	kprintf("capos: proc-freed pid=%u free_frames=%lu heap_bytes=%lu heap_objects=%lu "
		"heap_pages=%lu kstacks=%lu\n", pid, ps.free_frames, hs.live_bytes, hs.live_objects,
		hs.slab_pages + hs.big_pages, kstack_mapped());
}

/*
 * Called with the bkl from schedule() and when a ProcessHandle goes. A CPU
 * that switched away from a zombie did so before releasing the bkl, so a
 * zombie that no CPU has as `cur` is off its kernel stack.
 */
void
proc_reap(void)
{
	struct proc **pp = &proc_reap_list;

	while (*pp) {
		struct proc *p = *pp;
		if (running_somewhere(p)) {
			pp = &p->reap_next;
			continue;
		}
		*pp = p->reap_next;
		kstack_free(p->kstack_top);
		p->kstack_top = 0;
		if (p->handle_gone)
			proc_free(p);
	}
}

void
proc_handle_gone(struct proc *p)
{
	p->handle_gone = true;
	if (p->state != P_ZOMBIE)
		return;		/* cannot be: a live process holds a reference to its handle */
	if (p->kstack_top == 0)
		proc_free(p);
	else
		proc_reap();	/* frees p with its stack once queued and off every CPU */
}

/*
 * End p, which is not the caller (ProcessHandle.kill). A process that is
 * not running ends now. One running on another CPU cannot be torn down
 * from here (that CPU is on its kernel stack and may be entering the
 * kernel): it is marked and that CPU is sent VEC_RESCHED; it ends at its
 * next entry from ring 3 (the IPI itself, the tick or a system call:
 * sched_kill_point), where it holds nothing. Its waiters learn the end
 * from ProcessHandle.wait as for any exit.
 */
int
proc_kill(struct proc *p)
{
	if (p->state != P_RUNNING) {
		kprintf("capos: proc-kill pid=%u via=direct\n", p->pid);
		proc_end(p, EXIT_KILLED, 0);
		return 0;
	}
	if (p->cpu < 0 || (uint32_t)p->cpu >= ncpus)
		return E_INVAL;
	p->kill_pending = true;
	kprintf("capos: proc-kill pid=%u via=ipi cpu=%d\n", p->pid, p->cpu);
	lapic_send_ipi(cpus[p->cpu].apic_id, VEC_RESCHED);
	return 0;
}

/* Page-fault error code bits (Intel SDM 3A 4.7). */
#define PF_PRESENT	(1u << 0)	/* protection violation, not a missing page */
#define PF_WRITE	(1u << 1)
#define PF_RSVD		(1u << 3)
#define PF_FETCH	(1u << 4)

/* End the current process p for the exception in tf (bkl held); `why`
 * overrides the page-fault detail. */
static __attribute__((noreturn)) void
fault_end(struct proc *p, struct trap_frame *tf, const char *why)
{
	static const char *const names[32] = {
		[0] = "divide error", [1] = "debug", [3] = "breakpoint", [4] = "overflow",
		[5] = "bound range", [6] = "invalid opcode", [7] = "device not available",
		[10] = "invalid TSS", [11] = "segment not present", [12] = "stack fault",
		[13] = "general protection", [14] = "page fault", [16] = "x87 error",
		[17] = "alignment check", [19] = "SIMD error",
	};
	uint64_t addr = tf->vector == 14 ? read_cr2() : tf->rip;
	const char *reason = names[tf->vector & 31] ? names[tf->vector & 31] : "exception";
	char detail[48];

	if (tf->vector == 14) {
		bool guard = addr < USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE &&
			     addr >= USER_STACK_TOP - (USER_STACK_PAGES + 1) * PAGE_SIZE;
		fmt_snprintf(detail, sizeof detail, "page fault (%s%s%s)",
			     guard ? "stack guard page, " : "",
			     why ? why : tf->error & PF_PRESENT ? "protection" : "not present",
			     tf->error & PF_FETCH ? ", fetch" : tf->error & PF_WRITE ? ", write" : ", read");
		reason = detail;
	}
	kprintf("capos: proc-fault pid=%u name=%s vector=%lu addr=%#lx rip=%#lx reason=\"%s\"\n",
		p->pid, p->name, tf->vector, addr, tf->rip, reason);
	p->fault_addr = addr;
	size_t n = strlen(reason);
	if (n >= sizeof p->fault_reason)
		n = sizeof p->fault_reason - 1;
	memcpy(p->fault_reason, reason, n);
	p->fault_reason[n] = 0;
	proc_exit(p, EXIT_FAULT, (int32_t)tf->vector);
}

void
proc_fault(struct trap_frame *tf)
{
	spin_lock(&bkl);
	fault_end(this_cpu()->cur, tf, NULL);
}

/*
 * An exception in ring 3. A not-present page fault inside a demand-zero
 * VMA, with the access it allows, backs the page and returns to retry the
 * instruction; out of memory the process ends ("page fault (out of
 * memory, ...)"). Anything else ends the process as before. Like every
 * kernel entry from ring 3 it takes the bkl and honours a pending kill.
 */
static void
user_fault(struct trap_frame *tf)
{
	spin_lock(&bkl);
	struct proc *p = this_cpu()->cur;
	sched_kill_point();
	if (tf->vector == 14 && !(tf->error & (PF_PRESENT | PF_RSVD))) {
		unsigned need = tf->error & PF_FETCH ? VMM_EXEC : tf->error & PF_WRITE ? VMM_RW : 0;
		uint64_t pa;
		int r = vma_populate(p, read_cr2(), need, &pa);
		if (r == 0) {
			spin_unlock(&bkl);
			return;
		}
		if (r == E_NOMEM) {
			fault_end(p, tf, "out of memory");
			return;
		}
	}
	fault_end(p, tf, NULL);
}

/* The kernel starts exactly one process: init, from the boot module "init". */
void
proc_start_init(void)
{
	const void *elf;
	uint64_t len;
	const char *why;
	int err = 0;
	capid_t id;

	user_fault_hook = user_fault;
	if (proc_find_module("init", &elf, &len) < 0) {
		kprintf("capos: no init module; nothing to start\n");
		return;
	}
	spin_lock(&bkl);
	struct proc *p = proc_create("init", elf, len, &err, &why);
	if (!p)
		panic("init rejected: %s (%s)", why, err_name(err));
	static const struct { const char *name; struct kobj *o; } grants[] = {
		{ "spawner", &ko_spawner }, { "boot", &ko_bootpkg }, { "console", &ko_console },
		{ "endpoints", &ko_epfactory }, { "clock", &ko_clock }, { "entropy", &ko_entropy },
	};
	for (size_t i = 0; i < ARRAY_SIZE(grants); i++) {
		kobj_ref(grants[i].o);
		if (cap_insert(p, grants[i].o, FACET_CALL, &id) < 0 ||
		    proc_bootstrap_add(p, grants[i].name, grants[i].o->iid, id) < 0)
			panic("init: cannot grant %s", grants[i].name);
	}
	kprintf("capos: init-start pid=%u caps=%u\n", p->pid, (unsigned)ARRAY_SIZE(grants));
	sched_add(p);
	spin_unlock(&bkl);
}

/*
 * Called by kmain once the heap works: per-CPU tables for the boot CPU,
 * the syscall MSRs, the scheduler and its tick, then init. Returns only
 * when there is no init module (the caller then halts as before).
 */
void timer_set_tick_handler(void (*fn)(struct trap_frame *)) __attribute__((weak));

void
proc_boot(void)
{
	void syscall_cpu_init(void);
	extern bool cpu_has_smep, cpu_has_smap;
	const void *d;
	uint64_t l;

	if (proc_find_module("init", &d, &l) < 0) {
		kprintf("capos: no init module; nothing to start\n");
		return;
	}
	cli();	/* kernel code runs with interrupts off (sched.c) */
	percpu_init(&cpus[0], 0);
	syscall_cpu_init();
	sched_init();
	kprintf("capos: proc-ok syscall=on smep=%s smap=%s nx=%s tick=%s\n",
		cpu_has_smep ? "on" : "absent", cpu_has_smap ? "on" : "absent",
		boot_nx ? "on" : "absent", timer_set_tick_handler ? "lapic" : "pit");
	uint32_t n = smp_start_aps();
	kprintf("capos: smp-ok cpus=%u\n", n + 1);
	proc_start_init();
	sched_start();
}
