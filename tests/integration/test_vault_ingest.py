"""Vault ingest: encrypted at rest, idempotent, and the guard that destroys privileged audio."""

from __future__ import annotations

import hashlib
import io
import stat
import wave
from pathlib import Path

import pytest
from sqlalchemy import func, select

from privline.adapters.db.tables import vault as v
from privline.adapters.vault.crypto import WRAPPED_KEY_BYTES
from privline.domain.model import Facility
from privline.domain.policy import Mode
from privline.domain.rates import FacilityKind
from privline.domain.vault import RecordingState
from privline.services import blocks, facilities, recordings, registry
from privline.services import vault as vault_service
from privline.services.errors import Forbidden
from privline.services.ports import UnitOfWorkFactory
from privline.services.ports.vault import Vault
from tests.conftest import (
    ADMIN,
    ATTORNEY_NUMBER,
    AUDITOR,
    FAMILY_NUMBER,
    NOW,
    ROSA,
    STAFF,
    World,
)
from tests.integration.vault_support import (
    LATER,
    SWITCH,
    files_under,
    place_call,
    plaintext_outside_spool,
    spool_recording,
)
from tests.support.faults import RegistryDown

DOCTOR = "+13105550177"  # a clinic Rosa calls before it is registered




def ingest(uow: UnitOfWorkFactory, vault: Vault) -> vault_service.IngestReport:
    return vault_service.ingest_all(uow, SWITCH, vault, now=LATER)


def spool_files(home: Path) -> list[str]:
    spool = home / "recordings" / "spool"
    return [p.name for p in files_under(spool) if "quarantine" not in p.parts]


def rows(uow: UnitOfWorkFactory) -> list[dict[str, object]]:
    with uow() as u:
        conn = u.recordings.conn  # type: ignore[attr-defined]
        return [dict(r._mapping) for r in conn.execute(select(v.recordings)
                                                       .order_by(v.recordings.c.id))]


def incidents(uow: UnitOfWorkFactory) -> list[tuple[str, str | None]]:
    with uow() as u:
        return [(i.kind.value, i.spool_key)
                for i in u.incidents.list(open_only=False, limit=100, offset=0)]


