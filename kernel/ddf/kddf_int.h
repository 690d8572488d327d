/*
 * kddf internals shared by the device-format files (kddf.c, kddf_nvme.c).
 *
 * kddf.c owns the tables and the one device-manager lock; a format file
 * reaches them only through the accessors below (kddf_int_ prefix), so the
 * records keep a single definition and kddf.c keeps its statics. Every
 * accessor expects the caller to hold the lock (kddf_int_lock), except the
 * lock calls themselves. Lock order is kddf's: kddf -> irq layer -> vmm.
 */
#ifndef CAPOS_KDDF_INT_H
#define CAPOS_KDDF_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/x86_64/apic_irq.h"
#include "ddf/kddf.h"

#define KDDF_NCLAIMS	16u
#define KDDF_NBUFFERS	256u	/* ddf_check_invariants recounts tables up to 256 */
#define KDDF_VQ_MAX	4u	/* queues with a brokered ring per claim */
#define KDDF_VQ_SLOTS	256u	/* slots tracked per queue */

struct pci_func;
struct kddf_nvme;

/* A DMA buffer's bounce pages: contiguous, from pmm, zeroed. Cookie = index + 1. */
struct kbuf {
	bool used, ring, mapped;
	uint8_t nvme_role;	/* kddf_nvme.c: 0 none, queue memory, or PRP list */
	uint64_t pa, npages;
};
/* One user mapping (a BAR window read-only, or a buffer read-write). */
struct kmap {
	bool used;
	uint32_t owner;
	uint64_t va, npages;
	uint32_t buf;		/* kbuf index + 1 for a buffer mapping, 0 for MMIO */
	bool share;		/* a DmaWindow in its holder (not the buffer owner's mapping) */
	bool orphan;		/* share whose buffer is being freed: the pages stay the holder's */
	uint64_t boff;		/* share: first page's offset in the buffer */
};
/* One claimed route: an MSI-X entry or the MSI message in the interrupt
 * layer (h), or a claimed function's INTx pin on a shared kddf line. */
struct kroute {
	bool used, in_service, user_masked;
	bool hw_masked;		/* MSI-X, MSI: what the source's mask was last set to */
	uint8_t storm;		/* MSI-X, MSI: deliveries since the last acknowledge */
	uint32_t storms;	/* MSI-X, MSI: times a storm masked the source */
	uint8_t kind;		/* enum ddf_irq_kind */
	uint8_t line;		/* DDF_IRQ_INTX: klines index */
	irq_handle_t h;		/* MSI-X and MSI only */
	ddf_handle ddf;		/* the ledger's route handle; 0 until kddf_irq_route returns */
	struct pci_func *f;
	uint16_t index;
	uint32_t claim;
};
/* A brokered virtqueue ring. */
struct kvq {
	uint64_t ring;		/* kbuf cookie of the ring, 0 = none */
	uint16_t size, avail_idx, used_seen;
	ddf_handle tok[KDDF_VQ_SLOTS];
};
/* Per claim slot: the PCI function, its format and its brokered queues. */
struct kdev {
	struct pci_func *f;
	uint8_t fmt;
	uint16_t qsel;
	struct kvq q[KDDF_VQ_MAX];
	struct kddf_nvme *nvme;	/* KDDF_FMT_NVME: kddf_nvme.c's state, NULL otherwise */
};

/* kddf_nvme.c hooks, called by kddf.c with the lock held. */
struct kddf_nvme *kddf_nvme_attach(uint32_t claim_index, uint32_t owner);
void kddf_nvme_drain(uint32_t claim_index);
void kddf_nvme_poll(uint32_t claim_index);
/* Tests (kddf_nvme_ktest.c), lock taken inside: the CQ head and phase, CSTS. */
void kddf_nvme_cq_head(uint32_t claim_index, uint16_t qid, uint16_t *head, uint8_t *phase);
uint32_t kddf_nvme_csts(uint32_t claim_index);

/* The lock every kddf_ API call takes (irqsave). */
uint64_t kddf_int_lock(void);
void kddf_int_unlock(uint64_t flags);

/* Locked accessors. NULL / 0 when the index or cookie names nothing live. */
struct kdev *kddf_int_kdev(uint32_t claim_index);
struct kbuf *kddf_int_kbuf(uint64_t buf_cookie);
/* Claim slot index of a live buffer handle (E_STALE when it is not live). */
int kddf_int_buffer_claim(ddf_handle buf, uint32_t *claim_index);
/* Device-visible address of byte `off` of a buffer (bounce pages are contiguous). */
uint64_t kddf_int_buf_addr(uint64_t buf_cookie, uint64_t off);
/* The raw register effects (the policy check is the caller's). */
uint32_t kddf_int_reg_read(uint32_t claim_index, uint8_t bar, uint64_t off, uint8_t width);
void kddf_int_reg_write(uint32_t claim_index, uint8_t bar, uint64_t off, uint8_t width,
    uint32_t v);

#endif
