# CAPOSST1 Store, CAPOSWF1 writable filesystem, their crash simulator, fuzz
# targets, image tool and benchmark (issue 7). docs/caposst1.md, docs/caposwf1.md.

STORE_SRCS := lib/store/store.c lib/base/crc32c.c lib/base/err.c
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
