# The virtio-blk driver process (boot module virtio-blk, issue 8): the
# host-tested virtio transport and virtio-blk cores over the caps binding
# (mk/blk.mk: CAPENV_SRCS, BLKPROC_SRCS, BLK_PROG), with virtq_caps.c in place
# of virtq.c (the kernel owns the ring). docs/drivers.md "virtio over caps".
VBLK_PROC_SRCS := $(sort user/drivers/virtio_blk/main.c user/drivers/virtio_blk/virtio_blk.c \
	user/drivers/virtio/virtio_pci.c user/drivers/virtio/virtq_caps.c $(CAPENV_SRCS) \
	$(BLKPROC_SRCS))
$(eval $(call BLK_PROG,virtio-blk,$(VBLK_PROC_SRCS)))
$(patsubst %,$(BUILD)/uobj/%.o,$(VBLK_PROC_SRCS)): $(BLK_DRV_HDRS)

# QEMU test manifests (tests/system/test_vblk.py)
VBLK_MANIFESTS := test-vblk-modern test-vblk-legacy test-vblk-nodma test-vblk-wrongbar test-vblk-recover \
	test-vblk-legacy-irq test-vblk-intx
$(foreach m,$(VBLK_MANIFESTS),$(eval $(call BLK_MANIFEST,$(m))))

# vblk-hostile: a TEST PROGRAM making the queue-programming mistakes a driver
# could make on a modern virtio function (test_vblk.py); its manifest is
# validated against this list.
$(eval $(call BLK_PROG,vblk-hostile,user/tests/vblk-hostile/main.c user/drivers/virtio/virtio_pci.c \
	user/drivers/virtio/virtq_caps.c $(CAPENV_SRCS)))
$(BUILD)/uobj/user/tests/vblk-hostile/main.c.o: $(BLK_DRV_HDRS)
$(BUILD)/vblk-test.bins: mk/drv-virtio.mk | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@printf '%s\n' vblk-hostile > $@
$(BUILD)/bins/test-vblk-hostile.mf: user/tests/test-vblk-hostile.json $(BUILD)/vblk-test.bins \
		$(BUILD)/tools/mkmanifest schema/manifest.capnp
	@mkdir -p $(@D)
	$(BUILD)/tools/mkmanifest --bins-list $(BUILD)/vblk-test.bins -o $@ $<
BOOT_BINS += $(BUILD)/bins/test-vblk-hostile.mf
