#!/usr/bin/python3
"""make bench-blk: block I/O through BlockDevice on capOS against a Linux
guest on the same emulated devices, same QEMU, same TCG (docs/bench-blk.md).

For each device (virtio-blk-pci, nvme) it boots
  - Linux: Debian 12's kernel + build/bench-blk/initramfs.cpio (busybox, fio),
    which prints `bench-blk linux dev=D job=J qd=Q iops=N mbps=X lat_us=L`;
  - capOS: the boot image with the bench command line, which must print
    `capos: bench-blk dev=D job=J qd=Q iops=N mbps=X` per row and
    `capos: bench-blk done` (the contract is in docs/bench-blk.md);
each on a fresh, fallocate-preallocated raw image of the same size, and
prints one table with capOS/Linux ratios. A row the capOS build does not
produce is shown as `capOS: not available in this build`: never a number
that was not measured.

Knobs (environment): BENCH_BLK_SECONDS per job (5), BENCH_BLK_DEVS
("virtio nvme"), BENCH_BLK_DISK_MB (256), BENCH_BLK_ENGINE for fio (libaio),
BENCH_BLK_CAPOS (auto: boot capOS for a device only when the build has
build/bins/bench-blk-DEV.mf; 1: always try; 0: never), BENCH_BLK_JOBS (rows
to run, e.g. "seqread128k:1 seqwrite128k:1"; all by default),
BENCH_BLK_CAPOS_CMDLINE (with {dev} and {seconds}: replaces the generated
manifest below),
BENCH_BLK_CAPOS_MODULES (extra boot modules, space separated),
BENCH_BLK_RUNS boots per guest and device, median per row (1),
BENCH_BLK_ICOUNT: a QEMU -icount shift (e.g. 0) for both guests: time is
then counted in guest instructions, not host seconds (slow; see the doc).
"""
import json
import os
import statistics
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "system"))
from capos_qemu import BUILD, Machine, image, kv  # noqa: E402

OUT = os.path.join(BUILD, "bench-blk")
SECONDS = int(os.environ.get("BENCH_BLK_SECONDS", "5"))
DEVS = os.environ.get("BENCH_BLK_DEVS", "virtio nvme").split()
DISK_MB = int(os.environ.get("BENCH_BLK_DISK_MB", "256"))
ENGINE = os.environ.get("BENCH_BLK_ENGINE", "libaio")
CAPOS_MODE = os.environ.get("BENCH_BLK_CAPOS", "auto")
CAPOS_CMDLINE = os.environ.get("BENCH_BLK_CAPOS_CMDLINE")
CAPOS_MODULES = os.environ.get("BENCH_BLK_CAPOS_MODULES", "").split()
RUNS = int(os.environ.get("BENCH_BLK_RUNS", "1"))
ICOUNT = os.environ.get("BENCH_BLK_ICOUNT", "")

# Same machine for both guests: q35, 512 MiB, one vCPU, TCG.
MACHINE = dict(machine="q35", memory="512M", smp=1)
ACCEL = ["-accel", "tcg"] + (["-icount", f"shift={ICOUNT}"] if ICOUNT else [])
# The benchmark disk, identical for both guests. The PCI identities are what a
# capOS manifest selects: virtio-blk 1af4:1001 (transitional, QEMU default) and
# NVMe 1b36:0010 with this serial.
DEVICE = {
    "virtio": "virtio-blk-pci,drive=benchdisk",
    "nvme": "nvme,serial=capos-bench-blk,drive=benchdisk",
}
# (job, queue depth, block size, what the row measures)
ROWS = [
    ("randread4k", 1, "4 KiB random read"),
    ("randread4k", 32, "4 KiB random read"),
    ("randwrite4k", 1, "4 KiB random write"),
    ("randwrite4k", 32, "4 KiB random write"),
    ("seqread128k", 1, "128 KiB sequential read"),
    ("seqwrite128k", 1, "128 KiB sequential write"),
]
NA = "capOS: not available in this build"
_jobs = os.environ.get("BENCH_BLK_JOBS", "").split()
_known = [f"{job}:{qd}" for job, qd, _ in ROWS]
if [j for j in _jobs if j not in _known]:
    sys.exit(f"bench-blk: BENCH_BLK_JOBS: unknown rows {[j for j in _jobs if j not in _known]}; "
             f"known: {' '.join(_known)}")
