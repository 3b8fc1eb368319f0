"""Directory imports: attorney rosters and NPPES fill the registry automatically.

Imported numbers are protected from the moment of import, for every facility. An import
is idempotent: the same file again changes no entry's status; a newer file adds what is
new, re-protects what it revoked earlier, and revokes what the directory deactivated.
What merely vanished from the file is revoked only when every row of every file was read
and understood, so a damaged file can never strip protection from a lawyer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from privline.domain.access import Action
from privline.domain.errors import InvalidNumber
from privline.domain.model import Actor
from privline.domain.numbers import to_e164
from privline.domain.registry import Kind, Source, Status
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.services.ports.registry import ImportedEntry, NewEntry
from privline.services.registry import DEFAULT_VALIDITY

BATCH = 2000

# Called inside each batch's transaction with the numbers that batch newly protected,
# e.g. to quarantine recordings of earlier calls to them.
OnProtected = Callable[[UnitOfWork, list[str], datetime], None]


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
    revoked_deactivated: int = 0
    revoked_vanished: int = 0
    bad_numbers: int = 0
    skipped: int = 0
    complete: bool = False
    bad_number_lines: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["bad_number_lines"] = self.bad_number_lines[:100]
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
    on_protected: OnProtected | None = None,
    report: Callable[[], dict[str, Any]] | None = None,
) -> ImportSummary:
    """Apply ``listings`` in batches, each one transaction with its own audit event."""
    check_allowed(actor, Action.REGISTRY_WRITE)
    summary = ImportSummary()
    with uow_factory() as uow:
        summary.run_id = uow.registry.start_import_run(origin, file_name, now)
        audit.record(uow, actor, "registry.import.start", f"import:{summary.run_id}", now,
                     origin=origin, file=file_name)
        uow.commit()
    for batch in _batches(listings):
        with uow_factory() as uow:
            before = dict(summary.as_json())
            protected = _apply(uow, batch, origin, summary, now)
            if on_protected is not None and protected:
                on_protected(uow, protected, now)
            delta = {k: v - before[k] for k, v in summary.as_json().items()
                     if isinstance(v, int) and not isinstance(v, bool) and k != "run_id"}
            audit.record(uow, actor, "registry.import.batch", f"import:{summary.run_id}", now,
                         **delta)
            uow.commit()
    summary.complete = complete()
    with uow_factory() as uow:
        if summary.complete:
            summary.revoked_vanished = uow.registry.revoke_unseen(
                origin, summary.run_id, now, f"no longer listed by {origin}")
        details = summary.as_json() | {"origin": origin, "file": file_name}
        if report is not None:
            details["file_report"] = report()
        uow.registry.finish_import_run(summary.run_id, now, details)
        audit.record(uow, actor, "registry.import", f"import:{summary.run_id}", now, **details)
        uow.commit()
    return summary


def _batches(listings: Iterable[Listing]) -> Iterator[list[Listing]]:
    it = iter(listings)
    while batch := list(islice(it, BATCH)):
        yield batch


def _apply(uow: UnitOfWork, batch: list[Listing], origin: str, summary: ImportSummary,
           now: datetime) -> list[str]:
    known: dict[str, list[ImportedEntry]] = {}
    for entry in uow.registry.imported_entries(origin, sorted({x.credential for x in batch})):
        known.setdefault(entry.credential, []).append(entry)
    new: dict[tuple[str, str], NewEntry] = {}
    confirm: set[int] = set()
    reprotect: set[int] = set()
    revoke: set[int] = set()
    # Credentials this batch already named a profession for (a main-file row followed
    # by its secondary locations in the same batch).
    named: dict[str, tuple[Kind, str]] = {}
    for listing in batch:
        summary.listings += 1
        held = known.get(listing.credential, [])
        if not listing.active:
            fresh = {e.id for e in held
                     if e.status in (Status.VERIFIED, Status.PENDING)} - revoke
            revoke |= fresh
            summary.revoked_deactivated += len(fresh)
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
                reprotect.add(existing.id)
            # Otherwise staff revoked or expired it (or it is pending): their decision
            # stands, and revoke_unseen never touches such entries.
    confirm -= revoke
    reprotect -= revoke
    uow.registry.add_imported(list(new.values()), origin, summary.run_id, now)
    uow.registry.mark_seen(sorted(confirm), summary.run_id, Status.VERIFIED, now)
    uow.registry.mark_seen(sorted(reprotect), summary.run_id, Status.VERIFIED, now,
                           note=f"re-listed by {origin}")
    uow.registry.revoke_imported(sorted(revoke), now, f"deactivated in {origin}")
    summary.added += len(new)
    summary.confirmed += len(confirm)
    summary.reprotected += len(reprotect)
    protected = {n for (_, n) in new} | {e.number for es in known.values() for e in es
                                         if e.id in reprotect}
    return sorted(protected)
