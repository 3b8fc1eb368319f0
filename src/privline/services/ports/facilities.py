"""Facilities, their residents and their contact rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from privline.domain.model import Facility, Resident


class FacilityRepository(Protocol):
    def get(self, facility_id: str) -> Facility | None: ...
    def add(self, facility: Facility, at: datetime) -> None: ...
    def list(self) -> Sequence[Facility]: ...


@dataclass(frozen=True)
class Caller:
    """A resident with their facility and balance: what a call decision reads first."""

    resident: Resident
    facility: Facility
    balance_cents: int


class ResidentRepository(Protocol):
    def get(self, resident_id: str) -> Resident | None: ...
    def caller(self, resident_id: str) -> Caller | None:
        """The resident, their facility and balance in one read; None: no such resident."""
        ...
    def add(self, resident: Resident, at: datetime) -> None: ...
    def save(self, resident: Resident) -> None: ...
    def pin_hashes(self, facility_id: str) -> Sequence[tuple[str, str, str | None]]:
        """(resident id, stored PIN hash, language) of every resident of the facility."""
        ...
    def lock_pins(self, facility_id: str) -> None:
        """Serialise this transaction with every other that sets a PIN at the facility
        (taken before ``pin_hashes`` is read for a uniqueness check)."""
        ...


class BlockRepository(Protocol):
    def is_blocked(self, facility_id: str, resident_id: str, number: str) -> bool: ...
    def add(
        self, facility_id: str, resident_id: str | None, number: str, reason: str, at: datetime
    ) -> None: ...


class PinKeyring(Protocol):
    """The secret keys resident PINs are hashed with, held outside the database."""

    current_id: str

    def mac(self, key_id: str, message: bytes) -> bytes | None:
        """HMAC-SHA-256 under the key ``key_id``; None when the ring has no such key."""
        ...
