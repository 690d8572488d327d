"""The virtio-blk driver process (user/drivers/virtio_blk/main.c) on QEMU's
virtio-blk-pci, over the kernel's device caps only (docs/drivers.md "virtio
over caps", docs/device-manager.md "virtio formats").

Both transports: modern (disable-legacy=on, 1af4:1042, the common
configuration's BAR 4 granted, MSI-X completion) and legacy (disable-modern=on,
1af4:1001, I/O BAR 0 granted, polling). The client (user/blk-client, helper
D's) writes its pattern over 256 KiB at 1 MiB in 60 KiB (120-sector) requests,
flushes, reads back and compares, then checks the bounds the server refuses.
After QEMU exits the host image holds exactly the pattern at those bytes and
zeros everywhere else. A driver without a DMA pool, or granted a BAR that is
not the transport's, exits with a clear error.

Queue depth: the driver serves asynchronously (blkproc_serve_async, one
request slot per blkproc slot, each slot's message buffer in the driver's
DMA memory so the device reads and writes the data in the messages
(`zero_copy=14`), up to 14 chains at the device at once, completions collected with DMABuffer.completeBatch and answered in the order
the device finishes them). The client's `qd16-mixed` phase keeps 16 calls
outstanding, 4 KiB writes mixed with read-backs of every written piece
(compared), and writes the pattern in its last pass: the host image after
exit proves those out-of-order answered writes landed where they belong.
"""
import os
import re

import pytest

from capos_qemu import BUILD
from test_blk import assert_image_holds_pattern_only, checks, disk_image, passed

TIMEOUT = 120
DISK_MB = 8


def need_driver():
    if not os.path.exists(os.path.join(BUILD, "bins", "virtio-blk")):
        pytest.skip("virtio-blk is not in this build")


def device(path, modern, opts=""):
    mode = "disable-legacy=on" if modern else "disable-modern=on"
    return ["-drive", f"file={path},format=raw,if=none,id=d0,cache=writethrough",
            "-device", f"virtio-blk-pci,drive=d0,{mode},addr=0x5{opts}"]


ASYNC_SLOTS = 14   # BLKPROC_ASYNC_MAX, when the DMA pool holds them
MIN_HIGH = 4   # chains seen at the device at once; 14 on an idle host


def assert_async_served(t, log):
    """The driver served with several requests at the device at once, each
    slot holding the largest transfer it serves, and the client's 16
    outstanding calls (writes and read-backs) all passed."""
    ma = re.search(r"virtio-blk: async slots=(\d+) big=(\d+) big_bytes=(\d+) small_bytes=\d+ "
                   r"zero_copy=(\d+)", t)
    mt = re.search(r"blk: serving disk blocks=\d+ bs=512 max_transfer=(\d+)", t)
    assert ma and mt, log
    slots, big, big_bytes = int(ma.group(1)), int(ma.group(2)), int(ma.group(3))
    # the test manifests' 2 MiB pools hold 14 slots of a whole message each,
    # every message buffer in DMA memory: the device moves the data in place
    assert slots == ASYNC_SLOTS and big == ASYNC_SLOTS, (ma.group(0), log)
    assert int(ma.group(4)) == ASYNC_SLOTS, (ma.group(0), log)
    # every transfer blkproc allows fits a slot
    assert int(mt.group(1)) * 512 <= big_bytes, (ma.group(0), mt.group(0), log)
    highs = [int(h) for h in re.findall(r"blk: in-flight high=(\d+)", t)]
    assert highs and MIN_HIGH <= max(highs) <= slots, (highs, log)
    c = checks(t)
    assert passed(c, "blk-client", "qd16-mixed"), log
    assert c[("blk-client", "qd16-mixed")][-1][1].get("max_in_flight") == "16", log


def run_client(boot, name, modern, smp=1):
    need_driver()
    img = disk_image(name, DISK_MB)
    m = boot(cmdline=f"capos.manifest=test-vblk-{name}.mf", extra=device(img, modern), smp=smp)
    m.wait_for(r"blk-client: blk-client done failures=\d+", TIMEOUT)
    t = m.text
    c = checks(t)
    assert "blk-client: blk-client done failures=0" in t, m.log_path
    for name_ in ("info", "write", "flush", "read-compare", "read-past-end",
                  "read-over-max-transfer", "write-past-end"):
        assert passed(c, "blk-client", name_), (name_, m.log_path)
    assert_async_served(t, m.log_path)
    m.kill()
    assert_image_holds_pattern_only(img, DISK_MB)
    return t


