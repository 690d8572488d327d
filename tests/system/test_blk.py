"""Block devices as processes (issues 6 and 8): BlockDevice served by a driver
process through blkproc (user/drivers/blkproc*.c), used by client processes
that hold only the BlockDevice cap (user/blk-client, user/bench-blk).
docs/drivers.md "Block drivers as processes".

Two kinds of server:
- blk-ramdisk, a TEST FIXTURE serving 2 MiB of its own memory: the service
  loop, the clients, every bound the server refuses, a server dying with a
  call in service and restarted by init (restart: onFailure);
- the driver processes on QEMU devices: virtio-blk (user/drivers/virtio_blk/
  main.c) on virtio-blk-pci legacy (1af4:1001) and NVMe (user/drivers/nvme/
  main.c) on QEMU's nvme (1b36:0010): data persists across a reboot and is
  checked in the host image; a driver killed with DMA in flight leaves a
  zero ledger and is restarted; disk selection by PCI identity fails
  closed (absent function, a function that is not a block device, the
  boot disk).
The device tests skip when the driver binary is not in the build.
"""
import os
import re
import struct
import subprocess

import pytest

from capos_qemu import BUILD, kv
from test_ddf_user import assert_zero, ledgers

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
    # One file per test and name: pytest-xdist runs tests that pass the same
    # name (e.g. test_vblk's modern and modern-on-two-CPUs) at the same time.
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0].split("::")[-1]
    test = re.sub(r"[^A-Za-z0-9_.-]", "_", test)
    path = os.path.join(BUILD, "logs", f"blk-{test}-{name}.img" if test else f"blk-{name}.img")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.unlink(path)
    subprocess.run(["fallocate", "-l", f"{mb}M", path], check=True)
    with open(path, "r+b") as f:
        f.write(b"\0" * (mb << 20))
    return path


def assert_image_holds_pattern_only(path, mb):
    """After QEMU exits: blk-client's pattern at its region, zeros elsewhere."""
    with open(path, "rb") as f:
        data = f.read()
    assert len(data) == mb << 20
    assert data[REGION_START:REGION_START + REGION_BYTES] == pattern(), "pattern not on disk"
    assert data[:REGION_START].count(0) == REGION_START, "bytes before the region changed"
    rest = data[REGION_START + REGION_BYTES:]
    assert rest.count(0) == len(rest), "bytes after the region changed"


def vblk(path, addr=5):
    return ["-drive", f"file={path},format=raw,if=none,id=d0,cache=writethrough",
            "-device", f"virtio-blk-pci,drive=d0,disable-modern=on,addr={addr:#x}"]


def nvme(path, addr=4):
    return ["-drive", f"file={path},format=raw,if=none,id=n0,cache=writethrough",
            "-device", f"nvme,serial=capos-blk,drive=n0,addr={addr:#x}"]


# driver: (binary, QEMU args, manifests: write, read, crash; the address the write boot selects)
DRIVERS = {
    "virtio": ("virtio-blk", vblk, ("test-blk-write", "test-blk-read", "test-blk-crash"),
               "00:05.0", "1af4:1001", "vblk-crash"),
    "nvme": ("nvme", nvme, ("test-blk-nvme-write", "test-blk-nvme-read", "test-blk-nvme-crash"),
             "00:04.0", "1b36:0010", "nvme-crash"),
}


# ---- the service loop and the clients, over the RAM-disk fixture ----

