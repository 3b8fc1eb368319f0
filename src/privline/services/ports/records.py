"""The port the console and the list/show commands read and change records through.

One repository in the unit of work (``uow.records``): lists with filters and paging,
one record with what hangs off it, and the few changes that are not someone else's
repository's (a PIN, a move, a block's removal, a facility's settings, a kept statement).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from privline.domain.model import CallRecord, Facility
from privline.domain.registry import Entry
from privline.services.ports.calls import CallRefusal


@dataclass(frozen=True)
class ResidentRow:
    id: str
    facility_id: str
    active: bool
    failed_pins: int
    locked_until: datetime | None
    balance_cents: int
    created_at: datetime


@dataclass(frozen=True)
class LedgerRow:
    id: int
    kind: str
    amount_cents: int
    at: datetime
    memo: str
    call_id: str | None


@dataclass(frozen=True)
class BlockRow:
    id: int
    facility_id: str
    resident_id: str | None
    number: str
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: Mapping[str, object]


@dataclass(frozen=True)
class CallFilter:
    facility_id: str | None = None
    resident_id: str | None = None
    number: str | None = None
    mode: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class LogPosition:
    """A place in the call log, newest first by (at, kind, id): decisions ("call") sort
    before refusals ("refusal") at the same instant. A page goes on past it."""

    at: datetime
    kind: str  # "call" or "refusal"
    id: int


@dataclass(frozen=True)
class RefusalRow:
    id: int
    refusal: CallRefusal


@dataclass(frozen=True)
class KeptStatement:
    id: int
    period: str
    issued_at: datetime
    sha256: str
    all_facilities: bool
    body: bytes
    signature: bytes


class RecordsRepository(Protocol):
    def residents(self, facility_id: str | None, query: str | None, limit: int,
                  offset: int) -> Sequence[ResidentRow]: ...
    def resident(self, resident_id: str) -> ResidentRow | None: ...
    def set_pin_hash(self, resident_id: str, pin_hash: str) -> None: ...
    def move_resident(self, resident_id: str, facility_id: str) -> None: ...
    def ledger(self, resident_id: str, limit: int) -> Sequence[LedgerRow]: ...
    def locked_count(self, now: datetime) -> int: ...

    def update_facility(self, facility: Facility) -> None: ...

    def blocks(self, facility_id: str | None, limit: int, offset: int) -> Sequence[BlockRow]: ...
    def block(self, block_id: int) -> BlockRow | None: ...
    def find_block(self, facility_id: str, resident_id: str | None, number: str
                   ) -> int | None: ...
    def remove_block(self, block_id: int) -> None: ...

    def calls(self, where: CallFilter, limit: int, offset: int,
              after: LogPosition | None = None) -> Sequence[CallRecord]: ...
    def refusals(self, where: CallFilter, limit: int, after: LogPosition | None = None
                 ) -> Sequence[RefusalRow]: ...
    def log_position(self, kind: str, row_id: int) -> LogPosition | None: ...
    def call(self, call_id: int) -> CallRecord | None: ...
    def calls_by_mode(self, since: datetime, until: datetime) -> Mapping[str, int]: ...

    def search_registry(self, query: str | None, limit: int, offset: int) -> Sequence[Entry]: ...
    def registry_pending(self) -> int: ...

    def audit_events(self, *, subject: str | None, action_prefix: str | None, limit: int,
                     offset: int) -> Sequence[AuditRecord]: ...

    def keep_statement(self, period: str, issued_at: datetime, sha256: str, body: bytes,
                       signature: bytes, all_facilities: bool) -> int: ...
    def statements(self) -> Sequence[KeptStatement]: ...
    def statement(self, statement_id: int) -> KeptStatement | None: ...
