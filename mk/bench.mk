# Boot-time benchmark: capOS against a bare multiboot2 kernel (firmware + GRUB floor).
BARE_ELF := $(BUILD)/bench/bare.elf
BARE_IMG := $(BUILD)/bench/bare.img

$(BARE_ELF): bench/boot/bare.S | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) -m32 -c $< -o $(BUILD)/bench/bare.o
	ld -m elf_i386 -Ttext 0x200000 -e _start -o $@ $(BUILD)/bench/bare.o

$(BARE_IMG): $(BARE_ELF) scripts/mkimage.sh
	CAPOS_KERNEL=$(BARE_ELF) CAPOS_BARE=1 bash scripts/mkimage.sh $@ ""

.PHONY: bench-boot
bench-boot: $(IMAGE) $(BARE_IMG)
	@$(PYTHON) bench/boot/bench_boot.py
