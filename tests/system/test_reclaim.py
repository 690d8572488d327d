"""Reclamation and kill (issue 4): a dead process's kernel stack, page
tables, user frames and record are freed, and a process running on another
CPU can be killed (kernel/proc/proc.c, docs/processes.md).

One boot of user/tests/test-reclaim.json (capos.manifest=test-reclaim.mf):
the `reclaimer` role spawns `reclaim-child` (exits 7 at once) 205 times
through ProcessSpawner, waits for it and releases its ProcessHandle. The
kernel prints `capos: proc-freed pid=N free_frames=F heap_bytes=B
heap_objects=O heap_pages=P` when it frees a process record. After 5 warm-up rounds
(the kernel's call and receive caches fill once), the free-frame count and
the kernel heap (bytes, objects, pages) must be the same after every
round: nothing of the
200 measured processes stays behind.

Then it spawns `spin-child` (spins without system calls), checks that it is
still running after 300 ms, kills it through its ProcessHandle and waits:
with -smp 1 the kill ends a process that is not running (via=direct); with
-smp 2 the spinner runs on the other CPU, which is sent VEC_RESCHED and ends
it on entry (via=ipi). Either way the waiter gets `killed` and the record is
freed with the same counts as the plain rounds (its memory and caps went).
"""
import re

import pytest

from capos_qemu import Machine

TIMEOUT = 400
ROUNDS, WARMUP = 205, 5


def _boot(name, smp):
    m = Machine(name, cmdline="capos.manifest=test-reclaim.mf", smp=smp)
    try:
        m.wait_for(r"captest: reclaimer done[^\n]*\n", TIMEOUT)
        m.wait_for(r"init: service reclaimer exited[^\n]*\n", 30)
    finally:
        m.kill()
    return m.text


@pytest.fixture(scope="module")
def log():
    return _boot("test_reclaim", 1)


@pytest.fixture(scope="module")
def log_smp():
    return _boot("test_reclaim-smp2", 2)


def freed(log, name="reclaim-child"):
    """[(pid, free_frames, heap_bytes, heap_objects, heap_pages)] of the processes called name."""
    children = set(int(p) for p in re.findall(rf"capos: spawn pid=(\d+) name={name} ", log))
    out = []
    for m in re.finditer(r"capos: proc-freed pid=(\d+) free_frames=(\d+) heap_bytes=(\d+) "
                         r"heap_objects=(\d+) heap_pages=(\d+)", log):
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


def spinner_pid(log):
    pids = re.findall(r"capos: spawn pid=(\d+) name=spin-child ", log)
    assert len(pids) == 1, pids
    return int(pids[0])


def check_kill(log):
    for name in ("spinner-running", "kill-ok", "killed-status"):
        assert re.search(rf"captest: reclaimer {name} result=pass", log), name
    pid = spinner_pid(log)
    assert re.search(rf"capos: proc-exit pid={pid} name=spin-child kind=killed", log)
    _, rows = freed(log, "spin-child")
    assert [r[0] for r in rows] == [pid]  # record freed: the handle's last holder released it
    return pid, rows[0]


def same_memory(row, base):
    """Kernel objects back to base, and every frame free or held by the heap's pages
    (the kill round's different calls may leave the heap one more slab page, which
    it keeps for reuse)."""
    assert row[2:4] == base[2:4], (row, base)
    assert row[1] + row[4] == base[1] + base[4], (row, base)


def test_kill_not_running(log):
    pid, row = check_kill(log)
    assert f"capos: proc-kill pid={pid} via=direct" in log
    # its frames and kernel objects all went: the same counts as a plain round
    _, rounds = freed(log)
    same_memory(row, rounds[-1])


def test_kill_running_on_other_cpu(log_smp):
    assert "capos: smp-ok cpus=2" in log_smp
    assert "panic" not in log_smp and "EXCEPTION" not in log_smp
    pid, row = check_kill(log_smp)
    _, rounds = freed(log_smp)
    same_memory(row, rounds[-1])
    m = re.search(rf"capos: proc-kill pid={pid} via=ipi cpu=(\d)", log_smp)
    assert m, "the spinner was not running on the other CPU when killed"
    # it ended on the CPU it was running on, at that CPU's next kernel entry
    assert re.search(rf"capos: proc-exit pid={pid} name=spin-child kind=killed code=0 cpu={m.group(1)}",
                     log_smp)


# ---- kernel stacks go back to the page allocator ----
# user/tests/test-burst.json: the `burster` role of user/tests/spawntest.c runs
# rounds of 4, 24, 24 and 4 `burst-child` processes alive at once (spawned,
# then killed, waited for and released). A dead process's kernel stack is
# unmapped and freed, except the last KSTACK_CACHE (4) kept for reuse
# (kernel/mm/vmm.c). After each round, the last child's `proc-freed` line
# must show the same stacks mapped and the same frames as after the 4-child
# warm-up: 24 stacks at once leave nothing behind. (The former pool kept
# every stack mapped for reuse: after a 24-round it held 20 more stacks,
# 80 frames.)
BURST_ROUNDS = (4, 24, 24, 4)
KSTACK_CACHE = 4


@pytest.fixture(scope="module")
def burst_log():
    m = Machine("test_reclaim-burst", cmdline="capos.manifest=test-burst.mf")
    try:
        m.wait_for(r"spawntest: burster done[^\n]*\n", TIMEOUT)
    finally:
        m.kill()
    return m.text


def burst_rounds(log):
    """[(free_frames, heap_pages, kstacks) after each round's last child was freed]."""
    children = set(int(p) for p in re.findall(r"capos: spawn pid=(\d+) name=burst-child ", log))
    rows = []
    for m in re.finditer(r"capos: proc-freed pid=(\d+) free_frames=(\d+) heap_bytes=\d+ "
                         r"heap_objects=\d+ heap_pages=(\d+) kstacks=(\d+)", log):
        if int(m.group(1)) in children:
            rows.append(tuple(int(x) for x in m.group(2, 3, 4)))
    assert len(rows) == sum(BURST_ROUNDS) == len(children)
    ends, k = [], 0
    for n in BURST_ROUNDS:
        k += n
        ends.append(rows[k - 1])
    return ends


def test_burst_rounds_ran(burst_log):
    assert "panic" not in burst_log and "EXCEPTION" not in burst_log
    for r, n in enumerate(BURST_ROUNDS):
        assert f"spawntest: burster round result=pass round={r} children={n} killed={n}" in burst_log
    assert "spawntest: burster done failures=0" in burst_log


def test_kernel_stacks_return(burst_log):
    ends = burst_rounds(burst_log)
    base = ends[0]
    for r, row in enumerate(ends[1:], 1):
        # the same stacks mapped (the cache full since the warm-up) ...
        assert row[2] == base[2], f"round {r}: {row[2]} kernel stacks mapped, {base[2]} after warm-up"
        # ... and every frame back: free, or held by a heap page the records' slabs kept
        assert row[0] + row[1] == base[0] + base[1], (r, row, base)
    # a 24-round took the 4 cached stacks and mapped 20 more; when its first
    # child is freed (its stack back in the emptied cache) the count is at its
    # peak, and it came down from there
    peak = max(int(x) for x in re.findall(r"kstacks=(\d+)", burst_log))
    assert peak >= base[2] + max(BURST_ROUNDS) - KSTACK_CACHE, (peak, base)
