"""Who calls from a stock phone: the facility by the phone's address, the resident by the
PIN keyed at the voice menu (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from privline.domain.access import Role
from privline.domain.model import Actor
from privline.services import facilities, records
from privline.services.callers import facility_for_phone, resident_for_pin
from privline.services.errors import Conflict
from privline.services.ports import UnitOfWorkFactory
from tests.conftest import ADMIN, NOW, PRISON, ROSA, ROSA_PIN, STAFF, World

SWITCH = Actor("switch", Role.SWITCH)


def test_a_phone_address_names_its_facility_most_specific_network_first(
        uow: UnitOfWorkFactory, world: World) -> None:
    wide = replace(PRISON, id="county", name="County", phones=("127.0.0.0/8",))
    facilities.add_facility(uow, ADMIN, wide, now=NOW)
    assert facility_for_phone(uow, SWITCH, "127.0.0.1").id == PRISON.id  # type: ignore[union-attr]
    assert facility_for_phone(uow, SWITCH, "127.0.0.9").id == "county"  # type: ignore[union-attr]
    assert facility_for_phone(uow, SWITCH, "10.1.2.3") is None
    assert facility_for_phone(uow, SWITCH, "not-an-address") is None


def test_two_facilities_claiming_one_address_equally_name_neither(
        uow: UnitOfWorkFactory, world: World) -> None:
    twin = replace(PRISON, id="twin", name="Twin", phones=("127.0.0.1/32",))
    facilities.add_facility(uow, ADMIN, twin, now=NOW)
    assert facility_for_phone(uow, SWITCH, "127.0.0.1") is None


def test_a_pin_finds_its_resident_within_the_facility_only(
        uow: UnitOfWorkFactory, world: World) -> None:
    assert resident_for_pin(uow, SWITCH, PRISON.id, ROSA_PIN) == (ROSA, None)
    assert resident_for_pin(uow, SWITCH, PRISON.id, "0000") is None
    assert resident_for_pin(uow, SWITCH, "elsewhere", ROSA_PIN) is None
    assert resident_for_pin(uow, SWITCH, PRISON.id, "12a4") is None


def audit_count(uow: UnitOfWorkFactory) -> int:
    with uow() as u:
        return u.audit.count()


def test_a_pin_another_resident_of_the_facility_holds_is_refused_and_nothing_written(
        uow: UnitOfWorkFactory, world: World) -> None:
    before = audit_count(uow)
    with pytest.raises(Conflict) as refused:
        facilities.add_resident(uow, STAFF, facility_id=PRISON.id, resident_id="bea",
                                pin=ROSA_PIN, opening_balance_cents=500, now=NOW)
    assert refused.value.code == "pin_taken"
    assert ROSA not in refused.value.message  # no hint of whose PIN it is
    assert ROSA not in str(refused.value.details)
    assert audit_count(uow) == before
    with uow() as u:
        assert u.residents.get("bea") is None
    assert resident_for_pin(uow, SWITCH, PRISON.id, ROSA_PIN) == (ROSA, None)


def test_a_pin_reset_to_another_residents_pin_is_refused_and_the_old_pin_stays(
        uow: UnitOfWorkFactory, world: World) -> None:
    facilities.add_resident(uow, STAFF, facility_id=PRISON.id, resident_id="bea",
                            pin="1357", opening_balance_cents=0, now=NOW)
    before = audit_count(uow)
    with pytest.raises(Conflict) as refused:
        records.set_pin(uow, STAFF, "bea", pin=ROSA_PIN, now=NOW)
    assert refused.value.code == "pin_taken"
    assert audit_count(uow) == before
    assert resident_for_pin(uow, SWITCH, PRISON.id, "1357") == ("bea", None)
    records.set_pin(uow, STAFF, ROSA, pin=ROSA_PIN, now=NOW)  # her own PIN again: fine
    assert resident_for_pin(uow, SWITCH, PRISON.id, ROSA_PIN) == (ROSA, None)


def test_the_same_pin_at_another_facility_is_allowed(
        uow: UnitOfWorkFactory, world: World) -> None:
    other = replace(PRISON, id="other", name="Other", phones=("10.0.0.0/8",))
    facilities.add_facility(uow, ADMIN, other, now=NOW)
    facilities.add_resident(uow, STAFF, facility_id="other", resident_id="bea",
                            pin=ROSA_PIN, opening_balance_cents=0, now=NOW)
    assert resident_for_pin(uow, SWITCH, "other", ROSA_PIN) == ("bea", None)


def test_a_pin_two_residents_share_after_a_move_identifies_nobody(
        uow: UnitOfWorkFactory, world: World) -> None:
    """A move cannot be checked (a PIN hash is keyed by its resident's id and the PIN is
    never kept), so the menu still refuses to guess between two holders."""
    other = replace(PRISON, id="other", name="Other", phones=("10.0.0.0/8",))
    facilities.add_facility(uow, ADMIN, other, now=NOW)
    facilities.add_resident(uow, STAFF, facility_id="other", resident_id="bea",
                            pin=ROSA_PIN, opening_balance_cents=0, now=NOW)
    records.move_resident(uow, STAFF, "bea", facility_id=PRISON.id, now=NOW)
    assert resident_for_pin(uow, SWITCH, PRISON.id, ROSA_PIN) is None
