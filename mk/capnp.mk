# Cap'n Proto: the freestanding runtime (lib/capnp), the C code generator
# plugin (tools/capnpc-c), generated headers for schema/*.capnp, tests, fuzz
# targets and the benchmark. See docs/capnp.md.

CAPNP_LIB_SRCS := lib/capnp/read.c lib/capnp/build.c lib/capnp/packed.c
CAPNP_LIB_HDRS := lib/capnp/capnp.h
CAPNPC_C := $(BUILD)/tools/capnpc-c
CAPNPC_C_SRCS := tools/capnpc-c/main.c tools/capnpc-c/emit.c tools/capnpc-c/emit_value.c \
	$(CAPNP_LIB_SRCS)

# The generator is built by its own rule, not HOST_TOOLS: host tools depend on
# GEN_HEADERS, and the generated headers depend on the generator.
$(CAPNPC_C): $(CAPNPC_C_SRCS) $(wildcard tools/capnpc-c/*.h) $(CAPNP_LIB_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(HOSTCC) $(filter-out -fsanitize=%,$(HOST_CFLAGS)) -O2 -Itools -o $@ $(CAPNPC_C_SRCS)

# Every schema/*.capnp becomes build/gen/schema/<name>.capnp.h (include it as
# "schema/<name>.capnp.h"). A header depends on all schemas: imports.
CAPNP_SCHEMAS := $(wildcard schema/*.capnp)
CAPNP_SCHEMA_HEADERS := $(patsubst %,$(BUILD)/gen/%.h,$(CAPNP_SCHEMAS))
$(BUILD)/gen/schema/%.capnp.h: schema/%.capnp $(CAPNP_SCHEMAS) $(CAPNPC_C)
	@mkdir -p $(BUILD)/gen
	capnp compile -o$(CAPNPC_C):$(BUILD)/gen $<

# Test schemas, fixtures encoded by the official tool at build time.
CAPNP_TEST_HEADERS := $(BUILD)/gen/tests/host/capnp/test.capnp.h
$(BUILD)/gen/tests/host/capnp/%.capnp.h: tests/host/capnp/%.capnp $(CAPNPC_C)
	@mkdir -p $(BUILD)/gen
	capnp compile -o$(CAPNPC_C):$(BUILD)/gen $<

CAPNP_FIXTURES := $(patsubst tests/host/capnp/%.txt,$(BUILD)/capnp/%.bin,\
	$(wildcard tests/host/capnp/*.txt))
$(BUILD)/capnp/%.bin: tests/host/capnp/%.txt tests/host/capnp/test.capnp
	@mkdir -p $(@D)
	capnp encode tests/host/capnp/test.capnp $$(head -1 $< | sed -n 's/^# root: *//p') < $< > $@

GEN_HEADERS += $(CAPNP_SCHEMA_HEADERS) $(CAPNP_TEST_HEADERS)
ALL_TARGETS += $(CAPNPC_C) $(CAPNP_SCHEMA_HEADERS) $(CAPNP_TEST_HEADERS) $(CAPNP_FIXTURES)

HOST_TESTS += test_capnp test_capnp_gen
test_capnp_SRCS := tests/host/test_capnp.c $(CAPNP_LIB_SRCS) lib/base/err.c
test_capnp_gen_SRCS := tests/host/test_capnp_gen.c $(CAPNP_LIB_SRCS) lib/base/err.c
# the interop tests read fixtures encoded by the official tool
$(BUILD)/host/test_capnp $(BUILD)/host/test_capnp_gen: $(CAPNP_FIXTURES)

FUZZ_TARGETS += fuzz_capnp_reader fuzz_capnp_packed
fuzz_capnp_reader_SRCS := tests/fuzz/fuzz_capnp_reader.c $(CAPNP_LIB_SRCS)
fuzz_capnp_packed_SRCS := tests/fuzz/fuzz_capnp_packed.c $(CAPNP_LIB_SRCS)

# bench-capnp: our runtime and the official C++ library on the same messages.
CAPNP_BENCH_CXX_GEN := $(BUILD)/gen-cxx/tests/host/capnp/test.capnp.c++
$(CAPNP_BENCH_CXX_GEN): tests/host/capnp/test.capnp | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/gen-cxx
	capnp compile -oc++:$(BUILD)/gen-cxx $<
$(BUILD)/bench/bench-capnp: bench/capnp/bench.cc bench/capnp/bench_c.c bench/capnp/bench_capnp.h \
		$(CAPNP_LIB_SRCS) $(CAPNP_LIB_HDRS) $(CAPNP_TEST_HEADERS) $(CAPNP_BENCH_CXX_GEN)
	@mkdir -p $(@D)
	$(HOSTCC) -std=c11 -O2 -Wall -Wextra -Werror -Ilib -I$(BUILD)/gen -Ibench/capnp -c \
		bench/capnp/bench_c.c -o $(@D)/bench_c.o
	for f in $(CAPNP_LIB_SRCS); do \
		$(HOSTCC) -std=c11 -O2 -Wall -Wextra -Werror -Ilib -c $$f -o $(@D)/capnp_$$(basename $$f .c).o || exit 1; \
	done
	g++ -std=c++17 -O2 -Wall -I$(BUILD)/gen-cxx -Ibench/capnp -o $@ bench/capnp/bench.cc \
		$(CAPNP_BENCH_CXX_GEN) $(@D)/bench_c.o $(patsubst lib/capnp/%.c,$(@D)/capnp_%.o,$(CAPNP_LIB_SRCS)) \
		-lcapnp-rpc -lcapnp -lkj-async -lkj
.PHONY: bench-capnp
bench-capnp: $(BUILD)/bench/bench-capnp
	$(BUILD)/bench/bench-capnp $(BENCH_SECONDS)

# The runtime must build freestanding with kernel code-generation flags (no
# SSE/x87, kernel code model): checked on every `make`.
CAPNP_FREESTANDING_FLAGS := -std=c11 -O2 -Wall -Wextra -Werror -Wmissing-prototypes -ffreestanding \
	-fno-builtin -fno-pic -fno-pie -mno-red-zone -mno-mmx -mno-sse -mno-sse2 -mno-80387 \
	-mcmodel=kernel -Ilib
$(BUILD)/capnp/freestanding.ok: $(CAPNP_LIB_SRCS) $(CAPNP_LIB_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@for f in $(CAPNP_LIB_SRCS); do \
		$(HOSTCC) $(CAPNP_FREESTANDING_FLAGS) -c $$f -o $(@D)/fs_$$(basename $$f .c).o || exit 1; \
	done
	@touch $@
ALL_TARGETS += $(BUILD)/capnp/freestanding.ok
