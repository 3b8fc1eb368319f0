"""The portal's pages over HTTP: forms, CSRF, sessions, roles, headers, errors as pages."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response  # what Starlette's TestClient returns

from privline.bootstrap import Runtime, utcnow
from privline.domain.registry import Source, Status
from privline.entrypoints.web.session import COOKIE
from privline.services import registry, users
from privline.services.errors import Unavailable
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.settings import Settings
from tests.conftest import ADMIN, ATTORNEY_NUMBER, NOW, STAFF, World
from tests.support.app import app_for
from tests.support.signin import make_accounts, sign_in

LAWYER = "+16465550147"
REGISTRATION = {"name": "Lee Bar", "profession": "attorney", "credential": "NY 7654321",
                "number": ["(646) 555-0147", ""], "email": "lee@example.org"}
CSP = ("default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
       "object-src 'none'")


@pytest.fixture
def client(db_url: str, uow: UnitOfWorkFactory, tmp_path: Path, world: World) -> TestClient:
    rt = Runtime(Settings(home=tmp_path / "home", database_url=db_url), uow,
                 web_secret=b"0123456789abcdef" * 4)
    return TestClient(app_for(rt), follow_redirects=False)


@pytest.fixture
def accounts(client: TestClient) -> dict[str, users.NewUser]:
    rt: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return make_accounts(rt.uow, ADMIN, NOW)


def csrf(client: TestClient, path: str = "/register") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, path
    return match[1]


def errors(response: Response) -> dict[str, str]:
    """Each error message on the page, by the id of the field it stands beside."""
    return dict(re.findall(r'<span class="error" id="([\w-]+)-error">([^<]+)</span>',
                           response.text))


def audit_count(uow: UnitOfWorkFactory) -> int:
    with uow() as u:
        return u.audit.count()


def register(client: TestClient, **changes: object) -> Response:
    return client.post("/register", data={"csrf_token": csrf(client), **REGISTRATION,
                                          **changes})


def pending_id(uow: UnitOfWorkFactory, number: str = LAWYER) -> int:
    (entry,) = registry.check(uow, STAFF, number, now=NOW).entries
    assert entry.status is Status.PENDING
    return entry.id


@pytest.mark.parametrize("path", ["/", "/register", "/status", "/signin",
                                  "/static/privline.css", "/staff", "/nothing-here"])
def test_every_page_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    if path == "/nothing-here":  # not a portal page: the API's plain 404
        assert response.status_code == 404
        return
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    # Nothing on any page loads from another origin.
    assert not re.search(r'(src|href|action)="(https?:)?//', response.text)


def test_the_session_cookie_is_signed_httponly_and_samesite_strict(client: TestClient) -> None:
    cookie = client.get("/register").headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    token = csrf(client)
    forged = "f" + client.cookies[COOKIE][1:]  # the payload changed, the signature not
    client.cookies.clear()
    client.cookies.set(COOKIE, forged)
    refused = client.post("/register", data={"csrf_token": token, **REGISTRATION})
    assert refused.status_code == 403  # a forged cookie is dropped, and its token with it


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_form_without_the_sessions_csrf_token_is_refused_and_writes_nothing(
        client: TestClient, uow: UnitOfWorkFactory, token: str | None) -> None:
    csrf(client)  # the visitor has a session, but does not echo its token
    before = audit_count(uow)
    data = {**REGISTRATION} if token is None else {"csrf_token": token, **REGISTRATION}
    response = client.post("/register", data=data)
    assert response.status_code == 403
    assert "This form had expired" in response.text
    assert 'value="Lee Bar"' in response.text  # what was typed is kept for the retry
    assert audit_count(uow) == before
    assert registry.check(uow, STAFF, LAWYER, now=NOW).entries == []


def test_a_token_from_another_session_is_refused(client: TestClient,
                                                 uow: UnitOfWorkFactory) -> None:
    other = TestClient(client.app)
    stolen = csrf(other)
    assert client.post("/register", data={"csrf_token": stolen, **REGISTRATION}
                       ).status_code == 403
    assert registry.check(uow, STAFF, LAWYER, now=NOW).entries == []


def test_bad_input_is_shown_beside_each_field_and_writes_nothing(
        client: TestClient, uow: UnitOfWorkFactory) -> None:
    before = audit_count(uow)
    response = register(client, name="", profession="wizard",
                        number=["(646) 555-0147", "555", "646.555.0147"], email="lee@")
    assert response.status_code == 400
    assert errors(response) == {
        "name": "Give your name",
        "profession": "Choose your profession",
        "numbers-1": "Not a valid phone number (include the area code)",
        "numbers-2": "This number is given twice",
        "email": "Not a valid email address",
    }
    assert 'id="number-1" name="number" type="tel" maxlength="64" autocomplete="off" ' \
           'value="555" aria-invalid="true"' in response.text
    assert "Traceback" not in response.text
    assert audit_count(uow) == before


def test_an_oversized_field_gets_an_error_page_not_a_trace(client: TestClient) -> None:
    response = register(client, name="x" * 5000)
    assert response.status_code == 400
    assert "The form could not be read." in response.text
    assert response.headers["content-security-policy"] == CSP


def test_a_directory_match_is_verified_at_once(client: TestClient,
                                               uow: UnitOfWorkFactory) -> None:
    registry.add_entry(uow, STAFF, number=LAWYER, kind="attorney", holder="LEE BAR",
                       credential="NY:7654321", verified=True, source=Source.IMPORT, now=NOW)
    response = register(client, credential="ny-7654321")
    assert (response.status_code, response.headers["location"]) == (303, "/register/done")
    done = client.get("/register/done")
    assert re.search(r'id="reference">PL-[0-9A-Z-]{19}<', done.text)
    assert "+16465550147" in done.text and "Verified: calls to this number are private" in \
        done.text
    sources = {e.source: e.status for e in registry.check(uow, STAFF, LAWYER, now=NOW).entries}
    assert sources == {Source.IMPORT: Status.VERIFIED, Source.SELF_REGISTERED: Status.VERIFIED}


def test_the_reference_is_shown_once_and_reveals_status_and_nothing_else(
        client: TestClient) -> None:
    register(client)
    done = client.get("/register/done")
    reference = re.search(r'id="reference">([^<]+)<', done.text)[1]  # type: ignore[index]
    assert "Waiting for review" in done.text
    assert client.get("/register/done").headers["location"] == "/status"  # once only
    stranger = TestClient(client.app)
    token = csrf(stranger, "/status")
    found = stranger.post("/status", data={"csrf_token": token, "reference": reference})
    assert found.status_code == 200
    assert "+16465550147" in found.text and "Waiting for review" in found.text
    for private in ("Lee Bar", "lee@example.org", "7654321"):
        assert private not in found.text
    unknown = stranger.post("/status", data={"csrf_token": token,
                                             "reference": "PL-0000-0000-0000-0000"})
    assert unknown.status_code == 404
    assert errors(unknown) == {"reference": "No registration has that reference. Check it "
                                            "against the one you were given."}


def test_staff_pages_send_visitors_to_sign_in(client: TestClient) -> None:
    for path in ("/staff", "/staff/expiring", "/staff/users"):
        response = client.get(path)
        assert (response.status_code, response.headers["location"]) == (303, "/signin")
    post = client.post("/staff/entries/1/approve", data={"csrf_token": csrf(client),
                                                         "kind": "attorney"})
    assert post.headers["location"] == "/signin"
    assert client.get("/staff/login").headers["location"] == "/signin"  # old bookmarks


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_staff_and_admin_sign_in(client: TestClient, accounts: dict[str, users.NewUser],
                                 role: str) -> None:
    visitor_cookie = csrf(client, "/signin") and client.cookies[COOKIE]
    response = sign_in(client, accounts[role])
    assert (response.status_code, response.headers["location"]) == (303, "/staff/dashboard")
    assert client.cookies[COOKIE] != visitor_cookie  # a new session on sign-in
    page = client.get("/staff")
    assert page.status_code == 200 and "Review queue" in page.text
    assert f"Sign out {role}-user" in page.text


@pytest.mark.parametrize("role", ["investigator", "auditor"])
def test_other_roles_sign_in_but_the_staff_pages_refuse_them(
        client: TestClient, accounts: dict[str, users.NewUser], role: str) -> None:
    assert sign_in(client, accounts[role]).status_code == 303
    refused = client.get("/staff")
    assert refused.status_code == 403 and "Your role cannot use this page." in refused.text


def test_staff_approve_a_registration_and_the_number_becomes_private(
        client: TestClient, accounts: dict[str, users.NewUser], uow: UnitOfWorkFactory) -> None:
    register(client)
    entry_id = pending_id(uow)
    sign_in(client, accounts["staff"])
    queue = client.get("/staff")
    assert f'id="entry-{entry_id}"' in queue.text and "lee@example.org" in queue.text
    token = csrf(client, "/staff")
    without = client.post(f"/staff/entries/{entry_id}/approve", data={"kind": "attorney"})
    assert without.status_code == 403 and pending_id(uow) == entry_id
    response = client.post(f"/staff/entries/{entry_id}/approve",
                           data={"csrf_token": token, "kind": "attorney"})
    assert (response.status_code, response.headers["location"]) == (303, "/staff")
    assert "Approved +16465550147" in client.get("/staff").text
    assert registry.check(uow, STAFF, LAWYER, now=utcnow()).privileged
    with uow() as u:
        last = list(u.audit.entries())[-1]
    assert (last.action, last.actor) == ("registry.verify", "staff:staff-user")


def test_a_residents_request_is_approved_only_with_a_kind(
        client: TestClient, accounts: dict[str, users.NewUser], uow: UnitOfWorkFactory) -> None:
    entry = registry.add_entry(uow, STAFF, number="+12125550100", kind="unspecified",
                               holder="requested by resident R1001",
                               credential="resident:R1001", verified=False,
                               source=Source.RESIDENT_REQUEST, now=NOW)
    sign_in(client, accounts["admin"])
    token = csrf(client, "/staff")
    assert "Resident&#39;s request" in client.get("/staff").text
    refused = client.post(f"/staff/entries/{entry.id}/approve",
                          data={"csrf_token": token, "kind": ""})
    assert refused.status_code == 400
    assert errors(refused) == {f"kind-{entry.id}": "Choose the profession before approving"}
    client.post(f"/staff/entries/{entry.id}/approve",
                data={"csrf_token": token, "kind": "religious_adviser"})
    assert registry.check(uow, STAFF, "+12125550100", now=NOW).privileged


def test_rejecting_needs_a_reason_and_a_stale_approval_changes_nothing(
        client: TestClient, accounts: dict[str, users.NewUser], uow: UnitOfWorkFactory) -> None:
    register(client)
    entry_id = pending_id(uow)
    sign_in(client, accounts["staff"])
    token = csrf(client, "/staff")
    blank = client.post(f"/staff/entries/{entry_id}/reject",
                        data={"csrf_token": token, "reason": "  "})
    assert blank.status_code == 400
    assert errors(blank) == {f"reason-{entry_id}": "Give a reason"}
    assert pending_id(uow) == entry_id
    client.post(f"/staff/entries/{entry_id}/reject",
                data={"csrf_token": token, "reason": "not on the NY roll"})
    stale = client.post(f"/staff/entries/{entry_id}/approve",
                        data={"csrf_token": token, "kind": "attorney"})
    assert stale.status_code == 303
    assert "Nothing done: entry" in client.get("/staff").text
    (entry,) = registry.check(uow, STAFF, LAWYER, now=NOW).entries
    assert entry.status is Status.REVOKED


def test_expiring_entries_are_listed_and_a_lapsed_one_expired_on_confirmation(
        client: TestClient, accounts: dict[str, users.NewUser], uow: UnitOfWorkFactory,
        world: World) -> None:
    # Verified at NOW (in the past) for 10 days: lapsed today, still protecting.
    lapsed = registry.add_entry(uow, STAFF, number=LAWYER, kind="attorney", holder="Lee Bar",
                                credential="NY:7654321", verified=True, now=NOW,
                                valid_for=timedelta(days=10))
    sign_in(client, accounts["staff"])
    listing = client.get("/staff/expiring?days=30")
    assert f'id="entry-{lapsed.id}"' in listing.text and "lapsed" in listing.text
    token = csrf(client, "/staff/expiring")
    not_yet = client.post(f"/staff/entries/{world.attorney_entry_id}/expire",
                          data={"csrf_token": token})
    assert not_yet.status_code == 303
    assert registry.check(uow, STAFF, ATTORNEY_NUMBER, now=NOW).privileged
    client.post(f"/staff/entries/{lapsed.id}/expire", data={"csrf_token": token})
    (entry,) = registry.check(uow, STAFF, LAWYER, now=NOW).entries
    assert entry.status is Status.EXPIRED


def test_signing_out_ends_the_staff_session(client: TestClient,
                                            accounts: dict[str, users.NewUser]) -> None:
    sign_in(client, accounts["staff"])
    assert client.get("/staff").status_code == 200
    assert client.post("/staff/logout", data={}).status_code == 403  # CSRF here too
    response = client.post("/staff/logout", data={"csrf_token": csrf(client, "/staff")})
    assert response.headers["location"] == "/signin"
    assert client.get("/staff").status_code == 303


def test_a_service_failure_is_an_html_page_without_a_trace(tmp_path: Path) -> None:
    def broken() -> UnitOfWork:
        raise Unavailable("the database cannot be reached", code="db_unavailable")

    rt = Runtime(Settings(home=tmp_path, database_url="sqlite://"), broken)
    client = TestClient(app_for(rt), follow_redirects=False)
    response = register(client)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    assert "try again shortly" in response.text and "Traceback" not in response.text


def test_registrations_are_limited_per_session_and_per_address_with_a_clear_page(
        db_url: str, uow: UnitOfWorkFactory, tmp_path: Path, world: World) -> None:
    """Issue 12: 50 registrations in one second made 500 pending entries."""
    from privline.entrypoints.web.ratelimit import PER_ADDRESS, PER_SESSION, WINDOW

    clock = [utcnow()]
    rt = Runtime(Settings(home=tmp_path / "home", database_url=db_url), uow,
                 web_secret=b"0123456789abcdef" * 4, clock=lambda: clock[0])
    client = TestClient(app_for(rt), follow_redirects=False)

    def entries() -> int:
        return len(registry.list_entries(uow, STAFF, limit=1000))

    for i in range(PER_SESSION):
        assert register(client, number=[f"646555{i:04d}"]).status_code == 303
    before, audited = entries(), audit_count(uow)
    refused = register(client, number=["6465559999"])
    assert refused.status_code == 429
    assert "Too many registrations" in refused.text and "Nothing was saved" in refused.text
    assert (entries(), audit_count(uow)) == (before, audited)
    # A new session from the same address gets on, until the address's limit.
    made = PER_SESSION
    while made < PER_ADDRESS:
        client.cookies.clear()
        for _ in range(min(PER_SESSION, PER_ADDRESS - made)):
            assert register(client, number=[f"646556{made:04d}"]).status_code == 303
            made += 1
    client.cookies.clear()
    assert register(client, number=["6465559998"]).status_code == 429
    clock[0] += WINDOW  # the window has passed: welcome again
    assert register(client, number=["6465559998"]).status_code == 303


def test_staff_see_competing_registrations_together(
        client: TestClient, accounts: dict[str, users.NewUser], uow: UnitOfWorkFactory) -> None:
    register(client)
    client.cookies.clear()
    register(client, credential="ny-7654321", email="mallory@example.net")
    first, second = (e.id for e in registry.check(uow, STAFF, LAWYER, now=NOW).entries)
    client.cookies.clear()
    sign_in(client, accounts["staff"])
    queue = client.get("/staff").text
    assert "Competing for this number" in queue
    assert f'<a href="#entry-{second}">Entry {second}</a>' in queue
    assert f'<a href="#entry-{first}">Entry {first}</a>' in queue
    # Each entry keeps its own registrant's email.
    mine = queue[queue.index(f'id="entry-{first}"'):queue.index(f'id="entry-{second}"')]
    assert "<dd>lee@example.org</dd>" in mine and "<dd>mallory@example.net</dd>" not in mine


def test_staff_keep_or_revoke_what_a_directory_dropped_and_only_with_a_reason(
        client: TestClient, accounts: dict[str, users.NewUser], uow: UnitOfWorkFactory) -> None:
    from privline.services import imports

    def listing(credential: str, number: str) -> imports.Listing:
        from privline.domain.registry import Kind
        return imports.Listing(credential, "LEE BAR", Kind.ATTORNEY, (number,), True, 2)

    imports.import_directory(uow, STAFF, origin="bar-csv:NY", file_name="a.csv",
                             listings=iter([listing("NY:1", LAWYER),
                                            listing("NY:2", "+16465550148")]),
                             complete=lambda: True, now=NOW)
    imports.import_directory(uow, STAFF, origin="bar-csv:NY", file_name="b.csv",
                             listings=iter([]), complete=lambda: True, now=NOW)
    kept, dropped = (registry.check(uow, STAFF, n, now=NOW).entries[0].id
                     for n in (LAWYER, "+16465550148"))
    sign_in(client, accounts["staff"])
    page_text = client.get("/staff/directory").text
    assert page_text.count("missing from the directory") == 2
    token = csrf(client, "/staff/directory")
    bare = client.post(f"/staff/entries/{dropped}/revoke", data={"csrf_token": token})
    assert bare.status_code == 400 and "Give a reason" in bare.text
    assert registry.check(uow, STAFF, "+16465550148", now=NOW).privileged
    client.post(f"/staff/entries/{dropped}/revoke",
                data={"csrf_token": token, "reason": "struck off"})
    client.post(f"/staff/entries/{kept}/keep",
                data={"csrf_token": token, "reason": "checked with the bar"})
    assert not registry.check(uow, STAFF, "+16465550148", now=NOW).privileged
    assert registry.check(uow, STAFF, LAWYER, now=NOW).privileged
    assert "No directory has dropped a verified number" in client.get("/staff/directory").text