SELECTED = [r for r in ROWS if not _jobs or f"{r[0]}:{r[1]}" in _jobs]
# A Linux guest's complaint that its disk stalled (bench/blk/linux/init's dmesg filter).
STALL = re.compile(r"dmesg: .*(timeout|timed out|reset controller)", re.I)


def disk(side, dev):
    """A fresh raw image, preallocated (sparse images stall QEMU's NVMe writes)
    and then written once, so that no guest write lands on an unwritten host
    extent (seen to stall one NVMe request for a minute)."""
    path = os.path.join(OUT, f"disk-{side}-{dev}.img")
    if os.path.exists(path):
        os.unlink(path)
    subprocess.run(["fallocate", "-l", f"{DISK_MB}M", path], check=True)
    chunk = b"\0" * (1 << 20)
    with open(path, "r+b") as f:
        for _ in range(DISK_MB):
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())
    return path


def qemu_extra(side, dev):
    return ACCEL + ["-drive", f"file={disk(side, dev)},format=raw,if=none,id=benchdisk",
                    "-device", DEVICE[dev]]


def deadline():
    # boot + per job (ramp 1 s + runtime + fio start-up under TCG), generously
    t = 240 + len(ROWS) * (SECONDS + 40)  # Linux runs every row
    return t * 8 if ICOUNT else t


def parse(text, prefix):
    """{(dev, job, qd): {iops, mbps, ...}} and error lines, from marker lines."""
    rows, errors = {}, []
    for line in text.splitlines():
        if not line.startswith(prefix + " "):
            continue
        f = kv(line)
        if "error" in f:
            errors.append(line)
        elif {"dev", "job", "qd", "iops", "mbps"} <= f.keys():
            try:
                # capOS runs each row twice: path=window (zero-copy, the capOS column)
                # and path=message (data in the call; its own column)
                key = (f["dev"], f["job"], int(f["qd"]))
                if f.get("path") == "message":
                    key += ("message",)
                rows[key] = {
                    "iops": float(f["iops"]), "mbps": float(f["mbps"]),
                    "lat_us": float(f["lat_us"]) if "lat_us" in f else None}
            except ValueError:
                errors.append(line)
    return rows, errors


def run_linux(dev):
    vmlinuz = os.path.join(OUT, "vmlinuz")
    initrd = os.path.join(OUT, "initramfs.cpio")
    append = (f"console=ttyS0 quiet panic=-1 benchblk.seconds={SECONDS} "
              f"benchblk.engine={ENGINE}")
    if len(SELECTED) < len(ROWS):  # only the selected rows (init takes JOB:QD)
        append += " benchblk.jobs=" + ",".join(f"{job}:{qd}" for job, qd, _ in SELECTED)
    m = Machine(f"bench-blk-linux-{dev}", kernel=vmlinuz, **MACHINE,
                extra=qemu_extra("linux", dev) + ["-initrd", initrd, "-append", append])
    try:
        m.wait_for(r"bench-blk linux done", deadline())
        m.wait_exit(60)
    except AssertionError as e:
        print(f"bench-blk: Linux guest on {dev} did not finish: {str(e).splitlines()[0]}",
              file=sys.stderr)
    finally:
        m.kill()
    head = re.search(r"^bench-blk linux dev=\S+ path=.*$", m.text, re.M)
    rows, errors = parse(m.text, "bench-blk linux")
    errors += re.findall(r"^bench-blk linux dmesg: .*$", m.text, re.M)
    return rows, errors, head.group(0) if head else None, m.log_path


def capos_why_not(dev):
    """None when the capOS side is to be booted for dev, else why not."""
    if CAPOS_MODE == "0":
        return "BENCH_BLK_CAPOS=0"
    if not os.path.exists(os.path.join(BUILD, "kernel", "capos.elf")):
        return "no capOS kernel in build/"
    if CAPOS_MODE == "auto" and not CAPOS_CMDLINE:
        mf = os.path.join(BUILD, "bins", f"bench-blk-{dev}.mf")
        if not os.path.exists(mf):
            return f"no {os.path.relpath(mf)} in this build"
    return None


