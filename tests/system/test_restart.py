"""Restart policies (issue 4): init acts on a service's `restart` and
`maxRestarts` (user/init/main.c, docs/init.md), under QEMU.

One boot of user/tests/test-restart.json (capos.manifest=test-restart.mf):
- rs-server (onFailure, 2) faults while rs-client's "crash" call is in
  service; rs-client's second call, queued meanwhile, and its next call are
  served by the restarted instance through the same client cap;
- rs-crasher (onFailure, 3) faults at once every time: restarted 3 times,
  then init gives up and its client's call ends `disconnected`;
- rs-always (always, 2) exits 0 and is restarted anyway, twice;
- rs-never (never) faults and is not restarted.
"""
import re

import pytest

from capos_qemu import Machine

TIMEOUT = 300
ENDS = [r"captest: rs-client done", r"init: rs-crasher gave up after", r"init: rs-always gave up after",
        r"init: service rs-never faulted", r"captest: rs-crasher-client disconnected"]


@pytest.fixture(scope="module")
def log():
    m = Machine("test_restart", cmdline="capos.manifest=test-restart.mf")
    try:
        for pattern in ENDS:  # rs-server serves forever: the run ends with these
            m.wait_for(pattern + r"[^\n]*\n", TIMEOUT)
    finally:
        m.kill()
    return m.text


def spawn_pids(log, name):
    return [int(p) for p in re.findall(rf"capos: spawn pid=(\d+) name={re.escape(name)} ", log)]


def check(log, who, name):
    m = re.search(rf"captest: {re.escape(who)} {re.escape(name)} result=(\w+)([^\n]*)", log)
    assert m, f"no {who} {name} line"
    return m.group(1), m.group(2)


def test_no_kernel_trouble(log):
    assert "init: manifest-ok services=6" in log
    assert "init: started 6 of 6 services" in log
    assert "panic" not in log and "EXCEPTION" not in log


def test_crash_in_service_gets_disconnected(log):
    assert "captest: rs-server crashing with a call in service" in log
    assert check(log, "rs-client", "crash-disconnected")[0] == "pass"


def test_restarted_server_serves_same_cap(log):
    assert "init: restart rs-server 1/2" in log
    pids = spawn_pids(log, "rs-server")
    assert len(pids) == 2, pids  # started once, restarted once; no further crash
    res, rest = check(log, "rs-client", "queued-served")
    assert res == "pass", rest
    # the call queued while the first instance died is served by the second
    assert f"served-by={pids[1]}" in rest
    res, rest = check(log, "rs-client", "after-restart")
    assert res == "pass" and f"served-by={pids[1]}" in rest, rest
    assert "init: rs-server gave up" not in log


def test_always_failing_service_stops_after_max_restarts(log):
    for n in (1, 2, 3):
        assert f"init: restart rs-crasher {n}/3" in log
    assert "init: restart rs-crasher 4/3" not in log
    assert "init: rs-crasher gave up after 3 restarts" in log
    assert len(spawn_pids(log, "rs-crasher")) == 4
    assert log.count("init: service rs-crasher faulted") == 4


def test_give_up_disconnects_callers(log):
    # its queued call survived the restarts, then the endpoint died with init's facet
    assert check(log, "rs-crasher-client", "disconnected")[0] == "pass"
    assert log.index("init: rs-crasher gave up") < log.index("captest: rs-crasher-client disconnected")


def test_always_restarts_after_clean_exit(log):
    assert log.count("init: service rs-always exited code=0") == 3
    assert "init: restart rs-always 2/2" in log
    assert "init: rs-always gave up after 2 restarts" in log


def test_never_is_not_restarted(log):
    assert "init: service rs-never faulted" in log
    assert "init: restart rs-never" not in log
    assert len(spawn_pids(log, "rs-never")) == 1


# Restart backoff (docs/init.md): the n-th restart waits at least
# RESTART_DELAY_MIN_MS << (n - 1), capped at RESTART_DELAY_MAX_MS, after the
# instance ended. The kernel stamps its lines with its own monotonic time
# (the clock init waits on): `proc-exit ... ms=T` when an instance ends,
# `spawn-create ... ms=T` when the next one is created. Only lower bounds:
# the host is loaded, so a delay may run long, never short.
RESTART_DELAY_MIN_MS, RESTART_DELAY_MAX_MS = 20, 2000


def documented_delay(n):
    return min(RESTART_DELAY_MIN_MS << (n - 1), RESTART_DELAY_MAX_MS)


def instance_times(log, name):
    """[(exit ms, next create ms)] for each restart of name, in order."""
    events = []
    for m in re.finditer(rf"capos: (proc-exit|spawn-create) pid=\d+ name={re.escape(name)} [^\n]*ms=(\d+)",
                         log):
        events.append((m.group(1), int(m.group(2))))
    pairs = []
    for a, b in zip(events, events[1:]):
        if a[0] == "proc-exit" and b[0] == "spawn-create":
            pairs.append((a[1], b[1]))
    return pairs


@pytest.mark.parametrize("name,restarts", [("rs-crasher", 3), ("rs-always", 2), ("rs-server", 1)])
def test_restart_waits_the_backoff(log, name, restarts):
    pairs = instance_times(log, name)
    assert len(pairs) == restarts, pairs
    for n, (ended, created) in enumerate(pairs, 1):
        assert f"init: restart {name} {n}/" in log
        assert re.search(rf"init: restart {re.escape(name)} {n}/\d+ delay_ms={documented_delay(n)}\b", log)
        # guest time from the end of the instance to the creation of the next
        assert created - ended >= documented_delay(n), (name, n, ended, created)


def test_backoff_grows():
    assert [documented_delay(n) for n in (1, 2, 3, 7, 8, 100)] == [20, 40, 80, 1280, 2000, 2000]
