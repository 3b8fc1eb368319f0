"""Every API route and every console page, for every role, against the one permissions
table (domain/access.py). A route added without a line in ROUTES fails the walk, and
any answer that differs from what the table says fails it too.

Roles: none (no token, no session), admin, staff, an investigator whose facility holds
the recording and one whose facility does not, an auditor, and the switch. "Allowed"
means the answer is neither 401/403 nor a trip to a sign-in page; "refused" means 401
(no credentials), 403, or (on pages) a redirect to sign in. For a recording out of an
investigator's scope, the table allows the action but the answer must be the same 404
a missing recording gets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from privline.adapters.db import tables as t
from privline.adapters.signing import Ed25519Signer
from privline.bootstrap import Runtime, utcnow
from privline.domain.access import Action, Role, allowed
from privline.entrypoints.web.console_investigate import _ticket
from privline.services import blocks, recordings, users
from privline.services import vault as vault_service
from privline.services.ports import UnitOfWorkFactory
from privline.settings import Settings
from tests.conftest import ADMIN, FAMILY_NUMBER, NOW, ROSA, STAFF, World
from tests.integration.vault_support import (
    LATER,
    SWITCH,
    make_vault,
    place_call,
    spool_recording,
)
from tests.support.app import app_for
from tests.support.signin import PASSWORD, form_csrf, sign_in
from tests.web.console_support import issue_statement

# The walk checks routes, not storage: SQLite is enough.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

A = Action
PUBLIC = None
# (method, path) -> the action the permissions table must decide it by; PUBLIC for the
# pages anyone may open (the portal and the sign-in forms).
ROUTES: dict[tuple[str, str], Action | None] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/api/v1/registry"): A.REGISTRY_READ,
    ("POST", "/api/v1/registry"): A.REGISTRY_WRITE,
    ("GET", "/api/v1/registry/check"): A.REGISTRY_READ,
    ("POST", "/api/v1/registry/{entry_id}/verify"): A.REGISTRY_WRITE,
    ("POST", "/api/v1/registry/{entry_id}/revoke"): A.REGISTRY_WRITE,
    ("POST", "/api/v1/registry/{entry_id}/expire"): A.REGISTRY_WRITE,
    ("GET", "/api/v1/registry/changes"): A.REGISTRY_READ,
    ("GET", "/api/v1/registry/{entry_id}/history"): A.REGISTRY_READ,
    ("POST", "/api/v1/decisions"): A.DECIDE_CALL,
    ("GET", "/api/v1/recordings"): A.RECORDING_READ,
    ("GET", "/api/v1/recordings/{recording_id}/audio"): A.RECORDING_READ,
    ("POST", "/api/v1/recordings/{recording_id}/export"): A.RECORDING_EXPORT,
    ("GET", "/api/v1/facilities"): A.FACILITY_READ,
    ("GET", "/api/v1/facilities/{facility_id}"): A.FACILITY_READ,
    ("POST", "/api/v1/facilities/{facility_id}"): A.FACILITY_WRITE,
    ("GET", "/api/v1/residents"): A.RESIDENT_READ,
    ("GET", "/api/v1/residents/{resident_id}"): A.RESIDENT_READ,
    ("GET", "/api/v1/residents/{resident_id}/account"): A.RESIDENT_READ,
    ("POST", "/api/v1/residents/{resident_id}/unlock"): A.RESIDENT_WRITE,
    ("POST", "/api/v1/residents/{resident_id}/pin"): A.RESIDENT_WRITE,
    ("POST", "/api/v1/residents/{resident_id}/move"): A.RESIDENT_WRITE,
    ("POST", "/api/v1/residents/{resident_id}/deposits"): A.ACCOUNT_WRITE,
    ("POST", "/api/v1/residents/{resident_id}/deactivate"): A.RESIDENT_WRITE,
    ("GET", "/api/v1/blocks"): A.RESIDENT_READ,
    ("POST", "/api/v1/blocks"): A.RESIDENT_WRITE,
    ("POST", "/api/v1/blocks/{block_id}/remove"): A.RESIDENT_WRITE,
    ("GET", "/api/v1/calls"): A.CALL_READ,
    ("GET", "/api/v1/calls/{call_id}"): A.CALL_READ,
    ("GET", "/api/v1/audit/verify"): A.AUDIT_VERIFY,
    ("GET", "/api/v1/audit/checkpoints"): A.AUDIT_VERIFY,
    ("GET", "/api/v1/incidents"): A.INCIDENT_READ,
    ("GET", "/api/v1/statements"): A.AUDIT_VERIFY,
    ("GET", "/api/v1/statements/{statement_id}/statement.json"): A.AUDIT_VERIFY,
    ("GET", "/api/v1/statements/{statement_id}/statement.sig"): A.AUDIT_VERIFY,
    # The portal's public pages and the sign-in forms.
    ("GET", "/"): PUBLIC, ("GET", "/register"): PUBLIC, ("POST", "/register"): PUBLIC,
    ("GET", "/register/done"): PUBLIC, ("GET", "/status"): PUBLIC,
    ("POST", "/status"): PUBLIC, ("GET", "/static/{name}"): PUBLIC,
    ("GET", "/signin"): PUBLIC, ("POST", "/signin"): PUBLIC,
    ("GET", "/signin/code"): PUBLIC, ("POST", "/signin/code"): PUBLIC,
    ("POST", "/signout"): PUBLIC,
    # The old sign-in addresses: they redirect to /signin or sign out.
    ("GET", "/staff/login"): PUBLIC, ("POST", "/staff/logout"): PUBLIC,
    ("GET", "/console/login"): PUBLIC, ("POST", "/console/logout"): PUBLIC,
    # Accounts (the admin's): over the API and on the users page.
    ("GET", "/api/v1/users"): A.USER_READ, ("POST", "/api/v1/users"): A.USER_WRITE,
    ("GET", "/api/v1/users/{user_id}"): A.USER_READ,
    ("POST", "/api/v1/users/{user_id}/password"): A.USER_WRITE,
    ("POST", "/api/v1/users/{user_id}/role"): A.USER_WRITE,
    ("POST", "/api/v1/users/{user_id}/totp"): A.USER_WRITE,
    ("POST", "/api/v1/users/{user_id}/disable"): A.USER_WRITE,
    ("POST", "/api/v1/users/{user_id}/enable"): A.USER_WRITE,
    ("POST", "/api/v1/users/{user_id}/revoke"): A.USER_WRITE,
    ("GET", "/api/v1/users/{user_id}/tokens"): A.USER_READ,
    ("POST", "/api/v1/users/{user_id}/tokens"): A.USER_WRITE,
    ("DELETE", "/api/v1/users/{user_id}/tokens/{token_id}"): A.USER_WRITE,
    ("GET", "/staff/users"): A.USER_READ, ("POST", "/staff/users"): A.USER_WRITE,
    ("POST", "/staff/users/{user_id:int}/disable"): A.USER_WRITE,
    ("POST", "/staff/users/{user_id:int}/enable"): A.USER_WRITE,
    ("POST", "/staff/users/{user_id:int}/revoke"): A.USER_WRITE,
    ("POST", "/staff/users/{user_id:int}/password"): A.USER_WRITE,
    ("POST", "/staff/users/{user_id:int}/totp"): A.USER_WRITE,
    # The API's documentation, served from the package.
    ("GET", "/docs"): PUBLIC, ("GET", "/docs/start.js"): PUBLIC,
    ("GET", "/docs/{name}"): PUBLIC,
    # The review queue (staff.py) lets in the roles that may change the registry.
    ("GET", "/staff"): A.REGISTRY_WRITE, ("GET", "/staff/expiring"): A.REGISTRY_WRITE,
    ("POST", "/staff/entries/{entry_id:int}/approve"): A.REGISTRY_WRITE,
    ("POST", "/staff/entries/{entry_id:int}/reject"): A.REGISTRY_WRITE,
    ("POST", "/staff/entries/{entry_id:int}/expire"): A.REGISTRY_WRITE,
    ("GET", "/staff/directory"): A.REGISTRY_WRITE,
    ("POST", "/staff/entries/{entry_id:int}/keep"): A.REGISTRY_WRITE,
    ("POST", "/staff/entries/{entry_id:int}/revoke"): A.REGISTRY_WRITE,
    # The console.
    ("GET", "/staff/dashboard"): A.RESIDENT_READ,
    ("GET", "/staff/facilities"): A.FACILITY_READ,
    ("POST", "/staff/facilities/{facility_id}"): A.FACILITY_WRITE,
    ("GET", "/staff/residents"): A.RESIDENT_READ,
    ("GET", "/staff/residents/{resident_id}"): A.RESIDENT_READ,
    ("POST", "/staff/residents/{resident_id}/unlock"): A.RESIDENT_WRITE,
    ("POST", "/staff/residents/{resident_id}/pin"): A.RESIDENT_WRITE,
    ("POST", "/staff/residents/{resident_id}/deposit"): A.ACCOUNT_WRITE,
    ("POST", "/staff/residents/{resident_id}/move"): A.RESIDENT_WRITE,
    ("POST", "/staff/residents/{resident_id}/deactivate"): A.RESIDENT_WRITE,
    ("GET", "/staff/blocks"): A.RESIDENT_READ,
    ("POST", "/staff/blocks/{block_id}/remove"): A.RESIDENT_WRITE,
    ("GET", "/staff/registry"): A.REGISTRY_READ,
    ("GET", "/staff/registry/{entry_id}"): A.REGISTRY_READ,
    ("POST", "/staff/registry/{entry_id}/{verb}"): A.REGISTRY_WRITE,
    ("GET", "/staff/calls"): A.CALL_READ,
    ("GET", "/staff/calls/{call_id}"): A.CALL_READ,
    ("GET", "/investigate"): A.RECORDING_READ,
    ("GET", "/investigate/recordings/{recording_id}"): A.RECORDING_READ,
    ("POST", "/investigate/recordings/{recording_id}/play"): A.RECORDING_READ,
    ("GET", "/investigate/recordings/{recording_id}/audio"): A.RECORDING_READ,
    ("POST", "/investigate/recordings/{recording_id}/export"): A.RECORDING_EXPORT,
    ("GET", "/audit"): A.AUDIT_VERIFY,
    ("GET", "/audit/statements"): A.AUDIT_VERIFY,
    ("GET", "/audit/statements/{statement_id}/{name}"): A.AUDIT_VERIFY,
    ("GET", "/audit/registry"): A.REGISTRY_READ,
    ("GET", "/audit/incidents"): A.INCIDENT_READ,
    # Anyone signed in: their own password (no form data: refused before any check).
    ("GET", "/account/password"): A.OWN_ACCOUNT,
    ("POST", "/account/password"): A.OWN_ACCOUNT,
}

# Routes whose answer also depends on the investigator's facilities. (The console's page
# for a recording and its play form show the same form for any id, reachable or not.)
SCOPED = {"/api/v1/recordings/{recording_id}/audio", "/api/v1/recordings/{recording_id}/export",
          "/investigate/recordings/{recording_id}/audio",
          "/investigate/recordings/{recording_id}/export"}
PERSONAS = ("none", "admin", "staff", "investigator_in", "investigator_out", "auditor",
            "switch")
ROLE_OF = {"admin": Role.ADMIN, "staff": Role.STAFF, "investigator_in": Role.INVESTIGATOR,
           "investigator_out": Role.INVESTIGATOR, "auditor": Role.AUDITOR,
           "switch": Role.SWITCH}


def app_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is None:
            continue  # FastAPI's own /docs and /openapi.json
        for ctx in contexts():
            for method in ctx.methods:
                if method != "HEAD":
                    yield method, ctx.path


@dataclass
class Walk:
    client: TestClient
    tokens: dict[str, str]
    params: dict[str, str]
    accounts: dict[str, users.NewUser]
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)  # signed-in sessions


@pytest.fixture
def walk(db_url: str, uow: UnitOfWorkFactory, tmp_path: Path, world: World) -> Walk:
    home = tmp_path / "home"
    vault = make_vault(home)
    place_call(uow, "family@test", FAMILY_NUMBER)
    spool_recording(home / "recordings" / "spool", "family@test")
    vault_service.ingest_all(uow, SWITCH, vault, now=LATER)
    with uow() as u:
        conn = u.audit.conn  # type: ignore[attr-defined]
        rec = t.metadata.tables["recordings"].c
        recording_id = conn.execute(select(rec.id)).scalar_one()
        call_id = conn.execute(select(t.calls.c.id)).scalar_one()
    tokens, accounts = {}, {}
    for persona, role in ROLE_OF.items():
        # Issued now: the API checks a token's expiry against the real clock.
        accounts[persona] = users.add_user(uow, ADMIN, name=persona, role=role.value,
                                           now=utcnow(), password=PASSWORD)
        tokens[persona] = str(accounts[persona].token)
        if persona == "investigator_in":
            recordings.grant_facility(uow, ADMIN, user_id=accounts[persona].user.id,
                                      facility_id="state-prison", now=NOW)
    # The users pages and routes act on someone who is not walking: disabling, revoking
    # or a new password ends that user's sessions, not a persona's.
    target = users.add_user(uow, ADMIN, name="target", role="staff", now=utcnow())
    target_token = users.get_user(uow, ADMIN, target.user.id).tokens[0].id
    added = blocks.block_number(uow, STAFF, facility_id="state-prison", number="2025550143",
                                reason="harassment", now=NOW)
    statement_id = issue_statement(uow, home)
    rt = Runtime(Settings(home=home, database_url=db_url), uow,
                 signer=Ed25519Signer.load(home / "keys" / "signing.key"),
                 web_secret=b"0123456789abcdef" * 4)
    params = {"entry_id": str(world.attorney_entry_id), "entry_id:int":
              str(world.attorney_entry_id), "resident_id": ROSA, "facility_id": "state-prison",
              "recording_id": str(recording_id), "block_id": str(added.id),
              "statement_id": str(statement_id), "call_id": str(call_id), "verb": "revoke",
              "name": "statement.json", "user_id": str(target.user.id),
              "user_id:int": str(target.user.id), "token_id": str(target_token)}
    return Walk(TestClient(app_for(rt), follow_redirects=False), tokens, params, accounts)


BODIES = {
    "/api/v1/registry": {"number": "3125550199", "kind": "attorney", "name": "Walk Er",
                         "credential": "IL-1"},
    "/api/v1/decisions": {"facility": "state-prison", "resident": ROSA, "to": "2125550100"},
    "/api/v1/recordings/{recording_id}/export": {
        "reason": "case 7", "basis_type": "warrant", "basis_reference": "W-1",
        "recipient": "DA"},
    "/api/v1/facilities/{facility_id}": {"max_minutes": 20},
    "/api/v1/residents/{resident_id}/pin": {"pin": "97531"},
    "/api/v1/residents/{resident_id}/move": {"facility": "state-prison"},
    "/api/v1/residents/{resident_id}/deposits": {"amount": "1.00"},
    "/api/v1/blocks": {"facility": "state-prison", "number": "2025550144", "reason": "x"},
    "/api/v1/blocks/{block_id}/remove": {"reason": "lifted"},
    "/api/v1/registry/{entry_id}/verify": {}, "/api/v1/registry/{entry_id}/revoke": {},
    "/api/v1/registry/{entry_id}/expire": {},
    "/api/v1/users": {"name": "walked", "role": "auditor"},
    "/api/v1/users/{user_id}/password": {"password": PASSWORD},
    "/api/v1/users/{user_id}/role": {"role": "staff"},
}
FORMS = {
    "/staff/facilities/{facility_id}": {"max_minutes": "20"},
    "/staff/residents/{resident_id}/pin": {"pin": "97531"},
    "/staff/residents/{resident_id}/deposit": {"amount": "1.00"},
    "/staff/residents/{resident_id}/move": {"facility": "state-prison"},
    "/staff/blocks/{block_id}/remove": {"reason": "lifted"},
    "/staff/registry/{entry_id}/{verb}": {"reason": "walk"},
    "/investigate/recordings/{recording_id}/play": {"reason": "case 7"},
    "/investigate/recordings/{recording_id}/export": {
        "reason": "case 7", "basis_type": "warrant", "basis_reference": "W-1",
        "recipient": "DA"},
    "/staff/entries/{entry_id:int}/reject": {"reason": "walk"},
    "/staff/entries/{entry_id:int}/expire": {"note": "walk"},
    "/staff/entries/{entry_id:int}/keep": {"reason": "walk"},
    "/staff/entries/{entry_id:int}/revoke": {"reason": "walk"},
    "/staff/entries/{entry_id:int}/approve": {"kind": "attorney"},
    "/staff/users": {"name": "walked", "role": "auditor", "password": PASSWORD},
    "/staff/users/{user_id:int}/password": {"password": PASSWORD},
}
QUERIES = {"/api/v1/registry/check": {"number": "2125550100"},
           "/api/v1/recordings": {"reason": "case 7"},
           "/api/v1/recordings/{recording_id}/audio": {"reason": "case 7"},
           "/investigate": {"reason": "case 7", "searched": "1"}}


def _sign_in(w: Walk, persona: str) -> str:
    """A fresh cookie jar holding the persona's session (signed in at /signin once, then
    reused: a code is good once); returns the session's CSRF token."""
    w.client.cookies.clear()
    if persona in ("none", "switch"):  # the switch is a machine: no console session
        return form_csrf(w.client, "/signin")
    if persona not in w.cookies:
        r = sign_in(w.client, w.accounts[persona])
        assert r.status_code == 303 and r.headers["location"] != "/signin", persona
        w.cookies[persona] = dict(w.client.cookies)
    w.client.cookies.update(w.cookies[persona])
    return form_csrf(w.client, "/register")  # any page with a form shows the token


