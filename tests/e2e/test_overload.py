"""Overload control on the real switch: with every decision slot busy, an INVITE waits
briefly for one (or, with no place left to wait, not at all), then is answered with 503
and Retry-After; no decision is made and nothing is recorded for it; the refusal is
counted in `switch status` and, once the switch is idle, in the audit log."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator

import pytest

from privline.adapters.switch.recordings import any_files
from tests.e2e.conftest import BLOCKED
from tests.e2e.stack import Stack, sip_request

pytestmark = pytest.mark.e2e

PHONE = {"X-Privline-Facility": "f1", "X-Privline-Resident": "r1", "X-Privline-PIN": "1234"}


@contextlib.contextmanager
def every_slot_busy(stack: Stack, *, room_full: bool = False) -> Iterator[None]:
    """Hold each slot's lock from outside, as Kamailio workers deep in decisions would
    (64 covers any PRIVLINE_DECISION_SLOTS); with ``room_full``, every place in the
    waiting room too."""
    folder = stack.home / "switch" / "run" / "slots"
    names = ["decision-slot", *(["waiting"] if room_full else [])]
    fds = [os.open(folder / f"{name}-{i}", os.O_RDWR | os.O_CREAT, 0o600)
           for name in names for i in range(64)]
    try:
        for fd in fds:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        for fd in fds:
            os.close(fd)


def shed(stack: Stack) -> int:
    status = json.loads(stack.switch("status", "--json", check=False).stdout)
    return int(status["shed_for_overload"])


@pytest.mark.parametrize("room_full", [False, True])
def test_every_slot_busy_gets_503_retry_after_and_no_decision(stack: Stack,
                                                              room_full: bool) -> None:
    """Without a place to wait, the 503 is sent before anything else (statelessly);
    with one, after the wait runs out (on the INVITE's transaction)."""
    before = shed(stack)
    with every_slot_busy(stack, room_full=room_full):
        code, fields, call_id = sip_request(stack.sip_port, headers=PHONE, dialled=BLOCKED)
    assert (code, fields.get("retry-after"), fields.get("x-privline-reason")) == (
        503, "2", "overloaded")
    assert shed(stack) == before + 1
    # No decision was made for it (a blocked number is refused by the decision, with a
    # record), and once a slot is free the same INVITE is decided.
    code, fields, later = sip_request(stack.sip_port, headers=PHONE, dialled=BLOCKED)
    assert (code, fields.get("x-privline-reason")) == (403, "number_blocked")
    records = stack.wait_records([later])
    assert records[later] is not None
    assert call_id not in stack.calls_list()
    assert any_files(stack.spool, call_id) == []
    # The agent, idle again, audits the refusals counted since its last count: the log's
    # running total reaches the switch's.
    stack.wait_until("the refusal counted in the audit log",
                     lambda: audited_total(stack) >= shed(stack),
                     explain=lambda: f"audited {audited_total(stack)}, shed {shed(stack)}")


def audited_total(stack: Stack) -> int:
    db = sqlite3.connect(stack.home / "privline.db")
    try:
        row = db.execute("SELECT details FROM audit_events WHERE action = "
                         "'call.overload_refused' ORDER BY seq DESC LIMIT 1").fetchone()
    finally:
        db.close()
    return 0 if row is None else int(json.loads(row[0])["total"])
