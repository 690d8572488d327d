@0xb685d6e0b7c40a4e;
# Small value types shared by several capOS schemas: PCI identity, time.
# Ordinals are the ABI: never renumber, retype or reuse one (docs/schemas.md).

struct PciAddress {
  # A PCI function by position: segment:bus:device.function.
  segment @0 :UInt16;
  bus @1 :UInt8;
  device @2 :UInt8;     # 0..31
  function @3 :UInt8;   # 0..7
}

struct PciIds {
  # A PCI function by identity: the instance-th function (0-based, in bus
  # enumeration order) whose vendor and device ids match.
  vendor @0 :UInt16;
  device @1 :UInt16;
  instance @2 :UInt16;
}

struct PciIdentity {
  # How a manifest or a driver names one PCI function. `unset` is the
  # default so that a missing identity is rejected, never read as 0000:00:00.0.
  union {
    unset @0 :Void;
    address @1 :PciAddress;
    ids @2 :PciIds;
  }
}

struct Timestamp {
  # Wall-clock time: seconds and nanoseconds since 1970-01-01 UTC.
  seconds @0 :Int64;
  nanos @1 :UInt32;
}
