#!/usr/bin/python3
"""Where one block I/O spends its guest instructions (docs/bench-blk.md,
"Tracing one I/O").

Boots the capOS side of `make bench-blk` for one device and one QD1 row under
`-icount shift=0` with QEMU's gdb stub, stops the bench client at its N-th
call of that row (a hardware breakpoint on the client's rt_submit, the call's
SQE checked: opcode CALL, method, tag), then has QEMU log the CPU state
before every instruction of the whole machine (monitor commands through the
stub: `singlestep on`, one instruction per translation block, and
`log cpu,nochain`) until the client reaches rt_submit again: one I/O (client
-> kernel -> driver -> device caps -> interrupt -> driver -> kernel ->
client). It prints the instructions per process, in order and per function.
The row then runs to its end in the same boot and its own `lat_us` is
printed: under -icount guest ns = instructions while the vCPU runs plus the
time it idles waiting for the device, so lat_us x 1000 is an upper bound of
the traced count.

Why not gdb single-stepping (bench/ipc/trace.py): ~0.5-1 ms per step here,
and the guest's virtual clock follows real time while the stub holds the
vCPU (icount's sleep=on), so the timer interrupt fires after every step;
with sleep=off the drivers' waits time out. The log runs the guest at TCG
speed (one instruction per block): ~100 k instructions in seconds.

Processes: every capOS user binary is linked at 0x400000, so a user address
alone does not say whose code runs. The logged CR3 tells address spaces
apart; each CR3 is given the one user binary (client, driver, init) of which
(nearly: 99%) every user pc run under it is an instruction start (objdump). Kernel
instructions are counted under the address space they run in
("kernel@client": the kernel in the client's CR3, i.e. its system calls and
the interrupts that arrive while it runs).

Usage: bench/blk/trace.py DEV JOB [--skip N] [--ios K] [--seconds S] [--log FILE]
  DEV: virtio | nvme; JOB: seqread128k | seqwrite128k | randread4k | randwrite4k
  (queue depth 1). One boot; a few minutes under load.
"""
import argparse
import bisect
import collections
import os
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_blk  # noqa: E402
from capos_qemu import BUILD, Machine  # noqa: E402

KERNEL_BASE = 0xffff800000000000
REG_RDI, REG_RIP, REG_CR3 = 5, 16, 32       # the stub's x86_64 register numbers
RING_OP_CALL = 1
RUN_TOP = int(os.environ.get("TRACE_RUN_TOP", "4"))  # functions shown per run
# job -> (method ordinal, tag of the client's QD1 call: run_small slot 0, run_big 1000)
JOBS = {"randread4k": (0, 0), "randwrite4k": (1, 0), "seqread128k": (0, 1000),
        "seqwrite128k": (1, 1000)}
DRIVER = {"virtio": "virtio-blk", "nvme": "nvme"}


class Stub:
    """The GDB remote serial protocol, the few packets this needs."""

    def __init__(self, port, timeout):
        deadline = time.monotonic() + 30
        while True:
            try:
                self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        # QEMU answers `p` only to a client that has read the target description
        r = self.send("qSupported:xmlRegisters=i386")
        while not r.startswith("PacketSize"):
            r = self.reply()        # a stale stop reply, seen when QEMU was just started
        r = self.send("qXfer:features:read:target.xml:0,ffb")
        if not r.startswith(("l", "m")):
            raise RuntimeError(f"gdb stub gave no target description: {r!r}")

    def send(self, body):
        data = body.encode()
        self.s.sendall(b"$%s#%02x" % (data, sum(data) & 0xff))
        return self.reply()

    def reply(self):
        while True:
            while self.buf[:1] in (b"+", b"-"):
                self.buf = self.buf[1:]
            end = self.buf.find(b"#")
            if self.buf[:1] == b"$" and end >= 0 and len(self.buf) >= end + 3:
                body = self.buf[1:end].decode()
                self.buf = self.buf[end + 3:]
                self.s.sendall(b"+")
                return body
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("gdb stub closed the connection")
            self.buf += chunk

    def reg(self, n):
        r = self.send(f"p{n:x}")
        if not r or r.startswith("E"):
            raise RuntimeError(f"stub cannot read register {n}: {r!r}")
        return int.from_bytes(bytes.fromhex(r), "little")

    def mem(self, addr, n):
        r = self.send(f"m{addr:x},{n:x}")
        if r.startswith("E"):
            raise ValueError(f"stub cannot read {n} bytes at {addr:#x}: {r}")
        return bytes.fromhex(r)

    def stopped(self, r):
        if not r.startswith(("T", "S")):
            raise RuntimeError(f"guest did not stop as expected: {r!r}")


