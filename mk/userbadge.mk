# Endpoint badges (docs/kernel-abi.md, "Badges"): the badgetest program and
# its manifest, booted by tests/system/test_badge.py with
# capos.manifest=test-badge.mf. After user.mk (USER_PROG, $(IMAGE)).

$(eval $(call USER_PROG,badgetest,user/tests/badgetest.c))
$(BUILD)/badge-test.bins: mk/userbadge.mk | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@printf '%s\n' badgetest > $@
BADGE_MANIFESTS := $(BUILD)/bins/test-badge.mf
$(BADGE_MANIFESTS): $(BUILD)/bins/%.mf: user/tests/%.json $(BUILD)/badge-test.bins $(MKMANIFEST) \
		schema/manifest.capnp
	@mkdir -p $(@D)
	$(MKMANIFEST) --bins-list $(BUILD)/badge-test.bins -o $@ $<
$(IMAGE): $(BUILD)/bins/badgetest $(BADGE_MANIFESTS)
