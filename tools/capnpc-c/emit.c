/*
 * Header emission: declarations first (typedefs, enums, ids, ordinals,
 * primitive constants) for every node of the file, then the static inline
 * accessors, so accessors may name any type of the file in any order.
 */
#include <stdlib.h>
#include <string.h>

#include "capnpc-c/gen.h"

struct prim {
	const char *ctype;  /* C type of the accessor */
	const char *raw;    /* capnp_get_<raw> / capnp_set_<raw> */
	unsigned bytes;     /* 0: bool */
	int is_float;
};

static const struct prim prims[] = {
	[T_BOOL] = { "bool", "bool", 0, 0 },
	[T_INT8] = { "int8_t", "u8", 1, 0 },
	[T_INT16] = { "int16_t", "u16", 2, 0 },
	[T_INT32] = { "int32_t", "u32", 4, 0 },
	[T_INT64] = { "int64_t", "u64", 8, 0 },
	[T_UINT8] = { "uint8_t", "u8", 1, 0 },
	[T_UINT16] = { "uint16_t", "u16", 2, 0 },
	[T_UINT32] = { "uint32_t", "u32", 4, 0 },
	[T_UINT64] = { "uint64_t", "u64", 8, 0 },
	[T_FLOAT32] = { "float", "u32", 4, 1 },
	[T_FLOAT64] = { "double", "u64", 8, 1 },
	[T_ENUM] = { "uint16_t", "u16", 2, 0 },
};

static bool
is_prim(unsigned t)
{
	return (t >= T_BOOL && t <= T_FLOAT64) || t == T_ENUM;
}

static const char *
esize_of(unsigned t)
{
	switch (t) {
	case T_VOID: return "CAPNP_SZ_VOID";
	case T_BOOL: return "CAPNP_SZ_BIT";
	case T_INT8: case T_UINT8: return "CAPNP_SZ_BYTE";
	case T_INT16: case T_UINT16: case T_ENUM: return "CAPNP_SZ_2";
	case T_INT32: case T_UINT32: case T_FLOAT32: return "CAPNP_SZ_4";
	case T_INT64: case T_UINT64: case T_FLOAT64: return "CAPNP_SZ_8";
	case T_STRUCT: return "CAPNP_SZ_COMPOSITE";
	}
	return "CAPNP_SZ_PTR";
}

static struct capnp_struct
sub(const struct capnp_struct *s, uint16_t ptr)
{
	struct capnp_struct o;

	if (capnp_ptr_struct(capnp_struct_ptr(s, ptr), &o) < 0)
		gen_fail("bad struct in request", 0);
	return o;
}

struct capnp_list
sublist(const struct capnp_struct *s, uint16_t ptr)
{
	struct capnp_list l;

	if (capnp_ptr_list(capnp_struct_ptr(s, ptr), CAPNP_SZ_COMPOSITE, &l) < 0)
		gen_fail("bad list in request", 0);
	return l;
}

struct capnp_struct
elem(const struct capnp_list *l, uint32_t i)
{
	struct capnp_struct o;

	if (capnp_list_struct(l, i, &o) < 0)
		gen_fail("bad list element in request", 0);
	return o;
}

const char *
type_cname(uint64_t id)
{
	const struct gen_node *n = gen_find(id);

	if (!n)
		gen_fail("reference to an unknown type", 0);
	return n->cname;
}

/* Raw default bits of a primitive slot (0 when there is no default). */
static uint64_t
prim_default(const struct capnp_struct *value, unsigned t)
{
	if (t == T_BOOL)
		return capnp_get_bool(value, VALUE_BOOL_BIT);
	switch (prims[t].bytes) {
	case 1: return capnp_get_u8(value, VALUE_16);
	case 2: return capnp_get_u16(value, VALUE_16);
	case 4: return capnp_get_u32(value, VALUE_32);
	}
	return capnp_get_u64(value, VALUE_64);
}

/* ---- declarations ---- */

