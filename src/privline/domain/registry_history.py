"""The registry's history, rebuilt from its audit events: who was protected, and when.

A registry row holds only an entry's present status; a statement about a past period
needs the status each entry had at each moment. Every per-entry change writes an audit
event (``registry.add``, ``registry.request``, ``registry.verify``, ``registry.revoke``,
``registry.expire``) naming the entry and its number, so replaying those events in
chain order gives each entry's timeline. Directory imports change entries in batches
whose audit events carry counts only; an entry no per-entry event names is judged from
its row instead (see ``untracked`` in :mod:`privline.services.ports.compliance`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from privline.domain.audit_events import AuditAction
from privline.domain.registry import Kind, Source, Status

# The per-entry actions and the status each leaves the entry in (``registry.add``
# leaves the status its details name).
STATUS_AFTER: dict[str, Status] = {
    AuditAction.REGISTRY_REQUEST: Status.PENDING,
    AuditAction.REGISTRY_VERIFY: Status.VERIFIED,
    AuditAction.REGISTRY_REVOKE: Status.REVOKED,
    AuditAction.REGISTRY_EXPIRE: Status.EXPIRED,
    AuditAction.REGISTRY_REOPEN: Status.PENDING,
}
ENTRY_ACTIONS = (AuditAction.REGISTRY_ADD, *STATUS_AFTER)
IMPORT_BATCH_ACTIONS = (AuditAction.REGISTRY_IMPORT_BATCH, AuditAction.REGISTRY_IMPORT)


@dataclass(frozen=True)
class AuditRow:
    """One audit event as a report reads it."""

    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: Mapping[str, Any]


@dataclass(frozen=True)
class EntryRow:
    """What the registry table says of an entry now."""

    id: int
    number: str
    kind: Kind
    source: Source
    created_at: datetime


@dataclass(frozen=True)
class Interval:
    """A number protected from ``start`` until ``stop`` (None: still protected)."""

    number: str
    start: datetime
    stop: datetime | None

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment and (self.stop is None or moment < self.stop)


@dataclass
class Timeline:
    entry_id: int
    number: str
    kind: Kind
    source: Source
    created_at: datetime
    changes: list[tuple[datetime, Status]] = field(default_factory=list)

    def status_at(self, moment: datetime) -> Status | None:
        """The status just before ``moment`` (None: the entry did not exist yet)."""
        found: Status | None = None
        for at, status in self.changes:
            if at >= moment:
                break
            found = status
        return found

    def intervals(self) -> list[Interval]:
        spans: list[Interval] = []
        start: datetime | None = None
        for at, status in self.changes:
            if status is Status.VERIFIED and start is None:
                start = at
            elif status is not Status.VERIFIED and start is not None:
                spans.append(Interval(self.number, start, at))
                start = None
        if start is not None:
            spans.append(Interval(self.number, start, None))
        return spans


def entry_id_of(subject: str) -> int | None:
    prefix, _, rest = subject.partition(":")
    return int(rest) if prefix == "registry" and rest.isdigit() else None


def tracked_ids(events: Iterable[AuditRow]) -> list[int]:
    """Entries some per-entry event names."""
    ids = {entry_id_of(e.subject) for e in events if e.action in ENTRY_ACTIONS}
    return sorted(i for i in ids if i is not None)


def timelines(events: Sequence[AuditRow], rows: Mapping[int, EntryRow]
              ) -> dict[int, Timeline]:
    """Each named entry's changes, in chain order.

    An entry whose first event is not its creation (an imported entry that staff later
    revoked, say) starts verified at its row's ``created_at``: imports add entries
    verified.
    """
    lines: dict[int, Timeline] = {}
    for event in sorted(events, key=lambda e: e.seq):
        entry_id = entry_id_of(event.subject)
        if entry_id is None or event.action not in ENTRY_ACTIONS:
            continue
        row = rows.get(entry_id)
        line = lines.get(entry_id)
        if line is None:
            number = str(event.details.get("number") or (row.number if row else ""))
            kind = row.kind if row else Kind.UNSPECIFIED
            source = row.source if row else Source.STAFF
            line = Timeline(entry_id, number, kind, source, event.at)
            lines[entry_id] = line
            if (event.action not in (AuditAction.REGISTRY_ADD, AuditAction.REGISTRY_REQUEST)
                    and row is not None):
                line.created_at = row.created_at
                line.changes.append((row.created_at, Status.VERIFIED))
        if event.action == AuditAction.REGISTRY_ADD:
            line.source = _source(event.details.get("source"), line.source)
            line.changes.append((event.at, _status(event.details.get("status"))))
        elif event.action == AuditAction.REGISTRY_REQUEST:
            line.source = Source.RESIDENT_REQUEST
            line.changes.append((event.at, Status.PENDING))
        else:
            line.changes.append((event.at, STATUS_AFTER[event.action]))
    return lines


def created_kinds(events: Iterable[AuditRow]) -> dict[int, Kind]:
    """The kind each entry was created with, by its creation event (a resident's request
    names none); entries created without one are absent."""
    kinds: dict[int, Kind] = {}
    for event in events:
        entry_id = entry_id_of(event.subject)
        if entry_id is None or entry_id in kinds:
            continue
        if event.action == AuditAction.REGISTRY_REQUEST:
            kinds[entry_id] = Kind.UNSPECIFIED
        elif event.action == AuditAction.REGISTRY_ADD:
            try:
                kinds[entry_id] = Kind(str(event.details.get("kind")))
            except ValueError:
                continue
    return kinds


def _status(value: object) -> Status:
    try:
        return Status(str(value))
    except ValueError:
        return Status.PENDING


def _source(value: object, fallback: Source) -> Source:
    try:
        return Source(str(value))
    except ValueError:
        return fallback
