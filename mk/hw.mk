# Hardware discovery and interrupts (issue 5): ACPI parsers and the interrupt
# route table in lib/, their host tests and fuzz target, `make run-diag`
# (the COM1 diagnostics console) and `make bench-irq`.

KERNEL_LIB_SRCS += lib/acpi/acpi.c lib/irq/route.c

HOST_TESTS += test_acpi test_irq
test_acpi_SRCS := tests/host/test_acpi.c lib/acpi/acpi.c lib/fmt/fmt.c lib/base/err.c
test_irq_SRCS := tests/host/test_irq.c lib/irq/route.c lib/base/err.c

FUZZ_TARGETS += fuzz_acpi
fuzz_acpi_SRCS := tests/fuzz/fuzz_acpi.c lib/acpi/acpi.c lib/fmt/fmt.c lib/base/err.c

DIAG_IMAGE := $(BUILD)/capos-diag.img
DIAG_CMDLINE := capos.mode=diag

$(DIAG_IMAGE): $(KERNEL_ELF) $(KERNEL_SYM) $(BOOT_BINS) scripts/mkimage.sh
	@echo "  IMAGE   $@"
	@bash scripts/mkimage.sh $@ "$(DIAG_CMDLINE)"

.PHONY: run-diag run-diag-bios bench-irq
# Interactive: the console on this terminal (q35, OVMF). Type `halt` to leave.
run-diag: $(DIAG_IMAGE) $(BUILD)/OVMF_VARS.fd
	-$(QEMU) -M q35 $(QEMU_COMMON) \
	  -drive if=pflash,format=raw,readonly=on,file=$(OVMF_CODE) \
	  -drive if=pflash,format=raw,file=$(BUILD)/OVMF_VARS.fd \
	  -drive file=$(DIAG_IMAGE),format=raw,if=ide,snapshot=on
run-diag-bios: $(DIAG_IMAGE)
	-$(QEMU) -M pc $(QEMU_COMMON) -drive file=$(DIAG_IMAGE),format=raw,if=ide,snapshot=on

# Guest instruction counts of the interrupt path under -icount shift=0 (bench/irq/README.md).
bench-irq: $(KERNEL_ELF) $(KERNEL_SYM)
	@$(PYTHON) bench/irq/run.py
