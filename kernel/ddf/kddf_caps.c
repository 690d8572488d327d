/*
 * The device caps a driver process holds: DeviceMmio, Interrupt, DMAPool,
 * DMABuffer (schema/device.capnp) and HardwareAuditLog. Each is a thin
 * decoder over one kddf_ operation (docs/device-manager.md): decode the
 * params completely, call the ledger with the caller's pid as owner (defence
 * in depth behind the cap check), encode the result. Domain refusals are
 * DeviceError values in the result unions, never exceptions.
 *
 * Grants: when ProcessSpawner starts a service, kddf_spawn_grants reads the
 * boot manifest itself (the same module init validated), finds that
 * service's device grants, makes one claim per named PCI function for the
 * new pid and inserts the caps under their grant names. A claim that fails
 * (absent, already claimed) grants nothing for that function and says so
 * (`capos: ddf-grant-refused`): fail closed.
 *
 * Interrupt.wait parks the call when nothing is pending; kddf_caps_tick
 * (from the scheduler tick) completes it once the route fired, with
 * `revoked` when the route was dropped or the device reset, or `timedOut`.
 */
#include "ddf/kddf.h"
#include "boot/cmdline.h"
#include "boot/mb2.h"
#include "capnp/capnp.h"
#include "kernel.h"
#include "manifest/manifest.h"
#include "mm/heap.h"
#include "proc/proc.h"
#include "sched/sched.h"
#include "schema/device.capnp.h"
#include "schema/exception.capnp.h"
#include "smp/percpu.h"

enum kcap_kind { KC_MMIO = 1, KC_IRQ, KC_POOL, KC_BUF, KC_AUDIT, KC_SHARE };

struct kcap {
	struct kobj k;
	uint8_t kind;
	uint32_t owner;
	uint32_t claim_idx;
	ddf_handle claim, h;
	uint8_t bar;		/* KC_MMIO: the granted BAR (re-granted after a reset) */
	uint16_t index;		/* KC_IRQ: the MSI-X index (re-routed after a reset) */
	uint8_t irq_kind;	/* KC_IRQ: enum ddf_irq_kind (re-routed after a reset) */
	bool lwait;		/* the ledger has this route's waiter recorded */
	bool park_logged;	/* the first parked wait of this cap was logged */
	struct call *waiter;	/* parked Interrupt.wait */
	struct kcap *next;	/* all kcaps with a waiter */
	struct kcap *all_next;	/* every live kcap (DeviceMmio.reset walks a claim's) */
};

#define KDDF_CLAIM_SLOTS 16u
static uint32_t claim_caps[KDDF_CLAIM_SLOTS];	/* live kcaps per claim slot */
static struct kcap *waiters;
static struct kcap *all_kcaps;

static uint64_t arena[RING_MAX_MSG / 8 / 4];
static uint64_t outbuf[RING_MAX_MSG / 8 / 4];
static struct capnp_builder B;
static struct capnp_msg M;

static struct capnp_builder *
builder(void)
{
	capnp_builder_init(&B, arena, sizeof arena, 0);
	return &B;
}

static void
reply(struct call *c, struct xfer *x, uint32_t nx)
{
	int n = capnp_builder_write(&B, outbuf, sizeof outbuf);
	if (n < 0) {
		xfer_rollback(x, nx);
		call_complete_exception(c, ExceptionType_failed, "result too large");
		return;
	}
	call_complete(c, n, 0, outbuf, (uint32_t)n, x, nx);
}

/* Params root; an empty params buffer reads as a struct of defaults (methods without params). */
static int
params(struct call *c, struct capnp_struct *root)
{
	if (c->params_len == 0) {
		memset(root, 0, sizeof *root);	/* the reader bounds every field by its size */
		return 0;
	}
	if (capnp_msg_init(&M, c->params, c->params_len) < 0 || capnp_msg_root(&M, root) < 0) {
		call_complete_exception(c, ExceptionType_invalidArgument, "params do not decode");
		return E_CORRUPT;
	}
	return 0;
}

static void
unimplemented(struct call *c)
{
	call_complete_exception(c, ExceptionType_unimplemented, "unknown method ordinal");
}

static uint32_t
caller_pid(struct call *c)
{
	return c->caller ? c->caller->pid : 0;
}

static struct kcap *
kcap_new(uint8_t kind, uint32_t owner, uint32_t claim_idx, ddf_handle claim, ddf_handle h)
{
	static const uint64_t iid[] = { 0, DeviceMmio_TYPE_ID, Interrupt_TYPE_ID, DMAPool_TYPE_ID,
		DMABuffer_TYPE_ID, HardwareAuditLog_TYPE_ID, DmaWindow_TYPE_ID };
	struct kcap *k = kmalloc(sizeof *k);
	if (!k)
		return NULL;
	memset(k, 0, sizeof *k);
	k->k = (struct kobj){ iid[kind], 1, 1, KO_DDF, false };
	k->kind = kind;
	k->owner = owner;
	k->claim_idx = claim_idx;
	k->claim = claim;
	k->h = h;
	if (claim_idx < KDDF_CLAIM_SLOTS)
		claim_caps[claim_idx]++;
	k->all_next = all_kcaps;
	all_kcaps = k;
	return k;
}

/* MapResult { mapping | error }, then the reply: the three map methods. */
static void
map_reply(struct call *c, MapResult_B r, int e, uint64_t va, uint64_t len, uint32_t gen)
{
	UserMapping_B m;

	if (e) {
		MapResult_set_error(r, ddf_device_error(e));
	} else {
		MapResult_init_mapping(r, &m);
		UserMapping_set_address(m, va);
		UserMapping_set_length(m, len);
		UserMapping_set_generation(m, gen);
	}
	reply(c, NULL, 0);
}

/* DeviceResult { ok | error } */
static void
dev_result(struct call *c, DeviceResult_B r, int e)
{
	if (e)
		DeviceResult_set_error(r, ddf_device_error(e));
	else
		DeviceResult_set_ok(r);
	reply(c, NULL, 0);
}

static void
pci_set(PciAddress_B a, const struct ddf_pci_addr *addr)
{
	PciAddress_set_segment(a, addr->segment);
	PciAddress_set_bus(a, addr->bus);
	PciAddress_set_device(a, addr->device);
	PciAddress_set_function(a, addr->function);
}

static void waiter_unlink(struct kcap *k);
static void wait_reply(struct call *c, int n, ddf_handle route);
static int xfer_buffer(struct call *c, int got, uint32_t xi, ddf_handle *h);

/*
 * After DeviceMmio.reset the claim lives on under a new generation: every
 * DeviceMmio and Interrupt cap of it is granted again (same BAR, same MSI-X
 * index) under a new handle, a parked Interrupt.wait completes with
 * `revoked` (a stale interrupt wakes nobody), DMABuffer caps stay stale.
 */
