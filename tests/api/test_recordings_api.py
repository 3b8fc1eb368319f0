"""/api/v1/recordings: investigators reach stored recordings only, always with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from privline.adapters.db import tables as t
from privline.bootstrap import Runtime, utcnow
from privline.domain.registry import Status
from privline.services import recordings, registry, users
from privline.services import vault as vault_service
from privline.services.ports import UnitOfWorkFactory
from privline.settings import Settings
from tests.conftest import ADMIN, FAMILY_NUMBER, NOW, STAFF, World
from tests.integration.vault_support import (
    LATER,
    SWITCH,
    make_vault,
    place_call,
    spool_recording,
)
from tests.support.app import app_for

CLINIC = "+13105550177"


@pytest.fixture
def setup(db_url: str, uow: UnitOfWorkFactory, tmp_path: Path, world: World
          ) -> tuple[TestClient, dict[str, str], dict[str, int]]:
    home = tmp_path / "home"
    vault = make_vault(home)
    ids = {}
    for name, number in (("family", FAMILY_NUMBER), ("clinic", CLINIC)):
        place_call(uow, f"{name}@test", number)
        spool_recording(home / "recordings" / "spool", f"{name}@test")
    vault_service.ingest_all(uow, SWITCH, vault, now=LATER)
    with uow() as u:
        conn = u.audit.conn  # type: ignore[attr-defined]
        for name in ("family", "clinic"):
            ids[name] = conn.execute(select(t.metadata.tables["recordings"].c.id).where(
                t.metadata.tables["recordings"].c.sip_call_id == f"{name}@test")).scalar_one()
    tokens = {}
    for name, role in (("ivan", "investigator"), ("olga", "investigator"),
                       ("audrey", "auditor")):
        made = users.add_user(uow, ADMIN, name=name, role=role, now=utcnow())
        user, tokens[name] = made.user, str(made.token)
        if name == "ivan":  # Ivan works the prison's cases; Olga another facility's
            recordings.grant_facility(uow, ADMIN, user_id=user.id,
                                      facility_id="state-prison", now=NOW)
    rt = Runtime(Settings(home=home, database_url=db_url), uow)
    return TestClient(app_for(rt)), tokens, ids


def get(client: TestClient, token: str, path: str, **params: str):  # type: ignore[no-untyped-def]
    return client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})


def test_an_investigator_lists_and_plays_with_a_reason(setup, uow) -> None:  # type: ignore[no-untyped-def]
    client, tokens, ids = setup
    listed = get(client, tokens["ivan"], "/api/v1/recordings", reason="case 2026-114")
    assert listed.status_code == 200
    assert {r["id"] for r in listed.json()["recordings"]} == {ids["family"], ids["clinic"]}
    audio = get(client, tokens["ivan"], f"/api/v1/recordings/{ids['family']}/audio",
                reason="case 2026-114")
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    assert audio.headers["content-type"] == "audio/wav"
    with uow() as u:
        events = [(e.action, e.details) for e in u.audit.entries()
                  if e.action in ("recording.list", "recording.play")]
    assert [a for a, _ in events] == ["recording.list", "recording.play"]
    assert all('"reason":"case 2026-114"' in d for _, d in events)


def test_no_reason_no_access(setup) -> None:  # type: ignore[no-untyped-def]
    client, tokens, ids = setup
    response = get(client, tokens["ivan"], "/api/v1/recordings")
    assert response.status_code == 422
    response = get(client, tokens["ivan"], f"/api/v1/recordings/{ids['family']}/audio")
    assert response.status_code == 422


def test_out_of_scope_and_quarantined_answer_like_missing(setup, uow) -> None:  # type: ignore[no-untyped-def]
    client, tokens, ids = setup
    missing = get(client, tokens["ivan"], "/api/v1/recordings/999999/audio", reason="x")
    assert missing.status_code == 404
    other = get(client, tokens["olga"], f"/api/v1/recordings/{ids['family']}/audio",
                reason="x")
    assert (other.status_code, other.json()["error"]) == (404, missing.json()["error"] | {
        "message": f"no recording {ids['family']}"})
    assert get(client, tokens["olga"], "/api/v1/recordings", reason="x").json() == {
        "recordings": []}
    entry = registry.add_entry(uow, STAFF, number=CLINIC, kind="physician", holder="Dr. Lee",
                               credential="NPI-77", verified=False, now=NOW)
    registry.change_status(uow, STAFF, entry.id, Status.VERIFIED, now=LATER)
    quarantined = get(client, tokens["ivan"], f"/api/v1/recordings/{ids['clinic']}/audio",
                      reason="x")
    assert quarantined.status_code == 404
    assert quarantined.json()["error"]["code"] == "recording_not_found"


def test_export_needs_a_legal_basis_and_is_ledgered(setup) -> None:  # type: ignore[no-untyped-def]
    client, tokens, ids = setup
    auth = {"Authorization": f"Bearer {tokens['ivan']}"}
    url = f"/api/v1/recordings/{ids['family']}/export"
    refused = client.post(url, headers=auth, json={
        "reason": "trial", "basis_type": "a hunch", "basis_reference": "-", "recipient": "DA"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "legal_basis_required"
    done = client.post(url, headers=auth, json={
        "reason": "trial", "basis_type": "subpoena", "basis_reference": "SDNY 26-cv-1",
        "recipient": "Office of the District Attorney"})
    assert done.status_code == 200 and done.content[:4] == b"RIFF"
    assert int(done.headers["x-privline-disclosure"]) > 0


def test_auditors_and_anonymous_callers_are_refused(setup) -> None:  # type: ignore[no-untyped-def]
    client, tokens, ids = setup
    assert get(client, tokens["audrey"], "/api/v1/recordings", reason="x").status_code == 403
    assert client.get("/api/v1/recordings", params={"reason": "x"}).status_code == 401
