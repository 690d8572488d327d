"""Boot foundation system tests (issue 2): the four boot paths, the kernel
self-tests, exception dumps, and bad loader input."""
import os
import re

import pytest

from capos_qemu import BUILD, EXIT_FAIL, EXIT_PASS, image, kv

BOOT_TIMEOUT = 120

# The four boot paths of the hybrid image: both firmwares, both media, both machines.
PATHS = [
    ("bios-disk-pc", dict(firmware="bios", media="disk", machine="pc")),
    ("bios-cdrom-q35", dict(firmware="bios", media="cdrom", machine="q35")),
    ("uefi-disk-q35", dict(firmware="uefi", media="disk", machine="q35")),
    ("uefi-cdrom-pc", dict(firmware="uefi", media="cdrom", machine="pc")),
]

MILESTONES = ["mb2-ok", "mm-ok", "paging-ok", "cpu-ok", "heap-ok", "boot-ok"]


@pytest.mark.parametrize("path,opts", PATHS, ids=[p[0] for p in PATHS])
def test_boot_path(boot, path, opts):
    m = boot(**opts)
    line = m.wait_for(r"capos: boot-ok [^\n]*\n", BOOT_TIMEOUT).group(0)
    f = kv(line)
    assert f["firmware"] == opts["firmware"]
    assert int(f["mem_usable_kib"]) > 400 * 1024
    assert int(f["modules"]) >= 1  # kernel.sym travels as a separate module
    # Milestones appear once each, in order.
    seen = [l.split()[1] for l in m.markers() if l.split()[1] in MILESTONES]
    assert seen == MILESTONES
    mb2 = kv(m.wait_for(r"capos: mb2-ok [^\n]*\n").group(0))
    assert mb2["rsdp"] in ("v1", "v2")
    if opts["firmware"] == "uefi":
        assert int(mb2["efi_mmap_entries"]) > 0
    assert "EXCEPTION" not in m.text and "panic" not in m.text


def run_test(boot, name, cmdline, timeout=BOOT_TIMEOUT, **kw):
    m = boot(cmdline=cmdline, **kw)
    rc = m.wait_exit(timeout)
    return m, rc


@pytest.mark.parametrize("name", ["pmm", "heap", "paging", "log"])
def test_kernel_selftest(boot, name):
    m, rc = run_test(boot, name, f"capos.test={name}")
    assert f"capos: test {name} result=pass" in m.text, m.log_path
    assert rc == EXIT_PASS


def test_pmm_selftest_uefi(boot):
    """The allocator under OVMF, whose map has many more entries, checked frame by frame."""
    m, rc = run_test(boot, "pmm", "capos.test=pmm", firmware="uefi", machine="q35")
    assert "capos: test pmm result=pass" in m.text
    assert rc == EXIT_PASS


@pytest.mark.parametrize("name,vector,detail", [
    ("fault-ud", 6, r"#UD invalid opcode"),
    ("fault-wp-text", 14, r"protection violation, write, kernel"),
    ("fault-nx-data", 14, r"instruction fetch"),
    ("fault-stack-guard", 8, r"kernel stack overflow: guard page hit"),
])
def test_exception_dump(boot, name, vector, detail):
    m, rc = run_test(boot, name, f"capos.test={name}")
    t = m.text
    assert f"capos: EXCEPTION" in t and f"(vector {vector})" in t
    assert re.search(detail, t), t[-2000:]
    for reg in ("rip=", "cr2=", "rax=", "r15="):
        assert reg in t
    # The backtrace names functions from the kernel.sym module.
    assert "backtrace:" in t
    assert re.search(r"#1 [0-9a-f]{16} [\w.]+\+0x[0-9a-f]+", t), "backtrace not symbolised"
    assert f"capos: test expected-exception vector={vector} result=pass" in t
    assert rc == EXIT_PASS


def test_panic_stops_cleanly(boot):
    m, rc = run_test(boot, "panic", "capos.test=panic")
    assert "capos: panic: requested by capos.test=panic" in m.text
    assert "capos: halted" in m.text
    assert rc == EXIT_FAIL


def test_unknown_selftest_fails(boot):
    m, rc = run_test(boot, "x", "capos.test=no-such-test")
    assert "result=fail reason=unknown-test" in m.text
    assert rc == EXIT_FAIL


# --- bad input -----------------------------------------------------------------

def test_loader_without_multiboot2(boot):
    """QEMU's own -kernel loader speaks multiboot1 only: the kernel must say so and stop."""
    m = boot(kernel=os.path.join(BUILD, "kernel", "capos.elf"))
    rc = m.wait_exit(60)
    assert "capos: fatal: not started by a multiboot2 loader" in m.text
    assert "eax=0x2badb002" in m.text
    assert rc == EXIT_FAIL


def test_missing_mmap_falls_back_to_meminfo(boot):
    m, rc = run_test(boot, "x", "capos.mbi_fault=no-mmap capos.test=pmm")
    assert "TEST INSTRUMENT" in m.text
    assert "loader gave no memory map; using basic meminfo" in m.text
    assert kv(m.wait_for(r"capos: mm-ok [^\n]*\n").group(0))["source"] == "meminfo"
    assert "capos: test pmm result=pass" in m.text
    assert rc == EXIT_PASS


def test_no_memory_information_at_all(boot):
    m, rc = run_test(boot, "x", "capos.mbi_fault=no-memory-info")
    assert "capos: panic: the boot loader passed no memory map" in m.text
    assert rc == EXIT_FAIL


def test_overlapping_mmap(boot):
    m, rc = run_test(boot, "x", "capos.mbi_fault=overlap-mmap capos.test=pmm")
    mm = kv(m.wait_for(r"capos: mm-ok [^\n]*\n").group(0))
    assert int(mm["overlaps"]) >= 1
    # The self-test checks every frame against the injected reserved range too.
    assert "capos: test pmm result=pass" in m.text
    assert rc == EXIT_PASS


def test_absurd_mmap(boot):
    m, rc = run_test(boot, "x", "capos.mbi_fault=absurd-mmap capos.test=pmm")
    mm = kv(m.wait_for(r"capos: mm-ok [^\n]*\n").group(0))
    assert int(mm["absurd"]) == 3
    assert "capos: test pmm result=pass" in m.text
    assert rc == EXIT_PASS


def test_module_overlapping_kernel(boot):
    m = boot(cmdline="capos.mbi_fault=module-overlap")
    m.wait_for(r"capos: boot-ok [^\n]*\n", BOOT_TIMEOUT)
    assert "overlaps the kernel image; module rejected" in m.text
    assert kv(m.wait_for(r"capos: mm-ok [^\n]*\n").group(0))["modules_rejected"] == "1"


def test_small_memory_64m(boot):
    m, rc = run_test(boot, "x", "capos.test=pmm", memory="64M")
    assert "capos: test pmm result=pass" in m.text
    assert rc == EXIT_PASS


def test_large_memory_8g(boot):
    """8 GiB (RAM above 4 GiB) with two CPUs: the AP trampoline's page tables must stay below 4 GiB."""
    m = boot(memory="8G", machine="q35", smp=2)
    line = m.wait_for(r"capos: boot-ok [^\n]*\n", BOOT_TIMEOUT).group(0)
    assert int(kv(line)["mem_usable_kib"]) > 7 * 1024 * 1024
    m.wait_for(r"capos: smp-ok cpus=2\n", BOOT_TIMEOUT)
