"""The port compliance statements read through: aggregate queries over one snapshot.

A report reads a great deal (every call of a half-year) and changes nothing, so it does
not use a unit of work: a :data:`ReportReader` opens a read-only, consistent snapshot
(SQLite: a deferred read transaction that never takes the write lock; PostgreSQL:
REPEATABLE READ), and every query below sees the same data. The adapter is
:mod:`privline.adapters.db.report_queries`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from privline.domain.audit_chain import ChainEntry, Checkpoint
from privline.domain.compliance_rows import (
    CallGroup,
    DestructionGroup,
    DisclosureRow,
    HoldGroup,
    IncidentGroup,
    LedgerGroup,
    PrivilegedRecordedCall,
    RegistryCount,
    WarningGroup,
)
from privline.domain.model import Facility
from privline.domain.registry_history import AuditRow, EntryRow, Interval

# Periods are [start, until): ``until`` is the statement's ``as_of``.


class ReportQueries(Protocol):
    def facilities(self, until: datetime) -> Sequence[Facility]:
        """Facilities that existed before ``until``."""
        ...

    # The registry's history. ``track`` must run before the call queries: it names the
    # entries whose protection comes from their audit events (``intervals``); every
    # other entry is judged from its row (verified from valid_from; revoked or expired
    # at updated_at; pending never).
    def audit_rows(self, actions: Collection[str], start: datetime | None,
                   until: datetime) -> Sequence[AuditRow]: ...
    def entry_rows(self, ids: Collection[int]) -> Mapping[int, EntryRow]: ...
    def track(self, entry_ids: Collection[int], intervals: Sequence[Interval]) -> None: ...
    def untracked_added(self, start: datetime, until: datetime) -> Sequence[RegistryCount]: ...
    def untracked_protected_at(self, instants: Sequence[datetime]) -> Sequence[int]: ...

    # Calls (``facility_ids`` None: every facility).
    def call_groups(self, start: datetime, until: datetime,
                    facility_ids: Collection[str] | None) -> Sequence[CallGroup]: ...
    def warning_groups(self, start: datetime, until: datetime,
                       facility_ids: Collection[str] | None) -> Sequence[WarningGroup]: ...
    def privileged_recorded(self, start: datetime, until: datetime,
                            facility_ids: Collection[str] | None, limit: int
                            ) -> Sequence[PrivilegedRecordedCall]: ...
    def ledger_groups(self, start: datetime, until: datetime) -> Sequence[LedgerGroup]: ...

    # The vault.
    def incident_groups(self, start: datetime, until: datetime) -> Sequence[IncidentGroup]: ...
    def destruction_groups(self, start: datetime, until: datetime
                           ) -> Sequence[DestructionGroup]: ...
    def hold_groups(self, start: datetime, until: datetime) -> Sequence[HoldGroup]: ...
    def disclosures(self, start: datetime, until: datetime) -> Sequence[DisclosureRow]: ...

    # The audit log.
    def count_actions(self, prefix: str, start: datetime, until: datetime) -> int: ...
    def count_audit(self, start: datetime, until: datetime) -> int: ...
    def audit_entries(self) -> Iterator[ChainEntry]: ...
    def audit_entry(self, seq: int) -> ChainEntry | None: ...
    def audit_checkpoints(self) -> list[Checkpoint]: ...
    def audit_head(self) -> tuple[int, str]: ...


ReportReader = Callable[[], AbstractContextManager[ReportQueries]]
