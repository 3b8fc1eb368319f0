"""Operators' accounts: users, passwords, TOTP enrolment, API tokens.

Every change is one function, audited in its own transaction. A change that should lock
someone out (disable, revoke, new role, new password or second factor) ends their web
sessions in that same transaction, so their next request is refused. Only SHA-256
digests of tokens are stored; a token is shown once, when issued.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from privline.domain.access import Action, Role
from privline.domain.audit_events import AuditAction
from privline.domain.model import Actor, User
from privline.domain.signin import (
    TOKEN_DAYS_DEFAULT,
    TOKEN_DAYS_MAX,
    ApiToken,
    password_problem,
    totp_required,
)
from privline.domain.text import ascii_id, free_text
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    Unauthenticated,
    checked,
)
from privline.services.passwords import hash_password, new_totp_secret, otpauth_uri
from privline.services.ports import UnitOfWork, UnitOfWorkFactory


def digest(secret: str) -> str:
    """What is stored of a token or a session id."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Enrolment:
    """A new TOTP secret, shown once: typed into an authenticator app, or its URI."""

    secret: str
    uri: str


@dataclass(frozen=True)
class NewUser:
    user: User
    token: str | None  # shown once
    totp: Enrolment | None  # shown once


@dataclass(frozen=True)
class UserView:
    user: User
    facilities: frozenset[str]
    tokens: Sequence[ApiToken]
    open_sessions: int


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        roles = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {role!r}; one of {roles}", code="invalid_role",
                           field="role") from exc


def _checked_name(name: str) -> str:
    # The one free-text rule (domain/text.py): a name signs in and reaches the audit log.
    return checked(free_text, "name", name, limit=100, code="invalid_name")


def _checked_password(password: str) -> str:
    problem = password_problem(password)
    if problem is not None:
        raise InvalidInput(problem, code="invalid_password", field="password")
    return hash_password(password)  # slow: callers hash before opening a transaction


def _token_days(days: int) -> timedelta:
    if not 1 <= days <= TOKEN_DAYS_MAX:
        raise InvalidInput(f"a token lasts 1 to {TOKEN_DAYS_MAX} days", code="invalid_days",
                           field="expires_days")
    return timedelta(days=days)


def _enrolment(name: str) -> Enrolment:
    secret = new_totp_secret()
    return Enrolment(secret, otpauth_uri(secret, name))


