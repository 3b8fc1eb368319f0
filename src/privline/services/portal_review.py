"""The professionals' portal, staff side: the review queue, renewals, and the review of
what a directory import dropped.

Staff review the pending entries (from the portal and from residents' private-call
requests) oldest first. Registrations competing for one number are shown together, each
with its own registrant's email; approving one closes the other pending ones, with a
reason, in the same transaction. Staff also confirm lapsed verifications. Every decision
goes through :mod:`privline.services.registry` or :func:`privline.services.protection.apply`
and writes its audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from privline.domain.access import Action
from privline.domain.audit_events import AuditAction
from privline.domain.model import Actor
from privline.domain.registry import Entry, Kind, Source, Status
from privline.domain.text import text_problem
from privline.services import audit, protection, registry
from privline.services.access import check_allowed
from privline.services.errors import Conflict, InvalidInput, NotFound
from privline.services.portal import PROFESSIONS
from privline.services.ports import UnitOfWorkFactory
from privline.services.protection import Move

_MAX_NOTE = 500


@dataclass(frozen=True)
class Rival:
    """Another live entry for the same number, shown beside the one under review."""

    entry: Entry
    email: str | None


@dataclass(frozen=True)
class QueueItem:
    entry: Entry
    email: str | None  # the registrant's, for entries that came through the portal
    rivals: tuple[Rival, ...] = ()


@dataclass(frozen=True)
class QueuePage:
    items: tuple[QueueItem, ...]
    more: bool


def review_queue(uow_factory: UnitOfWorkFactory, actor: Actor, *, limit: int = 100,
                 offset: int = 0) -> QueuePage:
    """Pending entries, oldest first, each with the registrant's email and its rivals."""
    check_allowed(actor, Action.REGISTRY_WRITE)
    if not (1 <= limit <= 500 and offset >= 0):
        raise InvalidInput("limit must be 1..500 and offset >= 0", code="invalid_page")
    with uow_factory() as uow:
        entries = list(uow.registry.list(Status.PENDING, limit + 1, offset))
        shown = entries[:limit]
        rivals = {e.id: [r for r in uow.registry.entries_for(e.number) if r.id != e.id
                         and r.source is not Source.IMPORT
                         and r.status in (Status.PENDING, Status.VERIFIED)] for e in shown}
        emails = uow.portal.emails_for(sorted({e.id for e in shown}
                                              | {r.id for rs in rivals.values() for r in rs}))
    return QueuePage(tuple(QueueItem(e, emails.get(e.id),
                                     tuple(Rival(r, emails.get(r.id)) for r in rivals[e.id]))
                           for e in shown), len(entries) > limit)


def expiring(uow_factory: UnitOfWorkFactory, actor: Actor, *, within: timedelta,
             now: datetime) -> tuple[QueueItem, ...]:
    """Verified entries whose validity ends within ``within`` (or has ended): renewals."""
    check_allowed(actor, Action.REGISTRY_WRITE)
    if not timedelta(days=1) <= within <= timedelta(days=366):
        raise InvalidInput("look ahead 1 to 366 days", code="invalid_window")
    entries = registry.expiring(uow_factory, actor, within=within, now=now)
    with uow_factory() as uow:
        emails = uow.portal.emails_for([e.id for e in entries])
    return tuple(QueueItem(e, emails.get(e.id)) for e in entries)


def approve(uow_factory: UnitOfWorkFactory, actor: Actor, entry_id: int, *, kind: str,
            note: str = "", now: datetime) -> Entry:
    """Verify a pending entry as ``kind`` and close the pending entries competing with it.

    Refused when the entry is no longer pending (a reviewer on a stale page must not
    undo a colleague's decision).
    """
    check_allowed(actor, Action.REGISTRY_WRITE)
    errors: dict[str, str] = {}
    if kind not in {k.value for k in PROFESSIONS}:
        errors["kind"] = "Choose the profession before approving"
    note = _note(note, errors, "note", required=False) or "approved in portal review"
    if errors:
        raise InvalidInput("the approval has errors", code="invalid_review", fields=errors)
    with uow_factory() as uow:
        entry = uow.registry.get(entry_id)
        if entry is None:
            raise NotFound(f"no registry entry {entry_id}", code="entry_not_found")
        _still(Status.PENDING)(entry)
        closed = [r for r in uow.registry.entries_for(entry.number)
                  if r.id != entry.id and r.status is Status.PENDING]
        why = f"another registration for {entry.number} was approved (entry {entry.id})"
        approving = entry

        def announce(_: list[Entry]) -> None:
            audit.record(uow, actor, AuditAction.REGISTRY_VERIFY, f"registry:{approving.id}", now,
                         number=approving.number, previous=approving.status.value,
                         note=note, closed=[r.id for r in closed])
            for rival in closed:
                audit.record(uow, actor, AuditAction.REGISTRY_REVOKE, f"registry:{rival.id}", now,
                             number=rival.number, previous=rival.status.value, note=why)

        protection.apply(uow, actor, now=now, announce=announce, move=[
            Move.of(entry, Status.VERIFIED, note, Kind(kind)),
            *(Move.of(r, Status.REVOKED, why) for r in closed)])
        approved = uow.registry.get(entry.id)
        uow.commit()
    assert approved is not None  # noqa: S101 - read back inside the same transaction
    return approved


def reject(uow_factory: UnitOfWorkFactory, actor: Actor, entry_id: int, *, reason: str,
           now: datetime) -> Entry:
    """Revoke a pending entry; the reason is required and audited."""
    check_allowed(actor, Action.REGISTRY_WRITE)
    errors: dict[str, str] = {}
    reason = _note(reason, errors, "reason", required=True)
    if errors:
        raise InvalidInput("the rejection has errors", code="invalid_review", fields=errors)
    return registry.change_status(uow_factory, actor, entry_id, Status.REVOKED, now=now,
                                  note=reason, guard=_still(Status.PENDING))


def confirm_expiry(uow_factory: UnitOfWorkFactory, actor: Actor, entry_id: int, *,
                   note: str = "", now: datetime) -> Entry:
    """Mark a lapsed verification expired: only now does it stop protecting the number.

    That it has lapsed is checked by :func:`protection.apply`, for every caller alike.
    """
    check_allowed(actor, Action.REGISTRY_WRITE)
    errors: dict[str, str] = {}
    note = _note(note, errors, "note", required=False)
    if errors:
        raise InvalidInput("the confirmation has errors", code="invalid_review", fields=errors)
    return registry.change_status(uow_factory, actor, entry_id, Status.EXPIRED, now=now,
                                  note=note or "expiry confirmed in portal review",
                                  guard=_still(Status.VERIFIED))


def _still(expected: Status) -> registry.Guard:
    def guard(entry: Entry) -> None:
        if entry.status is not expected:
            raise Conflict(f"entry {entry.id} is {entry.status.value} now; it was reviewed "
                           "already", code="already_reviewed", status=entry.status.value)
    return guard


def _note(value: str, errors: dict[str, str], field: str, *, required: bool) -> str:
    """The one free-text rule (domain.text) as a form field's message."""
    value = value.strip()
    problem = text_problem(value, limit=_MAX_NOTE, required=required)
    if problem is not None:
        errors[field] = "Give a reason" if required and not value else problem
    return value
