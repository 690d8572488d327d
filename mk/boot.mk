# Host tests for the boot-time libraries (multiboot2, memory map, frames, formatting).
HOST_TESTS += test_mb2 test_frame_fmt
test_mb2_SRCS := tests/host/test_mb2.c lib/boot/mb2.c lib/boot/memmap.c lib/boot/cmdline.c \
	lib/fmt/fmt.c lib/base/err.c
test_frame_fmt_SRCS := tests/host/test_frame_fmt.c lib/mm/frame.c lib/fmt/fmt.c lib/base/err.c
test_frame_fmt_CFLAGS := -Wno-format-zero-length -Wno-format
FUZZ_TARGETS += fuzz_mb2
fuzz_mb2_SRCS := tests/fuzz/fuzz_mb2.c lib/boot/mb2.c lib/boot/memmap.c lib/fmt/fmt.c lib/base/err.c

# The manifest decoder and validator (lib/manifest, docs/manifest.md) under libFuzzer.
FUZZ_TARGETS += fuzz_manifest
fuzz_manifest_SRCS = tests/fuzz/fuzz_manifest.c $(MANIFEST_LIB_SRCS)
