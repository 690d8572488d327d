/*
 * The kernel device manager (docs/device-manager.md, "Kernel integration").
 *
 * kddf wraps the pure ledger of lib/ddf with real effects: PCI command
 * register, user page mappings of BAR windows and DMA buffers, MSI-X routes
 * through the interrupt layer, bounce pages from pmm, and the device formats
 * the kernel authors (legacy virtio split rings). There is exactly one
 * ledger (`kddf_ledger()`), serialised by one spinlock taken with interrupts
 * off; every kddf_ function takes it, so callers never hold it.
 *
 * DMA backend: kernel-owned bounce pages (no verified IOMMU is probed; the
 * boot marker says so). Physical addresses never leave the kernel: the
 * caller of kddf_dma_map gets a user virtual address, and descriptors and
 * queue bases are written by the kernel from (buffer cookie, offset).
 */
#ifndef CAPOS_KDDF_H
#define CAPOS_KDDF_H

#include <stdbool.h>
#include <stdint.h>
#include "ddf/ddf.h"

/* Where DDF mappings go in a process's address space (a driver's BAR windows and
 * buffers, a client's DmaWindows): 8192 pages, 32 MiB. */
#define KDDF_USER_VA	0x00007FFE00000000ull
#define KDDF_USER_PAGES	8192u

/* Device formats the kernel can publish descriptors into. */
enum kddf_fmt {
	KDDF_FMT_NONE = 0,        /* no brokered queue format: submit is refused */
	KDDF_FMT_VIRTIO_LEGACY = 1, /* legacy virtio PCI (I/O BAR0), split rings at QUEUE_PFN */
	KDDF_FMT_VIRTIO_MODERN = 2, /* modern virtio PCI: common config, brokered queue bases */
	KDDF_FMT_NVME = 3,         /* NVMe (class 01:08:02): the kernel owns SQs, CQs, doorbells */
};

/* Legacy virtio PCI header offsets in BAR0 (virtio 1.x §4.1.4.8), MSI-X enabled. */
#define VIRTIO_LEG_HOST_FEATURES	0
#define VIRTIO_LEG_GUEST_FEATURES	4
#define VIRTIO_LEG_QUEUE_PFN		8
#define VIRTIO_LEG_QUEUE_SIZE		12
#define VIRTIO_LEG_QUEUE_SEL		14
#define VIRTIO_LEG_QUEUE_NOTIFY		16
#define VIRTIO_LEG_STATUS		18
#define VIRTIO_LEG_ISR			19
#define VIRTIO_LEG_MSIX_CONFIG		20
#define VIRTIO_LEG_MSIX_QUEUE		22
#define VIRTIO_LEG_HDR_LEN		24

void kddf_init(void);
struct ddf_ledger *kddf_ledger(void);

/* An owner that is not a process (built-in tests): its address space root. 0 pml4 forgets it. */
int kddf_owner_register(uint32_t owner, uint64_t pml4);

int kddf_claim(const struct ddf_selector *sel, const struct ddf_policy *pol, uint8_t fmt,
    ddf_handle *out);
/*
 * A virtio function granted `bar`: the format follows from the BAR (legacy:
 * transitional 1af4 with I/O BAR0 granted; modern: the BAR holding the
 * common configuration, kddf_virtio.c) and so does the policy. E_NOTSUP
 * when the function is absent, already claimed or not virtio on that BAR:
 * the caller then claims it with a read-only policy, which reports why.
 */
int kddf_claim_virtio(const struct ddf_selector *sel, uint8_t bar, uint32_t owner,
    uint64_t budget, uint32_t max_inflight, ddf_handle *out);
/* A legacy-virtio policy: selected writes on the header, QUEUE_PFN brokered. */
void kddf_policy_virtio_legacy(struct ddf_policy *pol, uint32_t owner, uint64_t budget,
    uint32_t max_inflight);
int kddf_teardown(ddf_handle claim, uint8_t reason);
/* Process exit or crash: tear down every claim the process holds (proc_exit calls this). */
int kddf_owner_gone(uint32_t owner, uint8_t reason);
int kddf_bus_master_enable(uint32_t owner, ddf_handle claim);
int kddf_queue_configure(uint32_t owner, ddf_handle claim, uint16_t queue, uint32_t depth);

int kddf_mmio_grant(uint32_t owner, ddf_handle claim, uint8_t bar, uint64_t off, uint64_t len,
    ddf_handle *out);
