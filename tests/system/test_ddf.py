"""Kernel device manager (kernel/ddf) against a real QEMU virtio-rng.

capos.test=ddf drives a transitional virtio-rng (legacy I/O BAR0, MSI-X)
end to end through the ledger's operations only (the ones the DeviceMmio,
Interrupt, DMAPool and DMABuffer caps decode to), then runs issue 6's
hostile list. Each case prints `capos: ddf-case NAME got=.. expect=.. ok=..`;
after each teardown the ledger totals and the pmm free-frame count are
compared with the base taken after a warm-up session
(`capos: ddf-leak-check ... ok=yes`).
"""
import re

import pytest

from capos_qemu import EXIT_PASS, kv

TIMEOUT = 240
RNG = ["-device", "virtio-rng-pci,disable-legacy=off"]

# Every hostile case of issue 6 and the refusal it must get.
HOSTILE = {
    "claim-absent-ids": "not-found",
    "claim-absent-addr": "not-found",
    "claim-already-claimed": "exists",
    "write-not-selected-queue-pfn": "permission",
    "write-not-selected-features": "permission",
    "write-wider-than-rule": "permission",
    "map-io-window": "not-supported",
    "map-other-owner": "permission",
    "grant-outside-bar": "out-of-range",
    "grant-straddling-bar": "out-of-range",
    "grant-other-owner": "permission",
    "pool-over-budget": "limit",
    "map-ring-buffer": "permission",
    "desc-outside-buffer": "out-of-range",
    "desc-indirect-flag": "invalid",
    "double-free": "stale",
    "stale-dma-handle-map": "stale",
    "stale-dma-handle-submit": "stale",
    "free-in-flight": "busy",
    "stale-completion-after-reset": "stale",
    "stale-collect-after-reset": "stale",
    "stale-irq-after-reset": "stale",
    "stale-wait-after-reset": "stale",
    "race-stale-done": "stale",
    "race-stale-irq": "stale",
    "exit-stale-done": "stale",
    "crash-stale-irq": "stale",
}


@pytest.fixture(scope="module")
def run(request):
    from capos_qemu import Machine
    m = Machine("test_ddf", machine="pc", extra=RNG, cmdline="capos.test=ddf")
    rc = m.wait_exit(TIMEOUT)
    yield m, rc
    m.kill()


def cases(text):
    return {c["_name"]: c for c in
            ({**kv(l), "_name": l.split()[2]} for l in text.splitlines()
             if l.startswith("capos: ddf-case "))}


def test_ddf_passes(run):
    m, rc = run
    assert "capos: test ddf result=pass" in m.text, m.log_path
    assert rc == EXIT_PASS
    assert "ok=no" not in m.text


def test_backend_marker(run):
    m, _ = run
    assert re.search(r"capos: dma-backend=bounce iommu=absent", m.text)


def test_end_to_end_virtio_rng(run):
    m, _ = run
    runs = [kv(l) for l in m.text.splitlines() if l.startswith("capos: ddf-e2e ")]
    assert len(runs) == 3, runs          # warm-up, run, restarted driver
    for r in runs:
        assert r["id"] == "1af4:1005" and r["nonzero"] == "yes"
        assert 0 < int(r["bytes"]) <= 64
        assert 0x30 <= int(r["vector"], 16) <= 0xDF
        assert int(r["driver_va"], 16) >= 0x7FFE00000000    # a user address, never physical


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_refused(run, name):
    m, _ = run
    c = cases(m.text)
    assert name in c, name
    assert c[name]["got"] == HOSTILE[name] and c[name]["ok"] == "yes", c[name]


def test_nothing_leaked(run):
    m, _ = run
    checks = [kv(l) for l in m.text.splitlines() if l.startswith("capos: ddf-leak-check ")]
    assert {c["case"] for c in checks} == {"reset", "revoke-reset-race", "exit-with-dma",
                                           "crash-with-dma", "final"}
    assert all(c["ok"] == "yes" and c["free_frames"] == c["base"] for c in checks), checks
    ledgers = {kv(l)["at"]: kv(l) for l in m.text.splitlines() if l.startswith("capos: ddf-ledger ")}
    for at in ("start", "base", "reset", "exit-with-dma", "crash-with-dma", "final", "end"):
        t = ledgers[at]
        assert t["invariants"] == "ok"
        for k in ("claims", "mappings", "routes", "pool_bytes", "buffers", "inflight"):
            assert t[k] == "0", (at, k, t)
    assert ledgers["start"]["free_frames"] == ledgers["end"]["free_frames"]
    # DMA really was outstanding when the driver exited: in flight, or completed by a
    # virtio-rng that serves entries it was not notified of, but never collected
    t = ledgers["exit-inflight"]
    assert int(t["inflight"]) + int(t["completed"]) == 1, t
    assert int(ledgers["exit-inflight"]["free_frames"]) < int(ledgers["base"]["free_frames"])


def test_reset_keeps_claim(run):
    m, _ = run
    t = {kv(l)["at"]: kv(l) for l in m.text.splitlines() if l.startswith("capos: ddf-ledger ")}
    assert t["after-reset"]["claims"] == "1" and t["after-reset"]["buffers"] == "0"
    assert cases(m.text)["stale-vector-after-reset"]["ok"] == "yes"



def test_diag_console_shows_ledger_and_audit(boot):
    """`devices` ends with the device-manager ledger, `logs` with the audit ring's newest records."""
    from test_diag import Console
    m = boot(machine="q35", cmdline="capos.mode=diag")
    c = Console(m)
    c.run("devices", r"device-manager: no claimed devices")
    c.run("logs 3", r"-- hardware audit log \(newest\) --", r"-- end of audit log --")
