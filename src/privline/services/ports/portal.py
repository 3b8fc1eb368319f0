"""The professionals' portal: registrations and the numbers they name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from privline.domain.registry import Kind, Status


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
