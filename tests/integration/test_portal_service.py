"""The portal's services: registration, directory match, reference, review, expiry."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from privline.adapters.db.tables import portal as pt
from privline.domain.registry import Kind, Source, Status
from privline.services import portal, portal_review, registry
from privline.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from privline.services.ports import UnitOfWorkFactory
from tests.conftest import AUDITOR, INVESTIGATOR, NOW, STAFF, World

LAWYER = "+16465550147"  # Lee Bar, a New York attorney not yet in the registry
LAWYER_CELL = "+16465550148"


def form(**changes: object) -> portal.RegistrationForm:
    values: dict[str, object] = {"name": "Lee Bar", "profession": "attorney",
                                 "credential": "NY 7654321",
                                 "numbers": ["(646) 555-0147"], "email": "lee@example.org"}
    values.update(changes)
    return portal.RegistrationForm(**values)  # type: ignore[arg-type]


def imported(uow: UnitOfWorkFactory, number: str = LAWYER, credential: str = "NY:7654321",
             kind: str = "attorney") -> int:
    return registry.add_entry(uow, STAFF, number=number, kind=kind, holder="LEE BAR",
                              credential=credential, verified=True, source=Source.IMPORT,
                              now=NOW).id


def audit_count(uow: UnitOfWorkFactory) -> int:
    with uow() as u:
        return u.audit.count()


def test_a_number_without_a_directory_match_waits_for_staff(uow: UnitOfWorkFactory) -> None:
    done = portal.register(uow, form(), now=NOW)
    assert done.numbers == (portal.NumberStatus(LAWYER, Status.PENDING),)
    (entry,) = registry.check(uow, STAFF, LAWYER, now=NOW).entries
    assert (entry.source, entry.status, entry.kind) == (Source.SELF_REGISTERED, Status.PENDING,
                                                        Kind.ATTORNEY)
    assert registry.check(uow, STAFF, LAWYER, now=NOW).privileged is False


def test_a_directory_match_on_credential_and_number_verifies_at_once(
        uow: UnitOfWorkFactory) -> None:
    directory = imported(uow)
    done = portal.register(uow, form(numbers=["646 555 0147", "646-555-0148"]), now=NOW)
    assert done.numbers == (portal.NumberStatus(LAWYER, Status.VERIFIED),
                            portal.NumberStatus(LAWYER_CELL, Status.PENDING))
    own = [e for e in registry.check(uow, STAFF, LAWYER, now=NOW).entries
           if e.source is Source.SELF_REGISTERED]
    assert own[0].status is Status.VERIFIED
    assert own[0].valid_until == NOW + registry.DEFAULT_VALIDITY
    with uow() as u:
        events = [e for e in u.audit.entries() if e.action == "registry.add"]
    assert f'"directory_entry":{directory}' in events[-2].details


@pytest.mark.parametrize("changes", [
    {"credential": "NY 1111111"},  # another lawyer's credential
    {"profession": "legal_advocate"},  # the directory lists an attorney
])
def test_no_directory_match_without_the_same_credential_and_profession(
        uow: UnitOfWorkFactory, changes: dict[str, str]) -> None:
    imported(uow)
    assert portal.register(uow, form(**changes), now=NOW).numbers[0].status is Status.PENDING


def test_a_revoked_directory_entry_verifies_nothing(uow: UnitOfWorkFactory) -> None:
    registry.change_status(uow, STAFF, imported(uow), Status.REVOKED, now=NOW, note="struck")
    assert portal.register(uow, form(), now=NOW).numbers[0].status is Status.PENDING


@pytest.mark.parametrize("given, stored", [
    ("NPI 1234567893", "1234567893"), ("ny-7654321", "NY:7654321"),
    ("NY 7654321", "NY:7654321"), ("ny:7654321", "NY:7654321"), ("Chaplain 77", "CHAPLAIN77")])
def test_credentials_compare_without_case_or_separators(given: str, stored: str) -> None:
    assert portal.credential_key(given) == portal.credential_key(stored)


def test_a_later_registration_never_changes_the_contact_details_staff_see(
        uow: UnitOfWorkFactory) -> None:
    """Issue 12: an anonymous second registration for the same number and credential
    (spelled differently) replaced the registrant's email on the staff page."""
    first = portal.register(uow, form(), now=NOW)
    second = portal.register(uow, form(credential="ny-7654321", email="mallory@example.net"),
                             now=NOW + timedelta(minutes=1))
    page = portal_review.review_queue(uow, STAFF)
    assert [(i.entry.number, i.email) for i in page.items] == [
        (LAWYER, "lee@example.org"), (LAWYER, "mallory@example.net")]
    # Competing registrations are shown together, each with its own contact details.
    mine, theirs = page.items
    assert [(r.entry.id, r.email) for r in mine.rivals] == [(theirs.entry.id,
                                                             "mallory@example.net")]
    assert [(r.entry.id, r.email) for r in theirs.rivals] == [(mine.entry.id,
                                                              "lee@example.org")]
    assert portal.status(uow, first.reference) == first.numbers
    assert portal.status(uow, second.reference) == second.numbers


