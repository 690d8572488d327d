/*
 * Processes, kernel objects, capability tables and calls in flight: the
 * core types of issue 4 (docs/processes.md, docs/kernel-abi.md).
 *
 * Concurrency: one big kernel lock (sched.h, `bkl`) protects every
 * structure declared here. Kernel code runs with interrupts disabled, so
 * the lock is only ever contended by another CPU. The lock order is in
 * docs/scheduler.md.
 */
#ifndef CAPOS_PROC_H
#define CAPOS_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include "abi/ring.h"
#include "arch/x86_64/fpu.h"
#include "mm/vmm.h"	/* VMM_RW for user_range_hint_ok */

#define CAP_SLOTS	64u	/* cap table size per process (slot 0 unused) */
#define PROC_MAX_VMAS	16u
#define PROC_NAME	32u

struct proc;
struct kobj;
struct call;

/* ---- kernel objects ---- */

enum kobj_type {
	KO_CONSOLE = 1, KO_CLOCK, KO_ENTROPY, KO_SPAWNER, KO_BOOTPKG,
	KO_PROCHANDLE, KO_EPFACTORY, KO_ENDPOINT,
	KO_DDF,		/* device caps served by kernel/ddf (kddf_caps.c) */
};

/* A facet decides which operations a slot allows (attenuation). */
#define FACET_CALL	1u	/* CALL only (clients, kernel objects) */
#define FACET_SERVER	2u	/* RECV and RETURN on an endpoint */

struct kobj {
	uint64_t iid;		/* schema interface id */
	uint32_t refs;		/* cap slots + kernel references */
	uint32_t gen;		/* bumped when destroyed */
	enum kobj_type type;
	bool permanent;		/* static singletons: never freed */
};

/* ---- capability table ---- */

enum slot_state { SLOT_FREE = 0, SLOT_LIVE, SLOT_RESERVED };

struct cap_slot {
	struct kobj *obj;
	uint16_t gen;		/* generation of the CapId naming this slot */
	uint8_t state;
	uint8_t facet;
	uint32_t badge;		/* endpoint CALL facets: the server's mark (RING_XFER_MINT); 0 = none */
};
_Static_assert(sizeof(struct cap_slot) == 16, "cap_slot stays 16 bytes (the badge fills the padding)");

struct cap_table {
	struct cap_slot slot[CAP_SLOTS];
};

/* A transfer taken out of a sender's table, not yet committed. */
struct xfer {
	struct kobj *obj;	/* holds one reference while in flight */
	struct proc *src;	/* sender (for MOVE rollback); NULL once the sender is gone */
	uint16_t slot;		/* sender slot (MOVE: reserved) */
	uint8_t mode;		/* RING_XFER_COPY or RING_XFER_MOVE (a MINT is reserved as a copy) */
	uint8_t facet;
	uint32_t badge;		/* the badge the receiver's slot gets */
};

/* ---- calls ---- */

enum call_state { CALL_QUEUED = 1, CALL_IN_SERVICE, CALL_PARKED };

struct call {
	struct call *next;	/* endpoint queue / in-service list / parked list */
	struct call *all_next;	/* global list of live calls */
	struct call **all_pprev;	/* the link to this call in that list (O(1) unlink) */
	struct proc *caller;	/* NULL when the caller has died */
	struct proc *server;	/* endpoint calls in service: the process that received it */
	struct kobj *target;	/* the object called (holds a reference) */
	uint64_t user_data;
	uint64_t result_va;
	uint32_t result_len;
	uint16_t method;
	uint8_t state;
	uint32_t token;
	uint32_t badge;		/* badge of the slot the call was made through (endpoints: told to the server) */
	uint8_t *params;	/* kernel copy, or NULL: still in the caller at params_va */
	uint64_t params_va;
	uint32_t params_len;
	uint32_t nxfer;
	struct xfer x[RING_MAX_XFER];
	uint64_t deadline;	/* parked waits: tick count, 0 = none */
};

