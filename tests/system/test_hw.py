"""Hardware discovery and interrupts (issue 5): ACPI, PCI, APIC, MSI-X, timers.

Every boot here is short: a built-in kernel test that exits through
isa-debug-exit, or the diagnostics console's `halt`. Expected PCI functions
are taken from QEMU's own monitor (`info pci`), never from a list in this file.
"""
import os
import re
import socket
import struct
import time

import pytest

from capos_qemu import BUILD, EXIT_PASS, kv

TIMEOUT = 180
X2APIC_UNSUPPORTED = "TCG doesn't support requested feature: CPUID.01H:ECX.x2apic"

MATRIX = [(mach, fw, x2) for mach in ("pc", "q35") for fw in ("bios", "uefi") for x2 in (False, True)]


def marker(m, name):
    mt = re.search(r"capos: " + name + r" [^\n]*", m.text)
    assert mt, f"no {name} marker; log: {m.log_path}"
    return kv(mt.group(0))


@pytest.mark.parametrize("machine,firmware,x2", MATRIX,
                         ids=[f"{a}-{b}-{'x2apic' if c else 'xapic'}" for a, b, c in MATRIX])
def test_hw_matrix(boot, machine, firmware, x2):
    smp = 2 if x2 else 1
    m = boot(machine=machine, firmware=firmware, smp=smp,
             cpu="qemu64,+x2apic" if x2 else "qemu64,-x2apic", cmdline="capos.test=hw")
    rc = m.wait_exit(TIMEOUT)
    t = m.text
    assert "capos: test hw result=pass" in t, m.log_path
    assert rc == EXIT_PASS
    a = marker(m, "acpi-ok")
    assert int(a["madt_cpus"]) == smp
    assert a["ioapics"] == "1" and int(a["isos"]) >= 1 and a["rejected"] == "0"
    assert a["mcfg"] == ("yes" if machine == "q35" else "no")
    assert a["fadt"] == "yes" and a["hpet"] == "yes"
    assert a["rsdp"] == ("v2" if firmware == "uefi" else "v1")
    assert a["root"] == ("xsdt" if firmware == "uefi" else "rsdt")
    # x2APIC is used exactly when the CPU offers it. QEMU 7.2's TCG cannot offer it
    # (it says so on stderr); the kernel must then stay in xAPIC mode and say why.
    offered = x2 and X2APIC_UNSUPPORTED not in t
    ap = marker(m, "apic-ok")
    assert ap["x2apic_cpuid"] == ("yes" if offered else "no")
    assert ap["mode"] == ("x2apic" if offered else "xapic")
    p = marker(m, "pci-ok")
    assert p["buses_scanned"] == "256"
    assert p["access"] == ("ecam" if machine == "q35" else "legacy")
    tm = marker(m, "timer-ok")
    assert tm["source"] == "hpet" and int(tm["lapic_hz"]) > 1_000_000
    h = kv(re.search(r"capos: test hw self_ipi=[^\n]*", t).group(0))
    assert h["self_ipi"] == "yes" and int(h["ticks_by_1s"]) >= 1 and h["rtc_ok"] == "yes"
    for bad in ("EXCEPTION", "panic", "irq-refused"):
        assert bad not in t


# ---- PCI enumeration against QEMU's own view ----

