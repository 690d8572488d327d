"""Cross-CPU TLB shootdown (kernel/smp/tlb.c, docs/kernel.md "TLB shootdown").

`capos.test=tlb` (kernel/smp/tlb_ktest.c): CPU 1 reads a test mapping in a loop
while CPU 0 remaps it (one page: invlpg; 64 pages: CR3 reload), then remaps it
while CPU 1 spins with interrupts off on a lock CPU 0 holds (answered from the
spin loop), then retires the address space while CPU 1 idles with it in CR3
(CPU 1 must move to the kernel tables), then unmaps the page: CPU 1's next
read must fault at that address.
`capos.test=tlb-noipi` is the control: the same remap with the page-table
entries rewritten by hand and no shootdown must leave CPU 1 reading the old
frames, so the check above is one that fails without the IPI.
"""
import re

import pytest

from capos_qemu import EXIT_FAIL, EXIT_PASS, kv

TIMEOUT = 180
TEST_VA = 0x40000000

# xAPIC only: QEMU 7.2 TCG does not offer x2APIC (CPUID.01H:ECX[21]), so the
# x2APIC ICR path (one wrmsr, no delivery-status wait) is not exercised here.
CONFIGS = [("pc", "bios", 2, "qemu64,-x2apic"), ("q35", "uefi", 4, None)]


def line(m, prefix):
    mt = re.search(r"capos: " + prefix + r"[^\n]*", m.text)
    assert mt, f"no '{prefix}' line; log: {m.log_path}"
    return kv(mt.group(0))


@pytest.mark.parametrize("machine,firmware,smp,cpu", CONFIGS,
                         ids=[f"{c[0]}-{c[1]}-smp{c[2]}" for c in CONFIGS])
def test_tlb_shootdown(boot, machine, firmware, smp, cpu):
    m = boot(machine=machine, firmware=firmware, smp=smp, cpu=cpu, cmdline="capos.test=tlb")
    rc = m.wait_exit(TIMEOUT)
    t = m.text
    assert f"capos: test tlb cpus={smp}" in t, m.log_path
    assert "result=fail" not in t, m.log_path
    # 1. remap: fresh values only, through both flush kinds.
    r = line(m, "test tlb remap ")
    assert int(r["good_reads"]) >= 1000 and r["bad_reads"] == "0"
    assert int(r["acks_irq"]) >= 1 and int(r["full_flushes"]) >= 1
    # 2. the CPU spinning with interrupts off answered from spin_lock.
    s = line(m, "test tlb spin ")
    assert int(s["good_reads"]) >= 1000 and s["bad_reads"] == "0" and int(s["acks_spin"]) >= 1
    # 3. retire: CPU 1, idle with the test space in CR3, moved to the kernel tables.
    r3 = line(m, "test tlb retire ")
    assert int(r3["retired"]) >= 1 and r3["cpu1_cr3_after"] == "kernel"
    # 4. unmap: CPU 1 faulted on the page right after the shootdown returned.
    u = line(m, "test tlb unmap ")
    assert int(u["shootdowns"]) >= 4 and int(u["ipis"]) >= int(u["shootdowns"])
    assert int(u["acks_irq"]) + int(u["acks_spin"]) >= int(u["shootdowns"])
    assert re.search(r"page fault at %016x: page not present, read, kernel" % TEST_VA, t), m.log_path
    assert "capos: test expected-exception vector=14 result=pass" in t, m.log_path
    assert "capos: test tlb cpu 1 read " not in t
    assert rc == EXIT_PASS


def test_tlb_control_without_shootdown_reads_stale(boot):
    m = boot(machine="pc", smp=2, cpu="qemu64,-x2apic", cmdline="capos.test=tlb-noipi")
    rc = m.wait_exit(TIMEOUT)
    r = line(m, "test tlb-noipi result=")
    assert r["result"] == "pass", m.log_path
    assert int(r["bad_reads"]) >= 1 and r["shootdowns"] == "0"
    assert rc == EXIT_PASS


def test_tlb_needs_a_second_cpu(boot):
    m = boot(machine="pc", smp=1, cmdline="capos.test=tlb")
    rc = m.wait_exit(TIMEOUT)
    assert "capos: test tlb result=fail reason=needs-smp-2" in m.text, m.log_path
    assert rc == EXIT_FAIL