def test_ramdisk_client(boot):
    m = boot(cmdline="capos.manifest=test-blk-ram.mf")
    m.wait_for(r"blk-client: blk-client done failures=\d+", TIMEOUT)
    t = m.text
    c = checks(t)
    assert "blk-client: blk-client done failures=0" in t, m.log_path
    assert re.search(r"blk: serving disk blocks=4096 bs=512 max_transfer=256", t)
    info = c[("blk-client", "info")][0][1]
    assert info["bs"] == "512" and info["blocks"] == "4096" and info["max_transfer"] == "256"
    # 256 KiB in 128 KiB messages (one message each, answered in place): two calls each way
    assert c[("blk-client", "write")][0][1]["calls"] == "2"
    assert c[("blk-client", "read-compare")][0][1]["calls"] == "2"
    for name in ("read-past-end", "read-straddling-end", "read-lba-wrap", "read-zero-count",
                 "read-over-max-transfer", "write-partial-block", "write-past-end",
                 "unknown-method", "write-over-message", "flush", "read-compare"):
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
    printed with numbers and the limits it ran under (not a device figure);
    its parameters come from its manifest name (bench-blk-ram.s2: 2 s per
    row), and a 128 KiB I/O is one call."""
    m = boot(cmdline="capos.manifest=test-blk-ram-bench.mf")
    m.wait_for(r"capos: bench-blk (done|unavailable)[^\n]*\n", 300)
    rows = [kv(l) for l in m.text.splitlines() if l.startswith("capos: bench-blk dev=")]
    assert not [r for r in rows if "error" in r], m.log_path
    got = {(r["job"], r["qd"]): r for r in rows}
    for job, qd in (("randread4k", "1"), ("randread4k", "32"), ("randwrite4k", "1"),
                    ("randwrite4k", "32"), ("seqread128k", "1"), ("seqwrite128k", "1")):
        r = got[(job, qd)]
        assert r["dev"] == "ram" and float(r["iops"]) > 0 and int(r["ios"]) > 0, r
    assert got[("randread4k", "32")]["outstanding"] == "16"
    assert got[("seqread128k", "1")]["calls_per_io"] == "1"
    assert got[("seqwrite128k", "1")]["calls_per_io"] == "1"
    assert all(r["seconds"] == "2" for r in rows), rows


# ---- the virtio-blk driver process on QEMU's virtio-blk-pci (legacy) ----

@pytest.mark.parametrize("drv", sorted(DRIVERS))
def test_persists_across_reboot(boot, drv):
    """Boot 1 selects the disk by PCI address and writes the pattern
    (blk-client: write, flush, read back, bounds); QEMU is killed; the host
    image holds the pattern; boot 2 selects it by vendor:device and reads it
    back."""
    binary, attach, (mf_write, mf_read, _), addr, ids, _ = DRIVERS[drv]
    need(binary)
    img = disk_image(f"persist-{drv}")
    m = boot("-1", cmdline=f"capos.manifest={mf_write}.mf", extra=attach(img))
    m.wait_for(r"blk-client: blk-client done failures=\d+", TIMEOUT)
    c = checks(m.text)
    assert "blk-client: blk-client done failures=0" in m.text, m.log_path
    assert passed(c, "blk-client", "flush") and passed(c, "blk-client", "read-compare")
    assert re.search(rf"capos: ddf-claim pid=\d+ device={addr} id={ids}", m.text)
    m.kill()
    with open(img, "rb") as f:
        f.seek(REGION_START)
        assert f.read(REGION_BYTES) == pattern(), "the host image does not hold the pattern"
    m2 = boot("-2", cmdline=f"capos.manifest={mf_read}.mf", extra=attach(img))
    m2.wait_for(r"blk-client: blk-reader done failures=\d+", TIMEOUT)
    assert "blk-client: blk-reader done failures=0" in m2.text, m2.log_path
    assert passed(checks(m2.text), "blk-reader", "read-compare")


@pytest.mark.parametrize("drv", sorted(DRIVERS))
def test_128k_one_call(boot, drv):
    """blk-client moves its 256 KiB region in calls of maxTransferBlocks: with
    a driver that takes 128 KiB per request that is two calls each way, each
    one ring message (RING_MAX_MSG 256 KiB), answered in place; the data is
    checked in the host image after QEMU exits."""
    binary, attach, (mf_write, _, _), _, _, _ = DRIVERS[drv]
    need(binary)
    img = disk_image(f"big-{drv}")
    m = boot(cmdline=f"capos.manifest={mf_write}.mf", extra=attach(img))
    m.wait_for(r"blk-client: blk-client done failures=\d+", TIMEOUT)
    t = m.text
    c = checks(t)
    assert "blk-client: blk-client done failures=0" in t, m.log_path
    mt = int(re.search(r"blk: serving disk blocks=\d+ bs=512 max_transfer=(\d+)", t).group(1))
    assert 0 < mt <= 256 and c[("blk-client", "info")][0][1]["max_transfer"] == str(mt)
    calls = -(-REGION_BYTES // (mt * 512))
    assert c[("blk-client", "write")][0][1]["calls"] == str(calls)
    assert c[("blk-client", "read-compare")][0][1]["calls"] == str(calls)
    m.kill()
    with open(img, "rb") as f:
        f.seek(REGION_START)
        assert f.read(REGION_BYTES) == pattern(), "the host image does not hold the pattern"
    assert mt == 256 and calls == 2, f"{binary} serves max_transfer={mt}: {calls} calls"


def no_disk_served(m, driver="vblk"):
    """The client's calls fail (disconnected), nothing hangs, no disk was served."""
    m.wait_for(r"blk-client: blk-client done failures=\d+", TIMEOUT)
    # init logs the driver's end when its wait returns: that may come after the client's end
    m.wait_for(rf"init: service {driver} (exited|faulted)", TIMEOUT)
    t = m.text
    c = checks(t)
    assert c[("blk-client", "info")][0][0] == "fail", m.log_path
    assert c[("blk-client", "info")][0][1]["err"] == "-17"          # E_DISCONNECTED
    assert not re.search(r"^blk: serving", t, re.M)
    mm = re.search(rf"init: service {driver} exited code=(-?\d+)", t)
    assert mm and mm.group(1) != "0", "the driver must exit nonzero"
    return t


