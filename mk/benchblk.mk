# Block I/O benchmark (issue 8): capOS BlockDevice against a Linux guest on the
# same emulated virtio-blk and NVMe devices under the same QEMU/TCG.
# docs/bench-blk.md. The Linux guest (Debian 12 kernel, busybox-static, fio)
# is fetched with apt-get download and assembled under build/bench-blk/.
BENCHBLK_OUT := $(BUILD)/bench-blk
BENCHBLK_INITRD := $(BENCHBLK_OUT)/initramfs.cpio

$(BENCHBLK_INITRD): bench/blk/linux/build-initramfs.sh bench/blk/linux/init
	@bash bench/blk/linux/build-initramfs.sh

.PHONY: bench-blk bench-blk-linux
bench-blk-linux: $(BENCHBLK_INITRD)
# The capOS image is built when it can be; the Linux column runs regardless.
bench-blk: $(BENCHBLK_INITRD)
	@$(MAKE) --no-print-directory image >$(BENCHBLK_OUT)/capos-build.log 2>&1 || \
	  echo "bench-blk: capOS image did not build (see $(BENCHBLK_OUT)/capos-build.log); capOS column empty"
	@$(PYTHON) bench/blk/bench_blk.py
