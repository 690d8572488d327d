@0xe0b2e5c7a1f3d401;
# Test schema for the capnp runtime and generator: every primitive, pointer
# kind, list element size, default, union, group, constant and an interface.

enum Color {
  red @0;
  green @1;
  blue @2;
}

struct Inner {
  a @0 :UInt32;
  name @1 :Text;
}

struct TestAll {
  boolF @0 :Bool;
  i8 @1 :Int8;
  i16 @2 :Int16;
  i32 @3 :Int32;
  i64 @4 :Int64;
  u8 @5 :UInt8;
  u16 @6 :UInt16;
  u32 @7 :UInt32;
  u64 @8 :UInt64;
  f32 @9 :Float32;
  f64 @10 :Float64;
  text @11 :Text;
  data @12 :Data;
  inner @13 :Inner;
  color @14 :Color;
  voidList @15 :List(Void);
  boolList @16 :List(Bool);
  u8List @17 :List(UInt8);
  i16List @18 :List(Int16);
  u32List @19 :List(UInt32);
  f64List @20 :List(Float64);
  textList @21 :List(Text);
  dataList @22 :List(Data);
  innerList @23 :List(Inner);
  listList @24 :List(List(UInt32));
  colorList @25 :List(Color);
  cap @26 :Echo;
  any @27 :AnyPointer;
  union {
    none @28 :Void;
    num @29 :UInt64;
    str @30 :Text;
    grp :group {
      x @31 :Int32;
      y @32 :Int32;
    }
  }
  outer :group {
    flag @33 :Bool;
    label @34 :Text;
  }
}

struct Defaults {
  boolF @0 :Bool = true;
  i8 @1 :Int8 = -7;
  i16 @2 :Int16 = -1234;
  i32 @3 :Int32 = -123456;
  i64 @4 :Int64 = -1234567890123;
  u8 @5 :UInt8 = 200;
  u16 @6 :UInt16 = 60000;
  u32 @7 :UInt32 = 4000000000;
  u64 @8 :UInt64 = 12345678901234567890;
  f32 @9 :Float32 = 1.5;
  f64 @10 :Float64 = -2.25;
  text @11 :Text = "def\"ault";
  data @12 :Data = 0x"01 02 ff";
  inner @13 :Inner = (a = 42, name = "dflt");
  color @14 :Color = blue;
  u32List @15 :List(UInt32) = [7, 8, 9];
  innerList @16 :List(Inner) = [(a = 1), (a = 2, name = "two")];
}

struct Outer {
  struct Nested {
    enum Mode {
      off @0;
      on @1;
    }
    mode @0 :Mode = on;
    depth @1 :UInt16 = 3;
  }
  nested @0 :Nested;
  nestedList @1 :List(Nested);
  const limit :UInt32 = 1024;
}

# An older version of Inner, to read newer messages (schema evolution).
struct InnerV0 {
  a @0 :UInt32;
}

interface Echo {
  echo @0 (msg :Text) -> (reply :Text);
  ping @1 () -> ();
  twice @2 Inner -> Inner;
}

const constU32 :UInt32 = 77;
const constI64 :Int64 = -5;
const constF64 :Float64 = 0.5;
const constText :Text = "hello\nworld";
const constData :Data = 0x"00 ff";
const constInner :Inner = (a = 9, name = "nine");
const constList :List(Int16) = [-1, 2, -3];
const constColor :Color = green;

# Boot-manifest-like message for the benchmark and interop tests.
struct Manifest {
  version @0 :UInt32;
  services @1 :List(Service);
  binaries @2 :List(Text);
}

struct Service {
  name @0 :Text;
  binary @1 :Text;
  args @2 :List(Text);
  grants @3 :List(Grant);
  priority @4 :UInt8;
  restart @5 :Bool;
}

struct Grant {
  name @0 :Text;
  source @1 :Text;
  interfaceId @2 :UInt64;
  method @3 :UInt16;
}

struct Record {
  id @0 :UInt64;
  mtime @1 :UInt64;
  flags @2 :UInt32;
  name @3 :Text;
  payload @4 :Data;
}
