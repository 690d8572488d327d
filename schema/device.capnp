@0xe5bc791761dfcbe6;
# Device authority for userspace drivers (the DDF surface). Each cap covers
# one claimed PCI function's resource, recorded in the kernel device-manager
# ledger. No physical or device-visible address ever appears in these
# messages: addresses in queues and descriptors are written by the kernel
# (brokered), never taken from a driver (SYSTEM.md invariant 3).
# Every handle carries a generation; a stale generation is refused.

using Types = import "types.capnp";

enum DeviceError {
  stale @0;                 # generation no longer current (release/reset)
  outOfRange @1;            # offset/length outside the claimed window
  unaligned @2;
  notPermitted @3;          # the register/op is outside the write policy
  budgetExhausted @4;
  busy @5;                  # state forbids the request (in flight, mapped, ...)
  revoked @6;               # the device was reset or torn down
  notMapped @7;
  invalid @8;               # malformed request
}

struct DeviceResult {
  # Result of operations that return nothing on success.
  union {
    ok @0 :Void;
    error @1 :DeviceError;
  }
}

# ---- DeviceMmio: one page-rounded BAR window of one claimed function ----

interface DeviceMmio {
  map @0 () -> (result :MapResult);
  unmap @1 (generation :UInt32) -> (result :DeviceResult);
  read32 @2 (offset :UInt64) -> (result :MmioReadResult);
  write32 @3 (offset :UInt64, value :UInt32) -> (result :DeviceResult);
  info @4 () -> (info :MmioInfo);
  brokeredQueueBase @5 (offset :UInt64, buffer :DMABuffer, bufferOffset :UInt64)
      -> (result :DeviceResult);
  # The kernel writes the device-visible address of `buffer` (+ bufferOffset)
  # into the 64-bit register at `offset`; the driver never sees it.
  brokeredNvmeControllerEnable @6 (adminQueueDepth :UInt16,
      submissionQueue :DMABuffer, completionQueue :DMABuffer) -> (result :DeviceResult);
  # Kernel-authored AQA/ASQ/ACQ and CC.EN from the live DMAPool ledger.
  read @7 (offset :UInt64, width :UInt8) -> (result :MmioReadResult);
  write @8 (offset :UInt64, width :UInt8, value :UInt32) -> (result :DeviceResult);
  # Width 1, 2 or 4, naturally aligned. On an I/O BAR window (legacy virtio)
  # these are the brokered port accesses; such a window is never mapped.
  # A write is allowed only on a register the selected-write policy lists
  # at exactly that width (lib/ddf: ddf_mmio_read/ddf_mmio_write).
  brokeredQueuePfn @9 (offset :UInt64, buffer :DMABuffer) -> (result :DeviceResult);
  # Legacy virtio QUEUE_PFN: the kernel writes the page frame number of
  # `buffer` (from its first page) into the 32-bit register at `offset`.
  config @10 () -> (result :ConfigResult);
  # The function's PCI configuration space (the first 256 bytes: header and
  # capability list), read by the kernel at claim time. The BAR registers
  # read as zero: no host-physical address reaches userspace; BAR kinds and
  # sizes come from `info` of each window's cap.
  reset @11 () -> (result :DeviceResult);
  # Device reset by the ordered teardown path (reason `reset`): bus mastering
  # stops, every mapping, route and DMA buffer of the claim is revoked (those
  # caps go stale), the device is reset, generations bump. This cap and the
  # claim's Interrupt caps stay usable under the new generation; DMA buffers
  # must be allocated again.
  nvmeSubmit @12 (queue :UInt16, command :Data, data :DMABuffer, offset :UInt64,
      length :UInt32, prpList :DMABuffer, prpListOffset :UInt64)
      -> (result :DmaSubmitResult);
  # NVMe, brokered: `command` is the driver's 64-byte submission entry. The
  # kernel checks the opcode against its allow-list for that queue, overwrites
  # CID, PSDT, MPTR and PRP1/PRP2 (and the PRP list in `prpList`) from the
  # named DMA windows, checks the transfer length against the window, copies
  # the entry into the kernel-owned submission queue and rings its doorbell.
  # `data` may be null for a command that moves no data. Create/Delete I/O
  # queue commands name the queue memory as `data`; the kernel keeps it
  # device-visible until the queue is deleted or the device reset.
  nvmeComplete @13 (token :UInt64) -> (result :NvmeCompleteResult);
  # The completion of an nvmeSubmit token, parsed by the kernel from the
  # completion queue (whose doorbell the kernel also owns).
  nvmeDisable @14 (shutdown :Bool) -> (result :DeviceResult);
  # NVMe: with `shutdown`, a normal shutdown first (CC.SHN, bounded wait for
  # CSTS.SHST complete: the controller commits its volatile write cache);
  # then the kernel clears CC.EN and waits (bounded) for CSTS.RDY = 0. Every
  # queue and outstanding command is forgotten (their tokens go stale, their
  # buffers stop being device-visible). Error `busy`: the shutdown did not
  # complete in time (the controller is disabled all the same); `revoked`:
  # RDY did not drop and the claim was reset (reset @11).
  # brokeredNvmeControllerEnable disables (without shutdown) first itself.
  nvmeReap @15 (queue :UInt16, maxCompletions :UInt16) -> (result :NvmeReapResult);
  # NVMe: every command of `queue` the controller has finished, collected in
  # one call (each as nvmeComplete collects its token), in no set order. At
  # most maxCompletions (1..64) and never more than the caller's result
  # buffer carries: nothing is collected that the reply cannot hold. An empty
  # list: none has finished. Commands forgotten by nvmeDisable or a reset
  # never appear. Errors: invalid (maxCompletions 0), outOfRange (queue not
  # below 4, maxCompletions over 64, or a result buffer too small for one
  # completion), busy (controller not enabled).
}