static void
decl_struct(FILE *f, const struct gen_node *n)
{
	const char *c = n->cname;
	struct capnp_list fields;
	struct capnp_struct fl;
	uint32_t i;

	fprintf(f, "\n/* struct %s */\n", n->display);
	fprintf(f, "#define %s_TYPE_ID 0x%016llxULL\n", c, (unsigned long long)n->id);
	fprintf(f, "#define %s_DATA_WORDS %u\n", c, capnp_get_u16(&n->s, NODE_STRUCT_DATA_WORDS));
	fprintf(f, "#define %s_PTR_COUNT %u\n", c, capnp_get_u16(&n->s, NODE_STRUCT_PTR_COUNT));
	fprintf(f, "typedef struct { struct capnp_struct s; } %s_R;\n", c);
	fprintf(f, "typedef struct { struct capnp_bstruct s; } %s_B;\n", c);
	if (capnp_get_u16(&n->s, NODE_STRUCT_DISC_COUNT) == 0)
		return;
	fields = sublist(&n->s, NODE_STRUCT_FIELDS);
	fprintf(f, "enum %s_which {\n", c);
	for (i = 0; i < fields.count; i++) {
		fl = elem(&fields, i);
		uint16_t dv = capnp_get_u16(&fl, FIELD_DISC_VALUE) ^ FIELD_NO_DISC;
		if (dv != FIELD_NO_DISC)
			fprintf(f, "\t%s_which_%s = %u,\n", c, gen_text(&fl, FIELD_NAME), dv);
	}
	fprintf(f, "};\n");
}

static void
decl_enum(FILE *f, const struct gen_node *n)
{
	struct capnp_list en = sublist(&n->s, NODE_ENUM_ENUMERANTS);
	struct capnp_struct e;
	uint32_t i;

	fprintf(f, "\n/* enum %s */\n", n->display);
	fprintf(f, "#define %s_TYPE_ID 0x%016llxULL\n", n->cname, (unsigned long long)n->id);
	fprintf(f, "enum %s {\n", n->cname);
	for (i = 0; i < en.count; i++) {
		e = elem(&en, i);
		fprintf(f, "\t%s_%s = %u,\n", n->cname, gen_text(&e, ENUMERANT_NAME), i);
	}
	fprintf(f, "};\n");
}

static void
decl_interface(FILE *f, const struct gen_node *n)
{
	struct capnp_list ms = sublist(&n->s, NODE_IFACE_METHODS);
	struct capnp_struct m;
	uint32_t i;

	fprintf(f, "\n/* interface %s */\n", n->display);
	fprintf(f, "#define %s_TYPE_ID 0x%016llxULL /* interface id */\n", n->cname,
	    (unsigned long long)n->id);
	for (i = 0; i < ms.count; i++) {
		m = elem(&ms, i);
		const char *mn = gen_text(&m, METHOD_NAME);
		fprintf(f, "#define %s_%s_ORDINAL %u\n", n->cname, mn, i);
		fprintf(f, "#define %s_%s_PARAMS_ID 0x%016llxULL\n", n->cname, mn,
		    (unsigned long long)capnp_get_u64(&m, METHOD_PARAM_ID));
		fprintf(f, "#define %s_%s_RESULTS_ID 0x%016llxULL\n", n->cname, mn,
		    (unsigned long long)capnp_get_u64(&m, METHOD_RESULT_ID));
	}
}

static void
emit_float(FILE *f, unsigned t, uint64_t bits)
{
	if (t == T_FLOAT32)
		fprintf(f, "capnp_f32(0x%08llxu)", (unsigned long long)bits);
	else
		fprintf(f, "capnp_f64(0x%016llxull)", (unsigned long long)bits);
}

