"""Signing in and out over HTTP, and the admin's users page: sessions on the server, an
old cookie refused, error summaries linking to fields, CSRF on every form, roles."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient

from privline.bootstrap import Runtime
from privline.entrypoints.web.session import COOKIE
from privline.services import users
from privline.services.ports import UnitOfWorkFactory
from privline.settings import Settings
from tests.conftest import ADMIN, NOW, World
from tests.support.app import app_for
from tests.support.signin import PASSWORD, form_csrf, make_accounts, sign_in

SECRET = b"0123456789abcdef" * 4


@pytest.fixture
def app_rt(db_url: str, uow: UnitOfWorkFactory, tmp_path: Path, world: World) -> Runtime:
    return Runtime(Settings(home=tmp_path / "home", database_url=db_url), uow,
                   web_secret=SECRET)


def browser(rt: Runtime) -> TestClient:
    return TestClient(app_for(rt), follow_redirects=False)


@pytest.fixture
def accounts(app_rt: Runtime) -> dict[str, users.NewUser]:
    return make_accounts(app_rt.uow, ADMIN, NOW, ("admin", "staff"))


def summary_links(html: str) -> dict[str, str]:
    box = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert box, "no error summary"
    assert "autofocus" in box[0] and 'tabindex="-1"' in box[0]
    return dict(re.findall(r'<a href="#([\w-]+)">([^<]+)</a>', box[0]))


def test_a_wrong_password_is_refused_with_a_summary_linking_to_the_field(
        app_rt: Runtime, accounts: dict[str, users.NewUser]) -> None:
    client = browser(app_rt)
    response = sign_in(client, accounts["staff"], password="not the password")
    assert response.status_code == 401
    assert summary_links(response.text) == {"password": "The user name or password is wrong."}
    assert 'id="password"' in response.text and 'aria-invalid="true"' in response.text
    assert client.get("/staff").status_code == 303
    empty = client.post("/signin", data={"csrf_token": form_csrf(client, "/signin")})
    assert empty.status_code == 400
    assert set(summary_links(empty.text)) == {"name", "password"}


def test_the_admin_gives_password_then_code_and_a_wrong_code_is_refused(
        app_rt: Runtime, accounts: dict[str, users.NewUser]) -> None:
    client = browser(app_rt)
    admin = accounts["admin"]
    wrong = sign_in(client, admin, code="000000")
    assert wrong.status_code == 401 and "code" in summary_links(wrong.text)
    assert client.get("/staff").status_code == 303
    # The code step is reached only through the password step.
    assert browser(app_rt).get("/signin/code").headers["location"] == "/signin"
    ok = sign_in(client, admin)
    assert (ok.status_code, ok.headers["location"]) == (303, "/staff/dashboard")
    assert "Users" in client.get("/staff").text


def test_signing_out_ends_the_session_on_the_server_so_a_copied_cookie_is_refused(
        app_rt: Runtime, accounts: dict[str, users.NewUser]) -> None:
    client = browser(app_rt)
    sign_in(client, accounts["staff"])
    stolen = client.cookies[COOKIE]
    assert client.get("/staff").status_code == 200
    client.post("/signout", data={"csrf_token": form_csrf(client, "/staff")})
    thief = browser(app_rt)
    thief.cookies.set(COOKIE, stolen)
    assert thief.get("/staff").headers["location"] == "/signin"


def test_disabling_a_user_on_the_users_page_ends_their_session_at_once(
        app_rt: Runtime, accounts: dict[str, users.NewUser]) -> None:
    staff, admin = browser(app_rt), browser(app_rt)
    sign_in(staff, accounts["staff"])
    sign_in(admin, accounts["admin"])
    assert staff.get("/staff").status_code == 200
    uid = accounts["staff"].user.id
    done = admin.post(f"/staff/users/{uid}/disable",
                      data={"csrf_token": form_csrf(admin, "/staff/users")})
    assert done.status_code == 303
    assert staff.get("/staff").headers["location"] == "/signin"
    page = admin.get("/staff/users")
    assert "staff-user is disabled" in page.text and "Disabled" in page.text


def test_the_users_page_is_for_admins_only_and_its_forms_need_the_csrf_token(
        app_rt: Runtime, accounts: dict[str, users.NewUser]) -> None:
    assert browser(app_rt).get("/staff/users").headers["location"] == "/signin"
    staff = browser(app_rt)
    sign_in(staff, accounts["staff"])
    assert staff.get("/staff/users").status_code == 403
    assert staff.post("/staff/users", data={"csrf_token": form_csrf(staff, "/staff"),
                                            "name": "x", "role": "staff"}).status_code == 403
    admin = browser(app_rt)
    sign_in(admin, accounts["admin"])
    before = len(users.list_users(app_rt.uow, ADMIN))
    forged = admin.post("/staff/users", data={"csrf_token": "forged", "name": "x",
                                              "role": "staff", "password": PASSWORD})
    assert forged.status_code == 403
    assert len(users.list_users(app_rt.uow, ADMIN)) == before


def test_the_admin_creates_an_investigator_who_then_signs_in_with_the_code_shown(
        app_rt: Runtime, accounts: dict[str, users.NewUser]) -> None:
    admin = browser(app_rt)
    sign_in(admin, accounts["admin"])
    token = form_csrf(admin, "/staff/users")
    short = admin.post("/staff/users", data={"csrf_token": token, "name": "ivy",
                                             "role": "investigator", "password": "short"})
    assert short.status_code == 400
    assert list(summary_links(short.text)) == ["password"]
    assert 'value="ivy"' in short.text  # what was typed is kept
    made = admin.post("/staff/users", data={"csrf_token": token, "name": "ivy",
                                            "role": "investigator", "password": PASSWORD,
                                            "facility": "state-prison"})
    assert made.status_code == 201
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', made.text)
    assert secret and "otpauth://totp/privline:ivy?secret=" + secret[1] in made.text
    view = next(v for v in users.list_users(app_rt.uow, ADMIN) if v.user.name == "ivy")
    assert view.facilities == {"state-prison"} and view.tokens == []
    ivy = browser(app_rt)
    ivy.post("/signin", data={"csrf_token": form_csrf(ivy, "/signin"), "name": "ivy",
                              "password": PASSWORD})
    signed = ivy.post("/signin/code", data={"csrf_token": form_csrf(ivy, "/signin/code"),
                                            "code": pyotp.TOTP(secret[1]).now()})
    assert (signed.status_code, signed.headers["location"]) == (303, "/investigate")


def test_a_password_reset_on_the_users_page_needs_a_long_password(
        app_rt: Runtime, accounts: dict[str, users.NewUser]) -> None:
    admin = browser(app_rt)
    sign_in(admin, accounts["admin"])
    uid = accounts["staff"].user.id
    token = form_csrf(admin, "/staff/users")
    bad = admin.post(f"/staff/users/{uid}/password", data={"csrf_token": token,
                                                           "password": "tiny"})
    assert bad.status_code == 400
    assert list(summary_links(bad.text)) == [f"password-{uid}"]
    good = admin.post(f"/staff/users/{uid}/password",
                      data={"csrf_token": token, "password": "a new long passphrase"})
    assert good.status_code == 303
    staff = browser(app_rt)
    assert sign_in(staff, accounts["staff"]).status_code == 401  # the old one is gone
    assert sign_in(staff, accounts["staff"], password="a new long passphrase"
                   ).status_code == 303


def test_after_five_wrong_passwords_even_the_right_one_waits(
        app_rt: Runtime, accounts: dict[str, users.NewUser]) -> None:
    client = browser(app_rt)
    for _ in range(5):
        assert sign_in(client, accounts["staff"], password="wrong password!").status_code == 401
    refused = sign_in(client, accounts["staff"])
    assert refused.status_code == 429
    assert "Too many failed sign-ins. Wait 15 minutes" in refused.text
    assert client.get("/staff").status_code == 303
