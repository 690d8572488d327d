"""COM1 diagnostics console (capos.mode=diag): every command typed into the
console by script and its reply checked, paging, line editing, errors, and
the reboot fallback chain."""
import re
import time

import pytest

from capos_qemu import EXIT_PASS

TIMEOUT = 120


PROMPT = "capos> "


def wait_prompt(m, start, timeout=30):
    """Index of the next prompt at or after start. The prompt ends no line, so the
    harness's wait_for (complete lines only) cannot see it; poll the text instead."""
    deadline = time.monotonic() + timeout
    while True:
        i = m.text.find(PROMPT, start)
        if i >= 0:
            return i
        if time.monotonic() > deadline or m.proc.poll() is not None:
            raise AssertionError(f"{m.name}: no prompt after offset {start} within {timeout}s "
                                 f"(qemu exit={m.proc.poll()}); log: {m.log_path}\n"
                                 + m.text[-2000:])
        time.sleep(0.05)


class Console:
    def __init__(self, m):
        self.m = m
        self.pos = wait_prompt(m, 0, TIMEOUT) + len(PROMPT)

    def run(self, line, *expect):
        """Type a line; wait for the next prompt, check every expected regex. Returns the reply."""
        self.m.send(line + "\r")
        end = wait_prompt(self.m, self.pos + len(line))
        reply = self.m.text[self.pos:end]
        for e in expect:
            assert re.search(e, reply), f"{line!r}: no {e!r} in reply:\n{reply}"
        self.pos = end + len(PROMPT)
        return reply


@pytest.fixture
def console(boot):
    # 12 extra functions so that `pci` needs two pages.
    extra = []
    for i in range(12):
        extra += ["-device", f"virtio-rng-pci,addr={0x10 + i:#x}"]
    m = boot(machine="q35", extra=extra, cmdline="capos.mode=diag")
    ready = m.wait_for(r"capos: diag-ready rx=(\w+)", TIMEOUT)
    assert ready.group(1) == "irq"
    return Console(m)


def test_diag_commands(console):
    c = console
    reply = c.run("help", r"reboot .*reset", r"halt")
    for name in ("help", "status", "cpu", "mem", "acpi", "pci", "irq", "timers", "devices",
                 "logs", "reboot", "halt"):
        assert re.search(r"^  " + name + r"\b", reply, re.M), name
    r = c.run("status", r"capos diag: uptime=\d+\.\d{3}s firmware=bios apic=xapic acpi=yes "
                        r"pci_functions=\d+ ticks=\d+")
    # Receive is interrupt driven: the UART's IRQ 4 arrived through the I/O APIC.
    assert int(re.search(r"console_rx_irqs=(\d+)", r).group(1)) > 0
    c.run("cpu", r"cpu: vendor=\S+ family=\d+ model=\d+", r"features apic=yes",
          r"madt processors=1", r"cpu0 apic_id=0 uid=0 enabled")
    c.run("mem", r"mem: source=mmap usable_kib=\d+ free_kib=\d+", r"heap: live_objects=\d+")
    c.run("acpi", r"acpi: rsdp=v1 oem=\"\w+\s*\" root=rsdt tables=\d+ rejected=0",
          r"APIC pa=0x[0-9a-f]+ len=\d+\s+parsed", r"madt: lapic=0xfee00000 cpus=1 ioapics=1",
          r"iso: irq 0 -> gsi 2", r"mcfg: segment 0 buses 0-255 ecam=0x[0-9a-f]+",
          r"fadt: rev=\d+ reset=yes space=1 addr=0xcf9", r"hpet: base=0xfed00000",
          r"dmar: no")
    r = c.run("pci", r"pci: functions=18 buses_scanned=256 bridges=0 access=ecam",
              r"-- more: 16 of 18 shown; type `pci 16` for the next page --")
    assert len(re.findall(r"^\s+\d+ [0-9a-f]{2}:[0-9a-f]{2}\.\d ", r, re.M)) == 16
    r = c.run("pci 16", r"-- end: 18 entries --")
    assert len(re.findall(r"^\s+\d+ [0-9a-f]{2}:[0-9a-f]{2}\.\d ", r, re.M)) == 2
    c.run("pci 999", r"pci: offset 999 past the last entry \(18 entries\)")
    c.run("pci x1", r"pci: bad offset \"x1\"")
    c.run("irq", r"irq: pool=0x30-0xdf free=175 live_routes=1",
          r"route \d+ gen=\d+ ioapic src=0x4 vector=0x30 owner=0 count=[1-9]",
          r"ioapic id=0 addr=0xfec00000 gsi=0-23", r"spurious=\d+")
    c.run("timers", r"timers: source=hpet time_ns=\d+ lapic_hz=\d+ tsc_hz=\d+ "
                    r"hpet_hz=100000000 tick_hz=100 ticks=\d+",
          r"rtc: 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ")
    c.run("devices", r"00:00\.0 host-bridge 8086:29c0", r"bar\d io base=0x[0-9a-f]+ size=0x20",
          r"-- more: 8 of 18 shown; type `devices 8`", r"platform: ioapics=1 hpet=yes")
    r = c.run("logs 5", r"-- last 5 log lines --", r"-- end of log --")
    body = r.split("-- last 5 log lines --\n", 1)[1].split("-- end of log --")[0]
    assert len(body.strip("\n").split("\n")) == 5 and "capos: diag-ready" in body
    r = c.run("logs", r"-- last 20 log lines --")
    c.run("logs 0", r"logs: want a line count 1\.\.200")
    c.run("logs 201", r"logs: want a line count 1\.\.200")
    c.run("frobnicate now", r"error: unknown command \"frobnicate\"; type `help`")
    c.run("x" * 120, r"error: line too long \(more than 79 characters\); ignored")
    # Line editing: backspace (DEL and BS) removes the character before it.
    c.run("statuz\x7fs", r"capos diag: uptime=")
    c.run("cpx\x08u", r"cpu: vendor=")
    c.run("   ")  # an empty line is no command and no error
    c.m.send("halt\r")
    c.m.wait_for(r"capos: diag halt")
    assert c.m.wait_exit(60) == EXIT_PASS


def test_diag_uefi(boot):
    """The console under OVMF: ACPI 2.0 through the XSDT, PCI through ECAM."""
    m = boot(machine="q35", firmware="uefi", cmdline="capos.mode=diag")
    assert m.wait_for(r"capos: diag-ready rx=(\w+)", TIMEOUT).group(1) == "irq"
    c = Console(m)
    c.run("status", r"firmware=uefi apic=xapic acpi=yes")
    c.run("acpi", r"acpi: rsdp=v2 oem=\"[^\"]*\" root=xsdt tables=\d+ rejected=0",
          r"MCFG pa=0x[0-9a-f]+ len=60\s+parsed")
    c.run("pci", r"access=ecam", r"-- end: \d+ entries --")
    m.send("halt\r")
    assert m.wait_exit(60) == EXIT_PASS


@pytest.mark.parametrize("machine,path", [
    ("q35", r"reboot: trying the ACPI reset register"),
    ("pc", r"reboot: no ACPI reset register; trying the 8042"),
])
def test_diag_reboot(boot, machine, path):
    """QEMU runs with -no-reboot, so a real reset ends QEMU with status 0."""
    m = boot(machine=machine, cmdline="capos.mode=diag")
    Console(m)
    m.send("reboot\r")
    m.wait_for(path)
    assert m.wait_exit(60) == 0
    assert "triple fault" not in m.text
    if machine == "q35":
        assert "did not reset" not in m.text
