"""The registry's ports: privileged numbers and their directory imports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from privline.domain.registry import Entry, Kind, Review, Source, Status


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
    def mark_seen(self, entry_ids: Sequence[int], run_id: int) -> None:
        """Stamp entries as listed by ``run_id``; listing settles any review."""
        ...

    # The review queue: verified entries a directory no longer vouches for. They keep
    # protecting until staff settle them (set_status also settles).
    def send_to_review(self, entry_ids: Sequence[int], review: Review, at: datetime
                       ) -> None: ...
    def unseen_to_review(self, origin: str, run_id: int, review: Review, at: datetime
                         ) -> int:
        """Send verified entries of ``origin`` that ``run_id`` did not list to review."""
        ...
    def unseen_ids(self, origin: str, run_id: int) -> set[int]: ...
    def in_review(self, limit: int = 100, offset: int = 0) -> Sequence[Entry]: ...
    def settle_review(self, entry_id: int, at: datetime, note: str) -> None: ...
    def list(
        self, status: Status | None = None, limit: int = 100, offset: int = 0
    ) -> Sequence[Entry]: ...
