"""API users and their bearer tokens. Only a token's SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from privline.domain.access import Action, Role
from privline.domain.audit_events import AuditAction
from privline.domain.model import Actor, User
from privline.domain.text import free_text
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.errors import InvalidInput, Unauthenticated, checked
from privline.services.ports import UnitOfWorkFactory


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(
    uow_factory: UnitOfWorkFactory, actor: Actor, *, name: str, role: str, now: datetime
) -> tuple[User, str]:
    """Create a user; returns it with its token, which is shown this once only."""
    check_allowed(actor, Action.USER_WRITE)
    try:
        parsed = Role(role)
    except ValueError as exc:
        roles = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {role!r}; one of {roles}", code="invalid_role") from exc
    name = checked(free_text, "name", name, limit=100)
    token = "pl_" + secrets.token_urlsafe(32)
    with uow_factory() as uow:
        user = uow.users.add(name, parsed, _digest(token), now)
        audit.record(uow, actor, AuditAction.USER_ADD, f"user:{user.id}", now, name=name, role=role)
        uow.commit()
    return user, token


def authenticate(uow_factory: UnitOfWorkFactory, token: str) -> Actor:
    return authenticate_digest(uow_factory, _digest(token))


def token_digest(token: str) -> str:
    """What is stored of a token; a web session keeps this, never the token."""
    return _digest(token)


def authenticate_digest(uow_factory: UnitOfWorkFactory, digest: str) -> Actor:
    with uow_factory() as uow:
        user = uow.users.by_token_hash(digest)
    if user is None:
        raise Unauthenticated("unknown or missing token")
    return Actor(user.name, user.role, user.id)
