"""Sign-in policy: who must use a second factor, when failed attempts stop a sign-in,
when a session is over. Pure functions; the caller passes ``now``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from privline.domain.access import Role

# Roles that reach recordings or every user's account must prove a second factor.
TOTP_REQUIRED = frozenset({Role.ADMIN, Role.INVESTIGATOR})
# Roles that may hold a password and sign in at all (the switch uses a token only).
PEOPLE = frozenset({Role.ADMIN, Role.STAFF, Role.INVESTIGATOR, Role.AUDITOR})

# CJIS asks for a lock after at most five failed attempts; an address that tries many
# accounts is stopped too, without locking out every account it names.
FAILURE_WINDOW = timedelta(minutes=15)
MAX_ACCOUNT_FAILURES = 5
MAX_ADDRESS_FAILURES = 20

PASSWORD_MIN = 12  # long passwords, not composition rules
PASSWORD_MAX = 256
TOKEN_DAYS_DEFAULT = 90
TOKEN_DAYS_MAX = 366


def totp_required(role: Role) -> bool:
    return role in TOTP_REQUIRED


def signin_blocked(account_failures: int, address_failures: int) -> bool:
    """Whether recent failures (within FAILURE_WINDOW) stop the next attempt."""
    return account_failures >= MAX_ACCOUNT_FAILURES or address_failures >= MAX_ADDRESS_FAILURES


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < PASSWORD_MIN:
        return f"a password must be at least {PASSWORD_MIN} characters"
    if len(password) > PASSWORD_MAX:
        return f"a password must be at most {PASSWORD_MAX} characters"
    if password != password.strip():
        return "a password must not start or end with a space"
    return None


def session_alive(created_at: datetime, last_seen_at: datetime, now: datetime, *,
                  idle: timedelta, lifetime: timedelta) -> bool:
    """A session ends after ``idle`` without a request or ``lifetime`` after sign-in."""
    return now - last_seen_at < idle and now - created_at < lifetime


@dataclass(frozen=True)
class ApiToken:
    id: int
    user_id: int
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True)
class WebSession:
    id: int
    user_id: int
    address: str
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None = None

    def alive(self, now: datetime, *, idle: timedelta, lifetime: timedelta) -> bool:
        return self.ended_at is None and session_alive(
            self.created_at, self.last_seen_at, now, idle=idle, lifetime=lifetime)
