/*
 * Hand-written readers for the parts of /usr/include/capnp/schema.capnp the
 * generator needs (CodeGeneratorRequest, Node, Field, Type, Value, Method,
 * Enumerant). Offsets are taken from `capnp compile -ocapnp schema.capnp`
 * (byte offsets below = bit offsets / 8). These are the bootstrap for the
 * generator, which reads its input with the capOS runtime itself.
 */
#ifndef CAPNPC_C_SCHEMA_R_H
#define CAPNPC_C_SCHEMA_R_H

#include "capnp/capnp.h"

/* CodeGeneratorRequest */
#define CGR_NODES 0               /* ptr: List(Node) */
#define CGR_REQUESTED_FILES 1     /* ptr: List(RequestedFile) */
#define RF_ID 0                   /* u64 */
#define RF_FILENAME 0             /* ptr: Text */
#define RF_IMPORTS 1              /* ptr: List(Import) */
#define IMP_ID 0                  /* u64 */
#define IMP_NAME 0                /* ptr: Text */

/* Node */
#define NODE_ID 0                 /* u64 */
#define NODE_DISPLAY_NAME 0       /* ptr: Text */
#define NODE_PREFIX_LEN 8         /* u32 */
#define NODE_SCOPE_ID 16          /* u64 */
#define NODE_NESTED 1             /* ptr: List(NestedNode) */
#define NODE_WHICH 12             /* u16: 0 file 1 struct 2 enum 3 interface 4 const 5 annotation */
#define NODE_STRUCT_DATA_WORDS 14 /* u16 */
#define NODE_STRUCT_PTR_COUNT 24  /* u16 */
#define NODE_STRUCT_IS_GROUP 224  /* bit */
#define NODE_STRUCT_DISC_COUNT 30 /* u16 */
#define NODE_STRUCT_DISC_OFFSET 32 /* u32, in 16-bit units */
#define NODE_STRUCT_FIELDS 3      /* ptr: List(Field) */
#define NODE_ENUM_ENUMERANTS 3    /* ptr: List(Enumerant) */
#define NODE_IFACE_METHODS 3      /* ptr: List(Method) */
#define NODE_CONST_TYPE 3         /* ptr: Type */
#define NODE_CONST_VALUE 4        /* ptr: Value */
enum { NODE_FILE, NODE_STRUCT, NODE_ENUM, NODE_INTERFACE, NODE_CONST, NODE_ANNOTATION };

/* NestedNode */
#define NN_NAME 0                 /* ptr */
#define NN_ID 0                   /* u64 */

/* Field */
#define FIELD_NAME 0              /* ptr: Text */
#define FIELD_DISC_VALUE 2        /* u16, default 0xffff */
#define FIELD_NO_DISC 0xffff
#define FIELD_WHICH 8             /* u16: 0 slot, 1 group */
#define FIELD_SLOT_OFFSET 4       /* u32, in units of the field's size */
#define FIELD_SLOT_TYPE 2         /* ptr: Type */
#define FIELD_SLOT_DEFAULT 3      /* ptr: Value */
#define FIELD_GROUP_TYPE_ID 16    /* u64 */

/* Enumerant */
#define ENUMERANT_NAME 0          /* ptr */

/* Method */
#define METHOD_NAME 0             /* ptr */
#define METHOD_PARAM_ID 8         /* u64 */
#define METHOD_RESULT_ID 16       /* u64 */

/* Type (which @ byte 0) */
enum {
	T_VOID, T_BOOL, T_INT8, T_INT16, T_INT32, T_INT64, T_UINT8, T_UINT16,
	T_UINT32, T_UINT64, T_FLOAT32, T_FLOAT64, T_TEXT, T_DATA, T_LIST, T_ENUM,
	T_STRUCT, T_INTERFACE, T_ANYPOINTER,
};
#define TYPE_WHICH 0              /* u16 */
#define TYPE_LIST_ELEMENT 0       /* ptr: Type */
#define TYPE_ID 8                 /* u64 (enum, struct, interface) */

/* Value (which @ byte 0, same numbering as Type) */
#define VALUE_WHICH 0
#define VALUE_BOOL_BIT 16
#define VALUE_16 2                /* int8/uint8/int16/uint16/enum: byte offset */
#define VALUE_32 4                /* int32/uint32/float32 */
#define VALUE_64 8                /* int64/uint64/float64 */
#define VALUE_PTR 0               /* text, data, list, struct, anyPointer */

#endif