static void
decl_const(FILE *f, const struct gen_node *n)
{
	struct capnp_struct type = sub(&n->s, NODE_CONST_TYPE);
	struct capnp_struct value = sub(&n->s, NODE_CONST_VALUE);
	unsigned t = capnp_get_u16(&type, TYPE_WHICH);
	uint64_t v;

	if (!is_prim(t))
		return;
	v = prim_default(&value, t);
	fprintf(f, "\n/* const %s */\n#define %s ", n->display, n->cname);
	if (prims[t].is_float) {
		emit_float(f, t, v);
	} else if (t == T_INT8 || t == T_INT16 || t == T_INT32 || t == T_INT64) {
		int64_t sv = t == T_INT8 ? (int8_t)v : t == T_INT16 ? (int16_t)v :
		    t == T_INT32 ? (int32_t)v : (int64_t)v;
		if (sv == INT64_MIN)
			fprintf(f, "((int64_t)INT64_MIN)");
		else
			fprintf(f, "((%s)%lldLL)", prims[t].ctype, (long long)sv);
	} else {
		fprintf(f, "((%s)%lluULL)", prims[t].ctype, (unsigned long long)v);
	}
	fprintf(f, "\n");
}

/* ---- accessors ---- */

struct field_ctx {
	FILE *f;
	const char *c;          /* struct C name */
	const char *name;       /* field name */
	uint16_t disc_off;      /* in 16-bit units */
	uint16_t disc;          /* FIELD_NO_DISC: not a union member */
};

/* Statements a builder accessor starts with: select the union member. */
static void
set_disc(const struct field_ctx *x)
{
	if (x->disc != FIELD_NO_DISC)
		fprintf(x->f, "\tcapnp_set_u16(&b.s, %u, %u);\n", x->disc_off * 2u, x->disc);
}

static void
acc_prim(const struct field_ctx *x, unsigned t, uint32_t off, uint64_t def)
{
	const struct prim *p = &prims[t];
	FILE *f = x->f;
	uint32_t at = p->bytes ? off * p->bytes : off;

	fprintf(f, "\nstatic inline %s\n%s_get_%s(%s_R r)\n{\n", p->ctype, x->c, x->name, x->c);
	if (t == T_BOOL)
		fprintf(f, "\treturn capnp_get_bool(&r.s, %u) != %u;\n", at, (unsigned)def);
	else if (p->is_float)
		fprintf(f, "\treturn capnp_f%u(capnp_get_%s(&r.s, %u) ^ 0x%llxull);\n",
		    p->bytes * 8, p->raw, at, (unsigned long long)def);
	else
		fprintf(f, "\treturn (%s)(capnp_get_%s(&r.s, %u) ^ 0x%llxull);\n", p->ctype,
		    p->raw, at, (unsigned long long)def);
	fprintf(f, "}\n\nstatic inline void\n%s_set_%s(%s_B b, %s v)\n{\n", x->c, x->name, x->c,
	    p->ctype);
	set_disc(x);
	if (t == T_BOOL)
		fprintf(f, "\tcapnp_set_bool(&b.s, %u, v != %u);\n", at, (unsigned)def);
	else if (p->is_float)
		fprintf(f, "\tcapnp_set_%s(&b.s, %u, capnp_f%u_bits(v) ^ 0x%llxull);\n", p->raw, at,
		    p->bytes * 8, (unsigned long long)def);
	else
		fprintf(f, "\tcapnp_set_%s(&b.s, %u, (uint%u_t)((uint%u_t)v ^ 0x%llxull));\n", p->raw,
		    at, p->bytes * 8, p->bytes * 8, (unsigned long long)def);
	fprintf(f, "}\n");
}

/* Reader prologue shared by pointer fields: p, then the default if any. */
static void
ptr_prologue(const struct field_ctx *x, uint32_t idx, const struct capnp_struct *value,
    bool has_default)
{
	fprintf(x->f, "\tstruct capnp_ptr p = capnp_struct_ptr(&r.s, %u);\n", idx);
	if (!has_default)
		return;
	emit_ptr_default(x->f, capnp_struct_ptr(value, VALUE_PTR));
	fprintf(x->f, "\tif (capnp_ptr_is_null(p))\n\t\tp = capnp_ptr_const(&ds_, CAPNP_DEFAULT_NESTING);\n");
}