def capos_manifest(dev, seconds=SECONDS, selected=SELECTED):
    """The manifest booted for dev: user/tests/bench-blk-DEV.json with the
    bench client's service renamed bench-blk-DEV.sSECONDS[.jROWS], the
    parameters it reads from its process name (user/bench-blk/main.c), built
    with mkmanifest into a boot module of its own. bench/blk/trace.py passes
    its own seconds and rows."""
    src = os.path.join(os.path.dirname(__file__), "..", "..", "user", "tests", f"bench-blk-{dev}.json")
    with open(src) as f:
        mf = json.load(f)
    params = f"s{seconds}"
    if len(selected) < len(ROWS):
        params += ".j" + "".join(str(ROWS.index(r) + 1) for r in selected)
    name = f"bench-blk-{dev}.{params}"
    clients = [s for s in mf["services"] if s["name"] == f"bench-blk-{dev}"]
    if len(clients) != 1:
        raise RuntimeError(f"{src}: no service bench-blk-{dev}")
    clients[0]["name"] = name
    # the parameters in the file name too: capos_qemu.image caches by module path
    base = os.path.join(OUT, f"bench-blk-{dev}-run-{params.replace('.', '-')}")
    with open(base + ".json", "w") as f:
        json.dump(mf, f, indent=1)
    subprocess.run([os.path.join(BUILD, "tools", "mkmanifest"), "--bins-list",
                    os.path.join(BUILD, "blk-test.bins"), "-o", base + ".mf", base + ".json"],
                   check=True)
    return base + ".mf"


def run_capos(dev):
    if CAPOS_CMDLINE:
        img = image(CAPOS_CMDLINE.format(dev=dev, seconds=SECONDS), tuple(CAPOS_MODULES))
    else:
        mf = capos_manifest(dev)
        img = image(f"capos.manifest={os.path.basename(mf)}", (mf, *CAPOS_MODULES))
    m = Machine(f"bench-blk-capos-{dev}", img=img, **MACHINE, extra=qemu_extra("capos", dev))
    note = None
    try:
        m.wait_for(r"capos: bench-blk (done|unavailable)[^\n]*\n", deadline())
    except AssertionError as e:
        note = str(e).splitlines()[0]
    finally:
        m.kill()
    rows, errors = parse(m.text, "capos: bench-blk")
    un = re.search(r"capos: bench-blk unavailable[^\n]*", m.text)
    if un:
        note = un.group(0)
    return rows, errors, note, m.log_path


def merge(runs):
    """Median per row over the runs that produced it; also min and max IOPS."""
    out = {}
    for key in {k for r in runs for k in r}:
        vals = [r[key] for r in runs if key in r]
        out[key] = {"iops": statistics.median(v["iops"] for v in vals),
                    "mbps": statistics.median(v["mbps"] for v in vals),
                    "lo": min(v["iops"] for v in vals), "hi": max(v["iops"] for v in vals),
                    "n": len(vals)}
    return out


def fmt_num(v, nd=0):
    return "-" if v is None else f"{v:.{nd}f}"