class Binary:
    """An ELF's functions (nm) and instruction addresses (objdump), to name a
    pc and to recognise whose code an address space runs."""

    def __init__(self, label, path):
        self.label = label
        out = subprocess.run(["nm", "-n", path], capture_output=True, text=True, check=True).stdout
        self.syms = [(int(a, 16), n) for a, t, n in
                     (ln.split() for ln in out.splitlines() if ln.count(" ") == 2) if t in "tTwW"]
        self.addrs = [a for a, _ in self.syms]
        out = subprocess.run(["objdump", "-d", path], capture_output=True, text=True,
                             check=True).stdout
        self.insns = {int(ln.split(":")[0], 16) for ln in out.splitlines()
                      if ln.startswith(" ") and ":\t" in ln}

    def func(self, pc):
        i = bisect.bisect_right(self.addrs, pc) - 1
        return self.syms[i][1] if i >= 0 else f"?{pc:#x}"


def owners(trace, users):
    """CR3 -> the user binary of which (nearly) every user pc run under that
    CR3 is an instruction start (None when none fits 99%)."""
    pcs = collections.defaultdict(set)
    for pc, cr3 in trace:
        if pc < KERNEL_BASE:
            pcs[cr3].add(pc)
    out = {}
    for cr3, seen in pcs.items():
        best = max(users, key=lambda b: len(seen & b.insns))
        out[cr3] = best if len(seen & best.insns) >= 0.99 * len(seen) else None
    return out


def wait_for_call(stub, entry, method, tag, skip, cr3=None):
    """Run to the client's skip-th matching call; returns the client's CR3."""
    seen, at_entry = 0, False
    while True:
        # QEMU stops again at once when continued from a breakpoint's own pc:
        # step off it first, as gdb does
        if at_entry:
            stub.stopped(stub.send("s"))
        stub.send(f"Z1,{entry:x},1")
        stub.stopped(stub.send("c"))
        at_entry = True
        stub.send(f"z1,{entry:x},1")
        here = stub.reg(REG_CR3)
        if cr3 is not None and here != cr3:
            continue
        try:
            sqe = stub.mem(stub.reg(REG_RDI), 32)
        except ValueError:
            continue
        op, _, meth, _, user_data = struct.unpack_from("<BBHIQ", sqe)
        if op != RING_OP_CALL or meth != method or user_data != tag:
            continue
        cr3 = here
        seen += 1
        if seen >= skip:
            return cr3


def rcmd(stub, cmd):
    """A QEMU monitor command through the stub (qRcmd); its output."""
    r, out = stub.send("qRcmd," + cmd.encode().hex()), []
    while r.startswith("O") and r != "OK":
        out.append(bytes.fromhex(r[1:]).decode(errors="replace"))
        r = stub.reply()
    if r != "OK":
        raise RuntimeError(f"monitor command {cmd!r} failed: {r!r} {''.join(out)}")
    return "".join(out)


def log_ios(stub, entry, client_cr3, ios):
    """From the client's call (stopped at entry) until it has reached entry
    `ios` more times, QEMU logs the CPU state before every instruction (one
    instruction per translation block, no chaining)."""
    rcmd(stub, "singlestep on")
    rcmd(stub, "log cpu,nochain")
    done = 0
    while done < ios:
        stub.stopped(stub.send("s"))    # off the breakpoint's own pc
        stub.send(f"Z1,{entry:x},1")
        stub.stopped(stub.send("c"))
        stub.send(f"z1,{entry:x},1")
        if stub.reg(REG_CR3) == client_cr3:
            done += 1
    rcmd(stub, "log none")
    rcmd(stub, "singlestep off")