def test_approving_one_competing_registration_closes_the_others_with_a_reason(
        uow: UnitOfWorkFactory) -> None:
    portal.register(uow, form(), now=NOW)
    portal.register(uow, form(credential="NY 1111111", email="other@example.net"),
                    now=NOW + timedelta(minutes=1))
    lee, other = (i.entry for i in portal_review.review_queue(uow, STAFF).items)
    portal_review.approve(uow, STAFF, lee.id, kind="attorney", now=NOW + timedelta(hours=1))
    statuses = {e.id: e.status for e in registry.check(uow, STAFF, LAWYER, now=NOW).entries}
    assert statuses == {lee.id: Status.VERIFIED, other.id: Status.REVOKED}
    assert portal_review.review_queue(uow, STAFF).items == ()
    with uow() as u:
        closed = [json.loads(e.details) for e in u.audit.entries()
                  if e.subject == f"registry:{other.id}" and e.action == "registry.revoke"]
    assert len(closed) == 1
    assert f"entry {lee.id}" in closed[0]["note"]


@pytest.mark.parametrize("changes, fields", [
    ({"name": " "}, {"name"}),
    ({"profession": "wizard"}, {"profession"}),
    ({"profession": "unspecified"}, {"profession"}),
    ({"credential": ""}, {"credential"}),
    ({"numbers": ["", ""]}, {"numbers.0"}),
    ({"numbers": ["", "12345"]}, {"numbers.1"}),
    ({"numbers": ["6465550147", "(646) 555-0147"]}, {"numbers.1"}),
    ({"numbers": [f"646555{n:04d}" for n in range(100, 111)]}, {"numbers"}),
    ({"email": "lee-at-example"}, {"email"}),
    ({"name": "Lee\x00Bar", "email": ""}, {"name", "email"}),
])
def test_bad_input_names_every_bad_field_and_writes_nothing(
        uow: UnitOfWorkFactory, engine: Engine, changes: dict[str, object],
        fields: set[str]) -> None:
    before = audit_count(uow)
    with pytest.raises(InvalidInput) as caught:
        portal.register(uow, form(**changes), now=NOW)
    assert set(caught.value.details["fields"]) == fields
    assert audit_count(uow) == before
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(pt.portal_registrations)
                            ).scalar_one() == 0


def test_the_reference_reveals_status_only_and_is_stored_as_a_hash(
        uow: UnitOfWorkFactory, engine: Engine) -> None:
    done = portal.register(uow, form(), now=NOW)
    assert done.reference.startswith("PL-") and len(done.reference) == 22
    lowered = done.reference.lower().replace("-", " ")
    assert portal.status(uow, lowered) == done.numbers
    with engine.connect() as conn:
        row = conn.execute(select(pt.portal_registrations)).one()._mapping
    assert done.reference not in str(dict(row))
    assert row["reference_hash"] == portal.reference_hash(done.reference)


@pytest.mark.parametrize("reference", ["", "PL-0000-0000-0000-0000", "nonsense", "x" * 500])
def test_an_unknown_reference_is_not_found(uow: UnitOfWorkFactory, reference: str) -> None:
    portal.register(uow, form(), now=NOW)
    with pytest.raises(NotFound):
        portal.status(uow, reference)


