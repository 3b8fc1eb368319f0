"""The registry service on SQLite and PostgreSQL: add, verify, revoke, expire, check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from privline.adapters.db import tables as t
from privline.domain.registry import Status
from privline.services import registry
from privline.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from privline.services.ports import UnitOfWorkFactory
from tests.conftest import ADMIN, ATTORNEY_NUMBER, AUDITOR, INVESTIGATOR, NOW, STAFF, World


def audit_actions(uow: UnitOfWorkFactory) -> list[str]:
    with uow() as u:
        conn = u.audit.conn  # type: ignore[attr-defined]
        return list(conn.execute(select(t.audit_events.c.action)
                                 .order_by(t.audit_events.c.seq)).scalars())


def test_verified_entry_makes_the_number_privileged_in_any_spelling(
        uow: UnitOfWorkFactory, world: World) -> None:
    for spelling in ("(415) 555-0142", "+1 415 555 0142", "tel:+1-415-555-0142"):
        result = registry.check(uow, STAFF, spelling, now=NOW)
        assert result.number == ATTORNEY_NUMBER and result.privileged
        assert [e.id for e in result.entries] == [world.attorney_entry_id]


def test_pending_entry_protects_nothing_until_verified(uow: UnitOfWorkFactory) -> None:
    entry = registry.add_entry(uow, STAFF, number="212-555-0199", kind="physician",
                               holder="Dr. Ben Heal", credential="NPI 1234567893",
                               verified=False, now=NOW)
    assert entry.status is Status.PENDING
    assert not registry.check(uow, AUDITOR, "+12125550199", now=NOW).privileged
    registry.change_status(uow, STAFF, entry.id, Status.VERIFIED, now=NOW, note="bar checked")
    assert registry.check(uow, AUDITOR, "+12125550199", now=NOW).privileged
    registry.change_status(uow, STAFF, entry.id, Status.REVOKED, now=NOW, note="left practice")
    assert not registry.check(uow, AUDITOR, "+12125550199", now=NOW).privileged
    assert audit_actions(uow) == ["registry.add", "registry.verify", "registry.revoke"]


def test_expired_entry_stops_protecting_only_once_staff_confirm(
        uow: UnitOfWorkFactory, world: World) -> None:
    later = NOW + registry.DEFAULT_VALIDITY + timedelta(days=1)
    assert registry.check(uow, STAFF, ATTORNEY_NUMBER, now=later).privileged
    registry.change_status(uow, STAFF, world.attorney_entry_id, Status.EXPIRED, now=later,
                           note="renewal lapsed")
    assert not registry.check(uow, STAFF, ATTORNEY_NUMBER, now=later).privileged


@pytest.mark.parametrize("target", [Status.REVOKED, Status.EXPIRED])
def test_lowering_protection_needs_a_reason_from_every_caller(
        uow: UnitOfWorkFactory, world: World, target: Status) -> None:
    """Issue 12: ``POST .../expire`` with ``{}`` expired an entry valid until 2028."""
    later = NOW + registry.DEFAULT_VALIDITY + timedelta(days=1)
    before = audit_actions(uow)
    for blank in ("", "   "):
        with pytest.raises(InvalidInput) as info:
            registry.change_status(uow, STAFF, world.attorney_entry_id, target, now=later,
                                   note=blank)
        assert info.value.code == "reason_required"
    assert registry.check(uow, STAFF, ATTORNEY_NUMBER, now=later).privileged
    assert audit_actions(uow) == before


def test_an_entry_still_valid_cannot_be_expired_only_revoked(
        uow: UnitOfWorkFactory, world: World) -> None:
    """The portal's rule for every caller: expiry is for a lapsed verification."""
    with pytest.raises(Conflict) as info:
        registry.change_status(uow, STAFF, world.attorney_entry_id, Status.EXPIRED, now=NOW,
                               note="tidying up")
    assert info.value.code == "not_lapsed"
    assert registry.check(uow, STAFF, ATTORNEY_NUMBER, now=NOW).privileged


def test_duplicate_live_entry_is_a_conflict_and_writes_nothing(
        uow: UnitOfWorkFactory, world: World) -> None:
    before = audit_actions(uow)
    with pytest.raises(Conflict) as info:
        registry.add_entry(uow, STAFF, number="4155550142", kind="attorney",
                           holder="Ada Counsel", credential="CA-123456", verified=True, now=NOW)
    assert info.value.code == "entry_exists"
    assert audit_actions(uow) == before


