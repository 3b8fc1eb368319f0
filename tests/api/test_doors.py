"""No door left ajar over HTTP: what a request costs before its token, how large it may
be, and ordinary bad input answered as a 4xx in the one {"error": ...} form."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from privline.bootstrap import Runtime, utcnow
from privline.entrypoints.api.limits import MAX_BODY
from privline.services import users
from privline.services.ports import UnitOfWorkFactory
from privline.settings import Settings
from tests.conftest import ADMIN, World
from tests.support.app import app_for

HUGE = str(2**64)


@pytest.fixture
def app(db_url: str, uow: UnitOfWorkFactory, tmp_path: Path, world: World) -> FastAPI:
    rt = Runtime(Settings(home=tmp_path / "home", database_url=db_url), uow,
                 web_secret=b"0123456789abcdef" * 4)
    return app_for(rt)


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app, follow_redirects=False)


@pytest.fixture
def admin(app: FastAPI) -> dict[str, str]:
    rt: Runtime = app.state.runtime
    token = users.add_user(rt.uow, ADMIN, name="admin-user", role="admin", now=utcnow()).token
    return {"Authorization": f"Bearer {token}"}


def audit_count(app: FastAPI) -> int:
    with app.state.runtime.uow() as u:
        return int(u.audit.count())


def is_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"} and "\n" not in error["message"]
    if code is not None:
        assert error["code"] == code
    return error  # type: ignore[no-any-return]


async def _call(app: FastAPI, method: str, path: str, headers: list[tuple[bytes, bytes]],
                chunks: list[bytes]) -> tuple[int, bytes, int]:
    """Drive the ASGI app directly; returns status, body and how many chunks it read."""
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read < len(chunks):
            read += 1
            return {"type": "http.request", "body": chunks[read - 1],
                    "more_body": read < len(chunks)}
        await asyncio.sleep(3600)  # a client that sends nothing more
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "headers": headers,
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    await asyncio.wait_for(app(scope, receive, send), 30)  # type: ignore[arg-type]
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body, read


def test_a_body_without_a_token_is_never_read(app: FastAPI) -> None:
    """The 401 comes from the headers alone: not one byte of the body is received."""
    chunks = [b'{"facility": "' + b"x" * 65536] * 8
    for headers in ([(b"content-type", b"application/json")],
                    [(b"content-type", b"application/json"),
                     (b"authorization", b"Bearer pl_not-a-token")]):
        status, body, read = asyncio.run(_call(app, "POST", "/api/v1/decisions", headers,
                                               chunks))
        assert (status, read) == (401, 0)
        assert json.loads(body)["error"]["code"] == "unauthenticated"


def test_a_declared_body_past_the_cap_is_refused_unread(app: FastAPI, admin: dict[str, str]
                                                        ) -> None:
    headers = [(b"content-type", b"application/json"),
               (b"authorization", admin["Authorization"].encode()),
               (b"content-length", str(200 * 2**20).encode())]
    status, body, read = asyncio.run(_call(app, "POST", "/api/v1/decisions", headers,
                                           [b"{" * 65536]))
    assert (status, read) == (413, 0)
    assert json.loads(body)["error"]["code"] == "body_too_large"


def test_a_streamed_body_is_cut_off_at_the_cap(app: FastAPI, admin: dict[str, str]) -> None:
    """Without a Content-Length (chunked), the bytes are counted as they arrive."""
    before = audit_count(app)
    headers = [(b"content-type", b"application/json"),
               (b"authorization", admin["Authorization"].encode())]
    chunks = [b" " * 65536] * (4 * MAX_BODY // 65536)
    status, body, read = asyncio.run(_call(app, "POST", "/api/v1/registry", headers, chunks))
    assert status == 413 and json.loads(body)["error"]["code"] == "body_too_large"
    assert read <= MAX_BODY // 65536 + 1 < len(chunks)
    assert audit_count(app) == before


def test_a_portal_form_too_large_or_with_too_many_fields_gets_a_page_not_a_500(
        client: TestClient) -> None:
    fields = "&".join(f"f{i}=x" for i in range(1001))
    page = client.post("/register", content=fields,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert page.status_code == 400 and "text/html" in page.headers["content-type"]
    assert "could not be read" in page.text and "went wrong" not in page.text
    big = client.post("/register", content=b"name=" + b"x" * (MAX_BODY + 1),
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert big.status_code == 413


@pytest.mark.parametrize("method, path", [
    ("POST", f"/api/v1/registry/{HUGE}/verify"),
    ("GET", f"/api/v1/recordings/{HUGE}/audio?reason=case+42"),
    ("POST", f"/api/v1/recordings/{HUGE}/export"),
    ("GET", f"/api/v1/registry?offset={HUGE}"),
    ("GET", f"/api/v1/recordings?reason=case+42&offset={HUGE}"),
    ("GET", "/api/v1/recordings?reason=case+42&since=2026-01-01"),  # no time zone
    ("GET", "/api/v1/recordings?reason=case+42&until=2026-01-01T00:00:00"),
    ("GET", "/api/v1/registry/\uff11/verify"),  # a fullwidth digit is no id
])
def test_out_of_range_ids_and_zoneless_dates_are_4xx(client: TestClient, admin: dict[str, str],
                                                      method: str, path: str) -> None:
    body = {"reason": "r", "basis_type": "warrant", "basis_reference": "W-1", "recipient": "DA"}
    answer = client.request(method, path, headers=admin,
                            json=body if method == "POST" else None)
    assert 400 <= answer.status_code < 500
    is_error(answer, answer.status_code)


def test_a_staff_page_with_an_id_past_the_database_range_is_a_400_page(client: TestClient
                                                                       ) -> None:
    page = client.post(f"/staff/entries/{HUGE}/approve", data={"csrf_token": "x"})
    assert page.status_code == 400 and "text/html" in page.headers["content-type"]


def test_a_body_that_is_not_utf8_is_answered_in_the_error_format(client: TestClient,
                                                                admin: dict[str, str]) -> None:
    answer = client.post("/api/v1/decisions", content=b'{"facility": "\xff\xfe"}',
                         headers=admin | {"Content-Type": "application/json"})
    is_error(answer, 400, "invalid_request")
    is_error(client.get("/no/such/route"), 404, "not_found")


def test_a_pin_in_other_digits_than_ascii_is_refused(client: TestClient, admin: dict[str, str]
                                                      ) -> None:
    answer = client.post("/api/v1/decisions", headers=admin, json={
        "facility": "state-prison", "resident": "R1001", "to": "+12125550100",
        "pin": "\uff12\uff14\uff16\uff18"})
    is_error(answer, 422, "invalid_request")


def test_every_operation_documents_its_error_answers(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            documented = set(operation["responses"])
            assert {"401", "413", "422"} <= documented, (method, path)
            schema = operation["responses"]["401"]["content"]["application/json"]["schema"]
            assert re.search(r"ErrorBody", json.dumps(schema)), (method, path)


def test_docs_are_served_from_the_package_under_the_pages_csp(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "default-src 'self'" in page.headers[
        "content-security-policy"]
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from elsewhere
    assert "<style" not in page.text and not re.search(r"<script>|<script [^>]*>[^<]", page.text)
    assets = re.findall(r'(?:src|href)="(/docs/[^"]+)"', page.text)
    assert {"/docs/swagger-ui-bundle.js", "/docs/start.js", "/docs/swagger-ui.css"} <= set(
        assets)
    for asset in assets:
        answer = client.get(asset)
        assert answer.status_code == 200 and len(answer.content) > 10, asset
        assert answer.headers["content-security-policy"] == page.headers[
            "content-security-policy"]
    assert "/openapi.json" in client.get("/docs/start.js").text
    assert client.get("/docs/core.py").status_code == 404
    assert client.get("/docs/..%2F__init__.py").status_code == 404
    assert client.get("/redoc").status_code == 404
