# Processes, capabilities, the ring, endpoints, scheduling and init (issue 4):
# host tests for the pure pieces, the userspace runtime and programs, the
# manifest boot module, and bench-ipc. docs/processes.md, docs/kernel-abi.md.

HOST_TESTS += test_elf test_ring
test_elf_SRCS := tests/host/test_elf.c lib/elf/elf.c lib/base/err.c
test_ring_SRCS := tests/host/test_ring.c

# Libraries the process/cap kernel code links. kernel.mk computes its object
# list when it is read (before this fragment), so add the objects directly;
# the link recipe expands KERNEL_OBJS when it runs.
PROC_KERNEL_LIB_SRCS := lib/elf/elf.c lib/capnp/read.c lib/capnp/build.c
PROC_KERNEL_LIB_OBJS := $(patsubst %,$(BUILD)/kobj/%.o,$(PROC_KERNEL_LIB_SRCS))
KERNEL_OBJS += $(filter-out $(KERNEL_OBJS),$(PROC_KERNEL_LIB_OBJS))
$(KERNEL_ELF): $(PROC_KERNEL_LIB_OBJS)

# ---- userspace: runtime, init, test services ----
USER_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -Wmissing-prototypes -Wno-unused-parameter \
	-ffreestanding -fno-builtin -fno-stack-protector -fno-pic -fno-pie -mgeneral-regs-only \
	-fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns \
	-Ilib -Iuser/lib -I$(BUILD)/gen -DCAPOS_USER
USER_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,max-page-size=0x1000 \
	-Wl,--no-warn-rwx-segments -T user/lib/user.ld
USER_RT_SRCS := user/lib/crt0.S user/lib/rt.c user/lib/rpc.c user/lib/mem.c lib/fmt/fmt.c lib/base/err.c \
	lib/capnp/read.c lib/capnp/build.c
USER_HDRS := $(wildcard user/lib/*.h) $(LIB_HEADERS)

$(BUILD)/uobj/%.c.o: %.c $(USER_HDRS) $(GEN_HEADERS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  UCC     $<"
	@$(CC) $(USER_CFLAGS) -c $< -o $@
$(BUILD)/uobj/%.S.o: %.S | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@$(CC) $(USER_CFLAGS) -c $< -o $@

# USER_PROG name, sources: build/bins/name
define USER_PROG
$(BUILD)/bins/$(1): $(patsubst %,$(BUILD)/uobj/%.o,$(2) $(USER_RT_SRCS)) user/lib/user.ld
	@mkdir -p $$(@D)
	@echo "  ULD     $$@"
	@$(CC) $(USER_CFLAGS) $(USER_LDFLAGS) -o $$@ $$(filter %.o,$$^) -lgcc
BOOT_BINS += $(BUILD)/bins/$(1)
endef
$(eval $(call USER_PROG,init,user/init/main.c lib/manifest/decode.c lib/manifest/validate.c lib/manifest/util.c))
$(eval $(call USER_PROG,captest,user/tests/captest.c))

# The services of manifests/system.json are roles of captest (by process name).
SYSTEM_SERVICE_BINS := $(addprefix $(BUILD)/bins/,echo-server echo-demo hello)
$(SYSTEM_SERVICE_BINS): $(BUILD)/bins/captest
	cp $< $@
BOOT_BINS += $(SYSTEM_SERVICE_BINS)

# Malformed ELF modules for the loader tests.
BAD_ELF_BINS := $(addprefix $(BUILD)/bins/,bad-magic bad-kernel-half bad-overlap bad-truncated bad-filesz)
$(BAD_ELF_BINS) &: $(BUILD)/bins/captest user/tests/mkbadelf.py
	$(PYTHON) user/tests/mkbadelf.py $< $(BUILD)/bins
BOOT_BINS += $(BAD_ELF_BINS)

# Manifests as boot modules: the system one (default, manifest.bin) and the
# test ones, chosen with capos.manifest=NAME on the kernel command line.
$(BUILD)/bins/manifest.bin: $(SYSTEM_MANIFEST) $(MANIFEST_BINS) $(MKMANIFEST) schema/manifest.capnp
	@mkdir -p $(@D)
	$(MKMANIFEST) --bins-list $(MANIFEST_BINS) -o $@ $(SYSTEM_MANIFEST)
$(BUILD)/bins/%.mf: user/tests/%.json user/tests/test.bins $(MKMANIFEST) schema/manifest.capnp
	@mkdir -p $(@D)
	$(MKMANIFEST) --bins-list user/tests/test.bins -o $@ $<
USER_MANIFESTS := $(BUILD)/bins/manifest.bin $(BUILD)/bins/test-ipc.mf $(BUILD)/bins/test-bench.mf $(BUILD)/bins/test-restart.mf $(BUILD)/bins/test-reclaim.mf $(BUILD)/bins/test-fpu.mf
BOOT_BINS += $(USER_MANIFESTS)
# kernel.mk's image rule read BOOT_BINS before this fragment: add them here.
$(IMAGE): $(BOOT_BINS)

# ---- bench-ipc: guest instructions under -icount for IPC round trips ----
.PHONY: bench-ipc
bench-ipc: $(IMAGE)
	$(PYTHON) bench/ipc/run.py