def monitor(path, command, timeout=20):
    """Run one HMP command on a unix-socket monitor; return its output."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    s.settimeout(timeout)
    buf = b""
    while b"(qemu)" not in buf:
        buf += s.recv(65536)
    s.sendall(command.encode() + b"\n")
    buf = b""
    while buf.count(b"(qemu)") < 1:
        buf += s.recv(65536)
    s.close()
    return buf.decode("utf-8", "replace")


def qemu_pci(text):
    """(bus, dev, fn, vendor, device) of every function `info pci` lists."""
    rx = re.compile(r"Bus\s+(\d+), device\s+(\d+), function (\d+):\s*\r?\n\s+[^\n]*?"
                    r"PCI device ([0-9a-f]{4}):([0-9a-f]{4})")
    return {(int(b), int(d), int(f), v, dv) for b, d, f, v, dv in rx.findall(text)}


def kernel_pci(text):
    rx = re.compile(r"capos: pci-fn ([0-9a-f]{2}):([0-9a-f]{2})\.([0-7]) vendor=([0-9a-f]{4}) "
                    r"device=([0-9a-f]{4})")
    return {(int(b, 16), int(d, 16), int(f), v, dv) for b, d, f, v, dv in rx.findall(text)}


def scratch_disk(name):
    path = os.path.join(BUILD, "logs", name + ".disk")
    with open(path, "wb") as f:
        f.truncate(1 << 20)
    return path


TOPOLOGIES = {
    # pc: devices on the root bus and behind a PCI-PCI bridge (SeaBIOS numbers the bus).
    "pc-bios": dict(machine="pc", firmware="bios", devices=[
        "-device", "pci-bridge,id=br1,chassis_nr=1,bus=pci.0,addr=0x5",
        "-device", "virtio-blk-pci,drive=d1,bus=br1,addr=0x3",
        "-device", "nvme,drive=d2,serial=caposhw1,bus=br1,addr=0x4",
        "-device", "virtio-net-pci,bus=pci.0,addr=0x6",
        "-device", "virtio-rng-pci,bus=br1,addr=0x7",
    ]),
    # q35: a PCIe root port, and a PCI bridge on the root complex (OVMF numbers both).
    "q35-uefi": dict(machine="q35", firmware="uefi", devices=[
        "-device", "pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0,addr=0x5",
        "-device", "nvme,drive=d2,serial=caposhw1,bus=rp1",
        "-device", "pci-bridge,id=br1,chassis_nr=2,bus=pcie.0,addr=0x6",
        "-device", "virtio-blk-pci,drive=d1,bus=br1,addr=0x3",
        "-device", "virtio-net-pci,bus=br1,addr=0x4",
        "-device", "virtio-rng-pci,bus=pcie.0,addr=0x7",
    ]),
}


@pytest.mark.parametrize("topo", sorted(TOPOLOGIES))
def test_pci_matches_qemu(boot, topo):
    cfg = TOPOLOGIES[topo]
    sock = os.path.join(BUILD, "logs", f"hw-mon-{topo}-{os.getpid()}.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    d1, d2 = scratch_disk(f"hw-{topo}-d1"), scratch_disk(f"hw-{topo}-d2")
    extra = ["-monitor", f"unix:{sock},server=on,wait=off",
             "-drive", f"if=none,id=d1,file={d1},format=raw",
             "-drive", f"if=none,id=d2,file={d2},format=raw"] + cfg["devices"]
    m = boot(machine=cfg["machine"], firmware=cfg["firmware"], extra=extra,
             cmdline="capos.mode=diag")
    m.wait_for(r"capos: diag-ready", TIMEOUT)
    want = qemu_pci(monitor(sock, "info pci"))
    got = kernel_pci(m.text)
    assert want, "QEMU's info pci listed nothing"
    assert got == want, f"kernel-only: {sorted(got - want)}; qemu-only: {sorted(want - got)}"
    assert any(b > 0 for b, *_ in got), "no function behind a bridge was found"
    p = marker(m, "pci-ok")
    assert int(p["functions"]) == len(want) and p["buses_scanned"] == "256"
    assert int(p["bridges"]) >= (2 if cfg["machine"] == "q35" else 1)
    # The console's pci pages list the same functions.
    m.send("pci\r")
    m.wait_for(r"-- (more|end)[^\n]*\n")
    m.send("halt\r")
    assert m.wait_exit(60) == EXIT_PASS
    # Capabilities seen on the virtio and NVMe functions.
    fn = {(v, d): l for l in m.text.splitlines() if l.startswith("capos: pci-fn ")
          for v, d in [re.search(r"vendor=(\w+) device=(\w+)", l).groups()]}
    nvme = [l for (v, d), l in fn.items() if v == "1b36" and d == "0010"]
    assert nvme and "pcie=yes" in nvme[0] and "msix=0" not in nvme[0]
    virtio = [l for (v, d), l in fn.items() if v == "1af4"]
    assert virtio and all(int(kv(l)["vcaps"]) >= 4 for l in virtio), virtio


# ---- MSI-X delivered by a real device ----

@pytest.mark.parametrize("machine", ["pc", "q35"])
def test_msix_virtio_rng(boot, machine):
    bus = "pci.0" if machine == "pc" else "pcie.0"
    extra = ["-device", f"pci-bridge,id=br1,chassis_nr=1,bus={bus},addr=0x5",
             "-device", "virtio-rng-pci,disable-legacy=off,bus=br1,addr=0x2"]
    m = boot(machine=machine, extra=extra, cmdline="capos.test=msix")
    rc = m.wait_exit(TIMEOUT)
    r = kv(re.search(r"capos: test msix device=[^\n]*", m.text).group(0))
    assert "capos: test msix result=pass" in m.text, m.log_path
    assert rc == EXIT_PASS
    assert r["irq_count"] == "1" and r["used_idx"] == "1" and int(r["bytes"]) > 0
    assert r["device"].startswith("01:") or r["device"].startswith("02:"), r["device"]
    assert 0x30 <= int(r["vector"], 16) <= 0xDF


def test_irq_route_lifecycle(boot):
    m = boot(machine="pc", cmdline="capos.test=irq-pool")
    rc = m.wait_exit(TIMEOUT)
    t = m.text
    assert "capos: test irq-pool result=pass" in t, m.log_path
    assert rc == EXIT_PASS
    first = kv(re.search(r"capos: test irq-pool claimed=[^\n]*", t).group(0))
    assert first["refusal"] == "no-space" and first["pool_free"] == "0"
    assert re.search(r"capos: irq-refused [^\n]*device vector pool exhausted", t)
    second = kv(re.search(r"capos: test irq-pool delivered=[^\n]*", t).group(0))
    assert second["stale_release"] == "stale" and second["late_interrupt_ignored"] == "yes"
    assert second["live_after"] == "0"


@pytest.mark.parametrize("machine", ["pc", "q35"])
def test_isa_irq_override(boot, machine):
    """The PIT (ISA IRQ 0) is GSI 2 on QEMU per the MADT override: interrupts arrive there."""
    m = boot(machine=machine, cmdline="capos.test=isa-override")
    rc = m.wait_exit(TIMEOUT)
    assert "capos: test isa-override result=pass" in m.text, m.log_path
    assert rc == EXIT_PASS
    r = kv(re.search(r"capos: test isa-override irq0_gsi=[^\n]*", m.text).group(0))
    assert r["irq0_gsi"] == "2" and r["gsi0_masked"] == "yes" and int(r["interrupts"]) >= 5
    assert r["irq9_gsi"] == "9" and r["irq9"] == "level,active-high"


def test_msi_programming(boot):
    """MSI on q35's first MSI-capable function (the e1000e): programming read back, and one
    interrupt raised by the device itself (ICS register) delivered through it."""
    m = boot(machine="q35", cmdline="capos.test=msi")
    rc = m.wait_exit(TIMEOUT)
    assert "capos: test msi result=pass" in m.text, m.log_path
    assert rc == EXIT_PASS
    r = kv(re.search(r"capos: test msi device=[^\n]*", m.text).group(0))
    assert r["addr"] == "0xfee00000" and int(r["data"], 16) == int(r["vector"], 16)
    assert r["duplicate"] == "busy" and r["disabled_after_release"] == "yes"
    assert r["id"] == "8086:10d3" and r["delivered"] == "1"


def test_pit_fallback_without_hpet(boot):
    """HPET table rejected: the LAPIC timer is calibrated on the PIT, time_ns runs on the TSC."""
    m = boot(machine="pc", cmdline="capos.acpi_fault=HPET:checksum capos.test=hw")
    rc = m.wait_exit(TIMEOUT)
    assert re.search(r"capos: acpi-reject table=HPET [^\n]*checksum fails", m.text)
    tm = marker(m, "timer-ok")
    assert tm["source"] == "pit" and tm["hpet_hz"] == "0" and int(tm["lapic_hz"]) > 1_000_000
    assert "capos: test hw result=pass" in m.text, m.log_path
    assert rc == EXIT_PASS


# ---- hostile ACPI tables ----

def acpi_table(sig, body, oem=b"CAPOST"):
    """A table with a correct header; QEMU's -acpitable repairs length and checksum anyway."""
    hdr = sig.encode() + struct.pack("<IBB6s8sI4sI", 36 + len(body), 1, 0, oem, b"HOSTILE ", 1,
                                     b"CAPO", 1)
    t = bytearray(hdr + body)
    t[9] = (-sum(t)) & 0xFF
    return bytes(t)


