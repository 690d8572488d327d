/*
 * Userspace stubs (emitted inside `#ifdef CAPOS_USER`, after the
 * accessors): per method a client pair I_m_begin / I_m_call over rt_invoke,
 * per interface a server table struct I_Server and I_dispatch (an
 * rt_handler), per interface-typed struct field an S_adopt_x that takes the
 * result cap after checking its interface id. The runtime half is
 * user/lib/rpc.c; the shapes are documented in docs/capnp.md.
 */
#include <string.h>

#include "capnpc-c/gen.h"

static void
rpc_client(FILE *f, const char *ic, const char *mn, const char *pn)
{
	fprintf(f, "\nstatic inline int\n%s_%s_begin(%s_%s_Params_B *p)\n{\n"
	    "\treturn rt_params_begin(%s_DATA_WORDS, %s_PTR_COUNT, &p->s);\n}\n", ic, mn, ic, mn, pn, pn);
	fprintf(f, "\nstatic inline int\n%s_%s_call(capid_t cap, struct rt_call *cl, %s_%s_Results_R *res)\n"
	    "{\n\treturn rt_invoke(cap, %s_%s_ORDINAL, cl, &res->s);\n}\n", ic, mn, ic, mn, ic, mn);
}

static void
rpc_interface(FILE *f, const struct gen_node *n)
{
	struct capnp_list ms = sublist(&n->s, NODE_IFACE_METHODS);
	const char *ic = n->cname;
	struct capnp_struct m;
	uint32_t i;

	for (i = 0; i < ms.count; i++) {
		m = elem(&ms, i);
		rpc_client(f, ic, gen_text(&m, METHOD_NAME), type_cname(capnp_get_u64(&m, METHOD_PARAM_ID)));
	}
	fprintf(f, "\nstruct %s_Server {\n\tvoid *ctx;\n", ic);
	for (i = 0; i < ms.count; i++) {
		m = elem(&ms, i);
		const char *mn = gen_text(&m, METHOD_NAME);
		fprintf(f, "\tint (*%s)(void *ctx, const struct rt_request *rq, %s_%s_Params_R p, "
		    "%s_%s_Results_B r, struct rt_answer *a);\n", mn, ic, mn, ic, mn);
	}
	fprintf(f, "};\n\nstatic inline int\n%s_dispatch(void *server, const struct rt_request *rq, "
	    "void *res, uint32_t *rlen,\n    struct ring_xfer *out, uint32_t *nout)\n{\n"
	    "\tconst struct %s_Server *s_ = server;\n\tstruct rt_answer a_ = { out, 0 };\n"
	    "\tint r_;\n\n\tswitch (rq->method) {\n", ic, ic);
	for (i = 0; i < ms.count; i++) {
		m = elem(&ms, i);
		const char *mn = gen_text(&m, METHOD_NAME);
		const char *rn = type_cname(capnp_get_u64(&m, METHOD_RESULT_ID));
		fprintf(f, "\tcase %s_%s_ORDINAL: {\n\t\t%s_%s_Params_R p_;\n\t\t%s_%s_Results_B b_;\n"
		    "\t\tif (!s_->%s)\n\t\t\tbreak;\n"
		    "\t\tr_ = rt_dispatch_begin(rq, &p_.s, %s_DATA_WORDS, %s_PTR_COUNT, &b_.s);\n"
		    "\t\tif (r_ == 0)\n\t\t\tr_ = s_->%s(s_->ctx, rq, p_, b_, &a_);\n"
		    "\t\treturn rt_dispatch_end(r_, &a_, res, rlen, nout);\n\t}\n",
		    ic, mn, ic, mn, ic, mn, mn, rn, rn, mn);
	}
	fprintf(f, "\t}\n\treturn rt_dispatch_unimplemented(rq);\n}\n");
}

/* S_adopt_x for every field of interface type. */
static void
rpc_struct(FILE *f, const struct gen_node *n)
{
	struct capnp_list fields = sublist(&n->s, NODE_STRUCT_FIELDS);
	struct capnp_struct fl, type;
	uint32_t i;

	for (i = 0; i < fields.count; i++) {
		fl = elem(&fields, i);
		if (capnp_get_u16(&fl, FIELD_WHICH) != 0)
			continue;
		if (capnp_ptr_struct(capnp_struct_ptr(&fl, FIELD_SLOT_TYPE), &type) < 0)
			gen_fail("bad struct in request", 0);
		if (capnp_get_u16(&type, TYPE_WHICH) != T_INTERFACE)
			continue;
		const char *fn = gen_text(&fl, FIELD_NAME);
		fprintf(f, "\nstatic inline capid_t\n%s_adopt_%s(%s_R r, const struct ring_cqe *c)\n{\n"
		    "\tuint32_t i;\n\n\tif (%s_get_%s(r, &i) < 0)\n\t\treturn 0;\n"
		    "\treturn rt_adopt(c, i, %s_TYPE_ID);\n}\n", n->cname, fn, n->cname, n->cname, fn,
		    type_cname(capnp_get_u64(&type, TYPE_ID)));
	}
}

void
emit_rpc(FILE *f, uint64_t file_id)
{
	size_t i;

	fprintf(f, "\n#ifdef CAPOS_USER\n#include \"capos.h\"\n");
	for (i = 0; i < G.nnodes; i++) {
		const struct gen_node *n = &G.nodes[i];
		if (n->file != file_id)
			continue;
		if (capnp_get_u16(&n->s, NODE_WHICH) == NODE_INTERFACE)
			rpc_interface(f, n);
		else if (capnp_get_u16(&n->s, NODE_WHICH) == NODE_STRUCT)
			rpc_struct(f, n);
	}
	fprintf(f, "#endif /* CAPOS_USER */\n");
}
