# Boot manifest: the validator library (lib/manifest), the host tool
# mkmanifest, the default system manifest and their tests. docs/manifest.md.

MANIFEST_LIB_SRCS := lib/manifest/validate.c lib/manifest/util.c lib/base/err.c

HOST_TESTS += test_manifest
test_manifest_SRCS := tests/host/test_manifest.c $(MANIFEST_LIB_SRCS)