def read_log(path, entry):
    """[(rip, cr3)] per instruction from the log, the I/O boundaries (start,
    each time the client enters rt_submit inside the log, end) and the
    client's CR3 as the log prints it (the stub's CR3 register reads
    differently). The log's first record is the client's first instruction
    of rt_submit (the stub's step off the breakpoint); it ends before the
    rt_submit of the call after the last one traced."""
    trace, rip = [], None
    with open(path, errors="replace") as f:
        for ln in f:
            if ln.startswith("RIP="):
                rip = int(ln[4:20], 16)
            elif ln.startswith("CR0=") and rip is not None:
                trace.append((rip, int(ln.split("CR3=")[1].split()[0], 16)))
                rip = None
    client = trace[0][1] if trace else None
    marks = {0, len(trace)} | {i for i, (pc, cr3) in enumerate(trace)
                               if pc == entry and cr3 == client}
    return trace, sorted(marks), client


def report(title, trace, kernel, owner):
    """Per process, in order (runs of one domain with their top functions), per function."""
    def where(pc, cr3):
        who = owner.get(cr3)
        if pc >= KERNEL_BASE:
            return f"kernel@{who.label if who else f'cr3={cr3:#x}'}", kernel.func(pc)
        return (who.label, who.func(pc)) if who else (f"user cr3={cr3:#x}", f"{pc:#x}")

    per_dom, per_func, runs = collections.Counter(), collections.Counter(), []
    for pc, cr3 in trace:
        dom, fn = where(pc, cr3)
        per_dom[dom] += 1
        per_func[(dom.split("@")[0], fn)] += 1
        if not runs or runs[-1][0] != dom:
            runs.append([dom, collections.Counter()])
        runs[-1][1][fn] += 1
    print(f"{title}: {len(trace)} instructions")
    print("per process:")
    for dom, c in per_dom.most_common():
        print(f"  {c:8d}  {100 * c / len(trace):5.1f}%  {dom}")
    print("in order (runs of one process; the run's largest functions):")
    for dom, fns in runs:
        top = ", ".join(f"{f} {c}" for f, c in fns.most_common(RUN_TOP))
        more = len(fns) - RUN_TOP
        print(f"  {sum(fns.values()):8d}  {dom}: {top}" + (f", +{more} more" if more > 0 else ""))
    print("per function (kernel or binary):")
    for (dom, fn), c in per_func.most_common(60):
        print(f"  {c:8d}  {dom}:{fn}")


def private_image(mf, a):
    """A boot image of its own (not the shared cache: other people rebuild
    build/ meanwhile) and copies of the binaries it holds, for the symbols;
    refused when build/ changed while it was made."""
    out = os.path.join(BUILD, "bench-blk", "trace")
    os.makedirs(out, exist_ok=True)
    src = {"kernel": os.path.join(BUILD, "kernel", "capos.elf")}
    for b in ("bench-blk", DRIVER[a.dev], "init"):
        src[b] = os.path.join(BUILD, "bins", b)
    for _ in range(3):
        before = {k: open(v, "rb").read() for k, v in src.items()}
        img = os.path.join(out, f"{a.dev}-{a.job}.img")
        subprocess.run(["bash", "scripts/mkimage.sh", img, f"capos.manifest={os.path.basename(mf)}",
                        mf], cwd=os.path.dirname(BUILD), check=True, capture_output=True)
        if all(open(v, "rb").read() == before[k] for k, v in src.items()):
            syms = {}
            for k, blob in before.items():
                syms[k] = os.path.join(out, f"{a.dev}-{a.job}.{k}")
                with open(syms[k], "wb") as f:
                    f.write(blob)
            return img, syms
        time.sleep(20)
    sys.exit("trace: build/ kept changing while the image was made")


