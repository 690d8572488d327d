/* Shared state of the capnpc-c generator (main.c loads, emit*.c write). */
#ifndef CAPNPC_C_GEN_H
#define CAPNPC_C_GEN_H

#include <stdio.h>

#include "capnp/capnp.h"
#include "capnpc-c/schema_r.h"

struct gen_node {
	uint64_t id;
	uint64_t file;          /* id of the file node it belongs to */
	struct capnp_struct s;  /* the Node */
	const char *display;
	char cname[256];
};

struct gen {
	struct gen_node *nodes;
	size_t nnodes;
};

extern struct gen G;

void gen_fail(const char *what, const char *detail) __attribute__((noreturn));
const struct gen_node *gen_find(uint64_t id);
const char *gen_text(const struct capnp_struct *s, uint16_t ptr);
void emit_file(FILE *f, const struct capnp_struct *rf, uint64_t file_id, const char *name);

/* emit.c helpers over the request (fail the run on malformed input) */
struct capnp_list sublist(const struct capnp_struct *s, uint16_t ptr);
struct capnp_struct elem(const struct capnp_list *l, uint32_t i);
const char *type_cname(uint64_t id);

/* emit_rpc.c: userspace stubs, inside #ifdef CAPOS_USER */
void emit_rpc(FILE *f, uint64_t file_id);

/* emit_value.c: defaults and constants */
void emit_ptr_default(FILE *f, struct capnp_ptr value_ptr);
void emit_c_string(FILE *f, const char *s, size_t len);

#endif
