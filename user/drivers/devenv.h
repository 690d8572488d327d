/*
 * The driver environment: the only way a capOS block driver core touches
 * hardware. Every call mirrors one method of a device cap (schema/device.capnp,
 * docs/drivers.md has the table). The driver cores (virtio transport,
 * virtio-blk, NVMe) are written against this header alone, so the same code
 * runs on the host against device models (tests/host/drivers/fake_env.c) and,
 * once the kernel device manager exists, over real caps.
 *
 * The rule this interface keeps (SYSTEM.md invariant 3): the driver never
 * sees, computes or writes a device-visible address. It names memory as
 * (DMA handle, offset); every register, descriptor, SQE or PRP slot that holds
 * an address is written by the environment (the kernel), which validates the
 * window against the live buffer first.
 *
 * All calls return 0 (or a positive count) on success and a negative code
 * from base/err.h: E_PERM for a register outside the selected-write policy,
 * E_RANGE for a window outside a BAR or buffer, E_STALE for a freed handle,
 * E_NOMEM for an exhausted pool budget.
 */
#ifndef CAPOS_DRIVERS_DEVENV_H
#define CAPOS_DRIVERS_DEVENV_H

#include <stddef.h>
#include <stdint.h>

struct devenv;                  /* opaque: one per claimed PCI function */
typedef uint64_t devenv_dma_t;  /* opaque DMABuffer handle; 0 is never valid */

#define DEVENV_PAGE_SIZE 4096u

enum devenv_dma_dir {
	DEVENV_DMA_TO_DEVICE = 0,
	DEVENV_DMA_FROM_DEVICE = 1,
	DEVENV_DMA_BIDIRECTIONAL = 2,
};

/* A buffer as the driver sees it: a CPU mapping and the opaque handle. */
struct devenv_dma {
	void *cpu;              /* driver-mapped, zeroed at allocation */
	uint64_t size;          /* page-rounded */
	devenv_dma_t h;
};

/* ---- configuration ---- */

/* Snapshot of the function's PCI configuration space (the first `len`
 * bytes, len <= 256), taken by the kernel at claim time. Returns bytes. */
int devenv_pci_config(struct devenv *env, uint8_t *buf, size_t len);

/* ---- DeviceMmio (read32/write32; widths 1 and 2 are a schema gap) ---- */

/* width is 1, 2 or 4; off must be width-aligned and inside the BAR window. */
int devenv_mmio_read(struct devenv *env, unsigned bar, uint64_t off, unsigned width,
    uint32_t *val);
/* Refused (E_PERM) unless the register is selected for writing. */
int devenv_mmio_write(struct devenv *env, unsigned bar, uint64_t off, unsigned width,
    uint32_t val);
/* DeviceMmio.brokeredQueueBase: the kernel writes the device address of
 * (buf + buf_off) into the 64-bit address register at `off` (virtio
 * queue_desc/driver/device, NVMe ASQ/ACQ). E_PERM unless `off` is an address
 * register of the policy. */
int devenv_mmio_set_addr(struct devenv *env, unsigned bar, uint64_t off, devenv_dma_t buf,
    uint64_t buf_off);

/* ---- legacy port window (virtio 0.9 I/O BAR, brokered, scoped to the BAR) ---- */

int devenv_port_read(struct devenv *env, uint64_t off, unsigned width, uint32_t *val);
int devenv_port_write(struct devenv *env, uint64_t off, unsigned width, uint32_t val);
/* The kernel writes (device address of buf) >> 12 into the 32-bit queue PFN
 * register at `off`; buf must be page-aligned and fit 44 address bits. */
int devenv_port_set_pfn(struct devenv *env, uint64_t off, devenv_dma_t buf);

/* ---- DMAPool / DMABuffer ---- */

int devenv_dma_alloc(struct devenv *env, uint64_t bytes, enum devenv_dma_dir dir,
    struct devenv_dma *out);
/* Quiesce and scrub precede free; the handle is stale afterwards. */
int devenv_dma_free(struct devenv *env, struct devenv_dma *buf);

/*
 * DMABuffer.submitDescriptor, virtio format: the kernel writes the whole
 * 16-byte split-virtqueue descriptor at (ring + ring_off): addr = device
 * address of (data + data_off), len, flags (only NEXT and WRITE; INDIRECT is
 * refused) and next (< ring_entries). The data window must lie inside data.
 */
int devenv_virtq_desc(struct devenv *env, devenv_dma_t ring, uint64_t ring_off,
    uint16_t ring_entries, devenv_dma_t data, uint64_t data_off, uint32_t len,
    uint16_t flags, uint16_t next);

