"""Retroactive quarantine when a number becomes verified, review, holds, and the sweep."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, text

from privline.adapters.db import tables as t
from privline.domain.model import Facility
from privline.domain.rates import FacilityKind
from privline.domain.registry import Source, Status
from privline.domain.vault import RecordingState
from privline.services import facilities, recordings, registry, vault_lifecycle
from privline.services import vault as vault_service
from privline.services.errors import Conflict, NotFound, Unavailable
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.services.ports.registry import NewEntry
from privline.services.ports.vault import Vault
from tests.conftest import ADMIN, FAMILY_NUMBER, NOW, STAFF, World
from tests.integration.vault_support import (
    LATER,
    SWITCH,
    files_under,
    place_call,
    spool_recording,
)

CLINIC = "+13105550177"




def store_calls(uow: UnitOfWorkFactory, vault: Vault, home: Path, number: str, n: int,
                prefix: str, facility: str = "state-prison", resident: str = "R1001"
                ) -> list[int]:
    for i in range(n):
        place_call(uow, f"{prefix}-{i}@test", number, facility=facility, resident=resident)
        spool_recording(home / "recordings" / "spool", f"{prefix}-{i}@test", seed=i)
    return vault_service.ingest_all(uow, SWITCH, vault, now=LATER).stored


def states(uow: UnitOfWorkFactory, ids: list[int]) -> list[str]:
    with uow() as u:
        return [u.recordings.get(i).state.value for i in ids]  # type: ignore[union-attr]


def pending_clinic(uow: UnitOfWorkFactory) -> int:
    return registry.add_entry(uow, STAFF, number=CLINIC, kind="physician", holder="Dr. Lee",
                              credential="NPI-77", verified=False, now=NOW).id


def test_verifying_a_number_quarantines_its_recordings_in_the_same_transaction(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    clinic = store_calls(uow, vault, home, CLINIC, 2, "clinic")
    family = store_calls(uow, vault, home, FAMILY_NUMBER, 1, "family")
    entry_id = pending_clinic(uow)
    assert states(uow, clinic) == ["stored", "stored"]

    registry.change_status(uow, STAFF, entry_id, Status.VERIFIED, now=LATER)

    assert states(uow, clinic) == ["quarantined", "quarantined"]
    assert states(uow, family) == ["stored"]
    with uow() as u:
        (incident,) = u.incidents.list(open_only=True, limit=10, offset=0)
        events = list(u.audit.entries())
        quarantined = u.recordings.get(clinic[0])
    assert (incident.kind.value, incident.number, incident.recordings) == (
        "quarantined_on_verify", CLINIC, 2)
    assert quarantined is not None and quarantined.destroy_after == LATER + timedelta(days=30)
    verify, quarantine = events[-2], events[-1]
    assert (verify.action, quarantine.action) == ("registry.verify", "recording.quarantine")
    assert f'"recordings":[{clinic[0]},{clinic[1]}]' in quarantine.details
    # The investigator's view: gone, and exactly like a recording that never existed.
    listed = recordings.list_recordings(uow, ADMIN, reason="case 7", now=LATER)
    assert [r.id for r in listed] == family
    with pytest.raises(NotFound) as hidden:
        recordings.play(uow, ADMIN, vault, clinic[0], reason="case 7", now=LATER)
    with pytest.raises(NotFound) as missing:
        recordings.play(uow, ADMIN, vault, 99_999, reason="case 7", now=LATER)
    assert (hidden.value.code, str(hidden.value).replace(str(clinic[0]), "N")) == (
        missing.value.code, str(missing.value).replace("99999", "N"))


def test_adding_an_entry_already_verified_quarantines_too(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    clinic = store_calls(uow, vault, home, CLINIC, 1, "clinic")
    registry.add_entry(uow, STAFF, number="(310) 555-0177", kind="physician",
                       holder="Dr. Lee", credential="NPI-77", verified=True, now=LATER)
    assert states(uow, clinic) == ["quarantined"]


def _portal_directory_match(uow: UnitOfWorkFactory) -> None:
    from privline.domain.registry import Kind
    from privline.services import portal

    with uow() as u:  # inserted behind the services' back: nothing quarantined yet
        u.registry.add_imported([NewEntry(CLINIC, Kind.PHYSICIAN, "DR LEE", "1234567893",
                                          Source.IMPORT, Status.VERIFIED, NOW, None)],
                                "nppes", 0, NOW)
        u.commit()
    portal.register(uow, portal.RegistrationForm("Dr. Lee", "physician", "NPI 1234567893",
                                                 ["310 555 0177"], "lee@example.org"),
                    now=LATER)


def _portal_approval(uow: UnitOfWorkFactory) -> None:
    from privline.services import portal, portal_review

    portal.register(uow, portal.RegistrationForm("Dr. Lee", "physician", "NPI-77",
                                                 ["310 555 0177"], "lee@example.org"),
                    now=NOW)
    (item,) = portal_review.review_queue(uow, STAFF).items
    portal_review.approve(uow, STAFF, item.entry.id, kind="physician", now=LATER)


def _import_relisting(uow: UnitOfWorkFactory) -> None:
    from privline.domain.registry import Kind
    from privline.services import imports

    with uow() as u:  # an entry an import revoked before imports stopped revoking
        u.registry.add_imported([NewEntry(CLINIC, Kind.PHYSICIAN, "DR LEE", "1234567893",
                                          Source.IMPORT, Status.REVOKED, NOW, None)],
                                "nppes", 0, NOW)
        u.recordings.conn.execute(  # type: ignore[attr-defined]
            t.registry_entries.update().values(note="import: no longer listed by nppes"))
        u.commit()
    listing = imports.Listing("1234567893", "DR LEE", Kind.PHYSICIAN, ("310 555 0177",),
                              True, 2)
    summary = imports.import_directory(uow, STAFF, origin="nppes", file_name="npidata.csv",
                                       listings=iter([listing]), complete=lambda: True,
                                       now=LATER)
    assert summary.reprotected == 1


@pytest.mark.parametrize("protect", [_portal_directory_match, _portal_approval,
                                     _import_relisting])
def test_every_path_that_protects_a_number_quarantines_its_recordings(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path,
        protect: Any) -> None:
    """Issue 12: the portal's placement skipped the quarantine; every path goes through
    protection.apply now (staff add, staff verify and import add are tested above)."""
    clinic = store_calls(uow, vault, home, CLINIC, 1, "clinic")
    assert states(uow, clinic) == ["stored"]
    protect(uow)
    assert states(uow, clinic) == ["quarantined"]


class _CommitFails:
    """A unit of work whose commit fails, as when the database goes away at that moment."""

    def __init__(self, inner: UnitOfWork) -> None:
        self._inner = inner

    def __enter__(self) -> UnitOfWork:
        uow = self._inner.__enter__()

        def commit() -> None:
            raise Unavailable("the database refused the commit")

        uow.commit = commit  # type: ignore[method-assign]
        return uow

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)  # type: ignore[arg-type]


def test_a_verification_that_fails_to_commit_quarantines_nothing_either(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    clinic = store_calls(uow, vault, home, CLINIC, 1, "clinic")
    entry_id = pending_clinic(uow)
    with pytest.raises(Unavailable):
        registry.change_status(lambda: _CommitFails(uow()),  # type: ignore[arg-type, return-value]
                               STAFF, entry_id, Status.VERIFIED, now=LATER)
    assert states(uow, clinic) == ["stored"]
    with uow() as u:
        assert u.incidents.list(open_only=False, limit=10, offset=0) == []


def test_each_facility_gets_its_own_incident_and_review_period(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    facilities.add_facility(uow, ADMIN, Facility("county-jail", "County Jail",
                                                 FacilityKind.JAIL, 300), now=NOW)
    facilities.add_resident(uow, STAFF, facility_id="county-jail", resident_id="J7",
                            pin="1357", opening_balance_cents=500, now=NOW)
    vault_lifecycle.set_policy(uow, ADMIN, "county-jail", review_days=7, now=NOW)
    prison = store_calls(uow, vault, home, CLINIC, 1, "p")
    jail = store_calls(uow, vault, home, CLINIC, 1, "j", facility="county-jail", resident="J7")

    registry.change_status(uow, STAFF, pending_clinic(uow), Status.VERIFIED, now=LATER)

    with uow() as u:
        found = {i.facility_id: i.recordings
                 for i in u.incidents.list(open_only=True, limit=10, offset=0)}
        after = {r: u.recordings.get(r).destroy_after for r in prison + jail}  # type: ignore[union-attr]
    assert found == {"state-prison": 1, "county-jail": 1}
    assert after == {prison[0]: LATER + timedelta(days=30), jail[0]: LATER + timedelta(days=7)}


def test_quarantined_recordings_are_destroyed_after_review_unless_held(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    held, shredded = store_calls(uow, vault, home, CLINIC, 2, "clinic")
    registry.change_status(uow, STAFF, pending_clinic(uow), Status.VERIFIED, now=LATER)
    hold = vault_lifecycle.place_hold(uow, ADMIN, held, basis="People v. Doe, order 2026-41",
                                      now=LATER)
    with pytest.raises(Conflict):
        vault_lifecycle.destroy_recording(uow, ADMIN, vault, held, reason="reviewed",
                                          now=LATER)

    early = vault_lifecycle.purge_expired(uow, ADMIN, vault, now=LATER + timedelta(days=29))
    due = vault_lifecycle.purge_expired(uow, ADMIN, vault, now=LATER + timedelta(days=31))

    assert (early.past_review, due.past_review) == ([], [shredded])
    assert states(uow, [held, shredded]) == ["quarantined", "destroyed"]
    with uow() as u:
        gone = u.recordings.get(shredded)
    assert gone is not None and (gone.wrapped_key, gone.destroyed_reason) == (
        None, "review_period_over")
    assert len(files_under(home / "vault")) == 1  # the held one's blob only

    vault_lifecycle.release_hold(uow, ADMIN, hold.id, reason="case closed",
                                 now=LATER + timedelta(days=40))
    vault_lifecycle.purge_expired(uow, ADMIN, vault, now=LATER + timedelta(days=40))
    assert states(uow, [held]) == ["destroyed"] and files_under(home / "vault") == []


def test_an_administrator_may_destroy_a_reviewed_recording_before_the_period_ends(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    (clinic,) = store_calls(uow, vault, home, CLINIC, 1, "clinic")
    family = store_calls(uow, vault, home, FAMILY_NUMBER, 1, "family")
    with pytest.raises(Conflict):  # only quarantined recordings
        vault_lifecycle.destroy_recording(uow, ADMIN, vault, family[0], reason="x", now=LATER)
    registry.change_status(uow, STAFF, pending_clinic(uow), Status.VERIFIED, now=LATER)
    done = vault_lifecycle.destroy_recording(uow, ADMIN, vault, clinic, reason="reviewed",
                                             now=LATER)
    assert (done.state, done.destroyed_reason) == (RecordingState.DESTROYED,
                                                   "destroyed_after_review")
    assert len(files_under(home / "vault")) == 1


def test_the_sweep_quarantines_what_an_import_verified_behind_the_services_back(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    clinic = store_calls(uow, vault, home, CLINIC, 2, "clinic")
    with uow() as u:  # a bulk load straight into the table, no service involved
        u.registry.conn.execute(insert(t.registry_entries).values(  # type: ignore[attr-defined]
            number=CLINIC, kind="physician", holder="Dr. Lee", credential="NPI-77",
            source="import", status="verified", valid_from=NOW, note="", created_at=NOW,
            updated_at=NOW))
        u.commit()
    assert states(uow, clinic) == ["stored", "stored"]

    report = vault_service.sweep(uow, ADMIN, vault, now=LATER)

    assert report.quarantined == {CLINIC: 2}
    assert states(uow, clinic) == ["quarantined", "quarantined"]
    assert vault_service.sweep(uow, ADMIN, vault, now=LATER).quarantined == {}


def test_the_sweep_reclaims_orphan_and_destroyed_blobs_and_reports_missing_ones(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    kept, lost = store_calls(uow, vault, home, FAMILY_NUMBER, 2, "family")
    # A crash between the blob's write and its index row: a blob no key opens.
    vault.blobs.put("r" + "0" * 32, b"PLVB" + os.urandom(100))
    fresh = "r" + "1" * 32
    with uow() as u:
        lost_blob = u.recordings.get(lost).blob_id  # type: ignore[union-attr]
    assert lost_blob is not None
    os.unlink(vault.blobs.store.path(lost_blob))  # type: ignore[attr-defined]

    wall = datetime.now(UTC)  # blob ages come from the files' modification times
    young = vault_service.sweep(uow, ADMIN, vault, now=wall)  # every orphan is young
    assert (young.reclaimed_orphans, young.missing_blobs) == (0, [lost])
    vault.blobs.put(fresh, b"x" * 10)
    old = vault_service.sweep(uow, ADMIN, vault, now=wall + timedelta(days=1),
                              orphan_grace=timedelta(hours=1))
    assert old.reclaimed_orphans == 2
    assert len(files_under(home / "vault")) == 1
    with uow() as u:
        assert u.recordings.get(kept).state is RecordingState.STORED  # type: ignore[union-attr]


def wait_until_waiting(engine: Engine, waiter: threading.Thread) -> None:
    """Until ``waiter`` waits for a lock this thread's transaction holds, or has
    finished. SQLite has one writer: a transaction begun while ours is open always
    waits, so only PostgreSQL's order needs waiting for (any lock not granted)."""
    if engine.dialect.name == "sqlite":
        return
    deadline = time.monotonic() + 30
    while waiter.is_alive() and time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                return
        time.sleep(0.005)


