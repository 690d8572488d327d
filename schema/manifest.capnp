@0xc43c09ad49aa36db;
# The boot manifest: the topology of the system that init starts. It names
# services, the boot binary each runs (by name: binaries are separate boot
# modules under /boot/bins/, never bytes inside the manifest), the caps each
# service is granted (from kernel sources or from another service's export)
# and what each service serves. Written as JSON or capnp text, converted by
# `capnp convert`, validated by tools/mkmanifest and again by init
# (lib/manifest). Rules: docs/manifest.md.

using Types = import "types.capnp";
using Device = import "device.capnp";

const manifestFormatVersion :UInt32 = 1;

struct BootManifest {
  formatVersion @0 :UInt32;         # must equal manifestFormatVersion
  services @1 :List(Service);       # init starts them in dependency order
}

struct Service {
  name @0 :Text;                    # unique; also its process name
  binary @1 :Text;                  # boot module name under /boot/bins/
  grants @2 :List(Grant);           # exactly the caps the service starts with
  exports @3 :List(Export);         # caps this service serves to others
  restart @4 :RestartPolicy;
  maxRestarts @5 :UInt32;           # 1..100 with onFailure/always; 0 with never
}

enum RestartPolicy {
  never @0;
  onFailure @1;                     # restart after a fault or non-zero exit
  always @2;
}

struct Grant {
  name @0 :Text;                    # cap name on the service's bootstrap page
  source :union {
    unset @1 :Void;                 # default: rejected (a typo in JSON lands here)
    kernel @2 :KernelSource;
    service @3 :ServiceExportRef;
  }
}

struct ServiceExportRef {
  service @0 :Text;                 # the serving service's name
  export @1 :Text;                  # one of its exports' names
}

struct Export {
  name @0 :Text;
  interfaceId @1 :UInt64;           # interface id of the served cap; 0 = unspecified
}

struct KernelSource {
  # A cap the kernel itself serves. Device sources are claims the kernel
  # device manager arbitrates at grant time (fail closed if absent/taken).
  # The first member is the default: a source left out or misspelled in
  # JSON (capnp's JSON decoder ignores unknown fields) decodes as `unset`
  # and is rejected instead of silently becoming a console grant.
  union {
    unset @0 :Void;
    console @1 :Void;
    wallClock @2 :Void;
    entropy @3 :Void;
    processSpawner @4 :Void;
    deviceMmio @5 :DeviceMmioClaim;
    interrupt @6 :InterruptClaim;
    dmaPool @7 :DmaPoolClaim;
    blockDevice @8 :Types.PciIdentity;  # kernel-served BlockDevice target
    hardwareAuditLog @9 :Void;
  }
}

struct DeviceMmioClaim {
  device @0 :Types.PciIdentity;
  bar @1 :UInt8;                    # 0..5
}

struct InterruptClaim {
  device @0 :Types.PciIdentity;
  index @1 :UInt16;                 # MSI-X table index (0 for msi and intx)
  kind @2 :Device.InterruptKind;    # msix (the default), msi, or intx (the
                                    # function's pin through the I/O APIC)
}

struct DmaPoolClaim {
  device @0 :Types.PciIdentity;
  budgetBytes @1 :UInt64;           # > 0, bounded (docs/manifest.md)
}

# The kernel hands init the manifest and the boot modules through this cap.

interface BootPackage {
  manifestSize @0 () -> (size :UInt64);
  readManifest @1 (offset :UInt64, maxBytes :UInt32) -> (result :BootReadResult);
  binaries @2 () -> (names :List(Text));
}

struct BootReadResult {
  union {
    data @0 :Data;
    outOfRange @1 :Void;
  }
}
