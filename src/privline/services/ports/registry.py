"""The registry's ports: privileged numbers and their directory imports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from privline.domain.registry import Entry, Kind, Source, Status


class RegistryUnavailable(Exception):
    """The registry could not be read; the caller must treat privilege as unknown."""


@dataclass(frozen=True)
class NewEntry:
    number: str
    kind: Kind
    holder: str
    credential: str
    source: Source
    status: Status
    valid_from: datetime
    valid_until: datetime | None


@dataclass(frozen=True)
class ImportedEntry:
    """What an import needs to know of an entry it made earlier."""

    id: int
    credential: str
    number: str
    status: Status
    kind: Kind
    holder: str
    revoked_by_import: bool


class RegistryRepository(Protocol):
    def entries_for(self, number: str) -> Sequence[Entry]:
        """All entries for ``number``; raises RegistryUnavailable when unreadable."""
        ...

    def get(self, entry_id: int) -> Entry | None: ...
    def add(self, entry: NewEntry, at: datetime) -> Entry: ...
    def set_status(self, entry_id: int, status: Status, at: datetime, note: str, *,
                   kind: Kind | None = None, valid_until: datetime | None = None) -> None:
        """Change status; ``kind`` and a new ``valid_until`` are set when given."""
        ...

    def expiring(self, before: datetime) -> Sequence[Entry]: ...

    # Directory imports work in batches; these keep a batch to a few statements.
    def start_import_run(self, origin: str, file_name: str, at: datetime) -> int: ...
    def finish_import_run(self, run_id: int, at: datetime, summary: dict[str, object]
                          ) -> None: ...
    def imported_entries(self, origin: str, credentials: Sequence[str]
                         ) -> Sequence[ImportedEntry]: ...
    def add_imported(self, entries: Sequence[NewEntry], origin: str, run_id: int,
                     at: datetime) -> None: ...
    def mark_seen(self, entry_ids: Sequence[int], run_id: int, status: Status, at: datetime,
                  note: str | None = None) -> None:
        """Stamp entries as listed by ``run_id`` and give them ``status``."""
        ...

    def revoke_imported(self, entry_ids: Sequence[int], at: datetime, note: str) -> None: ...
    def revoke_unseen(self, origin: str, run_id: int, at: datetime, note: str) -> int:
        """Revoke live imported entries of ``origin`` that ``run_id`` did not list."""
        ...
    def list(
        self, status: Status | None = None, limit: int = 100, offset: int = 0
    ) -> Sequence[Entry]: ...
