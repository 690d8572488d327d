"""Block-driver faults (issue 8): what a block client sees when its driver
fails before it serves, and when the driver's restart budget runs out.
docs/testing.md "Block-driver faults".

The client is blkf's client role (user/tests/blkf/client.c, TEST CODE): it repeats an
8 KiB write/read/compare round through BlockDevice and reports each change
between served and disconnected, and `stays-gone` once 20 calls in a row
failed with disconnected (the endpoint is dead). The drivers are the real
virtio-blk and NVMe processes, made to fail through their manifests only:
- a DMA pool of one page (too small for the rings and bounce buffers): the
  driver's start-up fails and it exits 1, every instance init restarts;
- the crash test point of capenv (a service name ending in `-crash` faults
  at its 60th device wait, with a request's DMA in flight; each instance
  counts its own waits) with `maxRestarts: 1`: the first instance dies in
  service, the restarted one serves and then dies the same way, and the
  budget is spent;
- no DMA pool granted at all (NVMe): the driver exits at its first step;
and one stand-in, blkf's start-up crash role (user/tests/blkf/startcrash.c,
TEST CODE): the real virtio-blk or NVMe bring-up, one request left
outstanding, then a fault before it serves, every instance.
Every driver exit or fault must leave a zero ledger, and the client must get
`disconnected` at the end, at once for every later call, never a hang.
"""
import re

import pytest

from capos_qemu import kv, module_image
from test_blk import disk_image, need, nvme, vblk
from test_ddf_user import assert_zero, ledgers

TIMEOUT = 240
STAY_CALLS = 20
MAX_LATER_US = 1_000_000     # each call after the endpoint died: well under a second


def blkf_boot(boot, mf, extra):
    """Boot manifest mf with the blkf modules it needs: they live in
    build/blkf/, outside build/bins/ (mk/blkfaults.mk: the module limit)."""
    return boot(img=module_image("blkf", "blkf", mf), extra=extra)


def watch(m, who="blkf-watch"):
    """The client's markers, once it is done."""
    m.wait_for(rf"blkf-client: {who} done gone=\d+ [^\n]*failures=\d+", TIMEOUT)
    t = m.text
    ev = [(mm.group(1), kv(mm.group(2))) for mm in
          re.finditer(rf"^blkf-client: {who} (\S+)(.*)$", t, re.M)]
    return t, ev


def assert_stays_gone(ev, log):
    """The watch ended with the endpoint dead: STAY_CALLS disconnected in a
    row, the later ones each ending at once; no failure."""
    stays = [d for e, d in ev if e == "stays-gone"]
    assert stays, (ev, log)
    s = stays[0]
    assert s["calls"] == str(STAY_CALLS) and s["err"] == "-17", s
    assert int(s["max_later_us"]) < MAX_LATER_US, s
    done = [d for e, d in ev if e == "done"][-1]
    assert done["failures"] == "0", (done, log)
    return done


def assert_teardowns(t, n, log):
    """n driver instances ended: each claim torn down to a zero ledger with
    every page of its DMA pool back; the ledgers before the teardowns."""
    before = [l for l in ledgers(t) if l["at"] == "owner-gone-before"]
    after = [l for l in ledgers(t) if l["at"] == "owner-gone"]
    assert len(before) == n and len(after) == n, log
    for b, a in zip(before, after):
        assert_zero(a)
        assert int(a["free_frames"]) - int(b["free_frames"]) >= int(b["pool_bytes"]) // 4096, (b, a)
    return before


def assert_gave_up(t, svc, restarts, log):
    assert re.search(rf"^init: {re.escape(svc)} gave up after {restarts} restarts", t, re.M), log
    for n in range(1, restarts + 1):
        assert re.search(rf"^init: restart {re.escape(svc)} {n}/{restarts}", t, re.M), (n, log)
    # the client's end comes after init gave up: before it, its calls were
    # queued for the next instance, not refused
    give_up = re.search(rf"^init: {re.escape(svc)} gave up", t, re.M).start()
    stays = re.search(r"^blkf-client: \S+ stays-gone", t, re.M).start()
    assert give_up < stays, log


