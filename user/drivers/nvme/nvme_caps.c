/*
 * The NVMe calls of devenv.h over the kernel's device caps: the brokered
 * queue protocol of DeviceMmio (schema/device.capnp
 * brokeredNvmeControllerEnable, nvmeSubmit, nvmeComplete, nvmeDisable;
 * kernel/ddf/kddf_nvme.c, docs/device-manager.md "NVMe brokering"). Every
 * other devenv.h call is the generic caps binding's (capenv.c).
 *
 * The DeviceMmio used is BAR 0's (the NVMe register window). Buffers travel
 * as copied DMABuffer caps in the call's sideband; the kernel finds them by
 * pointer index.
 */
#include "capos.h"
#include "schema/device.capnp.h"

#include "../capenv.h"
#include "../devenv.h"
#include "nvme_reg.h"

static capid_t
regs(struct devenv *env)
{
	return capenv_mmio_cap(env, 0);
}

int
devenv_nvme_queue_alloc(struct devenv *env, uint64_t bytes, devenv_dma_t *h)
{
	return capenv_dma_alloc_ring(env, bytes, DEVENV_DMA_BIDIRECTIONAL, h);
}

int
devenv_nvme_enable(struct devenv *env, uint16_t depth, devenv_dma_t asq, devenv_dma_t acq)
{
	DeviceMmio_brokeredNvmeControllerEnable_Params_B p;
	struct capnp_struct root;
	capid_t sq = capenv_dma_cap(env, asq), cq = capenv_dma_cap(env, acq);
	int e;

	if (!regs(env))
		return E_NOENT;
	if (!sq || !cq)
		return E_STALE;
	DeviceMmio_brokeredNvmeControllerEnable_Params_init_root(rt_msg_begin(), &p);
	DeviceMmio_brokeredNvmeControllerEnable_Params_set_adminQueueDepth(p, depth);
	DeviceMmio_brokeredNvmeControllerEnable_Params_set_submissionQueue(p, 0);
	DeviceMmio_brokeredNvmeControllerEnable_Params_set_completionQueue(p, 1);
	struct ring_xfer x[2] = { { sq, RING_XFER_COPY }, { cq, RING_XFER_COPY } };
	if ((e = capenv_call(regs(env), DeviceMmio_brokeredNvmeControllerEnable_ORDINAL, x, 2,
	    &root)) < 0)
		return e;
	return capenv_device_result(&root);
}

int
devenv_nvme_disable(struct devenv *env, int shutdown)
{
	DeviceMmio_nvmeDisable_Params_B p;
	struct capnp_struct root;
	int e;

	if (!regs(env))
		return E_NOENT;
	DeviceMmio_nvmeDisable_Params_init_root(rt_msg_begin(), &p);
	DeviceMmio_nvmeDisable_Params_set_shutdown(p, shutdown != 0);
	if ((e = capenv_call(regs(env), DeviceMmio_nvmeDisable_ORDINAL, NULL, 0, &root)) < 0)
		return e;
	e = capenv_device_result(&root);
	/* busy: the shutdown did not finish (disabled all the same); revoked
	 * (E_STALE here): RDY never dropped and the kernel reset the claim. */
	return e == E_STALE ? E_TIMEOUT : e;
}

