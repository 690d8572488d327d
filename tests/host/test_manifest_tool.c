/*
 * mkmanifest end to end (tools/mkmanifest, docs/manifest.md).
 *
 * Runs the built tool on the fixtures in tests/host/manifest/: the good
 * manifest as JSON, as capnp text and as binary, with the available binaries
 * given as a list and as a directory; then each bad fixture (one rule broken
 * per file; misspelled fields, which capnp's JSON decoder would ignore,
 * included) must exit 1 with a message naming the offending entry and leave
 * no output behind. The written manifest must be the official encoder's
 * bytes for the input, and the module list the distinct binaries in
 * first-use order. manifests/system.json must validate too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef SRC_ROOT
#define SRC_ROOT ".."
#endif
#ifndef MKMANIFEST
#define MKMANIFEST "tools/mkmanifest"
#endif

#define FIX SRC_ROOT "/tests/host/manifest"

static char tmpdir[64];
static char out_buf[1 << 16];

static int
run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0, r;
	int st;

	assert_non_null(p);
	while (n + 1 < sizeof(out_buf) && (r = fread(out_buf + n, 1, sizeof(out_buf) - 1 - n, p)) > 0)
		n += r;
	out_buf[n] = '\0';
	char sink[4096];
	while (fread(sink, 1, sizeof(sink), p) > 0)
		;
	st = pclose(p);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static int
mkmanifest(const char *bins_opt, const char *input, const char *extra)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "%s %s -o %s/out.bin --modules %s/modules.list %s %s 2>&1",
	    MKMANIFEST, bins_opt, tmpdir, tmpdir, extra ? extra : "", input);
	return run(cmd);
}

static int
exists(const char *name)
{
	char path[256];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return stat(path, &st) == 0;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = malloc(1 << 16);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 16) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/capos-mkmanifest-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
clean_outputs(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/out.bin", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/modules.list", tmpdir);
	unlink(path);
}

static void
expect_good_outputs(void)
{
	char path[256], cmd[1024];
	size_t n1, n2;

	snprintf(path, sizeof(path), "%s/modules.list", tmpdir);
	char *mods = slurp(path, &n1);
	assert_string_equal(mods, "app\nstore\nvirtio-blk\nhello\n");
	free(mods);

	/* Byte-for-byte the official encoder's message for the same input. */
	snprintf(cmd, sizeof(cmd),
	    "capnp convert json:binary %s/schema/manifest.capnp BootManifest < %s/good.json > %s/ref.bin",
	    SRC_ROOT, FIX, tmpdir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/ref.bin", tmpdir);
	char *ref = slurp(path, &n1);
	snprintf(path, sizeof(path), "%s/out.bin", tmpdir);
	char *got = slurp(path, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(ref, got, n1);
	free(ref);
	free(got);
}

/* ---- good inputs ---- */

static void
test_good_json(void **state)
{
	(void)state;
	clean_outputs();
	if (mkmanifest("--bins-list " FIX "/bins.list", FIX "/good.json", NULL) != 0)
		fail_msg("mkmanifest failed:\n%s", out_buf);
	assert_non_null(strstr(out_buf, "ok: 4 services, 9 grants, 4 modules; start order: blk hello store app"));
	expect_good_outputs();
}

static void
test_good_text(void **state)
{
	(void)state;
	clean_outputs();
	if (mkmanifest("--bins-list " FIX "/bins.list", FIX "/good.txt", NULL) != 0)
		fail_msg("mkmanifest failed:\n%s", out_buf);
	expect_good_outputs();
}

static void
test_good_binary(void **state)
{
	char cmd[1024], in[256];
	(void)state;
	snprintf(in, sizeof(in), "%s/in.bin", tmpdir);
	snprintf(cmd, sizeof(cmd),
	    "capnp convert json:binary %s/schema/manifest.capnp BootManifest < %s/good.json > %s",
	    SRC_ROOT, FIX, in);
	assert_int_equal(system(cmd), 0);
	clean_outputs();
	if (mkmanifest("--bins-list " FIX "/bins.list", in, NULL) != 0)
		fail_msg("mkmanifest failed:\n%s", out_buf);
	expect_good_outputs();
}

static void
test_good_bins_dir(void **state)
{
	char cmd[1024], opt[256];
	(void)state;
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/bins && cd %s/bins && touch app store virtio-blk hello",
	    tmpdir, tmpdir);
	assert_int_equal(system(cmd), 0);
	snprintf(opt, sizeof(opt), "--bins %s/bins", tmpdir);
	clean_outputs();
	if (mkmanifest(opt, FIX "/good.json", NULL) != 0)
		fail_msg("mkmanifest failed:\n%s", out_buf);
	expect_good_outputs();

	/* Without one of the binaries the same manifest is refused. */
	snprintf(cmd, sizeof(cmd), "rm %s/bins/store", tmpdir);
	assert_int_equal(system(cmd), 0);
	clean_outputs();
	assert_int_equal(mkmanifest(opt, FIX "/good.json", NULL), 1);
	assert_non_null(strstr(out_buf, "service \"store\": unknown binary \"store\""));
	assert_false(exists("out.bin"));
}

