# Block-driver fault tests (issue 8; docs/testing.md "Block-driver faults"):
# the host NVMe fault tests, the test programs and manifests of
# tests/system/test_blk_faults.py. mk/blk.mk (read before this fragment)
# defines BLK_RT_SRCS, CAPENV_SRCS and BLK_DRV_HDRS.

# ---- host: NVMe controller faults against the model (TEST FIXTURE) ----
HOST_TESTS += test_nvme_faults
test_nvme_faults_SRCS := tests/host/test_nvme_faults.c tests/host/drivers/nvme_model.c \
	user/drivers/nvme/nvme.c user/drivers/blkserv.c tests/host/drivers/fake_env.c lib/base/err.c

# ---- test programs and manifests (TEST CODE) ----
# They go to build/blkf/, not build/bins/: every file of build/bins/ is a
# module of every boot image, and the kernel takes at most MB2_MAX_MODULES
# (64, lib/boot/mb2.h) of them. test_blk_faults.py adds to its images only
# the blkf modules that test needs (scripts/mkimage.sh's extra modules).
BLKF_DIR := $(BUILD)/blkf
# BLKF_PROG name, sources: $(BLKF_DIR)/name, linked as BLK_PROG links (mk/blk.mk)
define BLKF_PROG
$(BLKF_DIR)/$(1): $(patsubst %,$(BUILD)/uobj/%.o,$(2) $(BLK_RT_SRCS)) user/lib/user.ld
	@mkdir -p $$(@D)
	@echo "  ULD     $$@"
	@$$(CC) $$(USER_CFLAGS) $$(USER_LDFLAGS) -o $$@ $$(filter %.o,$$^) -lgcc
ALL_TARGETS += $(BLKF_DIR)/$(1)
endef
# blkf: one program, two roles by process name (user/tests/blkf/blkf.h): the
# client that watches a failing driver, and the real virtio-blk or NVMe
# bring-up followed by a fault before serving. One module, not two: the
# module limit.
BLKF_SRCS := $(addprefix user/tests/blkf/,main.c client.c startcrash.c) \
	user/drivers/virtio_blk/virtio_blk.c user/drivers/virtio/virtio_pci.c \
	user/drivers/virtio/virtq_caps.c user/drivers/nvme/nvme.c user/drivers/nvme/nvme_caps.c \
	user/drivers/blkserv.c $(CAPENV_SRCS)
$(eval $(call BLKF_PROG,blkf,$(BLKF_SRCS)))
$(patsubst %,$(BUILD)/uobj/%.o,$(filter user/tests/blkf/%,$(BLKF_SRCS))): $(BLK_DRV_HDRS) \
	user/tests/blkf/blkf.h

# manifests (capos.manifest=NAME.mf), validated against the binaries they name
BLKF_MANIFESTS := test-blkf-vblk-nopool test-blkf-nvme-nopool test-blkf-nvme-nodma \
	test-blkf-vblk-startcrash test-blkf-nvme-startcrash \
	test-blkf-vblk-budget test-blkf-nvme-budget test-blkf-vblk-budget-qd test-blkf-nvme-budget-qd
$(BUILD)/blkf-test.bins: mk/blkfaults.mk | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@printf '%s\n' virtio-blk nvme blkf > $@
define BLKF_MANIFEST
$(BLKF_DIR)/$(1).mf: user/tests/$(1).json $(BUILD)/blkf-test.bins $(BUILD)/tools/mkmanifest \
		schema/manifest.capnp
	@mkdir -p $$(@D)
	$(BUILD)/tools/mkmanifest --bins-list $(BUILD)/blkf-test.bins -o $$@ $$<
ALL_TARGETS += $(BLKF_DIR)/$(1).mf
endef
$(foreach m,$(BLKF_MANIFESTS),$(eval $(call BLKF_MANIFEST,$(m))))
