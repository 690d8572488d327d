# FAT32 read-only reader (lib/fat32, docs/fat32.md).
FAT32_SRCS := lib/fat32/fat32.c lib/fat32/fat32_dir.c lib/blk/bytes.c

HOST_TESTS += test_fat32
test_fat32_SRCS := tests/host/test_fat32.c $(FAT32_SRCS) lib/base/err.c
test_fat32_CFLAGS := -DFAT_TEST_SCRIPT='"$(CURDIR)/tests/host/fat32/mkimages.sh"'

FUZZ_TARGETS += fuzz_fat32
fuzz_fat32_SRCS := tests/fuzz/fuzz_fat32.c $(FAT32_SRCS) lib/base/err.c
