"""The privileged-number registry: add, verify, revoke, expire, check, list.

Every verified entry protects its number in every facility: there is no per-facility
list to forget to apply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from privline.domain.access import Action
from privline.domain.errors import InvalidNumber
from privline.domain.model import Actor
from privline.domain.numbers import to_e164
from privline.domain.registry import (
    Entry,
    Kind,
    Privilege,
    Source,
    Status,
    can_transition,
    privilege_at,
)
from privline.domain.text import free_text
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.errors import Conflict, InvalidInput, NotFound, Unavailable, checked
from privline.services.ports import UnitOfWorkFactory
from privline.services.ports.registry import NewEntry, RegistryUnavailable
from privline.services.quarantine import quarantine_number

_MAX_TEXT = 200
# Verification lasts this long unless renewed; an entry past it keeps protecting its
# number until staff confirm the expiry (see domain/registry.py).
DEFAULT_VALIDITY = timedelta(days=730)

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
        entry = uow.registry.add(
            NewEntry(e164, parsed_kind, holder, credential, source, status, now, until), now)
        audit.record(uow, actor, "registry.add", f"registry:{entry.id}", now,
                     number=e164, kind=parsed_kind.value, status=status.value,
                     source=source.value, credential=credential)
        if verified:  # recordings of earlier calls to it go dark in this transaction
            quarantine_number(uow, actor, e164, now, cause=f"registry:{entry.id}")
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
    (a reviewer acting on a stale page must not undo a colleague's decision).
    """
    check_allowed(actor, Action.REGISTRY_WRITE)
    note = checked(free_text, "note", note, required=False)
    with uow_factory() as uow:
        entry = uow.registry.get(entry_id)
        if entry is None:
            raise NotFound(f"no registry entry {entry_id}", code="entry_not_found")
        if guard is not None:
            guard(entry)
        if not can_transition(entry.status, target):
            raise Conflict(f"entry {entry_id} is {entry.status}; cannot become {target}",
                           code="invalid_transition")
        new_kind = parse_kind(kind) if kind else entry.kind
        if target is Status.VERIFIED and new_kind is Kind.UNSPECIFIED:
            raise Conflict("set the entry's kind before verifying it", code="kind_required")
        until = now + valid_for if target is Status.VERIFIED else None
        uow.registry.set_status(entry_id, target, now, note, kind=new_kind, valid_until=until)
        audit.record(uow, actor, f"registry.{_VERBS[target]}", f"registry:{entry_id}", now,
                     number=entry.number, previous=entry.status.value, note=note)
        if target is Status.VERIFIED:  # recordings of calls to it go dark in this transaction
            quarantine_number(uow, actor, entry.number, now, cause=f"registry:{entry_id}")
        updated = uow.registry.get(entry_id)
        uow.commit()
    assert updated is not None  # noqa: S101 - read back inside the same transaction
    return updated


_VERBS = {Status.VERIFIED: "verify", Status.REVOKED: "revoke", Status.EXPIRED: "expire",
          Status.PENDING: "reopen"}


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