static void
acc_ptr_common(const struct field_ctx *x, uint32_t idx)
{
	FILE *f = x->f;

	fprintf(f, "\nstatic inline bool\n%s_has_%s(%s_R r)\n{\n", x->c, x->name, x->c);
	fprintf(f, "\treturn !capnp_ptr_is_null(capnp_struct_ptr(&r.s, %u));\n}\n", idx);
	fprintf(f, "\nstatic inline struct capnp_bptr\n%s_ptr_%s(%s_B b)\n{\n", x->c, x->name, x->c);
	set_disc(x);
	fprintf(f, "\treturn capnp_bstruct_ptr(&b.s, %u);\n}\n", idx);
}

static void
acc_blob(const struct field_ctx *x, unsigned t, uint32_t idx, const struct capnp_struct *value,
    bool has_default)
{
	FILE *f = x->f;
	bool text = t == T_TEXT;
	struct capnp_data d = { 0, 0 };

	if (has_default && capnp_ptr_data(capnp_struct_ptr(value, VALUE_PTR), &d) < 0)
		gen_fail("bad default blob", x->name);
	fprintf(f, "\nstatic inline int\n%s_get_%s(%s_R r, struct capnp_%s *out)\n{\n", x->c,
	    x->name, x->c, text ? "text" : "data");
	fprintf(f, "\tstruct capnp_ptr p = capnp_struct_ptr(&r.s, %u);\n", idx);
	if (has_default && d.len > 0) {
		fprintf(f, "\tif (capnp_ptr_is_null(p)) {\n\t\tout->%s = ", text ? "str" : "ptr");
		if (!text)
			fprintf(f, "(const uint8_t *)");
		emit_c_string(f, (const char *)d.ptr, text ? d.len - 1 : d.len);
		fprintf(f, ";\n\t\tout->len = %u;\n\t\treturn 0;\n\t}\n", text ? d.len - 1 : d.len);
	}
	fprintf(f, "\treturn capnp_ptr_%s(p, out);\n}\n", text ? "text" : "data");
	fprintf(f, "\nstatic inline int\n%s_set_%s(%s_B b, const %s *v, size_t len)\n{\n", x->c,
	    x->name, x->c, text ? "char" : "void");
	set_disc(x);
	fprintf(f, "\treturn capnp_bptr_set_%s(capnp_bstruct_ptr(&b.s, %u), v, len);\n}\n",
	    text ? "text" : "data", idx);
}

static void
acc_struct(const struct field_ctx *x, uint64_t tid, uint32_t idx,
    const struct capnp_struct *value, bool has_default)
{
	const char *tn = type_cname(tid);
	FILE *f = x->f;

	fprintf(f, "\nstatic inline int\n%s_get_%s(%s_R r, %s_R *out)\n{\n", x->c, x->name, x->c, tn);
	ptr_prologue(x, idx, value, has_default);
	fprintf(f, "\treturn capnp_ptr_struct(p, &out->s);\n}\n");
	fprintf(f, "\nstatic inline int\n%s_init_%s(%s_B b, %s_B *out)\n{\n", x->c, x->name, x->c, tn);
	set_disc(x);
	fprintf(f, "\treturn capnp_bptr_init_struct(capnp_bstruct_ptr(&b.s, %u), %s_DATA_WORDS, "
	    "%s_PTR_COUNT, &out->s);\n}\n", idx, tn, tn);
}

