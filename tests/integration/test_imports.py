"""Directory imports through the service on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from privline.adapters.db import tables as t
from privline.domain.registry import Kind, Review, Status
from privline.services import imports, registry
from privline.services.errors import Conflict, InvalidInput
from privline.services.imports import Listing
from privline.services.ports import UnitOfWorkFactory
from tests.conftest import NOW, STAFF

BOB = Listing("NY:2912345", "BOB BARRISTER", Kind.ATTORNEY, ("(718) 555-0111",), True, 2)
RITA = Listing("NY:1876543", "RITA RETIRED", Kind.ATTORNEY, ("(518) 555-0112",), False, 3)
ALICE = Listing("1234567893", "ALICE ADAMS", Kind.PHYSICIAN, ("5185550101",), True, 4)


def run(uow: UnitOfWorkFactory, *listings: Listing, complete: bool = True,
        origin: str = "bar-csv:NY", at=NOW):  # type: ignore[no-untyped-def]
    return imports.import_directory(uow, STAFF, origin=origin, file_name="roster.csv",
                                    listings=iter(listings), complete=lambda: complete,
                                    now=at)


def privileged(uow: UnitOfWorkFactory, number: str) -> bool:
    return registry.check(uow, STAFF, number, now=NOW + timedelta(days=100)).privileged


def statuses(uow: UnitOfWorkFactory) -> list[tuple[str, str, str]]:
    return sorted((e.credential, e.number, e.status.value)
                  for e in registry.list_entries(uow, STAFF, limit=1000))


def test_imported_numbers_are_protected_at_once(uow: UnitOfWorkFactory) -> None:
    summary = run(uow, BOB, RITA)
    assert (summary.added, summary.listings, summary.complete) == (1, 2, True)
    assert privileged(uow, "+17185550111")
    assert not privileged(uow, "+15185550112")  # Rita is retired: never added
    entry = registry.check(uow, STAFF, "+17185550111", now=NOW).entries[0]
    assert (entry.source.value, entry.kind, entry.credential) == ("import", Kind.ATTORNEY,
                                                                  "NY:2912345")


def test_reimporting_the_same_file_changes_nothing(uow: UnitOfWorkFactory) -> None:
    run(uow, BOB, RITA)
    before = statuses(uow)
    again = run(uow, BOB, RITA, at=NOW + timedelta(days=1))
    assert (again.added, again.confirmed, again.sent_to_review) == (0, 1, 0)
    assert statuses(uow) == before


def in_review(uow: UnitOfWorkFactory) -> list[tuple[str, str | None]]:
    return [(e.number, e.review) for e in registry.in_review(uow, STAFF)]


def test_a_number_missing_from_a_newer_file_goes_to_review_and_stays_protected(
        uow: UnitOfWorkFactory) -> None:
    """Issue 12: a second file lacking the first one's numbers revoked them all."""
    run(uow, BOB)
    moved = Listing(BOB.credential, BOB.holder, Kind.ATTORNEY, ("(718) 555-0199",), True, 2)
    summary = run(uow, moved, at=NOW + timedelta(days=30))
    assert (summary.added, summary.review_missing, summary.sent_to_review) == (1, 1, 1)
    assert privileged(uow, "+17185550199")
    assert privileged(uow, "+17185550111")  # until staff decide
    assert in_review(uow) == [("+17185550111", Review.MISSING.value)]
    # Another complete file without it does not count it twice.
    assert run(uow, moved, at=NOW + timedelta(days=31)).review_missing == 0


def test_a_deactivated_listing_goes_to_review_and_stays_protected(
        uow: UnitOfWorkFactory) -> None:
    run(uow, BOB)
    retired = Listing(BOB.credential, BOB.holder, Kind.ATTORNEY, (), False, 2)
    summary = run(uow, retired, at=NOW + timedelta(days=60))
    assert (summary.review_deactivated, summary.review_missing) == (1, 0)
    assert privileged(uow, "+17185550111")
    assert in_review(uow) == [("+17185550111", Review.DEACTIVATED.value)]


def test_staff_settle_a_review_by_revoking_with_a_reason_or_keeping(
        uow: UnitOfWorkFactory) -> None:
    run(uow, BOB, ALICE)
    run(uow, at=NOW + timedelta(days=1))  # an empty complete file: both to review
    bob, alice = (registry.check(uow, STAFF, n, now=NOW).entries[0]
                  for n in ("+17185550111", "+15185550101"))
    with pytest.raises(InvalidInput):  # taking protection away needs a reason
        registry.change_status(uow, STAFF, bob.id, Status.REVOKED, now=NOW)
    registry.change_status(uow, STAFF, bob.id, Status.REVOKED, now=NOW,
                           note="retired, confirmed with the bar")
    kept = registry.keep_after_review(uow, STAFF, alice.id, reason="still practising",
                                      now=NOW)
    assert (kept.status, kept.review) == (Status.VERIFIED, None)
    assert not privileged(uow, "+17185550111")
    assert privileged(uow, "+15185550101")
    assert in_review(uow) == []
    with pytest.raises(Conflict):
        registry.keep_after_review(uow, STAFF, alice.id, reason="again", now=NOW)


