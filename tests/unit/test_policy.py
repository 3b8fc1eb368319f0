"""The call policy: the first promise and the refusal to record silently."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privline.domain.announcements import Prompt
from privline.domain.errors import InvalidNumber
from privline.domain.numbers import DialPlan, to_e164
from privline.domain.policy import (
    CallerState,
    Decision,
    FacilityPolicy,
    Mode,
    Reason,
    UnknownPrivilege,
    decide,
)
from privline.domain.rates import FacilityKind
from privline.domain.registry import Entry, Kind, Privilege, Source, Status, privilege_at

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ATTORNEY = "+14155550142"
PRISON = FacilityPolicy(FacilityKind.PRISON, 1500)
ROSA = CallerState(active=True, locked=False, pin_ok=True, balance_cents=2000)


def call(privilege: Privilege = Privilege.NOT_PRIVILEGED, *, number: str | None = ATTORNEY,
         facility: FacilityPolicy = PRISON, caller: CallerState = ROSA,
         private: bool = False, blocked: bool = False) -> Decision:
    return decide(facility=facility, caller=caller, number=number, privilege=privilege,
                  private_requested=private, blocked=blocked, now=NOW)


def test_verified_privileged_number_is_private_without_asking() -> None:
    d = call(Privilege.PRIVILEGED)
    assert (d.mode, d.reason) == (Mode.PRIVATE, Reason.PRIVILEGED)
    assert d.announcements == (Prompt.PRIVATE_NOTICE,)
    assert d.rate_per_minute == 0 and d.max_minutes == 15


def test_ordinary_call_is_recorded_with_warning_at_the_cap() -> None:
    d = call()
    assert (d.mode, d.reason) == (Mode.RECORDED, Reason.STANDARD)
    assert Prompt.RECORDING_WARNING in d.announcements and Prompt.RATE in d.announcements
    assert d.rate_per_minute == Decimal("0.11")
    assert d.max_minutes == 15  # $20 buys more than the facility's limit


def test_private_request_to_unregistered_number_is_recorded_and_requests_registration() -> None:
    d = call(private=True)
    assert (d.mode, d.reason) == (Mode.RECORDED, Reason.PRIVATE_NOT_REGISTERED)
    assert d.announcements[0] is Prompt.PRIVATE_NOT_REGISTERED
    assert Prompt.RECORDING_WARNING in d.announcements
    assert d.register_request


@pytest.mark.parametrize("privilege, number", [
    (Privilege.UNKNOWN, ATTORNEY), (Privilege.NOT_PRIVILEGED, None), (Privilege.UNKNOWN, None)])
def test_unknown_privilege_is_refused_by_default(privilege: Privilege, number: str | None
                                                 ) -> None:
    d = call(privilege, number=number)
    assert (d.mode, d.reason) == (Mode.DENIED, Reason.PRIVILEGE_UNKNOWN)


def test_unknown_privilege_connects_unrecorded_and_flagged_when_facility_says_so() -> None:
    facility = FacilityPolicy(FacilityKind.PRISON, 1500,
                              unknown_privilege=UnknownPrivilege.CONNECT_UNRECORDED)
    d = call(Privilege.UNKNOWN, facility=facility)
    assert d.mode is Mode.PRIVATE and d.review
    assert d.reason is Reason.PRIVILEGE_UNKNOWN_UNRECORDED
    assert Prompt.RECORDING_WARNING not in d.announcements


@pytest.mark.parametrize("caller, reason", [
    (CallerState(False, False, True, 2000), Reason.RESIDENT_INACTIVE),
    (CallerState(True, True, True, 2000), Reason.RESIDENT_LOCKED),
    (CallerState(True, False, False, 2000), Reason.PIN_INVALID),
    (CallerState(True, False, True, 10), Reason.INSUFFICIENT_BALANCE),
])
def test_caller_problems_deny(caller: CallerState, reason: Reason) -> None:
    d = call(caller=caller)
    assert (d.mode, d.reason, d.max_minutes) == (Mode.DENIED, reason, 0)


def test_blocked_number_is_denied() -> None:
    assert call(blocked=True).reason is Reason.NUMBER_BLOCKED


def test_balance_limits_minutes() -> None:
    d = call(caller=CallerState(True, False, True, 55))
    assert d.max_minutes == 5  # 55 cents at 11 cents a minute


def test_facility_rate_above_the_cap_is_refused() -> None:
    facility = FacilityPolicy(FacilityKind.PRISON, 1500, rate_per_minute=Decimal("0.12"))
    assert call(facility=facility).reason is Reason.RATE_ABOVE_CAP


def test_facility_rate_below_the_cap_is_charged() -> None:
    facility = FacilityPolicy(FacilityKind.PRISON, 1500, rate_per_minute=Decimal("0.05"))
    assert call(facility=facility).rate_per_minute == Decimal("0.05")


def test_paid_private_calls_charge_the_rate_but_stay_private() -> None:
    facility = FacilityPolicy(FacilityKind.PRISON, 1500, private_calls_free=False)
    d = call(Privilege.PRIVILEGED, facility=facility)
    assert d.mode is Mode.PRIVATE and d.rate_per_minute == Decimal("0.11")


def test_no_rate_cap_before_the_first_order_denies() -> None:
    d = decide(facility=PRISON, caller=ROSA, number=ATTORNEY, privilege=Privilege.NOT_PRIVILEGED,
               private_requested=False, blocked=False, now=datetime(2019, 1, 1, tzinfo=UTC))
    assert d.reason is Reason.NO_RATE_CAP


# Every setting a facility, a resident's state or a contact rule can hold.
FACILITIES = [
    FacilityPolicy(kind, adp, unknown, free, rate, minutes)
    for kind, adp, unknown, free, rate, minutes in itertools.product(
        FacilityKind, (0, 75, 500, 5000), UnknownPrivilege, (True, False),
        (None, Decimal("0.01"), Decimal("5.00")), (1, 15, 600))
]
CALLERS = [CallerState(*c) for c in itertools.product(
    (True, False), (True, False), (True, False), (0, 1, 2000, 10**9))]


def test_no_combination_of_settings_records_a_verified_privileged_call() -> None:
    checked = 0
    for facility, caller, private, blocked in itertools.product(
            FACILITIES, CALLERS, (True, False), (True, False)):
        d = call(Privilege.PRIVILEGED, facility=facility, caller=caller, private=private,
                 blocked=blocked)
        assert d.mode is not Mode.RECORDED, (facility, caller, private, blocked)
        assert Prompt.RECORDING_WARNING not in d.announcements
        usable = caller.active and not caller.locked and caller.pin_ok
        if usable and facility.private_calls_free:
            assert d.mode is Mode.PRIVATE
        checked += 1
    assert checked == len(FACILITIES) * len(CALLERS) * 4


def test_no_combination_records_a_call_of_unknown_privilege() -> None:
    for facility, caller, private, blocked, number in itertools.product(
            FACILITIES, CALLERS, (True, False), (True, False), (ATTORNEY, None)):
        d = call(Privilege.UNKNOWN, number=number, facility=facility, caller=caller,
                 private=private, blocked=blocked)
        assert d.mode is not Mode.RECORDED
        if d.mode is Mode.PRIVATE:
            assert d.review and facility.unknown_privilege is UnknownPrivilege.CONNECT_UNRECORDED


def entry(status: Status, valid_from: datetime = NOW - timedelta(days=1)) -> Entry:
    return Entry(1, ATTORNEY, Kind.ATTORNEY, "Ada Counsel", "CA-123456", Source.STAFF, status,
                 valid_from, None, NOW - timedelta(days=2))


@pytest.mark.parametrize("entries, expected", [
    ([], Privilege.NOT_PRIVILEGED),
    ([entry(Status.VERIFIED)], Privilege.PRIVILEGED),
    ([entry(Status.PENDING)], Privilege.NOT_PRIVILEGED),
    ([entry(Status.REVOKED)], Privilege.NOT_PRIVILEGED),
    ([entry(Status.EXPIRED)], Privilege.NOT_PRIVILEGED),
    ([entry(Status.REVOKED), entry(Status.VERIFIED)], Privilege.PRIVILEGED),
    ([entry(Status.VERIFIED, NOW + timedelta(hours=1))], Privilege.NOT_PRIVILEGED),
])
def test_privilege_needs_a_verified_entry_in_force(entries: list[Entry], expected: Privilege
                                                   ) -> None:
    assert privilege_at(entries, NOW) is expected


# Spellings a phone keypad, a form or a directory could produce for +1 415 555 0142.
_SEPARATORS = st.sampled_from(["", " ", "-", ".", "  ", " - "])


@st.composite
def spellings(draw: st.DrawFn) -> str:
    sep = draw(_SEPARATORS)
    area = draw(st.sampled_from(["415", "(415)", "(415) "]))
    body = sep.join([area, "555", "0142"])
    prefix = draw(st.sampled_from(["", "1", "+1", "9", "91", "9 1", "9+1", "tel:+1", "011 1",
                                   "9 011 1"]))
    if prefix.startswith("tel:") and " " in body:
        body = body.replace(" ", "-")
    return f"{prefix}{draw(_SEPARATORS)}{body}" if prefix else body


@given(spellings())
def test_every_spelling_of_a_verified_number_decides_private(dialled: str) -> None:
    plan = DialPlan(region="US", outside_prefix="9")
    try:
        number = to_e164(dialled, plan)
    except InvalidNumber:
        # Not a way to reach the attorney at all; such a call is refused as unknown.
        d = call(Privilege.UNKNOWN, number=None)
        assert d.mode is Mode.DENIED
        return
    assert number == ATTORNEY, dialled
    d = call(privilege_at([entry(Status.VERIFIED)], NOW), number=number)
    assert d.mode is Mode.PRIVATE