static void
reset_regrant(uint32_t ci, uint32_t owner, ddf_handle claim)
{
	const struct ddf_claim *cl = ddf_claim_get(kddf_ledger(), claim);
	for (struct kcap *k = all_kcaps; cl && k; k = k->all_next) {
		ddf_handle h = 0;
		if (k->claim_idx != ci || k->owner != owner)
			continue;
		if (k->waiter) {
			struct call *c = k->waiter;
			waiter_unlink(k);
			wait_reply(c, E_STALE, k->h);
		}
		k->lwait = false;
		k->claim = claim;
		if (k->kind == KC_MMIO && kddf_mmio_grant(owner, claim, k->bar, 0,
		    k->bar < DDF_MAX_BARS ? cl->fn.bar[k->bar].size : 0, &h) == 0)
			k->h = h;
		else if (k->kind == KC_IRQ && kddf_irq_route(owner, claim, k->irq_kind, k->index, &h) == 0)
			k->h = h;
	}
}

/* ---- DeviceMmio ---- */

static void nvme_call(struct kcap *k, struct call *c, struct capnp_struct root, uint32_t pid);
static void nvme_reap_call(struct kcap *k, struct call *c, struct capnp_struct root, uint32_t pid);

static void
mmio_call(struct kcap *k, struct call *c)
{
	struct capnp_struct root;
	uint32_t pid = caller_pid(c), v = 0;
	int e;

	if (params(c, &root) < 0)
		return;
	switch (c->method) {
	case DeviceMmio_map_ORDINAL: {
		DeviceMmio_map_Results_B res;
		MapResult_B r;
		uint64_t va = 0;
		uint32_t g = 0;
		e = kddf_mmio_map(pid, k->h, &va, &g);
		struct kddf_info in = { 0 };
		if (!e)
			(void)kddf_info(pid, k->h, &in);	/* the window: page-rounded length */
		DeviceMmio_map_Results_init_root(builder(), &res);
		DeviceMmio_map_Results_init_result(res, &r);
		return map_reply(c, r, e, va, in.length, g);
	}
	case DeviceMmio_unmap_ORDINAL: {
		DeviceMmio_unmap_Params_R p = { root };
		DeviceMmio_unmap_Results_B res;
		DeviceResult_B r;
		e = kddf_mmio_unmap(pid, k->h, DeviceMmio_unmap_Params_get_generation(p));
		DeviceMmio_unmap_Results_init_root(builder(), &res);
		DeviceMmio_unmap_Results_init_result(res, &r);
		return dev_result(c, r, e);
	}
	case DeviceMmio_read32_ORDINAL:
	case DeviceMmio_read_ORDINAL: {
		DeviceMmio_read_Params_R p = { root };
		DeviceMmio_read_Results_B res;	/* read32 and read results share one layout */
		MmioReadResult_B r;
		uint8_t w = c->method == DeviceMmio_read_ORDINAL ? DeviceMmio_read_Params_get_width(p) : 4;
		e = kddf_mmio_read(pid, k->h, DeviceMmio_read_Params_get_offset(p), w, &v);
		DeviceMmio_read_Results_init_root(builder(), &res);
		DeviceMmio_read_Results_init_result(res, &r);
		if (e)
			MmioReadResult_set_error(r, ddf_device_error(e));
		else
			MmioReadResult_set_value(r, v);
		return reply(c, NULL, 0);
	}
	case DeviceMmio_write32_ORDINAL: {
		DeviceMmio_write32_Params_R p = { root };
		DeviceMmio_write32_Results_B res;
		DeviceResult_B r;
		e = kddf_mmio_write(pid, k->h, DeviceMmio_write32_Params_get_offset(p), 4,
		    DeviceMmio_write32_Params_get_value(p));
		DeviceMmio_write32_Results_init_root(builder(), &res);
		DeviceMmio_write32_Results_init_result(res, &r);
		return dev_result(c, r, e);
	}
	case DeviceMmio_write_ORDINAL: {
		DeviceMmio_write_Params_R p = { root };
		DeviceMmio_write_Results_B res;
		DeviceResult_B r;
		e = kddf_mmio_write(pid, k->h, DeviceMmio_write_Params_get_offset(p),
		    DeviceMmio_write_Params_get_width(p), DeviceMmio_write_Params_get_value(p));
		DeviceMmio_write_Results_init_root(builder(), &res);
		DeviceMmio_write_Results_init_result(res, &r);
		return dev_result(c, r, e);
	}
	case DeviceMmio_brokeredQueuePfn_ORDINAL: {
		DeviceMmio_brokeredQueuePfn_Params_R p = { root };
		DeviceMmio_brokeredQueuePfn_Results_B res;
		DeviceResult_B r;
		uint32_t ci;
		e = E_INVAL;
		if (DeviceMmio_brokeredQueuePfn_Params_get_buffer(p, &ci) == 0 && ci < c->nxfer &&
		    c->x[ci].obj && c->x[ci].obj->type == KO_DDF &&
		    ((struct kcap *)c->x[ci].obj)->kind == KC_BUF)
			e = kddf_mmio_brokered_pfn(pid, k->h,
			    DeviceMmio_brokeredQueuePfn_Params_get_offset(p),
			    ((struct kcap *)c->x[ci].obj)->h);
		/* the transferred buffer cap is released again when the call is freed */
		DeviceMmio_brokeredQueuePfn_Results_init_root(builder(), &res);
		DeviceMmio_brokeredQueuePfn_Results_init_result(res, &r);
		return dev_result(c, r, e);
	}
	case DeviceMmio_brokeredQueueBase_ORDINAL: {
		DeviceMmio_brokeredQueueBase_Params_R p = { root };
		DeviceMmio_brokeredQueueBase_Results_B res;
		DeviceResult_B r;
		uint32_t xi = 0;
		ddf_handle b = 0;
		e = xfer_buffer(c, DeviceMmio_brokeredQueueBase_Params_get_buffer(p, &xi), xi, &b);
		if (!e)
			e = b ? kddf_mmio_brokered_addr(pid, k->h,
			    DeviceMmio_brokeredQueueBase_Params_get_offset(p), b,
			    DeviceMmio_brokeredQueueBase_Params_get_bufferOffset(p)) : E_INVAL;
		DeviceMmio_brokeredQueueBase_Results_init_root(builder(), &res);
		DeviceMmio_brokeredQueueBase_Results_init_result(res, &r);
		return dev_result(c, r, e);
	}
	case DeviceMmio_config_ORDINAL: {
		static uint8_t cfg[256];
		DeviceMmio_config_Results_B res;
		ConfigResult_B r;
		e = kddf_mmio_config(pid, k->h, cfg);
		DeviceMmio_config_Results_init_root(builder(), &res);
		DeviceMmio_config_Results_init_result(res, &r);
		if (e)
			ConfigResult_set_error(r, ddf_device_error(e));
		else
			ConfigResult_set_data(r, cfg, sizeof cfg);
		return reply(c, NULL, 0);
	}
	case DeviceMmio_reset_ORDINAL: {
		DeviceMmio_reset_Results_B res;
		DeviceResult_B r;
		ddf_handle claim = 0;
		e = kddf_mmio_reset(pid, k->h, &claim);
		if (!e)
			reset_regrant(k->claim_idx, pid, claim);
		DeviceMmio_reset_Results_init_root(builder(), &res);
		DeviceMmio_reset_Results_init_result(res, &r);
		return dev_result(c, r, e);
	}
	case DeviceMmio_info_ORDINAL: {
		DeviceMmio_info_Results_B res;
		MmioInfo_B m;
		PciAddress_B a;
		struct kddf_info in;
		(void)kddf_info(pid, k->h, &in);	/* a stale window reports zeros */
		DeviceMmio_info_Results_init_root(builder(), &res);
		DeviceMmio_info_Results_init_info(res, &m);
		MmioInfo_init_device(m, &a);
		pci_set(a, &in.addr);
		MmioInfo_set_vendorId(m, in.vendor);
		MmioInfo_set_deviceId(m, in.device);
		MmioInfo_set_bar(m, in.bar);
		MmioInfo_set_length(m, in.length);
		MmioInfo_set_generation(m, in.gen);
		MmioInfo_set_writePolicy(m, in.label, strlen(in.label));	/* NUL-terminated */
		return reply(c, NULL, 0);
	}
	case DeviceMmio_brokeredNvmeControllerEnable_ORDINAL:
	case DeviceMmio_nvmeSubmit_ORDINAL:
	case DeviceMmio_nvmeComplete_ORDINAL:
	case DeviceMmio_nvmeDisable_ORDINAL:
		return nvme_call(k, c, root, pid);
	case DeviceMmio_nvmeReap_ORDINAL:
		return nvme_reap_call(k, c, root, pid);
	}
	unimplemented(c);
}

