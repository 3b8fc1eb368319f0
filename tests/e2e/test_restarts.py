"""Calls in progress survive the death of the call agent and a restart of the whole
switch: every record closes (at its hangup, or as interrupted), none is billed twice,
and no privileged call is recorded."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from privline.adapters.switch.recordings import any_files, pcap_files
from tests.e2e.conftest import ATTORNEY, ORDINARY, PINS
from tests.e2e.stack import Calls, Stack

pytestmark = pytest.mark.e2e


def place(stack: Stack, count: int, pause_ms: int) -> tuple[Calls, dict[str, str]]:
    """``count`` calls all in progress at once, alternately ordinary and attorney."""
    numbers = [ORDINARY, ATTORNEY]
    rows = [("f1", "rsoak", PINS["rsoak"], "0", numbers[n % 2]) for n in range(count)]
    calls = stack.sipp_calls(rows, pause_ms=pause_ms, rate=10, wait=False,
                             timeout=600, sample_repeats=1)
    modes = {c: ("recorded" if n % 2 == 0 else "private") for n, c in enumerate(calls.call_ids)}
    return calls, modes


def unsettled(stack: Stack, calls: Calls) -> dict[str, Any]:
    """The calls not yet in progress past their warning nor over, nor refused for
    overload (a busy machine may fail one at set-up: it is never answered, and must not
    stall the test)."""
    listed, shed = stack.calls_list(), calls.shed()
    return {call_id: c for call_id in calls.call_ids
            if call_id not in shed
            and ((c := listed.get(call_id)) is None
                 or not ((c["answered_at"] and c["warnings"]) or c["ended_at"]))}


def placed(stack: Stack, calls: Calls, modes: dict[str, str], shed_before: int
           ) -> dict[str, str]:
    """The calls the switch took: all but those it refused for overload, which it
    counted (the count `switch status` shows grew by at least the calls sipp saw refused)."""
    shed = calls.shed()
    # Every call sipp saw refused was counted (an INVITE retransmitted before its 503
    # arrived is refused, and counted, again).
    assert stack.shed_count() - shed_before >= len(shed), shed
    assert len(shed) < len(modes) / 2, f"most calls were refused for overload: {shed}"
    return {c: mode for c, mode in modes.items() if c not in shed}


def daemon_pid(stack: Stack, name: str) -> int:
    state = json.loads((stack.home / "switch" / "run" / "state.json").read_text())
    return int(next(p["pid"] for p in state if p["name"] == name))


def gone(pid: int) -> bool:
    """The process has died (SIGKILL is delivered asynchronously: on a busy machine the
    process can still be listed for a while), as `switch up` will see it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return True
    return state == "Z"


def check_closed_once(stack: Stack, modes: dict[str, str],
                      records: dict[str, dict[str, Any] | None]) -> None:
    for call_id, record in records.items():
        assert record is not None, call_id
        assert record["ended_at"] is not None, (call_id, "never closed")
        assert record["end_reason"] in ("hangup", "interrupted", "unanswered"), record
        assert record["mode"] == modes[call_id]
        assert record["charge_cents"] == record["ledger_cents"], record  # billed once
        if modes[call_id] == "recorded" and record["answered_at"]:
            assert record["ledger_cents"] > 0, record
            assert len(pcap_files(stack.spool, call_id)) == 1
        else:
            assert record["ledger_cents"] == 0
            assert any_files(stack.spool, call_id) == [], "a privileged call left a file"
    db = sqlite3.connect(stack.home / "privline.db")
    try:
        charges = db.execute(
            "SELECT subject FROM audit_events WHERE action = 'account.charge'").fetchall()
    finally:
        db.close()
    charged = [subject.removeprefix("call:") for (subject,) in charges]
    assert all(charged.count(c) <= 1 for c in modes), "a call was billed twice"


def test_agent_killed_during_50_calls_and_restarted_every_record_closes_once(
    stack: Stack,
) -> None:
    shed_before = stack.shed_count()
    # Each call lasts 40 s past its answer: time for 50 set-ups at 10/s on a busy machine
    # (all 50 answered before the kill), then the kill lands with the calls in progress.
    calls, modes = place(stack, 50, pause_ms=40000)
    try:
        stack.wait_until("50 calls answered and warned",
                         lambda: not unsettled(stack, calls), timeout=180,
                         explain=lambda: unsettled(stack, calls))
        listed = stack.calls_list()
        in_progress = sum(c in listed and listed[c]["ended_at"] is None
                          for c in calls.call_ids)
        agent = daemon_pid(stack, "agent")
        os.kill(agent, signal.SIGKILL)
        stack.wait_until("the agent to die", lambda: gone(agent))
        up = stack.switch("up")  # starts only what died
        assert "agent" in up.stdout and "kamailio" not in up.stdout, up.stdout
    finally:
        calls.wait(180)  # the records are what must hold; sipp's verdict is in its log
    modes = placed(stack, calls, modes, shed_before)
    assert in_progress >= len(modes) / 2, in_progress  # killed with the calls in progress
    check_closed_once(stack, modes, stack.wait_records(list(modes), timeout=120))
    status = json.loads(stack.switch("status", "--json").stdout)
    assert status["healthy"] is True, status


def test_switch_restarted_with_calls_in_progress_every_record_closes_once(
    stack: Stack,
) -> None:
    shed_before = stack.shed_count()
    calls, modes = place(stack, 20, pause_ms=20000)
    try:
        stack.wait_until("20 calls answered and warned",
                         lambda: not unsettled(stack, calls), timeout=180,
                         explain=lambda: unsettled(stack, calls))
        stack.switch("down")
        stack.switch("up")
    finally:
        # The phones' BYEs reach the restarted Kamailio (loose routing needs no state).
        # The far end may have given up on a call while the switch was down (sipp then
        # reports an error for it): what must hold is the records, checked below.
        calls.wait(180)
    modes = placed(stack, calls, modes, shed_before)
    check_closed_once(stack, modes, stack.wait_records(list(modes), timeout=120))
