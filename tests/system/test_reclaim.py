"""Reclamation (issue 4): a dead process's kernel stack, page tables, user
frames and record are freed (kernel/proc/proc.c, docs/processes.md).

One boot of user/tests/test-reclaim.json (capos.manifest=test-reclaim.mf):
the `reclaimer` role spawns `reclaim-child` (exits 7 at once) 205 times
through ProcessSpawner, waits for it and releases its ProcessHandle. The
kernel prints `capos: proc-freed pid=N free_frames=F heap_bytes=B
heap_objects=O` when it frees a process record. After 5 warm-up rounds
(the kernel's call and receive caches fill once), the free-frame count and
the kernel heap in use must be the same after every round: nothing of the
200 measured processes stays behind.
"""
import re

import pytest

from capos_qemu import Machine

TIMEOUT = 400
ROUNDS, WARMUP = 205, 5


@pytest.fixture(scope="module")
def log():
    m = Machine("test_reclaim", cmdline="capos.manifest=test-reclaim.mf")
    try:
        m.wait_for(r"captest: reclaimer done[^\n]*\n", TIMEOUT)
        m.wait_for(r"init: service reclaimer exited[^\n]*\n", 30)
    finally:
        m.kill()
    return m.text


def freed(log):
    """[(pid, free_frames, heap_bytes, heap_objects)] of the reclaim-child processes."""
    children = set(int(p) for p in re.findall(r"capos: spawn pid=(\d+) name=reclaim-child ", log))
    out = []
    for m in re.finditer(r"capos: proc-freed pid=(\d+) free_frames=(\d+) heap_bytes=(\d+) "
                         r"heap_objects=(\d+)", log):
        v = tuple(int(x) for x in m.groups())
        if v[0] in children:
            out.append(v)
    return children, out


def test_all_rounds_ran(log):
    assert re.search(r"captest: reclaimer rounds result=pass done=205", log)
    assert "init: service reclaimer exited code=0" in log
    assert "panic" not in log and "EXCEPTION" not in log


def test_every_record_freed(log):
    children, rows = freed(log)
    assert len(children) == ROUNDS
    assert sorted(r[0] for r in rows) == sorted(children)


def test_memory_returns_to_baseline(log):
    _, rows = freed(log)
    base = rows[WARMUP - 1]
    # every measured round ends where the warm-up ended: frames, heap bytes, heap objects
    for r in rows[WARMUP:]:
        assert r[1:] == base[1:], f"pid {r[0]}: {r[1:]} != baseline {base[1:]} (pid {base[0]})"
