"""Who calls from a stock phone: the facility by the phone's address, the resident by the
PIN keyed at the voice menu (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from dataclasses import replace

from privline.domain.access import Role
from privline.domain.model import Actor
from privline.services import facilities
from privline.services.callers import facility_for_phone, resident_for_pin
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


def test_a_pin_two_residents_share_identifies_nobody(
        uow: UnitOfWorkFactory, world: World) -> None:
    facilities.add_resident(uow, STAFF, facility_id=PRISON.id, resident_id="bea",
                            pin=ROSA_PIN, opening_balance_cents=0, now=NOW)
    assert resident_for_pin(uow, SWITCH, PRISON.id, ROSA_PIN) is None
