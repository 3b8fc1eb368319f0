"""The investigator's search of recordings: filtered by resident like the call log, paged
with a "more" that the audit log does not overstate (each list names exactly the
recordings shown); on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from privline.services import facilities, recordings
from privline.services import vault as vault_service
from privline.services.ports import UnitOfWorkFactory
from tests.conftest import ADMIN, FAMILY_NUMBER, NOW, ROSA, STAFF, World
from tests.integration.vault_support import (
    LATER,
    SWITCH,
    make_vault,
    place_call,
    spool_recording,
)


def test_recordings_are_searched_by_resident_and_paged_with_what_was_shown_audited(
        uow: UnitOfWorkFactory, world: World, tmp_path: Path) -> None:
    facilities.add_resident(uow, STAFF, facility_id="state-prison", resident_id="R2002",
                            pin="1357", opening_balance_cents=500, now=NOW)
    vault = make_vault(tmp_path)
    spool = tmp_path / "recordings" / "spool"
    for n, resident in enumerate((ROSA, "R2002", ROSA, ROSA)):
        place_call(uow, f"c{n}@test", FAMILY_NUMBER, resident=resident,
                   at=NOW + timedelta(seconds=n))
        spool_recording(spool, f"c{n}@test", seed=n + 1)
    stored = vault_service.ingest_all(uow, SWITCH, vault, now=LATER).stored
    assert len(stored) == 4

    first = recordings.search_recordings(uow, ADMIN, reason="case 9", now=LATER,
                                         resident_id=ROSA, limit=2)
    assert first.more and [r.resident_id for r in first.items] == [ROSA, ROSA]
    second = recordings.search_recordings(uow, ADMIN, reason="case 9", now=LATER,
                                          resident_id=ROSA, limit=2, offset=2)
    assert not second.more and len(second.items) == 1
    assert {r.id for r in first.items + list(second.items)} == {
        r.id for r in recordings.list_recordings(uow, ADMIN, reason="case 9", now=LATER)
        if r.resident_id == ROSA}
    with uow() as u:
        lists = [json.loads(e.details) for e in u.audit.entries()
                 if e.action == "recording.list"]
    # The row read to learn "more" is not named: each list names what was shown.
    assert lists[0]["recordings"] == [r.id for r in first.items]
    assert lists[0]["resident"] == ROSA and lists[0]["reason"] == "case 9"
    assert lists[1]["recordings"] == [r.id for r in second.items]
