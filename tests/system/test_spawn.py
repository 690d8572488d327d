"""ProcessBuilder (issue 4): a service gets more caps than one message
carries (docs/processes.md "Spawning", docs/init.md).

One boot of user/tests/test-spawn.json (capos.manifest=test-spawn.mf):
init starts six `name-server-N` services (each serves Echo on `svc` and
answers with its own name) and `wide`, granted console, clock, entropy,
spawner and the six servers' exports: ten caps, which init hands over in
three ProcessBuilder.grant calls (at most RING_MAX_XFER = 4 each). `wide`
uses every cap (each import must reach the server of that name), then
checks the builder's refusals through its spawner: unknown binary,
duplicate names (against an earlier call and inside one call, installing
nothing), more than BOOTSTRAP_MAX_CAPS (32), grant and start after start,
a released (stale) builder, and a builder released before start (the
process never runs and its record is freed).
"""
import re

import pytest

from capos_qemu import Machine

TIMEOUT = 240
BOOTSTRAP_MAX_CAPS = 32


@pytest.fixture(scope="module")
def log():
    m = Machine("test_spawn", cmdline="capos.manifest=test-spawn.mf")
    try:
        m.wait_for(r"spawntest: wide done[^\n]*\n", TIMEOUT)
        m.wait_for(r"init: service wide exited[^\n]*\n", 30)
        # the abandoned process's record is freed once its handle and stack went
        m.wait_for(r"capos: spawn-abandoned pid=\d+[^\n]*\n", 10)
    finally:
        m.kill()
    return m.text


def result(log, what):
    m = re.search(rf"spawntest: wide {what} result=(pass|fail)([^\n]*)", log)
    assert m, f"no result for {what}"
    return m.group(1), m.group(2)


def test_wide_started_with_ten_caps(log):
    assert "panic" not in log and "EXCEPTION" not in log
    m = re.search(r"capos: spawn pid=(\d+) name=wide binary=spawntest grants=(\d+)", log)
    assert m and int(m.group(2)) == 10, m and m.group(0)
    assert re.search(r"capos: spawn-create pid=%s name=wide " % m.group(1), log)
    assert result(log, "caps") == ("pass", " ncaps=10")
    assert "init: service wide exited code=0" in log
    assert "spawntest: wide done failures=0" in log


@pytest.mark.parametrize("what", ["console", "clock", "entropy"])
def test_kernel_grants_work(log, what):
    assert result(log, what)[0] == "pass"


def test_every_import_reaches_its_server(log):
    rows = re.findall(r"spawntest: wide import result=(pass|fail) grant=srv(\d) server=name-server-(\d)",
                      log)
    assert len(rows) == 6
    assert all(r[0] == "pass" and r[1] == r[2] for r in rows), rows


def test_refusals(log):
    for what in ("unknown-binary", "create", "grant-first", "duplicate-earlier", "duplicate-same-call",
                 "too-many", "start", "grant-after-start", "start-twice", "stale-builder"):
        assert result(log, what)[0] == "pass", what


def test_fill_to_bootstrap_limit(log):
    ok, rest = result(log, "fill")
    assert ok == "pass"
    assert f"caps={BOOTSTRAP_MAX_CAPS}" in rest
    # 31 more caps after the first, four per message: eight grant calls
    assert "grant_calls=8" in rest
    m = re.search(r"capos: spawn pid=(\d+) name=spawn-victim binary=spawntest grants=(\d+)", log)
    assert m and int(m.group(2)) == BOOTSTRAP_MAX_CAPS
    assert re.search(r"spawntest: spawn-victim bootstrap result=pass ncaps=32", log)
    assert result(log, "victim-ran")[0] == "pass"
    assert re.search(rf"capos: proc-exit pid={m.group(1)} name=spawn-victim kind=exit code=32", log)


def test_abandoned_builder_never_runs(log):
    assert result(log, "abandon-setup")[0] == "pass"
    m = re.search(r"capos: spawn-create pid=(\d+) name=spawn-abandoned ", log)
    assert m
    pid = m.group(1)
    assert f"capos: spawn-abandoned pid={pid} name=spawn-abandoned" in log
    assert not re.search(rf"capos: spawn pid={pid} ", log)  # never started
    assert "spawn-abandoned ran" not in log
    assert re.search(rf"capos: proc-exit pid={pid} name=spawn-abandoned kind=killed", log)
    assert re.search(rf"capos: proc-freed pid={pid} ", log)