struct ConfigResult {
  union {
    data @0 :Data;            # 256 bytes
    error @1 :DeviceError;
  }
}

struct NvmeCompleteResult {
  union {
    completed @0 :NvmeCompletion;
    pending @1 :Void;
    error @2 :DeviceError;
  }
}

struct NvmeReapResult {
  union {
    completions @0 :List(NvmeDone);
    error @1 :DeviceError;
  }
}

struct NvmeDone {
  token @0 :UInt64;         # as nvmeSubmit returned it
  status @1 :UInt16;        # as NvmeCompletion.status
  result @2 :UInt32;        # CQE DW0
}

struct NvmeCompletion {
  status @0 :UInt16;        # CQE DW3 bits 31:17 (SCT, SC, CRD, M, DNR), phase removed
  result @1 :UInt32;        # CQE DW0 (command specific)
}

struct MapResult {
  # DeviceMmio.map (a read-only BAR window) and DMABuffer.map (the buffer's
  # bounce pages) both hand out a user mapping.
  union {
    mapping @0 :UserMapping;
    error @1 :DeviceError;
  }
}

struct UserMapping {
  address @0 :UInt64;       # user virtual address of the mapping
  length @1 :UInt64;        # page-rounded
  generation @2 :UInt32;    # pass to unmap; bumped by every unmap/reset
}

struct MmioReadResult {
  union {
    value @0 :UInt32;
    error @1 :DeviceError;
  }
}

struct MmioInfo {
  device @0 :Types.PciAddress;
  vendorId @1 :UInt16;
  deviceId @2 :UInt16;
  bar @3 :UInt8;
  length @4 :UInt64;
  generation @5 :UInt32;
  writePolicy @6 :Text;     # label of the selected-write policy
}

# ---- Interrupt: one interrupt route (MSI-X vector, MSI or INTx) ----

interface Interrupt {
  wait @0 (timeoutNs :UInt64) -> (result :InterruptWaitResult);  # 0 = no timeout
  acknowledge @1 (generation :UInt32) -> (result :DeviceResult);  # deferred EOI
  mask @2 () -> (result :DeviceResult);
  unmask @3 () -> (result :DeviceResult);
  info @4 () -> (info :InterruptInfo);
}

struct InterruptWaitResult {
  union {
    fired @0 :InterruptFired;
    timedOut @1 :Void;
    error @2 :DeviceError;  # stale / revoked: nobody is woken after reset
  }
}

struct InterruptFired {
  count @0 :UInt32;         # interrupts coalesced since the last wait
  generation @1 :UInt32;    # pass to acknowledge
}