def main():
    for f in ("vmlinuz", "initramfs.cpio"):
        if not os.path.exists(os.path.join(OUT, f)):
            sys.exit(f"bench-blk: {OUT}/{f} missing; run bench/blk/linux/build-initramfs.sh")
    why = {dev: capos_why_not(dev) for dev in DEVS}
    linux_runs, capos_runs, notes = [], [], []
    t0 = time.monotonic()
    load0 = os.getloadavg()[0]
    stalled = []  # Linux runs whose guest kernel reported I/O timeouts on the disk
    for run in range(RUNS):
        for dev in DEVS:  # interleaved per device so host drift hits both sides alike
            rows, errors, head, log = run_linux(dev)
            notes += [f"linux {dev}: {e}" for e in errors]
            if any(STALL.search(e) for e in errors):
                stalled.append((dev, rows))
                notes.append(f"linux {dev}: run {run + 1} left out of the medians: the guest "
                             "kernel reported I/O timeouts (QEMU's device stalled; a stalled row "
                             "would lower the Linux column)")
            else:
                linux_runs.append(rows)
            if run == 0:
                notes.append(f"linux {dev}: {head or 'no header line'} (log {os.path.relpath(log)})")
            if why[dev] is None:
                rows, errors, note, log = run_capos(dev)
                capos_runs.append(rows)
                notes += [f"capos {dev}: {e}" for e in errors]
                if note:
                    notes.append(f"capos {dev}: {note}")
                notes.append(f"capos {dev}: {len(rows)} rows (log {os.path.relpath(log)})")
    for dev in DEVS:  # every run of a device stalled: a low baseline rather than none
        if not any(k[0] == dev for r in linux_runs for k in r):
            back = [rows for d, rows in stalled if d == dev]
            if back:
                linux_runs += back
                notes.append(f"linux {dev}: every run reported I/O timeouts; their rows are used")
    linux, capos = merge(linux_runs), merge(capos_runs)

    kernel = open(os.path.join(OUT, "kernel-version")).read().strip() \
        if os.path.exists(os.path.join(OUT, "kernel-version")) else "?"
    print(f"bench-blk: QEMU TCG, q35, -m 512M, -smp 1; raw {DISK_MB} MiB preallocated image per "
          f"guest; {SECONDS} s per job after 1 s ramp; O_DIRECT on the raw device; "
          f"median of {RUNS} boot(s)" + (f"; -icount shift={ICOUNT} (guest-instruction time)" if ICOUNT else ""))
    print(f"bench-blk: Linux = Debian {kernel}, fio {ENGINE}; capOS = BlockDevice client process")
    for dev in DEVS:
        if why[dev]:
            print(f"bench-blk: capOS {dev}: not booted ({why[dev]})")
    print(f"{'dev':<7}{'job':<13}{'qd':>3}{'Linux IOPS':>12}{'Linux MB/s':>12}"
          f"{'capOS IOPS':>12}{'capOS MB/s':>12}{'capOS/Linux':>13}{'msg IOPS':>10}{'msg/Linux':>10}"
          + (f"{'Linux IOPS min..max':>22}{'capOS IOPS min..max':>22}" if RUNS > 1 else ""))
    ok = True
    for dev in DEVS:
        for job, qd, _ in SELECTED:
            lx = linux.get((dev, job, qd))
            msg = capos.get((dev, job, qd, "message"))
            cp = capos.get((dev, job, qd)) or msg
            ok &= lx is not None
            left = f"{dev:<7}{job:<13}{qd:>3}{fmt_num(lx and lx['iops']):>12}{fmt_num(lx and lx['mbps'], 2):>12}"
            spread = ""
            if RUNS > 1:
                spread = (f"{lx['lo']:.0f}..{lx['hi']:.0f}" + ("" if lx["n"] == RUNS else f" n={lx['n']}")
                          if lx else "-").rjust(22)
            if cp is None:
                print(f"{left}  {NA}" + (f"   (Linux {spread.strip()})" if spread else ""))
                continue
            ratio = f"{cp['iops'] / lx['iops']:.2f}" if lx and lx["iops"] > 0 else "-"
            if RUNS > 1:
                spread += (f"{cp['lo']:.0f}..{cp['hi']:.0f}"
                           + ("" if cp["n"] == RUNS else f" n={cp['n']}")).rjust(22)
            mratio = f"{msg['iops'] / lx['iops']:.2f}" if msg and lx and lx["iops"] > 0 else "-"
            print(f"{left}{fmt_num(cp['iops']):>12}{fmt_num(cp['mbps'], 2):>12}{ratio:>13}"
                  f"{fmt_num(msg and msg['iops']):>10}{mratio:>10}{spread}")
    for n in notes:
        print(f"  {n}")
    print(f"bench-blk: {time.monotonic() - t0:.0f} s wall; host load average "
          f"{load0:.1f} at start, {os.getloadavg()[0]:.1f} at end on {os.cpu_count()} CPUs")
    if not ok:
        print("bench-blk: FAIL: Linux baseline rows missing (see the logs above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
