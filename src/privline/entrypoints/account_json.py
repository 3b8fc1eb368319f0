"""Users, their tokens and second-factor enrolments as JSON: one shape for CLI and API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from privline.domain.signin import ApiToken
from privline.services.users import Enrolment, UserView


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def token_json(token: ApiToken, now: datetime) -> dict[str, Any]:
    state = ("revoked" if token.revoked_at is not None
             else "live" if token.usable(now) else "expired")
    return {"id": token.id, "created_at": _iso(token.created_at),
            "expires_at": _iso(token.expires_at), "revoked_at": _iso(token.revoked_at),
            "state": state}


def user_json(view: UserView, now: datetime) -> dict[str, Any]:
    u = view.user
    return {"id": u.id, "name": u.name, "role": u.role.value, "created_at": _iso(u.created_at),
            "disabled": u.disabled, "disabled_at": _iso(u.disabled_at),
            "password_set": u.password_hash is not None, "totp": u.totp_secret is not None,
            "facilities": sorted(view.facilities), "open_sessions": view.open_sessions,
            "tokens": [token_json(t, now) for t in view.tokens]}


def enrolment_json(enrolment: Enrolment | None) -> dict[str, Any] | None:
    """Shown once: the secret to type into an authenticator app, and its otpauth URI."""
    return None if enrolment is None else {"secret": enrolment.secret, "uri": enrolment.uri}