/* ---- processes ---- */

enum proc_state { P_RUNNABLE = 1, P_RUNNING, P_BLOCKED, P_ZOMBIE };

enum exit_kind { EXIT_CODE = 0, EXIT_FAULT, EXIT_KILLED };

struct vma {
	uint64_t start, end;	/* page-aligned */
	unsigned kind;		/* VMM_RW / VMM_EXEC bits, VMA_ZERO */
};
#define VMA_ZERO	0x100u	/* demand-zero: each page backed on first touch (uaccess.c) */

struct proc {
	uint32_t pid;
	char name[PROC_NAME];
	enum proc_state state;
	uint64_t pml4;		/* physical */
	uint64_t kstack_top;
	uint64_t ctx_rsp;	/* saved kernel RSP while switched out */
	struct fpu_state fpu;	/* x87/SSE registers while switched out (sched.c) */
	struct proc *run_next;	/* run queue */
	struct proc *all_next;	/* global list */
	struct ring_page *ring;	/* kernel view (physmap) of the ring page */
	uint64_t ring_pa;
	struct cap_table caps;
	struct vma vma[PROC_MAX_VMAS];
	uint32_t nvma;
	uint32_t vma_hint;	/* uaccess.c: the VMA the last accepted range lay in (< nvma: a live VMA) */
	uint32_t sq_head, cq_tail;	/* authoritative copies of the kernel-owned indices */
	uint32_t inflight;	/* ops that will still post a completion */
	uint32_t wait_min;	/* cap_enter: completions wanted */
	uint64_t wait_deadline;	/* tick count; 0 = none */
	int cpu;		/* CPU it last ran on */
	/* exit status, for ProcessHandle.wait */
	enum exit_kind exit_kind;
	int32_t exit_code;
	uint64_t fault_addr;
	char fault_reason[48];
	struct kobj *handle;	/* its ProcessHandle object (one reference held by the proc) */
	bool is_idle;
	/* reclamation (proc.c): a zombie's kernel stack is freed once no CPU runs
	 * on it, the record once its ProcessHandle is gone too */
	bool handle_gone;
	struct proc *reap_next;	/* zombies still owning a kernel stack */
	bool kill_pending;	/* proc_kill while it ran on another CPU: ends at sched_kill_point */
	bool parked;		/* blocked in cap_enter without its kernel stack (cap/ring.c) */
};

/* ---- proc.c ---- */
extern struct proc *proc_list;
struct proc *proc_create(const char *name, const void *elf, uint64_t len, int *err, const char **why);
/* p must be the current process: it ends and the CPU switches away. */
__attribute__((noreturn)) void proc_exit(struct proc *p, enum exit_kind kind, int32_t code);
struct trap_frame;
void proc_fault(struct trap_frame *tf);
void proc_start_init(void);
void proc_boot(void);
extern struct proc *proc_reap_list;
void proc_reap(void);			/* free what dead processes no longer need (bkl held) */
void proc_handle_gone(struct proc *p);	/* its ProcessHandle object was destroyed */
int proc_kill(struct proc *p);
int proc_find_module(const char *name, const void **data, uint64_t *len);
int proc_bootstrap_add(struct proc *p, const char *name, uint64_t iid, capid_t cap);
struct bootstrap_page *proc_bootstrap(struct proc *p);

