"""The ports services need. Adapters implement them; tests may fake them.

A unit of work is one transaction: everything done through its repositories is committed
together by :meth:`UnitOfWork.commit` or discarded when the block exits without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol

from privline.domain.audit_chain import ChainEntry, Checkpoint
from privline.domain.model import AuditEvent, CallRecord, Facility, Resident, WarningPlayed
from privline.domain.policy import Decision
from privline.domain.registry import Entry, Kind, Source, Status
from privline.services import account_ports, vault_ports


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
class LedgerLine:
    resident_id: str
    kind: str  # deposit | charge | refund
    amount_cents: int  # signed: deposits and refunds positive, charges negative
    at: datetime
    memo: str = ""
    call_id: str | None = None


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


class FacilityRepository(Protocol):
    def get(self, facility_id: str) -> Facility | None: ...
    def add(self, facility: Facility, at: datetime) -> None: ...
    def list(self) -> Sequence[Facility]: ...


class ResidentRepository(Protocol):
    def get(self, resident_id: str) -> Resident | None: ...
    def add(self, resident: Resident, at: datetime) -> None: ...
    def save(self, resident: Resident) -> None: ...


class AccountRepository(Protocol):
    def balance(self, resident_id: str) -> int: ...
    def post(self, line: LedgerLine) -> int: ...
    def charged_for(self, call_id: str) -> int:
        """Net ledger amount for one call: negative when charged, 0 after a refund."""
        ...


class BlockRepository(Protocol):
    def is_blocked(self, facility_id: str, resident_id: str, number: str) -> bool: ...
    def add(
        self, facility_id: str, resident_id: str | None, number: str, reason: str, at: datetime
    ) -> None: ...


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


class Signer(Protocol):
    """Signs audit checkpoints and statements with a key the database does not hold."""

    key_id: str

    def sign(self, message: bytes) -> bytes: ...


class AuditLog(Protocol):
    def append(self, event: AuditEvent) -> int: ...
    def checkpoint(self, at: datetime) -> Checkpoint | None: ...
    def entries(self, batch: int = 5000) -> Iterator[ChainEntry]: ...
    def checkpoints(self) -> list[Checkpoint]: ...
    def count(self) -> int: ...


class CallLog(Protocol):
    def add(
        self,
        at: datetime,
        facility_id: str,
        resident_id: str,
        dialled: str,
        private_requested: bool,
        decision: Decision,
        sip_call_id: str | None = None,
    ) -> int: ...
    def get(self, sip_call_id: str) -> CallRecord | None: ...
    def update(self, call_id: int, **fields: object) -> None: ...
    def add_warning(self, call_id: int, warning: WarningPlayed) -> None: ...
    def list(self, limit: int = 100, offset: int = 0, facility_id: str | None = None
             ) -> Sequence[CallRecord]: ...


# --- The professionals' portal: registrations and the numbers they name.


@dataclass(frozen=True)
class RegisteredNumber:
    number: str
    entry_id: int
    status: Status


class PortalRepository(Protocol):
    def add_registration(self, reference_hash: str, name: str, profession: Kind,
                         credential: str, email: str, at: datetime) -> int: ...
    def link_number(self, registration_id: int, number: str, entry_id: int,
                    matched_entry_id: int | None) -> None: ...
    def numbers_for_reference(self, reference_hash: str) -> Sequence[RegisteredNumber] | None:
        """The numbers of the registration with this reference; None when there is none."""
        ...

    def emails_for(self, entry_ids: Sequence[int]) -> Mapping[int, str]:
        """The registrant's email for each entry a portal registration names."""
        ...


class UnitOfWork(Protocol):
    facilities: FacilityRepository
    residents: ResidentRepository
    accounts: AccountRepository
    blocks: BlockRepository
    registry: RegistryRepository
    users: account_ports.UserRepository
    tokens: account_ports.TokenRepository  # API tokens
    sessions: account_ports.SessionRepository  # web sign-ins
    signin_failures: account_ports.SigninFailures
    audit: AuditLog
    calls: CallLog
    portal: PortalRepository  # the professionals' portal
    # The recording vault (services/vault_ports.py).
    recordings: vault_ports.RecordingIndex
    incidents: vault_ports.IncidentLog
    holds: vault_ports.LegalHolds
    disclosures: vault_ports.DisclosureLedger
    vault_settings: vault_ports.VaultSettings
    user_facilities: vault_ports.UserFacilities

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
