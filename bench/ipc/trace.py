#!/usr/bin/env python3
"""Where a null IPC round trip spends its instructions.

Boots the bench manifest under `-icount` with QEMU's gdb stub, stops the
`bench` process at the 61st null echo call (after the warm-up), then
single-steps the whole round trip (client rt_call -> kernel -> server ->
kernel -> back to the next rt_call) and prints the instructions per function,
in order and totalled. The count equals `make bench-ipc`'s null figure.
Usage: python3 bench/ipc/trace.py [--port N] [--pcs FILE]   (needs gdb; takes ~1 minute)
--pcs FILE keeps the stepped program counters, one per line (hex), for
annotating a disassembly instruction by instruction.
"""
import bisect
import collections
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
from capos_qemu import Machine  # noqa: E402


def symbols(path):
    out = subprocess.run(["nm", "-n", path], capture_output=True, text=True, check=True).stdout
    return [(int(a, 16), n) for a, t, n in (ln.split() for ln in out.splitlines() if ln.count(" ") == 2)
            if t in "tTwW"]


def main():
    port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 12391
    syms = sorted(symbols(os.path.join(ROOT, "build/kernel/capos.elf")) +
                  symbols(os.path.join(ROOT, "build/bins/captest")))
    addrs = [a for a, _ in syms]
    rt_call = next(a for a, n in syms if n == "rt_call")
    out = (sys.argv[sys.argv.index("--pcs") + 1] if "--pcs" in sys.argv
           else tempfile.NamedTemporaryFile("w+", suffix=".pcs", delete=False).name)
    # rt_call(echo, Echo_echo_ORDINAL = 0, params = NULL, plen = 0, ...): only the bench's null calls
    cond = "if $rsi == 0 && $rdx == 0 && $rcx == 0"
    script = f"""set pagination off
target remote :{port}
hbreak *{rt_call:#x} {cond}
ignore 1 60
continue
delete
python
import gdb
f = open("{out}", "w")
for n in range(20000):
    gdb.execute("stepi", to_string=True)
    pc = int(gdb.parse_and_eval("$pc")) & 0xffffffffffffffff
    f.write("%x\\n" % pc)
    if pc == {rt_call:#x}:
        break
f.close()
end
kill
quit
"""
    m = Machine("bench-ipc-trace", cmdline="capos.manifest=test-bench.mf",
                extra=["-icount", "shift=0,sleep=off", "-gdb", f"tcp::{port}", "-S"])
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".gdb", delete=False) as g:
            g.write(script)
        subprocess.run(["gdb", "-q", "-batch", "-x", g.name], capture_output=True, timeout=900)
    finally:
        m.kill()
    pcs = [int(x, 16) for x in open(out)]
    seq, total = [], collections.Counter()
    for pc in pcs:
        i = bisect.bisect_right(addrs, pc) - 1
        name = syms[i][1] if i >= 0 else "?"
        total[name] += 1
        if not seq or seq[-1][0] != name:
            seq.append([name, 0])
        seq[-1][1] += 1
    print(f"null round trip: {len(pcs)} instructions\nin order:")
    print("  " + "; ".join(f"{n} {c}" for n, c in seq))
    print("per function:")
    for name, c in total.most_common():
        print(f"  {c:6d} {name}")


if __name__ == "__main__":
    main()
