"""The NVMe driver process (user/drivers/nvme/main.c) on QEMU's NVMe device
(-device nvme, 1b36:0010), over the kernel's device caps only: the kernel owns
the queue protocol (kernel/ddf/kddf_nvme.c, docs/device-manager.md "NVMe
brokering").

The client (user/blk-client, helper D's) writes its pattern over 256 KiB at
1 MiB through BlockDevice, flushes, reads back and compares, then checks the
bounds the server refuses. After QEMU exits the host image holds exactly the
pattern there and zeros everywhere else. Completion by MSI-X and by polling;
two namespaces served as `disk` and `disk2`; a hostile driver role whose
Format NVM, firmware, security and unchecked reads are refused by the kernel,
whose token from before a disable is stale afterwards, and whose disk still
works after the controller is reset and holds only the pattern.

Queue depth: the driver serves asynchronously (blkproc_serve_async, up to
BLKPROC_ASYNC_MAX = 14 requests in flight at the device); the client's
`qd16-mixed` phase keeps 16 calls outstanding, 4 KiB writes mixed with
read-backs of every written piece, and leaves the pattern as its last pass:
the host image after exit proves those out-of-order answered writes landed.
"""
import os
import re

import pytest

from capos_qemu import BUILD
from test_blk import assert_image_holds_pattern_only, checks, disk_image, passed

TIMEOUT = 180
DISK_MB = 8
NS_BLOCKS = (DISK_MB << 20) // 512


def need_driver():
    if not os.path.exists(os.path.join(BUILD, "bins", "nvme")):
        pytest.skip("nvme is not in this build")


def one_ns(path):
    return ["-drive", f"file={path},format=raw,if=none,id=n0",
            "-device", "nvme,serial=capos0,drive=n0,addr=0x6"]


def two_ns(p1, p2):
    return ["-drive", f"file={p1},format=raw,if=none,id=n0",
            "-drive", f"file={p2},format=raw,if=none,id=n1",
            "-device", "nvme,id=nvme0,serial=capos0,addr=0x6",
            "-device", "nvme-ns,drive=n0,bus=nvme0,nsid=1",
            "-device", "nvme-ns,drive=n1,bus=nvme0,nsid=2"]


ASYNC_SLOTS = 14
MIN_HIGH = 4   # requests seen at the driver at once; 14 on an idle host


def assert_client_passed(t, who, log):
    c = checks(t)
    assert f"blk-client: {who} done failures=0" in t, log
    for name in ("info", "write", "flush", "read-compare", "read-past-end",
                 "read-over-max-transfer", "write-past-end", "qd16-mixed"):
        assert passed(c, who, name), (who, name, log)
    assert c[(who, "qd16-mixed")][-1][1].get("max_in_flight") == "16", log


def assert_async_served(t, log):
    """The driver served with several requests in flight at the device."""
    assert f"nvme: async slots={ASYNC_SLOTS}" in t, log
    # the slots' message buffers are in DMA memory (no copy in the driver):
    # 14 buffers of 132 KiB back to back from a page - 40 bytes: 463 pages;
    # with the window area (docs/drivers.md "Windows") 256 pages more in the
    # same buffer when the 4 MiB pool holds it
    assert (f"nvme: async slots={ASYNC_SLOTS} msg_in_dma={(463 + 256) * 4096} "
            f"window_area={256 * 4096}") in t or \
        f"nvme: async slots={ASYNC_SLOTS} msg_in_dma={463 * 4096} window_area=0" in t, log
    highs = [int(h) for h in re.findall(r"blk: in-flight high=(\d+)", t)]
    assert highs and max(highs) >= MIN_HIGH, (highs, log)
    assert max(highs) <= ASYNC_SLOTS, (highs, log)


def run(boot, manifest, extra, clients=("blk-client",)):
    need_driver()
    m = boot(cmdline=f"capos.manifest={manifest}.mf", extra=extra)
    for who in clients:
        m.wait_for(rf"blk-client: {who} done failures=\d+", TIMEOUT)
    t = m.text
    for who in clients:
        assert_client_passed(t, who, m.log_path)
    assert_async_served(t, m.log_path)
    assert "ddf-grant-refused" not in t, m.log_path
    m.kill()
    return t


def test_nvme_msix(boot):
    img = disk_image("nvme-msix", DISK_MB)
    t = run(boot, "test-nvme", one_ns(img))
    assert re.search(r"capos: ddf-claim pid=\d+ device=00:06.0 id=1b36:0010 .*policy=nvme-brokered", t)
    assert re.search(r"nvme: ready completion=msix namespaces=1 ", t), t
    assert f"nvme: ns=0 nsid=1 blocks={NS_BLOCKS} bs=512" in t
    assert re.search(r"blk: serving disk blocks=16384 bs=512", t)
    assert_image_holds_pattern_only(img, DISK_MB)


def test_nvme_poll(boot):
    img = disk_image("nvme-poll", DISK_MB)
    t = run(boot, "test-nvme-poll", one_ns(img))
    assert re.search(r"nvme: ready completion=poll namespaces=1 ", t), t
    assert_image_holds_pattern_only(img, DISK_MB)


