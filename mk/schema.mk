# Cap'n Proto schemas (schema/*.capnp) and their compatibility check against
# the released snapshot (schema/released/). docs/schemas.md.

SCHEMA_FILES := $(wildcard schema/*.capnp)

# Host test: tools/schema-compat passes on the tree and fails on breaking
# edits made to a temporary copy (tests/host/test_schema_compat.c).
HOST_TESTS += test_schema_compat
test_schema_compat_SRCS := tests/host/test_schema_compat.c
test_schema_compat_CFLAGS := -DSRC_ROOT='"$(CURDIR)"'

.PHONY: schema-check schema-compat
# Every schema compiles with the official compiler.
schema-check: | $(DEPS_STAMP)
	capnp compile -o- --src-prefix=schema $(SCHEMA_FILES) >/dev/null
# The current schemas keep every released id, ordinal, type and enum value.
schema-compat: schema-check
	$(PYTHON) tools/schema-compat schema/released schema

# Host test: all generated schema headers in one translation unit, the
# seed-fixed ordinals, the exception codes and interface ids.
HOST_TESTS += test_schema_abi
test_schema_abi_SRCS = tests/host/test_schema_abi.c
