"""What a request may cost before anyone has said who they are.

Two pure-ASGI middlewares, outermost first:

- :class:`BodyLimit` refuses a body larger than the cap on every route: by its
  Content-Length before the app runs, and by counting the bytes that stream in when there
  is none (chunked), so no route ever holds more than the cap in memory.
- :class:`BearerFirst` authenticates ``/api/`` requests from their headers alone, before
  FastAPI reads and parses the body: a 200 MB JSON body without a token costs nothing.
  The actor it finds rides in the request's state; ``deps.current_actor`` takes it.
"""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privline.bootstrap import Runtime
from privline.entrypoints.api.deps import error_body
from privline.services import users
from privline.services.errors import ServiceError, Unauthenticated

MAX_BODY = 1 << 20  # 1 MiB: the largest body any route takes is a few kilobytes


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the cap. An HTTPException, so
    FastAPI's body reader lets it through as itself (not as "error parsing the body")."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


async def _answer(send: Send, status: int, body: dict[str, object],
                  headers: list[tuple[bytes, bytes]] | None = None) -> None:
    raw = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
        *(headers or [])]})
    await send({"type": "http.response.body", "body": raw})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isascii() or not declared.isdigit()
                                     or int(declared) > self.max_bytes):
            await _answer(send, 413, error_body(
                "body_too_large", f"the request body is larger than {self.max_bytes} bytes",
                limit=self.max_bytes))
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)


class BearerFirst:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        scheme, _, token = (_header(scope, b"authorization") or "").partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("a bearer token is required")
            # The app's runtime, as the routes read it (deps.runtime): one place to set it.
            rt: Runtime = scope["app"].state.runtime
            actor = await run_in_threadpool(users.authenticate, rt.uow, token.strip(),
                                            now=rt.clock())
        except ServiceError as exc:
            headers = [(b"www-authenticate", b"Bearer")] if exc.status == 401 else None
            await _answer(send, exc.status, error_body(exc.code, exc.message, **exc.details),
                          headers)
            return
        scope.setdefault("state", {})["actor"] = actor
        await self.app(scope, receive, send)
