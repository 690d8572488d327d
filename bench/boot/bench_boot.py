#!/usr/bin/python3
"""make bench-boot: median wall-clock milliseconds from QEMU start to the
boot-ok marker, under BIOS (SeaBIOS, pc, raw disk) and UEFI (OVMF, q35, raw
disk), TCG. Beside each, the same for a bare multiboot2 kernel that prints
one line: the firmware + GRUB floor. Wall-clock figures on a shared machine
drift (~25% run to run here); compare columns of the same run only."""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "system"))
from capos_qemu import BUILD, Machine  # noqa: E402

N = int(os.environ.get("BENCH_BOOT_N", "5"))
CASES = [("bios", "pc"), ("uefi", "q35")]


def one(name, img, marker, fw, machine):
    m = Machine(name, img=img, firmware=fw, machine=machine)
    m.wait_for(marker, 180)
    ms = (time.monotonic() - m.started) * 1000
    m.kill()
    return ms


def main():
    capos = os.path.join(BUILD, "capos.img")
    bare = os.path.join(BUILD, "bench", "bare.img")
    rows = []
    for fw, machine in CASES:
        c, b = [], []
        for i in range(N):  # interleave so drift hits both columns alike
            b.append(one(f"bench-boot-bare-{fw}-{i}", bare, r"bare: boot-ok", fw, machine))
            c.append(one(f"bench-boot-capos-{fw}-{i}", capos, r"capos: boot-ok", fw, machine))
        rows.append((fw, machine, statistics.median(c), statistics.median(b), min(c), max(c)))
    print(f"bench-boot: median of {N} boots, QEMU start -> boot-ok marker, TCG, ms")
    print(f"{'firmware':<9}{'machine':<8}{'capOS':>10}{'bare mb2 floor':>16}{'capOS - floor':>15}{'capOS min..max':>18}")
    for fw, machine, c, b, lo, hi in rows:
        print(f"{fw:<9}{machine:<8}{c:>10.0f}{b:>16.0f}{c - b:>15.0f}{lo:>10.0f}..{hi:<7.0f}")


if __name__ == "__main__":
    main()