def test_relisting_settles_the_review(uow: UnitOfWorkFactory) -> None:
    run(uow, BOB, ALICE)
    run(uow, ALICE, at=NOW + timedelta(days=1))
    assert in_review(uow) == [("+17185550111", Review.MISSING.value)]
    assert run(uow, BOB, ALICE, at=NOW + timedelta(days=2)).confirmed == 2
    assert in_review(uow) == []


def test_an_incomplete_file_sends_nothing_missing_to_review(uow: UnitOfWorkFactory) -> None:
    run(uow, BOB, ALICE)
    summary = run(uow, ALICE, complete=False, at=NOW + timedelta(days=1))
    assert summary.review_missing == 0
    assert in_review(uow) == []


def test_relisting_reprotects_an_older_import_revocation_but_not_a_staff_one(
        uow: UnitOfWorkFactory, engine: Engine) -> None:
    run(uow, BOB, ALICE)
    with engine.begin() as conn:  # what an import made before issue 12 left behind
        conn.execute(update(t.registry_entries).where(t.registry_entries.c.number
                                                      == "+17185550111")
                     .values(status="revoked", note="import: no longer listed by bar-csv:NY"))
    assert not privileged(uow, "+17185550111")
    alice_entry = registry.check(uow, STAFF, "+15185550101", now=NOW).entries[0]
    registry.change_status(uow, STAFF, alice_entry.id, Status.REVOKED, now=NOW,
                           note="number reassigned to a pharmacy")
    summary = run(uow, BOB, ALICE, at=NOW + timedelta(days=2))
    assert summary.reprotected == 1
    assert privileged(uow, "+17185550111")
    assert not privileged(uow, "+15185550101")  # staff's revocation stands


def test_a_dry_run_reports_what_would_change_and_writes_nothing(
        uow: UnitOfWorkFactory, engine: Engine) -> None:
    run(uow, BOB, ALICE)

    def snapshot() -> tuple[object, ...]:
        with engine.connect() as conn:
            return tuple(conn.execute(select(func.count()).select_from(table)).scalar_one()
                         for table in (t.registry_entries, t.import_runs, t.audit_events))

    before, listed = snapshot(), statuses(uow)
    moved = Listing(BOB.credential, BOB.holder, Kind.ATTORNEY, ("(718) 555-0199",), True, 2)
    summary = imports.import_directory(
        uow, STAFF, origin="bar-csv:NY", file_name="roster.csv", listings=iter([moved]),
        complete=lambda: True, now=NOW + timedelta(days=1), dry_run=True)
    assert (summary.dry_run, summary.added, summary.confirmed, summary.review_missing) == (
        True, 1, 0, 2)  # Bob's old number and Alice
    assert snapshot() == before and statuses(uow) == listed
    assert in_review(uow) == []


def test_bad_numbers_are_counted_with_lines_and_do_not_stop_the_import(
        uow: UnitOfWorkFactory) -> None:
    broken = Listing("NY:5", "EVE", Kind.ATTORNEY, ("555", "not a phone"), True, 9)
    summary = run(uow, broken, BOB)
    assert (summary.bad_numbers, summary.bad_number_lines, summary.added) == (2, [9, 9], 1)


def test_secondary_locations_take_the_credentials_kind(uow: UnitOfWorkFactory) -> None:
    location = Listing(ALICE.credential, "", None, ("5185550177",), True, 2)
    stranger = Listing("1440000077", "", None, ("5185550178",), True, 3)
    summary = run(uow, ALICE, location, stranger, origin="nppes")
    assert (summary.added, summary.skipped) == (2, 1)
    entry = registry.check(uow, STAFF, "+15185550177", now=NOW).entries[0]
    assert entry.kind is Kind.PHYSICIAN and entry.holder == "ALICE ADAMS"


def test_each_import_writes_its_summary_audit_event(uow: UnitOfWorkFactory) -> None:
    run(uow, BOB, RITA)
    with uow() as u:
        conn = u.audit.conn  # type: ignore[attr-defined]
        actions = list(conn.execute(select(t.audit_events.c.action)
                                    .order_by(t.audit_events.c.seq)).scalars())
        runs = conn.execute(select(func.count()).select_from(t.import_runs)).scalar_one()
    assert actions == ["registry.import.start", "registry.import.batch", "registry.import"]
    assert runs == 1


@pytest.mark.parametrize("batch", [1, 3])
def test_batches_of_any_size_give_the_same_registry(uow: UnitOfWorkFactory,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    batch: int) -> None:
    monkeypatch.setattr(imports, "BATCH", batch)
    run(uow, BOB, RITA, ALICE, BOB)
    assert statuses(uow) == [("1234567893", "+15185550101", "verified"),
                             ("NY:2912345", "+17185550111", "verified")]
