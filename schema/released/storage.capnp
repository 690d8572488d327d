@0xe941bf5a525b620c;
# Local storage: a keyed record Store with scoped Namespaces, and a
# Directory/File tree. Served by userspace storage services over a
# BlockDevice. Durability is ordered (SYSTEM.md invariant 8): what a sync or
# a successful put reported durable survives a crash.

using Types = import "types.capnp";

enum StorageError {
  notFound @0;
  exists @1;
  noSpace @2;
  tooLarge @3;
  badName @4;
  readOnly @5;
  notEmpty @6;
  notDirectory @7;
  isDirectory @8;
  closed @9;
  ioError @10;
  corrupt @11;
}

struct StorageResult {
  union {
    ok @0 :Void;
    error @1 :StorageError;
  }
}

# ---- Store / Namespace: keyed capnp records ----

interface Store {
  put @0 (key :Text, value :Data) -> (result :StorageResult);
  get @1 (key :Text) -> (result :StoreGetResult);
  delete @2 (key :Text) -> (result :StorageResult);
  list @3 (prefix :Text, cursor :Text, maxKeys :UInt32) -> (result :StoreListResult);
  namespace @4 (name :Text) -> (result :NamespaceResult);
}

interface Namespace {
  # A Store view confined to one name scope: keys are relative to it and it
  # cannot reach its parent (attenuation by narrowing).
  put @0 (key :Text, value :Data) -> (result :StorageResult);
  get @1 (key :Text) -> (result :StoreGetResult);
  delete @2 (key :Text) -> (result :StorageResult);
  list @3 (prefix :Text, cursor :Text, maxKeys :UInt32) -> (result :StoreListResult);
  child @4 (name :Text) -> (result :NamespaceResult);
}

struct StoreGetResult {
  union {
    value @0 :Data;
    error @1 :StorageError;
  }
}

struct StoreListResult {
  union {
    page @0 :StoreListPage;
    error @1 :StorageError;
  }
}

struct StoreListPage {
  keys @0 :List(Text);
  nextCursor @1 :Text;      # empty when the listing is complete
}

struct NamespaceResult {
  union {
    namespace @0 :Namespace;
    error @1 :StorageError;
  }
}

# ---- Directory / File ----

enum OpenMode {
  readOnly @0;
  readWrite @1;
}

enum NodeKind {
  file @0;
  directory @1;
}

interface Directory {
  open @0 (name :Text, mode :OpenMode) -> (result :OpenResult);
  list @1 (cursor :UInt64, maxEntries :UInt32) -> (result :DirListResult);
  stat @2 (name :Text) -> (result :StatResult);
  mkdir @3 (name :Text) -> (result :OpenResult);
  remove @4 (name :Text) -> (result :StorageResult);
  create @5 (name :Text, exclusive :Bool) -> (result :OpenResult);
  rename @6 (from :Text, to :Text) -> (result :StorageResult);
}

struct OpenResult {
  union {
    file @0 :File;
    directory @1 :Directory;
    error @2 :StorageError;
  }
}

struct DirEntry {
  name @0 :Text;
  kind @1 :NodeKind;
  size @2 :UInt64;
}

struct DirListResult {
  union {
    page @0 :DirListPage;
    error @1 :StorageError;
  }
}

struct DirListPage {
  entries @0 :List(DirEntry);
  nextCursor @1 :UInt64;    # 0 when the listing is complete
}

interface File {
  read @0 (offset :UInt64, length :UInt32) -> (result :FileReadResult);
  write @1 (offset :UInt64, data :Data) -> (result :FileWriteResult);
  append @2 (data :Data) -> (result :FileWriteResult);
  truncate @3 (length :UInt64) -> (result :StorageResult);
  sync @4 () -> (result :StorageResult);
  close @5 () -> (result :StorageResult);
  stat @6 () -> (result :StatResult);
}

struct FileReadResult {
  union {
    data @0 :Data;          # shorter than asked at end of file
    error @1 :StorageError;
  }
}

struct FileWriteResult {
  union {
    written @0 :UInt32;
    error @1 :StorageError;
  }
}

struct FileStat {
  kind @0 :NodeKind;
  size @1 :UInt64;
  created @2 :Types.Timestamp;
  modified @3 :Types.Timestamp;
  readOnly @4 :Bool;
}

struct StatResult {
  union {
    stat @0 :FileStat;
    error @1 :StorageError;
  }
}