def test_vblk_modern_msix(boot):
    t = run_client(boot, "modern", modern=True)
    assert re.search(r"capos: ddf-claim pid=\d+ device=00:05.0 id=1af4:1042 .*policy=virtio-modern", t)
    mm = re.search(r"virtio-blk: ready transport=modern completion=msix blocks=(\d+) bs=512", t)
    assert mm and int(mm.group(1)) == (DISK_MB << 20) // 512, t
    # one BlockDevice message's data per request (60 KiB: 120 sectors), at most
    # the driver's 128 KiB: one chain of header + data + status each
    mt = re.search(r"blk: serving disk blocks=\d+ bs=512 max_transfer=(\d+)", t)
    assert mt and 120 <= int(mt.group(1)) <= 256, t


def test_vblk_modern_msix_two_cpus(boot):
    """The same on two CPUs: the MSI-X handler may run on either and completes
    the parked wait under the big kernel lock (kddf_caps_wake)."""
    t = run_client(boot, "modern", modern=True, smp=2)
    assert re.search(r"capos: smp-ok cpus=2", t)
    assert re.search(r"virtio-blk: ready transport=modern completion=msix", t)


def test_vblk_legacy_poll(boot):
    t = run_client(boot, "legacy", modern=False)
    assert re.search(r"capos: ddf-claim pid=\d+ device=00:05.0 id=1af4:1001 .*policy=virtio-legacy", t)
    assert re.search(r"virtio-blk: ready transport=legacy completion=poll blocks=16384 bs=512", t)


def test_vblk_legacy_msix(boot):
    """Legacy with an Interrupt grant: the function's MSI-X is enabled, the
    transport programs the vector registers (config at offset 24) and the
    requests complete by MSI-X."""
    t = run_client(boot, "legacy-irq", modern=False)
    assert re.search(r"virtio-blk: ready transport=legacy completion=msix blocks=16384 bs=512", t)


@pytest.mark.parametrize("machine", ["pc", "q35"])
def test_vblk_legacy_intx(boot, machine):
    """Legacy without MSI-X (vectors=0) and an Interrupt grant of kind intx:
    the function's pin, through the firmware's line and the MADT override,
    on a level I/O APIC entry. The driver reads the ISR (deasserting the
    line) before it acknowledges; the kernel unmasks the entry then. Every
    request completes by that interrupt and the image is checked."""
    need_driver()
    img = disk_image("intx-" + machine, DISK_MB)
    m = boot(machine=machine, cmdline="capos.manifest=test-vblk-intx.mf",
             extra=device(img, False, ",vectors=0"))
    m.wait_for(r"blk-client: blk-client done failures=\d+", TIMEOUT)
    t = m.text
    assert "blk-client: blk-client done failures=0" in t, m.log_path
    assert passed(checks(t), "blk-client", "read-compare"), m.log_path
    assert re.search(r"virtio-blk: ready transport=legacy completion=intx blocks=16384 bs=512", t), \
        m.log_path
    assert_async_served(t, m.log_path)
    assert "ddf-grant-refused" not in t, m.log_path
    # the line SeaBIOS routed (10 or 11; on q35 through the ICH9 PIRQ routing,
    # which drives that pin as well as GSI 16-23) with QEMU's MADT override (level, active high)
    ml = re.search(r"capos: ddf-intx-line gsi=(\d+) line=(\d+) level active_high", t)
    assert ml and ml.group(1) == ml.group(2) and ml.group(1) in ("10", "11"), m.log_path
    assert re.search(r"capos: ddf-intx-route device=00:05.0 pin=INTA gsi=%s sharing=1" % ml.group(1), t)
    m.kill()
    assert_image_holds_pattern_only(img, DISK_MB)


