"""The IOMMU probe (kernel/iommu/probe.c, docs/iommu.md).

Each boot runs the short `capos.test=heap` kernel test after the device
manager printed its DMA-backend marker, so it ends through isa-debug-exit.
The backend is bounce pages in every case (there is no remapping backend);
what is checked is that the marker says honestly what the probe found.
"""
import os
import re
import struct

import pytest

from capos_qemu import BUILD, EXIT_PASS, kv

TIMEOUT = 120
CMDLINE = "capos.test=heap"


def backend(m):
    mt = re.search(r"capos: dma-backend=[^\n]*", m.text)
    assert mt, f"no dma-backend marker; log: {m.log_path}"
    return kv(mt.group(0))


def units(m):
    return [kv(u) for u in re.findall(r"capos: iommu-unit [^\n]*", m.text)]


def finish(m):
    rc = m.wait_exit(TIMEOUT)
    assert "capos: test heap result=pass" in m.text, m.log_path
    assert rc == EXIT_PASS


def dmar(*structures, haw=38):
    """A DMAR table (VT-d 8.1): HAW, flags, 10 reserved bytes, then structures."""
    body = bytes([haw, 0]) + bytes(10) + b"".join(structures)
    hdr = b"DMAR" + struct.pack("<IBB6s8sI4sI", 36 + len(body), 1, 0, b"CAPOST", b"HOSTILE ",
                                1, b"CAPO", 1)
    t = bytearray(hdr + body)
    t[9] = (-sum(t)) & 0xFF
    return bytes(t)


def drhd(base):
    """A DRHD with no device scope, INCLUDE_PCI_ALL set (VT-d 8.3)."""
    return struct.pack("<HHBBHQ", 0, 16, 1, 0, 0, base)


def table_file(name, data):
    d = os.path.join(BUILD, "logs", "iommu-tables")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


@pytest.mark.parametrize("machine", ["pc", "q35"])
def test_no_iommu_is_absent(boot, machine):
    m = boot(machine=machine, cmdline=CMDLINE)
    finish(m)
    b = backend(m)
    assert "capos: dma-backend=bounce iommu=absent" in m.text
    assert b["iommu"] == "absent" and b["units"] == "0" and b["reason"] == "no-dmar-or-ivrs"
    assert units(m) == []


def test_intel_iommu_is_present_unused(boot):
    m = boot(machine="q35", extra=["-device", "intel-iommu"], cmdline=CMDLINE)
    finish(m)
    assert re.search(r"capos: acpi-ok [^\n]*dmar=yes", m.text), m.log_path
    u = units(m)
    assert len(u) == 1, m.text
    assert u[0]["kind"] == "vt-d" and u[0]["result"] == "usable"
    assert int(u[0]["base"], 16) == 0xFED90000 and u[0]["ver"] == "1.0"
    assert int(u[0]["cap"], 16) != 0 and int(u[0]["ecap"], 16) != 0
    b = backend(m)
    assert "capos: dma-backend=bounce iommu=present-unused" in m.text
    assert b["units"] == "1" and b["usable"] == "1" and b["reason"] == "no-remapping-backend"


def test_amd_iommu_is_present_unused(boot):
    """QEMU's amd-iommu: an IVRS with one IVHD; AMD-Vi has no version register."""
    m = boot(machine="q35", extra=["-device", "amd-iommu"], cmdline=CMDLINE)
    finish(m)
    assert re.search(r"capos: acpi-ok [^\n]*ivrs=yes", m.text), m.log_path
    u = units(m)
    assert len(u) == 1, m.text
    assert u[0]["kind"] == "amd-vi" and u[0]["result"] == "usable"
    assert int(u[0]["base"], 16) == 0xFED80000 and int(u[0]["efr"], 16) != 0
    b = backend(m)
    assert "capos: dma-backend=bounce iommu=present-unused" in m.text
    assert b["units"] == "1" and b["usable"] == "1"


def test_hostile_dmar_units_are_unusable(boot):
    """A well-formed DMAR whose units are not remapping hardware: each is refused."""
    cases = [(0xFED90800, "base-unaligned"), (0x100000, "base-in-ram"),
             (0xFED90000, "reads-(zero|all-ones)"), (0xFED90000, "duplicate-base"),
             (0, "base-zero"), (0xFFFFFFFFFFFFF000, "base-out-of-range")]
    path = table_file("dmar-hostile-units.bin", dmar(*[drhd(b) for b, _ in cases]))
    m = boot(machine="pc", extra=["-acpitable", f"file={path}"], cmdline=CMDLINE)
    finish(m)
    u = units(m)
    assert len(u) == len(cases), m.text
    for got, (base, reason) in zip(u, cases):
        assert int(got["base"], 16) == base and got["result"] == "unusable"
        assert re.fullmatch(reason, got["reason"]), (got, reason)
    b = backend(m)
    assert "capos: dma-backend=bounce iommu=unusable" in m.text
    assert b["units"] == str(len(cases)) and b["usable"] == "0" and b["reason"] == "no-usable-unit"


def test_ill_formed_dmar_is_rejected(boot):
    """A DRHD claiming 65535 bytes: the ACPI walk rejects the table, the probe says so."""
    bad = struct.pack("<HHBBHQ", 0, 0xFFFF, 1, 0, 0, 0xFED90000)
    path = table_file("dmar-ill-formed.bin", dmar(bad))
    m = boot(machine="pc", extra=["-acpitable", f"file={path}"], cmdline=CMDLINE)
    finish(m)
    assert re.search(r"capos: acpi-reject table=DMAR [^\n]*has length 65535", m.text), m.log_path
    b = backend(m)
    assert "capos: dma-backend=bounce iommu=unusable" in m.text
    assert b["units"] == "0" and b["rejected_tables"] == "1" and b["reason"] == "table-rejected"