def test_nvme_two_namespaces(boot):
    a, b = disk_image("nvme-ns1", DISK_MB), disk_image("nvme-ns2", DISK_MB)
    t = run(boot, "test-nvme-2ns", two_ns(a, b), clients=("blk-client", "blk-client-ns2"))
    assert re.search(r"nvme: ready completion=msix namespaces=2 ", t), t
    assert f"nvme: ns=0 nsid=1 blocks={NS_BLOCKS} bs=512" in t
    assert f"nvme: ns=1 nsid=2 blocks={NS_BLOCKS} bs=512" in t
    assert re.search(r"blk: serving disk2 blocks=16384 bs=512", t)
    assert_image_holds_pattern_only(a, DISK_MB)
    assert_image_holds_pattern_only(b, DISK_MB)


# err values: lib/base/err.h E_PERM -9, E_RANGE -2 (as the caps binding maps DeviceError)
REFUSED = {"format-nvm": -9, "firmware-download": -9, "security-send": -9,
           "format-nvm-on-io-queue": -9, "read-unidentified-ns": -9,
           "read-longer-than-window": -2}


def test_nvme_hostile_commands_refused(boot):
    img = disk_image("nvme-hostile", DISK_MB)
    t = run(boot, "test-nvme-hostile", one_ns(img))
    for op, err in REFUSED.items():
        assert f"nvme: refused op={op} err={err} accepted=0" in t, (op, t)
    # a token from before nvmeDisable is stale (E_STALE -10); the controller
    # came back through the core's reset and served the client afterwards
    assert "nvme: stale-after-disable err=-10" in t, t
    # nvmeReap: a result buffer that holds an error but not one completion is
    # refused outOfRange (E_RANGE -2) and the finished flush is still reaped
    # afterwards; after the disable a reap is refused busy (E_BUSY -11)
    assert "nvme: reap-small-buffer err=-2 then-reaped=1" in t, t
    assert "nvme: reap-after-disable err=-11" in t, t
    # the kernel refused them before anything reached the device: the disk
    # (never formatted) holds the client's pattern and nothing else
    assert_image_holds_pattern_only(img, DISK_MB)


# ---- the kernel's broker itself, with a simulated hostile device ----

KERNEL_CASES = [
    "claim", "enable-depth-1", "enable-same-buffer", "enable", "ready", "identify-ctrl-done",
    "identify-copied-vid", "io-before-queue-created", "identify-ns-done", "refuse-format-nvm", "refusal-audited",
    "refuse-firmware", "refuse-set-features-vwc", "refuse-fused", "create-sq-before-cq",
    "create-cq-done", "create-sq-done", "read-unidentified-ns", "read-length-mismatch",
    "read-into-queue-memory", "list-is-queue-memory", "read-with-list-done",
    "list-as-queue-memory", "live-queue-memory-again", "read-done", "collected-twice",
    # nvmeReap: arguments, a batch bounded by its max, each token once, collected
    "reap-max-zero", "reap-max-over-bound", "reap-queue-out-of-range", "reap-wrong-owner",
    "reap-nothing-finished", "reap-every-token-once", "reap-nothing-bad",
    "reap-batch-bounded-by-max", "reap-collected", "reap-empty-after", "reap-admin-queue-empty",
    "bogus-cid-counted", "wrong-sqid-counted", "wrong-sqid-not-completed",
    "flood-bounded-one-queue", "flood-completed-nothing", "get-features-queues-done",
    "refuse-get-features-arbitration", "create-sq3-done", "free-live-queue-memory",
    "delete-cq-before-sq", "delete-sq3-done", "delete-cq3-done", "free-deleted-queue-memory",
    "io-on-deleted-queue", "read-before-disable", "disable", "stale-after-disable",
    "reap-after-disable", "free-after-disable", "submit-after-disable", "enable-again",
    "reap-forgotten-never-reported", "stale-token-after-enable", "device-reset",
    "stale-after-reset", "old-buffer-stale", "controller-disabled", "enable-after-reset",
    "identify-after-reset-done", "teardown", "ledger-claims",
    "ledger-buffers", "ledger-inflight", "free-frames-back",
]


def test_kernel_broker_hostile_device():
    """capos.test=nvme-broker (kernel/ddf/kddf_nvme_ktest.c): the kernel's
    own broker on QEMU's NVMe, with completion entries forged into the
    kernel-owned CQ as a broken device would write them: counted and ignored,
    bounded to one queue per pass; allow-lists, buffer roles, stale tokens
    after disable, and a zero ledger with every frame back after teardown."""
    from capos_qemu import Machine
    img = disk_image("nvme-ktest", DISK_MB)
    m = Machine("test_nvme_broker", machine="pc", extra=one_ns(img),
                cmdline="capos.test=nvme-broker")
    m.wait_exit(TIMEOUT)
    t = m.text
    m.kill()
    for case in KERNEL_CASES:
        assert re.search(rf"capos: nvme-case {case} .*ok=yes", t), (case, m.log_path)
    assert "ok=no" not in t, m.log_path
    assert "capos: test nvme-broker result=pass" in t, m.log_path
