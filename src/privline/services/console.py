"""What the operators' console reads beyond single records: the dashboard, the registry
searched with each entry's history, and what auditors see (the audit log's checkpoints
and changes, statements handed out). Calls are searched in services/call_log.py.
Read-only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from privline.domain.access import Action
from privline.domain.audit_chain import Checkpoint
from privline.domain.model import Actor, CallRecord
from privline.domain.policy import Mode
from privline.domain.registry import Entry
from privline.services.access import check_allowed
from privline.services.errors import InvalidInput, NotFound
from privline.services.ports import UnitOfWorkFactory
from privline.services.ports.records import AuditRecord, KeptStatement
from privline.services.records import Page, _page, check_page

MODES = tuple(m.value for m in Mode)


@dataclass(frozen=True)
class Dashboard:
    calls_today: Mapping[str, int]  # by mode, since midnight UTC
    pending_reviews: int
    open_incidents: int
    locked_residents: int


def dashboard(uow_factory: UnitOfWorkFactory, actor: Actor, *, now: datetime) -> Dashboard:
    check_allowed(actor, Action.CALL_READ)
    check_allowed(actor, Action.RESIDENT_READ)
    midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    with uow_factory() as uow:
        by_mode = uow.records.calls_by_mode(midnight, midnight + timedelta(days=1))
        pending = uow.records.registry_pending()
        # Counted, not listed: the incidents page lists them.
        incidents = len(uow.incidents.list(open_only=True, limit=1000, offset=0))
        locked = uow.records.locked_count(now)
    return Dashboard({m: by_mode.get(m, 0) for m in MODES} | dict(by_mode), pending,
                     incidents, locked)


def show_call(uow_factory: UnitOfWorkFactory, actor: Actor, call_id: int) -> CallRecord:
    check_allowed(actor, Action.CALL_READ)
    with uow_factory() as uow:
        call = uow.records.call(call_id)
    if call is None:
        raise NotFound(f"no call {call_id}", code="call_not_found")
    return call


def search_registry(uow_factory: UnitOfWorkFactory, actor: Actor, query: str, *,
                    limit: int = 50, offset: int = 0) -> Page[Entry]:
    """Entries whose number, holder's name or credential contains ``query``."""
    check_allowed(actor, Action.REGISTRY_READ)
    check_page(limit, offset)
    text = query.strip()
    if len(text) > 200:
        raise InvalidInput("search for at most 200 characters", code="invalid_search")
    with uow_factory() as uow:
        rows = uow.records.search_registry(text or None, limit + 1, offset)
    return _page(rows, limit, offset)


@dataclass(frozen=True)
class EntryHistory:
    entry: Entry
    others: Sequence[Entry]  # competing or earlier entries for the same number
    events: Sequence[AuditRecord]


def entry_history(uow_factory: UnitOfWorkFactory, actor: Actor, entry_id: int
                  ) -> EntryHistory:
    check_allowed(actor, Action.REGISTRY_READ)
    with uow_factory() as uow:
        entry = uow.registry.get(entry_id)
        if entry is None:
            raise NotFound(f"no registry entry {entry_id}", code="entry_not_found")
        others = [e for e in uow.registry.entries_for(entry.number) if e.id != entry_id]
        events = uow.records.audit_events(subject=f"registry:{entry_id}", action_prefix=None,
                                          limit=200, offset=0)
    return EntryHistory(entry, others, list(reversed(events)))


def registry_changes(uow_factory: UnitOfWorkFactory, actor: Actor, *, limit: int = 100,
                     offset: int = 0) -> Page[AuditRecord]:
    """The registry's changes as the audit log holds them, newest first."""
    check_allowed(actor, Action.REGISTRY_READ)
    check_page(limit, offset)
    with uow_factory() as uow:
        rows = uow.records.audit_events(subject=None, action_prefix="registry.",
                                        limit=limit + 1, offset=offset)
    return _page(rows, limit, offset)


def checkpoints(uow_factory: UnitOfWorkFactory, actor: Actor) -> Sequence[Checkpoint]:
    check_allowed(actor, Action.AUDIT_VERIFY)
    with uow_factory() as uow:
        return list(reversed(uow.audit.checkpoints()))


def statements(uow_factory: UnitOfWorkFactory, actor: Actor) -> Sequence[KeptStatement]:
    check_allowed(actor, Action.AUDIT_VERIFY)
    with uow_factory() as uow:
        return uow.records.statements()


def statement(uow_factory: UnitOfWorkFactory, actor: Actor, statement_id: int
              ) -> KeptStatement:
    check_allowed(actor, Action.AUDIT_VERIFY)
    with uow_factory() as uow:
        kept = uow.records.statement(statement_id)
    if kept is None:
        raise NotFound(f"no statement {statement_id}", code="statement_not_found")
    return kept
