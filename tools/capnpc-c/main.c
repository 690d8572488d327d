/*
 * capnpc-c: the capOS C code generator, a plugin for the official compiler:
 *
 *     capnp compile -o build/tools/capnpc-c:build/gen schema/foo.capnp
 *
 * It reads the CodeGeneratorRequest on stdin with the capOS runtime itself
 * (lib/capnp, through the offsets in schema_r.h) and writes one header per
 * requested file, <displayName>.h, below the output directory. Naming and the
 * shape of the generated code are described in docs/capnp.md; emission lives
 * in emit.c. Any malformed or unsupported input fails the run (exit 1): a
 * header is never half-right.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capnpc-c/gen.h"

struct gen G;

void
gen_fail(const char *what, const char *detail)
{
	fprintf(stderr, "capnpc-c: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	exit(1);
}

static void *
read_all(FILE *f, size_t *len)
{
	size_t cap = 1 << 16, n = 0, r;
	uint8_t *buf = malloc(cap);

	if (!buf)
		gen_fail("out of memory", 0);
	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				gen_fail("out of memory", 0);
		}
	}
	*len = n;
	return buf;
}

const struct gen_node *
gen_find(uint64_t id)
{
	size_t i;

	for (i = 0; i < G.nnodes; i++)
		if (G.nodes[i].id == id)
			return &G.nodes[i];
	return 0;
}

/* The C name of a node: the part of its display name after the file, with
 * '.' and '$' turned into '_' (Outer.Inner -> Outer_Inner, Iface.m$Params ->
 * Iface_m_Params). */
static void
c_name(const char *display, char *out, size_t cap)
{
	const char *colon = strchr(display, ':');
	const char *s = colon ? colon + 1 : display;
	size_t i;

	for (i = 0; s[i] && i + 1 < cap; i++)
		out[i] = (s[i] == '.' || s[i] == '$') ? '_' : s[i];
	out[i] = 0;
	if (s[i])
		gen_fail("name too long", display);
}

/* Implicit method param/result structs have scope 0: find their file by the
 * display name ("file.capnp:Iface.method$Params"). */
static uint64_t
file_by_name(const char *display)
{
	const char *colon = strchr(display, ':');
	size_t i, len = colon ? (size_t)(colon - display) : 0;

	for (i = 0; len && i < G.nnodes; i++)
		if (capnp_get_u16(&G.nodes[i].s, NODE_WHICH) == NODE_FILE &&
		    strlen(G.nodes[i].display) == len && memcmp(G.nodes[i].display, display, len) == 0)
			return G.nodes[i].id;
	return 0;
}

static uint64_t
file_of(const struct gen_node *n)
{
	int hops = 0;

	if (capnp_get_u16(&n->s, NODE_WHICH) != NODE_FILE &&
	    capnp_get_u64(&n->s, NODE_SCOPE_ID) == 0)
		return file_by_name(n->display);

	while (n && capnp_get_u16(&n->s, NODE_WHICH) != NODE_FILE) {
		n = gen_find(capnp_get_u64(&n->s, NODE_SCOPE_ID));
		if (++hops > 1000)
			gen_fail("scope chain loops", 0);
	}
	return n ? n->id : 0;
}

static void
load_nodes(struct capnp_struct *req)
{
	struct capnp_list l;
	size_t i;

	if (capnp_ptr_list(capnp_struct_ptr(req, CGR_NODES), CAPNP_SZ_COMPOSITE, &l) < 0)
		gen_fail("bad request", "nodes");
	G.nnodes = l.count;
	G.nodes = calloc(l.count ? l.count : 1, sizeof(*G.nodes));
	if (!G.nodes)
		gen_fail("out of memory", 0);
	for (i = 0; i < l.count; i++) {
		struct gen_node *n = &G.nodes[i];
		if (capnp_list_struct(&l, (uint32_t)i, &n->s) < 0)
			gen_fail("bad request", "node");
		n->id = capnp_get_u64(&n->s, NODE_ID);
		n->display = gen_text(&n->s, NODE_DISPLAY_NAME);
		c_name(n->display, n->cname, sizeof(n->cname));
	}
	for (i = 0; i < l.count; i++)
		G.nodes[i].file = file_of(&G.nodes[i]);
}

const char *
gen_text(const struct capnp_struct *s, uint16_t ptr)
{
	struct capnp_text t;

	if (capnp_ptr_text(capnp_struct_ptr(s, ptr), &t) < 0)
		gen_fail("bad text in request", 0);
	return t.str;
}

static void
make_dirs(const char *path)
{
	char buf[1024];
	size_t i;

	if (strlen(path) >= sizeof(buf))
		gen_fail("path too long", path);
	for (i = 0; path[i]; i++) {
		buf[i] = path[i];
		if (path[i] == '/' && i > 0) {
			buf[i] = 0;
			if (mkdir(buf, 0777) < 0 && errno != EEXIST)
				gen_fail("cannot create directory", buf);
			buf[i] = '/';
		}
	}
}

static void
gen_file(const struct capnp_struct *rf)
{
	const char *name = gen_text(rf, RF_FILENAME);
	char out[1100];
	FILE *f;

	/* The header goes below the output directory, never outside it. */
	if (strncmp(name, "../", 3) == 0 || strstr(name, "/../") || strcmp(name, "..") == 0)
		gen_fail("schema path leaves the output directory", name);
	snprintf(out, sizeof(out), "%s.h", name[0] == '/' ? name + 1 : name);
	make_dirs(out);
	f = fopen(out, "w");
	if (!f)
		gen_fail("cannot write", out);
	emit_file(f, rf, capnp_get_u64(rf, RF_ID), name);
	if (fclose(f) != 0)
		gen_fail("write failed", out);
}

int
main(void)
{
	struct capnp_msg m;
	struct capnp_struct req, rf;
	struct capnp_list files;
	size_t len;
	uint8_t *buf = read_all(stdin, &len);
	uint32_t i;

	if (capnp_msg_init(&m, buf, len) < 0)
		gen_fail("bad CodeGeneratorRequest framing", 0);
	capnp_msg_set_limits(&m, (uint64_t)1 << 32, 128);
	if (capnp_msg_root(&m, &req) < 0)
		gen_fail("bad CodeGeneratorRequest root", 0);
	load_nodes(&req);
	if (capnp_ptr_list(capnp_struct_ptr(&req, CGR_REQUESTED_FILES), CAPNP_SZ_COMPOSITE,
	    &files) < 0)
		gen_fail("bad request", "requestedFiles");
	for (i = 0; i < files.count; i++) {
		if (capnp_list_struct(&files, i, &rf) < 0)
			gen_fail("bad request", "requestedFile");
		gen_file(&rf);
	}
	free(G.nodes);
	free(buf);
	return 0;
}