int
devenv_nvme_submit(struct devenv *env, uint16_t qid, const void *sqe,
    const struct devenv_prp *prp, uint64_t *token)
{
	DeviceMmio_nvmeSubmit_Params_B p;
	DmaSubmitResult_R r;
	struct capnp_struct root;
	struct ring_xfer x[2];
	uint32_t nx = 0;
	int e;

	if (!regs(env))
		return E_NOENT;
	DeviceMmio_nvmeSubmit_Params_init_root(rt_msg_begin(), &p);
	DeviceMmio_nvmeSubmit_Params_set_queue(p, qid);
	DeviceMmio_nvmeSubmit_Params_set_command(p, sqe, NVME_SQE_SIZE);
	if (prp && prp->data) {
		capid_t d = capenv_dma_cap(env, prp->data);
		if (!d)
			return E_STALE;
		x[nx] = (struct ring_xfer){ d, RING_XFER_COPY };
		DeviceMmio_nvmeSubmit_Params_set_data(p, nx++);
		DeviceMmio_nvmeSubmit_Params_set_offset(p, prp->data_off);
		DeviceMmio_nvmeSubmit_Params_set_length(p, prp->len);
		if (prp->list) {
			capid_t l = capenv_dma_cap(env, prp->list);
			if (!l)
				return E_STALE;
			x[nx] = (struct ring_xfer){ l, RING_XFER_COPY };
			DeviceMmio_nvmeSubmit_Params_set_prpList(p, nx++);
			DeviceMmio_nvmeSubmit_Params_set_prpListOffset(p, prp->list_off);
		}
	}
	if ((e = capenv_call(regs(env), DeviceMmio_nvmeSubmit_ORDINAL, x, nx, &root)) < 0 ||
	    (e = capenv_result(&root, &r.s)) < 0)
		return e;
	if (DmaSubmitResult_which(r) != DmaSubmitResult_which_token)
		return capenv_device_error(DmaSubmitResult_get_error(r));
	*token = DmaSubmitResult_get_token(r);
	return 0;
}

int
devenv_nvme_complete(struct devenv *env, uint64_t token, uint16_t *status, uint32_t *dw0)
{
	DeviceMmio_nvmeComplete_Params_B p;
	NvmeCompleteResult_R r;
	NvmeCompletion_R done;
	struct capnp_struct root;
	int e;

	if (!regs(env))
		return E_NOENT;
	DeviceMmio_nvmeComplete_Params_init_root(rt_msg_begin(), &p);
	DeviceMmio_nvmeComplete_Params_set_token(p, token);
	if ((e = capenv_call(regs(env), DeviceMmio_nvmeComplete_ORDINAL, NULL, 0, &root)) < 0 ||
	    (e = capenv_result(&root, &r.s)) < 0)
		return e;
	switch (NvmeCompleteResult_which(r)) {
	case NvmeCompleteResult_which_completed:
		if (NvmeCompleteResult_get_completed(r, &done) < 0)
			return E_CORRUPT;
		*status = NvmeCompletion_get_status(done);
		*dw0 = NvmeCompletion_get_result(done);
		return 0;
	case NvmeCompleteResult_which_pending:
		return E_AGAIN;
	default:
		return capenv_device_error(NvmeCompleteResult_get_error(r));
	}
}

int
devenv_nvme_reap(struct devenv *env, uint16_t qid, struct devenv_nvme_done *out, unsigned max)
{
	DeviceMmio_nvmeReap_Params_B p;
	NvmeReapResult_R r;
	struct capnp_struct root;
	struct capnp_list l;
	int e;

	if (!regs(env))
		return E_NOENT;
	DeviceMmio_nvmeReap_Params_init_root(rt_msg_begin(), &p);
	DeviceMmio_nvmeReap_Params_set_queue(p, qid);
	DeviceMmio_nvmeReap_Params_set_maxCompletions(p, (uint16_t)max);
	if ((e = capenv_call(regs(env), DeviceMmio_nvmeReap_ORDINAL, NULL, 0, &root)) < 0 ||
	    (e = capenv_result(&root, &r.s)) < 0)
		return e;
	if (NvmeReapResult_which(r) != NvmeReapResult_which_completions)
		return capenv_device_error(NvmeReapResult_get_error(r));
	if (NvmeReapResult_get_completions(r, &l) < 0 || l.count > max)
		return E_CORRUPT;
	/* The kernel collected every entry listed: each is decoded or the
	 * batch is reported corrupt (the caller then resets the controller). */
	for (uint32_t i = 0; i < l.count; i++) {
		NvmeDone_R d;
		if (NvmeDone_list_get(&l, i, &d) < 0)
			return E_CORRUPT;
		out[i] = (struct devenv_nvme_done){ NvmeDone_get_token(d), NvmeDone_get_result(d),
			NvmeDone_get_status(d) };
	}
	return (int)l.count;
}
