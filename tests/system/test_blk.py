"""Block devices as processes (issues 6 and 8): BlockDevice served by a driver
process through blkproc (user/drivers/blkproc*.c), used by client processes
that hold only the BlockDevice cap (user/blk-client, user/bench-blk).
docs/drivers.md "Block drivers as processes".

Two kinds of server:
- blk-ramdisk, a TEST FIXTURE serving 2 MiB of its own memory: the service
  loop, the clients, every bound the server refuses, a server dying with a
  call in service and restarted by init (restart: onFailure);
- the virtio-blk driver process (helper B's user/drivers/virtio_blk/main.c)
  on QEMU's virtio-blk-pci, legacy (1af4:1001): data persists across a
  reboot and is checked in the host image; disk selection by PCI identity
  fails closed (absent function, a function that is not a block device,
  the boot disk); a driver killed with DMA in flight leaves a zero ledger.
The device tests skip when the driver binary is not in the build.
"""
import os
import re
import struct
import subprocess

import pytest

from capos_qemu import BUILD, kv

TIMEOUT = 180
SEED = 0xC0FFEE0000000001
REGION_START = 1 << 20
REGION_BYTES = 256 * 1024
MASK = (1 << 64) - 1


def pattern(seed=SEED):
    """blk-client's pattern (its header): word at byte o is (o/8)*0x9E37..15 ^ seed."""
    return b"".join(struct.pack("<Q", (((REGION_START + k) // 8) * 0x9E3779B97F4A7C15 & MASK) ^ seed)
                    for k in range(0, REGION_BYTES, 8))


def checks(text):
    out = {}
    for line in text.splitlines():
        mm = re.match(r"blk-client: (\S+) (\S+) result=(\w+)(.*)", line)
        if mm:
            out.setdefault((mm.group(1), mm.group(2)), []).append((mm.group(3), kv(mm.group(4))))
    return out


def passed(c, who, name):
    return (who, name) in c and all(r == "pass" for r, _ in c[(who, name)])


def need(binary):
    if not os.path.exists(os.path.join(BUILD, "bins", binary)):
        pytest.skip(f"{binary} is not in this build")


def disk_image(name, mb=16):
    """A preallocated raw image (sparse images stall QEMU's NVMe), zero-filled."""
    path = os.path.join(BUILD, "logs", f"blk-{name}.img")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.unlink(path)
    subprocess.run(["fallocate", "-l", f"{mb}M", path], check=True)
    with open(path, "r+b") as f:
        f.write(b"\0" * (mb << 20))
    return path


def vblk(path, addr=5):
    return ["-drive", f"file={path},format=raw,if=none,id=d0,cache=writethrough",
            "-device", f"virtio-blk-pci,drive=d0,disable-modern=on,addr={addr:#x}"]


# ---- the service loop and the clients, over the RAM-disk fixture ----

def test_ramdisk_client(boot):
    m = boot(cmdline="capos.manifest=test-blk-ram.mf")
    m.wait_for(r"blk-client: blk-client done failures=\d+", TIMEOUT)
    t = m.text
    c = checks(t)
    assert "blk-client: blk-client done failures=0" in t, m.log_path
    assert re.search(r"blk: serving disk blocks=4096 bs=512 max_transfer=120", t)
    info = c[("blk-client", "info")][0][1]
    assert info["bs"] == "512" and info["blocks"] == "4096" and info["max_transfer"] == "120"
    # 256 KiB in 60 KiB messages: five calls each way
    assert c[("blk-client", "write")][0][1]["calls"] == "5"
    assert c[("blk-client", "read-compare")][0][1]["calls"] == "5"
    for name in ("read-past-end", "read-straddling-end", "read-lba-wrap", "read-zero-count",
                 "read-over-max-transfer", "write-partial-block", "write-past-end",
                 "unknown-method", "flush", "read-compare"):
        assert passed(c, "blk-client", name), name


def test_ramdisk_restart(boot):
    """The server faults with a call in service: the client's call fails with
    disconnected (no hang), init restarts the server (onFailure), and the
    client's next calls are served by the new instance."""
    m = boot(cmdline="capos.manifest=test-blk-ram-restart.mf")
    m.wait_for(r"blk-client: blk-hammer done failures=\d+", TIMEOUT)
    t = m.text
    c = checks(t)
    assert re.search(r"capos: proc-fault pid=\d+ name=blk-ramdisk-crash vector=6", t), m.log_path
    gone = c[("blk-hammer", "driver-gone")][0]
    assert gone[0] == "pass" and gone[1]["err"] == "-17", gone      # E_DISCONNECTED
    assert passed(c, "blk-hammer", "served-again"), m.log_path
    assert len(re.findall(r"blk: serving disk", t)) >= 2         # the restarted instance
    assert "blk-client: blk-hammer done failures=0" in t


def test_ramdisk_bench_rows(boot):
    """bench-blk's rows over the RAM-disk fixture: every row of bench_blk.py is
    printed with numbers and the limits it ran under (not a device figure)."""
    m = boot(cmdline="capos.manifest=test-blk-ram-bench.mf")
    m.wait_for(r"capos: bench-blk (done|unavailable)[^\n]*\n", 300)
    rows = [kv(l) for l in m.text.splitlines() if l.startswith("capos: bench-blk dev=")]
    assert not [r for r in rows if "error" in r], m.log_path
    got = {(r["job"], r["qd"]): r for r in rows}
    for job, qd in (("randread4k", "1"), ("randread4k", "32"), ("randwrite4k", "1"),
                    ("randwrite4k", "32"), ("seqread128k", "1"), ("seqwrite128k", "1")):
        r = got[(job, qd)]
        assert r["dev"] == "ram" and float(r["iops"]) > 0 and int(r["ios"]) > 0, r
        assert r["served"] == "one-at-a-time"
    assert got[("randread4k", "32")]["outstanding"] == "16"
    assert got[("seqread128k", "1")]["calls_per_io"] == "3"
