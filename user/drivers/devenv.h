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
 * DMABuffer.submitDescriptor, NVMe format: the kernel copies the 64-byte
 * command `sqe` into the submission queue slot (sq + sq_off) and writes
 * PRP1/PRP2 itself: PRP1 = first data page (+ offset), PRP2 = the second page
 * when the transfer touches two pages, or the PRP list it writes at
 * (list + list_off) when it touches more. Whatever the driver put in the PRP
 * fields of `sqe` is overwritten. A list must fit in one page (512 entries).
 */
int devenv_nvme_sqe(struct devenv *env, devenv_dma_t sq, uint64_t sq_off, const void *sqe,
    const struct devenv_prp *prp);

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

#endif
