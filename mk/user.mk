# Processes, capabilities, the ring, endpoints, scheduling and init (issue 4):
# host tests for the pure pieces, the userspace runtime and programs, the
# manifest boot module, and bench-ipc. docs/processes.md, docs/kernel-abi.md.

HOST_TESTS += test_elf
test_elf_SRCS := tests/host/test_elf.c lib/elf/elf.c lib/base/err.c
KERNEL_LIB_SRCS += lib/elf/elf.c
