"""When privilege or the recording cannot be vouched for, no call is recorded silently."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from privline.adapters.switch.recordings import any_files, pcap_files
from tests.e2e.conftest import MINUTE_SECONDS, ORDINARY
from tests.e2e.stack import Stack, sip_request

pytestmark = pytest.mark.e2e
PHONE = {"X-Privline-Facility": "f1", "X-Privline-Resident": "r1", "X-Privline-PIN": "1234"}


@contextmanager
def registry_unreachable(stack: Stack) -> Iterator[None]:
    db = sqlite3.connect(stack.home / "privline.db")
    try:
        db.execute("ALTER TABLE registry_entries RENAME TO registry_entries_away")
        db.commit()
        yield
    finally:
        db.execute("ALTER TABLE registry_entries_away RENAME TO registry_entries")
        db.commit()
        db.close()


def test_registry_unreachable_refusing_facility_refuses(stack: Stack) -> None:
    with registry_unreachable(stack):
        code, fields, call_id = sip_request(stack.sip_port, headers=PHONE, dialled=ORDINARY)
    assert (code, fields.get("x-privline-reason")) == (503, "privilege_unknown")
    assert any_files(stack.spool, call_id) == []
    record = stack.wait_records([call_id])[call_id]
    assert record is not None
    assert (record["mode"], record["reason"], record["end_reason"]) == (
        "denied", "privilege_unknown", "refused")


def test_registry_unreachable_lenient_facility_connects_unrecorded_for_review(
    stack: Stack,
) -> None:
    with registry_unreachable(stack):
        calls = stack.sipp_calls([("lenient", "rlen", "1234", "0", ORDINARY)], pause_ms=3000)
    assert calls.proc.returncode == 0, calls.errors
    (call_id,) = calls.call_ids
    record = stack.wait_records([call_id])[call_id]
    assert record is not None
    assert record["mode"] == "private" and record["review"] is True
    assert record["warnings"][0]["prompt"] == "review_notice"
    assert any_files(stack.spool, call_id) == []


def test_recorded_call_is_refused_when_its_recording_file_cannot_appear(stack: Stack) -> None:
    """rtpengine says ok even when it cannot write; the switch looks for the file."""
    pcaps = stack.spool / "pcaps"
    away = stack.spool / "pcaps-away"
    pcaps.rename(away)
    try:
        code, fields, call_id = sip_request(stack.sip_port, headers=PHONE, dialled=ORDINARY)
    finally:
        away.rename(pcaps)
    assert (code, fields.get("x-privline-reason")) == (500, "recording_fault")
    record = stack.wait_records([call_id])[call_id]
    assert record is not None
    assert (record["fault"], record["end_reason"], record["charge_cents"]) == (
        "recording_fault", "refused", 0)
    far_end = next((stack.home / "sipp" / "uas").glob("*_messages.log")).read_text()
    assert call_id not in far_end


def test_recorded_call_whose_file_vanishes_is_ended_as_a_fault(stack: Stack) -> None:
    calls = stack.sipp_calls([("f1", "r1", "1234", "0", ORDINARY)], pause_ms=0,
                             scenario="uac_until_bye.xml", wait=False, timeout=40)
    (call_id,) = calls.call_ids
    # Once the call is answered (its record says so) and its warning is over, the file
    # is taken away.
    stack.wait_until("the answered call's warning", lambda: (
        (c := stack.calls_list().get(call_id)) and c["answered_at"] and c["warnings"]))
    files = pcap_files(stack.spool, call_id)
    assert len(files) == 1
    for f in files:
        f.unlink()
    assert calls.wait(40) == 0, calls.errors  # the switch sent the BYE
    record = stack.wait_records([call_id])[call_id]
    assert record is not None
    assert (record["fault"], record["end_reason"]) == ("recording_file_vanished", "fault")


def test_call_ends_at_max_minutes_after_one_minute_warning_and_reminders(
    stack: Stack,
) -> None:
    """Facility 'short': 2 minutes, reminder every 30 s (a minute is MINUTE_SECONDS here)."""
    calls = stack.sipp_calls([("short", "rshort", "1234", "0", ORDINARY)], pause_ms=0,
                             scenario="uac_until_bye.xml", timeout=60)
    assert calls.proc.returncode == 0, calls.errors
    (call_id,) = calls.call_ids
    # If Kamailio's dialog-end report is lost, the agent's reconciliation closes the call
    # at its limit (>= 30 s later, two rounds): wait for that event too.
    record = stack.wait_records([call_id], timeout=150)[call_id]
    assert record is not None
    assert record["mode"] == "recorded" and record["max_minutes"] == 2
    assert record["end_reason"] == "max_minutes"
    assert 2 * MINUTE_SECONDS - 1 < record["duration_s"] < 2 * MINUTE_SECONDS + 2
    played = [w["prompt"] for w in record["warnings"]]
    assert played[:2] == ["rate", "recording_warning"]
    assert "one_minute_left" in played and "recording_reminder" in played
    assert (record["charge_cents"], record["ledger_cents"]) == (12, 12)
