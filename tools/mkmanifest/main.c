/*
 * mkmanifest: validate a boot manifest and lay out the boot package.
 *
 *   mkmanifest [--format json|text|binary] [--schema FILE] [--capnp PROG]
 *              (--bins DIR | --bins-list FILE) -o MANIFEST.bin
 *              [--modules MODULES.list] INPUT
 *
 * INPUT is a BootManifest (schema/manifest.capnp) written as JSON or capnp
 * text, or already binary. JSON and text are converted by the official tool,
 * run as `capnp convert json:binary|text:binary SCHEMA BootManifest`; this
 * program never parses JSON itself. The binary is then decoded and validated
 * by lib/manifest -- the same code init runs at boot -- against the boot
 * binaries available (the regular files in --bins DIR, or the names in
 * --bins-list FILE, one per line). Because capnp's JSON decoder ignores
 * unknown fields, JSON input is also converted back to JSON and every key
 * of the input must survive the round trip (jsonkeys.h): a misspelled
 * field is an error, not a silent default.
 *
 * On success it writes MANIFEST.bin (the exact binary message the kernel
 * hands to init) and, with --modules, the module list: the distinct binary
 * names the services use, one per line, in first-use order; the image
 * builder places each as /boot/bins/<name>. Binaries are never embedded in
 * the manifest. Outputs are written to a temporary name and renamed, so a
 * failed run leaves no output behind. Any problem: a message naming the
 * offending entry on stderr and exit status 1 (2 for usage errors).
 * docs/manifest.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/err.h"
#include "manifest/manifest.h"
#include "jsonkeys.h"

#ifndef MKMANIFEST_SCHEMA
#define MKMANIFEST_SCHEMA "schema/manifest.capnp"
#endif

#define MAX_BINS 1024

static const char *prog = "mkmanifest";
static struct mf_manifest model;   /* ~50 KiB: keep it off the stack */

static void
die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void
die(int status, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: %s [--format json|text|binary] [--schema FILE] [--capnp PROG]\n"
	    "       (--bins DIR | --bins-list FILE) -o MANIFEST.bin [--modules LIST] INPUT\n",
	    prog);
	exit(2);
}

/* Read all of fd into a malloc'd buffer. Always to the end, so a child
 * writing into a pipe is never left blocked; mf_decode() enforces the size
 * limit. */
static unsigned char *
read_fd(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	unsigned char *buf = malloc(cap);

	if (!buf)
		die(1, "out of memory");
	for (;;) {
		if (n == cap) {
			cap *= 2;
			if (!(buf = realloc(buf, cap)))
				die(1, "out of memory");
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die(1, "read: %s", strerror(errno));
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return buf;
}

static unsigned char *
read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die(1, "%s: %s", path, strerror(errno));
	unsigned char *buf = read_fd(fd, len);
	close(fd);
	return buf;
}

/* Run `capnp convert MODE SCHEMA BootManifest` with stdin from in_fd and
 * return its stdout. The child's stderr (capnp's own message) goes to ours;
 * what names the failing input is the caller's `what`. */
static unsigned char *
run_convert(const char *capnp, const char *mode, const char *schema, int in_fd,
    const char *what, size_t *len)
{
	int pipefd[2], status;
	pid_t pid;

	if (pipe(pipefd) < 0)
		die(1, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die(1, "fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(in_fd, 0);
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		close(in_fd);
		execlp(capnp, capnp, "convert", mode, schema, "BootManifest", (char *)NULL);
		fprintf(stderr, "%s: cannot run %s: %s\n", prog, capnp, strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	unsigned char *buf = read_fd(pipefd[0], len);
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) < 0)
		die(1, "waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die(1, "%s: `%s convert %s` failed (see above)", what, capnp, mode);
	return buf;
}

static unsigned char *
convert_file(const char *capnp, const char *fmt, const char *schema, const char *input,
    size_t *len)
{
	char mode[32];
	int in = open(input, O_RDONLY);

	if (in < 0)
		die(1, "%s: %s", input, strerror(errno));
	snprintf(mode, sizeof(mode), "%s:binary", fmt);
	unsigned char *buf = run_convert(capnp, mode, schema, in, input, len);
	close(in);
	return buf;
}

/* capnp's JSON decoder ignores fields the schema lacks (and keeps only the
 * last member given for a union): convert the binary back to JSON and
 * require every key path of the input to be there (jsonkeys.h). */
static void
check_json_fields(const char *capnp, const char *schema, const char *input,
    const unsigned char *msg, size_t msg_len)
{
	struct jk_set want, got;
	char err[256];
	size_t in_len, rt_len;
	FILE *tmp = tmpfile();

	if (!tmp || fwrite(msg, 1, msg_len, tmp) != msg_len || fflush(tmp) != 0)
		die(1, "temporary file: %s", strerror(errno));
	rewind(tmp);
	unsigned char *rt = run_convert(capnp, "binary:json", schema, fileno(tmp), input, &rt_len);
	fclose(tmp);
	unsigned char *text = read_file(input, &in_len);

	if (jk_collect((const char *)text, in_len, &want, err, sizeof(err)) < 0)
		die(1, "%s: %s", input, err);
	if (jk_collect((const char *)rt, rt_len, &got, err, sizeof(err)) < 0)
		die(1, "%s: capnp's JSON output: %s", input, err);
	const struct jk_key *k = jk_first_missing(&want, &got);
	if (k)
		die(1, "%s: unknown field %s (not in %s, or a second member of one union)", input,
		    k->where, schema);
	jk_free(&want);
	jk_free(&got);
	free(text);
	free(rt);
}

static struct mf_str bin_names[MAX_BINS];
static uint32_t nbins;

static void
add_bin(const char *name, const char *from)
{
	if (nbins == MAX_BINS)
		die(1, "%s: more than %d boot binaries", from, MAX_BINS);
	char *copy = strdup(name);
	if (!copy)
		die(1, "out of memory");
	bin_names[nbins].p = copy;
	bin_names[nbins].len = (uint32_t)strlen(copy);
	nbins++;
}

static void
bins_from_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	struct stat st;

	if (!d)
		die(1, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			add_bin(e->d_name, dir);
	}
	closedir(d);
}

static void
bins_from_list(const char *file)
{
	FILE *f = fopen(file, "r");
	char line[512];

	if (!f)
		die(1, "%s: %s", file, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, "\r\n");
		line[n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		add_bin(line, file);
	}
	fclose(f);
}

static const char *
format_of(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (dot && strcmp(dot, ".json") == 0)
		return "json";
	if (dot && (strcmp(dot, ".bin") == 0 || strcmp(dot, ".capnpbin") == 0))
		return "binary";
	return "text";
}

/* Write via a temporary name and rename, so readers never see half a file. */
static void
write_atomic(const char *path, const void *buf, size_t len)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "wb");
	if (!f)
		die(1, "%s: %s", tmp, strerror(errno));
	if (fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		unlink(tmp);
		die(1, "%s: write failed", tmp);
	}
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		die(1, "%s: %s", path, strerror(errno));
	}
}

