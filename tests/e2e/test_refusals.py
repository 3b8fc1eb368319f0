"""Calls the switch must refuse: each gets a SIP error with X-Privline-Reason, never
reaches the far end, and leaves no recording."""

from __future__ import annotations

import pytest

from privline.adapters.switch.recordings import any_files
from tests.e2e.conftest import BLOCKED, ORDINARY, PINS
from tests.e2e.stack import Stack, sip_request

pytestmark = pytest.mark.e2e


def headers(facility: str, resident: str, pin: str | None = "1234") -> dict[str, str]:
    h = {"X-Privline-Facility": facility, "X-Privline-Resident": resident}
    if pin is not None:
        h["X-Privline-PIN"] = pin
    return h


@pytest.mark.parametrize(
    ("facility", "resident", "pin", "dialled", "sdp", "status", "reason"),
    [
        ("f1", "r1", "9999", ORDINARY, True, 403, "pin_invalid"),
        ("f1", "r1", None, ORDINARY, True, 403, "pin_required"),
        ("f1", "r1", "1234", BLOCKED, True, 403, "number_blocked"),
        ("f1", "rbroke", PINS["rbroke"], ORDINARY, True, 402, "insufficient_balance"),
        ("remote", "rremote", "1234", ORDINARY, True, 403, "untrusted_source"),
        ("nowhere", "r1", "1234", ORDINARY, True, 403, "untrusted_source"),
        ("f1", "nobody", "1234", ORDINARY, True, 403, "untrusted_source"),
        ("f1", "r1", "1234", ORDINARY, False, 488, "late_offer_refused"),
    ],
    ids=["wrong-pin", "no-pin", "blocked-number", "empty-balance", "untrusted-address",
         "unknown-facility", "unknown-resident", "late-offer"],
)
def test_refused_calls_get_reason_and_leave_nothing(
    stack: Stack, facility: str, resident: str, pin: str | None, dialled: str, sdp: bool,
    status: int, reason: str,
) -> None:
    code, fields, call_id = sip_request(stack.sip_port, headers=headers(facility, resident, pin),
                                        dialled=dialled, sdp=sdp)
    assert (code, fields.get("x-privline-reason")) == (status, reason)
    record = stack.wait_records([call_id])[call_id]  # `calls list` shows every refusal
    assert record is not None
    assert (record["state"], record["reason"], record["end_reason"]) == (
        "refused", reason, "refused")
    assert record.get("sip_code", status) == status  # known before any decision
    assert (record["charge_cents"], record["ledger_cents"]) == (0, 0)
    assert record["recording"] is False and any_files(stack.spool, call_id) == []
    far_end = next((stack.home / "sipp" / "uas").glob("*_messages.log")).read_text()
    assert call_id not in far_end


def test_fifth_wrong_pin_locks_the_resident_even_against_the_right_pin(stack: Stack) -> None:
    reasons = [sip_request(stack.sip_port, headers=headers("f1", "rlock", "0000"),
                           dialled=ORDINARY)[1].get("x-privline-reason") for _ in range(5)]
    assert reasons[:4] == ["pin_invalid"] * 4
    assert reasons[4] in ("pin_invalid", "resident_locked")  # the core locks on the fifth
    code, fields, _ = sip_request(stack.sip_port, headers=headers("f1", "rlock", PINS["rlock"]),
                                  dialled=ORDINARY)
    assert (code, fields.get("x-privline-reason")) == (403, "resident_locked")
