# The kernel device manager (kernel/ddf, docs/device-manager.md "Kernel
# integration"): lib/ddf linked into the kernel, the QEMU tests and the
# bench-ddf instruction counts. kernel/ddf/*.c is picked up by kernel.mk.
KERNEL_LIB_SRCS += lib/ddf/ddf_ledger.c lib/ddf/ddf_mmio.c lib/ddf/ddf_dma.c lib/ddf/ddf_share.c lib/ddf/ddf_check.c \
	lib/ddf/ddf_validate.c lib/ddf/ddf_broker.c lib/ddf/ddf_audit.c
# The kernel reads the boot manifest's device grants itself at spawn (kddf_caps.c).
KERNEL_LIB_SRCS += lib/manifest/decode.c lib/manifest/util.c

# ---- user/ddf-demo: a userspace virtio-rng driver holding only device caps ----
# (user.mk's USER_PROG is defined after this fragment is read, so the rule is
# spelled out; the object pattern rules are user.mk's.)
DDF_DEMO_SRCS := user/ddf-demo/main.c user/lib/crt0.S user/lib/rt.c user/lib/rpc.c user/lib/mem.c lib/fmt/fmt.c \
	lib/base/err.c lib/capnp/read.c lib/capnp/build.c
$(BUILD)/bins/ddf-demo: $(patsubst %,$(BUILD)/uobj/%.o,$(DDF_DEMO_SRCS)) user/lib/user.ld
	@mkdir -p $(@D)
	@echo "  ULD     $@"
	@$(CC) $(USER_CFLAGS) $(USER_LDFLAGS) -o $@ $(filter %.o,$^) -lgcc

# Test manifests (capos.manifest=test-ddf.mf, ...), validated against ddf-demo.
$(BUILD)/ddf-test.bins: mk/ddfk.mk | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo ddf-demo > $@
define DDF_MANIFEST
$(BUILD)/bins/$(1).mf: manifests/$(1).json $(BUILD)/ddf-test.bins $(BUILD)/tools/mkmanifest \
		schema/manifest.capnp
	@mkdir -p $$(@D)
	$(BUILD)/tools/mkmanifest --bins-list $(BUILD)/ddf-test.bins -o $$@ $$<
endef
$(foreach m,test-ddf test-ddf-exit test-ddf-crash,$(eval $(call DDF_MANIFEST,$(m))))
DDF_TEST_MANIFESTS := $(BUILD)/bins/test-ddf.mf $(BUILD)/bins/test-ddf-exit.mf \
	$(BUILD)/bins/test-ddf-crash.mf
BOOT_BINS += $(BUILD)/bins/ddf-demo $(DDF_TEST_MANIFESTS)

# ---- bench-ddf: guest instructions under -icount shift=0 (bench/ddf/run.py) ----
.PHONY: bench-ddf
bench-ddf: $(IMAGE)
	$(PYTHON) bench/ddf/run.py