int
main(int argc, char **argv)
{
	const char *format = NULL, *schema = MKMANIFEST_SCHEMA, *capnp = "capnp";
	const char *bins_dir = NULL, *bins_list = NULL, *out = NULL, *modules = NULL;
	const char *input = NULL;
	struct mf_error err;
	unsigned char *msg;
	size_t len;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **opt = NULL;
		if (!strcmp(a, "--format")) opt = &format;
		else if (!strcmp(a, "--schema")) opt = &schema;
		else if (!strcmp(a, "--capnp")) opt = &capnp;
		else if (!strcmp(a, "--bins")) opt = &bins_dir;
		else if (!strcmp(a, "--bins-list")) opt = &bins_list;
		else if (!strcmp(a, "-o")) opt = &out;
		else if (!strcmp(a, "--modules")) opt = &modules;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage();
		else if (a[0] == '-' && a[1]) die(2, "unknown option %s", a);
		else if (input) die(2, "more than one input (%s, %s)", input, a);
		else input = a;
		if (opt) {
			if (++i >= argc)
				die(2, "%s needs an argument", a);
			*opt = argv[i];
		}
	}
	if (!input || !out)
		usage();
	if (!bins_dir == !bins_list)
		die(2, "give exactly one of --bins DIR and --bins-list FILE");
	if (!format)
		format = format_of(input);
	if (strcmp(format, "json") && strcmp(format, "text") && strcmp(format, "binary"))
		die(2, "--format must be json, text or binary, not %s", format);

	if (bins_dir)
		bins_from_dir(bins_dir);
	else
		bins_from_list(bins_list);

	if (!strcmp(format, "binary"))
		msg = read_file(input, &len);
	else
		msg = convert_file(capnp, format, schema, input, &len);
	if (!strcmp(format, "json"))
		check_json_fields(capnp, schema, input, msg, len);

	if (mf_decode(msg, len, &model, &err) < 0)
		die(1, "%s: invalid manifest: %s", input, err.msg);
	struct mf_binset bins = { bin_names, nbins };
	if (mf_validate(&model, &bins, &err) < 0)
		die(1, "%s: invalid manifest: %s", input, err.msg);

	struct mf_str mods[MF_MAX_SERVICES];
	uint32_t nmods = mf_binaries(&model, mods);
	if (modules) {
		size_t cap = (size_t)nmods * (MF_MAX_NAME + 1) + 1, n = 0;
		char *list = malloc(cap);
		if (!list)
			die(1, "out of memory");
		for (uint32_t i = 0; i < nmods; i++) {
			memcpy(list + n, mods[i].p, mods[i].len);
			n += mods[i].len;
			list[n++] = '\n';
		}
		write_atomic(modules, list, n);
		free(list);
	}
	write_atomic(out, msg, len);

	printf("%s: %s: ok: %u services, %u grants, %u modules; start order:", prog, input,
	    model.nservices, model.ngrants, nmods);
	for (uint32_t i = 0; i < model.nservices; i++) {
		const struct mf_str *n = &model.services[model.start_order[i]].name;
		printf(" %.*s", (int)n->len, n->p);
	}
	printf("\n");
	free(msg);
	return 0;
}
