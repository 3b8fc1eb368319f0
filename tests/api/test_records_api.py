"""/api/v1 records: the same lists, shows and changes as the CLI, and what an auditor's
token now reaches (the audit log's verification, checkpoints, statements, incidents)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from privline.adapters.db.engine import SqlUnitOfWork
from privline.adapters.pin_key import PinKeyring
from privline.adapters.signing import Ed25519Signer, verifies
from privline.bootstrap import Runtime, utcnow
from privline.domain.policy import CallRequest
from privline.services import audit, calls, facilities, users
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.settings import Settings
from tests.conftest import ADMIN, NOW, ROSA, ROSA_PIN, STAFF, World
from tests.support.app import app_for
from tests.web.console_support import issue_statement


@pytest.fixture
def api(db_url: str, engine: Engine, uow: UnitOfWorkFactory, tmp_path: Path, world: World,
        pin_keys: PinKeyring) -> tuple[TestClient, dict[str, dict[str, str]], int]:
    home = tmp_path / "home"
    statement_id = issue_statement(uow, home)
    signer = Ed25519Signer.load(home / "keys" / "signing.key")

    def signed() -> UnitOfWork:  # as bootstrap builds it: checkpoints are signed
        return SqlUnitOfWork(engine, signer, pins=pin_keys)

    audit.checkpoint(signed, ADMIN, now=NOW)
    rt = Runtime(Settings(home=home, database_url=db_url), signed, signer=signer)
    headers = {role: {"Authorization": "Bearer " + str(users.add_user(
        uow, ADMIN, name=role, role=role, now=utcnow()).token)} for role in ("staff", "auditor")}
    return TestClient(app_for(rt)), headers, statement_id


def test_an_auditor_token_reaches_what_the_auditor_role_may_do(api) -> None:  # type: ignore[no-untyped-def]
    client, headers, statement_id = api
    auditor = headers["auditor"]
    verdict = client.get("/api/v1/audit/verify", headers=auditor).json()
    assert verdict["ok"] is True and verdict["checkpoints"] == 1
    checkpoints = client.get("/api/v1/audit/checkpoints", headers=auditor).json()
    assert len(checkpoints["checkpoints"]) == 1
    (listed,) = client.get("/api/v1/statements", headers=auditor).json()["statements"]
    assert listed["id"] == statement_id and listed["period"] == "2026-H2"
    body = client.get(f"/api/v1/statements/{statement_id}/statement.json", headers=auditor)
    sig = client.get(f"/api/v1/statements/{statement_id}/statement.sig", headers=auditor)
    public = client.app.state.runtime.signer.public  # type: ignore[attr-defined]
    assert verifies(public, body.content, sig.content)
    assert client.get("/api/v1/incidents", headers=auditor).json() == {"incidents": []}
    assert client.get("/api/v1/facilities", headers=auditor).status_code == 200
    refused = client.get("/api/v1/residents", headers=auditor)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"


def test_staff_list_and_change_residents_and_bad_input_is_a_stable_4xx(api) -> None:  # type: ignore[no-untyped-def]
    client, headers, _ = api
    staff = headers["staff"]
    (rosa,) = client.get("/api/v1/residents", headers=staff).json()["residents"]
    assert rosa["id"] == ROSA and rosa["balance_cents"] == 2000 and rosa["locked"] is False
    bad = client.post(f"/api/v1/residents/{ROSA}/pin", json={"pin": "1"}, headers=staff)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_pin"
    facilities.add_resident(client.app.state.runtime.uow, STAFF,  # type: ignore[attr-defined]
                            facility_id="state-prison", resident_id="bea", pin="1357",
                            now=NOW)
    taken = client.post("/api/v1/residents/bea/pin", json={"pin": ROSA_PIN}, headers=staff)
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "pin_taken"
    assert ROSA not in taken.text
    paid = client.post(f"/api/v1/residents/{ROSA}/deposits", json={"amount": "2.50"},
                       headers=staff)
    assert paid.json()["balance_cents"] == 2250
    ledger = client.get(f"/api/v1/residents/{ROSA}/account", headers=staff).json()["ledger"]
    assert [line["amount_cents"] for line in ledger] == [250, 2000]
    added = client.post("/api/v1/blocks", json={"facility": "state-prison",
                                                "number": "4155550142", "reason": "x"},
                        headers=staff)
    assert added.status_code == 201 and "never stop" in added.json()["warning"]
    again = client.post("/api/v1/blocks", json={"facility": "state-prison",
                                                "number": "4155550142", "reason": "x"},
                        headers=staff)
    assert again.status_code == 409 and again.json()["error"]["code"] == "block_exists"
    capped = client.post("/api/v1/facilities/state-prison", json={"rate": "1.00"},
                         headers=staff)
    assert capped.status_code == 403  # facility settings are the administrator's


def test_calls_are_listed_filtered_and_paged_as_the_cli_prints_them(api, uow) -> None:  # type: ignore[no-untyped-def]
    client, headers, _ = api
    for to in ("2125550100", "4155550142"):
        calls.decide_call(uow, ADMIN, CallRequest("state-prison", ROSA, to, False, ROSA_PIN),
                          now=NOW)
    staff = headers["staff"]
    first = client.get("/api/v1/calls", params={"limit": 1}, headers=staff).json()
    assert first["more"] is True and first["calls"][0]["mode"] == "private"
    rest = client.get("/api/v1/calls", params={"limit": 1, "before": first["next"]},
                      headers=staff).json()
    assert (rest["more"], rest["next"], rest["calls"][0]["to"]) == (False, None, "+12125550100")
    shown = client.get(f"/api/v1/calls/{rest['calls'][0]['id']}", headers=staff).json()
    assert shown == rest["calls"][0]  # one call in the shape the log lists it
    found = client.get("/api/v1/calls", params={"number": "(415) 555-0142", "mode": "private",
                                                "since": "2026-07-01T00:00:00Z"},
                       headers=staff).json()["calls"]
    assert [c["to"] for c in found] == ["+14155550142"]
    for bad, code in (({"since": "2026-07-01"}, "invalid_search"),
                      ({"until": "2026-07-01T12:00:00"}, "invalid_search"),
                      ({"mode": "loud"}, "invalid_search"), ({"before": "c999"}, "invalid_cursor")):
        answer = client.get("/api/v1/calls", params=bad, headers=staff)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == code
    assert client.get("/api/v1/calls", headers=headers["auditor"]).status_code == 200