def refused(boot, name, pattern_):
    need_driver()
    img = disk_image(name, DISK_MB)
    m = boot(cmdline=f"capos.manifest=test-vblk-{name}.mf", extra=device(img, True))
    m.wait_for(r"init: service vblk exited code=-?\d+", TIMEOUT)
    t = m.text
    assert re.search(pattern_, t), m.log_path
    assert not re.search(r"^blk: serving", t, re.M)
    assert not re.search(r"init: service vblk exited code=0\b", t)
    # the exit tore the claim down: the ledger is back at zero
    gone = [l for l in t.splitlines() if "ddf-ledger at=owner-gone " in l]
    assert gone, m.log_path
    for k in ("claims=0", "mappings=0", "routes=0", "pool_bytes=0", "buffers=0", "invariants=ok"):
        assert k in gone[-1], (k, gone[-1])
    return t


def test_vblk_no_dma_pool(boot):
    refused(boot, "nodma", r"virtio-blk: error=no-dma-pool")


def test_vblk_wrong_bar(boot):
    """BAR 1 (the MSI-X table) is not the transport: the kernel gives it a
    read-only policy and the driver says which BAR it needed."""
    t = refused(boot, "wrongbar", r"virtio-blk: error=wrong-bar granted=1 common_config_bar=4")
    assert re.search(r"capos: ddf-claim pid=\d+ device=00:05.0 id=1af4:1042 .*policy=read-only", t)


HOSTILE = ("packed-ring-feature", "enable-before-brokering", "write-queue-address", "write-outside-doorbells",
           "broker-mapped-buffer", "broker-wrong-offset", "map-brokered-ring",
           "resize-after-brokering", "enable-partly-brokered", "rebroker-enabled-queue",
           "indirect-descriptor", "head-without-member", "slot-outside-queue",
           "link-outside-queue", "ring-as-data", "ring-of-another-queue", "live-data-as-ring",
           "rebroker-with-live-descriptor", "enable-after-device-reset",
           # the batched DMABuffer calls: bad counts, a refused chain retracted
           # whole, a stale or foreign token answered for itself alone
           "chain-bad-count", "chain-refused-retracts", "batch-bad-count",
           "batch-stale-token-alone", "batch-foreign-token")


def test_vblk_modern_queue_refusals(boot):
    """vblk-hostile (a test program, not a driver) on a modern virtio-blk: every
    out-of-order queue step is refused by the kernel's modern format with its
    error, the in-order ones work, and its exit tears the claim down to zero."""
    if not os.path.exists(os.path.join(BUILD, "bins", "vblk-hostile")):
        pytest.skip("vblk-hostile is not in this build")
    img = disk_image("hostile", DISK_MB)
    m = boot(cmdline="capos.manifest=test-vblk-hostile.mf",
             extra=device(img, True, ",num-queues=2"))
    m.wait_for(r"vblk-hostile: done failures=\d+", TIMEOUT)
    t = m.text
    res = {mm.group(1): mm.group(2) for mm in
           re.finditer(r"vblk-hostile: (\S+) result=(\w+)", t)}
    for name in ("open", "selected-writes", "alloc", "broker-desc", "broker-all-and-enable") + HOSTILE:
        assert res.get(name) == "pass", (name, m.log_path)
    assert "vblk-hostile: done failures=0" in t
    m.wait_for(r"capos: ddf-ledger at=owner-gone [^\n]*\n", TIMEOUT)
    last = [l for l in m.text.splitlines() if "ddf-ledger at=owner-gone " in l][-1]
    for k in ("claims=0", "mappings=0", "pool_bytes=0", "buffers=0", "inflight=0",
              "ring_holds=0", "invariants=ok"):
        assert k in last, (k, last)


def test_vblk_recovery_through_device_reset(boot):
    """A chain made available but never notified stays in flight; the driver's
    recovery resets the function through DeviceMmio.reset (the kernel tears the
    chain down), allocates its ring and buffer again and brings the queue back
    (MSI-X re-routed); a read works, then blk-client's whole run passes and the
    image holds the pattern."""
    t = run_client(boot, "recover", modern=True)
    assert re.search(r"virtio-blk: recover result=pass add=0 recover=0 read=0 resets=1", t), t
