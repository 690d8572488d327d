# Boot manifest: the validator library (lib/manifest), the host tool
# mkmanifest, the default system manifest and their tests. docs/manifest.md.

MANIFEST_LIB_SRCS = lib/manifest/decode.c lib/manifest/validate.c lib/manifest/util.c \
	$(CAPNP_LIB_SRCS) lib/base/err.c

HOST_TOOLS += mkmanifest
mkmanifest_SRCS = tools/mkmanifest/main.c tools/mkmanifest/jsonkeys.c $(MANIFEST_LIB_SRCS)
mkmanifest_CFLAGS = -DMKMANIFEST_SCHEMA='"$(CURDIR)/schema/manifest.capnp"'
MKMANIFEST := $(BUILD)/tools/mkmanifest

# Validator rules, one cmocka case each, on hand-built models.
HOST_TESTS += test_manifest
test_manifest_SRCS = tests/host/test_manifest.c lib/manifest/validate.c lib/manifest/util.c \
	lib/base/err.c

# Decoder: messages built with the generated builders, hostile ones included.
HOST_TESTS += test_manifest_decode
test_manifest_decode_SRCS = tests/host/test_manifest_decode.c $(MANIFEST_LIB_SRCS)

# End to end: mkmanifest on JSON/text fixtures (tests/host/manifest/), good
# and each bad case, plus manifests/system.json.
HOST_TESTS += test_manifest_tool
test_manifest_tool_SRCS = tests/host/test_manifest_tool.c
test_manifest_tool_CFLAGS = -DSRC_ROOT='"$(CURDIR)"' -DMKMANIFEST='"$(CURDIR)/$(MKMANIFEST)"'
$(BUILD)/host/test_manifest_tool: $(MKMANIFEST)

# The default boot package: the binary manifest init reads and the module
# list for /boot/bins/. MANIFEST_BINS names the available binaries: a list
# file (default) or, with MANIFEST_BINS_DIR, the directory of built binaries
# (the image build sets MANIFEST_BINS_DIR=$(BUILD)/bins once init and the
# services of manifests/system.json are built there: mk/kernel.mk BOOT_BINS).
SYSTEM_MANIFEST ?= manifests/system.json
MANIFEST_BINS ?= manifests/system.bins
MANIFEST_BINS_DIR ?=
BOOT_MANIFEST := $(BUILD)/boot/manifest.bin
BOOT_MODULES := $(BUILD)/boot/modules.list
$(BOOT_MANIFEST) $(BOOT_MODULES) &: $(SYSTEM_MANIFEST) $(MANIFEST_BINS) $(MKMANIFEST) \
		schema/manifest.capnp $(if $(MANIFEST_BINS_DIR),$(BOOT_BINS))
	@mkdir -p $(@D)
	$(MKMANIFEST) $(if $(MANIFEST_BINS_DIR),--bins $(MANIFEST_BINS_DIR),--bins-list $(MANIFEST_BINS)) \
		-o $(BOOT_MANIFEST) --modules $(BOOT_MODULES) $(SYSTEM_MANIFEST)
.PHONY: manifest
manifest: $(BOOT_MANIFEST)
ALL_TARGETS += $(BOOT_MANIFEST)
