/*
 * Claimed interrupt routes: the API drivers' interrupt caps and kernel code
 * use (docs/interrupts.md). A claim takes a vector from the device pool
 * (0x30-0xDF), programs the source (I/O APIC pin, MSI or one MSI-X entry) to
 * deliver it to the boot CPU, and returns a generation-tagged handle. Release
 * masks the source first, then frees the vector and bumps the generation:
 * the old handle is refused with E_STALE, and an interrupt that was already
 * in flight on the freed vector is counted as stale and runs no handler.
 * Pool exhaustion fails closed with E_NOSPC and a log line naming the limit.
 */
#ifndef CAPOS_APIC_IRQ_H
#define CAPOS_APIC_IRQ_H

#include <stdint.h>
#include "irq/route.h"

struct pci_func;
struct trap_frame;

typedef void (*irq_fn_t)(void *arg);

int irq_init(void);
int irq_route_claim_isa(uint8_t isa_irq, uint32_t owner, irq_fn_t fn, void *arg, irq_handle_t *h);
int irq_route_claim_gsi(uint32_t gsi, bool active_low, bool level, uint32_t owner, irq_fn_t fn,
			void *arg, irq_handle_t *h);
int irq_route_claim_msi(struct pci_func *f, uint32_t owner, irq_fn_t fn, void *arg, irq_handle_t *h);
int irq_route_claim_msix(struct pci_func *f, uint16_t index, uint32_t owner, irq_fn_t fn, void *arg,
			 irq_handle_t *h);
/* A pool vector for kernel use (IPIs, self-tests): no source is programmed; *vector says which. */
int irq_route_claim_kernel(uint32_t src, uint32_t owner, irq_fn_t fn, void *arg, irq_handle_t *h,
			   uint8_t *vector);
int irq_route_release(irq_handle_t h);
/* Copy of the live route (E_STALE when h is stale). */
int irq_route_info(irq_handle_t h, struct irq_route *out);

/* Scheduler tick: called from the LAPIC timer interrupt with the interrupted frame. */
void timer_set_tick_handler(void (*fn)(struct trap_frame *tf));

struct irq_stats {
	uint64_t delivered;	/* to a live route */
	uint64_t stale;		/* on a pool vector with no live route */
	uint32_t live;		/* routes claimed now */
	uint32_t pool_free;
	uint32_t exhausted;	/* claims refused: pool empty */
	uint32_t stale_refused;	/* stale handles refused */
};
void irq_get_stats(struct irq_stats *st);
/* Route table snapshot for the console: route i (0..IRQ_MAX_ROUTES-1); false when free. */
bool irq_route_at(uint32_t i, struct irq_route *out);

#endif
