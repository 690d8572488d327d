@0xcc3031b83ffb9047;
# BlockDevice: whole-block access to one disk (virtio-blk, NVMe namespace).
# Served by a storage driver (or a kernel fixture); consumed by the storage
# services. A write is durable only after flush returns ok.

interface BlockDevice {
  readBlocks @0 (lba :UInt64, count :UInt32) -> (result :BlockReadResult);
  writeBlocks @1 (lba :UInt64, data :Data) -> (result :BlockResult);
  # data is a whole number of blocks.
  info @2 () -> (info :BlockInfo);
  flush @3 () -> (result :BlockResult);
}

enum BlockError {
  outOfRange @0;            # reaches past blockCount; nothing moved
  badLength @1;             # not a whole number of blocks / over maxTransfer
  readOnly @2;
  ioError @3;
  notReady @4;
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