def test_a_recorded_call_is_stored_encrypted_and_no_plaintext_is_left(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    assert place_call(uow, "fam-1@test", FAMILY_NUMBER) is Mode.RECORDED
    spooled = spool_recording(home / "recordings" / "spool", "fam-1@test", seconds=2.0)

    report = ingest(uow, vault)

    assert len(report.stored) == 1 and not (report.destroyed or report.retry)
    assert spool_files(home) == []
    (row,) = rows(uow)
    assert row["state"] == "stored" and row["number"] == FAMILY_NUMBER
    assert row["facility_id"] == "state-prison" and row["resident_id"] == ROSA
    assert len(row["wrapped_key"]) == WRAPPED_KEY_BYTES and row["audio_ms"] == 2000  # type: ignore[arg-type]
    (blob,) = files_under(home / "vault")
    assert blob.read_bytes()[:4] == b"PLVB" and stat.S_IMODE(blob.stat().st_mode) == 0o600
    assert plaintext_outside_spool(home, home / "recordings" / "spool", [spooled.sample]) == []
    # The stored audio is the recording's, whole: play decrypts it back.
    wav = recordings.play(uow, ADMIN, vault, report.stored[0], reason="test", now=LATER)
    assert hashlib.sha256(wav).hexdigest() == spooled.wav_sha256
    with wave.open(io.BytesIO(wav)) as reader:
        assert (reader.getnchannels(), reader.getnframes()) == (2, 16_000)


def test_ingest_twice_stores_once_and_clears_leftovers_of_a_crash(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    place_call(uow, "fam-2@test", FAMILY_NUMBER)
    spool = home / "recordings" / "spool"
    spool_recording(spool, "fam-2@test")
    assert len(ingest(uow, vault).stored) == 1
    # As if the last run died after its commit but before removing the spool files.
    spool_recording(spool, "fam-2@test")

    again = ingest(uow, vault)

    assert (again.stored, again.already) == ([], 1)
    assert spool_files(home) == [] and len(rows(uow)) == 1
    assert len(files_under(home / "vault")) == 1


def test_the_guard_destroys_a_recording_of_a_number_privileged_since_the_call(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    """An upstream fault recorded a call whose number is verified before ingest: the
    plaintext is destroyed on arrival, nothing is stored, an incident is opened."""
    assert place_call(uow, "doc-1@test", DOCTOR) is Mode.RECORDED
    spooled = spool_recording(home / "recordings" / "spool", "doc-1@test")
    registry.add_entry(uow, STAFF, number=DOCTOR, kind="physician", holder="Dr. Lee",
                       credential="NPI-1", verified=True, now=NOW)

    report = ingest(uow, vault)

    assert report.destroyed == [spooled.key] and report.stored == []
    assert spool_files(home) == [] and files_under(home / "vault") == []
    (row,) = rows(uow)
    assert (row["state"], row["wrapped_key"], row["blob_id"], row["destroyed_reason"]) == (
        "destroyed", None, None, "privileged_on_arrival")
    assert incidents(uow) == [("privileged_on_arrival", spooled.key)]
    with uow() as u:
        actions = [e.action for e in u.audit.entries()]
    assert actions[-1] == "recording.destroy_on_arrival"
    # A rerun (as after a crash before the files went) opens no second incident.
    spool_recording(home / "recordings" / "spool", "doc-1@test")
    assert ingest(uow, vault).already == 1 and len(incidents(uow)) == 1


def test_the_guard_destroys_a_privileged_recording_even_if_its_pcap_is_garbage(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    # Ada's number is verified: the call is private; a faulty switch recorded it anyway.
    assert place_call(uow, "ada-1@test", ATTORNEY_NUMBER) is Mode.PRIVATE
    spool_recording(home / "recordings" / "spool", "ada-1@test", pcap=b"not a pcap at all")

    report = ingest(uow, vault)

    assert len(report.destroyed) == 1 and spool_files(home) == []
    assert not (home / "recordings" / "spool" / "quarantine").exists()
    assert [k for k, _ in incidents(uow)] == ["privileged_on_arrival"]


def test_a_call_decided_not_recorded_is_destroyed_whatever_the_registry_says(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    blocks.block_number(uow, STAFF, facility_id="state-prison", number=FAMILY_NUMBER,
                        reason="harassment", now=NOW)
    assert place_call(uow, "denied-1@test", FAMILY_NUMBER) is Mode.DENIED
    spool_recording(home / "recordings" / "spool", "denied-1@test")

    report = ingest(uow, vault)

    assert len(report.destroyed) == 1 and files_under(home / "vault") == []
    assert [k for k, _ in incidents(uow)] == ["recorded_against_decision"]
    assert rows(uow)[0]["destroyed_reason"] == "recorded_against_decision"


def test_a_recording_of_an_unknown_call_is_held_back_not_stored(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    spooled = spool_recording(home / "recordings" / "spool", "stranger@elsewhere")

    report = ingest(uow, vault)

    assert report.held_back == [spooled.key] and rows(uow) == []
    held = home / "recordings" / "spool" / "quarantine"
    assert stat.S_IMODE(held.stat().st_mode) == 0o700 and len(files_under(held)) == 2
    assert spool_files(home) == [] and files_under(home / "vault") == []
    assert incidents(uow) == [("unattributable", spooled.key)]
    assert ingest(uow, vault).held_back == []  # never picked up again


def test_an_undecodable_recording_is_held_back_once_with_an_incident(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    place_call(uow, "bad-1@test", FAMILY_NUMBER)
    spooled = spool_recording(home / "recordings" / "spool", "bad-1@test", pcap=b"\0" * 100)

    report = ingest(uow, vault)

    assert report.held_back == [spooled.key] and rows(uow) == []
    assert incidents(uow) == [("undecodable", spooled.key)]
    assert len(files_under(home / "recordings" / "spool" / "quarantine")) == 2


def test_a_registry_outage_leaves_the_recording_in_the_spool_for_later(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    place_call(uow, "fam-3@test", FAMILY_NUMBER)
    spooled = spool_recording(home / "recordings" / "spool", "fam-3@test")

    report = vault_service.ingest_all(lambda: RegistryDown(uow()),  # type: ignore[arg-type, return-value]
                                      SWITCH, vault, now=LATER)

    assert list(report.retry) == [spooled.key] and len(spool_files(home)) == 2
    assert rows(uow) == [] and files_under(home / "vault") == []
    assert len(ingest(uow, vault).stored) == 1  # the registry is back


def test_a_worker_that_loses_the_race_for_a_spool_key_deletes_its_own_blob(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    place_call(uow, "fam-4@test", FAMILY_NUMBER)
    spool = home / "recordings" / "spool"
    spool_recording(spool, "fam-4@test")
    assert len(ingest(uow, vault).stored) == 1
    (kept,) = files_under(home / "vault")
    spool_recording(spool, "fam-4@test")
    real = vault_service._first_look

    def stale(*args: object, **kwargs: object) -> object:
        # What a second worker saw before the first one's commit: not indexed yet.
        outcome, call = real(*args, **kwargs)  # type: ignore[arg-type]
        with uow() as u:
            return None, u.calls.get("fam-4@test")

    monkeypatch.setattr(vault_service, "_first_look", stale)
    report = ingest(uow, vault)

    assert (report.stored, report.already) == ([], 1)
    assert files_under(home / "vault") == [kept] and spool_files(home) == []


def test_a_recording_at_another_facility_keeps_that_facility(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    facilities.add_facility(uow, ADMIN, Facility("county-jail", "County Jail",
                                                 FacilityKind.JAIL, 300), now=NOW)
    facilities.add_resident(uow, STAFF, facility_id="county-jail", resident_id="J7",
                            pin="1357", opening_balance_cents=500, now=NOW)
    place_call(uow, "jail-1@test", FAMILY_NUMBER, facility="county-jail", resident="J7")
    spool_recording(home / "recordings" / "spool", "jail-1@test")
    ingest(uow, vault)
    assert [(r["facility_id"], r["resident_id"]) for r in rows(uow)] == [("county-jail", "J7")]


def test_only_the_switch_or_an_administrator_may_ingest(
        uow: UnitOfWorkFactory, world: World, vault: Vault) -> None:
    for actor in (STAFF, AUDITOR):
        with pytest.raises(Forbidden):
            vault_service.ingest_all(uow, actor, vault, now=LATER)


def test_a_stored_recording_counts_once_in_the_index(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    for i in range(3):
        place_call(uow, f"many-{i}@test", FAMILY_NUMBER)
        spool_recording(home / "recordings" / "spool", f"many-{i}@test", seed=i)
    assert len(ingest(uow, vault).stored) == 3
    with uow() as u:
        conn = u.recordings.conn  # type: ignore[attr-defined]
        assert conn.execute(select(func.count()).select_from(v.recordings)).scalar_one() == 3
        assert u.recordings.count_by_state() == {RecordingState.STORED.value: 3}


def test_the_sweep_points_a_person_at_plaintext_nothing_will_ingest(
        uow: UnitOfWorkFactory, world: World, vault: Vault, home: Path) -> None:
    spool = home / "recordings" / "spool"
    spool_recording(spool, "stranger@elsewhere")
    ingest(uow, vault)  # held back: no call record
    orphan = spool / "pcaps" / "lost%40call-0123456789abcdef.pcap"  # rtpengine died mid-call
    orphan.write_bytes(b"\xd4\xc3\xb2\xa1")

    findings = vault_service.sweep(uow, ADMIN, vault, now=LATER).spool_findings

    assert any(str(orphan) in f and "without metadata" in f for f in findings)
    assert sum("held back" in f for f in findings) == 2