/* ---- uaccess.c: user memory through the owner's page tables ---- */
/* Copy with rep movsq/movsb, inline (kernel/lib.c's memcpy does the same out of line). */
static inline void
kcopy(void *dst, const void *src, uint64_t n)
{
	uint64_t q = n >> 3, r = n & 7;
	__asm__ volatile("rep movsq\n\tmovq %3, %%rcx\n\trep movsb"
			 : "+D"(dst), "+S"(src), "+c"(q) : "r"(r) : "memory");
}
int vma_add(struct proc *p, uint64_t start, uint64_t end, unsigned kind);
int vma_populate(struct proc *p, uint64_t va, unsigned need, uint64_t *pa);
bool user_range_ok(struct proc *p, uint64_t va, uint64_t len, bool write);
/*
 * The IPC path checks the same buffers again and again: the VMA the last
 * accepted range lay in (vma_hint) is tried first, inline. vma_add appends
 * and kddf's dma_vma_drop moves the last VMA into the gap and resets the
 * hint, so a hint below nvma always names a live VMA; va + len cannot wrap
 * when it lies inside one. False means "walk", not "refused".
 */
static inline bool
user_range_hint_ok(const struct proc *p, uint64_t va, uint64_t len, bool write)
{
	const struct vma *h = &p->vma[p->vma_hint];
	return p->vma_hint < p->nvma && va >= h->start && va < h->end && len <= h->end - va &&
	       (!write || (h->kind & VMM_RW));
}
int copy_from_user(struct proc *p, void *dst, uint64_t va, uint64_t len);
int copy_to_user(struct proc *p, uint64_t va, const void *src, uint64_t len);
int copy_user_to_user(struct proc *dp, uint64_t dva, struct proc *sp, uint64_t sva, uint64_t len);

/* ---- cap/cap.c ---- */
void kobj_ref(struct kobj *o);
void kobj_unref(struct kobj *o);
int cap_insert(struct proc *p, struct kobj *o, uint8_t facet, capid_t *out);
struct cap_slot *cap_lookup(struct proc *p, capid_t id, int *err);
int cap_release(struct proc *p, capid_t id);
void cap_table_destroy(struct proc *p);
int xfer_reserve(struct proc *p, const struct ring_xfer *in, uint32_t n, struct xfer *out);
void xfer_rollback(struct xfer *x, uint32_t n);
int xfer_commit(struct proc *dst, struct xfer *x, uint32_t n, uint32_t accept, capid_t *ids,
		uint64_t *iids);
void xfer_forget_proc(struct proc *p);

/* ---- cap/ring.c ---- */
struct trap_frame;
void cap_enter_syscall(struct trap_frame *tf);	/* SYS_CAP_ENTER, from syscall.S */
void ring_post(struct proc *p, const struct ring_cqe *c);
uint32_t ring_cq_ready(struct proc *p);
void call_complete(struct call *c, int32_t result, int32_t detail, const void *res, uint32_t len,
		   struct xfer *x, uint32_t nx);
/* Same, with the results still in process sp's memory at sva (a RETURN). */
void call_complete_user(struct call *c, int32_t result, struct proc *sp, uint64_t sva, uint32_t len,
			struct xfer *x, uint32_t nx);
void call_complete_exception(struct call *c, unsigned type, const char *reason);
void call_free(struct call *c);
struct call *call_alloc(void);
void calls_forget_proc(struct proc *p);

/* ---- cap/endpoint.c ---- */
struct kobj *endpoint_create(uint64_t iid);
void endpoint_call(struct kobj *o, struct call *c);
int endpoint_recv(struct proc *p, struct kobj *o, const struct ring_sqe *s);
int endpoint_return(struct proc *p, struct kobj *o, const struct ring_sqe *s, int32_t *detail);
void endpoint_server_gone(struct kobj *o);
void endpoint_destroy(struct kobj *o);
void endpoint_forget_proc(struct proc *p);
void endpoint_proc_gone(struct proc *p);

/* ---- cap/kobjs.c: kernel-served interfaces ---- */
extern struct kobj ko_console, ko_clock, ko_entropy, ko_spawner, ko_bootpkg, ko_epfactory;
void kobj_call(struct kobj *o, struct call *c);
struct kobj *prochandle_create(struct proc *p);
void prochandle_exited(struct proc *p);
void prochandle_destroy(struct kobj *o);
void kobjs_tick(uint64_t now);

#endif
