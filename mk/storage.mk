# CAPOSST1 Store, CAPOSWF1 writable filesystem, their crash simulator, fuzz
# targets, image tool and benchmark (issue 7). docs/caposst1.md, docs/caposwf1.md.

STORE_SRCS := lib/store/store.c lib/store/st_mount.c lib/base/crc32c.c lib/base/err.c
RAMDEV_SRCS := tests/host/crashsim/ramdev.c
STORAGE_TEST_CFLAGS := -Itests/host

HOST_TESTS += test_store
test_store_SRCS := tests/host/test_store.c $(STORE_SRCS) $(RAMDEV_SRCS)
test_store_CFLAGS := $(STORAGE_TEST_CFLAGS)

WFS_SRCS := lib/wfs/vol.c lib/wfs/wf_mount.c lib/wfs/wf_ops.c

HOST_TESTS += test_wfs
test_wfs_SRCS := tests/host/test_wfs.c $(WFS_SRCS) $(STORE_SRCS) $(RAMDEV_SRCS)
test_wfs_CFLAGS := $(STORAGE_TEST_CFLAGS)

# Crash simulator: a plain host program (cmocka is linked but unused) so it
# can replay one crash point from an id: build/host/crashsim --id bs=...,r=...
HOST_TESTS += crashsim
crashsim_SRCS := tests/host/crashsim/crashsim.c $(WFS_SRCS) $(STORE_SRCS) $(RAMDEV_SRCS)
crashsim_CFLAGS := $(STORAGE_TEST_CFLAGS) -Itests/host/crashsim

.PHONY: crashsim-long
crashsim-long: $(BUILD)/host/crashsim
	cd $(BUILD) && CRASHSIM_LONG=1 ./host/crashsim

FUZZ_TARGETS += fuzz_store_mount fuzz_wfs_mount
fuzz_store_mount_SRCS := tests/fuzz/fuzz_store_mount.c $(STORE_SRCS) $(RAMDEV_SRCS)
fuzz_wfs_mount_SRCS := tests/fuzz/fuzz_wfs_mount.c $(WFS_SRCS) $(STORE_SRCS) $(RAMDEV_SRCS)

.PHONY: storage-fuzz-seeds
storage-fuzz-seeds: $(STORE_SRCS) $(WFS_SRCS) $(RAMDEV_SRCS) tests/host/crashsim/mkseeds.c
	@mkdir -p $(BUILD)/tools tests/fuzz/corpus/fuzz_store_mount tests/fuzz/corpus/fuzz_wfs_mount
	$(HOSTCC) $(HOST_CFLAGS) -Itests/host/crashsim -o $(BUILD)/tools/storage-mkseeds \
	  tests/host/crashsim/mkseeds.c $(STORE_SRCS) $(WFS_SRCS) $(RAMDEV_SRCS)
	$(BUILD)/tools/storage-mkseeds tests/fuzz/corpus/fuzz_store_mount tests/fuzz/corpus/fuzz_wfs_mount

# The image tool; the CAPOSRO1 commands are linked in when their sources exist.
MKSTORE_RO1_SRCS := $(wildcard tools/mkstore-image/ro1_cmd.c)
MKSTORE_RO1_LIB := $(if $(MKSTORE_RO1_SRCS),$(wildcard lib/ro1/*.c) lib/blk/bytes.c)
HOST_TOOLS += mkstore-image
mkstore-image_SRCS := tools/mkstore-image/main.c \
	$(sort $(WFS_SRCS) $(STORE_SRCS) $(MKSTORE_RO1_SRCS) $(MKSTORE_RO1_LIB))
mkstore-image_CFLAGS := $(if $(MKSTORE_RO1_SRCS),-DMKSTORE_HAVE_RO1) -Itools/mkstore-image

# Benchmark: optimised, no sanitizers; links Debian's libsqlite3 for the comparison.
.PHONY: bench-storage
$(BUILD)/bench/storage: bench/storage/bench.c $(STORE_SRCS) $(WFS_SRCS) $(RAMDEV_SRCS) $(LIB_HEADERS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(HOSTCC) -std=c11 -D_DEFAULT_SOURCE -O2 -g -Wall -Wextra -Werror -Ilib -Itests/host \
	  -o $@ bench/storage/bench.c $(STORE_SRCS) $(WFS_SRCS) $(RAMDEV_SRCS) -lsqlite3
bench-storage: $(BUILD)/bench/storage
	$(BUILD)/bench/storage

# The image tool's test runs the built tool from build/.
HOST_TESTS += test_store_image
test_store_image_SRCS := tests/host/test_store_image.c $(WFS_SRCS) $(STORE_SRCS) $(RAMDEV_SRCS)
test_store_image_CFLAGS := $(STORAGE_TEST_CFLAGS)
$(BUILD)/host/test_store_image: $(BUILD)/tools/mkstore-image