def test_a_verification_racing_an_ingest_still_quarantines_the_new_recording(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path, engine: Engine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest judges the number in its indexing transaction while a verification of the
    same number runs concurrently: either the ingest sees the verified entry, or the
    verification's quarantine sees the new row. Never a stored recording of a verified
    number (on PostgreSQL this needs the per-number lock; SQLite has one writer)."""
    place_call(uow, "race@test", CLINIC)
    spool_recording(home / "recordings" / "spool", "race@test")
    entry_id = pending_clinic(uow)
    real_judge = vault_service._judge
    calls: list[int] = []
    verifier: list[threading.Thread] = []

    def judge_while_verifying(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:  # the indexing transaction, which holds the number's lock
            thread = threading.Thread(target=registry.change_status, args=(
                uow, STAFF, entry_id, Status.VERIFIED), kwargs={"now": LATER})
            thread.start()
            verifier.append(thread)
            wait_until_waiting(engine, thread)  # the verification now waits for us
        return real_judge(*args, **kwargs)

    monkeypatch.setattr(vault_service, "_judge", judge_while_verifying)
    (stored,) = vault_service.ingest_all(uow, SWITCH, vault, now=LATER).stored
    verifier[0].join(30)

    assert states(uow, [stored]) == ["quarantined"]


def test_a_directory_import_quarantines_recordings_of_the_numbers_it_protects(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    from privline.domain.registry import Kind
    from privline.services import imports

    clinic = store_calls(uow, vault, home, CLINIC, 2, "imported")
    listing = imports.Listing("1234567893", "DR LEE", Kind.PHYSICIAN, ("310 555 0177",),
                              True, 2)
    imports.import_directory(uow, STAFF, origin="nppes", file_name="npidata.csv",
                             listings=iter([listing]), complete=lambda: True, now=LATER)
    assert states(uow, clinic) == ["quarantined", "quarantined"]


def test_calls_list_knows_which_calls_have_a_recording_in_the_vault(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    from privline.services.call_records import calls_in_vault

    store_calls(uow, vault, home, FAMILY_NUMBER, 1, "kept")
    place_call(uow, "never-recorded@test", FAMILY_NUMBER)
    assert calls_in_vault(uow, ADMIN, ["kept-0@test", "never-recorded@test"]) == {
        "kept-0@test"}