static void
acc_list(const struct field_ctx *x, const struct capnp_struct *type, uint32_t idx,
    const struct capnp_struct *value, bool has_default)
{
	struct capnp_struct et = sub(type, TYPE_LIST_ELEMENT);
	unsigned t = capnp_get_u16(&et, TYPE_WHICH);
	FILE *f = x->f;

	fprintf(f, "\nstatic inline int\n%s_get_%s(%s_R r, struct capnp_list *out)\n{\n", x->c,
	    x->name, x->c);
	ptr_prologue(x, idx, value, has_default);
	fprintf(f, "\treturn capnp_ptr_list(p, %s, out);\n}\n", esize_of(t));
	fprintf(f, "\nstatic inline int\n%s_init_%s(%s_B b, uint32_t n, struct capnp_blist *out)\n{\n",
	    x->c, x->name, x->c);
	set_disc(x);
	if (t == T_STRUCT) {
		const char *tn = type_cname(capnp_get_u64(&et, TYPE_ID));
		fprintf(f, "\treturn capnp_bptr_init_struct_list(capnp_bstruct_ptr(&b.s, %u), n, "
		    "%s_DATA_WORDS, %s_PTR_COUNT, out);\n}\n", idx, tn, tn);
	} else {
		fprintf(f, "\treturn capnp_bptr_init_list(capnp_bstruct_ptr(&b.s, %u), %s, n, out);\n}\n",
		    idx, esize_of(t));
	}
}

static void
acc_iface(const struct field_ctx *x, uint32_t idx)
{
	FILE *f = x->f;

	fprintf(f, "\nstatic inline int\n%s_get_%s(%s_R r, uint32_t *cap)\n{\n", x->c, x->name, x->c);
	fprintf(f, "\treturn capnp_ptr_cap(capnp_struct_ptr(&r.s, %u), cap);\n}\n", idx);
	fprintf(f, "\nstatic inline int\n%s_set_%s(%s_B b, uint32_t cap)\n{\n", x->c, x->name, x->c);
	set_disc(x);
	fprintf(f, "\treturn capnp_bptr_set_cap(capnp_bstruct_ptr(&b.s, %u), cap);\n}\n", idx);
}

static void
acc_any(const struct field_ctx *x, uint32_t idx)
{
	fprintf(x->f, "\nstatic inline struct capnp_ptr\n%s_get_%s(%s_R r)\n{\n", x->c, x->name, x->c);
	fprintf(x->f, "\treturn capnp_struct_ptr(&r.s, %u);\n}\n", idx);
}

static void
acc_void(const struct field_ctx *x)
{
	if (x->disc == FIELD_NO_DISC)
		return;
	fprintf(x->f, "\nstatic inline void\n%s_set_%s(%s_B b)\n{\n", x->c, x->name, x->c);
	set_disc(x);
	fprintf(x->f, "}\n");
}

static void
acc_group(const struct field_ctx *x, uint64_t gid)
{
	const char *g = type_cname(gid);
	FILE *f = x->f;

	fprintf(f, "\nstatic inline %s_R\n%s_get_%s(%s_R r)\n{\n", g, x->c, x->name, x->c);
	fprintf(f, "\t%s_R g;\n\tg.s = r.s;\n\treturn g;\n}\n", g);
	fprintf(f, "\nstatic inline %s_B\n%s_init_%s(%s_B b)\n{\n", g, x->c, x->name, x->c);
	set_disc(x);
	fprintf(f, "\t%s_B g;\n\tg.s = b.s;\n\treturn g;\n}\n", g);
}

static void
emit_slot(const struct field_ctx *x, const struct capnp_struct *fl)
{
	struct capnp_struct type = sub(fl, FIELD_SLOT_TYPE);
	struct capnp_struct value = sub(fl, FIELD_SLOT_DEFAULT);
	unsigned t = capnp_get_u16(&type, TYPE_WHICH);
	uint32_t off = capnp_get_u32(fl, FIELD_SLOT_OFFSET);
	bool has_def = capnp_struct_ptr(fl, FIELD_SLOT_DEFAULT).loc != 0 &&
	    !capnp_ptr_is_null(capnp_struct_ptr(&value, VALUE_PTR));

	if (is_prim(t)) {
		acc_prim(x, t, off, prim_default(&value, t));
		return;
	}
	if (t == T_VOID) {
		acc_void(x);
		return;
	}
	acc_ptr_common(x, off);
	switch (t) {
	case T_TEXT: case T_DATA: acc_blob(x, t, off, &value, has_def); break;
	case T_STRUCT: acc_struct(x, capnp_get_u64(&type, TYPE_ID), off, &value, has_def); break;
	case T_LIST: acc_list(x, &type, off, &value, has_def); break;
	case T_INTERFACE: acc_iface(x, off); break;
	case T_ANYPOINTER: acc_any(x, off); break;
	default: gen_fail("unknown field type", x->name);
	}
}