# Structure-level damage travels through QEMU intact. Each entry: table, expected reason.
HOSTILE = [
    ("APIC", struct.pack("<II", 0xFEE00000, 1) + bytes([0, 0, 0, 0, 0, 0, 0, 0]),
     r"APIC: entry type 0 at 44 has length 0"),
    ("APIC", struct.pack("<II", 0xFEE00000, 1) + bytes([1, 255, 0, 0]) + bytes(8),
     r"APIC: entry type 1 at 44 has length 255"),
    ("FACP", bytes(24), r"FACP: length 60 below the 1.0 size 116"),
    ("MCFG", bytes(8) + bytes(10), r"MCFG: length 54 is not 44 \+ 16\*n"),
    ("HPET", bytes(4) + bytes([1, 0, 0, 0]) + struct.pack("<Q", 0x1000) + bytes(8),
     r"HPET: base 0x1000 \(space 1\) is not a memory block"),
    ("DMAR", bytes([38, 0]) + bytes(10) + struct.pack("<HH", 0, 0xFFFF) + bytes(12),
     r"DMAR: structure at 48 has length 65535"),
]
# Header-level damage (checksum, absurd and truncated lengths) cannot pass through
# -acpitable, which rewrites both fields; capos.acpi_fault damages a heap copy of
# the injected table just before validation (kernel/acpi/acpi.c: inject_fault).
HEADER_FAULTS = [("CAPA", "checksum", r"CAPA: checksum fails"),
                 ("CAPB", "huge", r"CAPB: absurd length 2147483632"),
                 ("CAPC", "truncated", r"CAPC: length \d+ past the \d+ readable bytes")]


