@0xd374c4931f207401;
# Process creation and supervision. The kernel grants ProcessSpawner to init
# only; init starts every service from a named boot module and hands it
# exactly the caps the boot manifest lists.

interface ProcessSpawner {
  # One call: at most RING_MAX_XFER grants (one message's sideband). The
  # process starts at once.
  spawn @0 (name :Text, binary :Text, grants :List(SpawnGrant)) -> (result :SpawnResult);
  # A process loaded but not started, for any number of grants (up to the
  # bootstrap page's BOOTSTRAP_MAX_CAPS): ProcessBuilder.grant in as many
  # calls as needed, then ProcessBuilder.start. Releasing the builder
  # before start destroys the process; it never ran.
  create @1 (name :Text, binary :Text) -> (result :CreateResult);
}

struct CreateResult {
  union {
    builder @0 :ProcessBuilder;
    error @1 :SpawnError;
  }
}

interface ProcessBuilder {
  # Add caps (at most RING_MAX_XFER per call, each in the call's sideband).
  # All or nothing: a refused call installs none of them.
  grant @0 (grants :List(SpawnGrant)) -> (result :BuildResult);
  # Claim the manifest's device grants and run the process; the builder is
  # spent (every later call: alreadyStarted).
  start @1 () -> (result :SpawnResult);
}

struct BuildResult {
  union {
    ok @0 :Void;
    error @1 :SpawnError;
  }
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
  duplicateName @5;         # a grant name the process already has (or twice in one call)
  alreadyStarted @6;        # ProcessBuilder used after start
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
