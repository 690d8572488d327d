"""Kernel device manager on an MSI route (capos.test=ddf-msi, kernel/ddf/kddf_ktest.c).

q35's e1000e (8086:10d3) has MSI without per-vector masking, so the route's
mask is MSI Enable. The stand-in driver claims it, maps BAR0, routes MSI and
makes the device raise a link-status interrupt through ICS (a selected
register): the wait sees exactly one, MSI stays disabled until the
acknowledge, mask/unmask toggle it, and after a reset the old route is
stale, MSI is off and a late message on the old vector runs no handler.
"""
from capos_qemu import EXIT_PASS, Machine, kv

TIMEOUT = 240

EXPECT = {
    "msi-route": "ok",
    "msi-index-1": "out-of-range",
    "msi-and-intx": "busy",
    "msi-stale-irq-after-reset": "stale",
    "msi-stale-wait-after-reset": "stale",
}


def test_ddf_msi():
    m = Machine("test_ddf_msi", machine="q35", cmdline="capos.test=ddf-msi")
    rc = m.wait_exit(TIMEOUT)
    t = m.text
    m.kill()
    assert "capos: test ddf-msi result=pass" in t, m.log_path
    assert rc == EXIT_PASS
    cases = {l.split()[2]: kv(l) for l in t.splitlines() if l.startswith("capos: ddf-case ")}
    for name, want in EXPECT.items():
        assert cases[name]["got"] == want and cases[name]["ok"] == "yes", (name, cases.get(name))
    for name in ("msi-fired", "msi-fired-again"):
        assert cases[name]["got"] == "1", (name, m.log_path)
    assert cases["msi-storm-wait-count"]["got"] == "63", m.log_path   # counted after the first wait
    for name in ("msi-programmed", "msi-not-masked-in-service", "msi-storm-masked",
                 "msi-unmasked-after-ack",
                 "msi-mask-masks", "msi-unmask-unmasks", "msi-disabled-after-reset",
                 "msi-stale-vector-after-reset", "msi-ledger-zero"):
        assert cases[name]["ok"] == "yes", (name, m.log_path)
    assert all(c["ok"] == "yes" for c in cases.values()), m.log_path
    d = kv([l for l in t.splitlines() if l.startswith("capos: ddf-msi device=")][0])
    assert d["per_vector_mask"] == "no" and int(d["data"], 16) == int(d["vector"], 16)