/* The data pointer of an NVMe command, named by handle and offset. */
struct devenv_prp {
	devenv_dma_t data;      /* 0: the command moves no data */
	uint64_t data_off;      /* dword-aligned */
	uint32_t len;           /* bytes; the pages covered become PRP entries */
	devenv_dma_t list;      /* page for the PRP list when > 2 pages, else 0 */
	uint64_t list_off;      /* page-aligned */
};

/*
 * NVMe, brokered (DeviceMmio.brokeredNvmeControllerEnable, nvmeSubmit,
 * nvmeComplete, nvmeDisable; docs/device-manager.md "NVMe brokering"). The
 * kernel owns the queue protocol: submission and completion queues live in
 * buffers the driver never maps, the kernel writes every entry, CID, PRP,
 * doorbell and CC/AQA/ASQ/ACQ, parses every completion and refuses opcodes
 * outside its allow-lists. The driver writes no NVMe register at all.
 */

/* Queue memory (an SQ, a CQ or a PRP list page): a DMA buffer that is never
 * mapped. Free it with devenv_dma_free once the queue is deleted or the
 * controller disabled. */
int devenv_nvme_queue_alloc(struct devenv *env, uint64_t bytes, devenv_dma_t *h);
/* Disable (as devenv_nvme_disable), then program AQA/ASQ/ACQ for an admin
 * queue pair of `depth` entries and set CC.EN; the driver then waits for
 * CSTS.RDY. */
int devenv_nvme_enable(struct devenv *env, uint16_t depth, devenv_dma_t asq, devenv_dma_t acq);
/* With `shutdown`, a normal shutdown first (CC.SHN; the controller commits
 * its write cache); then CC.EN = 0 and a bounded wait for CSTS.RDY = 0.
 * Every queue and outstanding command is forgotten (their tokens go stale).
 * E_BUSY: the shutdown did not complete in time (disabled all the same);
 * E_TIMEOUT: RDY did not drop, the kernel reset the claim (every DMA handle
 * of the caps binding is stale then). */
int devenv_nvme_disable(struct devenv *env, int shutdown);
/*
 * Submit the 64-byte command `sqe` on queue `qid` (0: admin). The kernel
 * assigns CID and writes PRP1/PRP2 (and the PRP list at prp->list, which
 * must not be a mapped buffer) from prp (NULL: no data); Create I/O CQ/SQ
 * name their queue memory as prp->data (offset 0, length depth x entry
 * size). Out: the token for devenv_nvme_complete.
 */
int devenv_nvme_submit(struct devenv *env, uint16_t qid, const void *sqe,
    const struct devenv_prp *prp, uint64_t *token);
/* 0 and the completion (*status: CQE DW3 bits 31:17, *dw0: DW0), E_AGAIN
 * while pending, E_STALE for a token never issued, collected or reset. */
int devenv_nvme_complete(struct devenv *env, uint64_t token, uint16_t *status, uint32_t *dw0);
/* One finished command, as devenv_nvme_reap hands it back. */
struct devenv_nvme_done {
	uint64_t token;
	uint32_t dw0;
	uint16_t status;        /* CQE DW3 bits 31:17 */
};
#define DEVENV_NVME_REAP_MAX 64u
/* Every finished command of queue qid, collected in one call (each as
 * devenv_nvme_complete collects its token), at most max (1..64): the count
 * (0: none finished), E_BUSY while the controller is not enabled, E_RANGE
 * or E_INVAL for a bad qid or max. Commands a disable or reset forgot never
 * appear. */
int devenv_nvme_reap(struct devenv *env, uint16_t qid, struct devenv_nvme_done *out,
    unsigned max);

/* ---- Interrupt ---- */

/* Interrupt.wait: > 0 interrupts coalesced, 0 timed out, < 0 error
 * (E_STALE after a reset). timeout_ns 0 waits without a deadline. */
int devenv_irq_wait(struct devenv *env, uint64_t timeout_ns);
/* Interrupt.acknowledge (deferred EOI). */
int devenv_irq_ack(struct devenv *env);
/* Interrupt.info: nonzero when the route is an MSI-X vector (no ISR read). */
int devenv_irq_is_msix(struct devenv *env);

/* ---- time (the runtime's clock and sleep) ---- */

uint64_t devenv_now_ns(struct devenv *env);
void devenv_delay_us(struct devenv *env, uint32_t us);
/* A look at a queue with requests at the device: counted by the crash test
 * point (capenv.c), so a driver whose polls always find a completion, and so
 * never waits, still reaches it. Nothing else. */
void devenv_busy_look(struct devenv *env);

#endif
