"""Phones known by SIP digest credentials: added and removed by staff who run the
facility, each change audited without the password, and read by the switch (SQLite and
PostgreSQL alike)."""

from __future__ import annotations

import pytest

from privline.domain.phones import ha1
from privline.services import phones
from privline.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from privline.services.ports import UnitOfWorkFactory
from tests.conftest import ADMIN, NOW, PRISON, STAFF, World
from tests.integration.test_callers import SWITCH

PASSWORD = "correct-horse-42"


def audit_details(uow: UnitOfWorkFactory) -> list[tuple[str, str, str]]:
    with uow() as u:
        return [(e.action, e.subject, e.details) for e in u.audit.entries()
                if e.action.startswith("phone.")]


def test_a_phone_is_added_audited_without_its_password_read_by_the_switch_and_removed(
        uow: UnitOfWorkFactory, world: World) -> None:
    added = phones.add_phone(uow, ADMIN, facility_id=PRISON.id, username="cell-1",
                             password=PASSWORD, now=NOW)
    assert added.ha1 == ha1("cell-1", PASSWORD)
    found = phones.phone_for_digest(uow, SWITCH, "cell-1")
    assert found is not None and (found.facility_id, found.ha1) == (PRISON.id, added.ha1)
    assert [p.username for p in phones.list_phones(uow, STAFF)] == ["cell-1"]
    phones.remove_phone(uow, ADMIN, "cell-1", now=NOW)
    assert phones.phone_for_digest(uow, SWITCH, "cell-1") is None
    events = audit_details(uow)
    assert [(a, t) for a, t, _ in events] == [("phone.add", "phone:cell-1"),
                                              ("phone.remove", "phone:cell-1")]
    assert not any(PASSWORD in d or added.ha1 in d for _, _, d in events)


def test_bad_or_duplicate_phones_and_outsiders_write_nothing(
        uow: UnitOfWorkFactory, world: World) -> None:
    phones.add_phone(uow, ADMIN, facility_id=PRISON.id, username="cell-1",
                     password=PASSWORD, now=NOW)
    before = audit_details(uow)
    with pytest.raises(Conflict):
        phones.add_phone(uow, ADMIN, facility_id=PRISON.id, username="cell-1",
                         password=PASSWORD, now=NOW)
    with pytest.raises(InvalidInput):
        phones.add_phone(uow, ADMIN, facility_id=PRISON.id, username="cell-2",
                         password="short", now=NOW)
    with pytest.raises(NotFound):
        phones.add_phone(uow, ADMIN, facility_id="nowhere", username="cell-3",
                         password=PASSWORD, now=NOW)
    with pytest.raises(Forbidden):
        phones.add_phone(uow, STAFF, facility_id=PRISON.id, username="cell-4",
                         password=PASSWORD, now=NOW)
    with pytest.raises(NotFound):
        phones.remove_phone(uow, ADMIN, "cell-9", now=NOW)
    assert audit_details(uow) == before
    assert [p.username for p in phones.list_phones(uow, STAFF)] == ["cell-1"]
