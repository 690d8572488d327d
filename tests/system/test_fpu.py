"""x87/SSE register state across process switches (docs/scheduler.md).

One boot of user/tests/test-fpu.json: two captest processes, fpu-a and
fpu-b, each load their own values into xmm0-15, the x87 stack, FCW and
MXCSR, then spin across many timer ticks on one CPU (so each preempts the
other again and again) while checking with fxsave that nothing changed.
Without a per-process save and restore the second process's loads would
show up in the first one's registers.
"""
import re

import pytest

from capos_qemu import Machine

TIMEOUT = 400
ROLES = ("fpu-a", "fpu-b")


@pytest.fixture(scope="module", params=[1, 2], ids=["smp1", "smp2"])
def fpu_log(request):
    m = Machine(f"test_fpu-smp{request.param}", cmdline="capos.manifest=test-fpu.mf",
                smp=request.param)
    try:
        for who in ROLES + ("regs-a",):
            m.wait_for(rf"capos: proc-exit pid=\d+ name={who} [^\n]*\n", TIMEOUT)
    finally:
        m.kill()
    return m.text


@pytest.mark.parametrize("who", ROLES)
def test_fpu_state_survives(fpu_log, who):
    m = re.search(rf"captest: {who} fpu result=(\w+) ([^\n]*)", fpu_log)
    assert m, f"no fpu result line for {who}"
    assert m.group(1) == "pass", m.group(0)
    assert "bad_rounds=0 " in m.group(2) and "loaded=1" in m.group(2), m.group(0)


def test_fpu_processes_overlapped(fpu_log):
    """Both started before either finished: they ran interleaved, so the
    registers really were switched between them while loaded."""
    starts = [fpu_log.index(f"captest: {w} fpu start") for w in ROLES]
    dones = [fpu_log.index(f"captest: {w} fpu done") for w in ROLES]
    assert max(starts) < min(dones), (starts, dones)


def test_fpu_processes_exit_cleanly(fpu_log):
    for who in ROLES:
        assert re.search(rf"capos: proc-exit pid=\d+ name={who} kind=exit code=0", fpu_log), who


def test_syscall_preserves_registers(fpu_log):
    """regs-a (same boot): cap_enter keeps every general register but rcx and
    r11 (docs/kernel-abi.md), checked register by register in assembly
    around 4000 system calls. The kernel's entry saves only what C may
    clobber, so a slip there shows up here."""
    m = re.search(r"captest: regs-a regs result=(\w+) ([^\n]*)", fpu_log)
    assert m, "no regs result line"
    assert m.group(1) == "pass" and "bad_rounds=0 " in m.group(2), m.group(0)
    assert re.search(r"capos: proc-exit pid=\d+ name=regs-a kind=exit code=0", fpu_log)


def test_blocked_call_preserves_registers(fpu_log):
    """regs-a again: 2000 null CALLs to the echo server of the same boot, each
    run by the probe's own cap_enter(1), which blocks until the reply. The
    caller parks (docs/scheduler.md, "Parking"): its registers come back
    from its syscall frame, not from its kernel stack, so a register the
    entry did not store would show up here."""
    m = re.search(r"captest: regs-a regs-blocked result=(\w+) ([^\n]*)", fpu_log)
    assert m, "no regs-blocked result line"
    assert m.group(1) == "pass", m.group(0)
    assert "calls=2000 " in m.group(2) and "bad_rounds=0 " in m.group(2), m.group(0)