/* Map read-only into the owner; *va is where, *map_gen names the mapping for unmap. */
int kddf_mmio_map(uint32_t owner, ddf_handle win, uint64_t *va, uint32_t *map_gen);
int kddf_mmio_unmap(uint32_t owner, ddf_handle win, uint32_t map_gen);
int kddf_mmio_release(uint32_t owner, ddf_handle win);
int kddf_mmio_read(uint32_t owner, ddf_handle win, uint64_t off, uint8_t width, uint32_t *v);
int kddf_mmio_write(uint32_t owner, ddf_handle win, uint64_t off, uint8_t width, uint32_t v);
int kddf_mmio_brokered_pfn(uint32_t owner, ddf_handle win, uint64_t off, ddf_handle buf);
int kddf_mmio_brokered_addr(uint32_t owner, ddf_handle win, uint64_t off, ddf_handle buf,
    uint64_t buf_off);
/* DeviceMmio.config: the 256-byte snapshot taken at claim time, BARs zeroed. */
int kddf_mmio_config(uint32_t owner, ddf_handle win, uint8_t out[256]);
/* DeviceMmio.reset: teardown with reason reset; *claim is the claim under its new generation. */
int kddf_mmio_reset(uint32_t owner, ddf_handle win, ddf_handle *claim);

/* What the caps' info methods report (schema/device.capnp MmioInfo, InterruptInfo, ...). */
enum { KDDF_BUFINFO_IDLE, KDDF_BUFINFO_MAPPED, KDDF_BUFINFO_INFLIGHT, KDDF_BUFINFO_FREED,
	KDDF_BUFINFO_COMPLETING, KDDF_BUFINFO_SCRUBBING };
struct kddf_info {
	struct ddf_pci_addr addr;
	uint16_t vendor, device;
	uint32_t gen;			/* the handle's generation */
	uint8_t bar;			/* window */
	uint64_t length;
	char label[16];
	uint8_t kind, masked;		/* route */
	uint16_t index;
	uint64_t budget, used;		/* pool (a claim handle) */
	uint32_t buffers;
	uint64_t size;			/* buffer */
	uint8_t dir, state;
	uint32_t inflight;
};
/* Info of a window, route, buffer or (pool) claim handle of `owner`; decode errors as usual. */
int kddf_info(uint32_t owner, ddf_handle h, struct kddf_info *out);

int kddf_irq_route(uint32_t owner, ddf_handle claim, uint8_t kind, uint16_t index,
    ddf_handle *out);
/* > 0: interrupts taken (EOI now owed); 0: none yet (would block); < 0: refused. */
int kddf_irq_wait(uint32_t owner, ddf_handle route);
int kddf_irq_ack(uint32_t owner, ddf_handle route);
int kddf_irq_mask(uint32_t owner, ddf_handle route, int masked);
int kddf_irq_release(uint32_t owner, ddf_handle route);
/* The interrupt path, callable directly (tests, benchmarks): what a delivered MSI-X does. */
int kddf_irq_deliver(ddf_handle route);
/* CPU vector of a live route (tests), 0 when none. */
uint8_t kddf_irq_vector(ddf_handle route);
/* MSI-X/MSI deliveries before the acknowledge that mask the source until it
 * (kddf.c "Deferred EOI"); a driver at queue depth 32 sees at most a few. */
#define KDDF_IRQ_STORM 64u

/* Tests: an MSI-X route's vector-control mask bit as the device holds it
 * (1 masked, 0 not; E_NOTSUP for other kinds), and how often a storm masked it. */
int kddf_irq_source_masked(ddf_handle route);
uint32_t kddf_irq_storms(ddf_handle route);

int kddf_dma_alloc(uint32_t owner, ddf_handle claim, uint64_t size, uint8_t dir, ddf_handle *out);
int kddf_dma_map(uint32_t owner, ddf_handle buf, uint64_t *va, uint32_t *map_gen);
int kddf_dma_free(uint32_t owner, ddf_handle buf);
int kddf_dma_release(uint32_t owner, ddf_handle buf);
/*
 * DmaWindow (lib/ddf ddf.h "shares"): owner shares [off, off + len) of a buffer it
 * mapped; whoever holds the share maps it (once) at *va, read-write, as a VMA of its
 * own (IPC may use it). State for info: 0 freed/stale, else enum ddf_share_state.
 */
int kddf_dma_share(uint32_t owner, ddf_handle buf, uint64_t off, uint64_t len, ddf_handle *out);
int kddf_share_map(uint32_t holder, ddf_handle share, uint64_t *va, uint64_t *len);
int kddf_share_unmap(uint32_t holder, ddf_handle share);
int kddf_share_release(ddf_handle share);
void kddf_share_info(ddf_handle share, uint8_t *state, uint64_t *len, uint32_t *holder);
int kddf_dma_submit(uint32_t owner, ddf_handle buf, uint16_t queue, uint16_t slot, uint64_t off,
    uint32_t len, uint16_t flags, ddf_handle *token);
