# The kernel, its symbol module, and the boot image.

KERNEL_ELF := $(BUILD)/kernel/capos.elf
KERNEL_SYM := $(BUILD)/kernel/kernel.sym
IMAGE := $(BUILD)/capos.img
KERNEL_CMDLINE ?=

KERNEL_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -Wmissing-prototypes -Wno-unused-parameter \
	-ffreestanding -fno-builtin -fno-stack-protector -fno-pic -fno-pie -mno-red-zone \
	-mno-mmx -mno-sse -mno-sse2 -mno-80387 -mcmodel=kernel -fno-omit-frame-pointer \
	-fno-tree-loop-distribute-patterns -fno-asynchronous-unwind-tables \
	-Ikernel -Ilib -I$(BUILD)/gen -DCAPOS_KERNEL
KERNEL_LDFLAGS := -nostdlib -static -z max-page-size=0x1000 -no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
	-T kernel/kernel.ld

# Libraries from lib/ linked into the kernel; other fragments append.
KERNEL_LIB_SRCS += lib/base/err.c lib/base/crc32c.c lib/fmt/fmt.c lib/boot/mb2.c \
	lib/boot/memmap.c lib/boot/cmdline.c lib/mm/frame.c

KERNEL_SRCS := $(shell find kernel -name '*.c' -o -name '*.S' | sort) $(KERNEL_LIB_SRCS)
KERNEL_OBJS := $(patsubst %,$(BUILD)/kobj/%.o,$(KERNEL_SRCS))
KERNEL_HDRS := $(shell find kernel -name '*.h') $(LIB_HEADERS)

$(BUILD)/kobj/%.c.o: %.c $(KERNEL_HDRS) $(GEN_HEADERS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  KCC     $<"
	@$(CC) $(KERNEL_CFLAGS) -c $< -o $@
$(BUILD)/kobj/%.S.o: %.S | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  KAS     $<"
	@$(CC) $(KERNEL_CFLAGS) -c $< -o $@

$(KERNEL_ELF): $(KERNEL_OBJS) kernel/kernel.ld
	@mkdir -p $(@D)
	@echo "  KLD     $@"
	@$(CC) $(KERNEL_CFLAGS) $(KERNEL_LDFLAGS) -o $@ $(KERNEL_OBJS) -lgcc

$(KERNEL_SYM): $(KERNEL_ELF)
	nm -n $< | awk '$$2 ~ /^[tT]$$/ && $$1 ~ /^ffffffff8/' > $@

# Boot binaries (init, drivers, services) that go to /boot/bins/; fragments append.
BOOT_BINS +=

$(IMAGE): $(KERNEL_ELF) $(KERNEL_SYM) $(BOOT_BINS) scripts/mkimage.sh
	@echo "  IMAGE   $@"
	@bash scripts/mkimage.sh $@ "$(KERNEL_CMDLINE)"

.PHONY: image kernel
kernel: $(KERNEL_ELF)
image: $(IMAGE)
ALL_TARGETS += $(KERNEL_ELF) $(IMAGE)

OVMF_CODE := /usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS := /usr/share/OVMF/OVMF_VARS_4M.fd
QEMU := qemu-system-x86_64
QEMU_COMMON := -m 512M -no-reboot -serial mon:stdio -display none \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 $(QEMU_EXTRA)

$(BUILD)/OVMF_VARS.fd: | $(DEPS_STAMP)
	@mkdir -p $(@D)
	cp $(OVMF_VARS) $@

.PHONY: run run-disk run-disk-bios run-iso
# QEMU exits 33 for a passing isa-debug-exit and 35 for a failing one; `make run` is interactive.
run: run-disk
run-disk: $(IMAGE) $(BUILD)/OVMF_VARS.fd
	-$(QEMU) -M q35 $(QEMU_COMMON) \
	  -drive if=pflash,format=raw,readonly=on,file=$(OVMF_CODE) \
	  -drive if=pflash,format=raw,file=$(BUILD)/OVMF_VARS.fd \
	  -drive file=$(IMAGE),format=raw,if=ide,snapshot=on
run-disk-bios: $(IMAGE)
	-$(QEMU) -M pc $(QEMU_COMMON) -drive file=$(IMAGE),format=raw,if=ide,snapshot=on
run-iso: $(IMAGE)
	-$(QEMU) -M pc $(QEMU_COMMON) -cdrom $(IMAGE)