# driver: (binary, service, manifest naming a function by ids or address, one
# naming virtio-rng 1af4:1005, how to attach the boot image as that driver's disk)
SELECT = {
    "virtio": ("virtio-blk", "vblk", "test-blk-vblk", "test-blk-notdisk",
               lambda img: ["-drive", f"file={img},format=raw,if=none,id=d0,snapshot=on",
                            "-device", "virtio-blk-pci,drive=d0,disable-modern=on,addr=0x5"]),
    "nvme": ("nvme", "nvme", "test-blk-nvme-write", "test-blk-nvme-notdisk",
             lambda img: ["-drive", f"file={img},format=raw,if=none,id=n0,snapshot=on",
                          "-device", "nvme,serial=capos-boot,drive=n0,addr=0x4"]),
}


@pytest.mark.parametrize("drv", sorted(SELECT))
def test_select_absent_function(boot, drv):
    """The manifest names a function that is not there: the claim is refused,
    the driver has no device caps and exits; the client is told."""
    binary, svc, mf, _, _ = SELECT[drv]
    need(binary)
    m = boot(cmdline=f"capos.manifest={mf}.mf")
    t = no_disk_served(m, svc)
    assert re.search(rf"capos: ddf-grant-refused pid=\d+ service={svc} reason=not-found", t)


@pytest.mark.parametrize("drv", sorted(SELECT))
def test_select_not_a_block_device(boot, drv):
    """The manifest names a function that is not a disk this driver drives
    (virtio-rng 1af4:1005): the claim succeeds, the driver reads
    DeviceMmio.config, refuses and exits; its claim is torn down to a zero
    ledger."""
    binary, svc, _, mf, _ = SELECT[drv]
    need(binary)
    m = boot(cmdline=f"capos.manifest={mf}.mf",
             extra=["-device", "virtio-rng-pci,disable-legacy=off,addr=0x6"])
    t = no_disk_served(m, svc)
    assert re.search(r"capos: ddf-claim pid=\d+ device=00:06.0 id=1af4:1005", t)
    gone = [l for l in ledgers(t) if l["at"] == "owner-gone"]
    assert gone, m.log_path
    assert_zero(gone[-1])


