"""Phones known by their SIP digest credentials (services/phones.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class PhoneCredential:
    username: str
    facility_id: str
    ha1: str  # MD5(username:realm:password): as secret as the password, never shown
    created_at: datetime


class PhoneRepository(Protocol):
    def get(self, username: str) -> PhoneCredential | None: ...
    def add(self, credential: PhoneCredential) -> None: ...
    def remove(self, username: str) -> bool:
        """False when there was no such phone."""
        ...
    def list(self, facility_id: str | None) -> Sequence[PhoneCredential]: ...
