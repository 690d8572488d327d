"""Kernel device manager on an INTx route (capos.test=ddf-intx, kernel/ddf/kddf_ktest.c).

The transitional virtio-rng of test_ddf.py without MSI-X (vectors=0): the
stand-in driver routes the function's pin (kind intx), reads entropy by that
interrupt (ISR read, then acknowledge), and checks the deferred EOI on the
I/O APIC entry (masked from the interrupt to the acknowledge), the driver's
mask as the function's INTx Disable, and the stale cases of issue 6 on the
line: after a reset and in a revoke/reset race, the old route is refused,
a late interrupt on the old vector runs no handler, and the ledger and the
free-frame count return to their base. A second virtio-rng on the same line
(slots 4 and 8) shares it: both read by it, and dropping one route leaves
the line live for the other. A line the kernel holds itself is refused.
"""
from capos_qemu import EXIT_PASS, Machine, kv

TIMEOUT = 240
# Slots 4 and 8 share one PCI link on QEMU pc, so one I/O APIC line.
RNG = ["-device", "virtio-rng-pci,disable-legacy=off,vectors=0,addr=0x4",
       "-device", "virtio-rng-pci,disable-legacy=off,vectors=0,addr=0x8"]

EXPECT = {
    "intx-on-kernel-line": "busy",
    "intx-and-msix": "busy",
    "intx-index-1": "out-of-range",
    "intx-wait-before-ack": "busy",
    "intx-stale-irq-after-reset": "stale",
    "intx-stale-wait-after-reset": "stale",
    "intx-race-stale-done": "stale",
    "intx-race-stale-irq": "stale",
}


def test_ddf_intx():
    m = Machine("test_ddf_intx", machine="pc", extra=RNG, cmdline="capos.test=ddf-intx")
    rc = m.wait_exit(TIMEOUT)
    t = m.text
    m.kill()
    assert "capos: test ddf-intx result=pass" in t, m.log_path
    assert rc == EXIT_PASS
    cases = {l.split()[2]: kv(l) for l in t.splitlines() if l.startswith("capos: ddf-case ")}
    for name, want in EXPECT.items():
        assert cases[name]["got"] == want and cases[name]["ok"] == "yes", (name, cases.get(name))
    for name in ("intx-e2e", "intx-entry-live", "intx-fired", "intx-masked-in-service",
                 "intx-unmasked-after-ack", "intx-mask-disables-pin", "intx-unmask-enables-pin",
                 "intx-entry-masked-after-reset", "intx-stale-vector-after-reset"):
        assert cases[name]["ok"] == "yes", (name, m.log_path)
    assert all(c["ok"] == "yes" for c in cases.values()), m.log_path
    runs = [kv(l) for l in t.splitlines() if l.startswith("capos: ddf-e2e ")]
    assert len(runs) == 2, m.log_path
    for r in runs:
        assert r["nonzero"] == "yes" and 0 < int(r["bytes"]) <= 64, r
    assert "capos: ddf-intx-line gsi=" in t and "level" in t
    assert "sharing=2" in t, m.log_path
    for name in ("shared-same-line", "shared-read-1", "shared-read-2", "shared-line-kept",
                 "shared-read-2-after-drop", "shared-line-released"):
        assert cases[name]["ok"] == "yes", (name, m.log_path)
    leaks = [kv(l) for l in t.splitlines() if l.startswith("capos: ddf-leak-check ")]
    assert len(leaks) == 4 and all(c["ok"] == "yes" for c in leaks), m.log_path