static void
body_struct(FILE *f, const struct gen_node *n)
{
	struct capnp_list fields = sublist(&n->s, NODE_STRUCT_FIELDS);
	struct field_ctx x = { f, n->cname, 0, 0, 0 };
	struct capnp_struct fl;
	uint32_t i;

	x.disc_off = (uint16_t)capnp_get_u32(&n->s, NODE_STRUCT_DISC_OFFSET);
	fprintf(f, "\n/* ---- %s ---- */\n", n->display);
	if (!capnp_get_bool(&n->s, NODE_STRUCT_IS_GROUP)) {
		fprintf(f, "\nstatic inline int\n%s_read(struct capnp_ptr p, %s_R *out)\n{\n"
		    "\treturn capnp_ptr_struct(p, &out->s);\n}\n", n->cname, n->cname);
		fprintf(f, "\nstatic inline int\n%s_root(struct capnp_msg *m, %s_R *out)\n{\n"
		    "\treturn capnp_msg_root(m, &out->s);\n}\n", n->cname, n->cname);
		fprintf(f, "\nstatic inline int\n%s_init_root(struct capnp_builder *b, %s_B *out)\n{\n"
		    "\treturn capnp_builder_root(b, %s_DATA_WORDS, %s_PTR_COUNT, &out->s);\n}\n",
		    n->cname, n->cname, n->cname, n->cname);
		fprintf(f, "\nstatic inline int\n%s_list_get(const struct capnp_list *l, uint32_t i, "
		    "%s_R *out)\n{\n\treturn capnp_list_struct(l, i, &out->s);\n}\n", n->cname, n->cname);
		fprintf(f, "\nstatic inline int\n%s_blist_get(const struct capnp_blist *l, uint32_t i, "
		    "%s_B *out)\n{\n\treturn capnp_blist_struct(l, i, &out->s);\n}\n", n->cname, n->cname);
	}
	if (capnp_get_u16(&n->s, NODE_STRUCT_DISC_COUNT) > 0)
		fprintf(f, "\nstatic inline uint16_t\n%s_which(%s_R r)\n{\n"
		    "\treturn capnp_get_u16(&r.s, %u);\n}\n", n->cname, n->cname, x.disc_off * 2u);
	for (i = 0; i < fields.count; i++) {
		fl = elem(&fields, i);
		x.name = gen_text(&fl, FIELD_NAME);
		x.disc = capnp_get_u16(&fl, FIELD_DISC_VALUE) ^ FIELD_NO_DISC;
		if (capnp_get_u16(&fl, FIELD_WHICH) == 1)
			acc_group(&x, capnp_get_u64(&fl, FIELD_GROUP_TYPE_ID));
		else
			emit_slot(&x, &fl);
	}
}

/* Explicit (named) params/results structs get alias names. */
static void
alias_io(FILE *f, const char *iface, const char *method, const char *io, uint64_t id)
{
	char want[600];
	const char *tn = type_cname(id);

	snprintf(want, sizeof(want), "%s_%s_%s", iface, method, io);
	if (strcmp(want, tn) == 0)
		return;
	fprintf(f, "typedef %s_R %s_R;\ntypedef %s_B %s_B;\n", tn, want, tn, want);
}

