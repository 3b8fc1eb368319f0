"""The console's pages over HTTP: the portal's headers and CSRF rules, sign-in by role,
forms that refuse bad input with an error summary and write nothing."""

from __future__ import annotations

import re
from pathlib import Path
from unittest.mock import patch

import pytest
from fastapi.testclient import TestClient

from privline.adapters.signing import Ed25519Signer
from privline.adapters.vault import MasterKey
from privline.bootstrap import Runtime
from privline.domain.policy import CallRequest
from privline.services import call_records, calls, users
from privline.services.ports import UnitOfWorkFactory
from privline.services.ports.calls import CallRefusal
from privline.settings import Settings
from tests.conftest import ADMIN, NOW, ROSA, ROSA_PIN, World
from tests.integration.vault_support import SWITCH
from tests.support.app import app_for
from tests.support.signin import PASSWORD, make_accounts, sign_in
from tests.web.test_portal_pages import CSP, audit_count, csrf


@pytest.fixture
def client(db_url: str, uow: UnitOfWorkFactory, tmp_path: Path, world: World) -> TestClient:
    """As the portal tests' client, with the signing key /audit checks the log with."""
    signer = Ed25519Signer.load_or_create(tmp_path / "home" / "keys" / "signing.key")
    MasterKey.load_or_create(tmp_path / "home" / "keys" / "master.key")  # the vault's
    rt = Runtime(Settings(home=tmp_path / "home", database_url=db_url), uow, signer=signer,
                 web_secret=b"0123456789abcdef" * 4)
    return TestClient(app_for(rt), follow_redirects=False)


@pytest.fixture
def accounts(uow: UnitOfWorkFactory) -> dict[str, users.NewUser]:
    return make_accounts(uow, ADMIN, NOW)

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def console_sign_in(client: TestClient, account: users.NewUser) -> str:
    """Sign in at /signin (password, then any code); returns where it sent us."""
    r = sign_in(client, account)
    assert r.status_code == 303
    return r.headers["location"]


@pytest.mark.parametrize("path", ["/staff/residents", "/staff/calls", "/staff/registry",
                                  "/staff/dashboard", "/investigate", "/audit"])
