"""The ports services need, one module per feature; adapters implement them and tests may
fake them. This package's own module holds what joins them: the unit of work.

A unit of work is one transaction: everything done through its repositories is committed
together by :meth:`UnitOfWork.commit` or discarded when the block exits without it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Protocol

from privline.services.ports import records, vault
from privline.services.ports.accounts import AccountRepository
from privline.services.ports.audit import AuditLog
from privline.services.ports.calls import CallLog
from privline.services.ports.facilities import (
    BlockRepository,
    FacilityRepository,
    PinKeyring,
    ResidentRepository,
)
from privline.services.ports.phones import PhoneRepository
from privline.services.ports.portal import PortalRepository
from privline.services.ports.registry import RegistryRepository
from privline.services.ports.users import (
    SessionRepository,
    SigninFailures,
    TokenRepository,
    UserRepository,
)


class UnitOfWork(Protocol):
    facilities: FacilityRepository
    residents: ResidentRepository
    accounts: AccountRepository
    blocks: BlockRepository
    phones: PhoneRepository  # phones known by SIP digest credentials
    registry: RegistryRepository
    users: UserRepository
    tokens: TokenRepository  # API tokens
    sessions: SessionRepository  # web sign-ins
    signin_failures: SigninFailures
    audit: AuditLog
    calls: CallLog
    portal: PortalRepository  # the professionals' portal
    # The recording vault (services/ports/vault.py).
    recordings: vault.RecordingIndex
    incidents: vault.IncidentLog
    holds: vault.LegalHolds
    disclosures: vault.DisclosureLedger
    vault_settings: vault.VaultSettings
    user_facilities: vault.UserFacilities
    pins: PinKeyring | None  # None: no PIN key configured, so no PIN can be set or checked
    records: records.RecordsRepository  # lists and shows (services/ports/records.py)

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...
    def others_waiting(self) -> bool:
        """Whether another writer waits for this transaction's end (SQLite's one write
        lock): a long batch commits what it has and gives way."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
