"""Endpoint badges (docs/kernel-abi.md, "Badges"), under QEMU.

One boot of user/tests/test-badge.json (capos.manifest=test-badge.mf):
badge-server serves `svc` and answers each call with the badge its receive
completion carried; it mints CALL caps with badges 5 and 0x123456 into a
RETURN's results for badge-client and one with badge 77 into a CALL's
params for badge-peer. The client checks the badge per cap (unbadged: 0),
on calls that queue (three submitted in one cap_enter while the server has
at most one receive posted), the refused mints (E_PERM for a call cap, a
badged cap and the console; E_INVAL for badge 0 and for badge bits on COPY
and MOVE; a refused message delivers nothing and rolls a MOVE back), and
that a COPY or MOVE to a third party (badge-peer) keeps the badge.
"""
import re

import pytest

from capos_qemu import Machine

TIMEOUT = 240


@pytest.fixture(scope="module")
def log():
    m = Machine("test_badge", cmdline="capos.manifest=test-badge.mf")
    try:
        m.wait_for(r"badgetest: badge-client done[^\n]*\n", TIMEOUT)
        m.wait_for(r"init: service badge-client exited[^\n]*\n", 30)
    finally:
        m.kill()
    return m.text


def result(log, who, what):
    m = re.search(rf"badgetest: {who} {what} result=(pass|fail)([^\n]*)", log)
    assert m, f"no result for {who} {what}"
    return m.group(1), m.group(2)


def test_clean_run(log):
    assert "panic" not in log and "EXCEPTION" not in log
    assert "badgetest: badge-server serving failures=0" in log
    assert "badgetest: badge-client done failures=0" in log
    assert re.search(r"init: service badge-client exited code=0", log)


SERVER_CHECKS = ["mint-badge-zero", "copy-with-badge-bits", "move-with-badge-bits", "unknown-mode",
                 "mint-kernel-cap", "mint-in-call"]


@pytest.mark.parametrize("check", SERVER_CHECKS)
def test_server(log, check):
    r = result(log, "badge-server", check)
    assert r[0] == "pass", r


CLIENT_CHECKS = ["unbadged", "mint-in-return", "badge-a", "badge-b", "unbadged-after", "queued",
                 "queued-reordered", "mint-call-cap", "mint-badged-cap", "mint-console",
                 "mint-badge-zero", "mint-refused-after-move", "move-rolled-back",
                 "refused-nothing-delivered", "minted-in-call", "copy-keeps-badge",
                 "copy-sender-keeps", "move-keeps-badge", "moved-away-stale"]


@pytest.mark.parametrize("check", CLIENT_CHECKS)
def test_client(log, check):
    r = result(log, "badge-client", check)
    assert r[0] == "pass", r


def test_badge_values_logged(log):
    """The values themselves, not only the verdicts: 5, 0x123456, 0 and 77 as the server saw them."""
    assert result(log, "badge-client", "badge-a")[1].startswith(" badge=0x5 ")
    assert result(log, "badge-client", "badge-b")[1].startswith(" badge=0x123456 ")
    assert result(log, "badge-client", "unbadged")[1].startswith(" badge=0x0 ")
    assert result(log, "badge-client", "queued")[1].strip() == "badges=0x5,0x123456,0x0"
    assert result(log, "badge-client", "minted-in-call")[1].strip() == "badge=0x4d"
