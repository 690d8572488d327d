#!/usr/bin/python3
"""Where a queue-depth-1 request's wall time goes, seen from QEMU
(docs/bench-blk.md, "Where a QD1 request's wall time goes under TCG").

Boots one side (capOS, Linux or both) of `make bench-blk` for one device and
one row with QEMU trace events written to a file with host timestamps
(`-msg timestamp=on -trace events=...,file=...`), then splits the steady
state of the row (the middle half of its requests) into

  device time  the doorbell as QEMU handles it -> QEMU raising the interrupt
               (QEMU's device model, its I/O thread, the host's read/write);
  guest time   the interrupt raised -> the next doorbell (everything the
               guest does between two requests: interrupt, driver, kernel,
               client, and the vCPU waking from a halt);

and, with --exits, counts the MMIO and port accesses QEMU dispatched per
request by region name (each is an exit from translated code; most take
QEMU's global lock). The same events for both guests: that is the point.

  virtio: virtio_queue_notify -> virtio_notify_irqfd / virtio_notify
  nvme:   pci_nvme_mmio_doorbell_sq -> pci_nvme_irq_msix

Caveats: tracing costs host time (--exits a lot: it logs every access), so
compare the two sides of one invocation, never these IOPS with a bench run;
under NVMe the driver often finds a completion by polling before the
interrupt, and QEMU raises (a masked or unmasked) MSI-X all the same.

Usage: bench/blk/timeline.py DEV JOB:QD [--side capos|linux|both]
       [--seconds S] [--exits]
  e.g. bench/blk/timeline.py virtio seqwrite128k:1
"""
import argparse
import collections
import os
import re
import statistics
import sys

EVENTS = {
    "virtio": ("virtio_queue_notify", ("virtio_notify_irqfd", "virtio_notify"),
               ["virtio_blk_handle_read", "virtio_blk_handle_write", "virtio_blk_rw_complete",
                "thread_pool_submit", "thread_pool_complete"]),
    "nvme": ("pci_nvme_mmio_doorbell_sq", ("pci_nvme_irq_msix",),
             ["thread_pool_submit", "thread_pool_complete"]),
}
EXIT_EVENTS = ["memory_region_ops_read", "memory_region_ops_write"]
LINE = re.compile(r"\d+@(\d+)\.(\d+):(\w+)(.*)")
REGION = re.compile(r"addr (0x[0-9a-f]+).*name '([^']+)'")


def boot(side, dev, job, seconds, exits, out):
    os.environ["BENCH_BLK_SECONDS"] = str(seconds)
    os.environ["BENCH_BLK_JOBS"] = job
    os.environ["BENCH_BLK_DEVS"] = dev
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_blk  # noqa: E402  (reads the knobs above at import)
    doorbell, irqs, extra = EVENTS[dev]
    evfile = out + ".events"
    with open(evfile, "w") as f:
        f.write("\n".join([doorbell, *irqs, *extra] + (EXIT_EVENTS if exits else [])) + "\n")
    if os.path.exists(out):
        os.unlink(out)
    plain = bench_blk.qemu_extra
    bench_blk.qemu_extra = lambda s, d: plain(s, d) + [
        "-msg", "timestamp=on", "-trace", f"events={evfile},file={out}"]
    try:
        rows = (bench_blk.run_linux if side == "linux" else bench_blk.run_capos)(dev)[0]
    finally:
        bench_blk.qemu_extra = plain
    return rows


def middle(xs):
    xs = xs[len(xs) // 4:3 * len(xs) // 4]
    return statistics.median(xs) if xs else float("nan")


def analyse(path, dev):
    doorbell, irqs, _ = EVENTS[dev]
    ev = []
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if m:
                ev.append((int(m.group(1)) * 1e6 + int(m.group(2)), m.group(3), m.group(4)))
    bells = [i for i, e in enumerate(ev) if e[1] == doorbell]
    if len(bells) < 8:
        return None
    lo, hi = bells[len(bells) // 4], bells[3 * len(bells) // 4]
    cycle, device, guest, pool = [], [], [], []
    exits = collections.Counter()
    last_bell = last_irq = pool_t = None
    for t, name, rest in ev[lo:hi + 1]:
        if name == doorbell:
            if last_irq is not None:
                guest.append(t - last_irq)
                if last_bell is not None:
                    cycle.append(t - last_bell)
            last_bell, last_irq = t, None
        elif name in irqs and last_bell is not None and last_irq is None:
            device.append(t - last_bell)
            last_irq = t
        elif name == "thread_pool_submit":
            pool_t = t
        elif name == "thread_pool_complete" and pool_t is not None:
            pool.append(t - pool_t)
            pool_t = None
        elif name in EXIT_EVENTS:
            m = REGION.search(rest)
            if m:
                exits[(m.group(2), "read" if name.endswith("read") else "write", m.group(1))] += 1
    n = 3 * len(bells) // 4 - len(bells) // 4
    return dict(requests=n, cycle=middle(cycle), device=middle(device), guest=middle(guest),
                pool=middle(pool), exits={k: v / n for k, v in exits.items()})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dev", choices=sorted(EVENTS))
    ap.add_argument("job", help="a bench-blk row, e.g. seqwrite128k:1")
    ap.add_argument("--side", choices=("capos", "linux", "both"), default="both")
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--exits", action="store_true", help="count MMIO/port exits per request")
    a = ap.parse_args()
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "tests", "system"))
    from capos_qemu import BUILD  # noqa: E402
    out_dir = os.path.join(BUILD, "bench-blk")
    os.makedirs(out_dir, exist_ok=True)
    for side in (("capos", "linux") if a.side == "both" else (a.side,)):
        log = os.path.join(out_dir, f"timeline-{side}-{a.dev}.log")
        rows = boot(side, a.dev, a.job, a.seconds, a.exits, log)
        row = rows.get((a.dev, a.job.split(":")[0], int(a.job.split(":")[1])))
        r = analyse(log, a.dev)
        iops = f"{row['iops']:.0f}" if row else "?"
        if not r:
            print(f"{side:5s} {a.dev} {a.job}: too few doorbells in {log} (iops {iops})")
            continue
        print(f"{side:5s} {a.dev} {a.job}: iops {iops} (traced) requests {r['requests']}, "
              f"median us: cycle {r['cycle']:.0f} = device {r['device']:.0f} + guest "
              f"{r['guest']:.0f}; host I/O job {r['pool']:.0f}")
        for (region, op, addr), per in sorted(r["exits"].items(), key=lambda kv: -kv[1]):
            if per >= 0.05:
                print(f"      {per:6.2f} per request  {op:5s} {region} {addr}")


if __name__ == "__main__":
    main()