def test_the_queue_lists_pending_entries_oldest_first_with_the_email(
        uow: UnitOfWorkFactory, world: World) -> None:
    registry.add_entry(uow, STAFF, number="+12125550100", kind="unspecified",
                                 holder="requested by resident R1001",
                                 credential="resident:R1001", verified=False,
                                 source=Source.RESIDENT_REQUEST, now=NOW)
    portal.register(uow, form(), now=NOW + timedelta(minutes=1))
    page = portal_review.review_queue(uow, STAFF)
    assert [(i.entry.number, i.email) for i in page.items] == [
        ("+12125550100", None), (LAWYER, "lee@example.org")]
    assert not page.more
    assert portal_review.review_queue(uow, STAFF, limit=1).more


@pytest.mark.parametrize("actor", [AUDITOR, INVESTIGATOR])
def test_only_staff_and_admin_review(uow: UnitOfWorkFactory, actor: object) -> None:
    with pytest.raises(Forbidden):
        portal_review.review_queue(uow, actor)  # type: ignore[arg-type]


def test_approving_a_residents_request_needs_its_kind(uow: UnitOfWorkFactory) -> None:
    entry = registry.add_entry(uow, STAFF, number="+12125550100", kind="unspecified",
                               holder="requested by resident R1001",
                               credential="resident:R1001", verified=False,
                               source=Source.RESIDENT_REQUEST, now=NOW)
    with pytest.raises(InvalidInput) as caught:
        portal_review.approve(uow, STAFF, entry.id, kind="", now=NOW)
    assert set(caught.value.details["fields"]) == {"kind"}
    done = portal_review.approve(uow, STAFF, entry.id, kind="physician", now=NOW)
    assert (done.status, done.kind) == (Status.VERIFIED, Kind.PHYSICIAN)
    with uow() as u:
        last = list(u.audit.entries())[-1]
    assert (last.action, last.actor) == ("registry.verify", "staff:sam-staff")


def test_rejecting_needs_a_reason_which_is_audited(uow: UnitOfWorkFactory) -> None:
    portal.register(uow, form(), now=NOW)
    entry_id = registry.check(uow, STAFF, LAWYER, now=NOW).entries[0].id
    with pytest.raises(InvalidInput):
        portal_review.reject(uow, STAFF, entry_id, reason="   ", now=NOW)
    assert portal_review.reject(uow, STAFF, entry_id, reason="not on the NY roll",
                         now=NOW).status is Status.REVOKED
    with uow() as u:
        last = list(u.audit.entries())[-1]
    assert last.action == "registry.revoke" and "not on the NY roll" in last.details


def test_a_stale_approval_does_not_undo_a_rejection(uow: UnitOfWorkFactory) -> None:
    portal.register(uow, form(), now=NOW)
    entry_id = registry.check(uow, STAFF, LAWYER, now=NOW).entries[0].id
    portal_review.reject(uow, STAFF, entry_id, reason="unknown credential", now=NOW)
    with pytest.raises(Conflict) as caught:
        portal_review.approve(uow, STAFF, entry_id, kind="attorney", now=NOW)
    assert caught.value.code == "already_reviewed"
    assert registry.check(uow, STAFF, LAWYER, now=NOW).privileged is False


def test_expiry_is_confirmed_only_once_the_period_has_lapsed(
        uow: UnitOfWorkFactory, world: World) -> None:
    lapsed = registry.add_entry(uow, STAFF, number=LAWYER, kind="attorney", holder="Lee Bar",
                                credential="NY:7654321", verified=True, now=NOW,
                                valid_for=timedelta(days=10))
    later = NOW + timedelta(days=20)
    listed = portal_review.expiring(uow, STAFF, within=timedelta(days=60), now=later)
    assert [i.entry.id for i in listed] == [lapsed.id]
    # Ada's verification runs two years from NOW: not lapsed, so not expired.
    with pytest.raises(Conflict) as caught:
        portal_review.confirm_expiry(uow, STAFF, world.attorney_entry_id, now=later)
    assert caught.value.code == "not_lapsed"
    assert registry.check(uow, STAFF, LAWYER, now=later).privileged  # until staff confirm
    done = portal_review.confirm_expiry(uow, STAFF, lapsed.id, now=later)
    assert done.status is Status.EXPIRED
    assert not registry.check(uow, STAFF, LAWYER, now=later).privileged
