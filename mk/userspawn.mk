# ProcessBuilder checks (issue 4, docs/processes.md "Spawning"): the
# spawntest program and its manifest, booted by tests/system/test_spawn.py
# with capos.manifest=test-spawn.mf. After user.mk (USER_PROG, $(IMAGE)).

$(eval $(call USER_PROG,spawntest,user/tests/spawntest.c))
$(BUILD)/spawn-test.bins: mk/userspawn.mk | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@printf '%s\n' spawntest > $@
# test-spawn: the builder checks; test-burst: kernel stacks of dead
# processes go back to the page allocator (tests/system/test_reclaim.py)
SPAWN_MANIFESTS := $(BUILD)/bins/test-spawn.mf $(BUILD)/bins/test-burst.mf
$(SPAWN_MANIFESTS): $(BUILD)/bins/%.mf: user/tests/%.json $(BUILD)/spawn-test.bins $(MKMANIFEST) \
		schema/manifest.capnp
	@mkdir -p $(@D)
	$(MKMANIFEST) --bins-list $(BUILD)/spawn-test.bins -o $@ $<
$(IMAGE): $(BUILD)/bins/spawntest $(SPAWN_MANIFESTS)
