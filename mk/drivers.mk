# Userspace block-driver cores (issue 8): the virtio PCI transport, virtio-blk,
# NVMe and the BlockDevice server core, written against user/drivers/devenv.h
# and tested on the host against device models (tests/host/drivers: test
# fixtures, not drivers). docs/drivers.md. The binding of devenv.h to the
# kernel's DeviceMmio/Interrupt/DMAPool/DMABuffer caps waits for the kernel
# device manager, so nothing here is linked into a boot module yet.

VIRTIO_SRCS := user/drivers/virtio/virtio_pci.c user/drivers/virtio/virtq.c
VBLK_SRCS := user/drivers/virtio_blk/virtio_blk.c user/drivers/blkserv.c $(VIRTIO_SRCS)
NVME_SRCS := user/drivers/nvme/nvme.c user/drivers/blkserv.c
DRV_FAKE_SRCS := tests/host/drivers/fake_env.c lib/base/err.c

HOST_TESTS += test_virtio
test_virtio_SRCS := tests/host/test_virtio.c tests/host/drivers/vblk_model.c $(VBLK_SRCS) $(DRV_FAKE_SRCS)

HOST_TESTS += test_nvme
test_nvme_SRCS := tests/host/test_nvme.c tests/host/drivers/nvme_model.c $(NVME_SRCS) $(DRV_FAKE_SRCS)

FUZZ_TARGETS += fuzz_nvme_cqe fuzz_virtio_used
fuzz_nvme_cqe_SRCS := tests/fuzz/fuzz_nvme_cqe.c tests/host/drivers/nvme_model.c $(NVME_SRCS) $(DRV_FAKE_SRCS)
fuzz_virtio_used_SRCS := tests/fuzz/fuzz_virtio_used.c tests/host/drivers/vblk_model.c $(VBLK_SRCS) $(DRV_FAKE_SRCS)

# The driver cores are freestanding (no libc beyond base/mem.h): check they
# build with the kernel's flags, as the userspace runtime will build them.
DRV_CORE_SRCS := $(sort $(VBLK_SRCS) $(NVME_SRCS))
DRV_KOBJS := $(patsubst %.c,$(BUILD)/drivers-kcheck/%.o,$(DRV_CORE_SRCS))
$(BUILD)/drivers-kcheck/%.o: %.c $(LIB_HEADERS) $(wildcard user/drivers/*.h user/drivers/*/*.h) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  KCC     $< (freestanding check)"
	@$(CC) $(KERNEL_CFLAGS) -c $< -o $@
ALL_TARGETS += $(DRV_KOBJS)

# A real consumer over the drivers: CAPOSST1 (lib/store) on NVMe and
# virtio-blk through BlockDevice. Recursive `=`: STORE_SRCS comes from
# mk/storage.mk, read after this fragment.
HOST_TESTS += test_nvme_store
test_nvme_store_SRCS = tests/host/test_nvme_store.c tests/host/drivers/nvme_model.c \
	tests/host/drivers/vblk_model.c $(sort $(VBLK_SRCS) $(NVME_SRCS) $(STORE_SRCS) $(DRV_FAKE_SRCS))
