# CAPOSRO1 read-only image format (lib/ro1, docs/caposro1.md) and the image tool's ro1 commands.
RO1_SRCS := lib/ro1/ro1_read.c lib/ro1/ro1_build.c lib/blk/bytes.c lib/base/crc32c.c lib/base/err.c

HOST_TESTS += test_ro1
test_ro1_SRCS := tests/host/test_ro1.c $(RO1_SRCS)

HOST_TESTS += test_ro1_cmd
test_ro1_cmd_SRCS := tests/host/test_ro1_cmd.c tools/mkstore-image/ro1_cmd.c $(RO1_SRCS)

FUZZ_TARGETS += fuzz_ro1
fuzz_ro1_SRCS := tests/fuzz/fuzz_ro1.c $(RO1_SRCS)

FUZZ_TARGETS += fuzz_ro1_build
fuzz_ro1_build_SRCS := tests/fuzz/fuzz_ro1_build.c $(RO1_SRCS)
