# Device-driver foundation: the device-manager ledger, validators and audit
# log (lib/ddf, docs/device-manager.md). The kernel wraps the same sources.
DDF_SRCS := lib/ddf/ddf_ledger.c lib/ddf/ddf_mmio.c lib/ddf/ddf_dma.c lib/ddf/ddf_share.c lib/ddf/ddf_check.c \
	lib/ddf/ddf_validate.c lib/ddf/ddf_broker.c lib/ddf/ddf_audit.c lib/fmt/fmt.c lib/base/err.c

HOST_TESTS += test_ddf
test_ddf_SRCS := tests/host/test_ddf.c tests/host/test_ddf_fake.c $(DDF_SRCS)

HOST_TESTS += test_ddf_validate
test_ddf_validate_SRCS := tests/host/test_ddf_validate.c $(DDF_SRCS)

FUZZ_TARGETS += fuzz_ddf
fuzz_ddf_SRCS := tests/fuzz/fuzz_ddf.c tests/host/test_ddf_fake.c $(DDF_SRCS)

# The library must also build freestanding with the kernel's flags (it is
# not linked into the kernel yet: the kernel's device manager will add it).
DDF_KOBJS := $(patsubst %.c,$(BUILD)/ddf-kcheck/%.o,$(filter lib/ddf/%,$(DDF_SRCS)))
$(BUILD)/ddf-kcheck/%.o: %.c $(LIB_HEADERS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  KCC     $< (freestanding check)"
	@$(CC) $(KERNEL_CFLAGS) -c $< -o $@
ALL_TARGETS += $(DDF_KOBJS)