static void
body_interface(FILE *f, const struct gen_node *n)
{
	struct capnp_list ms = sublist(&n->s, NODE_IFACE_METHODS);
	struct capnp_struct m;
	uint32_t i;

	for (i = 0; i < ms.count; i++) {
		m = elem(&ms, i);
		const char *mn = gen_text(&m, METHOD_NAME);
		alias_io(f, n->cname, mn, "Params", capnp_get_u64(&m, METHOD_PARAM_ID));
		alias_io(f, n->cname, mn, "Results", capnp_get_u64(&m, METHOD_RESULT_ID));
	}
}

static void
body_const(FILE *f, const struct gen_node *n)
{
	struct capnp_struct type = sub(&n->s, NODE_CONST_TYPE);
	struct capnp_struct value = sub(&n->s, NODE_CONST_VALUE);
	unsigned t = capnp_get_u16(&type, TYPE_WHICH);
	struct capnp_data d;

	if (t == T_TEXT || t == T_DATA) {
		if (capnp_ptr_data(capnp_struct_ptr(&value, VALUE_PTR), &d) < 0)
			gen_fail("bad constant", n->display);
		if (t == T_TEXT && d.len > 0)
			d.len--;
		fprintf(f, "\n/* const %s */\n#define %s %s", n->display, n->cname,
		    t == T_DATA ? "((const uint8_t *)" : "");
		emit_c_string(f, (const char *)d.ptr, d.len);
		fprintf(f, "%s\n#define %s_LEN %uu\n", t == T_DATA ? ")" : "", n->cname, d.len);
	} else if (t == T_STRUCT || t == T_LIST) {
		fprintf(f, "\n/* const %s */\nstatic inline struct capnp_ptr\n%s(void)\n{\n",
		    n->display, n->cname);
		emit_ptr_default(f, capnp_struct_ptr(&value, VALUE_PTR));
		fprintf(f, "\treturn capnp_ptr_const(&ds_, CAPNP_DEFAULT_NESTING);\n}\n");
	}
}

static void
emit_includes(FILE *f, const struct capnp_struct *rf)
{
	struct capnp_list imps;
	struct capnp_struct im;
	const struct gen_node *n;
	uint32_t i;

	if (capnp_ptr_list(capnp_struct_ptr(rf, RF_IMPORTS), CAPNP_SZ_COMPOSITE, &imps) < 0)
		gen_fail("bad imports", 0);
	for (i = 0; i < imps.count; i++) {
		im = elem(&imps, i);
		if (strncmp(gen_text(&im, IMP_NAME), "/capnp/", 7) == 0)
			continue; /* the compiler's own annotation files */
		n = gen_find(capnp_get_u64(&im, IMP_ID));
		if (n)
			fprintf(f, "#include \"%s.h\"\n", n->display[0] == '/' ? n->display + 1 : n->display);
	}
}

void
emit_file(FILE *f, const struct capnp_struct *rf, uint64_t file_id, const char *name)
{
	size_t i;
	unsigned k;

	fprintf(f, "/* Generated by capnpc-c from %s. Do not edit: see docs/capnp.md. */\n", name);
	fprintf(f, "#ifndef CAPNP_GEN_%016llx_H\n#define CAPNP_GEN_%016llx_H\n\n",
	    (unsigned long long)file_id, (unsigned long long)file_id);
	fprintf(f, "#include \"capnp/capnp.h\"\n");
	emit_includes(f, rf);
	for (k = 0; k < 2; k++) {
		for (i = 0; i < G.nnodes; i++) {
			const struct gen_node *n = &G.nodes[i];
			if (n->file != file_id)
				continue;
			switch (capnp_get_u16(&n->s, NODE_WHICH)) {
			case NODE_STRUCT:
				(k ? body_struct : decl_struct)(f, n);
				break;
			case NODE_ENUM:
				if (!k)
					decl_enum(f, n);
				break;
			case NODE_INTERFACE:
				(k ? body_interface : decl_interface)(f, n);
				break;
			case NODE_CONST:
				(k ? body_const : decl_const)(f, n);
				break;
			}
		}
	}
	emit_rpc(f, file_id);
	fprintf(f, "\n#endif\n");
}