/* The DMABuffer cap a cap field named (`got`: its getter's result, xi its index),
 * 0 for a null field, or E_INVAL. */
static int
xfer_buffer(struct call *c, int got, uint32_t xi, ddf_handle *h)
{
	*h = 0;
	if (got == E_NOENT)
		return 0;	/* a null cap pointer: no buffer */
	if (got < 0)
		return E_INVAL;
	if (xi >= c->nxfer || !c->x[xi].obj || c->x[xi].obj->type != KO_DDF ||
	    ((struct kcap *)c->x[xi].obj)->kind != KC_BUF)
		return E_INVAL;
	*h = ((struct kcap *)c->x[xi].obj)->h;
	return 0;
}

/* DeviceMmio's NVMe methods (kddf_nvme.c, docs/device-manager.md "NVMe brokering"). */
static void
nvme_call(struct kcap *k, struct call *c, struct capnp_struct root, uint32_t pid)
{
	int e;
	uint32_t xi = 0, li = 0;
	ddf_handle a = 0, b = 0;
	if (c->method == DeviceMmio_brokeredNvmeControllerEnable_ORDINAL) {
		DeviceMmio_brokeredNvmeControllerEnable_Params_R p = { root };
		DeviceMmio_brokeredNvmeControllerEnable_Results_B res;
		DeviceResult_B r;
		int g1 = DeviceMmio_brokeredNvmeControllerEnable_Params_get_submissionQueue(p, &xi);
		int g2 = DeviceMmio_brokeredNvmeControllerEnable_Params_get_completionQueue(p, &li);
		e = xfer_buffer(c, g1, xi, &a);
		if (!e)
			e = xfer_buffer(c, g2, li, &b);
		if (!e)
			e = a && b ? kddf_nvme_enable(pid, k->claim_idx,
			    DeviceMmio_brokeredNvmeControllerEnable_Params_get_adminQueueDepth(p), a, b) :
			    E_INVAL;
		DeviceMmio_brokeredNvmeControllerEnable_Results_init_root(builder(), &res);
		DeviceMmio_brokeredNvmeControllerEnable_Results_init_result(res, &r);
		return dev_result(c, r, e);
	}
	if (c->method == DeviceMmio_nvmeDisable_ORDINAL) {
		DeviceMmio_nvmeDisable_Params_R p = { root };
		DeviceMmio_nvmeDisable_Results_B res;
		DeviceResult_B r;
		e = kddf_nvme_disable(pid, k->claim_idx, DeviceMmio_nvmeDisable_Params_get_shutdown(p));
		DeviceMmio_nvmeDisable_Results_init_root(builder(), &res);
		DeviceMmio_nvmeDisable_Results_init_result(res, &r);
		return dev_result(c, r, e);
	}
	if (c->method == DeviceMmio_nvmeSubmit_ORDINAL) {
		DeviceMmio_nvmeSubmit_Params_R p = { root };
		DeviceMmio_nvmeSubmit_Results_B res;
		DmaSubmitResult_B r;
		struct capnp_data cmd = { 0 };
		uint64_t tok = 0;
		int g1 = DeviceMmio_nvmeSubmit_Params_get_data(p, &xi);
		int g2 = DeviceMmio_nvmeSubmit_Params_get_prpList(p, &li);
		e = DeviceMmio_nvmeSubmit_Params_get_command(p, &cmd) < 0 ? E_INVAL : 0;
		if (!e)
			e = xfer_buffer(c, g1, xi, &a);
		if (!e)
			e = xfer_buffer(c, g2, li, &b);
		if (!e)
			e = kddf_nvme_submit(pid, k->claim_idx, DeviceMmio_nvmeSubmit_Params_get_queue(p),
			    cmd.ptr, cmd.len, a, DeviceMmio_nvmeSubmit_Params_get_offset(p),
			    DeviceMmio_nvmeSubmit_Params_get_length(p), b,
			    DeviceMmio_nvmeSubmit_Params_get_prpListOffset(p), &tok);
		DeviceMmio_nvmeSubmit_Results_init_root(builder(), &res);
		DeviceMmio_nvmeSubmit_Results_init_result(res, &r);
		if (e)
			DmaSubmitResult_set_error(r, ddf_device_error(e));
		else
			DmaSubmitResult_set_token(r, tok);
		return reply(c, NULL, 0);
	}
	DeviceMmio_nvmeComplete_Params_R p = { root };
	DeviceMmio_nvmeComplete_Results_B res;
	NvmeCompleteResult_B r;
	NvmeCompletion_B done;
	uint16_t status = 0;
	uint32_t dw0 = 0;
	e = kddf_nvme_complete(pid, k->claim_idx, DeviceMmio_nvmeComplete_Params_get_token(p),
	    &status, &dw0);
	DeviceMmio_nvmeComplete_Results_init_root(builder(), &res);
	DeviceMmio_nvmeComplete_Results_init_result(res, &r);
	if (e == E_AGAIN) {
		NvmeCompleteResult_set_pending(r);
	} else if (e) {
		NvmeCompleteResult_set_error(r, ddf_device_error(e));
	} else {
		NvmeCompleteResult_init_completed(r, &done);
		NvmeCompletion_set_status(done, status);
		NvmeCompletion_set_result(done, dw0);
	}
	reply(c, NULL, 0);
}

