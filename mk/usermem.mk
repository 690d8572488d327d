# The demand-zero heap (docs/processes.md "Memory"): the memtest program and
# its manifest, booted by tests/system/test_mem.py with
# capos.manifest=test-mem.mf. After user.mk (USER_PROG, $(IMAGE)).

$(eval $(call USER_PROG,memtest,user/tests/memtest.c))
$(BUILD)/mem-test.bins: mk/usermem.mk | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@printf '%s\n' memtest > $@
$(BUILD)/bins/test-mem.mf: user/tests/test-mem.json $(BUILD)/mem-test.bins $(MKMANIFEST) \
		schema/manifest.capnp
	@mkdir -p $(@D)
	$(MKMANIFEST) --bins-list $(BUILD)/mem-test.bins -o $@ $<
$(IMAGE): $(BUILD)/bins/memtest $(BUILD)/bins/test-mem.mf
