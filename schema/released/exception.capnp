@0x8408a5ccf2d5c245;
# Kernel ABI: the serialized exception a ring completion carries when a call
# fails as an application error (completion result < 0 with an exception
# payload in the result buffer). Transport errors (invalid request, invalid
# params or result buffer, invoke failed, unsupported opcode) are negative
# result codes without a payload and are not described here.
#
# Exceptions are for failures of the call itself. Domain outcomes (not found,
# budget exhausted, device busy, ...) are members of each method's result
# union and never travel as exceptions.

struct Exception {
  type @0 :ExceptionType;
  reason @1 :Text;          # human-readable, bounded by the ring message size
}

enum ExceptionType {
  failed @0;                # the callee failed for a reason not listed below
  overloaded @1;            # temporary lack of resources; the caller may retry
  disconnected @2;          # the serving process or object is gone
  unimplemented @3;         # the method ordinal is unknown to the callee
  invalidArgument @4;       # params failed validation; nothing was changed
}