@pytest.mark.parametrize("drv", sorted(SELECT))
def test_select_refuses_boot_disk(boot, drv):
    """The disk the driver is given carries the capOS boot image (the same image
    file GRUB booted from, attached as a virtio-blk or NVMe disk):
    blkproc_check_disk finds the CAPOS_BOOT ISO volume id and the driver
    refuses to serve it."""
    binary, svc, mf, _, attach = SELECT[drv]
    need(binary)
    from capos_qemu import image
    img = image(f"capos.manifest={mf}.mf")
    m = boot(img=img, extra=attach(img))
    t = no_disk_served(m, svc)
    assert re.search(r"capos: ddf-claim pid=\d+ device=00:0[45].0", t), m.log_path


@pytest.mark.parametrize("drv", sorted(DRIVERS))
def test_killed_mid_io_restarted(boot, drv):
    """The driver (named *-crash: capenv's crash test point) faults at its
    60th device wait, a request's DMA in flight. The kernel tears its claim
    down to a zero ledger with every bounce page back (the audit log shows
    the teardown), the client's call fails with disconnected instead of
    hanging, init restarts the driver (restart: onFailure) and the client's
    data round trip works again."""
    binary, attach, (_, _, mf_crash), _, _, name = DRIVERS[drv]
    need(binary)
    img = disk_image(f"crash-{drv}")
    m = boot(cmdline=f"capos.manifest={mf_crash}.mf", extra=attach(img))
    m.wait_for(r"blk-client: blk-hammer done failures=\d+", TIMEOUT)
    t = m.text
    c = checks(t)
    assert re.search(rf"capenv: {name} crash-test fault at (wait 60|look 2000)\b", t), m.log_path
    assert re.search(rf"capos: proc-fault pid=\d+ name={name} vector=6", t)
    assert re.search(r"capos: ddf-owner-gone owner=\d+ reason=crash claims=1", t)
    before = [l for l in ledgers(t) if l["at"] == "owner-gone-before"][0]
    after = [l for l in ledgers(t) if l["at"] == "owner-gone"][0]
    assert int(before["inflight"]) + int(before["completed"]) >= 1, before   # DMA outstanding
    assert_zero(after)
    # every bounce page of the dead driver came back (NVMe: plus the kernel's own
    # page for that controller's queue state, freed with the claim)
    assert int(after["free_frames"]) - int(before["free_frames"]) >= int(before["pool_bytes"]) // 4096
    gone = c[("blk-hammer", "driver-gone")][0]
    assert gone[0] == "pass" and gone[1]["err"] == "-17", gone
    assert passed(c, "blk-hammer", "served-again"), m.log_path
    audit = c[("blk-hammer", "audit-teardown")][0]
    assert audit[0] == "pass" and int(audit[1]["teardown"]) >= 1, audit
    assert "blk-client: blk-hammer done failures=0" in t


# ---- the caps binding itself, on QEMU's virtio-rng ----

def test_capenv_on_virtio_rng(boot):
    """capenv (user/drivers/capenv.c) over the kernel's device caps on a real
    device: config snapshot with zeroed BARs, the legacy port window, refused
    writes and windows, DMA handles (generation, double free, reuse, budget),
    a brokered queue PFN, reset making every handle stale, the calibrated
    clock and an interrupt wait that times out."""
    m = boot(machine="pc", cmdline="capos.manifest=test-capenv.mf",
             extra=["-device", "virtio-rng-pci,disable-legacy=off,addr=0x6"])
    m.wait_for(r"capenv-check: done failures=\d+", TIMEOUT)
    t = m.text
    res = {mm.group(1): mm.group(2) for mm in
           re.finditer(r"^capenv-check: (\S+) result=(\w+)", t, re.M)}
    assert res and all(v == "pass" for v in res.values()), (res, m.log_path)
    for name in ("open", "config", "config-bars-zero", "port-window", "status-reset",
                 "write-not-selected", "read-outside-window", "dma-alloc", "dma-double-free",
                 "dma-reuse-new-handle", "dma-over-budget", "ring-pfn-brokered",
                 "reset-stales-handles", "dma-after-reset", "clock", "irq-wait-timeout"):
        assert name in res, name
    assert "capenv-check: done failures=0" in t