def _get(uow: UnitOfWork, user_id: int) -> User:
    user = uow.users.get(user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", code="user_not_found")
    return user


def _issue(uow: UnitOfWork, user_id: int, now: datetime, days: timedelta
           ) -> tuple[ApiToken, str]:
    token = "pl_" + secrets.token_urlsafe(32)
    return uow.tokens.add(user_id, digest(token), now, now + days), token


def _keep_an_admin(uow: UnitOfWork, user: User, losing: str) -> None:
    """The last enabled admin cannot be disabled or demoted: nobody could undo it but
    the console operator."""
    if user.role is not Role.ADMIN or user.disabled:
        return
    admins = [u for u in uow.users.list() if u.role is Role.ADMIN and not u.disabled]
    if len(admins) <= 1:
        raise Conflict(f"{user.name} is the last enabled admin and cannot be {losing}",
                       code="last_admin")


def add_user(uow_factory: UnitOfWorkFactory, actor: Actor, *, name: str, role: str,
             now: datetime, password: str | None = None, totp: bool = False,
             facilities: Sequence[str] = (), token_days: int | None = TOKEN_DAYS_DEFAULT
             ) -> NewUser:
    """Create a user. Admins and investigators are always enrolled in TOTP; a token is
    issued unless ``token_days`` is None. Facilities scope an investigator's recordings."""
    check_allowed(actor, Action.USER_WRITE)
    parsed, name = parse_role(role), _checked_name(name)
    facilities = [checked(ascii_id, "facilities", f) for f in facilities]
    days = None if token_days is None else _token_days(token_days)
    password_hash = None if password is None else _checked_password(password)
    enrolment = _enrolment(name) if totp or totp_required(parsed) else None
    with uow_factory() as uow:
        if uow.users.by_name(name) is not None:
            raise Conflict(f"a user named {name!r} exists", code="user_exists", field="name")
        for facility_id in facilities:
            if uow.facilities.get(facility_id) is None:
                raise NotFound(f"no facility {facility_id}", code="facility_not_found",
                               field="facilities")
        user = uow.users.add(name, parsed, now, password_hash=password_hash,
                             totp_secret=enrolment.secret if enrolment else None)
        for facility_id in facilities:
            uow.user_facilities.grant(user.id, facility_id, now)
        token = None if days is None else _issue(uow, user.id, now, days)
        audit.record(uow, actor, AuditAction.USER_ADD, f"user:{user.id}", now, name=name, role=role,
                     facilities=sorted(facilities), password=password_hash is not None,
                     totp=enrolment is not None,
                     token_id=None if token is None else token[0].id)
        uow.commit()
    return NewUser(user, None if token is None else token[1], enrolment)


def list_users(uow_factory: UnitOfWorkFactory, actor: Actor) -> list[UserView]:
    check_allowed(actor, Action.USER_READ)
    with uow_factory() as uow:
        return [_view(uow, u) for u in uow.users.list()]


def get_user(uow_factory: UnitOfWorkFactory, actor: Actor, user_id: int) -> UserView:
    check_allowed(actor, Action.USER_READ)
    with uow_factory() as uow:
        return _view(uow, _get(uow, user_id))


def _view(uow: UnitOfWork, user: User) -> UserView:
    return UserView(user, uow.user_facilities.of(user.id), uow.tokens.of_user(user.id),
                    len(uow.sessions.open_of(user.id)))


def _change(uow_factory: UnitOfWorkFactory, actor: Actor, user_id: int, action: AuditAction,
            now: datetime, apply: Callable[[UnitOfWork, User], dict[str, object]]) -> User:
    """The shape of every change to an existing user: check, apply, end their sessions,
    audit, commit; all or nothing."""
    check_allowed(actor, Action.USER_WRITE)
    with uow_factory() as uow:
        user = _get(uow, user_id)
        details = apply(uow, user)
        ended = uow.sessions.end_all(user_id, now)
        audit.record(uow, actor, action, f"user:{user_id}", now, name=user.name,
                     sessions_ended=ended, **details)
        changed = _get(uow, user_id)
        uow.commit()
    return changed


def set_password(uow_factory: UnitOfWorkFactory, actor: Actor, user_id: int, *,
                 password: str, now: datetime) -> User:
    password_hash = _checked_password(password)

    def apply(uow: UnitOfWork, user: User) -> dict[str, object]:
        uow.users.set_password(user.id, password_hash)
        return {}

    return _change(uow_factory, actor, user_id, AuditAction.USER_PASSWORD, now, apply)


def enrol_totp(uow_factory: UnitOfWorkFactory, actor: Actor, user_id: int, *,
               now: datetime) -> Enrolment:
    """A new second factor (the old one stops working); shown once."""
    enrolled: list[Enrolment] = []

    def apply(uow: UnitOfWork, user: User) -> dict[str, object]:
        enrolled.append(_enrolment(user.name))
        uow.users.set_totp(user.id, enrolled[0].secret)
        return {}

    _change(uow_factory, actor, user_id, AuditAction.USER_TOTP, now, apply)
    return enrolled[0]


def set_role(uow_factory: UnitOfWorkFactory, actor: Actor, user_id: int, *, role: str,
             now: datetime) -> Enrolment | None:
    """Change a user's role; returns a new TOTP enrolment if the role needs one and the
    user had none."""
    parsed = parse_role(role)
    enrolled: list[Enrolment] = []

    def apply(uow: UnitOfWork, user: User) -> dict[str, object]:
        if parsed is not Role.ADMIN:
            _keep_an_admin(uow, user, "demoted")
        uow.users.set_role(user.id, parsed)
        if totp_required(parsed) and user.totp_secret is None:
            enrolled.append(_enrolment(user.name))
            uow.users.set_totp(user.id, enrolled[0].secret)
        return {"role": parsed.value, "was": user.role.value, "totp_enrolled": bool(enrolled)}

    _change(uow_factory, actor, user_id, AuditAction.USER_ROLE, now, apply)
    return enrolled[0] if enrolled else None


def disable(uow_factory: UnitOfWorkFactory, actor: Actor, user_id: int, *, now: datetime
            ) -> User:
    """No sign-in and no token works while disabled; enabling restores unexpired tokens."""
    def apply(uow: UnitOfWork, user: User) -> dict[str, object]:
        if user.disabled:
            raise Conflict(f"user {user_id} is disabled already", code="user_disabled")
        _keep_an_admin(uow, user, "disabled")
        uow.users.set_disabled(user.id, now)
        return {}

    return _change(uow_factory, actor, user_id, AuditAction.USER_DISABLE, now, apply)


def enable(uow_factory: UnitOfWorkFactory, actor: Actor, user_id: int, *, now: datetime
           ) -> User:
    def apply(uow: UnitOfWork, user: User) -> dict[str, object]:
        if not user.disabled:
            raise Conflict(f"user {user_id} is not disabled", code="user_enabled")
        uow.users.set_disabled(user.id, None)
        return {}

    return _change(uow_factory, actor, user_id, AuditAction.USER_ENABLE, now, apply)


def revoke(uow_factory: UnitOfWorkFactory, actor: Actor, user_id: int, *, now: datetime,
           token_id: int | None = None) -> int:
    """Revoke one token, or every token of the user; either way their web sessions end.
    Returns how many tokens were live."""
    revoked: list[int] = []

    def apply(uow: UnitOfWork, user: User) -> dict[str, object]:
        if token_id is not None and all(t.id != token_id for t in uow.tokens.of_user(user.id)):
            raise NotFound(f"user {user_id} has no token {token_id}", code="token_not_found")
        revoked.append(uow.tokens.revoke(user.id, now, token_id))
        return {"token_id": token_id, "tokens_revoked": revoked[0]}

    _change(uow_factory, actor, user_id, AuditAction.USER_REVOKE, now, apply)
    return revoked[0]


def issue_token(uow_factory: UnitOfWorkFactory, actor: Actor, user_id: int, *,
                now: datetime, expires_days: int = TOKEN_DAYS_DEFAULT, rotate: bool = False
                ) -> tuple[ApiToken, str]:
    """A new token for the user, shown once; ``rotate`` revokes their others with it."""
    check_allowed(actor, Action.USER_WRITE)
    days = _token_days(expires_days)
    with uow_factory() as uow:
        user = _get(uow, user_id)
        revoked = uow.tokens.revoke(user.id, now) if rotate else 0
        token, secret = _issue(uow, user.id, now, days)
        audit.record(uow, actor, AuditAction.USER_TOKEN, f"user:{user_id}", now, name=user.name,
                     token_id=token.id, expires_at=token.expires_at.isoformat(),
                     tokens_revoked=revoked)
        uow.commit()
    return token, secret


def authenticate(uow_factory: UnitOfWorkFactory, token: str, *, now: datetime) -> Actor:
    """The API's check: a live, unexpired token of an enabled user. Anything else, the
    same 401, so a caller learns nothing about which of these failed."""
    with uow_factory() as uow:
        found = uow.tokens.by_hash(digest(token))
        user = None if found is None else uow.users.get(found.user_id)
    if found is None or user is None or user.disabled or not found.usable(now):
        raise Unauthenticated("unknown, expired or revoked token")
    return Actor(user.name, user.role, user.id)


def facility_choices(uow_factory: UnitOfWorkFactory, actor: Actor) -> list[tuple[str, str]]:
    """(id, name) of every facility, for scoping a new user."""
    check_allowed(actor, Action.USER_READ)
    with uow_factory() as uow:
        return [(f.id, f.name) for f in uow.facilities.list()]
