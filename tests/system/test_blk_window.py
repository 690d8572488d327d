"""Block windows under QEMU: BlockDevice.openWindow, readAt/writeAt through a
window's session and DmaWindow map/unmap/info, on the real virtio-blk
(modern, 1af4:1042) and NVMe driver processes. docs/drivers.md "Windows".

The client is blkwin (user/tests/blkwin/main.c, TEST CODE), one role per
process name; its modules live in build/blkwin/ (mk/blkwin.mk), added to
these tests' images only, as the block-fault tests do (test_blk_faults.py).
- blkwin: a 256 KiB window; a round trip window -> disk -> window at
  another offset and against readBlocks/writeBlocks on the plain `disk` cap;
  every refusal (outOfRange, badLength, noWindow, busy, stale) with the
  window and the disk unchanged; windows opened until noWindow, one
  unmapped and reclaimed by the next openWindow, its old session refused;
  the host image holds exactly what was written;
- blkwin-nowin: a virtio-blk DMA budget of 2 MiB leaves no room for the
  window area: openWindow answers noWindow, messages still work;
- blkwin-crash: the driver (a `-crash` service, capenv's crash test point)
  dies during window I/O while the window is mapped in the client: the
  calls end disconnected, the window memory stays the client's (what it last
  wrote is there, no fault), the ledger comes back to zero, and the
  restarted driver refuses the old session and opens a new window.
"""
import re
import struct

import pytest

from capos_qemu import kv, module_image
from test_blk import disk_image, need, nvme
from test_ddf_user import assert_zero, ledgers

TIMEOUT = 120
MASK = (1 << 64) - 1
MB = 16
WIN = 256 * 1024
IO = 64 * 1024
R1, R2, R3 = 1 << 20, (1 << 20) + 256 * 1024, 2 << 20
SEED1, SEED2 = 0xC0FFEE0000000001, 0x5EED000000000002
NO_WINDOW, BAD_LENGTH, OUT_OF_RANGE = "1005", "1001", "1000"   # 1000 + BlockError
BUSY, STALE = "2005", "2000"                                    # 2000 + DeviceError