/* nvmeReap's reply with n completions (the builder is left holding it). */
static void
reap_build(const struct kddf_nvme_done *d, int n)
{
	DeviceMmio_nvmeReap_Results_B res;
	NvmeReapResult_B r;
	struct capnp_blist l;
	DeviceMmio_nvmeReap_Results_init_root(builder(), &res);
	DeviceMmio_nvmeReap_Results_init_result(res, &r);
	if (n < 0) {
		NvmeReapResult_set_error(r, ddf_device_error(n));
		return;
	}
	NvmeReapResult_init_completions(r, (uint32_t)n, &l);
	for (int i = 0; i < n; i++) {
		NvmeDone_B e;
		NvmeDone_blist_get(&l, (uint32_t)i, &e);
		NvmeDone_set_token(e, d[i].token);
		NvmeDone_set_status(e, d[i].status);
		NvmeDone_set_result(e, d[i].dw0);
	}
}

/*
 * How many completions a result buffer of `room` bytes carries, measured on
 * the encoder itself (the reply grows by one list element per completion):
 * the kernel collects no more than that, so none is lost to a reply that
 * does not fit (call_complete would refuse it whole).
 */
static uint32_t
reap_room(uint32_t room)
{
	static const struct kddf_nvme_done z[2];
	static int one, two;
	if (!one) {
		reap_build(z, 1);
		one = capnp_builder_write(&B, outbuf, sizeof outbuf);
		reap_build(z, 2);
		two = capnp_builder_write(&B, outbuf, sizeof outbuf);
	}
	if (one <= 0 || two <= one || room < (uint32_t)one)
		return 0;
	return 1u + (room - (uint32_t)one) / (uint32_t)(two - one);
}

static void
nvme_reap_call(struct kcap *k, struct call *c, struct capnp_struct root, uint32_t pid)
{
	static struct kddf_nvme_done done[KDDF_NVME_REAP_MAX];
	DeviceMmio_nvmeReap_Params_R p = { root };
	uint32_t max = DeviceMmio_nvmeReap_Params_get_maxCompletions(p);
	uint32_t fit = reap_room(c->result_len);
	int n;
	if (max && max <= KDDF_NVME_REAP_MAX && fit == 0)
		n = E_RANGE;	/* not even one completion would reach the caller */
	else		/* a max of 0 or over the bound is refused there as it is */
		n = kddf_nvme_reap(pid, k->claim_idx, DeviceMmio_nvmeReap_Params_get_queue(p),
		    max && max <= KDDF_NVME_REAP_MAX && fit < max ? fit : max, done);
	reap_build(done, n);
	reply(c, NULL, 0);
}

/* ---- Interrupt ---- */

/* The manifest's InterruptClaim.kind is handed to the ledger as is. */
_Static_assert((int)MF_IRQ_MSIX == (int)DDF_IRQ_MSIX && (int)MF_IRQ_MSI == (int)DDF_IRQ_MSI &&
    (int)MF_IRQ_INTX == (int)DDF_IRQ_INTX, "manifest and ledger interrupt kinds differ");

static void
wait_reply(struct call *c, int n, ddf_handle route)
{
	Interrupt_wait_Results_B res;
	InterruptWaitResult_B r;
	InterruptFired_B f;
	Interrupt_wait_Results_init_root(builder(), &res);
	Interrupt_wait_Results_init_result(res, &r);
	if (n > 0) {
		InterruptWaitResult_init_fired(r, &f);
		InterruptFired_set_count(f, (uint32_t)n);
		InterruptFired_set_generation(f, ddf_handle_gen(route));
	} else if (n == 0) {
		InterruptWaitResult_set_timedOut(r);
	} else {
		InterruptWaitResult_set_error(r, n == E_STALE ? DDF_DE_REVOKED : ddf_device_error(n));
	}
	reply(c, NULL, 0);
}

