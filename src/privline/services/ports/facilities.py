"""Facilities, their residents and their contact rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from privline.domain.model import Facility, Resident


class FacilityRepository(Protocol):
    def get(self, facility_id: str) -> Facility | None: ...
    def add(self, facility: Facility, at: datetime) -> None: ...
    def list(self) -> Sequence[Facility]: ...


class ResidentRepository(Protocol):
    def get(self, resident_id: str) -> Resident | None: ...
    def add(self, resident: Resident, at: datetime) -> None: ...
    def save(self, resident: Resident) -> None: ...


class BlockRepository(Protocol):
    def is_blocked(self, facility_id: str, resident_id: str, number: str) -> bool: ...
    def add(
        self, facility_id: str, resident_id: str | None, number: str, reason: str, at: datetime
    ) -> None: ...
