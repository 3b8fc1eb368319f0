"""Investigators: scoped to their facilities, a reason always, every access on the record;
exports are disclosures with a legal basis, ledgered; destroyed means unreadable."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import update

from privline.adapters.db.tables import vault as v
from privline.domain.model import Actor, Facility
from privline.domain.rates import FacilityKind
from privline.domain.registry import Status
from privline.services import facilities, recordings, registry, users, vault_lifecycle
from privline.services import vault as vault_service
from privline.services.errors import Forbidden, InvalidInput, NotFound
from privline.services.ports import UnitOfWorkFactory
from privline.services.ports.vault import Vault
from tests.conftest import ADMIN, AUDITOR, FAMILY_NUMBER, NOW, STAFF, World
from tests.integration.vault_support import (
    LATER,
    SWITCH,
    files_under,
    place_call,
    spool_recording,
)

CLINIC = "+13105550177"




@pytest.fixture
def ivan(uow: UnitOfWorkFactory, world: World) -> Actor:
    """An investigator granted the state prison only."""
    made = users.add_user(uow, ADMIN, name="Ivan", role="investigator", now=NOW)
    user = made.user
    recordings.grant_facility(uow, ADMIN, user_id=user.id, facility_id="state-prison", now=NOW)
    actor = users.authenticate(uow, str(made.token), now=NOW)
    assert actor.user_id == user.id
    return actor


@pytest.fixture
def stored(uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> dict[str, int]:
    """One recording at the prison, one at the county jail, one to a clinic (quarantined
    once the clinic is verified), one destroyed."""
    facilities.add_facility(uow, ADMIN, Facility("county-jail", "County Jail",
                                                 FacilityKind.JAIL, 300), now=NOW)
    facilities.add_resident(uow, STAFF, facility_id="county-jail", resident_id="J7",
                            pin="1357", opening_balance_cents=500, now=NOW)
    spool = home / "recordings" / "spool"
    for name, number, facility, resident in (
            ("prison", FAMILY_NUMBER, "state-prison", "R1001"),
            ("jail", FAMILY_NUMBER, "county-jail", "J7"),
            ("clinic", CLINIC, "state-prison", "R1001"),
            ("gone", FAMILY_NUMBER, "state-prison", "R1001")):
        place_call(uow, f"{name}@test", number, facility=facility, resident=resident)
        spool_recording(spool, f"{name}@test", seed=len(name))
    ids = vault_service.ingest_all(uow, SWITCH, vault, now=LATER).stored
    found = dict(zip(("prison", "jail", "clinic", "gone"), ids, strict=True))
    entry = registry.add_entry(uow, STAFF, number=CLINIC, kind="physician", holder="Dr. Lee",
                               credential="NPI-77", verified=False, now=NOW)
    registry.change_status(uow, STAFF, entry.id, Status.VERIFIED, now=LATER)
    vault_lifecycle.set_policy(uow, ADMIN, "state-prison", retention_days=1, now=LATER)
    with uow() as u:  # make "gone" the only one past retention
        u.recordings.conn.execute(  # type: ignore[attr-defined]
            update(v.recordings).where(v.recordings.c.id == found["gone"])
            .values(call_at=NOW.replace(year=2025)))
        u.commit()
    purged = vault_lifecycle.purge_expired(uow, ADMIN, vault, now=LATER)
    assert purged.past_retention == [found["gone"]]
    return found


def audit_tail(uow: UnitOfWorkFactory, n: int) -> list[tuple[str, str, dict[str, object]]]:
    with uow() as u:
        events = list(u.audit.entries())[-n:]
    return [(e.action, e.subject, json.loads(e.details)) for e in events]


def test_an_investigator_sees_only_stored_recordings_of_their_facilities(
        uow: UnitOfWorkFactory, ivan: Actor, stored: dict[str, int]) -> None:
    listed = recordings.list_recordings(uow, ivan, reason="case 2026-114", now=LATER)
    assert [r.id for r in listed] == [stored["prison"]]
    everything = recordings.list_recordings(uow, ADMIN, reason="audit sample", now=LATER)
    assert sorted(r.id for r in everything) == sorted([stored["prison"], stored["jail"]])
    ((action, subject, details),) = audit_tail(uow, 1)
    assert (action, subject, details["reason"]) == ("recording.list", "recordings",
                                                    "audit sample")


@pytest.mark.parametrize("which", ["jail", "clinic", "gone", "nonexistent"])
def test_out_of_scope_quarantined_and_destroyed_answer_like_not_found(
        uow: UnitOfWorkFactory, vault: Vault, ivan: Actor, stored: dict[str, int],
        which: str) -> None:
    recording_id = stored.get(which, 424_242)
    with pytest.raises(NotFound) as answer:
        recordings.play(uow, ivan, vault, recording_id, reason="case 9", now=LATER)
    assert (answer.value.code, answer.value.message, answer.value.details) == (
        "recording_not_found", f"no recording {recording_id}", {})
    with pytest.raises(NotFound) as exported:
        recordings.export(uow, ivan, vault, recording_id, reason="case 9",
                          basis_type="warrant", basis_reference="W-1", recipient="DA",
                          now=LATER)
    assert exported.value.message == answer.value.message
    # The attempts are on the record, with the reason.
    (play, export) = audit_tail(uow, 2)
    assert play[:2] == ("recording.play", f"recording:{recording_id}")
    assert (play[2]["outcome"], play[2]["reason"]) == ("not_found", "case 9")
    assert export[2]["outcome"] == "not_found"


def test_play_returns_the_audio_and_audits_it_with_the_reason(
        uow: UnitOfWorkFactory, vault: Vault, ivan: Actor, stored: dict[str, int]) -> None:
    wav = recordings.play(uow, ivan, vault, stored["prison"], reason="case 2026-114",
                          now=LATER)
    assert wav[:4] == b"RIFF"
    ((action, subject, details),) = audit_tail(uow, 1)
    assert (action, subject) == ("recording.play", f"recording:{stored['prison']}")
    assert (details["reason"], details["outcome"]) == ("case 2026-114", "ok")


def test_a_reason_is_always_required(uow: UnitOfWorkFactory, vault: Vault, ivan: Actor,
                                     stored: dict[str, int]) -> None:
    with uow() as u:
        before = u.audit.count()
    for reason in ("", "   ", "x" * 501, "line\nbreak"):
        with pytest.raises(InvalidInput):
            recordings.list_recordings(uow, ivan, reason=reason, now=LATER)
        with pytest.raises(InvalidInput):
            recordings.play(uow, ivan, vault, stored["prison"], reason=reason, now=LATER)
        with pytest.raises(InvalidInput):
            recordings.export(uow, ivan, vault, stored["prison"], reason=reason,
                              basis_type="warrant", basis_reference="W-1", recipient="DA",
                              now=LATER)
    with uow() as u:
        assert u.audit.count() == before


def test_an_export_needs_a_legal_basis(uow: UnitOfWorkFactory, vault: Vault, ivan: Actor,
                                       stored: dict[str, int]) -> None:
    for basis_type, reference, recipient in (("", "W-1", "DA"), ("hunch", "W-1", "DA"),
                                             ("warrant", "", "DA"), ("warrant", "W-1", "")):
        with pytest.raises(InvalidInput):
            recordings.export(uow, ivan, vault, stored["prison"], reason="case 5",
                              basis_type=basis_type, basis_reference=reference,
                              recipient=recipient, now=LATER)
    with uow() as u:
        assert u.disclosures.list() == []


def test_an_export_is_ledgered_with_its_basis_and_the_hash_of_what_left(
        uow: UnitOfWorkFactory, vault: Vault, ivan: Actor, stored: dict[str, int]) -> None:
    done = recordings.export(uow, ivan, vault, stored["prison"], reason="trial exhibit",
                             basis_type="court_order", basis_reference="CR-2026-0042",
                             recipient="Superior Court clerk", now=LATER)
    assert done.sha256 == hashlib.sha256(done.wav).hexdigest()
    with uow() as u:
        (line,) = u.disclosures.list()
    assert (line.id, line.recording_id, line.basis_type.value, line.basis_reference,
            line.recipient, line.sha256, line.actor) == (
        done.disclosure_id, stored["prison"], "court_order", "CR-2026-0042",
        "Superior Court clerk", done.sha256, "investigator:Ivan")
    ((action, _, details),) = audit_tail(uow, 1)
    assert action == "recording.export" and details["disclosure"] == done.disclosure_id
    assert details["sha256"] == done.sha256 and details["reason"] == "trial exhibit"


def test_an_export_that_was_not_delivered_is_audited_as_failed_and_not_ledgered(
        uow: UnitOfWorkFactory, vault: Vault, ivan: Actor, stored: dict[str, int]) -> None:
    def unwritable(wav: bytes) -> None:
        open("/nonexistent/x.wav", "wb").write(wav)  # noqa: SIM115 - fails: no such folder

    with pytest.raises(InvalidInput) as refused:
        recordings.export(uow, ivan, vault, stored["prison"], reason="trial exhibit",
                          basis_type="warrant", basis_reference="W-7", recipient="DA",
                          now=LATER, deliver=unwritable)
    assert refused.value.code == "export_failed"
    with uow() as u:
        assert u.disclosures.list() == []
    ((action, _, details),) = audit_tail(uow, 1)
    assert action == "recording.export" and details["outcome"] == "failed"
    assert "/nonexistent/x.wav" in details["error"] and "disclosure" not in details

    delivered: list[bytes] = []
    done = recordings.export(uow, ivan, vault, stored["prison"], reason="trial exhibit",
                             basis_type="warrant", basis_reference="W-7", recipient="DA",
                             now=LATER, deliver=delivered.append)
    assert delivered == [done.wav]
    with uow() as u:
        assert [d.id for d in u.disclosures.list()] == [done.disclosure_id]


def test_roles_without_recording_access_are_refused(
        uow: UnitOfWorkFactory, vault: Vault, stored: dict[str, int]) -> None:
    for actor in (STAFF, AUDITOR):
        with pytest.raises(Forbidden):
            recordings.list_recordings(uow, actor, reason="curious", now=LATER)
        with pytest.raises(Forbidden):
            recordings.play(uow, actor, vault, stored["prison"], reason="curious", now=LATER)


def test_an_investigator_with_no_grant_sees_nothing(
        uow: UnitOfWorkFactory, vault: Vault, stored: dict[str, int]) -> None:
    made = users.add_user(uow, ADMIN, name="Nora", role="investigator", now=NOW)
    nora = users.authenticate(uow, str(made.token), now=NOW)
    assert recordings.list_recordings(uow, nora, reason="case 1", now=LATER) == []
    with pytest.raises(NotFound):
        recordings.play(uow, nora, vault, stored["prison"], reason="case 1", now=LATER)
    recordings.grant_facility(uow, ADMIN, user_id=made.user.id, facility_id="county-jail",
                              now=LATER)
    assert [r.id for r in recordings.list_recordings(uow, nora, reason="case 1",
                                                     now=LATER)] == [stored["jail"]]
    recordings.revoke_facility(uow, ADMIN, user_id=made.user.id, facility_id="county-jail",
                               now=LATER)
    assert recordings.list_recordings(uow, nora, reason="case 1", now=LATER) == []


def test_destruction_removes_the_wrapped_key_and_the_blob(
        uow: UnitOfWorkFactory, vault: Vault, home: Path, stored: dict[str, int]) -> None:
    with uow() as u:
        gone = u.recordings.get(stored["gone"])
        alive = u.recordings.get(stored["prison"])
    assert gone is not None and alive is not None
    assert (gone.state.value, gone.wrapped_key, gone.destroyed_reason) == (
        "destroyed", None, "retention_period_over")
    blobs = {p.stem for p in files_under(home / "vault")}
    assert gone.blob_id not in blobs and alive.blob_id in blobs