@pytest.mark.parametrize("field, value, code", [
    ("number", "not a number", "invalid_number"),
    ("kind", "astrologer", "invalid_kind"),
    ("holder", "   ", "invalid_name"),
    ("credential", "x" * 300, "invalid_credential"),
    ("holder", "Ada Counsel\u202e", "invalid_name"),  # a right-to-left override
    ("credential", "NY-1\u2066", "invalid_credential"),  # a directional isolate
])
def test_bad_input_is_refused_with_a_code_and_nothing_written(
        uow: UnitOfWorkFactory, field: str, value: str, code: str) -> None:
    args = {"number": "+14155550143", "kind": "attorney", "holder": "Ed Esq",
            "credential": "NY-1"} | {field: value}
    with pytest.raises(InvalidInput) as info:
        registry.add_entry(uow, STAFF, verified=True, now=NOW, **args)
    assert info.value.code == code
    with uow() as u:
        conn = u.audit.conn  # type: ignore[attr-defined]
        assert conn.execute(select(func.count()).select_from(t.registry_entries)).scalar() == 0
    assert audit_actions(uow) == []


def test_invalid_transitions_are_conflicts(uow: UnitOfWorkFactory, world: World) -> None:
    with pytest.raises(Conflict):
        registry.change_status(uow, STAFF, world.attorney_entry_id, Status.VERIFIED, now=NOW)
    with pytest.raises(NotFound):
        registry.change_status(uow, STAFF, 999, Status.REVOKED, now=NOW)


def test_roles_that_may_not_change_the_registry_are_refused(
        uow: UnitOfWorkFactory, world: World) -> None:
    for actor in (INVESTIGATOR, AUDITOR):
        with pytest.raises(Forbidden):
            registry.change_status(uow, actor, world.attorney_entry_id, Status.REVOKED, now=NOW)
    with pytest.raises(Forbidden):
        registry.check(uow, INVESTIGATOR, ATTORNEY_NUMBER, now=NOW)
    assert registry.check(uow, ADMIN, ATTORNEY_NUMBER, now=NOW).privileged


def test_list_filters_by_status_and_pages(uow: UnitOfWorkFactory, world: World) -> None:
    for i in range(3):
        registry.add_entry(uow, STAFF, number=f"+1212555010{i}", kind="legal_advocate",
                           holder=f"Advocate {i}", credential=f"LA-{i}", verified=False, now=NOW)
    pending = registry.list_entries(uow, AUDITOR, status="pending")
    assert [e.number for e in pending] == ["+12125550100", "+12125550101", "+12125550102"]
    assert len(registry.list_entries(uow, AUDITOR, limit=2, offset=2)) == 2
    with pytest.raises(InvalidInput):
        registry.list_entries(uow, AUDITOR, status="lost")


def test_verification_lasts_two_years_and_lapsed_entries_are_listed_for_renewal(
        uow: UnitOfWorkFactory, world: World) -> None:
    from datetime import timedelta

    entry = registry.check(uow, STAFF, ATTORNEY_NUMBER, now=NOW).entries[0]
    assert entry.valid_until == NOW + timedelta(days=730)
    assert registry.expiring(uow, STAFF, within=timedelta(days=30), now=NOW) == []
    later = NOW + timedelta(days=740)
    assert [e.id for e in registry.expiring(uow, STAFF, within=timedelta(days=30), now=later)
            ] == [world.attorney_entry_id]
    # Past its date it still protects: only staff confirming the expiry ends that.
    assert registry.check(uow, STAFF, ATTORNEY_NUMBER, now=later).privileged


def test_a_residents_request_gets_its_kind_when_staff_verify_it(uow: UnitOfWorkFactory
                                                                ) -> None:
    from privline.domain.registry import Source

    entry = registry.add_entry(uow, STAFF, number="+12125550123", kind="unspecified",
                               holder="requested by resident R1", credential="resident:R1",
                               verified=False, source=Source.RESIDENT_REQUEST, now=NOW)
    with pytest.raises(Conflict) as info:
        registry.change_status(uow, STAFF, entry.id, Status.VERIFIED, now=NOW)
    assert info.value.code == "kind_required"
    verified = registry.change_status(uow, STAFF, entry.id, Status.VERIFIED, now=NOW,
                                      kind="legal_advocate", note="public defender's office")
    assert verified.kind.value == "legal_advocate" and verified.status is Status.VERIFIED