struct InterruptInfo {
  device @0 :Types.PciAddress;
  kind @1 :InterruptKind;
  index @2 :UInt16;         # vector index within the function
  masked @3 :Bool;
  generation @4 :UInt32;
}

enum InterruptKind {
  msix @0;
  msi @1;
  intx @2;
}

# ---- DMAPool and DMABuffer: pinned, zeroed, budgeted DMA pages ----

enum DmaDirection {
  toDevice @0;
  fromDevice @1;
  bidirectional @2;
}

enum DmaBackend {
  bounce @0;                # kernel-owned bounce pages (no verified IOMMU)
  iommu @1;                 # verified IOMMU remapping
}

interface DMAPool {
  allocateBuffer @0 (size :UInt64, direction :DmaDirection) -> (result :DmaAllocateResult);
  info @1 () -> (info :DmaPoolInfo);
}

struct DmaAllocateResult {
  union {
    buffer @0 :DMABuffer;
    error @1 :DeviceError;
  }
}

struct DmaPoolInfo {
  device @0 :Types.PciAddress;
  budgetBytes @1 :UInt64;
  usedBytes @2 :UInt64;
  liveBuffers @3 :UInt32;
  backend @4 :DmaBackend;
  generation @5 :UInt32;
}

interface DMABuffer {
  submitDescriptor @0 (descriptor :DmaDescriptor) -> (result :DmaSubmitResult);
  completeDescriptor @1 (token :UInt64) -> (result :DmaCompleteResult);
  map @2 () -> (result :MapResult);
  free @3 () -> (result :DeviceResult);   # quiesce and scrub precede free
  info @4 () -> (info :DmaBufferInfo);
  submitChain @5 (descriptors :List(DmaDescriptor), notify :Bool) -> (result :DmaSubmitResult);
  # virtq: a whole chain in one call, every descriptor in this buffer, in
  # chain order (descriptors[0] is the head, its NEXT links as for
  # submitDescriptor). The kernel submits the members last to first as
  # deferred, then the head, which makes the chain available; each element's
  # `deferred` is ignored. All or nothing: when one is refused, the members
  # already written are retracted and its error is the answer. The token is
  # the head's (collect it with completeDescriptor or completeBatch).
  # Errors: invalid (empty list), outOfRange (more than 16), else as
  # submitDescriptor.
  # notify: once the chain is available the kernel also rings the head's
  # queue's doorbell (virtio: the queue's notify register, value = the
  # queue), the write the driver would make next: one call less. Checked
  # before anything is submitted: a queue without a ring, or a modern queue
  # whose doorbell the claim's policy does not hold, is refused (invalid,
  # unsupported) with nothing submitted.
  completeBatch @6 (tokens :List(UInt64)) -> (result :DmaBatchResult);
  # Up to 64 completions of this buffer in one call: results[i] answers
  # tokens[i] exactly as completeDescriptor(tokens[i]) would (completed and
  # collected, pending, or an error for that token alone: a stale or foreign
  # token changes nothing). Errors of the call: invalid (empty list),
  # outOfRange (more than 64 tokens).
  share @7 (offset :UInt64, length :UInt64) -> (result :DmaShareResult);
  # A DmaWindow on [offset, offset + length) of this buffer, for one other
  # process (docs/device-manager.md "Shared windows"): the driver passes it
  # on in a reply; whoever holds it maps that range (DmaWindow.map). The
  # device still sees only this buffer, through descriptors the kernel
  # writes. Errors: notPermitted (the caller has not mapped this buffer),
  # invalid (empty or not page-aligned), outOfRange (past the buffer),
  # budgetExhausted (no free share record), stale.
}

struct DmaShareResult {
  union {
    window @0 :DmaWindow;
    error @1 :DeviceError;
  }
}

interface DmaWindow {
  # Part of a driver's DMA buffer, shared with the process holding this cap.
  map @0 () -> (result :MapResult);
  # Maps the range read-write into the caller (generation 0). Once per
  # window: busy while mapped (by anyone), stale after unmap or once the
  # buffer is gone. The mapping is the caller's memory for IPC too.
  # When the driver frees the buffer or dies while the window is mapped,
  # the pages stay mapped in the holder as its own memory (never a fault);
  # the window's state becomes `freed`. The mapping lasts while a cap names
  # the window: when the last one is released, it is unmapped (keep the
  # cap as long as the memory is used).
  unmap @1 () -> (result :DeviceResult);
  # By the process that mapped it (notPermitted else); the window closes.
  info @2 () -> (info :DmaWindowInfo);
}