# drv: (binary, service, manifest, QEMU args, the driver's start-up error
# marker: E_NOMEM -3, the pool's budget refused the first ring)
NOPOOL = {
    "virtio": ("virtio-blk", "vblk", "test-blkf-vblk-nopool", vblk, "virtio-blk: error=init err=-3"),
    "nvme": ("nvme", "nvme", "test-blkf-nvme-nopool", nvme, "nvme: error=init err=-3"),
}


@pytest.mark.parametrize("drv", sorted(NOPOOL))
def test_startup_fails_until_budget_spent(boot, drv):
    """The driver's DMA pool is one page: its start-up fails (exit 1) in
    each of the 3 instances (maxRestarts 2); each claim is torn down to a
    zero ledger; the client's first call waits queued until init gives up,
    then ends disconnected, and every later call at once."""
    binary, svc, mf, attach, err_marker = NOPOOL[drv]
    need(binary)
    img = disk_image(f"nopool-{drv}", 8)
    m = blkf_boot(boot, mf, attach(img))
    t, ev = watch(m)
    done = assert_stays_gone(ev, m.log_path)
    assert done["gone"] == "1" and done["served_again"] == "0" and done["ok_rounds"] == "0", done
    assert t.count(err_marker) == 3, m.log_path
    assert not re.search(r"^blk: serving", t, re.M)
    assert len(re.findall(rf"^init: service {svc} exited code=1", t, re.M)) == 3, m.log_path
    assert_gave_up(t, svc, 2, m.log_path)
    assert_teardowns(t, 3, m.log_path)


# drv: (service, manifest, QEMU args)
STARTCRASH = {
    "virtio": ("vblk-start", "test-blkf-vblk-startcrash", vblk),
    "nvme": ("nvme-start", "test-blkf-nvme-startcrash", nvme),
}


@pytest.mark.parametrize("drv", sorted(STARTCRASH))
def test_crash_in_startup_until_budget_spent(boot, drv):
    """blkf's start-up crash role brings the device up with the real driver
    code (vblk_init / nvme_init), leaves a request outstanding and faults
    before it serves, in each of the 3 instances: the kernel tears each
    claim down (DMA outstanding before, a zero ledger and every pool page
    back after), init gives up after 2 restarts, the client gets
    disconnected and nothing hangs."""
    svc, mf, attach = STARTCRASH[drv]
    img = disk_image(f"startcrash-{drv}", 8)
    m = blkf_boot(boot, mf, attach(img))
    t, ev = watch(m)
    done = assert_stays_gone(ev, m.log_path)
    assert done["gone"] == "1" and done["ok_rounds"] == "0", done
    ups = re.findall(rf"^blkf-startcrash: {svc} dev={drv} bring-up err=(-?\d+) blocks=(\d+) "
                     r"in_flight=(\d)", t, re.M)
    assert len(ups) == 3 and all(u == ("0", "16384", "1") for u in ups), (ups, m.log_path)
    assert len(re.findall(rf"capos: proc-fault pid=\d+ name={svc} vector=6", t)) == 3
    assert len(re.findall(r"capos: ddf-owner-gone owner=\d+ reason=crash claims=1", t)) == 3
    before = assert_teardowns(t, 3, m.log_path)
    # the request was outstanding at the fault (NVMe: or already completed
    # by the device, not yet collected)
    assert all(int(b["inflight"]) + int(b["completed"]) >= 1 for b in before), before
    assert_gave_up(t, svc, 2, m.log_path)


def test_startup_without_dma_grant(boot):
    """The NVMe driver granted no DMA pool: `nvme: error=no-dma-pool` in
    each of the 3 instances, each claim (mmio, irq) torn down to a zero
    ledger, init gives up, the client is told disconnected."""
    need("nvme")
    img = disk_image("nodma", 8)
    m = blkf_boot(boot, "test-blkf-nvme-nodma", nvme(img))
    t, ev = watch(m)
    done = assert_stays_gone(ev, m.log_path)
    assert done["gone"] == "1" and done["ok_rounds"] == "0", done
    assert len(re.findall(r"^nvme: error=no-dma-pool err=-\d+", t, re.M)) == 3, m.log_path
    assert_teardowns(t, 3, m.log_path)
    assert_gave_up(t, "nvme", 2, m.log_path)