/* A chain member (deferred) or head: lib/ddf ddf_dma_submit_desc with the format's checks. */
int kddf_dma_submit_desc(uint32_t owner, ddf_handle buf, const struct ddf_desc *d,
    ddf_handle *token);
/* virtio: the doorbell of `queue` of buf's claim (owner's, active): checked only, or
 * checked and written (`ring`); kddf_virtio.h kvirtio_notify. */
int kddf_dma_notify(uint32_t owner, ddf_handle buf, uint16_t queue, bool ring);
/* Collect: parses the device's used ring first; E_AGAIN while the device has not finished. */
int kddf_dma_complete(uint32_t owner, ddf_handle buf, ddf_handle token, uint32_t *bytes);
/* The completion path (tests): what a used-ring entry naming `token` does. */
int kddf_dma_device_done(ddf_handle token, uint32_t bytes);

/* `capos: ddf-ledger claims=.. free_frames=..` with a tag; totals out for comparisons. */
void kddf_print_ledger(const char *tag, struct ddf_totals *t, uint64_t *free_frames);
/* Console: `devices` and `logs` lines (bounded by size). */
int kddf_fmt_devices(char *buf, uint64_t size);
int kddf_fmt_audit_tail(char *buf, uint64_t size, uint32_t max);
int kddf_audit_read(uint64_t cursor, struct ddf_audit_rec *out, uint32_t max, uint64_t *next,
    uint64_t *dropped);

/* A parked Interrupt.wait: 0 still blocked, > 0 fired, < 0 refused (E_STALE: revoked). */
int kddf_irq_poll(uint32_t owner, ddf_handle route);
ddf_handle kddf_claim_handle(uint32_t index);

/* kddf_caps.c: the device caps (kobj type KO_DDF) and their manifest grants. */
struct kobj;
struct call;
struct proc;
void kddf_kobj_call(struct kobj *o, struct call *c);
void kddf_kobj_destroy(struct kobj *o);
void kddf_caps_tick(uint64_t now);
/* From the MSI-X handler (interrupt context, the big kernel lock not held by
 * this CPU): complete the parked Interrupt.wait calls whose route fired. */
void kddf_caps_wake(void);
void kddf_spawn_grants(struct proc *p);

/* kddf_nvme.c: NVMe brokering (docs/device-manager.md "NVMe brokering"). */
bool kddf_nvme_selects(const struct ddf_selector *sel);
void kddf_policy_nvme(struct ddf_policy *pol, uint32_t owner, uint64_t budget);
int kddf_nvme_enable(uint32_t owner, uint32_t claim_index, uint16_t admin_depth, ddf_handle sq,
    ddf_handle cq);
int kddf_nvme_disable(uint32_t owner, uint32_t claim_index, bool shutdown);
int kddf_nvme_submit(uint32_t owner, uint32_t claim_index, uint16_t qid, const void *cmd,
    uint32_t cmd_len, ddf_handle data, uint64_t off, uint32_t len, ddf_handle list,
    uint64_t list_off, uint64_t *token);
/* 0 done (*status: CQE DW3 31:17, *dw0), E_AGAIN pending, E_STALE unknown or reset. */
int kddf_nvme_complete(uint32_t owner, uint32_t claim_index, uint64_t token, uint16_t *status,
    uint32_t *dw0);
/* nvmeReap: up to max (1..KDDF_NVME_REAP_MAX) finished commands of queue qid,
 * collected; the count, or E_INVAL (max 0), E_RANGE, E_BUSY (not enabled). */
#define KDDF_NVME_REAP_MAX 64u
struct kddf_nvme_done {
	uint64_t token;
	uint32_t dw0;
	uint16_t status;	/* CQE DW3 31:17 */
};
int kddf_nvme_reap(uint32_t owner, uint32_t claim_index, uint16_t qid, uint32_t max,
    struct kddf_nvme_done *out);
uint32_t kddf_nvme_bogus(uint32_t claim_index);

/* kddf_ktest.c: capos.test=ddf | ddf-bench; returns only when name is neither. */
void kddf_ktest_run(const char *name);
/* The self-tests' case lines, `capos: PREFIX-case NAME got=.. expect=.. ok=yes|no`
 * (kddf_ktest.c); a miss clears *all_ok. */
void kddf_case_err(const char *prefix, const char *name, int got, int want, bool *all_ok);
void kddf_case_num(const char *prefix, const char *name, int64_t got, int64_t want, bool *all_ok);
/* kddf_nvme_ktest.c: capos.test=nvme-broker; returns only when name is not that. */
void kddf_nvme_ktest_run(const char *name);

#endif