static void
test_system_manifest(void **state)
{
	(void)state;
	clean_outputs();
	if (mkmanifest("--bins-list " SRC_ROOT "/manifests/system.bins",
		SRC_ROOT "/manifests/system.json", NULL) != 0)
		fail_msg("manifests/system.json does not validate:\n%s", out_buf);
	assert_true(exists("out.bin"));
	assert_true(exists("modules.list"));
}

/* ---- bad inputs: exit 1, message names the entry, no output ---- */

struct bad_case {
	const char *file;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	{ "bad-unknown-binary.json", "service \"app\": unknown binary \"ghost\"" },
	{ "bad-duplicate-service.json", "service \"app\": duplicate service name" },
	{ "bad-unknown-service.json", "service \"app\": grant \"store\": unknown service \"stor\"" },
	{ "bad-unknown-export.json",
	    "service \"store\": grant \"disk\": service \"blk\" has no export \"disk\"" },
	{ "bad-missing-source.json",
	    "service \"app\": grant \"console\": no source (expected kernel or service; misspelled?)" },
	{ "bad-empty-kernel-source.json",
	    "service \"hello\": grant \"console\": kernel source names no known source (misspelled?)" },
	{ "bad-cycle.json", "dependency cycle: \"loop\" -> \"blk\" -> \"loop\"" },
	{ "bad-iso-long.json",
	    "binary \"abcdefghijklmnopqrstuvwxyz0123456\": ISO 9660 name is 33 characters, limit 31" },
	{ "bad-iso-collide.json",
	    "binary \"VIRTIO_BLK\": ISO 9660 name \"VIRTIO_BLK\" collides with binary \"virtio-blk\"" },
	{ "bad-version.json", "manifest: formatVersion 2 is not 1" },
	{ "bad-binary-path.json", "service \"app\": bad binary name \"../app\"" },
	{ "bad-device-conflict.json",
	    "service \"hello\": grant \"disk\": PCI device already claimed by service \"blk\" (grant \"mmio\")" },
	{ "bad-device-unset.json", "service \"blk\": grant \"irq\": interrupt claim names no PCI device" },
	{ "bad-dma-budget.json", "service \"blk\": grant \"dma\": DMA budget 1000 is not a multiple of 4096" },
	{ "bad-interrupt-kind.json",
	    "service \"blk\": grant \"irq\": unknown interrupt kind 7 (msix, msi or intx)" },
	{ "bad-interrupt-kind-name.json", "`capnp convert json:binary` failed" },
	{ "bad-intx-index.json",
	    "service \"blk\": grant \"irq\": an intx route has one vector: index 2 must be 0" },
	{ "bad-syntax.json", "`capnp convert json:binary` failed" },
	{ "bad-typo-source.json", "unknown field services[0].grants[0].sorce" },
	{ "bad-typo-kernel-source.json", "unknown field services[3].grants[0].source.kernel.consol" },
	{ "bad-typo-bar.json", "unknown field services[2].grants[1].source.kernel.deviceMmio.bra" },
	{ "bad-two-union-members.json", "unknown field services[3].grants[0].source.kernel (not in" },
};

static void
test_bad(void **state)
{
	const struct bad_case *c = *state;
	char in[512];

	snprintf(in, sizeof(in), "%s/%s", FIX, c->file);
	clean_outputs();
	int rc = mkmanifest("--bins-list " FIX "/bins.list", in, NULL);
	if (rc != 1 || !strstr(out_buf, c->msg))
		fail_msg("%s: exit %d (want 1), output lacks \"%s\":\n%s", c->file, rc, c->msg, out_buf);
	assert_false(exists("out.bin"));
	assert_false(exists("modules.list"));
}

static void
test_usage(void **state)
{
	(void)state;
	assert_int_equal(mkmanifest("", FIX "/good.json", NULL), 2);
	assert_non_null(strstr(out_buf, "give exactly one of --bins DIR and --bins-list FILE"));
	assert_int_equal(mkmanifest("--bins-list " FIX "/bins.list", FIX "/good.json", "--format yaml"), 2);
	assert_int_equal(mkmanifest("--bins-list " FIX "/bins.list", FIX "/good.json", "--frobnicate"), 2);
}

static void
test_not_a_message(void **state)
{
	(void)state;
	clean_outputs();
	/* bins.list is not a capnp message: decoded as binary, it must be refused. */
	assert_int_equal(mkmanifest("--bins-list " FIX "/bins.list", FIX "/bins.list", "--format binary"), 1);
	assert_non_null(strstr(out_buf, "invalid manifest: manifest:"));
	assert_false(exists("out.bin"));
}

int
main(void)
{
	struct CMUnitTest tests[sizeof(bad_cases) / sizeof(bad_cases[0]) + 8];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_good_json);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_good_text);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_good_binary);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_good_bins_dir);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_system_manifest);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_usage);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_not_a_message);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_bad, (void *)&bad_cases[i]);
		tests[n++].name = bad_cases[i].file;
	}
	return _cmocka_run_group_tests("mkmanifest", tests, n, setup, teardown);
}
