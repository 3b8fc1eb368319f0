"""Directory imports: attorney rosters and NPPES fill the registry automatically.

Imported numbers are protected from the moment of import, for every facility. An import
never turns a verified entry off: a number the directory deactivated, or one missing from
a complete file, goes to staff review ("deactivated in the directory", "missing from the
directory") and keeps protecting until staff revoke or keep it. Which file staff loaded
last must never decide whether a lawyer's calls are recorded. An import is idempotent:
the same file again changes no entry's status; a newer file adds what is new and settles
the review of what it lists again. A dry run does all of this in transactions it rolls
back, so it reports what would change and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from privline.domain.access import Action
from privline.domain.audit_events import AuditAction
from privline.domain.errors import InvalidNumber
from privline.domain.model import Actor
from privline.domain.numbers import to_e164
from privline.domain.registry import Kind, Review, Source, Status
from privline.services import audit, protection
from privline.services.access import check_allowed
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.services.ports.registry import ImportedEntry, NewEntry
from privline.services.protection import DEFAULT_VALIDITY, ImportBatch, Move

BATCH = 2000


@dataclass(frozen=True)
class Listing:
    """One directory row as the registry sees it.

    ``kind`` None means "whatever this credential was imported as" (NPPES's secondary
    locations file names no profession); such a row for an unknown credential is skipped.
    """

    credential: str
    holder: str
    kind: Kind | None
    numbers: tuple[str, ...]
    active: bool
    line: int


@dataclass
class ImportSummary:
    run_id: int = 0
    listings: int = 0
    added: int = 0
    confirmed: int = 0
    reprotected: int = 0
    # Sent to staff review: still protected until staff decide.
    review_deactivated: int = 0
    review_missing: int = 0
    bad_numbers: int = 0
    skipped: int = 0
    complete: bool = False
    dry_run: bool = False
    bad_number_lines: list[int] = field(default_factory=list)

    @property
    def sent_to_review(self) -> int:
        return self.review_deactivated + self.review_missing

    def as_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["bad_number_lines"] = self.bad_number_lines[:100]
        data["sent_to_review"] = self.sent_to_review
        return data


def import_directory(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    *,
    origin: str,
    file_name: str,
    listings: Iterable[Listing],
    complete: Callable[[], bool],
    now: datetime,
    report: Callable[[], dict[str, Any]] | None = None,
    dry_run: bool = False,
) -> ImportSummary:
    """Apply ``listings`` in batches, each one transaction with its own audit event.

    With ``dry_run`` every transaction is rolled back: the summary says what the import
    would do (counts across batches are exact unless one credential spans two batches).
    """
    check_allowed(actor, Action.REGISTRY_WRITE)
    summary = ImportSummary(dry_run=dry_run)
    seen: set[int] = set()  # a dry run's listed entries: its stamps are rolled back
    with uow_factory() as uow:
        summary.run_id = uow.registry.start_import_run(origin, file_name, now)
        audit.record(uow, actor, AuditAction.REGISTRY_IMPORT_START, f"import:{summary.run_id}", now,
                     origin=origin, file=file_name)
        if not dry_run:
            uow.commit()
    for batch in _batches(listings):
        with uow_factory() as uow:
            before = dict(summary.as_json())
            seen |= _apply(uow, actor, batch, origin, summary, now)
            delta = {k: v - before[k] for k, v in summary.as_json().items()
                     if isinstance(v, int) and not isinstance(v, bool) and k != "run_id"}
            audit.record(uow, actor, AuditAction.REGISTRY_IMPORT_BATCH,
                         f"import:{summary.run_id}", now,
                         **delta)
            if not dry_run:
                uow.commit()
    summary.complete = complete()
    with uow_factory() as uow:
        if summary.complete and dry_run:
            summary.review_missing = len(uow.registry.unseen_ids(origin, summary.run_id)
                                         - seen)
        elif summary.complete:
            summary.review_missing = uow.registry.unseen_to_review(
                origin, summary.run_id, Review.MISSING, now)
        details = summary.as_json() | {"origin": origin, "file": file_name}
        if report is not None:
            details["file_report"] = report()
        uow.registry.finish_import_run(summary.run_id, now, details)
        audit.record(uow, actor, AuditAction.REGISTRY_IMPORT,
                     f"import:{summary.run_id}", now, **details)
        if not dry_run:
            uow.commit()
    return summary


def _batches(listings: Iterable[Listing]) -> Iterator[list[Listing]]:
    it = iter(listings)
    while batch := list(islice(it, BATCH)):
        yield batch


def _apply(uow: UnitOfWork, actor: Actor, batch: list[Listing], origin: str,
           summary: ImportSummary, now: datetime) -> set[int]:
    """One batch; returns the ids of the existing entries it listed or sent to review."""
    known: dict[str, list[ImportedEntry]] = {}
    for entry in uow.registry.imported_entries(origin, sorted({x.credential for x in batch})):
        known.setdefault(entry.credential, []).append(entry)
    new: dict[tuple[str, str], NewEntry] = {}
    confirm: set[int] = set()
    reprotect: dict[int, ImportedEntry] = {}
    deactivated: set[int] = set()
    # Credentials this batch already named a profession for (a main-file row followed
    # by its secondary locations in the same batch).
    named: dict[str, tuple[Kind, str]] = {}
    for listing in batch:
        summary.listings += 1
        held = known.get(listing.credential, [])
        if not listing.active:
            # Staff decide: the entry keeps protecting until they do.
            deactivated |= {e.id for e in held if e.status is Status.VERIFIED}
            continue
        earlier = named.get(listing.credential)
        kind = listing.kind or (earlier[0] if earlier else next((e.kind for e in held), None))
        holder = listing.holder or (earlier[1] if earlier else
                                    next((e.holder for e in held), ""))
        if kind is None:
            summary.skipped += 1
            continue
        named[listing.credential] = (kind, holder)
        by_number = {e.number: e for e in held}
        for raw in listing.numbers:
            try:
                number = to_e164(raw)
            except InvalidNumber:
                summary.bad_numbers += 1
                summary.bad_number_lines.append(listing.line)
                continue
            existing = by_number.get(number)
            if existing is None:
                if (listing.credential, number) not in new:
                    new[(listing.credential, number)] = NewEntry(
                        number, kind, holder or listing.credential, listing.credential,
                        Source.IMPORT, Status.VERIFIED, now, now + DEFAULT_VALIDITY)
            elif existing.status is Status.VERIFIED:
                confirm.add(existing.id)
            elif existing.status is Status.REVOKED and existing.revoked_by_import:
                reprotect[existing.id] = existing
            # Otherwise staff revoked or expired it (or it is pending): their decision
            # stands, and the review queue never takes such entries.
    confirm -= deactivated
    for entry_id in deactivated:
        reprotect.pop(entry_id, None)
    moves = [Move(e.id, e.number, e.status, Status.VERIFIED, f"re-listed by {origin}")
             for _, e in sorted(reprotect.items())]
    protection.apply(uow, actor, now=now, add=list(new.values()), move=moves,
                     batch=ImportBatch(origin, summary.run_id))
    uow.registry.mark_seen(sorted(confirm | set(reprotect)), summary.run_id)
    uow.registry.send_to_review(sorted(deactivated), Review.DEACTIVATED, now)
    summary.added += len(new)
    summary.confirmed += len(confirm)
    summary.reprotected += len(reprotect)
    summary.review_deactivated += len(deactivated)
    return confirm | set(reprotect) | deactivated
