"""Every record staff keep can be listed, shown and changed, each change audited, bad
input refused with nothing written; on SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from privline.domain.policy import CallRequest
from privline.services import blocks, calls, facilities, records
from privline.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from privline.services.ports import UnitOfWorkFactory
from tests.conftest import (
    ADMIN,
    ATTORNEY_NUMBER,
    AUDITOR,
    FAMILY_NUMBER,
    NOW,
    PRISON,
    ROSA,
    ROSA_PIN,
    STAFF,
    World,
)

JAIL = replace(PRISON, id="county-jail", name="County Jail", kind=PRISON.kind.JAIL, adp=300)


def audit_count(uow: UnitOfWorkFactory) -> int:
    with uow() as u:
        return u.audit.count()


def decide(uow: UnitOfWorkFactory, pin: str, to: str = FAMILY_NUMBER, at=NOW):  # type: ignore[no-untyped-def]
    return calls.decide_call(uow, STAFF, CallRequest(PRISON.id, ROSA, to, False, pin), now=at)


def test_a_rate_above_the_cap_is_refused_and_nothing_is_written(uow: UnitOfWorkFactory,
                                                               world: World) -> None:
    before = audit_count(uow)
    with pytest.raises(InvalidInput) as refused:
        records.set_facility(uow, ADMIN, PRISON.id, records.FacilityChanges(
            rate=Decimal("0.50"), max_minutes=30), now=NOW)
    assert refused.value.code == "rate_above_cap"
    view = records.show_facility(uow, ADMIN, PRISON.id, now=NOW)
    assert view.facility.rate_per_minute is None and view.facility.max_call_minutes == 15
    assert audit_count(uow) == before


def test_facility_settings_change_with_the_cap_beside_them(uow: UnitOfWorkFactory,
                                                           world: World) -> None:
    view = records.set_facility(uow, ADMIN, PRISON.id, records.FacilityChanges(
        rate=Decimal("0.05"), max_minutes=20, unknown_privilege="connect_unrecorded"), now=NOW)
    assert view.rate == Decimal("0.05") and view.cap is not None
    assert view.cap.per_minute == Decimal("0.11")  # FCC 2025, a prison, July 2026
    (listed,) = records.list_facilities(uow, AUDITOR, now=NOW)
    assert listed.facility.max_call_minutes == 20
    assert listed.facility.unknown_privilege.value == "connect_unrecorded"
    back = records.set_facility(uow, ADMIN, PRISON.id, records.FacilityChanges(rate_to_cap=True),
                                now=NOW)
    assert back.facility.rate_per_minute is None and back.rate == Decimal("0.11")
    with pytest.raises(Forbidden):  # staff run residents, not facility settings
        records.set_facility(uow, STAFF, PRISON.id, records.FacilityChanges(max_minutes=5),
                             now=NOW)


def test_a_locked_out_resident_is_listed_as_locked_and_unlocked_by_staff(
        uow: UnitOfWorkFactory, world: World) -> None:
    for _ in range(5):
        decide(uow, "0000")
    assert decide(uow, ROSA_PIN).reason.value == "resident_locked"
    page = records.list_residents(uow, STAFF, facility_id=PRISON.id)
    (row,) = page.items
    assert row.balance_cents == 2000 and row.locked_until is not None and not page.more
    shown = records.show_resident(uow, STAFF, ROSA, now=NOW)
    assert shown.locked and len(shown.recent_calls) == 6
    records.unlock_resident(uow, STAFF, ROSA, now=NOW)
    assert not records.show_resident(uow, STAFF, ROSA, now=NOW).locked
    assert decide(uow, ROSA_PIN).mode.value == "recorded"


def test_a_new_pin_replaces_the_old_one_and_a_bad_pin_writes_nothing(
        uow: UnitOfWorkFactory, world: World) -> None:
    before = audit_count(uow)
    with pytest.raises(InvalidInput):
        records.set_pin(uow, STAFF, ROSA, pin="12", now=NOW)
    assert audit_count(uow) == before
    records.set_pin(uow, STAFF, ROSA, pin="97531", now=NOW)
    assert decide(uow, "97531").mode.value == "recorded"
    assert decide(uow, ROSA_PIN).reason.value == "pin_invalid"


def test_deactivate_and_move_keep_the_agency_id(uow: UnitOfWorkFactory, world: World) -> None:
    facilities.add_facility(uow, ADMIN, JAIL, now=NOW)
    with pytest.raises(NotFound):
        records.move_resident(uow, STAFF, ROSA, facility_id="nowhere", now=NOW)
    records.move_resident(uow, STAFF, ROSA, facility_id=JAIL.id, now=NOW)
    assert [r.id for r in records.list_residents(uow, STAFF, facility_id=JAIL.id).items] == [ROSA]
    with pytest.raises(Conflict) as clash:  # the id follows the person: no second Rosa
        facilities.add_resident(uow, STAFF, facility_id=PRISON.id, resident_id=ROSA,
                                pin="1234", now=NOW)
    assert "county-jail" in clash.value.message
    records.deactivate_resident(uow, STAFF, ROSA, now=NOW)
    with pytest.raises(Conflict):
        records.deactivate_resident(uow, STAFF, ROSA, now=NOW)
    assert records.show_resident(uow, STAFF, ROSA, now=NOW).resident.active is False


def test_an_account_shows_its_balance_and_ledger(uow: UnitOfWorkFactory, world: World) -> None:
    view = records.show_account(uow, STAFF, ROSA)
    assert view.balance_cents == 2000
    assert [(line.kind, line.amount_cents) for line in view.ledger] == [("deposit", 2000)]
    with pytest.raises(Forbidden):  # an auditor sees figures, not a person's account
        records.show_account(uow, AUDITOR, ROSA)


def test_blocks_are_listed_with_ids_duplicates_refused_and_removed_with_a_reason(
        uow: UnitOfWorkFactory, world: World) -> None:
    added = blocks.block_number(uow, STAFF, facility_id=PRISON.id, number=FAMILY_NUMBER,
                                reason="no contact order", now=NOW)
    assert added.warning is None
    with pytest.raises(Conflict) as twice:
        blocks.block_number(uow, STAFF, facility_id=PRISON.id, number="(212) 555-0100",
                            reason="again", now=NOW)
    assert twice.value.code == "block_exists"
    (listed,) = records.list_blocks(uow, STAFF).items
    assert listed.id == added.id and listed.number == FAMILY_NUMBER
    before = audit_count(uow)
    with pytest.raises(InvalidInput):
        records.remove_block(uow, STAFF, added.id, reason=" ", now=NOW)
    assert audit_count(uow) == before
    records.remove_block(uow, STAFF, added.id, reason="order lifted", now=NOW)
    assert records.list_blocks(uow, STAFF).items == []
    with pytest.raises(NotFound):
        records.remove_block(uow, STAFF, added.id, reason="again", now=NOW)


def test_blocking_a_privileged_number_warns_that_it_can_never_stop_the_call(
        uow: UnitOfWorkFactory, world: World) -> None:
    added = blocks.block_number(uow, STAFF, facility_id=PRISON.id, number=ATTORNEY_NUMBER,
                                reason="asked by staff", now=NOW)
    assert added.warning is not None and "never stop" in added.warning
    assert decide(uow, ROSA_PIN, to=ATTORNEY_NUMBER).mode.value == "private"