def pattern(at, n, seed):
    return b"".join(struct.pack("<Q", (((at + k) // 8) * 0x9E3779B97F4A7C15 & MASK) ^ seed)
                    for k in range(0, n, 8))


def vblk_modern(path, addr=5):
    return ["-drive", f"file={path},format=raw,if=none,id=d0,cache=writethrough",
            "-device", f"virtio-blk-pci,drive=d0,disable-legacy=on,addr={addr:#x}"]


# drv: (driver binary, QEMU args, manifest suffix, crash service name)
DRIVERS = {
    "virtio": ("virtio-blk", vblk_modern, "vblk", "vblk-crash"),
    "nvme": ("nvme", nvme, "nvme", "nvme-crash"),
}


def blkwin_boot(boot, mf, extra):
    """Boot manifest mf with blkwin's modules (build/blkwin/, mk/blkwin.mk)."""
    return boot(img=module_image("blkwin", "blkwin", mf), extra=extra)


def run(boot, mf, extra, who):
    """Boot and wait for the client's end: its checks {name: [(result, kv)]}."""
    m = blkwin_boot(boot, mf, extra)
    m.wait_for(rf"blkwin: {who} done failures=\d+", TIMEOUT)
    c = {}
    for mm in re.finditer(rf"^blkwin: {who} (\S+) result=(\w+)(.*)$", m.text, re.M):
        c.setdefault(mm.group(1), []).append((mm.group(2), kv(mm.group(3))))
    return m, c


def passed(c, m, *names):
    for name in names:
        assert name in c, (name, m.log_path)
        assert all(r == "pass" for r, _ in c[name]), (name, c[name], m.log_path)


@pytest.mark.parametrize("drv", sorted(DRIVERS))
def test_window_io_refusals_reclaim(boot, drv):
    """One boot per driver, three parts:
    round trip: openWindow(256 KiB - 100) answers 256 KiB with a DmaWindow
    (open, 2 references) and a session; map; writeAt 64 KiB of region 1,
    flush through the session, readAt it into another window offset (same
    bytes), readBlocks on `disk` gives the same bytes; region 2 written by
    writeBlocks reads back through readAt; info says mapped.
    refusals: readAt/writeAt with the offset at, past or wrapping the window
    end, straddling it, past or straddling the disk end (outOfRange), count 0
    or over maxTransferBlocks (badLength), through the plain `disk` cap
    (noWindow); the window bytes and the disk are unchanged;
    openWindow(0), (2 MiB), (1 MiB + 1) badLength; a second map busy.
    reclaim: 256 KiB windows opened and mapped until noWindow (4 in all: the
    1 MiB area); one unmapped (closed; a map after that is stale); the next
    openWindow reclaims it (zeroed: none of the old client's data); its old
    session gets noWindow; the new window and
    the first one serve; the area is full again.
    After QEMU exits the host image holds region 1 and region 2 and zeros
    elsewhere."""
    binary, attach, suffix, _ = DRIVERS[drv]
    need(binary)
    img = disk_image(f"win-{drv}", MB)
    m, c = run(boot, f"test-blk-window-{suffix}", attach(img), "blkwin")
    t = m.text
    assert "blkwin: blkwin done failures=0" in t, m.log_path
    area = re.search(r"window_area=(\d+)", t)
    assert area and area.group(1) == str(1 << 20), m.log_path
    passed(c, m, "info", "open", "info-open", "map", "write-at", "flush-session",
           "read-at-compare", "window-write-message-read", "message-write-window-read",
           "info-mapped")
    assert c["open"][0][1]["bytes"] == str(WIN)
    assert c["info-open"][0][1]["state"] == "1"
    for name, err in (("at-offset-at-end", OUT_OF_RANGE), ("at-offset-past-window", OUT_OF_RANGE),
                      ("at-offset-wrap", OUT_OF_RANGE), ("at-straddling-window", OUT_OF_RANGE),
                      ("write-at-straddling-window", OUT_OF_RANGE),
                      ("at-past-disk", OUT_OF_RANGE), ("at-straddling-disk", OUT_OF_RANGE),
                      ("write-at-straddling-disk", OUT_OF_RANGE),
                      ("at-zero-count", BAD_LENGTH), ("at-over-max-transfer", BAD_LENGTH),
                      ("read-at-through-disk", NO_WINDOW), ("write-at-through-disk", NO_WINDOW),
                      ("open-zero", BAD_LENGTH), ("open-over-area", BAD_LENGTH),
                      ("open-area-plus-one", BAD_LENGTH), ("map-twice", BUSY)):
        passed(c, m, name)
        assert c[name][0][1]["err"] == err, (name, c[name])
    passed(c, m, "refused-moved-nothing", "refused-wrote-nothing")
    # reclaim
    passed(c, m, "fill", "sessions-apart", "unmap", "info-closed", "map-after-unmap",
           "reopen-after-reclaim", "reused-window-zeroed", "reclaimed-session-refused", "reclaimed-session-write-refused",
           "new-window-serves", "others-kept", "still-full")
    assert c["fill"][0][1]["windows"] == "4" and c["fill"][0][1]["err"] == NO_WINDOW, c["fill"]
    assert c["map-after-unmap"][0][1]["err"] == STALE
    assert c["reclaimed-session-refused"][0][1]["err"] == NO_WINDOW
    m.kill()
    with open(img, "rb") as f:
        data = f.read()
    assert len(data) == MB << 20
    assert data[R1:R1 + IO] == pattern(R1, IO, SEED1), "region 1 (writeAt) not on disk"
    assert data[R2:R2 + IO] == pattern(R2, IO, SEED2), "region 2 (writeBlocks) not on disk"
    rest = data[:R1] + data[R1 + IO:R2] + data[R2 + IO:]
    assert rest.count(0) == len(rest), "bytes outside the two regions changed"
    # three defects this test found (mended in e20f0f4): the call's own pin
    # counted in references, a noWindow answer sent BLKPROC_MSG_MAX long, a
    # window released unmapped never reclaimed
    assert c["info-open"][0][1]["refs"] == "2", c["info-open"]   # the driver's cap and ours
    assert int(c["fill"][0][1]["answer_len"]) <= 4096, c["fill"]  # a noWindow answer is a few words
    rel = kv(re.search(r"^blkwin: blkwin reopen-after-release (.*)$", t, re.M).group(1))
    sess = kv(re.search(r"^blkwin: blkwin released-session (.*)$", t, re.M).group(1))
    assert rel["err"] == "0" and sess["err"] == NO_WINDOW, (rel, sess, m.log_path)


def test_window_needs_budget(boot):
    """virtio-blk with a 2 MiB DMA budget: its messages fit, the 1 MiB window
    area does not (window_area=0): openWindow and readAt answer noWindow, and
    a 64 KiB write/read through messages still works."""
    need("virtio-blk")
    img = disk_image("win-small", MB)
    m, c = run(boot, "test-blk-window-vblk-small", vblk_modern(img), "blkwin-nowin")
    assert "blkwin: blkwin-nowin done failures=0" in m.text, m.log_path
    assert re.search(r"window_area=0\b", m.text), m.log_path
    passed(c, m, "info", "open-refused", "read-at-refused", "messages-work")
    assert c["open-refused"][0][1]["err"] == NO_WINDOW
    assert c["read-at-refused"][0][1]["err"] == NO_WINDOW


@pytest.mark.parametrize("drv", sorted(DRIVERS))
def test_window_driver_crash(boot, drv):
    """The driver (capenv's crash test point) faults during window I/O with
    the client's 256 KiB window mapped. The client's call ends disconnected;
    its window memory holds the pattern it last wrote, and it writes and
    reads all of it without a fault; DmaWindow.info says freed and a map is
    refused. The kernel tears the claim down to a zero ledger; the window's
    64 pages are left to the client (a shareOrphan audit event of 256 KiB),
    every other page of the pool comes back. The restarted driver (restart:
    onFailure) answers the old session noWindow, and a new window works."""
    binary, attach, suffix, name = DRIVERS[drv]
    need(binary)
    img = disk_image(f"win-crash-{drv}", MB)
    m, c = run(boot, f"test-blk-window-{suffix}-crash", attach(img), "blkwin-crash")
    t = m.text
    assert re.search(rf"capenv: {name} crash-test fault at (wait 60|look 2000)\b", t), m.log_path
    assert re.search(rf"capos: proc-fault pid=\d+ name={name} vector=6", t)
    assert re.search(r"blkwin: blkwin-crash hammering", t)
    passed(c, m, "info", "open-map", "driver-gone", "window-kept", "window-writable", "info-freed",
           "map-after-crash", "old-session-refused", "served-again-window",
           "old-window-untouched", "audit-orphan")
    assert c["driver-gone"][0][1]["err"] == "-17"          # E_DISCONNECTED
    assert c["old-session-refused"][0][1]["err"] == NO_WINDOW
    before = [l for l in ledgers(t) if l["at"] == "owner-gone-before"][0]
    after = [l for l in ledgers(t) if l["at"] == "owner-gone"][0]
    assert int(before["inflight"]) + int(before["completed"]) >= 1, before
    assert_zero(after)
    back = int(after["free_frames"]) - int(before["free_frames"])
    pool = int(before["pool_bytes"]) // 4096
    # the window's pages stay with the client; everything else comes back
    # (NVMe: plus the kernel's page for the controller's queue state)
    assert pool - WIN // 4096 <= back <= pool - WIN // 4096 + 1, (back, pool, before, after)
    assert "blkwin: blkwin-crash done failures=0" in t, m.log_path