def saved_binaries(a):
    """The copies an earlier run of DEV JOB saved, else build/ as it is now."""
    now = {"kernel": os.path.join(BUILD, "kernel", "capos.elf")}
    for b in ("bench-blk", DRIVER[a.dev], "init"):
        now[b] = os.path.join(BUILD, "bins", b)
    saved = {k: os.path.join(BUILD, "bench-blk", "trace", f"{a.dev}-{a.job}.{k}") for k in now}
    return {k: saved[k] if os.path.exists(saved[k]) else now[k] for k in now}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dev", choices=sorted(DRIVER))
    ap.add_argument("job", choices=sorted(JOBS))
    ap.add_argument("--skip", type=int, default=1000, help="calls of the row let through first")
    ap.add_argument("--ios", type=int, default=1, help="consecutive I/Os traced")
    ap.add_argument("--seconds", type=int, default=2, help="the row's measured seconds")
    ap.add_argument("--port", type=int, default=0, help="gdb stub port (default: a free one)")
    ap.add_argument("--log", help="analyse this log of an earlier run instead of booting")
    a = ap.parse_args()

    method, tag = JOBS[a.job]
    if not a.port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            a.port = probe.getsockname()[1]
    # a timeout's SIGTERM must still kill QEMU (the finally below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("trace: terminated"))
    row = next(r for r in bench_blk.ROWS if r[0] == a.job and r[1] == 1)
    mf = bench_blk.capos_manifest(a.dev, seconds=a.seconds, selected=[row])
    if a.log:
        syms = saved_binaries(a)
    else:
        img, syms = private_image(mf, a)
    kernel = Binary("kernel", syms["kernel"])
    client = Binary("client", syms["bench-blk"])
    users = [client, Binary(DRIVER[a.dev], syms[DRIVER[a.dev]]), Binary("init", syms["init"])]
    entry = next(addr for addr, n in client.syms if n == "rt_submit")
    if a.log:
        analyse(a.log, entry, kernel, client, users, a.ios)
        return 0
    log = os.path.join(BUILD, "bench-blk", f"trace-{a.dev}-{a.job}.log")
    if os.path.exists(log):
        os.unlink(log)

    extra = ["-accel", "tcg", "-icount", "shift=0", "-D", log,
             "-drive", f"file={bench_blk.disk('trace', a.dev)},format=raw,if=none,id=benchdisk",
             "-device", bench_blk.DEVICE[a.dev], "-gdb", f"tcp::{a.port}", "-S"]
    m = Machine(f"bench-blk-trace-{a.dev}-{a.job}", img=img, machine="q35", memory="512M",
                smp=1, extra=extra)
    try:
        stub = Stub(a.port, timeout=900)
        t0 = time.monotonic()
        client_cr3 = wait_for_call(stub, entry, method, tag, a.skip)
        t1 = time.monotonic()
        log_ios(stub, entry, client_cr3, a.ios)
        t2 = time.monotonic()
        stub.send("D")
        m.wait_for(r"capos: bench-blk (dev=\S+ job=" + a.job + r" [^\n]*|unavailable[^\n]*)\n",
                   900)
    finally:
        m.kill()
    print(f"trace: {a.dev} {a.job} qd=1: call {a.skip} of the row reached in {t1 - t0:.0f} s, "
          f"{a.ios} I/O(s) logged in {t2 - t1:.0f} s")
    analyse(log, entry, kernel, client, users, a.ios)
    line = [ln for ln in m.text.splitlines() if "capos: bench-blk dev=" in ln]
    print("the row in the same boot, as the client printed it (lat_us: guest us = k instructions"
          " + time idle):")
    print("  " + (line[-1] if line else "no row line (see the log)"))
    return 0


def analyse(log, entry, kernel, client, users, ios):
    trace, marks, client_cr3 = read_log(log, entry)
    owner = owners(trace, users)
    owner[client_cr3] = client
    print(f"trace: {len(trace)} instructions in {os.path.relpath(log)}")
    if len(marks) != ios + 1:
        print(f"trace: {len(marks) - 1} I/Os in the log, {ios} expected")
    for i in range(len(marks) - 1):
        report(f"I/O {i + 1} (rt_submit to rt_submit)", trace[marks[i]:marks[i + 1]], kernel,
               owner)


if __name__ == "__main__":
    sys.exit(main())
