@0xcc3031b83ffb9047;
# BlockDevice: whole-block access to one disk (virtio-blk, NVMe namespace).
# Served by a storage driver (or a kernel fixture); consumed by the storage
# services. A write is durable only after flush returns ok.

using Device = import "device.capnp";

interface BlockDevice {
  readBlocks @0 (lba :UInt64, count :UInt32) -> (result :BlockReadResult);
  writeBlocks @1 (lba :UInt64, data :Data) -> (result :BlockResult);
  # data is a whole number of blocks.
  info @2 () -> (info :BlockInfo);
  flush @3 () -> (result :BlockResult);

  # Zero-copy I/O through a window (docs/drivers.md "Windows"). openWindow
  # shares `bytes` (rounded up to pages) of the driver's DMA memory with the
  # caller: `memory` to map (DmaWindow.map) and `session`, a cap to this same
  # disk that names the window. readAt/writeAt through the session move
  # count blocks between the disk and the window at byte `offset`: the
  # device reads and writes the window itself, no copy in the kernel or the
  # driver. The same checks as readBlocks/writeBlocks, and the data must lie
  # inside the session's window (outOfRange else). Through a cap without a
  # window (not a session, or its window reclaimed): noWindow. A window is
  # reclaimed once its holder unmapped it or released `memory` and the
  # driver needs the room for another.
  openWindow @4 (bytes :UInt32) -> (result :BlockWindowResult);
  readAt @5 (lba :UInt64, count :UInt32, offset :UInt32) -> (result :BlockResult);
  writeAt @6 (lba :UInt64, count :UInt32, offset :UInt32) -> (result :BlockResult);
}

struct BlockWindowResult {
  union {
    window @0 :BlockWindow;
    error @1 :BlockError;   # badLength (0 or over the driver's area), noWindow (no room)
  }
}

struct BlockWindow {
  memory @0 :Device.DmaWindow;
  session @1 :BlockDevice;
  bytes @2 :UInt32;         # the window's size (page-rounded)
}

enum BlockError {
  outOfRange @0;            # reaches past blockCount; nothing moved
  badLength @1;             # not a whole number of blocks / over maxTransfer
  readOnly @2;
  ioError @3;
  notReady @4;
  noWindow @5;              # readAt/writeAt without a window; openWindow: no room
}

struct BlockReadResult {
  union {
    data @0 :Data;
    error @1 :BlockError;
  }
}

struct BlockResult {
  union {
    ok @0 :Void;
    error @1 :BlockError;
  }
}

struct BlockInfo {
  blockSize @0 :UInt32;     # 512 or 4096
  blockCount @1 :UInt64;
  maxTransferBlocks @2 :UInt32;
  readOnly @3 :Bool;
  model @4 :Text;
}
