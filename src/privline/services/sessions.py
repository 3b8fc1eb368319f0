"""Signing in to the web pages: password, then a TOTP code, then a server-side session.

The browser holds only a random session id; the database keeps its SHA-256 and the
session's times, so signing out, disabling a user, revoking them or changing their role
ends the session at once, wherever the cookie went. Failed attempts are counted per
name typed and per address, audited, and stop further tries for a while.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from privline.domain.access import Action
from privline.domain.audit_events import AuditAction
from privline.domain.model import Actor, User
from privline.domain.signin import (
    FAILURE_WINDOW,
    PEOPLE,
    password_problem,
    signin_blocked,
    totp_required,
)
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.errors import InvalidInput, TooManyAttempts, Unauthenticated
from privline.services.passwords import hash_password, password_matches, totp_step
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.services.users import digest

# A live session is written back at most this often, so every page view is not a write;
# the idle timeout is therefore exact to within this much.
TOUCH_EVERY = timedelta(seconds=60)
_WRONG = "The user name or password is wrong."
_WRONG_CODE = "That code is wrong or was used already. Wait for the next code."
_BLOCKED = "Too many failed sign-ins. Wait 15 minutes, then try again."


@dataclass(frozen=True)
class Limits:
    idle: timedelta
    lifetime: timedelta


@dataclass(frozen=True)
class PasswordChecked:
    """Step one passed: the password matched. ``needs_code`` says step two asks a code."""

    user_id: int
    needs_code: bool


@dataclass(frozen=True)
class SignedIn:
    session_id: str  # for the cookie only; never stored
    actor: Actor


def _blocked(uow: UnitOfWork, name: str, address: str, now: datetime) -> bool:
    since = now - FAILURE_WINDOW
    return signin_blocked(uow.signin_failures.count(since, user_name=name),
                          uow.signin_failures.count(since, address=address))


def _fail(uow_factory: UnitOfWorkFactory, name: str, address: str, now: datetime,
          reason: str, message: str) -> Unauthenticated:
    """Count and audit one failed attempt; the caller raises what this returns."""
    with uow_factory() as uow:
        uow.signin_failures.add(name, address, now)
        audit.record_outsider(uow, f"visitor:{address}", AuditAction.USER_SIGNIN_FAILED,
                              f"user_name:{name}", now, reason=reason)
        uow.commit()
    return Unauthenticated(message, code="signin_failed")


def _refuse_if_blocked(uow_factory: UnitOfWorkFactory, name: str, address: str,
                       now: datetime) -> None:
    with uow_factory() as uow:
        if not _blocked(uow, name, address, now):
            return
        # Audited, but not counted: a blocked address cannot extend its own block forever.
        audit.record_outsider(uow, f"visitor:{address}", AuditAction.USER_SIGNIN_REFUSED,
                              f"user_name:{name}", now, reason="too_many_failures")
        uow.commit()
    raise TooManyAttempts(_BLOCKED)


def check_password(uow_factory: UnitOfWorkFactory, *, name: str, password: str,
                   address: str, now: datetime) -> PasswordChecked:
    """Step one. Unknown names, wrong passwords, disabled users and roles that may not
    sign in all fail alike (same words, same argon2 work)."""
    name = name.strip()[:100]
    _refuse_if_blocked(uow_factory, name, address, now)
    with uow_factory() as uow:
        user = uow.users.by_name(name)
    matched = password_matches(None if user is None else user.password_hash, password)
    if user is None or not matched or user.disabled or user.role not in PEOPLE:
        raise _fail(uow_factory, name, address, now, "password", _WRONG)
    if totp_required(user.role) and user.totp_secret is None:
        raise _fail(uow_factory, name, address, now, "no_second_factor",
                    "Your account needs a second factor first. Ask an administrator to "
                    "enrol one.")
    return PasswordChecked(user.id, needs_code=user.totp_secret is not None)


def finish_signin(uow_factory: UnitOfWorkFactory, *, checked: PasswordChecked, code: str,
                  address: str, now: datetime) -> SignedIn:
    """Step two: the code (if the user has a second factor), then a new session. Only
    call it with what :func:`check_password` returned for this visitor."""
    with uow_factory() as uow:
        user = uow.users.get(checked.user_id)
    if user is None or user.disabled:
        raise Unauthenticated(_WRONG, code="signin_failed")
    _refuse_if_blocked(uow_factory, user.name, address, now)
    step = None if user.totp_secret is None else totp_step(user.totp_secret, code, now)
    if user.totp_secret is not None and step is None:
        raise _fail(uow_factory, user.name, address, now, "code", _WRONG_CODE)
    session_id = secrets.token_urlsafe(32)
    with uow_factory() as uow:
        # A code is good once: of two sign-ins with one code, the second fails here.
        replayed = step is not None and not uow.users.use_totp_step(user.id, step)
        if not replayed:
            uow.sessions.add(digest(session_id), user.id, address, now)
            uow.signin_failures.forgive(user.name)
            _audit(uow, user, now, AuditAction.USER_SIGNIN, address=address,
                   second_factor=step is not None)
            uow.commit()
    if replayed:
        raise _fail(uow_factory, user.name, address, now, "code_reused", _WRONG_CODE)
    return SignedIn(session_id, Actor(user.name, user.role, user.id))


def _audit(uow: UnitOfWork, user: User, now: datetime, action: AuditAction,
           **details: object) -> None:
    audit.record(uow, Actor(user.name, user.role, user.id), action, f"user:{user.id}", now,
                 **details)


def resume(uow_factory: UnitOfWorkFactory, session_id: str, *, now: datetime,
           limits: Limits) -> Actor | None:
    """Who a session id signs in, read again on every request; None once the session
    has ended, timed out, or its user was disabled."""
    with uow_factory() as uow:
        session = uow.sessions.by_hash(digest(session_id))
        if session is None or session.ended_at is not None:
            return None
        user = uow.users.get(session.user_id)
        if user is None or user.disabled:
            return None
        if not session.alive(now, idle=limits.idle, lifetime=limits.lifetime):
            uow.sessions.end(session.id, now)
            _audit(uow, user, now, AuditAction.USER_SESSION_EXPIRED)
            uow.commit()
            return None
        if now - session.last_seen_at >= TOUCH_EVERY:
            uow.sessions.touch(session.id, now)
            uow.commit()
    return Actor(user.name, user.role, user.id)


def change_own_password(uow_factory: UnitOfWorkFactory, actor: Actor, session_id: str, *,
                        current: str, new: str, address: str, now: datetime) -> int:
    """A signed-in person's new password. The current one must match (an unattended
    session is not enough), and a wrong one counts as a failed sign-in, so a stolen
    session cannot guess it for long. Every other session of theirs ends; this one
    goes on. Audited; returns how many sessions ended."""
    check_allowed(actor, Action.OWN_ACCOUNT)
    with uow_factory() as uow:
        session = uow.sessions.by_hash(digest(session_id))
        user = None if session is None else uow.users.get(session.user_id)
    if session is None or session.ended_at is not None or user is None or user.disabled:
        raise Unauthenticated("Please sign in again.", code="signin_required")
    _refuse_if_blocked(uow_factory, user.name, address, now)
    errors: dict[str, str] = {}
    problem = password_problem(new)
    if problem is not None:
        errors["new_password"] = problem
    elif new == current:
        errors["new_password"] = "Choose a password different from the current one"  # noqa: S105 - a message
    if errors and current:
        raise InvalidInput("the new password cannot be used", code="invalid_password",
                           fields=errors)
    if not password_matches(user.password_hash, current):
        _fail(uow_factory, user.name, address, now, "password_change", _WRONG)
        errors = {"current_password": "The current password is wrong."} | errors
        raise InvalidInput("the current password is wrong", code="wrong_password",
                           fields=errors)
    new_hash = hash_password(new)  # slow: before the transaction
    with uow_factory() as uow:
        still = uow.sessions.by_hash(digest(session_id))
        if still is None or still.ended_at is not None:
            raise Unauthenticated("Please sign in again.", code="signin_required")
        uow.users.set_password(user.id, new_hash)
        others = [s for s in uow.sessions.open_of(user.id) if s.id != still.id]
        for other in others:
            uow.sessions.end(other.id, now)
        _audit(uow, user, now, AuditAction.USER_PASSWORD, name=user.name, own=True,
               sessions_ended=len(others))
        uow.commit()
    return len(others)


def sign_out(uow_factory: UnitOfWorkFactory, session_id: str, *, now: datetime) -> None:
    with uow_factory() as uow:
        session = uow.sessions.by_hash(digest(session_id))
        if session is None or session.ended_at is not None:
            return
        user = uow.users.get(session.user_id)
        uow.sessions.end(session.id, now)
        if user is not None:
            _audit(uow, user, now, AuditAction.USER_SIGNOUT)
        uow.commit()