@pytest.mark.parametrize("machine,firmware", [("pc", "bios"), ("q35", "uefi")])
def test_hostile_acpi_tables(boot, machine, firmware):
    d = os.path.join(BUILD, "logs", f"hostile-acpi-{machine}-{firmware}")
    os.makedirs(d, exist_ok=True)
    # OVMF's ACPI platform driver refuses a second FADT and then installs no further
    # tables at all, so under OVMF the FADT case is left to the SeaBIOS run.
    hostile = [h for h in HOSTILE if not (firmware == "uefi" and h[0] == "FACP")]
    extra = []
    for i, (sig, body, _) in enumerate(hostile):
        path = os.path.join(d, f"{i}-{sig}.bin")
        with open(path, "wb") as f:
            f.write(acpi_table(sig, body))
        extra += ["-acpitable", f"file={path}"]
    for sig, _, _ in HEADER_FAULTS:
        path = os.path.join(d, f"{sig}.bin")
        with open(path, "wb") as f:
            f.write(acpi_table(sig, bytes(16)))
        extra += ["-acpitable", f"file={path}"]
    faults = ",".join(f"{s}:{k}" for s, k, _ in HEADER_FAULTS)
    m = boot(machine=machine, firmware=firmware, extra=extra,
             cmdline=f"capos.acpi_fault={faults} capos.test=hw")
    rc = m.wait_exit(TIMEOUT)
    t = m.text
    rejects = re.findall(r"capos: acpi-reject [^\n]*", t)
    for sig, _, reason in hostile + HEADER_FAULTS:
        hit = [r for r in rejects if re.search(reason, r)]
        assert len(hit) == 1, f"{sig}: no rejection matching {reason!r}; rejects: {rejects}"
    a = marker(m, "acpi-ok")
    assert int(a["rejected"]) == len(rejects) == len(hostile) + len(HEADER_FAULTS)
    # Boot went on with the firmware's own tables.
    assert a["madt_cpus"] == "1" and a["ioapics"] == "1" and a["hpet"] == "yes"
    assert "capos: test hw result=pass" in t, m.log_path
    assert rc == EXIT_PASS


def test_hostile_madt_checksum_boot_continues(boot):
    """The only MADT rejected: no I/O APIC routes, said plainly, and boot still completes."""
    m = boot(machine="pc", cmdline="capos.acpi_fault=APIC:checksum capos.mode=diag")
    m.wait_for(r"capos: diag-ready rx=polled", TIMEOUT)
    t = m.text
    assert re.search(r"capos: acpi-reject table=APIC [^\n]*checksum fails", t)
    assert "capos: ioapic-fail" in t and "capos: boot-ok" in t
    m.send("acpi\r")
    m.wait_for(r"APIC pa=\S+ len=\d+\s+REJECTED")
    m.send("halt\r")
    assert m.wait_exit(60) == EXIT_PASS
