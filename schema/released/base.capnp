@0xfad2ccb1c4c9ea55;
# Basic kernel-served interfaces: the COM1 diagnostics console, the wall
# clock (CMOS RTC) and the entropy source (RDRAND). Granted by the kernel to
# init and, through the boot manifest, to services.

using Types = import "types.capnp";

interface Console {
  # Bounded text output on the COM1 diagnostics console. Not a transport for
  # binary uploads or unbounded tracing (invariant 9).
  write @0 (text :Text) -> (result :ConsoleResult);
  writeLine @1 (text :Text) -> (result :ConsoleResult);
}

struct ConsoleResult {
  union {
    ok @0 :Void;
    tooLong @1 :UInt32;     # the limit in bytes; nothing was written
  }
}

interface WallClock {
  now @0 () -> (result :WallClockResult);
  monotonicNanos @1 () -> (nanos :UInt64);
}

struct WallClockResult {
  union {
    time @0 :Types.Timestamp;
    unavailable @1 :Void;   # the RTC could not be read consistently
  }
}

interface EntropySource {
  # Fails closed: without RDRAND (or when it keeps failing) it reports
  # `unavailable` and never returns weak bytes.
  getRandom @0 (length :UInt32) -> (result :EntropyResult);
}

struct EntropyResult {
  union {
    bytes @0 :Data;
    unavailable @1 :Void;
    tooLarge @2 :UInt32;    # the per-call limit in bytes
  }
}
