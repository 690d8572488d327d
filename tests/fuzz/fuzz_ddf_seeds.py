#!/usr/bin/env python3
"""Seed inputs for fuzz_ddf: a few deliberate driver lifecycles in the
target's byte encoding (see the switch in tests/fuzz/fuzz_ddf.c), so the
fuzzer starts from deep states (mapped windows, routes, buffers in flight)
instead of having to discover the claim first.
Usage: fuzz_ddf_seeds.py OUTDIR"""
import os
import sys

O = 0  # owner byte: owner 1


def claim(dev_k=0):
    # ADDR selector of 00:04.0, 16 pages, 5 in flight, rules: WRITE32 BAR4+0x3000, ADDR64 BAR4+0x20
    # rule bytes: kind, bar, align, min_bytes (2), offset/8, +0x3000, width
    return [0, O, dev_k, 16, 5, 2, 0, 4, 0, 0, 0, 0, 1, 0, 1, 4, 4, 16, 0, 4, 0, 0]


def setup():
    s = claim()
    s += [3, O, 0]                    # bus master
    s += [4, O, 0, 0, 3]              # queue 0 depth 8
    s += [5, O, 0, 4, 0, 0, 3, 4, 0]  # grant BAR4 0..16 KiB
    s += [6, O, 1, 0]                 # map it
    s += [12, O, 1, 0, 0, 1]          # route MSI-X 1
    s += [15, O, 1, 0, 3, 1, 0, 2]    # alloc 4 KiB
    s += [15, O, 1, 0, 3, 2, 0, 1]    # alloc 8 KiB
    s += [16, O, 1, 1]                # map buffer 1
    return s


def submit(buf, slot, ln=64):
    return [19, O, buf, 0, slot, 0, 0, 0, 0, ln]


seeds = {
    "lifecycle": setup() + submit(0, 0) + [20, O, 0, 64, 0] + [21, O, 0, 0]
    + [11, O, 0, 0, 0x20, 1, 0, 0] + [13, O, 1, 0] + [13, O, 0, 0] + [13, O, 1, 0]
    + [13, O, 2, 0] + [17, O, 0] + [2, O, 1],
    "reset_in_flight": setup() + submit(0, 0) + submit(1, 1) + [20, O, 1, 64, 0]
    + [1, O, 0, 4] + [20, O, 0, 64, 0] + [20, O, 1, 64, 0] + [21, O, 0, 0],
    "stale_irq": setup() + [13, O, 1, 0] + [1, O, 0, 4] + [13, O, 0, 0] + [12, O, 1, 0, 0, 1],
    "release_busy_buffer": setup() + submit(1, 0) + [18, O, 1] + [20, O, 0, 64, 0],
    # share 2 pages of buffer 1, mapped by pid 3, then the driver crashes (orphaned)
    "share_crash": setup() + [25, O, 1, 0, 0, 2] + [26, 2, 1, 0] + [1, O, 0, 3],
    # share, map, unmap by the wrong holder and the right one, release
    "share_unmap": setup() + [25, O, 1, 1, 0, 1] + [26, 2, 1, 0] + [27, 0, 0] + [27, 2, 0]
    + [26, 2, 1, 0] + [28, O, 0],
    "over_budget": claim() + [15, O, 1, 0, 3, 16, 0, 0] + [15, O, 1, 0, 3, 1, 0, 0]
    + [17, O, 0] + [17, O, 0],
}

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, b in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes(b))
