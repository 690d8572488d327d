/*
 * Internal interface between the ring (ring.c) and endpoints (endpoint.c)
 * for the IPC fast path (docs/kernel-abi.md, "Fast path"). The rest of the
 * kernel uses the declarations in proc/proc.h.
 */
#ifndef CAPOS_CAP_IPC_H
#define CAPOS_CAP_IPC_H

#include <stdbool.h>
#include <stdint.h>
#include "abi/ring.h"

struct kobj;
struct proc;

/* Post a completion that carries no caps, written in place in p's CQ. */
void ring_post_short(struct proc *p, uint64_t user_data, int32_t result, int32_t detail, uint32_t len,
		     uint16_t method, uint32_t token);

/* RECV with RING_RECV_REPLY, validated but for the token: reply, then receive (endpoint.c). */
int endpoint_reply_recv(struct proc *p, struct kobj *o, const struct ring_sqe *s, int32_t *detail);

/*
 * Try submission s (already copied out of p's SQ) on the fast path: a CALL
 * without transfers that meets a posted RECV, or a RETURN without transfers
 * to a live caller. True when it was carried out (its completions are
 * posted); false when any precondition does not hold, with nothing changed,
 * so the slow path then decodes s from scratch and reports any error.
 */
bool endpoint_fast(struct proc *p, const struct ring_sqe *s);

#endif
