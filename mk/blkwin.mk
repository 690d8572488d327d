# Block windows under QEMU (tests/system/test_blk_window.py): the test client
# blkwin (user/tests/blkwin/main.c, TEST CODE) and its manifests. Like the
# block-fault tests (mk/blkfaults.mk) they go to build/blkwin/, not
# build/bins/: every file of build/bins/ is a module of every boot image; the
# test adds these to its own images only. mk/blk.mk defines BLK_RT_SRCS.
BLKWIN_DIR := $(BUILD)/blkwin
$(BLKWIN_DIR)/blkwin: $(patsubst %,$(BUILD)/uobj/%.o,user/tests/blkwin/main.c $(BLK_RT_SRCS)) \
		user/lib/user.ld
	@mkdir -p $(@D)
	@echo "  ULD     $@"
	@$(CC) $(USER_CFLAGS) $(USER_LDFLAGS) -o $@ $(filter %.o,$^) -lgcc
ALL_TARGETS += $(BLKWIN_DIR)/blkwin

BLKWIN_MANIFESTS := test-blk-window-vblk test-blk-window-nvme test-blk-window-vblk-small \
	test-blk-window-vblk-crash test-blk-window-nvme-crash
$(BUILD)/blkwin-test.bins: mk/blkwin.mk | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@printf '%s\n' virtio-blk nvme blkwin > $@
define BLKWIN_MANIFEST
$(BLKWIN_DIR)/$(1).mf: user/tests/$(1).json $(BUILD)/blkwin-test.bins $(BUILD)/tools/mkmanifest \
		schema/manifest.capnp
	@mkdir -p $$(@D)
	$(BUILD)/tools/mkmanifest --bins-list $(BUILD)/blkwin-test.bins -o $$@ $$<
ALL_TARGETS += $(BLKWIN_DIR)/$(1).mf
endef
$(foreach m,$(BLKWIN_MANIFESTS),$(eval $(call BLKWIN_MANIFEST,$(m))))
