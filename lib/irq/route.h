/*
 * Interrupt vector pool and claimed-route table, pure and host-testable.
 *
 * The pool hands out CPU vectors from a fixed window; when it is empty a
 * claim fails closed with E_NOSPC and changes nothing. A route is one claimed
 * interrupt source (an I/O APIC pin, an MSI, or one MSI-X table entry) bound
 * to one vector. Its handle carries the route's slot and generation: release
 * bumps the generation, so any later use of the old handle, and any lookup by
 * a stale handle, is refused with E_STALE.
 */
#ifndef CAPOS_IRQ_ROUTE_H
#define CAPOS_IRQ_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#define IRQ_MAX_ROUTES 192	/* more than the pool, so the pool runs out first */

enum irq_kind {
	IRQ_KIND_NONE = 0,
	IRQ_KIND_IOAPIC = 1,	/* src = GSI */
	IRQ_KIND_MSI = 2,	/* src = PCI BDF */
	IRQ_KIND_MSIX = 3,	/* src = PCI BDF << 16 | table index */
	IRQ_KIND_KERNEL = 4,	/* a kernel-internal vector (timer, IPI test) */
};

struct irq_pool {
	uint64_t used[4];	/* one bit per vector 0..255 */
	uint8_t first, last;	/* inclusive window */
	uint32_t nfree;
	uint32_t exhausted;	/* claims refused for lack of vectors */
};

struct irq_route {
	uint32_t gen;		/* odd while claimed, even while free */
	uint8_t kind;
	uint8_t vector;
	uint32_t src;
	uint32_t owner;		/* caller-chosen owner id (ledger holder) */
	uint64_t count;		/* interrupts delivered */
};

struct irq_routes {
	struct irq_route r[IRQ_MAX_ROUTES];
	uint32_t stale_refused;	/* uses of stale handles refused */
};

/* A handle: slot in bits 0..15, generation in bits 32..63; 0 is never valid. */
typedef uint64_t irq_handle_t;

int irq_pool_init(struct irq_pool *p, uint8_t first, uint8_t last);
/* A free vector, or E_NOSPC (counted in exhausted). */
int irq_pool_alloc(struct irq_pool *p);
/* Reserve a specific vector (E_BUSY when taken, E_RANGE outside the window). */
int irq_pool_reserve(struct irq_pool *p, uint8_t v);
int irq_pool_free(struct irq_pool *p, uint8_t v);
bool irq_pool_used(const struct irq_pool *p, uint8_t v);

void irq_routes_init(struct irq_routes *t);
/*
 * Claim a route for (kind, src): E_BUSY when that source is already claimed,
 * E_NOSPC when no vector or no slot is free (nothing changes then). On
 * success *h is the new handle and *vector the vector it was given.
 */
int irq_routes_claim(struct irq_routes *t, struct irq_pool *p, uint8_t kind, uint32_t src,
		     uint32_t owner, irq_handle_t *h, uint8_t *vector);
/* The live route of h, or NULL (and stale_refused counted) when h is stale. */
struct irq_route *irq_routes_get(struct irq_routes *t, irq_handle_t h);
/* Release: E_STALE for a stale or unknown handle; frees the vector. */
int irq_routes_release(struct irq_routes *t, struct irq_pool *p, irq_handle_t h);
/* The claimed route delivering on vector v, or NULL. */
struct irq_route *irq_routes_by_vector(struct irq_routes *t, uint8_t v, irq_handle_t *h);
uint32_t irq_routes_live(const struct irq_routes *t);

#endif
