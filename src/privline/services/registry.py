"""The privileged-number registry: add, verify, revoke, expire, check, list.

Every verified entry protects its number in every facility: there is no per-facility
list to forget to apply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from privline.domain.access import Action
from privline.domain.audit_events import AuditAction
from privline.domain.errors import InvalidNumber
from privline.domain.model import Actor
from privline.domain.numbers import to_e164
from privline.domain.registry import Entry, Kind, Privilege, Source, Status, privilege_at
from privline.domain.text import free_text
from privline.services import audit, protection
from privline.services.access import check_allowed
from privline.services.errors import Conflict, InvalidInput, NotFound, Unavailable, checked
from privline.services.ports import UnitOfWorkFactory
from privline.services.ports.registry import NewEntry, RegistryUnavailable
from privline.services.protection import DEFAULT_VALIDITY, Move

_MAX_TEXT = 200
_MAX_NOTE = 500

# Sees an entry inside change_status's transaction; raises to refuse the change.
Guard = Callable[[Entry], None]


@dataclass(frozen=True)
class CheckResult:
    number: str
    privileged: bool
    entries: Sequence[Entry]


def normalize(number: str) -> str:
    try:
        return to_e164(number)
    except InvalidNumber as exc:
        raise InvalidInput(exc.message, code=exc.code) from exc


def parse_kind(kind: str) -> Kind:
    try:
        return Kind(kind)
    except ValueError as exc:
        kinds = ", ".join(k.value for k in Kind if k is not Kind.UNSPECIFIED)
        raise InvalidInput(f"unknown kind {kind!r}; one of {kinds}", code="invalid_kind") from exc


def add_entry(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    *,
    number: str,
    kind: str,
    holder: str,
    credential: str,
    verified: bool,
    source: Source = Source.STAFF,
    now: datetime,
    valid_for: timedelta = DEFAULT_VALIDITY,
) -> Entry:
    check_allowed(actor, Action.REGISTRY_WRITE)
    e164, parsed_kind = normalize(number), parse_kind(kind)
    holder = checked(free_text, "name", holder, limit=_MAX_TEXT)
    credential = checked(free_text, "credential", credential, limit=_MAX_TEXT)
    status = Status.VERIFIED if verified else Status.PENDING
    if verified and parsed_kind is Kind.UNSPECIFIED:
        raise InvalidInput("a verified entry needs its kind", code="kind_required")
    with uow_factory() as uow:
        for existing in uow.registry.entries_for(e164):
            live = existing.status in (Status.PENDING, Status.VERIFIED)
            if live and existing.credential == credential and existing.kind is parsed_kind:
                raise Conflict(f"entry {existing.id} already registers {e164} for {credential}",
                               code="entry_exists", entry_id=existing.id)
        until = now + valid_for if verified else None
        def announce(made: list[Entry]) -> None:
            audit.record(uow, actor, AuditAction.REGISTRY_ADD, f"registry:{made[0].id}", now,
                         number=e164, kind=parsed_kind.value, status=status.value,
                         source=source.value, credential=credential)

        [entry] = protection.apply(uow, actor, now=now, announce=announce, add=[
            NewEntry(e164, parsed_kind, holder, credential, source, status, now, until)])
        uow.commit()
    return entry


def change_status(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    entry_id: int,
    target: Status,
    *,
    now: datetime,
    note: str = "",
    kind: str | None = None,
    valid_for: timedelta = DEFAULT_VALIDITY,
    guard: Guard | None = None,
) -> Entry:
    """Move an entry to ``target`` (verify, revoke or expire) with an audit event.

    Verifying (or re-verifying) starts a new validity period; ``kind`` sets the
    profession of an entry that has none yet, such as a resident's request. ``guard``
    sees the entry as it stands inside the transaction and raises to refuse the change
    (a reviewer acting on a stale page must not undo a colleague's decision). Revoking
    or expiring needs a ``note`` saying why, and expiring needs a lapsed entry (or one a
    directory import sent to review), from every caller alike.
    """
    check_allowed(actor, Action.REGISTRY_WRITE)
    note = checked(free_text, "note", note, required=False)
    with uow_factory() as uow:
        entry = uow.registry.get(entry_id)
        if entry is None:
            raise NotFound(f"no registry entry {entry_id}", code="entry_not_found")
        if guard is not None:
            guard(entry)
        new_kind = parse_kind(kind) if kind else entry.kind
        before = entry

        def announce(_: list[Entry]) -> None:
            audit.record(uow, actor, _VERBS[target], f"registry:{entry_id}", now,
                         number=before.number, previous=before.status.value, note=note,
                         review=before.review)

        protection.apply(uow, actor, now=now, valid_for=valid_for, announce=announce,
                         move=[Move.of(entry, target, note, new_kind)])
        updated = uow.registry.get(entry_id)
        uow.commit()
    assert updated is not None  # noqa: S101 - read back inside the same transaction
    return updated


_VERBS = {Status.VERIFIED: AuditAction.REGISTRY_VERIFY,
          Status.REVOKED: AuditAction.REGISTRY_REVOKE,
          Status.EXPIRED: AuditAction.REGISTRY_EXPIRE, Status.PENDING: AuditAction.REGISTRY_REOPEN}


def check(uow_factory: UnitOfWorkFactory, actor: Actor, number: str, *, now: datetime
          ) -> CheckResult:
    check_allowed(actor, Action.REGISTRY_READ)
    e164 = normalize(number)
    with uow_factory() as uow:
        try:
            entries = list(uow.registry.entries_for(e164))
        except RegistryUnavailable as exc:
            raise Unavailable("the registry cannot be read", code="registry_unavailable") from exc
    return CheckResult(e164, privilege_at(entries, now) is Privilege.PRIVILEGED, entries)


def list_entries(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    *,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[Entry]:
    check_allowed(actor, Action.REGISTRY_READ)
    try:
        wanted = Status(status) if status else None
    except ValueError as exc:
        raise InvalidInput(f"unknown status {status!r}", code="invalid_status") from exc
    if not (1 <= limit <= 1000 and offset >= 0):
        raise InvalidInput("limit must be 1..1000 and offset >= 0", code="invalid_page")
    with uow_factory() as uow:
        return list(uow.registry.list(wanted, limit, offset))


def expiring(
    uow_factory: UnitOfWorkFactory, actor: Actor, *, within: timedelta, now: datetime
) -> Sequence[Entry]:
    """Verified entries whose validity ends within ``within``: the renewal list."""
    check_allowed(actor, Action.REGISTRY_READ)
    with uow_factory() as uow:
        return list(uow.registry.expiring(now + within))


# --- The review queue: entries a directory import no longer vouches for ----------------


def in_review(uow_factory: UnitOfWorkFactory, actor: Actor, *, limit: int = 100,
              offset: int = 0) -> Sequence[Entry]:
    """Verified entries an import sent to review, oldest first; each still protects."""
    check_allowed(actor, Action.REGISTRY_WRITE)
    if not (1 <= limit <= 1000 and offset >= 0):
        raise InvalidInput("limit must be 1..1000 and offset >= 0", code="invalid_page")
    with uow_factory() as uow:
        return list(uow.registry.in_review(limit, offset))


def keep_after_review(uow_factory: UnitOfWorkFactory, actor: Actor, entry_id: int, *,
                      reason: str, now: datetime) -> Entry:
    """Staff checked an entry the directory dropped and keep it protected."""
    check_allowed(actor, Action.REGISTRY_WRITE)
    reason = checked(free_text, "reason", reason, limit=_MAX_NOTE)
    with uow_factory() as uow:
        entry = uow.registry.get(entry_id)
        if entry is None:
            raise NotFound(f"no registry entry {entry_id}", code="entry_not_found")
        if entry.review is None or entry.status is not Status.VERIFIED:
            raise Conflict(f"entry {entry_id} is not waiting for review", code="not_in_review")
        uow.registry.settle_review(entry_id, now, reason)
        audit.record(uow, actor, AuditAction.REGISTRY_REVIEW_KEEP, f"registry:{entry_id}", now,
                     number=entry.number, review=entry.review, note=reason)
        kept = uow.registry.get(entry_id)
        uow.commit()
    assert kept is not None  # noqa: S101 - read back inside the same transaction
    return kept