struct DmaWindowInfo {
  length @0 :UInt64;
  state @1 :DmaWindowState;
  holder @2 :UInt32;        # mapped: the holder's process id
  references @3 :UInt32;    # caps naming this window, the caller's included
                            # (and other calls on it in flight; not this one)
}

enum DmaWindowState {
  freed @0;                 # buffer freed, driver gone, or the cap was released
  open @1;                  # not mapped yet
  mapped @2;
  closed @3;                # unmapped (never mapped again)
}

struct DmaBatchResult {
  union {
    results @0 :List(DmaDone);
    error @1 :DeviceError;
  }
}

struct DmaDone {
  state @0 :DmaDoneState;
  bytes @1 :UInt32;         # completed: bytes the device reported
  error @2 :DeviceError;    # state error: why
}

enum DmaDoneState {
  completed @0;
  pending @1;
  error @2;
}

struct DmaDescriptor {
  # The kernel validates the window and writes the device-visible address.
  queue @0 :UInt16;
  slot @1 :UInt16;
  offset @2 :UInt64;        # within this buffer
  length @3 :UInt32;
  flags @4 :UInt16;         # device-format flags (e.g. virtq NEXT/WRITE)
  next @5 :UInt16;          # virtq: the slot a NEXT descriptor chains to
  deferred @6 :Bool;
  # virtq chains: a member that is not the head is submitted first with
  # deferred = true (written into the table, not made available). The head,
  # submitted last with deferred = false, makes the whole chain available
  # once the kernel has checked every link names a live, deferred,
  # unpublished descriptor of the same queue. A lone descriptor is a head.
}

struct DmaSubmitResult {
  union {
    token @0 :UInt64;       # names the in-flight descriptor
    error @1 :DeviceError;
  }
}

struct DmaCompleteResult {
  union {
    completed @0 :UInt32;   # bytes the device reported
    pending @1 :Void;
    error @2 :DeviceError;
  }
}

struct DmaBufferInfo {
  size @0 :UInt64;
  direction @1 :DmaDirection;
  state @2 :DmaBufferState;
  generation @3 :UInt32;
  inFlight @4 :UInt32;
}

enum DmaBufferState {
  idle @0;
  mapped @1;
  inFlight @2;
  freed @3;
  completing @4;            # device done, completion not yet collected
  scrubbing @5;             # being scrubbed before release
}

# ---- HardwareAuditLog: read-only view of device-manager events ----

interface HardwareAuditLog {
  snapshot @0 (cursor :UInt64, maxEntries :UInt32) -> (result :AuditSnapshot);
}

struct AuditSnapshot {
  entries @0 :List(AuditEntry);
  nextCursor @1 :UInt64;
  dropped @2 :UInt64;       # entries lost to the bounded ring before cursor
}

struct AuditEntry {
  sequence @0 :UInt64;
  monotonicNanos @1 :UInt64;
  device @2 :Types.PciAddress;
  event @3 :AuditEvent;
  generation @4 :UInt32;
  detail @5 :UInt64;        # event specific; for `rejected`, the operation (lib/ddf/ddf_audit.h ddf_op)
  owner @6 :UInt32;         # driver process the event concerns (0: the kernel)
  errorCode @7 :Int16;      # lib/base/err.h code of a rejection, 0 otherwise
}

enum AuditEvent {
  claim @0;
  release @1;
  mmioMap @2;
  mmioUnmap @3;
  interruptRoute @4;
  interruptDrop @5;
  dmaAllocate @6;
  dmaFree @7;
  reset @8;
  teardown @9;
  rejected @10;
  grant @11;                # a DeviceMmio window granted (a user hold)
  dmaSubmit @12;
  dmaComplete @13;
  shareMap @14;             # a DmaWindow mapped into its holder (detail: the holder's pid)
  shareOrphan @15;          # a mapped DmaWindow's pages left to its holder (detail: bytes)
}
