@0xd374c4931f207401;
# Process creation and supervision. The kernel grants ProcessSpawner to init
# only; init starts every service from a named boot module and hands it
# exactly the caps the boot manifest lists.

interface ProcessSpawner {
  spawn @0 (name :Text, binary :Text, grants :List(SpawnGrant)) -> (result :SpawnResult);
}

struct SpawnGrant {
  # One initial cap of the new process, as listed on its bootstrap page.
  name @0 :Text;            # the name the process sees
  cap @1 :Capability;       # transferred by copy in the call's sideband
}

struct SpawnResult {
  union {
    handle @0 :ProcessHandle;
    error @1 :SpawnError;
  }
}

enum SpawnError {
  unknownBinary @0;         # no boot module with that name
  malformedBinary @1;       # ELF rejected by the loader
  tooManyGrants @2;
  badName @3;
  outOfMemory @4;
}

interface ProcessHandle {
  wait @0 (timeoutNs :UInt64) -> (result :WaitResult);   # 0 = no timeout
  kill @1 () -> (result :KillResult);
  info @2 () -> (info :ProcessInfo);
}

struct WaitResult {
  union {
    exited @0 :ExitStatus;
    timedOut @1 :Void;
  }
}

struct ExitStatus {
  union {
    code @0 :Int32;         # the process called exit(code)
    fault @1 :ProcessFault; # the kernel ended it
    killed @2 :Void;
  }
}

struct ProcessFault {
  address @0 :UInt64;       # faulting user address
  reason @1 :Text;
}

struct KillResult {
  union {
    ok @0 :Void;
    alreadyExited @1 :Void;
  }
}

struct ProcessInfo {
  pid @0 :UInt32;
  name @1 :Text;
  state @2 :ProcessState;
}

enum ProcessState {
  running @0;
  exited @1;
}
