/*
 * The caps binding of the driver environment (devenv.h): a userspace driver
 * process implements every call of devenv.h over the device caps the boot
 * manifest granted it (schema/device.capnp: DeviceMmio, Interrupt, DMAPool,
 * DMABuffer), served by the kernel device manager (kernel/ddf). The driver
 * cores (virtio, virtio-blk, NVMe) run unchanged on it. docs/drivers.md
 * "The caps binding".
 *
 * What lives here: bootstrap lookup, the config-space snapshot, register
 * access (reads through the read-only BAR mapping when there is one, writes
 * always brokered), DMA buffers as a small generation-tagged handle table,
 * interrupts, time. The format calls (devenv_virtq_desc, devenv_nvme_sqe and
 * the NVMe brokered calls) are implemented next to each kernel format by the
 * virtio and NVMe bindings, with capenv_dma_cap/capenv_call below.
 *
 * Handles: a devenv_dma_t is (generation << 32 | slot + 1); 0 is never
 * valid; freeing a buffer or capenv_reset bumps the slot's generation, so an
 * old handle is refused (E_STALE) and never names a newer buffer.
 *
 * Single-threaded, like the runtime: one devenv per process.
 */
#ifndef CAPOS_DRIVERS_CAPENV_H
#define CAPOS_DRIVERS_CAPENV_H

#include <stdbool.h>
#include <stdint.h>

#include "capos.h"
#include "captime.h"
#include "devenv.h"

#define CAPENV_BARS 6u
#define CAPENV_DMA_SLOTS 64u
#define CAPENV_CONFIG_BYTES 256u
#define CAPENV_CRASH_AT 60u             /* device waits before a `-crash` driver faults */
#define CAPENV_CRASH_LOOKS 2000u        /* or busy-queue looks (capenv.c crash_point) */

struct capenv_bar {
	capid_t cap;                    /* DeviceMmio of this BAR, 0 when not granted */
	uint64_t length;                /* from MmioInfo */
	volatile uint8_t *va;           /* read-only mapping, NULL for a port window */
	uint32_t map_gen;
};

struct capenv_dma {
	capid_t cap;                    /* DMABuffer, 0 = slot free */
	uint32_t gen;                   /* bumped on free and reset; never 0 */
	uint64_t size;
	void *cpu;                      /* NULL for a kernel-owned ring (never mapped) */
};

struct devenv {
	struct capenv_bar bar[CAPENV_BARS];
	int port_bar;                   /* the BAR that is a port window (not mappable), -1 none */
	uint16_t vendor, device;
	capid_t irq, pool, clock;
	bool irq_msix;
	bool irq_owed;                  /* a wait fired and is not acknowledged yet */
	uint32_t irq_gen;               /* generation of the last fired wait */
	struct capenv_dma dma[CAPENV_DMA_SLOTS];
	uint8_t config[CAPENV_CONFIG_BYTES];
	uint32_t config_len;            /* 0: DeviceMmio.config refused */
	struct captime time;            /* virtual without a WallClock grant */
	uint32_t crash_at, waits, looks; /* the crash test point (capenv.c) */
};

/*
 * Looks up the bootstrap caps `mmio` (DeviceMmio, required), `irq`
 * (Interrupt, NULL or absent: polling) and `dma` (DMAPool, required), and
 * the optional WallClock `clock` (without it time is virtual: every wait
 * advances it by what it waited, so deadlines still end). Reads the MmioInfo
 * of the BAR, maps a memory BAR read-only, snapshots the config space.
 * E_NOENT when a required cap is missing, else the first failing call.
 */
int capenv_open(struct devenv *env, const char *mmio, const char *irq, const char *dma);
/*
 * A block driver's start: the standard grants `dma`, `mmio` and, optional,
 * `irq` (polling without it), opened with capenv_open. On failure prints
 * `WHO: error=no-dma-pool|no-mmio|capenv-open err=E` and returns < 0;
 * *irq says whether an Interrupt was granted.
 */
int capenv_open_driver(struct devenv *env, const char *who, bool *irq);
/* A further DeviceMmio grant (another BAR of the same function). */
int capenv_add_mmio(struct devenv *env, const char *name);
/* The DeviceMmio cap of `bar`, 0 when not granted. */
capid_t capenv_mmio_cap(struct devenv *env, unsigned bar);
/* The DMABuffer cap of a live handle, 0 when stale or invalid. */
capid_t capenv_dma_cap(struct devenv *env, devenv_dma_t h);
/* DMABuffer.share of [off, off + len) of mapped buffer h: the DmaWindow cap in *out
 * (docs/device-manager.md "Shared windows"). */
int capenv_dma_share(struct devenv *env, devenv_dma_t h, uint64_t off, uint64_t len,
    capid_t *out);
/* A DMABuffer allocated but never mapped (kernel-owned rings). */
int capenv_dma_alloc_ring(struct devenv *env, uint64_t bytes, enum devenv_dma_dir dir,
    devenv_dma_t *h);
/* DeviceMmio.reset on the first granted BAR's cap; every DMA handle is
 * stale afterwards (the kernel revoked the buffers) and BAR mappings are
 * taken again. */
int capenv_reset(struct devenv *env);
/* Release every cap the binding holds (a driver exiting cleanly). */
void capenv_close(struct devenv *env);

/*
 * One call for the bindings: the caller has built the params with
 * X_init_root(rt_msg_begin(), ...); capenv_call frames them, calls `cap`
 * with the sideband caps x[0..nx) and reads the result root into *root
 * (valid until the next capenv_call). < 0 on a transport failure or an
 * exception (E_IO), else 0.
 */
int capenv_call(capid_t cap, uint16_t method, const struct ring_xfer *x, uint32_t nx,
    struct capnp_struct *root);
/* The same, with the completion (received caps) and the message the root
 * is read from supplied by the caller. */
int capenv_call_cqe(capid_t cap, uint16_t method, const struct ring_xfer *x, uint32_t nx,
    struct capnp_struct *root, struct ring_cqe *c, struct capnp_msg *m);
/* ExceptionType -> base/err.h (disconnected -> E_DISCONNECTED, ...). */
int capenv_exception_err(int type);
/* The result struct in pointer 0 of a result root (every device result is). */
int capenv_result(const struct capnp_struct *root, struct capnp_struct *out);
/* DeviceError ordinal -> base/err.h code. */
int capenv_device_error(uint16_t de);
/* A DeviceResult (ok | error) -> 0 or the code. */
int capenv_device_result(const struct capnp_struct *root);

#endif
