# The demand-zero heap (docs/processes.md "Memory"): the memtest program and
# its manifest, booted by tests/system/test_mem.py with
# capos.manifest=test-mem.mf. After user.mk (USER_PROG, $(IMAGE)).

$(eval $(call USER_PROG,memtest,user/tests/memtest.c))
$(BUILD)/mem-test.bins: mk/usermem.mk | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@printf '%s\n' memtest > $@
# test-mem: the heap checks; test-mem-oom: out of memory on a small machine
MEM_MANIFESTS := $(BUILD)/bins/test-mem.mf $(BUILD)/bins/test-mem-oom.mf
$(MEM_MANIFESTS): $(BUILD)/bins/%.mf: user/tests/%.json $(BUILD)/mem-test.bins $(MKMANIFEST) \
		schema/manifest.capnp
	@mkdir -p $(@D)
	$(MKMANIFEST) --bins-list $(BUILD)/mem-test.bins -o $@ $<
$(IMAGE): $(BUILD)/bins/memtest $(MEM_MANIFESTS)
