/*
 * Building a process in steps (docs/processes.md, "Spawning"):
 * ProcessSpawner.create, ProcessBuilder.grant (at most RING_MAX_XFER caps
 * per call), ProcessBuilder.start. Typed calls over the generated stubs;
 * the code is in rpc.c.
 *
 * Each returns 0, RT_E_SPAWN(e) when the kernel answered SpawnError e, or
 * another rt_invoke error (transport, decoding, exception).
 */
#ifndef CAPOS_USER_SPAWN_H
#define CAPOS_USER_SPAWN_H

#include "capos.h"

#define RT_E_SPAWN_BASE		(-100000)	/* below every RT_E_EXCEPTION */
#define RT_E_SPAWN(e)		(RT_E_SPAWN_BASE - (int)(e))
#define RT_IS_SPAWN_ERROR(r)	((r) <= RT_E_SPAWN_BASE && (r) > RT_E_SPAWN_BASE - 0x10000)
#define RT_SPAWN_ERROR(r)	(RT_E_SPAWN_BASE - (r))

/* One cap for the new process, under the name it will see. */
struct rt_grant {
	const char *name;
	uint32_t len;
	struct ring_xfer x;	/* copy or move */
};

int rt_spawn_create(capid_t spawner, const char *name, uint32_t nlen, const char *binary,
		    uint32_t blen, capid_t *builder);
int rt_spawn_grant(capid_t builder, const struct rt_grant *g, uint32_t n);
int rt_spawn_start(capid_t builder, capid_t *handle);
/* ProcessSpawner.spawn of `binary` as `name` with no caps, in one call. */
int rt_spawn_bare(capid_t spawner, const char *name, const char *binary, capid_t *handle);

#endif
