"""The one way a number becomes protected or unprotected.

``registry.add_entry``, ``registry.change_status``, the portal's registrations and every
directory import batch call :func:`apply`, inside their own transaction. It refuses a
transition the registry does not allow, refuses taking protection away without a reason
(or expiring an entry that has neither lapsed nor been sent to review), and quarantines
the stored recordings of every number it protects in that same transaction. Having one
function is what keeps any path from skipping the check or the quarantine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from privline.domain.model import Actor
from privline.domain.registry import Entry, Kind, Status, can_transition, lowers_protection
from privline.services.errors import Conflict, InvalidInput
from privline.services.ports import UnitOfWork
from privline.services.ports.registry import NewEntry
from privline.services.quarantine import quarantine_number

# Verification lasts this long unless renewed; an entry past it keeps protecting its
# number until staff confirm the expiry (see domain/registry.py).
DEFAULT_VALIDITY = timedelta(days=730)


@dataclass(frozen=True)
class Move:
    """One entry's status change, as the entry stood when the caller read it."""

    entry_id: int
    number: str
    current: Status
    target: Status
    note: str
    kind: Kind | None = None  # the profession to set, for an entry that has none yet
    valid_until: datetime | None = None
    review: str | None = None

    @classmethod
    def of(cls, entry: Entry, target: Status, note: str, kind: Kind | None = None) -> Move:
        return cls(entry.id, entry.number, entry.status, target, note, kind,
                   entry.valid_until, entry.review)


@dataclass(frozen=True)
class ImportBatch:
    """Entries added by a directory import: bulk-inserted, stamped with their run."""

    origin: str
    run_id: int


def apply(uow: UnitOfWork, actor: Actor, *, now: datetime, add: Sequence[NewEntry] = (),
          move: Sequence[Move] = (), batch: ImportBatch | None = None,
          valid_for: timedelta = DEFAULT_VALIDITY,
          announce: Callable[[list[Entry]], None] | None = None) -> list[Entry]:
    """Add entries and move statuses in ``uow``; returns the entries added one by one.

    Checks everything before writing anything, so a refusal leaves the transaction as
    it was. ``announce`` gets the added entries to write the caller's audit event (its
    action names what happened) before the quarantine's, cause before effect; the
    caller commits.
    """
    for entry in add:
        if entry.status is Status.VERIFIED and entry.kind is Kind.UNSPECIFIED:
            raise InvalidInput("a verified entry needs its kind", code="kind_required")
    for change in move:
        _check(change, now)
    created: list[Entry] = []
    if batch is not None:
        uow.registry.add_imported(list(add), batch.origin, batch.run_id, now)
    else:
        created = [uow.registry.add(entry, now) for entry in add]
    for change in move:
        until = now + valid_for if change.target is Status.VERIFIED else None
        uow.registry.set_status(change.entry_id, change.target, now, change.note,
                                kind=change.kind, valid_until=until)
    causes: dict[str, str] = {}
    for made in created:
        if made.status is Status.VERIFIED:
            causes.setdefault(made.number, f"registry:{made.id}")
    if batch is not None:
        for entry in add:
            if entry.status is Status.VERIFIED:
                causes.setdefault(entry.number, f"import:{batch.run_id}")
    for change in move:
        if change.target is Status.VERIFIED:
            causes.setdefault(change.number, f"registry:{change.entry_id}")
    if announce is not None:
        announce(created)
    _quarantine(uow, actor, causes, now)
    return created


def _check(change: Move, now: datetime) -> None:
    if not can_transition(change.current, change.target):
        raise Conflict(f"entry {change.entry_id} is {change.current}; cannot become "
                       f"{change.target}", code="invalid_transition")
    if change.target is Status.VERIFIED and change.kind is Kind.UNSPECIFIED:
        raise Conflict("set the entry's kind before verifying it", code="kind_required")
    if lowers_protection(change.current, change.target) and not change.note.strip():
        raise InvalidInput(f"say why entry {change.entry_id} should become {change.target}",
                           code="reason_required")
    if change.target is Status.EXPIRED and change.review is None and (
            change.valid_until is None or change.valid_until > now):
        # An entry that is still valid is revoked (with its reason), never quietly expired.
        raise Conflict(f"entry {change.entry_id} is verified until "
                       f"{change.valid_until:%Y-%m-%d}; it has not lapsed" if change.valid_until
                       else f"entry {change.entry_id} has no end date", code="not_lapsed")


def _quarantine(uow: UnitOfWork, actor: Actor, causes: dict[str, str], now: datetime) -> None:
    """Recordings of calls to newly protected numbers go dark in this transaction."""
    if not causes:
        return
    numbers = sorted(causes)
    # Taken even when nothing is stored: an ingest indexing a recording of one of these
    # numbers waits for this transaction, then sees the number as privileged.
    uow.recordings.lock_number(numbers[0])
    stored = set(uow.recordings.numbers_with_stored(numbers))
    for number in numbers:
        if number in stored:
            quarantine_number(uow, actor, number, now, cause=causes[number])
