"""The demand-zero heap (issue 4, docs/processes.md "Memory").

One boot of user/tests/test-mem.json (capos.manifest=test-mem.mf), two
processes of user/tests/memtest.c and three children:
- mem-client sends 200 KiB messages to mem-server from and into heap
  buffers neither side touched: the kernel's copies back the pages (an
  untouched page reads as zeros), the server's reply buffer is backed by
  its own page faults;
- mem-toucher (spawned by the client) reads, writes and verifies every page
  of its heap, USER_HEAP_PAGES, far beyond the 144 pages once mapped at
  spawn;
- mem-faulter writes the first byte past the heap and mem-fetcher jumps
  into its heap: each ends with the fault message, and the client and the
  server go on (a last 200 KiB round trip after both).
The kernel's `proc-space` line shows what a new address space costs in
frames now that the heap is only reserved. The machine has two CPUs, so a
fault may be served while the other CPU is in the kernel (both take the
bkl); which CPU runs what is up to the scheduler.
"""
import re

import pytest

from capos_qemu import Machine

TIMEOUT = 240
USER_HEAP_PAGES = 1024
OLD_EAGER_HEAP_PAGES = 144


@pytest.fixture(scope="module")
def log():
    m = Machine("test_mem", cmdline="capos.manifest=test-mem.mf", smp=2)
    try:
        m.wait_for(r"memtest: mem-client done[^\n]*\n", TIMEOUT)
        m.wait_for(r"init: service mem-client exited[^\n]*\n", 30)
    finally:
        m.kill()
    return m.text


def result(log, what):
    m = re.search(rf"memtest: mem-client {what} result=(pass|fail)([^\n]*)", log)
    assert m, f"no result for {what}"
    return m.group(1), m.group(2)


def test_no_panic_and_client_clean(log):
    assert "panic" not in log and "EXCEPTION" not in log
    assert "memtest: mem-client done failures=0" in log
    assert "init: service mem-client exited code=0" in log


def test_untouched_buffers_both_ways(log):
    assert result(log, "untouched-buffers")[0] == "pass"
    # the server saw 200 KiB of zeros: the client's params pages were never backed
    assert re.search(r"memtest: mem-server recv len=204800 zeros=204800 ", log)


def test_big_message_into_untouched_receive_buffer(log):
    assert result(log, "big-message")[0] == "pass"
    assert re.search(r"memtest: mem-server recv len=204800 zeros=\d+ pattern=204800", log)


def test_whole_heap_touched(log):
    ok, rest = result(log, "heap-touch")
    assert ok == "pass", rest
    pages = int(re.search(r"pages=(-?\d+)", rest).group(1))
    assert pages == USER_HEAP_PAGES - 1 and pages > 4 * OLD_EAGER_HEAP_PAGES


def test_fault_past_heap_ends_only_that_process(log):
    ok, rest = result(log, "past-heap")
    assert ok == "pass", rest
    m = re.search(r"capos: proc-fault pid=(\d+) name=mem-faulter vector=14 addr=(0x[0-9a-f]+) "
                  r"rip=0x[0-9a-f]+ reason=\"page fault \(not present, write\)\"", log)
    assert m and int(m.group(2), 16) == 0x100000000000 + USER_HEAP_PAGES * 4096


def test_fetch_from_heap_faults(log):
    ok, rest = result(log, "heap-fetch")
    assert ok == "pass", rest
    assert re.search(r"capos: proc-fault pid=\d+ name=mem-fetcher vector=14 addr=0x100000008000 "
                     r"rip=0x100000008000 reason=\"page fault \(not present, fetch\)\"", log)


def test_server_and_client_survive_the_faults(log):
    assert result(log, "after-faults")[0] == "pass"
    assert not re.search(r"proc-exit pid=\d+ name=mem-server", log)


def test_spawn_does_not_map_the_heap(log):
    rows = re.findall(r"capos: proc-space pid=\d+ name=(mem-\w+) frames=(\d+)", log)
    assert {n for n, _ in rows} >= {"mem-server", "mem-client", "mem-toucher"}
    # an eager heap alone was 144 frames; now the whole space is a few dozen
    assert all(int(f) < OLD_EAGER_HEAP_PAGES for _, f in rows), rows


# ---- out of memory: user/tests/test-mem-oom.json on a small machine ----

@pytest.fixture(scope="module")
def oom_log():
    m = Machine("test_mem_oom", memory="32M", cmdline="capos.manifest=test-mem-oom.mf")
    try:
        m.wait_for(r"memtest: oom-client done[^\n]*\n", TIMEOUT)
        m.wait_for(r"init: service oom-client exited[^\n]*\n", 30)
    finally:
        m.kill()
    return m.text


def oom_result(log, what):
    m = re.search(rf"memtest: oom-client {what} result=(pass|fail)([^\n]*)", log)
    assert m, f"no result for {what}"
    return m.group(1), m.group(2)


def test_out_of_memory_ends_only_the_faulting_process(oom_log):
    assert "panic" not in oom_log and "EXCEPTION" not in oom_log
    ok, rest = oom_result(oom_log, "oom-fault")
    assert ok == "pass", rest
    faults = re.findall(r"capos: proc-fault pid=\d+ name=(\S+) vector=14 addr=0x[0-9a-f]+ rip=0x[0-9a-f]+ "
                        r"reason=\"([^\"]*)\"", oom_log)
    # only hogs, each ended by out of memory (not the client, not init, no kernel panic)
    assert faults and all(f == ("mem-hog", "page fault (out of memory, write)") for f in faults), faults
    oom = int(re.search(r"oom=(\d+)", rest).group(1))
    assert oom == len(faults)


def test_frames_come_back_after_oom(oom_log):
    ok, rest = oom_result(oom_log, "after-oom")
    assert ok == "pass", rest
    assert "memtest: oom-client done failures=0" in oom_log