static void
waiter_unlink(struct kcap *k)
{
	for (struct kcap **pp = &waiters; *pp; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	k->waiter = NULL;
}

static void
irq_call(struct kcap *k, struct call *c)
{
	struct capnp_struct root;
	uint32_t pid = caller_pid(c);
	int e;

	if (params(c, &root) < 0)
		return;
	switch (c->method) {
	case Interrupt_wait_ORDINAL: {
		Interrupt_wait_Params_R p = { root };
		uint64_t t = Interrupt_wait_Params_get_timeoutNs(p);
		if (k->waiter)
			return wait_reply(c, E_BUSY, k->h);
		/* A wait that timed out left the ledger's waiter in place: keep using it. */
		int n = k->lwait ? kddf_irq_poll(pid, k->h) : kddf_irq_wait(pid, k->h);
		if (n != 0) {
			k->lwait = false;
			return wait_reply(c, n, k->h);
		}
		k->lwait = true;
		/*
		 * Logged once per cap: a driver that waits for every completion
		 * parks once per request, and a serial line per request cost
		 * virtio-blk ~15 % of its 128 KiB reads under TCG (each byte
		 * is two port exits; docs/bench-blk.md "Where a QD1 request's
		 * wall time goes").
		 */
		if (!k->park_logged) {
			k->park_logged = true;
			kprintf("capos: ddf-irq-parked pid=%u route_gen=%u\n", pid,
			    ddf_handle_gen(k->h));
		}
		c->state = CALL_PARKED;
		c->deadline = t ? sched_ticks + t / NS_PER_TICK + 1 : 0;
		k->waiter = c;
		k->next = waiters;
		waiters = k;
		return;
	}
	case Interrupt_acknowledge_ORDINAL: {
		Interrupt_acknowledge_Params_R p = { root };
		Interrupt_acknowledge_Results_B res;
		DeviceResult_B r;
		e = Interrupt_acknowledge_Params_get_generation(p) == ddf_handle_gen(k->h) ?
		    kddf_irq_ack(pid, k->h) : E_STALE;
		Interrupt_acknowledge_Results_init_root(builder(), &res);
		Interrupt_acknowledge_Results_init_result(res, &r);
		return dev_result(c, r, e);
	}
	case Interrupt_mask_ORDINAL:
	case Interrupt_unmask_ORDINAL: {
		Interrupt_mask_Results_B res;	/* mask and unmask results share one layout */
		DeviceResult_B r;
		e = kddf_irq_mask(pid, k->h, c->method == Interrupt_mask_ORDINAL);
		Interrupt_mask_Results_init_root(builder(), &res);
		Interrupt_mask_Results_init_result(res, &r);
		return dev_result(c, r, e);
	}
	case Interrupt_info_ORDINAL: {
		Interrupt_info_Results_B res;
		InterruptInfo_B in;
		PciAddress_B a;
		struct kddf_info i;
		(void)kddf_info(pid, k->h, &i);		/* a stale route reports zeros */
		Interrupt_info_Results_init_root(builder(), &res);
		Interrupt_info_Results_init_info(res, &in);
		InterruptInfo_init_device(in, &a);
		pci_set(a, &i.addr);
		InterruptInfo_set_kind(in, i.kind);
		InterruptInfo_set_index(in, i.index);
		InterruptInfo_set_masked(in, i.masked);
		InterruptInfo_set_generation(in, i.gen);
		return reply(c, NULL, 0);
	}
	}
	unimplemented(c);
}

void
kddf_caps_wake(void)
{
	/* Interrupts are taken only in ring 3 and in the idle loop's hlt, where
	 * this CPU does not hold the big kernel lock (sched.c tick() does the same). */
	spin_lock(&bkl);
	kddf_caps_tick(sched_ticks);
	spin_unlock(&bkl);
}

void
kddf_caps_tick(uint64_t now)
{
	struct kcap **pp = &waiters;
	while (*pp) {
		struct kcap *k = *pp;
		int n = kddf_irq_poll(k->owner, k->h);
		bool expired = k->waiter->deadline && now >= k->waiter->deadline;
		if (n == 0 && !expired) {
			pp = &k->next;
			continue;
		}
		struct call *c = k->waiter;
		*pp = k->next;
		k->waiter = NULL;
		if (n != 0)
			k->lwait = false;
		wait_reply(c, n, k->h);
	}
}

/* ---- DMAPool and DMABuffer ---- */

static void
pool_call(struct kcap *k, struct call *c)
{
	struct capnp_struct root;
	uint32_t pid = caller_pid(c);
	ddf_handle h = 0;

	if (params(c, &root) < 0)
		return;
	if (c->method == DMAPool_info_ORDINAL) {
		DMAPool_info_Results_B res;
		DmaPoolInfo_B in;
		PciAddress_B a;
		struct kddf_info i;
		(void)kddf_info(pid, k->claim, &i);	/* a stale pool reports zeros */
		DMAPool_info_Results_init_root(builder(), &res);
		DMAPool_info_Results_init_info(res, &in);
		DmaPoolInfo_init_device(in, &a);
		pci_set(a, &i.addr);
		DmaPoolInfo_set_budgetBytes(in, i.budget);
		DmaPoolInfo_set_usedBytes(in, i.used);
		DmaPoolInfo_set_liveBuffers(in, i.buffers);
		DmaPoolInfo_set_backend(in, DmaBackend_bounce);
		DmaPoolInfo_set_generation(in, i.gen);
		return reply(c, NULL, 0);
	}
	if (c->method != DMAPool_allocateBuffer_ORDINAL)
		return unimplemented(c);
	DMAPool_allocateBuffer_Params_R p = { root };
	DMAPool_allocateBuffer_Results_B res;
	DmaAllocateResult_B r;
	int e = kddf_dma_alloc(pid, k->claim, DMAPool_allocateBuffer_Params_get_size(p),
	    (uint8_t)DMAPool_allocateBuffer_Params_get_direction(p), &h);
	struct kcap *b = NULL;
	if (!e && !(b = kcap_new(KC_BUF, pid, k->claim_idx, k->claim, h))) {
		kddf_dma_free(pid, h);
		e = E_NOMEM;
	}
	DMAPool_allocateBuffer_Results_init_root(builder(), &res);
	DMAPool_allocateBuffer_Results_init_result(res, &r);
	if (e) {
		DmaAllocateResult_set_error(r, ddf_device_error(e));
		return reply(c, NULL, 0);
	}
	struct xfer x = { .obj = &b->k, .mode = RING_XFER_COPY, .facet = FACET_CALL };
	DmaAllocateResult_set_buffer(r, 0);
	reply(c, &x, 1);
}

#define DMA_CHAIN_MAX 16u	/* descriptors per submitChain */
#define DMA_BATCH_MAX 64u	/* tokens per completeBatch */

/* DmaDescriptor as the ledger takes it. */
static struct ddf_desc
desc_of(DmaDescriptor_R d, bool deferred)
{
	return (struct ddf_desc){ DmaDescriptor_get_queue(d), DmaDescriptor_get_slot(d),
		DmaDescriptor_get_offset(d), DmaDescriptor_get_length(d), DmaDescriptor_get_flags(d),
		DmaDescriptor_get_next(d), deferred };
}

/* DMABuffer.submitChain: the members last to first (deferred), then the head; a refusal
 * retracts the members already written, so nothing of the chain stays in the ledger.
 * With `notify`, the head's queue's doorbell, checked first and rung last. */
static int
submit_chain(uint32_t pid, ddf_handle buf, const struct capnp_list *l, bool notify,
    ddf_handle *head)
{
	ddf_handle tok[DMA_CHAIN_MAX];
	uint32_t n = l->count, i, bytes;
	DmaDescriptor_R d0;
	int e = 0;

	if (n == 0)
		return E_INVAL;
	if (n > DMA_CHAIN_MAX)
		return E_RANGE;
	if (notify && (DmaDescriptor_list_get(l, 0, &d0) < 0 ||
	    (e = kddf_dma_notify(pid, buf, DmaDescriptor_get_queue(d0), false)) < 0))
		return e < 0 ? e : E_INVAL;
	for (i = n; i-- > 0;) {
		DmaDescriptor_R d;
		if (DmaDescriptor_list_get(l, i, &d) < 0) {
			e = E_INVAL;
			break;
		}
		const struct ddf_desc dd = desc_of(d, i > 0);
		if ((e = kddf_dma_submit_desc(pid, buf, &dd, &tok[i])))
			break;
	}
	if (!e) {
		*head = tok[0];
		if (notify)	/* checked above: nothing in between changes the claim (bkl) */
			(void)kddf_dma_notify(pid, buf, DmaDescriptor_get_queue(d0), true);
		return 0;
	}
	while (++i < n)		/* a deferred member's token retracts it */
		(void)kddf_dma_complete(pid, buf, tok[i], &bytes);
	return e;
}

/* DMABuffer.completeBatch: each token as completeDescriptor would answer it. */
static int
complete_batch(uint32_t pid, ddf_handle buf, const struct capnp_list *l, DmaBatchResult_B r)
{
	struct capnp_blist out;
	uint32_t n = l->count;

	if (n == 0)
		return E_INVAL;
	if (n > DMA_BATCH_MAX)
		return E_RANGE;
	if (DmaBatchResult_init_results(r, n, &out) < 0)
		return E_NOMEM;
	for (uint32_t i = 0; i < n; i++) {
		DmaDone_B d;
		uint32_t bytes = 0;
		int e = kddf_dma_complete(pid, buf, capnp_list_u64(l, i), &bytes);
		DmaDone_blist_get(&out, i, &d);
		DmaDone_set_state(d, e == 0 ? DmaDoneState_completed :
		    e == E_AGAIN ? DmaDoneState_pending : DmaDoneState_error);
		DmaDone_set_bytes(d, e ? 0 : bytes);
		if (e && e != E_AGAIN)
			DmaDone_set_error(d, ddf_device_error(e));
	}
	return 0;
}

/* A DmaSubmitResult (submitDescriptor, submitChain): the token or the error. */
static void
submit_reply(struct call *c, DmaSubmitResult_B r, int e, ddf_handle tok)
{
	if (e)
		DmaSubmitResult_set_error(r, ddf_device_error(e));
	else
		DmaSubmitResult_set_token(r, tok);
	reply(c, NULL, 0);
}

static void
buf_call(struct kcap *k, struct call *c)
{
	struct capnp_struct root;
	uint32_t pid = caller_pid(c);
	int e;

	if (params(c, &root) < 0)
		return;
	switch (c->method) {
	case DMABuffer_submitDescriptor_ORDINAL: {
		DMABuffer_submitDescriptor_Params_R p = { root };
		DMABuffer_submitDescriptor_Results_B res;
		DmaSubmitResult_B r;
		DmaDescriptor_R d;
		ddf_handle tok = 0;
		if (DMABuffer_submitDescriptor_Params_get_descriptor(p, &d) < 0) {
			e = E_INVAL;
		} else {
			const struct ddf_desc dd = desc_of(d, DmaDescriptor_get_deferred(d));
			e = kddf_dma_submit_desc(pid, k->h, &dd, &tok);
		}
		DMABuffer_submitDescriptor_Results_init_root(builder(), &res);
		DMABuffer_submitDescriptor_Results_init_result(res, &r);
		return submit_reply(c, r, e, tok);
	}
	case DMABuffer_completeDescriptor_ORDINAL: {
		DMABuffer_completeDescriptor_Params_R p = { root };
		DMABuffer_completeDescriptor_Results_B res;
		DmaCompleteResult_B r;
		uint32_t bytes = 0;
		e = kddf_dma_complete(pid, k->h, DMABuffer_completeDescriptor_Params_get_token(p), &bytes);
		DMABuffer_completeDescriptor_Results_init_root(builder(), &res);
		DMABuffer_completeDescriptor_Results_init_result(res, &r);
		if (e == E_AGAIN)
			DmaCompleteResult_set_pending(r);
		else if (e)
			DmaCompleteResult_set_error(r, ddf_device_error(e));
		else
			DmaCompleteResult_set_completed(r, bytes);
		return reply(c, NULL, 0);
	}
	case DMABuffer_submitChain_ORDINAL: {
		DMABuffer_submitChain_Params_R p = { root };
		DMABuffer_submitChain_Results_B res;
		DmaSubmitResult_B r;
		struct capnp_list l;
		ddf_handle tok = 0;
		e = DMABuffer_submitChain_Params_get_descriptors(p, &l) < 0 ? E_INVAL :
		    submit_chain(pid, k->h, &l, DMABuffer_submitChain_Params_get_notify(p), &tok);
		DMABuffer_submitChain_Results_init_root(builder(), &res);
		DMABuffer_submitChain_Results_init_result(res, &r);
		return submit_reply(c, r, e, tok);
	}
	case DMABuffer_completeBatch_ORDINAL: {
		DMABuffer_completeBatch_Params_R p = { root };
		DMABuffer_completeBatch_Results_B res;
		DmaBatchResult_B r;
		struct capnp_list l;
		DMABuffer_completeBatch_Results_init_root(builder(), &res);
		DMABuffer_completeBatch_Results_init_result(res, &r);
		e = DMABuffer_completeBatch_Params_get_tokens(p, &l) < 0 ? E_INVAL :
		    complete_batch(pid, k->h, &l, r);
		if (e)
			DmaBatchResult_set_error(r, ddf_device_error(e));
		return reply(c, NULL, 0);
	}
	case DMABuffer_map_ORDINAL: {
		DMABuffer_map_Results_B res;
		MapResult_B r;
		uint64_t va = 0;
		uint32_t g = 0;
		e = kddf_dma_map(pid, k->h, &va, &g);
		struct kddf_info in = { 0 };
		if (!e)
			(void)kddf_info(pid, k->h, &in);	/* the buffer: page-rounded size */
		DMABuffer_map_Results_init_root(builder(), &res);
		DMABuffer_map_Results_init_result(res, &r);
		return map_reply(c, r, e, va, in.size, g);
	}
	case DMABuffer_free_ORDINAL: {
		DMABuffer_free_Results_B res;
		DeviceResult_B r;
		e = kddf_dma_free(pid, k->h);
		DMABuffer_free_Results_init_root(builder(), &res);
		DMABuffer_free_Results_init_result(res, &r);
		return dev_result(c, r, e);
	}
	case DMABuffer_share_ORDINAL: {
		DMABuffer_share_Params_R p = { root };
		DMABuffer_share_Results_B res;
		DmaShareResult_B r;
		ddf_handle h = 0;
		struct kcap *w = NULL;
		e = kddf_dma_share(pid, k->h, DMABuffer_share_Params_get_offset(p),
		    DMABuffer_share_Params_get_length(p), &h);
		/* Not one of the claim's caps (claim_caps): a client holding it keeps
		 * no claim alive; the ledger frees the share with its buffer. */
		if (!e && !(w = kcap_new(KC_SHARE, pid, KDDF_CLAIM_SLOTS, k->claim, h))) {
			(void)kddf_share_release(h);
			e = E_NOMEM;
		}
		DMABuffer_share_Results_init_root(builder(), &res);
		DMABuffer_share_Results_init_result(res, &r);
		if (e) {
			DmaShareResult_set_error(r, ddf_device_error(e));
			return reply(c, NULL, 0);
		}
		struct xfer x = { .obj = &w->k, .mode = RING_XFER_COPY, .facet = FACET_CALL };
		DmaShareResult_set_window(r, 0);
		return reply(c, &x, 1);
	}
	case DMABuffer_info_ORDINAL: {
		DMABuffer_info_Results_B res;
		DmaBufferInfo_B in;
		struct kddf_info i;
		if (kddf_info(pid, k->h, &i) < 0) {
			i.state = KDDF_BUFINFO_FREED;	/* freed, reset or torn down */
			i.gen = ddf_handle_gen(k->h);
		}
		DMABuffer_info_Results_init_root(builder(), &res);
		DMABuffer_info_Results_init_info(res, &in);
		DmaBufferInfo_set_size(in, i.size);
		DmaBufferInfo_set_direction(in, i.dir);
		DmaBufferInfo_set_state(in, i.state);
		DmaBufferInfo_set_generation(in, i.gen);
		DmaBufferInfo_set_inFlight(in, i.inflight);
		return reply(c, NULL, 0);
	}
	}
	unimplemented(c);
}

/* ---- DmaWindow: used by whoever holds it (the caller is the holder) ---- */

static void
share_call(struct kcap *k, struct call *c)
{
	struct capnp_struct root;
	uint32_t pid = caller_pid(c);
	int e;

	if (params(c, &root) < 0)
		return;
	switch (c->method) {
	case DmaWindow_map_ORDINAL: {
		DmaWindow_map_Results_B res;
		MapResult_B r;
		uint64_t va = 0, len = 0;
		e = kddf_share_map(pid, k->h, &va, &len);
		DmaWindow_map_Results_init_root(builder(), &res);
		DmaWindow_map_Results_init_result(res, &r);
		return map_reply(c, r, e, va, len, 0);
	}
	case DmaWindow_unmap_ORDINAL: {
		DmaWindow_unmap_Results_B res;
		DeviceResult_B r;
		e = kddf_share_unmap(pid, k->h);
		DmaWindow_unmap_Results_init_root(builder(), &res);
		DmaWindow_unmap_Results_init_result(res, &r);
		return dev_result(c, r, e);
	}
	case DmaWindow_info_ORDINAL: {
		DmaWindow_info_Results_B res;
		DmaWindowInfo_B in;
		uint8_t st;
		uint64_t len;
		uint32_t holder;
		kddf_share_info(k->h, &st, &len, &holder);
		DmaWindow_info_Results_init_root(builder(), &res);
		DmaWindow_info_Results_init_info(res, &in);
		DmaWindowInfo_set_length(in, len);
		DmaWindowInfo_set_state(in, st == DDF_SHARE_OPEN ? DmaWindowState_open :
		    st == DDF_SHARE_MAPPED ? DmaWindowState_mapped :
		    st == DDF_SHARE_CLOSED ? DmaWindowState_closed : DmaWindowState_freed);
		DmaWindowInfo_set_holder(in, holder);
		/* the cap slots and calls in flight naming it, this call not counted */
		DmaWindowInfo_set_references(in, k->k.refs > 0 ? k->k.refs - 1 : 0);
		return reply(c, NULL, 0);
	}
	}
	unimplemented(c);
}

/* ---- HardwareAuditLog ---- */

#define AUDIT_MAX 32u

static void
audit_call(struct kcap *k, struct call *c)
{
	static struct ddf_audit_rec recs[AUDIT_MAX];
	struct capnp_struct root;
	uint64_t next = 0, dropped = 0;

	if (params(c, &root) < 0)
		return;
	if (c->method != HardwareAuditLog_snapshot_ORDINAL)
		return unimplemented(c);
	HardwareAuditLog_snapshot_Params_R p = { root };
	uint32_t max = HardwareAuditLog_snapshot_Params_get_maxEntries(p);
	if (max > AUDIT_MAX || max == 0)
		max = AUDIT_MAX;
	int n = kddf_audit_read(HardwareAuditLog_snapshot_Params_get_cursor(p), recs, max, &next,
	    &dropped);
	if (n < 0)
		return call_complete_exception(c, ExceptionType_invalidArgument, "cursor past the end");
	HardwareAuditLog_snapshot_Results_B res;
	AuditSnapshot_B s;
	struct capnp_blist l;
	HardwareAuditLog_snapshot_Results_init_root(builder(), &res);
	HardwareAuditLog_snapshot_Results_init_result(res, &s);
	AuditSnapshot_init_entries(s, (uint32_t)n, &l);
	for (int i = 0; i < n; i++) {
		AuditEntry_B e;
		PciAddress_B a;
		AuditEntry_blist_get(&l, (uint32_t)i, &e);
		AuditEntry_set_sequence(e, recs[i].seq);
		AuditEntry_set_monotonicNanos(e, recs[i].time_ns);
		AuditEntry_init_device(e, &a);
		pci_set(a, &recs[i].addr);
		AuditEntry_set_event(e, recs[i].event);
		AuditEntry_set_generation(e, recs[i].generation);
		AuditEntry_set_detail(e, recs[i].detail);
		AuditEntry_set_owner(e, recs[i].owner);
		AuditEntry_set_errorCode(e, recs[i].reason);
	}
	AuditSnapshot_set_nextCursor(s, next);
	AuditSnapshot_set_dropped(s, dropped);
	reply(c, NULL, 0);
}

void
kddf_kobj_call(struct kobj *o, struct call *c)
{
	struct kcap *k = (struct kcap *)o;
	switch (k->kind) {
	case KC_MMIO: return mmio_call(k, c);
	case KC_IRQ: return irq_call(k, c);
	case KC_POOL: return pool_call(k, c);
	case KC_BUF: return buf_call(k, c);
	case KC_AUDIT: return audit_call(k, c);
	case KC_SHARE: return share_call(k, c);
	}
	unimplemented(c);
}

/*
 * The last reference went (cap release, or the holder's table destroyed).
 * A process that exits was already torn down by kddf_owner_gone (proc_exit
 * runs it first), so these releases then find stale handles and do nothing.
 */
void
kddf_kobj_destroy(struct kobj *o)
{
	struct kcap *k = (struct kcap *)o;
	if (k->waiter) {
		struct call *c = k->waiter;
		waiter_unlink(k);
		wait_reply(c, E_STALE, k->h);
	}
	for (struct kcap **pp = &all_kcaps; *pp; pp = &(*pp)->all_next)
		if (*pp == k) {
			*pp = k->all_next;
			break;
		}
	bool live = k->claim && ddf_claim_get(kddf_ledger(), k->claim);
	switch (live ? k->kind : 0) {
	case KC_MMIO: (void)kddf_mmio_release(k->owner, k->h); break;
	case KC_IRQ: (void)kddf_irq_release(k->owner, k->h); break;
	case KC_BUF: (void)kddf_dma_release(k->owner, k->h); break;
	default: break;
	}
	if (k->kind == KC_SHARE)
		(void)kddf_share_release(k->h);	/* E_STALE once its buffer or claim went */
	if (k->claim_idx < KDDF_CLAIM_SLOTS && claim_caps[k->claim_idx] &&
	    --claim_caps[k->claim_idx] == 0 && live)
		(void)kddf_teardown(k->claim, DDF_TD_RELEASE);	/* E_STALE after exit or reset */
	kfree(k);
}

/* ---- grants from the manifest ---- */

static struct mf_manifest man;	/* decoded at each spawn: the module is small */

static int
manifest_get(void)
{
	char name[64];
	const void *data;
	uint64_t len;
	struct mf_error err;
	if (cmdline_get(boot_info.cmdline, "capos.manifest", name, sizeof name) != 1)
		memcpy(name, "manifest.bin", 13);
	if (proc_find_module(name, &data, &len) < 0)
		return E_NOENT;
	return mf_decode(data, len, &man, &err);
}

static bool
same_pci(const struct mf_pci *a, const struct mf_pci *b)
{
	return a->kind == b->kind && a->segment == b->segment && a->bus == b->bus &&
	       a->dev == b->dev && a->fn == b->fn && a->vendor == b->vendor &&
	       a->device == b->device && a->instance == b->instance;
}

static bool
is_device_source(uint8_t s)
{
	return s == MF_SRC_DEVICE_MMIO || s == MF_SRC_INTERRUPT || s == MF_SRC_DMA_POOL;
}

static void
grant_insert(struct proc *p, const struct mf_grant *g, struct kcap *k)
{
	capid_t id;
	char nm[BOOTSTRAP_NAME];
	uint32_t n = g->name.len < BOOTSTRAP_NAME - 1 ? g->name.len : BOOTSTRAP_NAME - 1;
	memcpy(nm, g->name.p, n);
	nm[n] = 0;
	if (!k || cap_insert(p, &k->k, FACET_CALL, &id) < 0) {
		if (k)
			kobj_unref(&k->k);
		kprintf("capos: ddf-grant-refused pid=%u grant=%s reason=no-room\n", p->pid, nm);
		return;
	}
	proc_bootstrap_add(p, nm, k->k.iid, id);
	kprintf("capos: ddf-grant pid=%u grant=%s kind=%s\n", p->pid, nm, mf_source_name(g->source));
}

/* Descriptors in flight per virtio claim (a virtio-blk request is a chain of 3). */
#define VIRTIO_INFLIGHT 128u

/* The BAR of the service's first DeviceMmio grant on this function (0xff: none). */
static uint8_t
mmio_bar(const struct mf_service *s, const struct mf_grant *first)
{
	for (uint32_t i = 0; i < s->ngrants; i++) {
		const struct mf_grant *g = &man.grants[s->first_grant + i];
		if (g->source == MF_SRC_DEVICE_MMIO && same_pci(&g->pci, &first->pci))
			return g->bar;
	}
	return 0xff;
}

/* One claim for every distinct function among the service's device grants. */
static void
grant_function(struct proc *p, const struct mf_service *s, const struct mf_grant *first)
{
	struct ddf_selector sel = { 0 };
	struct ddf_policy pol;
	ddf_handle claim;
	uint64_t budget = 0;

	for (uint32_t i = 0; i < s->ngrants; i++) {
		const struct mf_grant *g = &man.grants[s->first_grant + i];
		if (is_device_source(g->source) && same_pci(&g->pci, &first->pci) &&
		    g->source == MF_SRC_DMA_POOL)
			budget = g->dma_budget;
	}
	if (first->pci.kind == MF_PCI_ADDRESS) {
		sel.kind = DDF_SEL_ADDR;
		sel.addr = (struct ddf_pci_addr){ first->pci.segment, first->pci.bus, first->pci.dev,
			first->pci.fn };
	} else {
		sel.kind = DDF_SEL_IDS;
		sel.vendor = first->pci.vendor;
		sel.device = first->pci.device;
		sel.instance = first->pci.instance;
	}
	/* Selected-write policy by device: virtio by the granted BAR (legacy header in an
	 * I/O BAR0, or the modern common configuration), NVMe; any other function gets no
	 * writable register. */
	uint8_t fmt = KDDF_FMT_NONE;
	int e = kddf_claim_virtio(&sel, mmio_bar(s, first), p->pid, budget, VIRTIO_INFLIGHT, &claim);
	if (e != E_NOTSUP) {
		fmt = KDDF_FMT_VIRTIO_LEGACY;	/* or modern: the label says which */
	} else if (kddf_nvme_selects(&sel)) {
		kddf_policy_nvme(&pol, p->pid, budget);
		fmt = KDDF_FMT_NVME;
	} else {
		memset(&pol, 0, sizeof pol);
		pol.owner = p->pid;
		pol.dma_budget = budget;
		pol.max_inflight = 8;
		memcpy(pol.label, "read-only", 10);
	}
	if (e == E_NOTSUP)
		e = kddf_claim(&sel, &pol, fmt, &claim);
	if (e) {
		kprintf("capos: ddf-grant-refused pid=%u service=%s reason=%s\n", p->pid, p->name,
			err_name(e));
		return;
	}
	const struct ddf_claim *c = ddf_claim_get(kddf_ledger(), claim);
	uint32_t ci = ddf_handle_index(claim);
	kprintf("capos: ddf-claim pid=%u device=%02x:%02x.%x id=%04x:%04x budget=%lu policy=%s\n",
		p->pid, c->fn.addr.bus, c->fn.addr.device, c->fn.addr.function, c->fn.vendor,
		c->fn.device, budget, c->pol.label);
	for (uint32_t i = 0; i < s->ngrants; i++) {
		const struct mf_grant *g = &man.grants[s->first_grant + i];
		ddf_handle h = 0;
		if (!is_device_source(g->source) || !same_pci(&g->pci, &first->pci))
			continue;
		if (g->source == MF_SRC_DEVICE_MMIO) {
			uint64_t len = g->bar < DDF_MAX_BARS ? c->fn.bar[g->bar].size : 0;
			struct kcap *k = NULL;
			e = kddf_mmio_grant(p->pid, claim, g->bar, 0, len, &h);
			if (!e && (k = kcap_new(KC_MMIO, p->pid, ci, claim, h)))
				k->bar = g->bar;
			grant_insert(p, g, k);
		} else if (g->source == MF_SRC_INTERRUPT) {
			struct kcap *k = NULL;
			e = kddf_irq_route(p->pid, claim, (uint8_t)g->irq_kind, g->irq_index, &h);
			if (!e && (k = kcap_new(KC_IRQ, p->pid, ci, claim, h))) {
				k->index = g->irq_index;
				k->irq_kind = (uint8_t)g->irq_kind;
			}
			grant_insert(p, g, k);
		} else {
			grant_insert(p, g, kcap_new(KC_POOL, p->pid, ci, claim, 0));
		}
		if (e)
			kprintf("capos: ddf-grant-refused pid=%u reason=%s\n", p->pid, err_name(e));
	}
}

void
kddf_spawn_grants(struct proc *p)
{
	if (manifest_get() < 0)
		return;
	for (uint32_t si = 0; si < man.nservices; si++) {
		const struct mf_service *s = &man.services[si];
		if (s->name.len != strlen(p->name) || memcmp(s->name.p, p->name, s->name.len))
			continue;
		for (uint32_t i = 0; i < s->ngrants; i++) {
			const struct mf_grant *g = &man.grants[s->first_grant + i];
			if (g->source == MF_SRC_HARDWARE_AUDIT_LOG) {
				grant_insert(p, g, kcap_new(KC_AUDIT, p->pid, KDDF_CLAIM_SLOTS, 0, 0));
				continue;
			}
			if (!is_device_source(g->source))
				continue;
			bool seen = false;	/* the function was handled with an earlier grant */
			for (uint32_t j = 0; j < i && !seen; j++) {
				const struct mf_grant *h = &man.grants[s->first_grant + j];
				seen = is_device_source(h->source) && same_pci(&h->pci, &g->pci);
			}
			if (!seen)
				grant_function(p, s, g);
		}
		return;
	}
}