def test_each_console_page_sends_a_visitor_to_sign_in(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    assert r.headers["Content-Security-Policy"] == CSP


def test_each_role_lands_on_its_own_page_and_pages_load_nothing_from_elsewhere(
        client: TestClient, accounts: dict[str, users.NewUser]) -> None:
    homes = {}
    for role in ("admin", "staff", "investigator", "auditor"):
        client.cookies.clear()
        homes[role] = console_sign_in(client, accounts[role])
        page = client.get(homes[role])
        assert page.status_code == 200 and page.headers["Content-Security-Policy"] == CSP
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert all(s.startswith(("/", "#")) for s in sources), sources
        assert "<script" not in page.text
    assert homes == {"admin": "/staff/dashboard", "staff": "/staff/dashboard",
                     "investigator": "/investigate", "auditor": "/audit"}


def test_a_form_without_its_csrf_token_changes_nothing(
        client: TestClient, accounts: dict[str, users.NewUser], uow: UnitOfWorkFactory) -> None:
    console_sign_in(client, accounts["staff"])
    before = audit_count(uow)
    r = client.post(f"/staff/residents/{ROSA}/deposit", data={"amount": "5.00"})
    assert r.status_code == 403 and audit_count(uow) == before


def test_a_refused_form_shows_a_focused_summary_linking_to_its_field(
        client: TestClient, accounts: dict[str, users.NewUser], uow: UnitOfWorkFactory) -> None:
    console_sign_in(client, accounts["staff"])
    before = audit_count(uow)
    r = client.post(f"/staff/residents/{ROSA}/deposit",
                    data={"csrf_token": csrf(client, f"/staff/residents/{ROSA}"),
                          "amount": "-3"})
    assert r.status_code == 400 and audit_count(uow) == before
    summary = re.search(r'<div class="error-summary"[^>]*>', r.text)
    assert summary and "autofocus" in summary[0] and 'tabindex="-1"' in summary[0]
    assert '<a href="#amount">' in r.text
    assert re.search(r'<input id="amount" name="amount"[^>]*aria-invalid="true"', r.text)


def test_signing_out_ends_the_console_session(client: TestClient, accounts: dict[str, users.NewUser]
                                               ) -> None:
    console_sign_in(client, accounts["auditor"])
    assert client.get("/audit").status_code == 200
    r = client.post("/signout", data={"csrf_token": csrf(client, "/audit/statements")})
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    assert client.get("/audit").status_code == 303


def test_an_audio_link_plays_only_with_its_own_reason_and_session(
        client: TestClient, accounts: dict[str, users.NewUser], uow: UnitOfWorkFactory) -> None:
    console_sign_in(client, accounts["investigator"])
    page = client.post("/investigate/recordings/1/play",
                       data={"csrf_token": csrf(client, "/investigate/recordings/1"),
                             "reason": "case 9"})
    link = re.search(r'<audio id="audio"[^>]* src="([^"]+)"', page.text)
    assert link and "csrf_token" not in link[1]
    before = audit_count(uow)
    forged = link[1].replace("amp;", "").replace("reason=case+9", "reason=curious")
    assert client.get(forged).status_code == 403
    assert audit_count(uow) == before  # refused before anything is read or audited
    # The real link reaches the service, which audits the attempt (no such recording).
    assert client.get(link[1].replace("amp;", "")).status_code == 404
    assert audit_count(uow) == before + 1


def test_the_calls_page_filters_pages_by_cursor_and_names_a_bad_field(
        client: TestClient, accounts: dict[str, users.NewUser], uow: UnitOfWorkFactory) -> None:
    for to in ("2125550100", "2125550101", "2125550102"):
        calls.decide_call(uow, ADMIN, CallRequest("state-prison", ROSA, to, False, ROSA_PIN),
                          now=NOW)
    call_records.call_refused(uow, SWITCH, CallRefusal(
        "turned-away@test", NOW, "state-prison", None, "2125550199", "untrusted_source", 403))
    console_sign_in(client, accounts["staff"])
    page = client.get("/staff/calls", params={"resident": ROSA, "since": "2026-07-01"})
    assert page.status_code == 200
    assert page.text.count("+1212555010") == 3 and "turned-away" not in page.text
    every = client.get("/staff/calls").text
    assert "untrusted_source (SIP 403)" in every  # a refusal before any decision is listed
    assert "Older" not in every
    with patch("privline.entrypoints.web.console_staff.PAGE", 2):
        first = client.get("/staff/calls", params={"mode": "recorded"}).text
        older = re.search(r'<a href="(/staff/calls\?mode=recorded&amp;before=c[0-9]+)">Older',
                          first)
        assert older and first.count("/staff/calls/") == 2
        second = client.get(older[1].replace("&amp;", "&")).text
        assert second.count("/staff/calls/") == 1 and ">Newest<" in second
    bad = client.get("/staff/calls", params={"since": "2026-07-01T12:00"})
    assert bad.status_code == 400 and '<a href="#since">' in bad.text
    assert re.search(r'<input id="since" name="since"[^>]*aria-invalid="true"', bad.text)


def test_a_user_changes_their_own_password_and_their_other_sessions_end(
        client: TestClient, accounts: dict[str, users.NewUser], uow: UnitOfWorkFactory) -> None:
    console_sign_in(client, accounts["auditor"])
    elsewhere = TestClient(client.app, follow_redirects=False)
    console_sign_in(elsewhere, accounts["auditor"])
    form = client.get("/account/password")
    assert form.status_code == 200 and 'aria-current="page">Your password' in form.text

    before = audit_count(uow)
    wrong = client.post("/account/password", data={
        "csrf_token": csrf(client, "/account/password"), "current_password": "nope",
        "new_password": "a brand new long passphrase"})
    assert wrong.status_code == 400 and '<a href="#current_password">' in wrong.text
    assert re.search(r'<input id="current_password"[^>]*aria-invalid="true"', wrong.text)
    assert audit_count(uow) == before + 1  # the failed attempt, nothing else

    done = client.post("/account/password", data={
        "csrf_token": csrf(client, "/account/password"), "current_password": PASSWORD,
        "new_password": "a brand new long passphrase"})
    assert done.status_code == 303 and done.headers["location"] == "/account/password"
    assert "1 other session signed out" in client.get("/account/password").text
    assert client.get("/audit").status_code == 200  # this session goes on
    assert elsewhere.get("/audit").headers["location"] == "/signin"  # the other ended
    visitor = TestClient(client.app, follow_redirects=False)
    assert visitor.get("/account/password").headers["location"] == "/signin"
