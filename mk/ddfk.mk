# The kernel device manager (kernel/ddf, docs/device-manager.md "Kernel
# integration"): lib/ddf linked into the kernel, the QEMU tests and the
# bench-ddf instruction counts. kernel/ddf/*.c is picked up by kernel.mk.
KERNEL_LIB_SRCS += lib/ddf/ddf_ledger.c lib/ddf/ddf_mmio.c lib/ddf/ddf_dma.c lib/ddf/ddf_check.c \
	lib/ddf/ddf_validate.c lib/ddf/ddf_broker.c lib/ddf/ddf_audit.c
