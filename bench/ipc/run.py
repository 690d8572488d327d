#!/usr/bin/env python3
"""make bench-ipc: IPC round trips in guest instructions.

Boots the bench manifest (user/tests/test-bench.json: counter-server,
echo-server, bench) under QEMU with `-icount shift=0,sleep=off`: the virtual
clock advances exactly one nanosecond per guest instruction and the TSC
follows it, so the bench role's rdtsc deltas are guest instruction counts,
deterministic across hosts. Each figure is the mean over many round trips
and includes everything on the path: the client's runtime, both cap_enter
system calls, the kernel's ring processing, two context switches and the
server's runtime and handler.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "system"))
from capos_qemu import Machine  # noqa: E402

SEL4 = "seL4 x86_64 IPC call (published): 375-579 cycles"


def main():
    m = Machine("bench-ipc", cmdline="capos.manifest=test-bench.mf",
                extra=["-icount", "shift=0,sleep=off"])
    try:
        line = m.wait_for(r"captest: bench [^\n]*\n", 600).group(0)
    finally:
        m.kill()
    f = dict(kv.split("=") for kv in line.split()[2:])
    rows = [("null CALL round trip (client -> server -> reply)", f["null_call_rt"]),
            ("CALL transferring one cap (copy) + RETURN", f["cap_xfer_call_rt"]),
            ("4 KiB params round trip (echoed back)", f["params_4k_rt"])]
    print("capOS IPC benchmark: guest instructions per round trip (QEMU -icount, deterministic)")
    for name, v in rows:
        print(f"  {name:<52} {int(v):>8} instructions")
    print(f"  {'reference: ' + SEL4:<52}")
    goal = int(f["null_call_rt"]) < 1000
    print(f"  goal null round trip < 1000 instructions: {'met' if goal else 'NOT met'}")
    print(f"  (log: {m.log_path})")


if __name__ == "__main__":
    main()