def _request(w: Walk, persona: str, method: str, path: str, csrf: str) -> tuple[int, str]:
    url = path
    for name, value in w.params.items():
        url = url.replace("{" + name + "}", value)
    api = path.startswith("/api/")
    headers = {}
    if api and persona != "none":
        headers["Authorization"] = f"Bearer {w.tokens[persona]}"
    params = QUERIES.get(path, {})
    if path == "/investigate/recordings/{recording_id}/audio":
        params = {"reason": "case 7", "ticket": _ticket(csrf, int(w.params["recording_id"]),
                                                        "case 7")}
    if method == "GET":
        r = w.client.get(url, params=params, headers=headers)
    elif method == "DELETE":
        r = w.client.delete(url, params=params, headers=headers)
    elif api:
        r = w.client.post(url, params=params, json=BODIES.get(path, {}), headers=headers)
    else:
        r = w.client.post(url, data={"csrf_token": csrf, **FORMS.get(path, {})})
    return r.status_code, r.headers.get("location", "")


def _verdict(status: int, location: str) -> str:
    if status in (401, 403) or (status == 303 and location.endswith("/signin")):
        return "refused"
    if status == 404:
        return "not_found"
    assert status < 500, status
    return "allowed"


def test_every_route_is_in_the_walk(walk: Walk) -> None:
    found = set(app_routes(walk.client.app))  # type: ignore[arg-type]
    assert found == set(ROUTES), (found - set(ROUTES), set(ROUTES) - found)


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_route_answers_each_role_as_the_permissions_table_says(walk: Walk,
                                                                     persona: str) -> None:
    wrong = []
    for (method, path), action in sorted(ROUTES.items(), key=lambda kv: kv[0][1]):
        if action is PUBLIC:
            continue
        # A fresh cookie jar for each request (the same server-side session): one
        # answer's cookie changes must not colour the next answer.
        csrf = _sign_in(walk, persona)
        status, location = _request(walk, persona, method, path, csrf)
        got = _verdict(status, location)
        role = ROLE_OF.get(persona)
        may = role is not None and allowed(role, action)
        if not path.startswith("/api/") and persona == "switch":
            may = False  # no console for the switch, whatever it may do over the API
        if not may:
            want = "refused"
        elif path in SCOPED and persona == "investigator_out":
            want = "not_found"  # exactly like a recording that does not exist
        else:
            want = "allowed"
        if got != want and not (want == "allowed" and got == "not_found"
                                and path not in SCOPED):
            wrong.append(f"{method} {path}: {persona} got {status} ({got}), table: {want}")
    assert wrong == []


SIGN_IN_STEPS = {"/signin/code", "/staff/login", "/console/login"}


def test_public_pages_need_no_sign_in(walk: Walk) -> None:
    for (method, path), action in ROUTES.items():
        if action is PUBLIC and method == "GET":
            asset = "swagger-ui.css" if path.startswith("/docs/") else "privline.css"
            url = path.replace("{name}", asset)
            r = walk.client.get(url)
            assert r.status_code < 400, path
            if path not in SIGN_IN_STEPS:
                assert not r.headers.get("location", "").endswith("/signin"), path
            else:  # the code step without a password, and the old addresses
                assert r.headers["location"] == "/signin", path
