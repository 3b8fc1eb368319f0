"""Operators' accounts: who may act, and with which role."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from privline.domain.access import Role
from privline.domain.model import User


class UserRepository(Protocol):
    def add(self, name: str, role: Role, token_hash: str, at: datetime) -> User: ...
    def by_token_hash(self, token_hash: str) -> User | None: ...