# drv: (binary, service, manifest, QEMU args)
BUDGET = {
    "virtio": ("virtio-blk", "vblk-crash", "test-blkf-vblk-budget", vblk),
    "nvme": ("nvme", "nvme-crash", "test-blkf-nvme-budget", nvme),
}


@pytest.mark.parametrize("drv", sorted(BUDGET))
def test_crash_in_service_until_budget_spent(boot, drv):
    """maxRestarts 1 and a driver that faults in service every time (capenv's
    crash test point): served, disconnected, served again by the restarted
    instance, disconnected again; then init gives up and every call ends
    disconnected at once. Both teardowns end at a zero ledger."""
    binary, svc, mf, attach = BUDGET[drv]
    need(binary)
    img = disk_image(f"budget-{drv}", 8)
    m = blkf_boot(boot, mf, attach(img))
    t, ev = watch(m)
    done = assert_stays_gone(ev, m.log_path)
    assert done["gone"] == "2" and done["served_again"] == "1", (done, m.log_path)
    gones = [d for e, d in ev if e == "gone"]
    assert all(g["err"] == "-17" for g in gones), gones
    assert int(gones[0]["ok_rounds"]) >= 1, gones      # served before the first crash
    assert int(gones[1]["ok_rounds"]) > int(gones[0]["ok_rounds"]), gones  # and between
    assert len(re.findall(rf"capenv: {svc} crash-test fault at (wait 60|look 2000)\b", t)) == 2, m.log_path
    assert len(re.findall(r"capos: ddf-owner-gone owner=\d+ reason=crash claims=1", t)) == 2
    assert_teardowns(t, 2, m.log_path)
    assert_gave_up(t, svc, 1, m.log_path)


# Both drivers serve up to BLKPROC_ASYNC_MAX = 14 requests at once
# (blkproc_serve_async), so of 16 calls in flight at least 2 are still
# queued on the endpoint when the driver dies.
ASYNC_MAX = 14


@pytest.mark.parametrize("drv", sorted(BUDGET))
def test_crash_in_service_at_queue_depth(boot, drv):
    """The same crash-restart-crash with the client keeping 16 reads in
    flight (the endpoint's queue bound): at the first crash the calls the
    dead driver had received end disconnected and the ones still queued are
    served by the restarted instance; every call of every round is
    answered, with no other error; after init gives up all 16 calls of each
    round end disconnected at once."""
    binary, svc, mf, attach = BUDGET[drv]
    need(binary)
    img = disk_image(f"budget-qd-{drv}", 8)
    m = blkf_boot(boot, f"{mf}-qd", attach(img))
    t, ev = watch(m, "blkf-watch-qd")
    done = assert_stays_gone(ev, m.log_path)
    assert done["gone"] == "2" and done["served_again"] == "1", (done, m.log_path)
    gones = [d for e, d in ev if e == "gone"]
    assert all(g["err"] == "-17" for g in gones), gones
    # the first crash: the calls the driver had received end disconnected,
    # the rest (queued) are served by the restarted instance in that round
    assert 1 <= int(gones[0]["disconnected_calls"]) <= ASYNC_MAX, (gones, m.log_path)
    qd = [d for e, d in ev if e == "qd"][0]
    # rounds: the served ones, the first crash's, the run of STAY_CALLS
    # (the second crash's first): every call of each came back
    assert int(qd["calls"]) == 16 * (int(done["ok_rounds"]) + 1 + STAY_CALLS), (qd, done)
    first, second = (int(g["disconnected_calls"]) for g in gones)
    assert int(qd["disconnected"]) == first + second + 16 * (STAY_CALLS - 1), (qd, gones)
    assert int(qd["most_at_once"]) == 16, qd
    assert len(re.findall(rf"capenv: {svc} crash-test fault at (wait 60|look 2000)\b", t)) == 2, m.log_path
    assert_teardowns(t, 2, m.log_path)
    assert_gave_up(t, svc, 1, m.log_path)
