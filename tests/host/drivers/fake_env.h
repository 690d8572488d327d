/*
 * TEST FIXTURE: a host implementation of user/drivers/devenv.h. DMA memory
 * is plain page-aligned heap memory; each buffer gets a fake device address
 * (a 4 GiB window above 2^43, never a host pointer) that only this file and
 * the device models know. The selected-write policy comes from the device
 * model; the environment refuses (E_PERM) plain writes to anything else,
 * and writes every address itself, as the kernel does. For NVMe it is the
 * broker (kernel/ddf/kddf_nvme.c's rules on the fixture's buffers): it owns
 * the queues, CIDs, PRPs, doorbells and CC/AQA/ASQ/ACQ, and parses the
 * completions; it does not model the kernel's ledger or claim reset. Time is virtual:
 * delays and interrupt waits advance a clock and tick the model, so
 * timeouts are deterministic and instant.
 */
#ifndef CAPOS_TESTS_FAKE_ENV_H
#define CAPOS_TESTS_FAKE_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "../../../user/drivers/devenv.h"

enum fake_policy {
	FAKE_RO = 0,            /* readable, writes refused */
	FAKE_RW = 1,            /* selected for writing */
	FAKE_ADDR = 2,          /* address register: brokered only */
};

struct fake_dev_ops {
	int (*mmio_read)(void *dev, unsigned bar, uint64_t off, unsigned w, uint32_t *v);
	void (*mmio_write)(void *dev, unsigned bar, uint64_t off, unsigned w, uint32_t v);
	int (*mmio_policy)(void *dev, unsigned bar, uint64_t off, unsigned w);
	void (*mmio_addr)(void *dev, unsigned bar, uint64_t off, uint64_t daddr);
	int (*port_read)(void *dev, uint64_t off, unsigned w, uint32_t *v);
	void (*port_write)(void *dev, uint64_t off, unsigned w, uint32_t v);
	int (*port_policy)(void *dev, uint64_t off, unsigned w);
	void (*port_pfn)(void *dev, uint64_t off, uint32_t pfn);
	void (*tick)(void *dev);
};

struct fake_env_stats {
	uint32_t refused_writes;        /* policy refusals */
	uint32_t refused_brokered;      /* brokered op with a bad window/handle */
	uint32_t bad_dma;               /* model touched an unmapped device address */
	uint32_t live_buffers;
	uint64_t used_bytes;
	uint32_t irq_waits, irq_acks;
	uint32_t irq_protocol_errors;   /* wait with an EOI owed, ack with none */
	uint32_t addr_writes;           /* addresses written by the environment */
	uint32_t bogus_cqe;             /* NVMe completions naming nothing in flight (ignored) */
	uint32_t nvme_completes;        /* devenv_nvme_complete calls (one token each) */
	uint32_t nvme_reaps;            /* devenv_nvme_reap calls (a batch each) */
};

struct devenv *fake_env_new(const struct fake_dev_ops *ops, void *dev);
void fake_env_free(struct devenv *env);
void fake_env_set_config(struct devenv *env, const uint8_t *cfg, size_t len);
void fake_env_set_bar(struct devenv *env, unsigned bar, uint64_t len);
void fake_env_set_ports(struct devenv *env, uint64_t len);
void fake_env_set_budget(struct devenv *env, uint64_t bytes);
void fake_env_set_msix(struct devenv *env, int msix);
/* Model side: host pointer for [daddr, daddr+len) inside one live buffer, or
 * NULL (counted in bad_dma). */
void *fake_env_translate(struct devenv *env, uint64_t daddr, uint64_t len);
void fake_env_raise_irq(struct devenv *env);
/* Invalidate the interrupt route (reset/revoke): waits fail with E_STALE. */
void fake_env_revoke_irq(struct devenv *env, int revoked);
uint64_t fake_env_now(struct devenv *env);
void fake_env_stats(struct devenv *env, struct fake_env_stats *out);

#endif
