#!/usr/bin/env python3
"""bench-ddf: guest instruction counts of device-manager paths (kernel/ddf).

Method: QEMU TCG with `-icount shift=0`, so the guest TSC advances by one per
executed guest instruction (the same convention as bench-irq). The kernel
self-test `capos.test=ddf-bench` reads rdtsc around each path and prints
medians over its rounds:

  submit_complete   DMABuffer.submitDescriptor (ledger checks + kernel-written
                    virtq descriptor and avail entry) plus completeDescriptor
                    (used-ring parse, ddf_dma_device_done, collect); the
                    device's own work between the two is not counted
  irq_wait_ack      the interrupt path's ledger work (mask the MSI-X entry,
                    parse the used ring, ddf_irq_fire) + Interrupt.wait +
                    acknowledge (deferred EOI: unmask); the CPU's interrupt
                    entry/exit is bench-irq's figure, not repeated here
  teardown_64       the ordered teardown of a claim with 64 mapped 4 KiB
                    buffers: bus master off, 64 user unmaps, route drop,
                    drain (virtio reset), scrub + free of 64 pages, generations
  scrub_one_page    one 4 KiB page zeroed the way scrub_free does it

These are in-kernel counts of the operations the caps decode to; the cap
decode and ring round trip a userspace driver adds are bench-ipc's figures.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
from capos_qemu import image  # noqa: E402


def main():
    img = image("capos.test=ddf-bench")
    args = ["qemu-system-x86_64", "-M", "pc", "-m", "512M", "-no-reboot", "-display", "none",
            "-serial", "stdio", "-monitor", "none", "-icount", "shift=0",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-drive", f"file={img},format=raw,if=ide,snapshot=on",
            "-device", "virtio-rng-pci,disable-legacy=off"]
    out = subprocess.run(args, capture_output=True, timeout=600).stdout.decode("utf-8", "replace")
    m = re.search(r"capos: bench-ddf [^\n]*", out)
    if not m or "capos: test ddf-bench result=pass" not in out:
        print(out[-3000:])
        print("bench-ddf: no result")
        return 1
    kv = dict(re.findall(r"(\w+)=(\S+)", m.group(0)))
    print("bench-ddf (guest instructions, -icount shift=0, median of rounds; min)")
    for label, key in [("DMABuffer submit+complete round trip", "submit_complete_median"),
                       ("Interrupt deliver+wait+ack round trip", "irq_wait_ack_median"),
                       ("teardown of a claim with 64 buffers", "teardown_64_buffers_median")]:
        print(f"  {label:42s} {int(kv[key]):>9d}")
    print(f"  {'  of which scrubbing one 4 KiB page':42s} {int(kv['scrub_one_page']):>9d}")
    print(m.group(0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
