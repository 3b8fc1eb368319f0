"""Writing audit events inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from privline.domain.model import Actor, AuditEvent
from privline.services.ports import UnitOfWork


def record(
    uow: UnitOfWork, actor: Actor, action: str, subject: str, now: datetime, **details: Any
) -> None:
    """Append one event; it commits or rolls back with the change it describes."""
    uow.audit.append(AuditEvent(now, f"{actor.role}:{actor.name}", action, subject, details))
