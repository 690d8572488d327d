# The NVMe driver process (boot module nvme, issue 8): the host-tested NVMe
# core over the caps binding (mk/blk.mk: CAPENV_SRCS, BLKPROC_SRCS, BLK_PROG)
# with nvme_caps.c, the brokered queue calls (the kernel owns SQs, CQs and
# doorbells: kernel/ddf/kddf_nvme.c). docs/device-manager.md "NVMe brokering".
NVME_PROC_SRCS := $(sort user/drivers/nvme/main.c user/drivers/nvme/nvme.c \
	user/drivers/nvme/nvme_caps.c $(CAPENV_SRCS) $(BLKPROC_SRCS))
$(eval $(call BLK_PROG,nvme,$(NVME_PROC_SRCS)))
$(patsubst %,$(BUILD)/uobj/%.o,$(NVME_PROC_SRCS)): $(BLK_DRV_HDRS)

# QEMU test manifests (tests/system/test_nvme.py)
NVME_MANIFESTS := test-nvme test-nvme-poll test-nvme-2ns test-nvme-hostile
$(foreach m,$(NVME_MANIFESTS),$(eval $(call BLK_MANIFEST,$(m))))
