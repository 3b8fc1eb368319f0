"""Call decisions through the service on both databases: the promises, end to end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from privline.adapters.db import tables as t
from privline.domain.model import Facility
from privline.domain.policy import CallRequest, Mode, Reason, UnknownPrivilege
from privline.domain.rates import FacilityKind
from privline.domain.registry import Kind, Source, Status
from privline.services import accounts, blocks, calls, facilities, registry
from privline.services.errors import Forbidden, NotFound, Unavailable
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from tests.conftest import (
    ADMIN,
    ATTORNEY_NUMBER,
    AUDITOR,
    FAMILY_NUMBER,
    NOW,
    ROSA,
    ROSA_PIN,
    STAFF,
    World,
)
from tests.support.faults import RegistryDown


def decide(uow: UnitOfWorkFactory, to: str, *, private: bool = False, pin: str | None = None,
           facility: str = "state-prison", resident: str = ROSA, at=NOW):  # type: ignore[no-untyped-def]
    return calls.decide_call(uow, STAFF, CallRequest(facility, resident, to, private, pin),
                             now=at)


def rows(uow: UnitOfWorkFactory, table):  # type: ignore[no-untyped-def]
    with uow() as u:
        return u.audit.conn.execute(select(table)).mappings().all()  # type: ignore[attr-defined]


def test_call_to_verified_attorney_is_private_and_logged(uow: UnitOfWorkFactory,
                                                         world: World) -> None:
    d = decide(uow, "(415) 555-0142", pin=ROSA_PIN)
    assert (d.mode, d.reason, d.number) == (Mode.PRIVATE, Reason.PRIVILEGED, ATTORNEY_NUMBER)
    logged = rows(uow, t.calls)
    assert [(r["mode"], r["number"]) for r in logged] == [("private", ATTORNEY_NUMBER)]
    events = [r for r in rows(uow, t.audit_events) if r["action"] == "call.decide"]
    assert len(events) == 1 and '"mode":"private"' in events[0]["details"]


def test_ordinary_call_is_recorded(uow: UnitOfWorkFactory, world: World) -> None:
    d = decide(uow, "212 555 0100")
    assert (d.mode, d.number) == (Mode.RECORDED, FAMILY_NUMBER)


def test_private_request_to_unregistered_number_stores_one_pending_request(
        uow: UnitOfWorkFactory, world: World) -> None:
    for _ in range(2):
        d = decide(uow, FAMILY_NUMBER, private=True)
        assert (d.mode, d.reason) == (Mode.RECORDED, Reason.PRIVATE_NOT_REGISTERED)
    pending = registry.list_entries(uow, STAFF, status="pending")
    assert len(pending) == 1
    request = pending[0]
    assert (request.number, request.source, request.kind) == (
        FAMILY_NUMBER, Source.RESIDENT_REQUEST, Kind.UNSPECIFIED)


def test_verifying_a_number_turns_the_next_call_private_in_every_facility(
        uow: UnitOfWorkFactory, world: World) -> None:
    jail = Facility("county-jail", "County Jail", FacilityKind.JAIL, 80, outside_prefix="9")
    facilities.add_facility(uow, ADMIN, jail, now=NOW)
    facilities.add_resident(uow, STAFF, facility_id=jail.id, resident_id="J1", pin="1111",
                            opening_balance_cents=500, now=NOW)
    entry = registry.add_entry(uow, STAFF, number="+13105550123", kind="religious_adviser",
                               holder="Rev. Cy Faith", credential="chaplain-77", verified=False,
                               now=NOW)
    assert decide(uow, "310 555 0123").mode is Mode.RECORDED
    assert decide(uow, "9 310 555 0123", facility=jail.id, resident="J1").mode is Mode.RECORDED
    registry.change_status(uow, STAFF, entry.id, Status.VERIFIED, now=NOW)
    assert decide(uow, "310 555 0123").mode is Mode.PRIVATE
    assert decide(uow, "9 310 555 0123", facility=jail.id, resident="J1").mode is Mode.PRIVATE


def test_five_wrong_pins_lock_the_resident_for_ten_minutes(uow: UnitOfWorkFactory,
                                                           world: World) -> None:
    reasons = [decide(uow, FAMILY_NUMBER, pin="0000", at=NOW + timedelta(seconds=i)).reason
               for i in range(5)]
    # The fifth wrong PIN is the one that locks.
    assert reasons == [Reason.PIN_INVALID] * 4 + [Reason.RESIDENT_LOCKED]
    # Locked now: even the right PIN is refused, and privileged calls too.
    assert decide(uow, FAMILY_NUMBER, pin=ROSA_PIN,
                  at=NOW + timedelta(minutes=1)).reason is Reason.RESIDENT_LOCKED
    assert decide(uow, ATTORNEY_NUMBER, pin=ROSA_PIN,
                  at=NOW + timedelta(minutes=9)).reason is Reason.RESIDENT_LOCKED
    assert decide(uow, FAMILY_NUMBER, pin=ROSA_PIN,
                  at=NOW + timedelta(minutes=11)).mode is Mode.RECORDED


def test_a_right_pin_resets_the_count(uow: UnitOfWorkFactory, world: World) -> None:
    for i in range(4):
        decide(uow, FAMILY_NUMBER, pin="0000", at=NOW + timedelta(seconds=i))
    assert decide(uow, FAMILY_NUMBER, pin=ROSA_PIN).mode is Mode.RECORDED
    for i in range(4):
        decide(uow, FAMILY_NUMBER, pin="0000", at=NOW + timedelta(seconds=10 + i))
    assert decide(uow, FAMILY_NUMBER, pin=ROSA_PIN).mode is Mode.RECORDED


def test_blocked_number_is_denied_but_a_block_cannot_touch_a_privileged_call(
        uow: UnitOfWorkFactory, world: World) -> None:
    blocks.block_number(uow, STAFF, facility_id="state-prison", number=FAMILY_NUMBER,
                        reason="victim contact order", now=NOW)
    blocks.block_number(uow, STAFF, facility_id="state-prison", number=ATTORNEY_NUMBER,
                        reason="mistake", resident_id=ROSA, now=NOW)
    assert decide(uow, FAMILY_NUMBER).reason is Reason.NUMBER_BLOCKED
    assert decide(uow, ATTORNEY_NUMBER).mode is Mode.PRIVATE


def test_empty_balance_denies_ordinary_calls_but_not_free_private_ones(
        uow: UnitOfWorkFactory, world: World) -> None:
    facilities.add_resident(uow, STAFF, facility_id="state-prison", resident_id="R2",
                            pin="1357", now=NOW)
    assert decide(uow, FAMILY_NUMBER, resident="R2").reason is Reason.INSUFFICIENT_BALANCE
    assert decide(uow, ATTORNEY_NUMBER, resident="R2").mode is Mode.PRIVATE
    accounts.deposit(uow, STAFF, resident_id="R2", amount_cents=33, now=NOW)
    d = decide(uow, FAMILY_NUMBER, resident="R2")
    assert (d.mode, d.max_minutes) == (Mode.RECORDED, 3)


def test_unparseable_number_is_refused_by_default(uow: UnitOfWorkFactory, world: World) -> None:
    d = decide(uow, "12#45")
    assert (d.mode, d.reason, d.number) == (Mode.DENIED, Reason.PRIVILEGE_UNKNOWN, None)


@pytest.mark.parametrize("setting, mode, review", [
    (UnknownPrivilege.REFUSE, Mode.DENIED, False),
    (UnknownPrivilege.CONNECT_UNRECORDED, Mode.PRIVATE, True),
])
def test_registry_unavailable_never_records_the_call(
        uow: UnitOfWorkFactory, setting: UnknownPrivilege, mode: Mode, review: bool) -> None:
    facilities.add_facility(uow, ADMIN, Facility("f", "F", FacilityKind.PRISON, 100,
                                                 unknown_privilege=setting), now=NOW)
    facilities.add_resident(uow, STAFF, facility_id="f", resident_id="r", pin="1234",
                            opening_balance_cents=500, now=NOW)

    def broken() -> UnitOfWork:
        return RegistryDown(uow())  # type: ignore[return-value]

    d = calls.decide_call(broken, STAFF, CallRequest("f", "r", FAMILY_NUMBER), now=NOW)
    assert (d.mode, d.review) == (mode, review)
    logged = rows(uow, t.calls)
    assert [(r["mode"], r["review"]) for r in logged] == [(mode.value, review)]


def rename(uow: UnitOfWorkFactory, table: str, to: str) -> None:
    with uow() as u:
        u.audit.conn.exec_driver_sql(  # type: ignore[attr-defined]
            f"ALTER TABLE {table} RENAME TO {to}")
        u.commit()


def test_a_registry_read_failing_in_the_database_never_records_the_call(
        uow: UnitOfWorkFactory, world: World) -> None:
    """The read itself fails in the database (not a stand-in repository): on PostgreSQL
    its savepoint keeps the decision's transaction usable, so the decision is still
    logged with its audit event, as privilege unknown (refused by default)."""
    rename(uow, "registry_entries", "registry_entries_gone")
    try:
        d = decide(uow, "(415) 555-0142", pin=ROSA_PIN)
    finally:  # the PostgreSQL database is shared by the tests that follow
        rename(uow, "registry_entries_gone", "registry_entries")
    assert (d.mode, d.reason) == (Mode.DENIED, Reason.PRIVILEGE_UNKNOWN)
    assert [(r["mode"], r["reason"]) for r in rows(uow, t.calls)] == [
        ("denied", "privilege_unknown")]
    events = [r for r in rows(uow, t.audit_events) if r["action"] == "call.decide"]
    assert len(events) == 1 and '"reason":"privilege_unknown"' in events[0]["details"]


def test_database_unreachable_is_an_error_not_a_decision(world: World) -> None:
    from privline.adapters.db import make_engine
    from privline.adapters.db.engine import SqlUnitOfWork

    dead = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(Unavailable):
        calls.decide_call(lambda: SqlUnitOfWork(dead), STAFF,
                          CallRequest("state-prison", ROSA, ATTORNEY_NUMBER), now=NOW)


def test_unknown_facility_or_resident_is_not_found(uow: UnitOfWorkFactory, world: World
                                                   ) -> None:
    with pytest.raises(NotFound):
        decide(uow, FAMILY_NUMBER, facility="nowhere")
    with pytest.raises(NotFound):
        decide(uow, FAMILY_NUMBER, resident="nobody")


def test_auditors_cannot_decide_calls(uow: UnitOfWorkFactory, world: World) -> None:
    with pytest.raises(Forbidden):
        calls.decide_call(uow, AUDITOR, CallRequest("state-prison", ROSA, FAMILY_NUMBER),
                          now=NOW)
