# Block drivers as processes (issues 6 and 8): the caps binding of devenv.h
# (user/drivers/capenv.c), the BlockDevice service loop (user/drivers/blkproc.c),
# the block client and the bench client. docs/drivers.md "The caps binding",
# docs/bench-blk.md. user.mk (read after this fragment) defines USER_CFLAGS
# and the object pattern rules; the link rule is spelled out here.

# For the driver processes (mk/drv-virtio.mk, mk/drv-nvme.mk): link these.
CAPENV_SRCS := user/drivers/capenv.c user/drivers/captime.c
BLKPROC_SRCS := user/drivers/blkproc.c user/drivers/blkproc_serve.c user/drivers/blkserv.c
BLK_RT_SRCS := user/lib/crt0.S user/lib/rt.c user/lib/rpc.c user/lib/mem.c lib/fmt/fmt.c lib/base/err.c \
	lib/capnp/read.c lib/capnp/build.c
BLK_DRV_HDRS := $(wildcard user/drivers/*.h user/drivers/*/*.h)

# BLK_PROG name, sources: build/bins/name (a boot module)
define BLK_PROG
$(BUILD)/bins/$(1): $(patsubst %,$(BUILD)/uobj/%.o,$(2) $(BLK_RT_SRCS)) user/lib/user.ld
	@mkdir -p $$(@D)
	@echo "  ULD     $$@"
	@$$(CC) $$(USER_CFLAGS) $$(USER_LDFLAGS) -o $$@ $$(filter %.o,$$^) -lgcc
BOOT_BINS += $(BUILD)/bins/$(1)
endef

# The binding's objects depend on the driver headers too (user.mk's object
# rule knows only the runtime's).
$(patsubst %,$(BUILD)/uobj/%.o,$(CAPENV_SRCS) $(BLKPROC_SRCS)): $(BLK_DRV_HDRS)

# Until the driver processes link it, build the binding so it stays compiled.
ALL_TARGETS += $(patsubst %,$(BUILD)/uobj/%.o,$(CAPENV_SRCS) $(BLKPROC_SRCS))

# ---- the block client (boot module blk-client; its role is the process name) ----
$(eval $(call BLK_PROG,blk-client,user/blk-client/main.c))

# ---- host test and fuzz target of the BlockDevice message layer ----
BLKPROC_CORE_SRCS := user/drivers/blkproc.c user/drivers/blkserv.c lib/capnp/read.c \
	lib/capnp/build.c lib/base/err.c
HOST_TESTS += test_blkproc
test_blkproc_SRCS := tests/host/test_blkproc.c $(BLKPROC_CORE_SRCS)
FUZZ_TARGETS += fuzz_blkproc
fuzz_blkproc_SRCS := tests/fuzz/fuzz_blkproc.c $(BLKPROC_CORE_SRCS)

# ---- bench-blk: the capOS side of make bench-blk (docs/bench-blk.md) ----
$(eval $(call BLK_PROG,bench-blk,user/bench-blk/main.c user/drivers/captime.c))

# ---- blk-ramdisk: a TEST FIXTURE serving BlockDevice from memory ----
$(eval $(call BLK_PROG,blk-ramdisk,user/tests/blk-ramdisk/main.c $(BLKPROC_SRCS)))
# capenv-check: the binding on QEMU's virtio-rng (a test program)
$(eval $(call BLK_PROG,capenv-check,user/tests/capenv-check/main.c $(CAPENV_SRCS)))

# ---- test and bench manifests (capos.manifest=NAME.mf), validated against
# the block binaries (the drivers' own, mk/drv-*.mk, and this fragment's) ----
BLK_MANIFESTS := test-blk-ram test-blk-ram-restart test-blk-ram-bench test-blk-write \
	test-blk-read test-blk-vblk test-blk-notdisk test-blk-crash test-capenv \
	test-blk-nvme-write test-blk-nvme-read test-blk-nvme-crash test-blk-nvme-notdisk
# bench_blk.py boots capOS for a device only when its manifest is in the
# build: offer it only once that device's driver process exists.
BLK_MANIFESTS += $(if $(wildcard user/drivers/virtio_blk/main.c),bench-blk-virtio)
BLK_MANIFESTS += $(if $(wildcard user/drivers/nvme/main.c),bench-blk-nvme)
$(BUILD)/blk-test.bins: mk/blk.mk | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@printf '%s\n' virtio-blk nvme blk-client blk-ramdisk bench-blk capenv-check > $@
define BLK_MANIFEST
$(BUILD)/bins/$(1).mf: user/tests/$(1).json $(BUILD)/blk-test.bins $(BUILD)/tools/mkmanifest \
		schema/manifest.capnp
	@mkdir -p $$(@D)
	$(BUILD)/tools/mkmanifest --bins-list $(BUILD)/blk-test.bins -o $$@ $$<
BOOT_BINS += $(BUILD)/bins/$(1).mf
endef
$(foreach m,$(BLK_MANIFESTS),$(eval $(call BLK_MANIFEST,$(m))))
