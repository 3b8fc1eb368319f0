"""Signed session cookies and CSRF tokens for the web portal, and the secret behind them.

The session lives in the cookie itself, signed with HMAC-SHA256 under a secret kept in a
file of mode 0600 (``PRIVLINE_HOME/keys/web-session.key``, or where
``PRIVLINE_WEB_SECRET_FILE`` points); several API workers that share the file accept
each other's cookies. Each session carries a random CSRF token that every form must echo.
A signed-in cookie carries only the id of a server-side session (services/sessions.py):
the server decides on every request whether it still signs anyone in, so signing out
or disabling a user ends it at once, and a copied cookie is refused thereafter.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from privline.adapters.files import KeyFileError, MissingKeyFile, create_private, read_private

COOKIE = "privline_session"
VISITOR_LIFETIME = 7 * 24 * 3600  # seconds a visitor's session (and its CSRF token) lasts
PENDING_LIFETIME = 300  # seconds between a right password and its TOTP code
_MIN_SECRET = 32
_MAX_COOKIE = 3800


@dataclass(frozen=True)
class Session:
    sid: str
    csrf: str
    expires: int  # epoch seconds
    signin: str | None = None  # a server-side session's id (services/sessions.py)
    pending: int = 0  # the user whose password matched, until their code is given
    pending_until: int = 0
    flash: str = ""  # one message for the next page shown
    reference: str = ""  # a new registration's reference, shown once after the redirect

    def pending_user(self, now: int) -> int | None:
        return self.pending if self.pending and now < self.pending_until else None

    def replace(self, **changes: object) -> Session:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def new_session(now: int) -> Session:
    """A fresh visitor session; also what a sign-in or sign-out rotates to."""
    return Session(secrets.token_urlsafe(16), secrets.token_urlsafe(32), now + VISITOR_LIFETIME)


def csrf_ok(session: Session, submitted: str) -> bool:
    return bool(submitted) and hmac.compare_digest(session.csrf.encode(), submitted.encode())


class SessionCodec:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < _MIN_SECRET:
            raise ValueError("the web session secret is too short")
        # A key of its own, so the secret file may one day sign other things too.
        self._key = hmac.new(secret, b"privline web session v1", hashlib.sha256).digest()

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    def encode(self, session: Session) -> str:
        body = json.dumps(dataclasses.asdict(session), separators=(",", ":"), sort_keys=True)
        payload = _b64(body.encode("utf-8"))
        value = (payload + b"." + _b64(self._mac(payload))).decode("ascii")
        if len(value) > _MAX_COOKIE:
            raise ValueError("session too large for a cookie")
        return value

    def decode(self, value: str | None, now: int) -> Session | None:
        """The session in a cookie value; None when absent, forged, malformed or expired."""
        if not value or len(value) > _MAX_COOKIE or not value.isascii():
            return None
        payload, _, mac = value.encode("ascii").partition(b".")
        try:
            if not hmac.compare_digest(_unb64(mac), self._mac(payload)):
                return None
            data = json.loads(_unb64(payload))
            session = Session(**data)
        except (ValueError, TypeError, binascii.Error):
            return None
        if not _well_typed(session) or session.expires <= now:
            return None
        return session


def _well_typed(s: Session) -> bool:
    texts = (s.sid, s.csrf, s.flash, s.reference)
    return (all(isinstance(x, str) for x in texts) and isinstance(s.signin, str | None)
            and all(isinstance(n, int) and not isinstance(n, bool)
                    for n in (s.expires, s.pending, s.pending_until)))


def _b64(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def _unb64(text: bytes) -> bytes:
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


# --- The secret file ------------------------------------------------------------------


def load_secret(path: Path) -> bytes | None:
    """The secret in ``path``; None when there is no such file (an older PRIVLINE_HOME)."""
    try:
        secret = read_private(path, "web session secret").strip()
    except MissingKeyFile:
        return None
    if len(secret) < _MIN_SECRET:
        raise KeyFileError(f"web session secret {path} is shorter than {_MIN_SECRET} bytes")
    return secret


def load_or_create_secret(path: Path) -> bytes:
    secret = secrets.token_hex(32).encode("ascii")
    if create_private(path, secret + b"\n"):
        return secret
    loaded = load_secret(path)
    if loaded is None:
        raise KeyFileError(f"web session secret {path} vanished")
    return loaded
