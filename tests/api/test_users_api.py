"""/api/v1/users: admins manage accounts and tokens; a revoked or expired token is 401 on
its next request; bad input is a 4xx with a stable code and writes nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from privline.bootstrap import Runtime, utcnow
from privline.services import users
from privline.services.ports import UnitOfWorkFactory
from privline.settings import Settings
from tests.conftest import ADMIN, World
from tests.support.app import app_for

PASSWORD = "correct horse battery staple"
CHECK = "/api/v1/registry/check?number=2125550100"  # any request a staff token may make


@pytest.fixture
def rt(db_url: str, uow: UnitOfWorkFactory, tmp_path: Path, world: World) -> Runtime:
    return Runtime(Settings(home=tmp_path / "home", database_url=db_url), uow)


@pytest.fixture
def client(rt: Runtime) -> TestClient:
    return TestClient(app_for(rt))


def bearer(rt: Runtime, role: str) -> dict[str, str]:
    made = users.add_user(rt.uow, ADMIN, name=f"{role}-user", role=role, now=utcnow())
    return {"Authorization": f"Bearer {made.token}"}


def audit_count(rt: Runtime) -> int:
    with rt.uow() as u:
        return u.audit.count()


def test_admins_create_list_and_show_users(rt: Runtime, client: TestClient) -> None:
    admin = bearer(rt, "admin")
    made = client.post("/api/v1/users", headers=admin, json={
        "name": "ivy", "role": "investigator", "password": PASSWORD,
        "facilities": ["state-prison"], "token_days": 30})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["token"].startswith("pl_") and body["totp_enrolment"]["secret"]
    assert body["facilities"] == ["state-prison"] and body["password_set"] is True
    assert [t["state"] for t in body["tokens"]] == ["live"]
    names = [u["name"] for u in client.get("/api/v1/users", headers=admin).json()["users"]]
    assert names == ["admin-user", "ivy"]
    shown = client.get(f"/api/v1/users/{body['id']}", headers=admin).json()
    assert shown["role"] == "investigator" and "totp_enrolment" not in shown
    ivy = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/v1/users", headers=ivy).status_code == 403


@pytest.mark.parametrize("role", ["staff", "investigator", "auditor"])
def test_other_roles_cannot_touch_users(rt: Runtime, client: TestClient, role: str) -> None:
    headers = bearer(rt, role)
    for method, path in (("GET", "/api/v1/users"), ("GET", "/api/v1/users/1"),
                         ("POST", "/api/v1/users/1/disable"),
                         ("POST", "/api/v1/users/1/tokens")):
        response = client.request(method, path, headers=headers, json={})
        assert response.status_code == 403, (method, path)
        assert response.json()["error"]["code"] == "forbidden"


def test_a_revoked_token_is_refused_on_its_next_request(rt: Runtime, client: TestClient
                                                        ) -> None:
    admin = bearer(rt, "admin")
    staff = users.add_user(rt.uow, ADMIN, name="stu", role="staff", now=utcnow())
    headers = {"Authorization": f"Bearer {staff.token}"}
    assert client.get(CHECK, headers=headers).status_code == 200
    tokens = client.get(f"/api/v1/users/{staff.user.id}/tokens", headers=admin).json()
    (token_id,) = [t["id"] for t in tokens["tokens"]]
    gone = client.delete(f"/api/v1/users/{staff.user.id}/tokens/{token_id}", headers=admin)
    assert [t["state"] for t in gone.json()["tokens"]] == ["revoked"]
    refused = client.get(CHECK, headers=headers)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    # A new token, shown once, works; rotating it away refuses it.
    new = client.post(f"/api/v1/users/{staff.user.id}/tokens", headers=admin,
                      json={"expires_days": 7}).json()
    fresh = {"Authorization": f"Bearer {new['token']}"}
    assert client.get(CHECK, headers=fresh).status_code == 200
    client.post(f"/api/v1/users/{staff.user.id}/tokens", headers=admin, json={"rotate": True})
    assert client.get(CHECK, headers=fresh).status_code == 401


def test_an_expired_token_is_refused(rt: Runtime, client: TestClient) -> None:
    made = users.add_user(rt.uow, ADMIN, name="old", role="staff",
                          now=utcnow() - timedelta(days=3), token_days=2)
    response = client.get("/api/v1/registry/check?number=2125550100",
                          headers={"Authorization": f"Bearer {made.token}"})
    assert response.status_code == 401


def test_disable_enable_and_revoke_over_the_api(rt: Runtime, client: TestClient) -> None:
    admin = bearer(rt, "admin")
    staff = users.add_user(rt.uow, ADMIN, name="stu", role="staff", now=utcnow())
    headers = {"Authorization": f"Bearer {staff.token}"}
    path = f"/api/v1/users/{staff.user.id}"
    assert client.post(f"{path}/disable", headers=admin).json()["disabled"] is True
    assert client.get(CHECK, headers=headers).status_code == 401
    again = client.post(f"{path}/disable", headers=admin)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "user_disabled")
    client.post(f"{path}/enable", headers=admin)
    assert client.get(CHECK, headers=headers).status_code == 200
    revoked = client.post(f"{path}/revoke", headers=admin).json()
    assert [t["state"] for t in revoked["tokens"]] == ["revoked"]
    assert client.get(CHECK, headers=headers).status_code == 401


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    ("/api/v1/users", {"name": "x", "role": "warden"}, 400, "invalid_role"),
    ("/api/v1/users", {"name": "x", "role": "staff", "password": "short"}, 400,
     "invalid_password"),
    ("/api/v1/users", {"name": "x", "role": "staff", "token_days": 9999}, 400,
     "invalid_days"),
    ("/api/v1/users", {"name": "x" * 101, "role": "staff"}, 422, "invalid_request"),
    ("/api/v1/users/999/password", {"password": PASSWORD}, 404, "user_not_found"),
    ("/api/v1/users/1/role", {"role": "staff"}, 409, "last_admin"),
])
def test_bad_input_is_a_4xx_with_a_stable_code_and_writes_nothing(
        rt: Runtime, client: TestClient, path: str, body: dict[str, object], status: int,
        code: str) -> None:
    admin = bearer(rt, "admin")
    before = audit_count(rt)
    response = client.post(path, headers=admin, json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert audit_count(rt) == before
