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
BENCH_BLK_CAPOS (auto: boot capOS only when its build carries the bench;
1: always try; 0: never), BENCH_BLK_CAPOS_CMDLINE (with {dev} and {seconds}),
BENCH_BLK_CAPOS_MODULES (extra boot modules, space separated).
"""
import glob
import os
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
CAPOS_CMDLINE = os.environ.get("BENCH_BLK_CAPOS_CMDLINE",
                               "capos.bench=blk capos.bench.dev={dev} capos.bench.seconds={seconds}")
CAPOS_MODULES = os.environ.get("BENCH_BLK_CAPOS_MODULES", "").split()

# Same machine for both guests: q35, 512 MiB, one vCPU, TCG.
MACHINE = dict(machine="q35", memory="512M", smp=1)
ACCEL = ["-accel", "tcg"]
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


def disk(side, dev):
    """A fresh raw image, preallocated (sparse images stall QEMU's NVMe writes)."""
    path = os.path.join(OUT, f"disk-{side}-{dev}.img")
    if os.path.exists(path):
        os.unlink(path)
    subprocess.run(["fallocate", "-l", f"{DISK_MB}M", path], check=True)
    return path


def qemu_extra(side, dev):
    return ACCEL + ["-drive", f"file={disk(side, dev)},format=raw,if=none,id=benchdisk",
                    "-device", DEVICE[dev]]


def deadline():
    # boot + per job (ramp 1 s + runtime + fio start-up under TCG), generously
    return 180 + len(ROWS) * (SECONDS + 15)


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
                rows[(f["dev"], f["job"], int(f["qd"]))] = {
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
    return rows, errors, head.group(0) if head else None, m.log_path


def capos_built():
    return os.path.exists(os.path.join(BUILD, "kernel", "capos.elf"))


def capos_carries_bench():
    """Whether any piece of the capOS build contains the marker text."""
    files = [os.path.join(BUILD, "kernel", "capos.elf")] + sorted(glob.glob(os.path.join(BUILD, "bins", "*")))
    files += CAPOS_MODULES
    for f in files:
        try:
            with open(f, "rb") as fh:
                if b"bench-blk" in fh.read():
                    return True
        except OSError:
            pass
    return False


def run_capos(dev):
    cmdline = CAPOS_CMDLINE.format(dev=dev, seconds=SECONDS)
    img = image(cmdline, tuple(CAPOS_MODULES))
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


def fmt_num(v, nd=0):
    return "-" if v is None else f"{v:.{nd}f}"


def main():
    for f in ("vmlinuz", "initramfs.cpio"):
        if not os.path.exists(os.path.join(OUT, f)):
            sys.exit(f"bench-blk: {OUT}/{f} missing; run bench/blk/linux/build-initramfs.sh")
    if CAPOS_MODE == "0":
        capos_why = "BENCH_BLK_CAPOS=0"
    elif not capos_built():
        capos_why = "no capOS kernel in build/"
    elif CAPOS_MODE == "auto" and not capos_carries_bench():
        capos_why = "the capOS build has no bench-blk client"
    else:
        capos_why = None

    linux, capos, notes = {}, {}, []
    t0 = time.monotonic()
    for dev in DEVS:  # interleaved per device so host drift hits both sides alike
        rows, errors, head, log = run_linux(dev)
        linux.update(rows)
        notes += [f"linux {dev}: {e}" for e in errors]
        notes.append(f"linux {dev}: {head or 'no header line'} (log {os.path.relpath(log)})")
        if capos_why is None:
            rows, errors, note, log = run_capos(dev)
            capos.update(rows)
            notes += [f"capos {dev}: {e}" for e in errors]
            if note:
                notes.append(f"capos {dev}: {note}")
            notes.append(f"capos {dev}: {len(rows)} rows (log {os.path.relpath(log)})")

    kernel = open(os.path.join(OUT, "kernel-version")).read().strip() \
        if os.path.exists(os.path.join(OUT, "kernel-version")) else "?"
    print(f"bench-blk: QEMU TCG, q35, -m 512M, -smp 1; raw {DISK_MB} MiB preallocated image per "
          f"guest; {SECONDS} s per job after 1 s ramp; O_DIRECT on the raw device")
    print(f"bench-blk: Linux = Debian {kernel}, fio {ENGINE}; capOS = BlockDevice client"
          + (f" ({capos_why}: capOS column empty)" if capos_why else ""))
    print(f"{'dev':<7}{'job':<13}{'qd':>3}{'Linux IOPS':>12}{'Linux MB/s':>12}"
          f"{'capOS IOPS':>12}{'capOS MB/s':>12}{'capOS/Linux':>13}")
    ok = True
    for dev in DEVS:
        for job, qd, _ in ROWS:
            lx = linux.get((dev, job, qd))
            cp = capos.get((dev, job, qd))
            ok &= lx is not None
            left = f"{dev:<7}{job:<13}{qd:>3}{fmt_num(lx and lx['iops']):>12}{fmt_num(lx and lx['mbps'], 2):>12}"
            if cp is None:
                print(f"{left}  {NA}")
                continue
            ratio = f"{cp['iops'] / lx['iops']:.2f}" if lx and lx["iops"] > 0 else "-"
            print(f"{left}{fmt_num(cp['iops']):>12}{fmt_num(cp['mbps'], 2):>12}{ratio:>13}")
    for n in notes:
        print(f"  {n}")
    print(f"bench-blk: {time.monotonic() - t0:.0f} s wall")
    if not ok:
        print("bench-blk: FAIL: Linux baseline rows missing (see the logs above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
