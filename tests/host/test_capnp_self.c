/*
 * Dogfooding check: capnpc-c generates C accessors for the compiler's own
 * schema (/usr/include/capnp/schema.capnp -> build/gen/std/capnp/schema.capnp.h).
 * Reading a real CodeGeneratorRequest (test.capnp, from `capnp compile -o-`)
 * through those generated accessors must agree, field by field, with the
 * hand-written offsets the generator itself uses (tools/capnpc-c/schema_r.h)
 * and with the layout constants in the generated test.capnp.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "capnp/capnp.h"
#include "capnpc-c/schema_r.h"
#include "std/capnp/schema.capnp.h"
#include "tests/host/capnp/test.capnp.h"

static uint8_t *
load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(1 << 20);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static void
check_field(Field_R f)
{
	struct capnp_struct *s = &f.s;
	Field_slot_R slot = Field_get_slot(f);
	Type_R t;

	assert_int_equal(Field_get_discriminantValue(f),
	    capnp_get_u16(s, FIELD_DISC_VALUE) ^ FIELD_NO_DISC);
	assert_int_equal(Field_which(f), capnp_get_u16(s, FIELD_WHICH));
	if (Field_which(f) == Field_which_group) {
		assert_true(Field_group_get_typeId(Field_get_group(f)) ==
		    capnp_get_u64(s, FIELD_GROUP_TYPE_ID));
		return;
	}
	assert_int_equal(Field_slot_get_offset(slot), capnp_get_u32(s, FIELD_SLOT_OFFSET));
	assert_int_equal(Field_slot_get_type(slot, &t), 0);
	{
		struct capnp_struct raw;
		assert_int_equal(capnp_ptr_struct(capnp_struct_ptr(s, FIELD_SLOT_TYPE), &raw), 0);
		assert_int_equal(Type_which(t), capnp_get_u16(&raw, TYPE_WHICH));
	}
}

static void
check_node(Node_R n, int *structs, int *ifaces)
{
	struct capnp_struct *s = &n.s;
	struct capnp_list fields;
	struct capnp_text name;
	Field_R f;
	uint32_t i;

	assert_true(Node_get_id(n) == capnp_get_u64(s, NODE_ID));
	assert_true(Node_get_scopeId(n) == capnp_get_u64(s, NODE_SCOPE_ID));
	assert_int_equal(Node_get_displayNamePrefixLength(n), capnp_get_u32(s, NODE_PREFIX_LEN));
	assert_int_equal(Node_which(n), capnp_get_u16(s, NODE_WHICH));
	assert_int_equal(Node_get_displayName(n, &name), 0);
	if (Node_which(n) == Node_which_interface) {
		struct capnp_list ms;
		assert_int_equal(Node_interface_get_methods(Node_get_interface(n), &ms), 0);
		if (strstr(name.str, ":Echo"))
			assert_int_equal(ms.count, 3);
		(*ifaces)++;
	}
	if (Node_which(n) != Node_which_struct)
		return;
	(*structs)++;
	Node_struct_R st = Node_get_struct(n);
	assert_int_equal(Node_struct_get_dataWordCount(st), capnp_get_u16(s, NODE_STRUCT_DATA_WORDS));
	assert_int_equal(Node_struct_get_pointerCount(st), capnp_get_u16(s, NODE_STRUCT_PTR_COUNT));
	assert_int_equal(Node_struct_get_isGroup(st), capnp_get_bool(s, NODE_STRUCT_IS_GROUP));
	assert_int_equal(Node_struct_get_discriminantOffset(st),
	    capnp_get_u32(s, NODE_STRUCT_DISC_OFFSET));
	if (Node_get_id(n) == TestAll_TYPE_ID) {
		assert_int_equal(Node_struct_get_dataWordCount(st), TestAll_DATA_WORDS);
		assert_int_equal(Node_struct_get_pointerCount(st), TestAll_PTR_COUNT);
	}
	assert_int_equal(Node_struct_get_fields(st, &fields), 0);
	for (i = 0; i < fields.count; i++) {
		assert_int_equal(Field_list_get(&fields, i, &f), 0);
		check_field(f);
	}
}

static void
test_generated_schema_agrees_with_bootstrap(void **state)
{
	struct capnp_msg m;
	struct capnp_list nodes;
	CodeGeneratorRequest_R req;
	Node_R n;
	size_t len;
	uint8_t *buf = load("capnp/test.cgr", &len);
	int structs = 0, ifaces = 0;
	uint32_t i;

	assert_true(capnp_msg_init(&m, buf, len) > 0);
	assert_int_equal(CodeGeneratorRequest_root(&m, &req), 0);
	assert_int_equal(CodeGeneratorRequest_get_nodes(req, &nodes), 0);
	assert_true(nodes.count > 10);
	for (i = 0; i < nodes.count; i++) {
		assert_int_equal(Node_list_get(&nodes, i, &n), 0);
		check_node(n, &structs, &ifaces);
	}
	assert_true(structs >= 12);
	assert_int_equal(ifaces, 1);
	assert_int_equal(Field_noDiscriminant, 65535);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generated_schema_agrees_with_bootstrap),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
