"""The HTTP API: bearer tokens with roles, stable error codes, one service per route."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from privline.bootstrap import Runtime, utcnow
from privline.services import users
from privline.services.ports import UnitOfWorkFactory
from privline.settings import Settings
from tests.conftest import ADMIN, ATTORNEY_NUMBER, ROSA, World
from tests.support.app import app_for


@pytest.fixture
def client(db_url: str, uow: UnitOfWorkFactory, tmp_path: Path, world: World) -> TestClient:
    rt = Runtime(Settings(home=tmp_path / "home", database_url=db_url), uow)
    return TestClient(app_for(rt))


@pytest.fixture
def tokens(client: TestClient) -> dict[str, str]:
    rt: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    # Issued now: the API checks a token's expiry against the real clock.
    return {role: str(users.add_user(rt.uow, ADMIN, name=f"{role}-user", role=role,
                                     now=utcnow()).token)
            for role in ("admin", "staff", "investigator", "auditor")}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


DECISION = {"facility": "state-prison", "resident": ROSA, "to": "(415) 555-0142"}

# (method, path, body, roles allowed)
ROUTES = [
    ("GET", "/api/v1/registry", None, {"admin", "staff", "auditor"}),
    ("GET", f"/api/v1/registry/check?number={ATTORNEY_NUMBER}", None,
     {"admin", "staff", "auditor"}),
    ("POST", "/api/v1/registry", {"number": "+12125550199", "kind": "physician",
                                  "name": "Dr. Ben Heal", "credential": "NPI 1234567893"},
     {"admin", "staff"}),
    ("POST", "/api/v1/decisions", DECISION, {"admin", "staff"}),
]


def test_health_check_and_docs_need_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/docs").status_code == 200
    assert "/api/v1/decisions" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("method, path, body, allowed", ROUTES)
def test_every_route_needs_a_token_with_a_permitted_role(
        client: TestClient, tokens: dict[str, str], method: str, path: str, body: object,
        allowed: set[str]) -> None:
    anonymous = client.request(method, path, json=body)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    forged = client.request(method, path, json=body, headers=auth("pl_forged"))
    assert forged.status_code == 401
    for role, token in tokens.items():
        response = client.request(method, path, json=body, headers=auth(token))
        if role in allowed:
            assert response.status_code in (200, 201), (role, response.text)
            if method == "POST" and path == "/api/v1/registry":
                client.post(f"/api/v1/registry/{response.json()['id']}/revoke",
                            json={"reason": "test cleanup"}, headers=auth(tokens["admin"]))
        else:
            assert response.status_code == 403, role
            assert response.json()["error"]["code"] == "forbidden"


def test_decision_for_attorney_is_private(client: TestClient, tokens: dict[str, str]) -> None:
    body = client.post("/api/v1/decisions", json=DECISION, headers=auth(tokens["staff"])).json()
    assert body["mode"] == "private" and body["number"] == ATTORNEY_NUMBER
    assert body["rate_per_minute"] == "0"


def test_registry_lifecycle_over_http(client: TestClient, tokens: dict[str, str]) -> None:
    staff = auth(tokens["staff"])
    created = client.post("/api/v1/registry", headers=staff, json={
        "number": "212 555 0199", "kind": "physician", "name": "Dr. Ben Heal",
        "credential": "NPI 1234567893"})
    assert created.status_code == 201 and created.json()["status"] == "pending"
    entry_id = created.json()["id"]
    decide = {**DECISION, "to": "2125550199"}
    assert client.post("/api/v1/decisions", json=decide, headers=staff).json()["mode"] == \
        "recorded"
    verified = client.post(f"/api/v1/registry/{entry_id}/verify", headers=staff,
                           json={"reason": "NPI checked"})
    assert verified.json()["status"] == "verified"
    assert client.post("/api/v1/decisions", json=decide, headers=staff).json()["mode"] == \
        "private"
    again = client.post(f"/api/v1/registry/{entry_id}/verify", headers=staff, json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"


@pytest.mark.parametrize("method, path, body, status, code", [
    ("POST", "/api/v1/registry", {"number": "12", "kind": "attorney", "name": "A",
                                  "credential": "B"}, 400, "invalid_number"),
    ("POST", "/api/v1/registry", {"number": "2125550100", "kind": "wizard", "name": "A",
                                  "credential": "B"}, 400, "invalid_kind"),
    ("POST", "/api/v1/registry", {"number": "2125550100"}, 422, "invalid_request"),
    ("POST", "/api/v1/registry/999/revoke", {}, 404, "entry_not_found"),
    ("GET", "/api/v1/registry/check?number=abc", None, 400, "invalid_number"),
    ("GET", "/api/v1/registry?status=lost", None, 400, "invalid_status"),
    ("GET", "/api/v1/registry?limit=0", None, 422, "invalid_request"),
    ("POST", "/api/v1/decisions", {**DECISION, "facility": "nowhere"}, 404,
     "facility_not_found"),
    ("POST", "/api/v1/decisions", {**DECISION, "resident": "ghost"}, 404,
     "resident_not_found"),
])
def test_bad_requests_get_a_stable_error_code(
        client: TestClient, tokens: dict[str, str], method: str, path: str, body: object,
        status: int, code: str) -> None:
    response = client.request(method, path, json=body, headers=auth(tokens["admin"]))
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert "Traceback" not in response.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_privline_serve_answers_on_loopback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVLINE_")}
    port = _free_port()
    env |= {"PRIVLINE_HOME": str(tmp_path / "srv"), "PRIVLINE_API_PORT": str(port)}
    exe = str(Path(sys.executable).with_name("privline"))
    subprocess.run([exe, "init", "--demo"], env=env, check=True, capture_output=True)
    token = (tmp_path / "srv" / "demo-admin.token").read_text().strip()
    server = subprocess.Popen([exe, "serve"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        check = httpx.get(f"{base}/api/v1/registry/check", params={"number": ATTORNEY_NUMBER},
                          headers=auth(token))
        assert check.json()["privileged"] is True
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("verb", ["expire", "revoke"])
def test_removing_privilege_over_http_needs_a_reason_and_the_portals_checks(
        client: TestClient, tokens: dict[str, str], world: World, verb: str) -> None:
    """Issue 12: ``POST .../expire`` with ``{}`` expired an entry valid until 2028."""
    staff = auth(tokens["staff"])
    path = f"/api/v1/registry/{world.attorney_entry_id}/{verb}"
    for body in ({}, {"reason": "  "}):
        bare = client.post(path, json=body, headers=staff)
        assert bare.status_code == 400 and bare.json()["error"]["code"] == "reason_required"
    if verb == "expire":  # valid until 2028: it has not lapsed, so it cannot expire
        early = client.post(path, json={"reason": "tidying"}, headers=staff)
        assert early.status_code == 409 and early.json()["error"]["code"] == "not_lapsed"
    check = client.get(f"/api/v1/registry/check?number={ATTORNEY_NUMBER}", headers=staff)
    assert check.json()["privileged"] is True
