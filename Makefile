# capOS top-level Makefile.
#
#   make            build everything (kernel, boot modules, image, host tools, tests)
#   make run        boot capOS in QEMU (UEFI, hybrid image as a disk), COM1 on the terminal
#   make test       run every test: host unit tests, fuzz smoke, QEMU system tests
#
# Each subsystem lives in its own fragment under mk/ and registers itself by
# appending to the variables below; this file holds only the shared machinery.

.DEFAULT_GOAL := all
SHELL := /bin/bash
BUILD := build
HOSTCC ?= gcc
FUZZCC ?= clang
PYTHON := /usr/bin/python3

# Fragments append to these.
ALL_TARGETS :=        # files `make` builds
HOST_TESTS :=         # cmocka test names; each defines NAME_SRCS (and optional NAME_CFLAGS, NAME_LIBS)
HOST_TOOLS :=         # host tool names; each defines NAME_SRCS, built to $(BUILD)/tools/NAME
FUZZ_TARGETS :=       # libFuzzer target names; each defines NAME_SRCS; seeds in tests/fuzz/corpus/NAME/
GEN_HEADERS :=        # generated headers that sources may include (built before compiling)

# Every build step needs the toolchain; the install script is a no-op when all is present.
DEPS_STAMP := $(BUILD)/.deps-ok
$(DEPS_STAMP): scripts/install-deps.sh
	@mkdir -p $(BUILD)
	@bash scripts/install-deps.sh
	@touch $@
.PHONY: deps
deps: $(DEPS_STAMP)

LIB_HEADERS := $(shell find lib -name '*.h' 2>/dev/null)

HOST_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -O1 -g -Wall -Wextra -Werror -Wmissing-prototypes \
	-Wno-unused-parameter -Ilib -I$(BUILD)/gen -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-Ilib -I$(BUILD)/gen -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

include $(sort $(wildcard mk/*.mk))

define HOST_TEST_RULE
$(BUILD)/host/$(1): $$($(1)_SRCS) $(LIB_HEADERS) $(GEN_HEADERS) | $(DEPS_STAMP)
	@mkdir -p $$(@D)
	$(HOSTCC) $(HOST_CFLAGS) $$($(1)_CFLAGS) -o $$@ $$($(1)_SRCS) -lcmocka $$($(1)_LIBS)
endef
define HOST_TOOL_RULE
$(BUILD)/tools/$(1): $$($(1)_SRCS) $(LIB_HEADERS) $(GEN_HEADERS) | $(DEPS_STAMP)
	@mkdir -p $$(@D)
	$(HOSTCC) $(filter-out -fsanitize=address%,$(HOST_CFLAGS)) -O2 $$($(1)_CFLAGS) -o $$@ $$($(1)_SRCS) $$($(1)_LIBS)
endef
define FUZZ_RULE
$(BUILD)/fuzz/$(1): $$($(1)_SRCS) $(LIB_HEADERS) $(GEN_HEADERS) | $(DEPS_STAMP)
	@mkdir -p $$(@D)
	$(FUZZCC) $(FUZZ_CFLAGS) $$($(1)_CFLAGS) -o $$@ $$($(1)_SRCS) $$($(1)_LIBS)
endef
$(foreach t,$(HOST_TESTS),$(eval $(call HOST_TEST_RULE,$(t))))
$(foreach t,$(HOST_TOOLS),$(eval $(call HOST_TOOL_RULE,$(t))))
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

HOST_TEST_BINS := $(addprefix $(BUILD)/host/,$(HOST_TESTS))
HOST_TOOL_BINS := $(addprefix $(BUILD)/tools/,$(HOST_TOOLS))
FUZZ_BINS := $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))

.PHONY: all host-tests fuzz-bins test test-host test-fuzz-smoke test-system fuzz clean
all: $(ALL_TARGETS) $(HOST_TOOL_BINS) $(HOST_TEST_BINS)
host-tests: $(HOST_TEST_BINS)
fuzz-bins: $(FUZZ_BINS)

# `make test`: every level, then one summary line (scripts/run-tests.sh).
test: all fuzz-bins
	@HOST_TESTS="$(HOST_TESTS)" FUZZ_TARGETS="$(FUZZ_TARGETS)" bash scripts/run-tests.sh all
test-host: $(HOST_TEST_BINS)
	@HOST_TESTS="$(HOST_TESTS)" bash scripts/run-tests.sh host
test-fuzz-smoke: $(FUZZ_BINS)
	@FUZZ_TARGETS="$(FUZZ_TARGETS)" bash scripts/run-tests.sh fuzz
test-system: all
	@bash scripts/run-tests.sh system

# Longer fuzzing: FUZZ_SECONDS per target (default 300).
FUZZ_SECONDS ?= 300
fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/corpus/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    $(BUILD)/fuzz/corpus/$$t $$( [ -d tests/fuzz/corpus/$$t ] && echo tests/fuzz/corpus/$$t ) || exit 1; \
	done

clean:
	rm -rf $(BUILD)
