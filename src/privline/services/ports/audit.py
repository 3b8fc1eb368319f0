"""The audit log: a hash chain with signed checkpoints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

from privline.domain.audit_chain import ChainEntry, Checkpoint
from privline.domain.model import AuditEvent


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
    def last_details(self, action: str) -> dict[str, Any] | None:
        """The details of the latest event of this kind, or None if there is none."""
        ...
